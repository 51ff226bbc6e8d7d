"""The caption font: DejaVu Sans, from a package the project installs, measured as libass will draw it.

matplotlib (pinned in requirements.txt) ships DejaVu Sans and DejaVu Sans Bold in its `mpl-data`; the
folder is handed to ffmpeg's subtitles filter (`fontsdir`), so a machine with no system fonts at all
draws captions in the same face. Debian's fonts-dejavu-core, where installed, is the fallback.
"""

from __future__ import annotations

from functools import cache
from importlib.util import find_spec
from pathlib import Path

FAMILY = "DejaVu Sans"
FILES = {False: "DejaVuSans.ttf", True: "DejaVuSans-Bold.ttf"}
SYSTEM_DIR = Path("/usr/share/fonts/truetype/dejavu")
AVERAGE_ADVANCE = 0.72  # of the font size, per character: a generous guess when no font file can be read


@cache
def fonts_dir() -> Path | None:
    """The folder holding both DejaVu Sans files, found without importing matplotlib (slow, and unneeded)."""
    spec = find_spec("matplotlib")
    places = list(spec.submodule_search_locations or []) if spec else []
    for folder in [*(Path(place) / "mpl-data" / "fonts" / "ttf" for place in places), SYSTEM_DIR]:
        if all((folder / name).is_file() for name in FILES.values()):
            return folder
    return None


@cache
def _metrics(bold: bool) -> tuple[dict[str, int], dict[int, str], float] | None:
    """(advance per glyph, glyph per character, font units per unit of ASS font size)."""
    folder = fonts_dir()
    if folder is None:
        return None
    try:
        from fontTools.ttLib import TTFont
    except ImportError:
        return None
    font = TTFont(str(folder / FILES[bold]), lazy=True)
    os2 = font["OS/2"]
    # libass sizes a font as Windows does: the ASS size is winAscent + winDescent, not the em
    per_size = float(os2.usWinAscent + os2.usWinDescent)
    advances = {name: width for name, (width, _) in font["hmtx"].metrics.items()}
    return advances, dict(font.getBestCmap()), per_size


def text_width(text: str, size: float, bold: bool) -> float:
    """How wide libass draws `text` at ASS font size `size`, in the script's pixels (no outline)."""
    metrics = _metrics(bold)
    if metrics is None:
        return len(text) * size * AVERAGE_ADVANCE
    advances, glyphs, per_size = metrics
    fallback: float = advances.get(glyphs.get(ord("M"), ""), per_size * AVERAGE_ADVANCE)
    units = sum(advances.get(glyphs.get(ord(char), ""), fallback) for char in text)
    return units * size / per_size
