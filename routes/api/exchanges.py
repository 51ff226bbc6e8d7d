"""Exchanges in the API: list, add by hand, delete, run their phase-2 steps; their clips; the editing
timeline of a video's exchanges."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from flask import jsonify, request, send_file, url_for

import operations.clips
import operations.exchanges
from operations import presenters, steps
from operations.timelines import timeline_of
from pipeline import framing, media, subtitles, timeline
from pipeline.timecode import parse_timecode
from routes import settings, unit_of_work
from routes.api import BadRequest, Conflict, NotFound, api, exchange_or_404, flag, json_body, video_or_404
from routes.api.videos import cancel_and_stop
from store.records import ClipRecord, ExchangeRecord, VideoRecord


@api.get("/videos/<int:video_id>/exchanges")
def exchanges(video_id: int):
    video = video_or_404(video_id)
    return jsonify(exchanges=operations.exchanges.describe_all(unit_of_work(), video_id), note=video.exchanges_note)


def _manual_bounds(body: dict[str, Any], video: VideoRecord) -> tuple[float, float]:
    try:
        start, end = parse_timecode(body.get("start")), parse_timecode(body.get("end"))
    except ValueError as error:
        raise BadRequest(f"start and end must be seconds or mm:ss: {error}") from None
    if end <= start:
        raise BadRequest(f"end ({end:.2f} s) must be after start ({start:.2f} s)")
    duration = video.duration
    if duration and end > duration + 0.5:
        raise BadRequest(f"end ({end:.2f} s) is beyond the end of the video ({duration:.2f} s)")
    return start, min(end, duration) if duration else end


@api.post("/videos/<int:video_id>/exchanges")
def create_exchange(video_id: int):
    video = video_or_404(video_id)
    body = json_body()
    start, end = _manual_bounds(body, video)
    process = flag(body, "process")
    searched = flag(body, "from_search")  # a sentence clipped from a search: with the clips, not a Q&A
    created = operations.exchanges.add_by_hand(unit_of_work(), video_id, start, end, searched, process)
    return jsonify(exchange=created), 201


SHAPES = ("original", *media.SHAPES)
CAPTIONS = ("none", *subtitles.CAPTION_STYLES)
LOOK_FIELDS = ("shape", "framing", "crop_x", "captions", "caption_position", "caption_names")


@api.patch("/exchanges/<int:exchange_id>")
def edit_exchange(exchange_id: int):
    """Trim a Q&A ("start", "end": seconds or mm:ss) or choose how its clips look ("shape": original,
    vertical or square; "framing": follow (the crop follows whoever speaks), fixed or split (the two main
    people stacked); "crop_x": 0..1 where a fixed crop sits; "captions": none, clean, highlight, pop or
    bilingual (the words with their English under them: the video's English subtitles must be made first) burned
    in (the old "plain" and "words" still work); "caption_position": top, middle or bottom; "caption_names":
    true, false, or null for the shape's default). Its clips are then out of date (stale) until cut again."""
    exchange = exchange_or_404(exchange_id)
    body = json_body()
    unknown = set(body) - {"start", "end", *LOOK_FIELDS}
    if unknown:
        raise BadRequest(f"unknown fields {sorted(unknown)}: a Q&A's start, end, {', '.join(LOOK_FIELDS)} can change")
    changes = look_changes(body)
    bounds = None
    if "start" in body or "end" in body:
        wanted = {"start": body.get("start", exchange.start_time), "end": body.get("end", exchange.end_time)}
        bounds = _manual_bounds(wanted, video_or_404(exchange.video_id))
    operations.exchanges.edit(unit_of_work(), exchange, changes, bounds)
    return get_exchange(exchange_id)


def captions_asked(value: Any) -> str:
    """A request's "captions": none or a caption style, the old style names renamed (BadRequest if neither)."""
    captions = subtitles.OLD_STYLE_NAMES.get(value, value) if isinstance(value, str) else value
    if captions not in CAPTIONS:
        raise BadRequest(f"captions must be one of {', '.join(CAPTIONS)}")
    return captions


def look_changes(body: dict[str, Any]) -> dict[str, Any]:
    """The exchange columns a request's look fields set, each checked (BadRequest says what is wrong)."""
    changes: dict[str, Any] = {}
    if "shape" in body:
        if body["shape"] not in SHAPES:
            raise BadRequest(f"shape must be one of {', '.join(SHAPES)}")
        changes["shape"] = body["shape"]
    if "framing" in body:
        if body["framing"] not in framing.FRAMINGS:
            raise BadRequest(
                f"framing must be one of {', '.join(framing.FRAMINGS)} (follow: the crop follows whoever speaks; "
                "fixed: it stays at crop_x; split: the two main people stacked)"
            )
        changes["framing"] = body["framing"]
    if "captions" in body:  # burned into the picture, in one of the caption styles
        changes["captions"] = captions_asked(body["captions"])
    if "caption_position" in body:
        if body["caption_position"] not in subtitles.POSITIONS:
            raise BadRequest(f"caption_position must be one of {', '.join(subtitles.POSITIONS)}")
        changes["caption_position"] = body["caption_position"]
    if "caption_names" in body:
        names = body["caption_names"]
        if names is not None and not isinstance(names, bool):
            raise BadRequest("caption_names must be true, false or null (the shape's default)")
        changes["caption_names"] = None if names is None else int(names)
    if "crop_x" in body:
        value = body["crop_x"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise BadRequest("crop_x must be a number from 0 (left edge) to 1 (right edge)")
        changes["crop_x"] = float(value)
    return changes


@api.post("/exchanges/<int:exchange_id>/cut")
def cut_exchange_again(exchange_id: int):
    """Cut a Q&A's clips again as it is now (after a trim, a new shape or captions): from its first step
    not done, each queueing the next; 202 with the steps queued and what was started, in words ("Cutting
    Q&A 3 again: 3 clips"). Never silently nothing: a Q&A being cut already says so."""
    exchange = exchange_or_404(exchange_id)
    queued, message = operations.exchanges.cut_again(unit_of_work(), exchange)
    return jsonify(steps=queued, message=message), 202


@api.delete("/exchanges/<int:exchange_id>")
def delete_exchange(exchange_id: int):
    exchange = exchange_or_404(exchange_id)
    operations.exchanges.delete_exchange(unit_of_work(), exchange, settings().processed_clips_dir)
    return "", 204


@api.post("/exchanges/<int:exchange_id>/steps/<step>")
def trigger_exchange_step(exchange_id: int, step: str):
    """Queue one of a Q&A's steps; the cut takes the captions to burn in, kept as the Q&A's choice
    (`{"captions": "pop"}`, or "none"; the old `{"burn_subtitles": true}` burns its chosen style in, else clean)."""
    exchange = exchange_or_404(exchange_id)
    if step not in steps.PHASE2_STEPS:
        raise NotFound(f"unknown step {step!r}; exchange steps are {', '.join(steps.PHASE2_STEPS)}")
    body = json_body() if request.content_length else {}
    captions = _cut_captions(body, exchange) if step == "cut_clips" else None
    return jsonify(step=operations.exchanges.request_step(unit_of_work(), exchange, step, captions)), 202


def _cut_captions(body: dict[str, Any], exchange: ExchangeRecord) -> str | None:
    """The captions a cut asks for (None: the Q&A's choice stays)."""
    if body.get("captions") is not None:
        if body.get("burn_subtitles") is not None:
            raise BadRequest("captions and burn_subtitles ask the same: send captions alone")
        return captions_asked(body["captions"])
    if body.get("burn_subtitles") is None:
        return None
    return subtitles.style_when_burned(exchange.captions) if flag(body, "burn_subtitles") else "none"


@api.post("/exchanges/<int:exchange_id>/steps/<step>/cancel")
def cancel_exchange_step(exchange_id: int, step: str):
    exchange = exchange_or_404(exchange_id)
    return jsonify(step=cancel_and_stop(exchange.video_id, step, exchange_id)), 200


@api.post("/videos/<int:video_id>/exchanges/process")
def process_all(video_id: int):
    """Run every exchange through phase 2 (process, define, cut), skipping ones already under way."""
    video_or_404(video_id)
    queued = operations.exchanges.process_video_exchanges(unit_of_work(), video_id)
    if queued is None:
        raise BadRequest("this video has no exchanges yet: run the exchanges step or add one by hand")
    return jsonify(steps=queued), 202


@api.post("/exchanges/<int:exchange_id>/process")
def process_one(exchange_id: int):
    """Run one exchange through phase 2 to its clips (from a search hit, say); one already cut is left as
    it is (409): re-run its steps on the video's page to cut it again."""
    exchange = exchange_or_404(exchange_id)
    queued, kept = operations.exchanges.process_exchanges(unit_of_work(), [exchange], keep_cut=True)
    if kept:
        raise Conflict("this Q&A is already cut: its clips are on the video's page and under Clips")
    return jsonify(steps=queued), 202


# ---- clips -------------------------------------------------------------------------------------


@api.get("/exchanges/<int:exchange_id>")
def get_exchange(exchange_id: int):
    """One exchange with its steps (and what may be done with each), its speaker segments and clips."""
    exchange = exchange_or_404(exchange_id)
    described = operations.exchanges.describe_one(unit_of_work(), exchange)
    return jsonify({**described, "video_id": exchange.video_id, **_clips_of(exchange)})


@api.get("/exchanges/<int:exchange_id>/clips")
def clips(exchange_id: int):
    return jsonify(_clips_of(exchange_or_404(exchange_id)))


def _clips_of(exchange: ExchangeRecord) -> dict[str, Any]:
    found = operations.clips.clips_of(unit_of_work(), exchange)
    names = found.names
    return {
        "exchange_segments": [
            {
                "start": row.start_time,
                "end": row.end_time,
                "speaker": row.speaker,
                "speaker_name": names.get(row.speaker, row.speaker),
            }
            for row in found.segments
        ],
        "clips": [_clip_json(row, names, found.video_title, exchange.label) for row in found.clips],
    }


def _clip_json(row: ClipRecord, names: dict[str, str], title: str | None, label: str) -> dict[str, Any]:
    def link(kind: str, present: str | None) -> str | None:
        return url_for("media.clip_file", clip_id=row.id, kind=kind) if present else None

    return {
        "id": row.id,
        "kind": row.kind,
        "start": row.start_time,
        "end": row.end_time,
        "speaker": row.speaker,
        "speaker_name": names.get(row.speaker, row.speaker) if row.speaker else None,
        # its question (at most 60 characters), with who speaks for a speaker's clip: "Why? — Ada"
        "title": presenters.clip_title(row, names.get(row.speaker, row.speaker) if row.speaker else None, label),
        "note": row.note,
        "url": link("mp4", row.path),
        "srt_url": link("srt", row.srt_path),
        "vtt_url": link("vtt", row.vtt_path),
        "poster_url": link("jpg", row.poster_path),
        "burned_captions": row.burned_captions,
        "captions_out_of_date": row.captions_out_of_date,
        "width": row.width,
        "height": row.height,
        "upscaled_from": row.upscaled_from,  # the source's height when the picture was enlarged from it
        # what to call the files when saving them: <title>_QA3_1m12s.mp4 (.srt, .vtt)
        "download_name": presenters.clip_file_name(title, label, row, names.get(row.speaker or "", row.speaker), "mp4"),
    }


# ---- editing timelines ----------------------------------------------------------------------------


@api.get("/videos/<int:video_id>/timeline.<fmt>")
def video_timeline(video_id: int, fmt: str):
    """The video's exchanges as an editing timeline with sound: .otio (OpenTimelineIO), .fcpxml (DaVinci
    Resolve, Final Cut Pro) or .edl (CMX 3600: Premiere, Avid), each exchange a clip with a marker for its
    question, referencing the source video by the name its download is saved under."""
    video = video_or_404(video_id)
    timeline_format(fmt)
    if not operations.exchanges.qas_of(unit_of_work(), video_id):
        raise Conflict("this video has no Q&A yet: find them (or add one by hand) first")
    return send_timeline(timeline_of(unit_of_work(), video), fmt, Path(presenters.source_file_name(video)).stem)


def timeline_format(fmt: str) -> None:
    if fmt not in timeline.FORMATS:
        raise NotFound(f"no timeline format {fmt!r}; use {', '.join(timeline.FORMATS)}")


def send_timeline(built: timeline.otio.schema.Timeline, fmt: str, stem: str):
    body = timeline.write(built, fmt)
    # send_file names it for every browser: an ASCII fallback plus filename*= for titles in any script
    return send_file(
        io.BytesIO(body.encode()), mimetype=timeline.FORMATS[fmt][1], as_attachment=True, download_name=f"{stem}.{fmt}"
    )
