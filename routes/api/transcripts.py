"""A video's transcript (JSON and SRT/VTT/TXT files; lines and words corrected by hand), its waveform for the
clip editor, and its speakers (list, rename)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from flask import Response, jsonify, request

import operations.speakers
import operations.transcripts
from operations.transcripts import Lines
from pipeline import corrections, subtitles, waveform
from pipeline.types import Segment
from routes import unit_of_work
from routes.api import BadRequest, Conflict, NotFound, api, flag, json_body, video_or_404

TRANSCRIPT_FORMATS = {
    "srt": "application/x-subrip",
    "vtt": "text/vtt",
    "json": "application/json",
    "txt": "text/plain",
}


# ---- transcript and speakers -------------------------------------------------------------------


@api.get("/videos/<int:video_id>/transcript")
def transcript(video_id: int):
    video = video_or_404(video_id)
    lines = operations.transcripts.transcript(unit_of_work(), video_id)
    return jsonify(language=video.language, note=video.transcript_note, segments=_lines_json(lines))


def _lines_json(lines: Lines) -> list[dict[str, Any]]:
    return [
        _segment_json(segment_id, segment, lines.names)
        for segment_id, segment in zip(lines.ids, lines.segments, strict=True)
    ]


def _segment_json(segment_id: int, segment, names: dict[str, str]) -> dict[str, Any]:
    return {
        "id": segment_id,
        "start": segment.start,
        "end": segment.end,
        "text": segment.text,
        "speaker": segment.speaker,
        "speaker_name": names.get(segment.speaker, segment.speaker),
        "words": [{"start": w.start, "end": w.end, "text": w.text, "speaker": w.speaker} for w in segment.words],
    }


def _corrected(video_id: int, segment_id: int, before: Segment, text: Any, word: int | None = None):
    """The line as corrected, with its speaker's name."""
    try:
        lines = operations.transcripts.correct_line(unit_of_work(), video_id, segment_id, before, text, word)
    except corrections.CorrectionError as error:
        raise BadRequest(str(error)) from None
    (segment,) = _lines_json(lines)
    return jsonify(segment=segment)


def _segment_or_404(video_id: int, segment_id: int) -> Segment:
    video_or_404(video_id)
    segment = operations.transcripts.find_line(unit_of_work(), video_id, segment_id)
    if segment is None:
        raise NotFound(f"no line {segment_id} in video {video_id}: the transcript changed since, reload it")
    return segment


@api.patch("/videos/<int:video_id>/segments/<int:segment_id>")
def correct_segment(video_id: int, segment_id: int):
    """{"text": "..."}: a line as it was really said. Unchanged words keep their times, new ones take the
    times of those they replace; subtitles, search, questions and exports follow, burned captions over it
    are marked out of date."""
    return _corrected(video_id, segment_id, _segment_or_404(video_id, segment_id), json_body().get("text"))


@api.patch("/videos/<int:video_id>/segments/<int:segment_id>/words/<int:position>")
def correct_word(video_id: int, segment_id: int, position: int):
    """{"text": "..."}: one word of a line (0 is its first) as it was really said, on its times (several
    words share them; empty text removes it)."""
    before = _segment_or_404(video_id, segment_id)
    return _corrected(video_id, segment_id, before, json_body().get("text"), word=position)


@api.get("/videos/<int:video_id>/waveform")
def waveform_peaks(video_id: int):
    """How loud the audio is, `per_second` values (0..255) a second from ?start= to ?end= (seconds; the
    whole recording without them), for the clip editor's strip; worked out once per video."""
    video = video_or_404(video_id)
    if not video.audio_path or not Path(video.audio_path).is_file():
        raise Conflict("the audio is not extracted yet: run Extract audio first")
    try:
        found = operations.transcripts.audio_peaks(Path(video.audio_path))
    except waveform.WaveformError as error:
        raise Conflict(str(error)) from None
    rate = waveform.PEAKS_PER_SECOND
    start, end = _seconds_arg("start", 0.0), _seconds_arg("end", len(found) / rate)
    first, last = int(start * rate), math.ceil(end * rate)
    return jsonify(per_second=rate, start=first / rate, peaks=list(found[first:last]))


def _seconds_arg(name: str, default: float) -> float:
    value = request.args.get(name, "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        raise BadRequest(f"{name} must be seconds (a number)") from None
    if not 0 <= seconds < 10**7:
        raise BadRequest(f"{name} must be seconds from 0")
    return seconds


@api.get("/videos/<int:video_id>/transcript.<fmt>")
def transcript_file(video_id: int, fmt: str):
    """The transcript in its language: saved as `video-7-transcript.es.srt` (players read the language
    from the name), the VTT and JSON say it inside too."""
    video = video_or_404(video_id)
    if fmt not in TRANSCRIPT_FORMATS:
        raise NotFound(f"no transcript format {fmt!r}; use {', '.join(TRANSCRIPT_FORMATS)}")
    lines = operations.transcripts.transcript(unit_of_work(), video_id)
    return _subtitle_file(video_id, lines, fmt, video.language, "transcript")


@api.get("/videos/<int:video_id>/translation.<fmt>")
def translation_file(video_id: int, fmt: str):
    """English subtitles of a video in another language (the English subtitles step), with the speakers'
    names: `video-7-english.en.srt`."""
    video_or_404(video_id)
    if fmt not in TRANSCRIPT_FORMATS:
        raise NotFound(f"no subtitle format {fmt!r}; use {', '.join(TRANSCRIPT_FORMATS)}")
    lines = operations.transcripts.english(unit_of_work(), video_id)
    if lines is None:
        raise NotFound("no English subtitles yet: run English subtitles in the video's pipeline panel")
    return _subtitle_file(video_id, lines, fmt, "en", "english")


def _subtitle_file(video_id: int, lines: Lines, fmt: str, language: str | None, kind: str) -> Response:
    segments, names = lines.segments, lines.names
    if fmt == "srt":
        body = subtitles.to_srt(subtitles.transcript_cues(segments, names))
    elif fmt == "vtt":
        body = subtitles.to_vtt(subtitles.transcript_cues(segments, names), language)
    elif fmt == "json":
        body = subtitles.to_json(segments, names, language)
    else:
        body = subtitles.to_text(segments, names)
    suffix = f".{language}" if language and language.isalpha() else ""
    headers = {"Content-Disposition": f'attachment; filename="video-{video_id}-{kind}{suffix}.{fmt}"'}
    return Response(body, mimetype=TRANSCRIPT_FORMATS[fmt], headers=headers)


@api.get("/videos/<int:video_id>/speakers")
def speakers(video_id: int):
    video_or_404(video_id)
    return jsonify(speakers=operations.speakers.list_speakers(unit_of_work(), video_id))


@api.put("/videos/<int:video_id>/speakers/<label>")
def rename_speaker(video_id: int, label: str):
    """{"name": "Ada", "remember": true}: with remember (the default), Ada is a person in the speaker library
    and this voice is hers, so later videos where it is heard suggest her."""
    video_or_404(video_id)
    body = json_body()
    name, remember = body.get("name"), flag(body, "remember", True)
    if name is not None and (not isinstance(name, str) or len(name.strip()) > 80):
        raise BadRequest("name must be text of at most 80 characters (empty resets it)")
    name = (name or "").strip() or None
    return jsonify(speaker=operations.speakers.rename_speaker(unit_of_work(), video_id, label, name, remember))


@api.post("/videos/<int:video_id>/speakers/<label>/<choice>")
def answer_suggestion(video_id: int, label: str, choice: str):
    """accept: the speaker is the person suggested for their voice and takes their name; reject: not that
    person, remembered for this speaker (the next most alike person may be suggested)."""
    if choice not in ("accept", "reject"):
        raise NotFound(f"no speaker action {choice!r}; use accept or reject")
    video_or_404(video_id)
    uow = unit_of_work()
    if choice == "reject":
        return jsonify(speaker=operations.speakers.reject_suggestion(uow, video_id, label))
    speaker = operations.speakers.accept_suggestion(uow, video_id, label)
    if speaker is None:
        raise Conflict("this speaker has no suggestion to accept")
    return jsonify(speaker=speaker)
