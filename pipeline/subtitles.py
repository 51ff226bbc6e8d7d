"""Subtitles and transcript exports: readable cues with speaker names, cut and rebased for each clip.

Cues come from speaker-labelled transcript segments; display names are applied here, at the edge,
from a `{label: name}` mapping. Times are seconds; `clip_cues` makes them relative to a clip.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from pipeline import fonts
from pipeline.types import Segment, Word

MAX_CUE_SECONDS = 7.0
MAX_CUE_CHARS = 84
MIN_CUE_SECONDS = 0.05
SENTENCE_END_CHARS = ".?!…"


@dataclass(frozen=True)
class Cue:
    """One subtitle: `text` is what is shown (name prefix included); `name` and `words` allow trimming it."""

    start: float
    end: float
    text: str
    name: str | None = None
    words: tuple[Word, ...] = ()


# ---- cues --------------------------------------------------------------------------------------


def transcript_cues(
    segments: Sequence[Segment],
    names: Mapping[str, str],
    *,
    max_seconds: float = MAX_CUE_SECONDS,
    max_chars: int = MAX_CUE_CHARS,
) -> list[Cue]:
    """Cues short enough to read, each prefixed with its speaker's display name ("Alice: ...")."""
    cues: list[Cue] = []
    for segment in sorted(segments, key=lambda s: s.start):
        name = display_name(segment.speaker, names)
        cues.extend(_segment_cues(segment, name, max_seconds, max_chars))
    return cues


def display_name(speaker: str | None, names: Mapping[str, str]) -> str | None:
    """The name a person gave a speaker label, else the label itself."""
    if not speaker:
        return None
    return names.get(speaker) or speaker


def _segment_cues(segment: Segment, name: str | None, max_seconds: float, max_chars: int) -> list[Cue]:
    body = _words_text(segment.words) if segment.words else _clean(segment.text)
    if not body:
        return []
    whole = Cue(segment.start, segment.end, _caption(name, body), name, tuple(segment.words))
    if segment.end - segment.start <= max_seconds and len(whole.text) <= max_chars:
        return [whole]
    if segment.words:
        return [_word_cue(group, name) for group in _group_words(segment.words, name, max_seconds, max_chars)]
    return _split_plain(segment, name, body, max_seconds, max_chars)


def _group_words(words: Sequence[Word], name: str | None, max_seconds: float, max_chars: int) -> list[list[Word]]:
    """Greedy runs of words under both limits, ending early at a sentence end once a run is half full."""
    groups: list[list[Word]] = []
    current: list[Word] = []
    for word in words:
        candidate = [*current, word]
        too_long = word.end - candidate[0].start > max_seconds
        if current and (too_long or len(_caption(name, _words_text(candidate))) > max_chars):
            groups.append(current)
            candidate = [word]
        current = candidate
        half_full = len(_caption(name, _words_text(current))) >= max_chars / 2
        if half_full and word.text.strip().endswith(tuple(SENTENCE_END_CHARS)):
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def _word_cue(words: Sequence[Word], name: str | None) -> Cue:
    return Cue(words[0].start, words[-1].end, _caption(name, _words_text(words)), name, tuple(words))


def _split_plain(segment: Segment, name: str | None, body: str, max_seconds: float, max_chars: int) -> list[Cue]:
    """No word timings: split the text at spaces and share the time out by characters."""
    duration = segment.end - segment.start
    room = max(max_chars - len(_caption(name, "")), 1)
    count = max(math.ceil(len(body) / room), math.ceil(duration / max_seconds), 1)
    target = min(math.ceil(len(body) / count), room)
    chunks: list[str] = []
    for token in body.split():
        if chunks and len(chunks[-1]) + 1 + len(token) <= target:
            chunks[-1] += " " + token
        else:
            chunks.append(token)
    cues, offset, total = [], 0, sum(len(chunk) for chunk in chunks)
    for chunk in chunks:
        start = segment.start + duration * offset / total
        offset += len(chunk)
        cues.append(Cue(start, segment.start + duration * offset / total, _caption(name, chunk), name))
    return cues


def clip_cues(
    cues_or_segments: Sequence[Cue | Segment],
    clip_start: float,
    clip_end: float,
    names: Mapping[str, str] | None = None,
) -> list[Cue]:
    """The cues of one clip with times from the clip's start; cues crossing its ends are cut, words and all."""
    segments = [item for item in cues_or_segments if isinstance(item, Segment)]
    cues = [item for item in cues_or_segments if isinstance(item, Cue)] + transcript_cues(segments, names or {})
    rebased = (_clip_cue(cue, clip_start, clip_end) for cue in sorted(cues, key=lambda c: c.start))
    return [cue for cue in rebased if cue is not None]


def _clip_cue(cue: Cue, clip_start: float, clip_end: float) -> Cue | None:
    if cue.end <= clip_start or cue.start >= clip_end:
        return None
    text, words = cue.text, cue.words
    if words and (cue.start < clip_start or cue.end > clip_end):
        words = tuple(w for w in words if clip_start <= (w.start + w.end) / 2 <= clip_end)
        if not words:
            return None
        text = _caption(cue.name, _words_text(words))
    start = max(cue.start, clip_start) - clip_start
    end = min(cue.end, clip_end) - clip_start
    if end - start < MIN_CUE_SECONDS:
        return None
    shifted = tuple(replace(w, start=w.start - clip_start, end=w.end - clip_start) for w in words)
    return Cue(start, end, text, cue.name, shifted)


def _caption(name: str | None, body: str) -> str:
    return f"{name}: {body}" if name else body


def _words_text(words: Sequence[Word]) -> str:
    return _clean(" ".join(w.text.strip() for w in words))


def _clean(text: str) -> str:
    """One line of text: subtitle formats end a cue at a blank line."""
    return re.sub(r"\s+", " ", text).strip()


# ---- formats -----------------------------------------------------------------------------------


def write_clip_subtitles(cues: Sequence[Cue], clip_start: float, clip_end: float, srt: Path, vtt: Path) -> bool:
    """A clip's SRT and VTT, timed from the clip's start; True when the clip has any caption."""
    own = clip_cues(cues, clip_start, clip_end)
    _write_whole(srt, to_srt(own))
    _write_whole(vtt, to_vtt(own))
    return bool(own)


def _write_whole(path: Path, text: str) -> None:
    """Write beside the file and rename over it: a reader (on this host or another one sharing the
    folder) sees the old file or the new one, never half of it."""
    partial = path.with_name(f"{path.name}.partial")
    partial.write_text(text)
    partial.replace(path)


# ---- burned-in captions (ASS, drawn by libass) ---------------------------------------------------


@dataclass(frozen=True)
class CaptionStyle:
    """How burned-in captions look and how much shows at once. Sizes are fractions of the frame's shorter
    side, so a style looks alike at 1080×1920 and at 640×360; colours are "#rrggbb"."""

    name: str
    title: str  # what the page calls it
    bold: bool
    size: float
    colour: str  # of the text
    accent: str  # of the word being said (highlight, pop)
    edge: str  # of the outline, or of the box behind each line
    edge_opacity: float  # 1: opaque
    boxed: bool  # a box behind each line rather than an outline around each letter
    edge_width: float  # the outline's width, or the box's padding
    shadow: float
    animation: str  # none; highlight: the spoken word changes colour; pop: each word appears as it is said
    max_words: int  # spoken words shown at once; 0: as many as two lines hold
    max_line_chars: int
    max_seconds: float  # longest one caption stays
    max_pause: float  # a silence this long starts a new caption
    english_size: float = 0.0  # bilingual: one line of the words, then their English this size under it; 0: none


CAPTION_STYLES = {
    style.name: style
    for style in (
        CaptionStyle(
            "clean",
            "Clean subtitle",
            bold=False,
            size=0.05,
            colour="#ffffff",
            accent="#ffffff",
            edge="#000000",
            edge_opacity=1.0,
            boxed=False,
            edge_width=0.0045,
            shadow=0.002,
            animation="none",
            max_words=0,
            max_line_chars=32,
            max_seconds=MAX_CUE_SECONDS,
            max_pause=1.5,
        ),
        CaptionStyle(
            "highlight",
            "Bold, spoken word highlighted",
            bold=True,
            size=0.06,
            colour="#ffffff",
            accent="#ffd23f",
            edge="#111111",
            edge_opacity=1.0,
            boxed=True,
            edge_width=0.012,
            shadow=0.0,
            animation="highlight",
            max_words=5,
            max_line_chars=24,
            max_seconds=3.0,
            max_pause=0.6,
        ),
        CaptionStyle(
            "pop",
            "Pop-in, word by word",
            bold=True,
            size=0.08,
            colour="#ffffff",
            accent="#ffd23f",
            edge="#000000",
            edge_opacity=1.0,
            boxed=False,
            edge_width=0.008,
            shadow=0.003,
            animation="pop",
            max_words=3,
            max_line_chars=18,
            max_seconds=2.0,
            max_pause=0.5,
        ),
        CaptionStyle(
            "bilingual",
            "Bilingual, with English",
            bold=False,
            size=0.05,
            colour="#ffffff",
            accent="#ffffff",
            edge="#000000",
            edge_opacity=1.0,
            boxed=False,
            edge_width=0.0045,
            shadow=0.002,
            animation="none",
            max_words=0,
            max_line_chars=32,
            max_seconds=MAX_CUE_SECONDS,
            max_pause=1.5,
            english_size=0.036,
        ),
    )
}
OLD_STYLE_NAMES = {"plain": "clean", "words": "highlight"}  # what the API and the database said before
POSITIONS = {"top": 8, "middle": 5, "bottom": 2}  # ASS alignment: centred, at the top, middle or bottom
COVERED_BOTTOM, COVERED_RIGHT, COVERED_TOP = 0.20, 0.15, 0.10  # of a phone feed's frame: its buttons and titles
EDGE_MARGIN = 0.06  # of the frame, around captions in any other frame
CAPTION_HOLD = 0.4  # seconds a caption stays after its last word when nothing follows
POP_MILLISECONDS = 120  # a word grows to its size this fast as it appears


def caption_style(name: str) -> CaptionStyle:
    """The style of that name; the old names ("plain", "words") still work."""
    return CAPTION_STYLES[OLD_STYLE_NAMES.get(name, name)]


def burned_caption_style(captions: str | None, burn_by_default: bool) -> str | None:
    """The caption style burned into a Q&A's clips, from its `captions` choice (a style or "none"; None leaves
    it to the CLIP_BURN_SUBTITLES setting: clean when on); None: no captions in the picture."""
    chosen = captions if captions is not None else ("clean" if burn_by_default else "none")
    return None if chosen == "none" else OLD_STYLE_NAMES.get(chosen, chosen)


def style_when_burned(captions: str | None) -> str:
    """The style a cut asked to burn captions in uses (the old `"burn_subtitles": true`, a clip's "Cut again"):
    the Q&A's chosen style, clean when it chose none."""
    return burned_caption_style(captions, burn_by_default=True) or "clean"


@dataclass(frozen=True)
class CaptionLayout:
    """The frame captions are drawn in (the clip's own pixels), where they sit, and whether a new speaker's
    words start with their name."""

    width: int = 1080
    height: int = 1920
    position: str = "bottom"
    names: bool = False

    @property
    def phone(self) -> bool:
        """A portrait frame plays in Reels, TikTok or Shorts, whose buttons cover its bottom and right edge."""
        return self.height > self.width

    @property
    def unit(self) -> int:
        """The frame's shorter side: style sizes are fractions of it."""
        return min(self.width, self.height)

    def margins(self, style: CaptionStyle) -> tuple[int, int, int]:
        """Left, right, and from the top or bottom edge: clear of what a phone feed draws over the frame,
        counting the outline or box around the letters."""
        edge = (style.edge_width + style.shadow) * self.unit
        if not self.phone:
            side = round(EDGE_MARGIN * self.width + edge)
            return side, side, round(EDGE_MARGIN * self.height + edge)
        left = round(EDGE_MARGIN * self.width + edge)
        right = round((COVERED_RIGHT + 0.02) * self.width + edge)
        covered = COVERED_TOP if self.position == "top" else COVERED_BOTTOM
        return left, right, round((covered + 0.02) * self.height + edge)

    def line_room(self, style: CaptionStyle) -> float:
        """How wide a line of text may be, in pixels."""
        left, right, _ = self.margins(style)
        return self.width - left - right


@dataclass(frozen=True)
class Token:
    """A word as shown; `start` is None for a speaker's name, which is not said."""

    text: str
    start: float | None = None
    end: float | None = None


@dataclass(frozen=True)
class CaptionChunk:
    """What one caption shows: one or two lines of words, from `start` to `end` (seconds)."""

    start: float
    end: float
    lines: tuple[tuple[Token, ...], ...]

    @property
    def spoken(self) -> list[Token]:
        return [token for line in self.lines for token in line if token.start is not None]

    @property
    def text(self) -> str:
        return "\n".join(" ".join(token.text for token in line) for line in self.lines)


def caption_chunks(cues: Sequence[Cue], style: CaptionStyle, layout: CaptionLayout) -> list[CaptionChunk]:
    """The cues as captions of at most two lines that fit the frame, a few words at a time for the
    animated styles; a new speaker's first caption starts with their name when `layout.names`."""
    chunks: list[CaptionChunk] = []
    previous = None
    for cue in sorted(cues, key=lambda c: c.start):
        name = Token(f"{_clean(cue.name)}:") if layout.names and cue.name and cue.name != previous else None
        previous = cue.name
        chunks += _cue_chunks(cue, name, style, layout)
    return _settle(sorted(chunks, key=lambda chunk: chunk.start))


def _cue_chunks(cue: Cue, name: Token | None, style: CaptionStyle, layout: CaptionLayout) -> list[CaptionChunk]:
    words = [Token(_clean(w.text), w.start, w.end) for w in cue.words if _clean(w.text)]
    body = cue.text.removeprefix(f"{cue.name}: ") if cue.name else cue.text
    tokens = words or [Token(word) for word in _clean(body).split()]
    groups = _group(tokens, name, style, layout)
    if words:
        return [_timed(group, cue.end, style, layout) for group in groups]
    return _share_time(groups, cue, style, layout)  # no word times: the cue's time shared out by characters


def _group(tokens: list[Token], name: Token | None, style: CaptionStyle, layout: CaptionLayout) -> list[list[Token]]:
    """Greedy runs of words that fit two lines, under the style's word, time and pause limits, ending at a
    sentence end (the animated styles always; clean once a line is full)."""
    groups: list[list[Token]] = []
    current: list[Token] = [name] if name else []

    def spoken() -> list[Token]:
        return [token for token in current if token is not name]

    for token in tokens:
        said = spoken()
        if said and (_limit_reached(said, token, style) or _lines([*current, token], style, layout) is None):
            groups.append(current)
            current = []
        current.append(token)
        full = style.animation != "none" or len(" ".join(t.text for t in current)) >= style.max_line_chars
        if full and token.text.endswith(tuple(SENTENCE_END_CHARS)):
            groups.append(current)
            current = []
    if spoken():
        groups.append(current)
    return groups


def _limit_reached(said: list[Token], token: Token, style: CaptionStyle) -> bool:
    if style.max_words and len(said) >= style.max_words:
        return True
    if token.start is None or token.end is None or said[-1].end is None or said[0].start is None:
        return False
    return token.start - said[-1].end > style.max_pause or token.end - said[0].start > style.max_seconds


def _lines(tokens: list[Token], style: CaptionStyle, layout: CaptionLayout) -> tuple[tuple[Token, ...], ...] | None:
    """The tokens on one line if they fit, else on two as even as can be; None when two lines are too few.
    A single word (or name) too wide for a line still makes a line: the caption is drawn smaller (`_ass_text`)."""
    if _fits(tokens, style, layout) or len(tokens) == 1:
        return (tuple(tokens),)
    if style.english_size:  # bilingual: the second line is the English one
        return None
    splits = [(tokens[:at], tokens[at:]) for at in range(1, len(tokens))]
    fitting = [pair for pair in splits if all(len(part) == 1 or _fits(part, style, layout) for part in pair)]
    if not fitting:
        return None
    first, second = min(fitting, key=lambda pair: max(_width(part, style, layout) for part in pair))
    return tuple(first), tuple(second)


def _fits(tokens: Sequence[Token], style: CaptionStyle, layout: CaptionLayout) -> bool:
    """Under the style's characters a line (half as many again across a landscape frame) and its width."""
    chars = style.max_line_chars * (3 if layout.width > layout.height else 2) // 2
    text = " ".join(token.text for token in tokens)
    return len(text) <= chars and _width(tokens, style, layout) <= layout.line_room(style)


def _width(tokens: Sequence[Token], style: CaptionStyle, layout: CaptionLayout) -> float:
    return fonts.text_width(" ".join(token.text for token in tokens), _font_size(style, layout), style.bold)


def _font_size(style: CaptionStyle, layout: CaptionLayout) -> int:
    return max(8, round(style.size * layout.unit))


def _timed(group: list[Token], cue_end: float, style: CaptionStyle, layout: CaptionLayout) -> CaptionChunk:
    said = [(token.start, token.end) for token in group if token.start is not None and token.end is not None]
    lines = _lines(group, style, layout) or (tuple(group),)
    (start, _), (_, last_end) = said[0], said[-1]
    return CaptionChunk(start, max(last_end, min(last_end + CAPTION_HOLD, cue_end)), lines)


def _share_time(groups: list[list[Token]], cue: Cue, style: CaptionStyle, layout: CaptionLayout) -> list[CaptionChunk]:
    sizes = [sum(len(token.text) + 1 for token in group) for group in groups]
    total, offset, chunks = sum(sizes) or 1, 0, []
    for group, size in zip(groups, sizes, strict=True):
        start = cue.start + (cue.end - cue.start) * offset / total
        offset += size
        end = cue.start + (cue.end - cue.start) * offset / total
        chunks.append(CaptionChunk(start, end, _lines(group, style, layout) or (tuple(group),)))
    return chunks


def _settle(chunks: list[CaptionChunk]) -> list[CaptionChunk]:
    """One caption at a time: each ends where the next starts when they would overlap or leave a short gap."""
    settled: list[CaptionChunk] = []
    for index, chunk in enumerate(chunks):
        start = max(chunk.start, settled[-1].end) if settled else chunk.start
        following = chunks[index + 1].start if index + 1 < len(chunks) else None
        end = chunk.end
        if following is not None and following - end < CAPTION_HOLD:
            end = following
        if end - start >= MIN_CUE_SECONDS:
            settled.append(replace(chunk, start=start, end=end))
    return settled


def caption_events(
    cues: Sequence[Cue], style: CaptionStyle, layout: CaptionLayout, english: Sequence[Cue] = ()
) -> list[tuple[float, float, str]]:
    """(start, end, ASS text) of every caption event: one per caption for clean, one per spoken word for the
    animated styles (the word being said coloured, or the words said so far shown); under each caption of the
    bilingual style, its English (`english`: the translation's cues, in the same times). All text is escaped."""
    events = []
    chunks = caption_chunks(cues, style, layout)
    under = _english_lines(chunks, english, style, layout) if style.english_size else [""] * len(chunks)
    for chunk, translated in zip(chunks, under, strict=True):
        spoken = chunk.spoken
        timed = style.animation != "none" and spoken and all(token.start is not None for token in spoken)
        if not timed:
            events.append((chunk.start, chunk.end, _ass_text(chunk, style, layout, None) + translated))
            continue
        starts = [chunk.start]
        for said_at in (token.start for token in spoken[1:] if token.start is not None):
            starts.append(max(said_at, starts[-1]))
        ends = [*starts[1:], chunk.end]
        for index, (start, end) in enumerate(zip(starts, ends, strict=True)):
            if end - start >= 0.01:
                events.append((start, end, _ass_text(chunk, style, layout, index) + translated))
    return events


def pair_by_overlap(spans: Sequence[Cue | CaptionChunk], others: Sequence[Cue | CaptionChunk]) -> list[int | None]:
    """For each span, the index of the other span it overlaps longest in time; None when it overlaps none."""
    paired: list[int | None] = []
    for span in spans:
        overlaps = [(min(span.end, other.end) - max(span.start, other.start), k) for k, other in enumerate(others)]
        longest = max(overlaps, default=(0.0, None), key=lambda pair: pair[0])
        paired.append(longest[1] if longest[0] > 0 else None)
    return paired


def _english_lines(
    chunks: Sequence[CaptionChunk], english: Sequence[Cue], style: CaptionStyle, layout: CaptionLayout
) -> list[str]:
    """The ASS of the English line under each caption: the translation cut into lines that fit the frame at
    the English size, each caption showing the one it overlaps longest (nothing when none does)."""
    smaller = replace(
        style, size=style.english_size, max_line_chars=round(style.max_line_chars * style.size / style.english_size)
    )
    pieces = [piece for cue in english for piece in _cue_chunks(cue, None, smaller, layout)]
    lines = []
    for index in pair_by_overlap(chunks, pieces):
        if index is None:
            lines.append("")
            continue
        tokens = [token for line in pieces[index].lines for token in line]
        size, width = _font_size(smaller, layout), _width(tokens, smaller, layout)
        room = layout.line_room(style)
        fitted = max(8, int(size * room / width)) if width > room else size
        lines.append(f"\\N{{\\fs{fitted}}}" + _ass_escape(" ".join(token.text for token in tokens)))
    return lines


def _ass_text(chunk: CaptionChunk, style: CaptionStyle, layout: CaptionLayout, active: int | None) -> str:
    """A caption's lines joined by ASS line breaks, with the tags that mark the active word."""
    colour, accent = _tag_colour(style.colour), _tag_colour(style.accent)
    shown = f"\\1a&H00&\\3a{_ass_alpha(style.edge_opacity)}\\4a{_ass_alpha(0.5)}"
    lines, said = [], -1
    for line in chunk.lines:
        words = []
        for token in line:
            text = _ass_escape(token.text)
            if token.start is not None:
                said += 1
            if token.start is None or active is None or (style.animation == "highlight" and said != active):
                words.append(text)
            elif style.animation == "highlight":
                words.append(f"{{\\1c{accent}}}{text}{{\\1c{colour}}}")
            elif said < active:
                words.append(text)
            elif said == active:
                grow = f"\\fscx80\\fscy80\\t(0,{POP_MILLISECONDS},\\fscx100\\fscy100)"
                words.append(f"{{\\1c{accent}{grow}}}{text}{{\\1c{colour}\\fscx100\\fscy100}}")
            else:  # not said yet: there, so nothing moves when it appears, but invisible
                words.append(f"{{\\alpha&HFF&}}{text}{{{shown}}}")
        lines.append(" ".join(words))
    widest = max(_width(line, style, layout) for line in chunk.lines)
    room = layout.line_room(style)
    shrink = f"{{\\fs{max(8, int(_font_size(style, layout) * room / widest))}}}" if widest > room else ""
    return shrink + "\\N".join(lines)


def to_ass(
    cues: Sequence[Cue], style: str = "clean", layout: CaptionLayout | None = None, english: Sequence[Cue] = ()
) -> str:
    """Captions to burn into a clip (`layout`: its frame, in its own pixels), in one of CAPTION_STYLES
    (`english`: the translation's cues, for the bilingual style). Written as ASS with every piece of text
    escaped, rather than handing an SRT to the burner: its SRT reader obeys `<font>` tags and `{\\an8}` in a
    name or a word."""
    chosen, layout = caption_style(style), layout or CaptionLayout()
    lines = [_ass_header(chosen, layout)]
    for start, end, text in caption_events(cues, chosen, layout, english):
        lines.append(f"Dialogue: 0,{_ass_time(start)},{_ass_time(end)},Caption,,0,0,0,,{text}\n")
    return "".join(lines)


def preview_moment(cues: Sequence[Cue], style: str, layout: CaptionLayout) -> float:
    """A moment that shows the style at work: the second word of the first caption being said (the
    first caption itself for clean); 0 when there is no caption."""
    events = caption_events(cues, caption_style(style), layout)
    if not events:
        return 0.0
    start, end, _ = events[1] if len(events) > 1 and caption_style(style).animation != "none" else events[0]
    return (start + end) / 2


def _ass_header(style: CaptionStyle, layout: CaptionLayout) -> str:
    left, right, vertical = layout.margins(style)
    size, unit = _font_size(style, layout), layout.unit
    colour, edge = _ass_colour(style.colour), _ass_colour(style.edge, style.edge_opacity)
    shadow = _ass_colour("#000000", 0.5)
    fields = [
        "Caption",
        fonts.FAMILY,
        size,
        colour,
        colour,
        edge,
        shadow,
        -1 if style.bold else 0,
        0,
        0,
        0,
        100,
        100,
        0,
        0,
        3 if style.boxed else 1,
        round(style.edge_width * unit, 1),
        round(style.shadow * unit, 1),
        POSITIONS.get(layout.position, POSITIONS["bottom"]),
        left,
        right,
        vertical,
        1,
    ]
    return (
        "[Script Info]\nScriptType: v4.00+\n"
        f"PlayResX: {layout.width}\nPlayResY: {layout.height}\n"
        "WrapStyle: 2\nScaledBorderAndShadow: yes\nYCbCr Matrix: None\n\n"
        "[V4+ Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
        "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, "
        "Alignment, MarginL, MarginR, MarginV, Encoding\n"
        f"Style: {','.join(str(field) for field in fields)}\n\n"
        "[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
    )


def _ass_colour(rgb: str, opacity: float = 1.0) -> str:
    """A "#rrggbb" colour as a style line writes it: &HAABBGGRR, alpha 00 opaque."""
    return f"&H{round((1 - opacity) * 255):02X}{rgb[5:7]}{rgb[3:5]}{rgb[1:3]}".upper()


def _tag_colour(rgb: str) -> str:
    """A "#rrggbb" colour as an override tag writes it: &HBBGGRR&."""
    return f"&H{rgb[5:7]}{rgb[3:5]}{rgb[1:3]}&".upper()


def _ass_alpha(opacity: float) -> str:
    return f"&H{round((1 - opacity) * 255):02X}&"


def contrast(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio of two "#rrggbb" colours (1 to 21; text wants 4.5 or more)."""
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def worst_contrast(style: CaptionStyle) -> float:
    """The least contrast between the style's text (and spoken word) and what is right behind it, over
    any picture: an outline is its own colour; a see-through box is mixed with white or black below."""
    if style.boxed:
        behind = [_mix(style.edge, under, style.edge_opacity) for under in ("#ffffff", "#000000")]
    else:
        behind = [style.edge]
    return min(contrast(text, back) for text in (style.colour, style.accent) for back in behind)


def _mix(top: str, under: str, opacity: float) -> str:
    channels = [round(int(top[i : i + 2], 16) * opacity + int(under[i : i + 2], 16) * (1 - opacity)) for i in (1, 3, 5)]
    return "#" + "".join(f"{value:02x}" for value in channels)


def _luminance(rgb: str) -> float:
    def linear(value: int) -> float:
        channel = value / 255
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(int(rgb[i : i + 2], 16)) for i in (1, 3, 5))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def _ass_time(seconds: float) -> str:
    centis = max(0, round(seconds * 100))
    hours, rest = divmod(centis, 360_000)
    minutes, rest = divmod(rest, 6000)
    return f"{hours}:{minutes:02d}:{rest // 100:02d}.{rest % 100:02d}"


def _ass_escape(text: str) -> str:
    """ASS reads braces as style overrides and a backslash as a command: neither may come from a transcript."""
    return " ".join(text.replace("{", "(").replace("}", ")").replace("\\", "/").split())


def to_srt(cues: Sequence[Cue]) -> str:
    """SubRip text, numbered from 1, for players and editors."""
    blocks = []
    for number, (start, end, text) in enumerate(_timed_lines(cues), start=1):
        blocks.append(f"{number}\n{_timestamp(start, ',')} --> {_timestamp(end, ',')}\n{_srt_escape(text)}\n")
    return "\n".join(blocks)


def _srt_escape(text: str) -> str:
    """SubRip has no escapes, and players obey `<font ...>`, `<b>` and `{\\an8}` in it: a zero-width space
    after each `<` and `{` shows the same text but never reads as a tag or an override."""
    return text.replace("<", "<\u200b").replace("{", "{\u200b")


def to_vtt(cues: Sequence[Cue], language: str | None = None) -> str:
    """WebVTT for the browser's <track>; text is escaped so it is never read as markup. `language` (a code
    such as "es") is said in the header, as players that read one expect ("Language: es")."""
    code = re.sub(r"[^A-Za-z-]", "", language or "")
    blocks = [f"WEBVTT\nLanguage: {code}\n" if code else "WEBVTT\n"]
    for start, end, text in _timed_lines(cues):
        blocks.append(f"{_timestamp(start, '.')} --> {_timestamp(end, '.')}\n{_vtt_escape(text)}\n")
    return "\n".join(blocks)


def _timed_lines(cues: Sequence[Cue]) -> list[tuple[int, int, str]]:
    """Cues as whole milliseconds with non-empty one-line text and a positive length."""
    lines = []
    for cue in cues:
        text = _clean(cue.text)
        if not text:
            continue
        start = max(0, round(cue.start * 1000))
        lines.append((start, max(start + 1, round(cue.end * 1000)), text))
    return lines


def _timestamp(milliseconds: int, separator: str) -> str:
    seconds, ms = divmod(milliseconds, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{ms:03d}"


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ---- transcript exports ------------------------------------------------------------------------


def to_text(segments: Sequence[Segment], names: Mapping[str, str]) -> str:
    """A plain transcript, one "[mm:ss] Name: text" line per segment, for reading and searching."""
    lines = []
    for segment in sorted(segments, key=lambda s: s.start):
        body = _clean(segment.text) or _words_text(segment.words)
        if body:
            lines.append(f"[{_clock(segment.start)}] {_caption(display_name(segment.speaker, names), body)}")
    return "\n".join(lines) + "\n" if lines else ""


def _clock(seconds: float) -> str:
    """mm:ss, or h:mm:ss past the first hour."""
    minutes, secs = divmod(int(max(seconds, 0.0)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def to_json(segments: Sequence[Segment], names: Mapping[str, str], language: str | None = None) -> str:
    """The transcript with its language, speakers, names and word timings, for other tools."""
    ordered = sorted(segments, key=lambda s: s.start)
    labels = sorted({s.speaker for s in ordered if s.speaker})
    document = {
        "language": language,
        "speakers": {label: display_name(label, names) for label in labels},
        "segments": [_segment_json(segment, names) for segment in ordered],
    }
    return json.dumps(document, ensure_ascii=False, indent=2)


def _segment_json(segment: Segment, names: Mapping[str, str]) -> dict:
    return {
        "start": round(segment.start, 3),
        "end": round(segment.end, 3),
        "speaker": segment.speaker,
        "name": display_name(segment.speaker, names),
        "text": _clean(segment.text),
        "words": [
            {"start": round(w.start, 3), "end": round(w.end, 3), "text": w.text.strip(), "probability": w.probability}
            for w in segment.words
        ],
    }
