"""A clip's camera path (`framing.plan`) as one ffmpeg filter, for `media.cut_clip(crop=...)`.

The filter crops the source where the path says, frame by frame: `sendcmd` moves a `crop` (and switches
between layouts with `streamselect`) at the exact frame, so one encode makes the whole clip, captions
and all. Each layout's branch scales to the output size itself (lanczos), so the scale that follows in
`media.shape_filters` has nothing left to do.

    crop = shape_crop(source, start, end, video_turns, "follow")   # faces.analyse + framing.plan
    media.cut_clip(source, dest, start, end, options, crop=crop)    # None ("fixed"): the crop at crop_x
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from pipeline import faces, framing, media
from pipeline.framing import FULL, ONE, TWO, CameraPath, View
from pipeline.types import Turn

log = logging.getLogger(__name__)

VERTICAL = (1080, 1920)
BLUR_SCALE = 8  # the blurred background is made at an eighth of the output size, then enlarged


@dataclass(frozen=True)
class Followed:
    path: CameraPath
    seconds: float  # how long the faces took to find and the path to plan


def clip_turns(turns: Sequence[Turn], start: float, end: float) -> list[Turn]:
    """The diarized turns inside [start, end], in seconds from `start`."""
    return [
        Turn(max(turn.start, start) - start, min(turn.end, end) - start, turn.speaker)
        for turn in turns
        if turn.end > start and turn.start < end
    ]


def follow(
    source: Path | str,
    start: float,
    end: float,
    turns: Sequence[Turn],
    framing_choice: str = "follow",
    crop_x: float = 0.5,
    progress: Callable[[float], None] | None = None,
    size: tuple[int, int] = VERTICAL,
) -> Followed:
    """The camera path of [start, end] of `source` for a clip of `size`; `turns` count from `start`
    (`clip_turns`)."""
    began = time.monotonic()
    if framing_choice == "fixed":
        footage = _bare_footage(source, start, end)
    else:
        footage = faces.analyse(source, start, end, progress=progress)
    path = framing.plan(footage, turns, framing_choice, crop_x, aspect=size)
    seconds = time.monotonic() - began
    log.info(
        "framing %s: %.1f s of video planned in %.1f s, speakers %s",
        framing_choice,
        end - start,
        seconds,
        path.speakers,
    )
    return Followed(path, seconds)


def _bare_footage(source: Path | str, start: float, end: float) -> framing.Footage:
    info = media.probe(source)
    return framing.Footage(info.width or 0, info.height or 0, info.frame_rate or 25.0, end - start, ())


def shape_crop(
    source: Path | str,
    start: float,
    end: float,
    turns: Sequence[Turn],
    framing_choice: str,
    crop_x: float = 0.5,
    size: tuple[int, int] = VERTICAL,
    progress: Callable[[float], None] | None = None,
) -> str | None:
    """What `media.cut_clip(crop=...)` takes for a clip of [start, end] framed as chosen ("follow",
    "split"); None for "fixed" (cut_clip's own crop at `crop_x`). `turns`: the video's, in its seconds."""
    if framing_choice not in framing.FRAMINGS or framing_choice == "fixed":
        return None
    followed = follow(source, start, end, clip_turns(turns, start, end), framing_choice, crop_x, progress, size)
    return crop_filter(followed.path, size)


def crop_filter(path: CameraPath, size: tuple[int, int] = VERTICAL) -> str:
    """The ffmpeg filter (one input, one output, `size`) that shows each frame as `path` says."""
    layouts = [layout for layout in (ONE, TWO, FULL) if any(view.layout == layout for view in path.views)]
    width, height = size
    first = path.views[0]
    branches = {
        ONE: f"crop@one=w={path.crop[0]}:h={path.crop[1]}:x={first.x if first.layout == ONE else 0}:y=0,"
        f"scale={width}:{height}:flags=lanczos,setsar=1",
        TWO: _split_branch(path, first, width, height),
        FULL: _blur_branch(width, height),
    }
    commands = _commands(path, layouts)
    head = f"sendcmd=c='{commands}'," if commands else ""
    if len(layouts) == 1:
        return head + branches[layouts[0]]
    outputs = "".join(f"[{layout}]" for layout in layouts)
    body = ";".join(f"[{layout}in]{branches[layout]}[{layout}]" for layout in layouts)
    splits = "".join(f"[{layout}in]" for layout in layouts)
    pick = layouts.index(first.layout)
    return f"{head}split={len(layouts)}{splits};{body};{outputs}streamselect@pick=inputs={len(layouts)}:map={pick}"


def still_filter(path: CameraPath, t: float, size: tuple[int, int] = VERTICAL) -> str:
    """The filter for one still of the clip, `t` seconds in, as the path frames it (a page's preview:
    `media.render_preview(..., crop=still_filter(path, t))`)."""
    index = min(max(int(t * path.fps), 0), len(path.views) - 1)
    return crop_filter(replace(path, views=(path.views[index],)), size)


def _split_branch(path: CameraPath, first: View, width: int, height: int) -> str:
    top = first.top if first.layout == TWO else (0, 0)
    bottom = first.bottom if first.layout == TWO else (0, 0)
    rw, rh = path.region
    half = height // 2
    return (
        f"split[top][bottom];"
        f"[top]crop@top=w={rw}:h={rh}:x={top[0]}:y={top[1]},scale={width}:{half}:flags=lanczos,setsar=1[upper];"
        f"[bottom]crop@bottom=w={rw}:h={rh}:x={bottom[0]}:y={bottom[1]},scale={width}:{half}:flags=lanczos,"
        f"setsar=1[lower];[upper][lower]vstack"
    )


def _blur_branch(width: int, height: int) -> str:
    """The whole picture, as wide as the frame, over a blurred copy of itself that fills the frame."""
    small_w, small_h = width // BLUR_SCALE // 2 * 2, height // BLUR_SCALE // 2 * 2
    return (
        f"split[back][front];"
        f"[back]scale={small_w}:{small_h}:force_original_aspect_ratio=increase,crop={small_w}:{small_h},"
        f"boxblur=8,scale={width}:{height},setsar=1[blurred];"
        f"[front]scale={width}:-2:flags=lanczos,setsar=1[picture];"
        f"[blurred][picture]overlay=(W-w)/2:(H-h)/2"
    )


def _commands(path: CameraPath, layouts: list[str]) -> str:
    """sendcmd's script: at each frame where the view changes, what to change (only what changed).
    A command goes half a frame before its frame's time, so the frame it is meant for takes it."""
    lines = []
    before: View = path.views[0]
    for index, view in enumerate(path.views[1:], start=1):
        changes = _changes(before, view, layouts)
        if changes:
            lines.append(f"{max(index - 0.5, 0) / path.fps:.4f} {', '.join(changes)}")
        before = view
    return ";".join(lines)


def _changes(before: View, view: View, layouts: list[str]) -> list[str]:
    out = []
    if view.layout != before.layout and len(layouts) > 1:
        out.append(f"streamselect@pick map {layouts.index(view.layout)}")
    if view.layout == ONE and (view.x != before.x or before.layout != ONE):
        out.append(f"crop@one x {view.x}")
    if view.layout == TWO and (view.top != before.top or view.bottom != before.bottom or before.layout != TWO):
        out += [
            f"crop@top x {view.top[0]}",
            f"crop@top y {view.top[1]}",
            f"crop@bottom x {view.bottom[0]}",
            f"crop@bottom y {view.bottom[1]}",
        ]
    return out
