"""Videos in the API: submit links, list, read, run a phase-1 step, delete; and the error log."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import current_app, jsonify, request

import operations.videos
from operations import uploads
from operations.steps import QueueUnavailable
from operations.videos import VideoRequest
from pipeline.download import RESOLUTIONS, InvalidURL, validate_url
from pipeline.redact import redact_url
from routes import settings, unit_of_work
from routes.api import MAX_SPEAKERS, BadRequest, Conflict, api, flag, json_body, page_args, video_or_404
from store.records import VideoRecord

log = logging.getLogger(__name__)


def _optional_count(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.isascii() and value.strip().isdecimal():  # typed into a form field
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SPEAKERS:
        raise BadRequest(f"{key} must be a whole number from 1 to {MAX_SPEAKERS}")
    return value


def submission_options(body: dict[str, Any]) -> dict[str, Any]:
    resolution = body.get("resolution", "best")
    if resolution not in RESOLUTIONS:
        raise BadRequest(f"resolution must be one of {', '.join(RESOLUTIONS)}")
    # The API's "auto" and "clips" (the form's switches, kept for the scripts that send them) ask for the whole
    # pipeline and for clips of every Q&A after it; clips imply the whole pipeline.
    wants_clips = flag(body, "clips")
    options = {
        "resolution": resolution,
        "wants_whole_pipeline": flag(body, "auto") or wants_clips,
        "wants_clips": wants_clips,
    }
    for key in ("num_speakers", "min_speakers", "max_speakers"):
        options[key] = _optional_count(body, key)
    if options["min_speakers"] and options["max_speakers"] and options["min_speakers"] > options["max_speakers"]:
        raise BadRequest("min_speakers must not be above max_speakers")
    return options


def _submitted_urls(body: dict[str, Any]) -> list[Any]:
    urls = body.get("urls")
    if isinstance(urls, str):  # text pasted one link per line: blank lines are just spacing
        urls = [line for line in urls.splitlines() if line.strip()]
    if not isinstance(urls, list):
        raise BadRequest('expected "urls": a list of links')
    if not urls:
        raise BadRequest("no URLs given: paste at least one link")
    limit = settings().max_urls_per_submission
    if len(urls) > limit:
        raise BadRequest(f"{len(urls)} URLs given; at most {limit} are accepted at once (MAX_URLS_PER_SUBMISSION)")
    return urls


def _split_valid(urls: list[Any]) -> tuple[list[str], list[dict[str, str]]]:
    accepted: list[str] = []
    rejected: list[dict[str, str]] = []
    allowed = settings().allowed_networks
    for raw in urls:
        try:
            url = validate_url(raw, allowed)
        except InvalidURL as error:
            rejected.append({"url": redact_url(str(raw)), "error": str(error)})
            continue
        if url in accepted:
            rejected.append({"url": redact_url(url), "error": "listed twice in this submission"})
        else:
            accepted.append(url)
    return accepted, rejected


@api.post("/videos")
def submit_videos():
    body = json_body()
    options = submission_options(body)
    accepted, rejected = _split_valid(_submitted_urls(body))
    if not accepted:
        return jsonify(error="no valid URL in the submission", videos=[], rejected=rejected), 400
    uow = unit_of_work()
    # A link already in the library is not processed again unless asked ("again": true).
    known = {} if flag(body, "again") else operations.videos.known_links(uow, accepted)
    existing = [{"url": redact_url(url), "video_id": known[url]} for url in accepted if url in known]
    accepted = [url for url in accepted if url not in known]
    if not accepted:
        return jsonify(videos=[], rejected=rejected, existing=existing), 200
    try:
        ids = operations.videos.submit_links(uow, [VideoRequest(url=url, **options) for url in accepted])
    except QueueUnavailable as error:
        return jsonify(error=str(error), videos=[], rejected=rejected), 503
    created = [{"id": video_id, "url": redact_url(url)} for video_id, url in zip(ids, accepted, strict=True)]
    return jsonify(videos=created, rejected=rejected, existing=existing), 201


@api.post("/videos/<int:video_id>/again")
def process_again(video_id: int):
    """A link already in the library, added once more as a new video (with the options in the body);
    an uploaded file is not downloaded but starts the new video as it is."""
    video = video_or_404(video_id)
    options = submission_options(json_body() if request.content_length else {})
    if video.url.startswith(uploads.URL_PREFIX):
        return _upload_again(video, options)
    try:
        (new_id,) = operations.videos.submit_links(unit_of_work(), [VideoRequest(url=video.url, **options)])
    except QueueUnavailable as error:
        return jsonify(error=str(error)), 503
    return jsonify(video={"id": new_id, "url": redact_url(video.url)}), 201


def _upload_again(video: VideoRecord, options: dict[str, Any]):
    """An upload has no link to fetch again: the new video starts from the same file, its download done."""
    if not video.video_path or not Path(video.video_path).is_file():
        raise Conflict(f"the file uploaded for video {video.id} is no longer stored: upload it again")
    config = settings()
    new_id, queued, warning = operations.videos.add_upload_again(
        unit_of_work(),
        video,
        VideoRequest(url=video.url, **options),
        Path(config.download_dir),
        config.min_free_disk_mb * 2**20,
    )
    return jsonify(video={"id": new_id, "url": video.url}, queued=queued, warning=warning), 201


@api.get("/videos")
def list_videos():
    page, per_page = page_args()
    found = operations.videos.page_of_videos(unit_of_work(), page, per_page)
    return jsonify(videos=found.videos, total=found.total, page=page, per_page=per_page)


def stop_tasks(task_ids: list[str]) -> None:
    """Stop tasks whose steps were deleted or cancelled: their task ids no longer match, so nothing they
    write afterwards sticks, and revoking with SIGTERM stops the process running them now."""
    if not task_ids:
        return
    try:
        current_app.extensions["celery"].control.revoke(task_ids, terminate=True, signal="SIGTERM")
    except Exception as error:  # the broker being down must not undo a deletion
        log.warning("could not revoke %d tasks: %s", len(task_ids), error)


@api.get("/videos/<int:video_id>")
def get_video(video_id: int):
    return jsonify(operations.videos.describe_video(unit_of_work(), video_or_404(video_id)))


@api.post("/videos/<int:video_id>/steps/<step>")
def trigger_step(video_id: int, step: str):
    video = video_or_404(video_id)
    return jsonify(step=operations.videos.request_step(unit_of_work(), video, step)), 202


@api.post("/videos/<int:video_id>/steps/<step>/cancel")
def cancel_step(video_id: int, step: str):
    """Stop a queued or running phase-1 step: its task is revoked (the process running it is stopped)."""
    video_or_404(video_id)
    return jsonify(step=cancel_and_stop(video_id, step)), 200


def cancel_and_stop(video_id: int, step: str, exchange_id: int | None = None):
    """Cancel a step (back to pending) and revoke its task, so the process running it stops."""
    cancelled, task_id = operations.videos.cancel_step(unit_of_work(), video_id, step, exchange_id)
    stop_tasks([task_id] if task_id else [])
    return cancelled


@api.patch("/videos/<int:video_id>")
def edit_video(video_id: int):
    """Correct a video's link before retrying its download (the only field that can be changed)."""
    video_or_404(video_id)
    body = json_body()
    if set(body) - {"url"} or "url" not in body:
        raise BadRequest('only the link can be changed: send {"url": "https://..."}')
    try:
        url = validate_url(body["url"], settings().allowed_networks)
    except InvalidURL as error:
        raise BadRequest(f"url: {error}") from None
    operations.videos.change_link(unit_of_work(), video_id, url)
    return jsonify(id=video_id, url=redact_url(url))


@api.delete("/videos/<int:video_id>")
def delete_video(video_id: int):
    video_or_404(video_id)
    config = settings()
    folders = [Path(config.download_dir), Path(config.processed_clips_dir)]
    stop_tasks(operations.videos.delete_video(unit_of_work(), video_id, folders))
    return "", 204


@api.get("/errors")
def list_errors():
    rows = operations.videos.error_log(unit_of_work())
    return jsonify(
        errors=[
            {
                "step": {
                    key: getattr(row, key)
                    for key in ("id", "name", "state", "error", "attempts", "finished_at", "exchange_id")
                },
                "video_id": row.video_id,
                "video_title": row.video_title or redact_url(row.video_url),
                "exchange_label": row.exchange_label,
            }
            for row in rows
        ]
    )
