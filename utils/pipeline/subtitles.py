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

from utils.pipeline.types import Segment, Word

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


ASS_HEADER = """[Script Info]
ScriptType: v4.00+
PlayResX: 384
PlayResY: 288
WrapStyle: 0
ScaledBorderAndShadow: yes

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, \
Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, \
MarginV, Encoding
Style: Default,DejaVu Sans,15,&H0000E5FF,&H00FFFFFF,&H00000000,&H64000000,1,0,0,0,100,100,0,0,1,1.6,0,2,12,12,14,1
Style: Plain,DejaVu Sans,15,&H00FFFFFF,&H00FFFFFF,&H00000000,&H64000000,0,0,0,0,100,100,0,0,1,1.6,0,2,12,12,14,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
""".replace("\\\n", "")


def to_ass_karaoke(cues: Sequence[Cue]) -> str:
    """Captions that light up word by word as they are said (ASS karaoke: each word turns from white to
    yellow at its own time), for burning into a clip. Cues without word times show whole."""
    lines = [ASS_HEADER]
    for cue in cues:
        lines.append(f"Dialogue: 0,{_ass_time(cue.start)},{_ass_time(cue.end)},Default,,0,0,0,,{_karaoke_text(cue)}\n")
    return "".join(lines)


def to_ass_plain(cues: Sequence[Cue]) -> str:
    """Captions shown whole, white, for burning into a clip. Written as ASS, with the text escaped, rather
    than handing the SRT to the burner: its SRT reader obeys `<font>` tags and `{\\an8}` in a name or a word."""
    lines = [ASS_HEADER]
    for start, end, text in _timed_lines(cues):
        shown = f"{_ass_time(start / 1000)},{_ass_time(end / 1000)}"
        lines.append(f"Dialogue: 0,{shown},Plain,,0,0,0,,{_ass_escape(text)}\n")
    return "".join(lines)


def _karaoke_text(cue: Cue) -> str:
    if not cue.words:
        return _ass_escape(cue.text)
    parts, cursor = [], cue.start
    if cue.name:
        lead = max(0, round((cue.words[0].start - cursor) * 100))
        parts.append(f"{{\\k{lead}}}{_ass_escape(cue.name)}: ")
        cursor = cue.words[0].start
    for word in cue.words:
        parts.append(f"{{\\k{max(1, round((word.end - cursor) * 100))}}}{_ass_escape(word.text.strip())} ")
        cursor = word.end
    return "".join(parts).rstrip()


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


def to_vtt(cues: Sequence[Cue]) -> str:
    """WebVTT for the browser's <track>; text is escaped so it is never read as markup."""
    blocks = ["WEBVTT\n"]
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


def to_json(segments: Sequence[Segment], names: Mapping[str, str]) -> str:
    """The transcript with speakers, names and word timings, for other tools."""
    ordered = sorted(segments, key=lambda s: s.start)
    labels = sorted({s.speaker for s in ordered if s.speaker})
    document = {
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
