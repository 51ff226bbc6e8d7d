"""A video's transcript (JSON and SRT/VTT/TXT files; lines and words corrected by hand), its waveform for the
clip editor, and its speakers (list, rename)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from flask import Response, jsonify, request

import store.engine
import store.speakers
import store.transcripts
from operations import library, people, presenters
from pipeline import alignment, corrections, subtitles, waveform
from pipeline.types import Segment
from routes import get_db, step_service
from routes.api import BadRequest, Conflict, NotFound, api, flag, json_body, video_or_404
from store import layout

TRANSCRIPT_FORMATS = {
    "srt": "application/x-subrip",
    "vtt": "text/vtt",
    "json": "application/json",
    "txt": "text/plain",
}


def speaker_names_of(video_id: int) -> dict[str, str]:
    return presenters.speaker_names(store.speakers.get_speakers(get_db(), video_id))


# ---- transcript and speakers -------------------------------------------------------------------


@api.get("/videos/<int:video_id>/transcript")
def transcript(video_id: int):
    video = video_or_404(video_id)
    conn = get_db()
    names = speaker_names_of(video_id)
    segments = store.transcripts.get_segments(conn, video_id)
    ids = store.transcripts.segment_ids(conn, video_id)
    return jsonify(
        language=video.language,
        note=video.transcript_note,
        segments=[_segment_json(segment_id, segment, names) for segment_id, segment in zip(ids, segments, strict=True)],
    )


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
    """Store a correction; open pages hear of the transcript, the Q&As' questions and the clips."""
    try:
        after = corrections.retext(before, text) if word is None else corrections.retext_word(before, word, text)
    except corrections.CorrectionError as error:
        raise BadRequest(str(error)) from None
    conn = get_db()
    library.correct_line(conn, video_id, segment_id, before, after)
    service = step_service()
    for kind in ("transcript", "exchanges"):  # "exchanges" refreshes the clips too
        service.publish({"type": kind, "video_id": video_id})
    return jsonify(segment=_segment_json(segment_id, after, speaker_names_of(video_id)))


def _segment_or_404(video_id: int, segment_id: int) -> Segment:
    video_or_404(video_id)
    segment = store.transcripts.get_segment(get_db(), video_id, segment_id)
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
        found = waveform.cached_peaks(Path(video.audio_path), layout.waveform_file(Path(video.audio_path)))
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
    segments = store.transcripts.get_segments(get_db(), video_id)
    return _subtitle_file(video_id, segments, fmt, video.language, "transcript")


@api.get("/videos/<int:video_id>/translation.<fmt>")
def translation_file(video_id: int, fmt: str):
    """English subtitles of a video in another language (the English subtitles step), with the speakers'
    names: `video-7-english.en.srt`."""
    video_or_404(video_id)
    if fmt not in TRANSCRIPT_FORMATS:
        raise NotFound(f"no subtitle format {fmt!r}; use {', '.join(TRANSCRIPT_FORMATS)}")
    conn = get_db()
    translation = store.transcripts.get_translation(conn, video_id)
    if translation is None:
        raise NotFound("no English subtitles yet: run English subtitles in the video's pipeline panel")
    segments = alignment.assign_speakers(translation.segments, store.transcripts.get_turns(conn, video_id))
    return _subtitle_file(video_id, segments, fmt, "en", "english")


def _subtitle_file(video_id: int, segments: list[Segment], fmt: str, language: str | None, kind: str) -> Response:
    names = speaker_names_of(video_id)
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
    return jsonify(speakers=presenters.video_speakers(get_db(), video_id))


@api.put("/videos/<int:video_id>/speakers/<label>")
def rename_speaker(video_id: int, label: str):
    """{"name": "Ada", "remember": true}: with remember (the default), Ada is a person in the speaker library
    and this voice is hers, so later videos where it is heard suggest her."""
    video_or_404(video_id)
    body = json_body()
    name, remember = body.get("name"), flag(body, "remember", True)
    if name is not None and (not isinstance(name, str) or len(name.strip()) > 80):
        raise BadRequest("name must be text of at most 80 characters (empty resets it)")
    conn = get_db()
    with store.engine.transaction(conn):
        named = people.name_speaker(conn, video_id, label, (name or "").strip() or None, remember)
    return _speakers_changed(video_id, label, named.elsewhere)


@api.post("/videos/<int:video_id>/speakers/<label>/<choice>")
def answer_suggestion(video_id: int, label: str, choice: str):
    """accept: the speaker is the person suggested for their voice and takes their name; reject: not that
    person, remembered for this speaker (the next most alike person may be suggested)."""
    if choice not in ("accept", "reject"):
        raise NotFound(f"no speaker action {choice!r}; use accept or reject")
    video_or_404(video_id)
    conn = get_db()
    with store.engine.transaction(conn):
        if choice == "accept":
            named = people.accept_suggestion(conn, video_id, label)
        else:
            people.reject_suggestion(conn, video_id, label)
    if choice == "reject":
        return _speakers_changed(video_id, label)
    if named is None:
        raise Conflict("this speaker has no suggestion to accept")
    return _speakers_changed(video_id, label, named.elsewhere)


def _speakers_changed(video_id: int, label: str, elsewhere: set[int] = frozenset()):
    """Names reach the clips' subtitles, open pages hear of it (those of other videos whose suggestions
    changed too); the speaker as it is now."""
    conn = get_db()
    library.rewrite_clip_subtitles(conn, video_id)  # the clips' SRT and VTT say the new name too
    for changed in sorted({video_id, *elsewhere}):
        step_service().publish({"type": "speakers", "video_id": changed})
    speaker = next(item for item in presenters.video_speakers(conn, video_id) if item["label"] == label)
    return jsonify(speaker=speaker)


# ---- exchanges ---------------------------------------------------------------------------------
