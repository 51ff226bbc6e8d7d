"""A video's transcript (JSON and SRT/VTT/TXT files) and its speakers (list, rename)."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from routes import get_db, step_service
from routes.api import BadRequest, Conflict, NotFound, api, flag, json_body, video_or_404
from utils.core import db, library, people, presenters
from utils.pipeline import subtitles

TRANSCRIPT_FORMATS = {
    "srt": "application/x-subrip",
    "vtt": "text/vtt",
    "json": "application/json",
    "txt": "text/plain",
}


def speaker_names_of(video_id: int) -> dict[str, str]:
    return presenters.speaker_names(db.get_speakers(get_db(), video_id))


# ---- transcript and speakers -------------------------------------------------------------------


@api.get("/videos/<int:video_id>/transcript")
def transcript(video_id: int):
    video = video_or_404(video_id)
    conn = get_db()
    names = speaker_names_of(video_id)
    segments = db.get_segments(conn, video_id)
    ids = db.segment_ids(conn, video_id)
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


@api.get("/videos/<int:video_id>/transcript.<fmt>")
def transcript_file(video_id: int, fmt: str):
    video_or_404(video_id)
    if fmt not in TRANSCRIPT_FORMATS:
        raise NotFound(f"no transcript format {fmt!r}; use {', '.join(TRANSCRIPT_FORMATS)}")
    segments = db.get_segments(get_db(), video_id)
    names = speaker_names_of(video_id)
    if fmt == "srt":
        body = subtitles.to_srt(subtitles.transcript_cues(segments, names))
    elif fmt == "vtt":
        body = subtitles.to_vtt(subtitles.transcript_cues(segments, names))
    elif fmt == "json":
        body = subtitles.to_json(segments, names)
    else:
        body = subtitles.to_text(segments, names)
    headers = {"Content-Disposition": f'attachment; filename="video-{video_id}-transcript.{fmt}"'}
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
    with db.transaction(conn):
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
    with db.transaction(conn):
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
