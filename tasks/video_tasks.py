"""Phase-1 tasks, one per step: each loads ids, calls one pipeline function and stores the result."""

from __future__ import annotations

import logging

from celery import shared_task

from tasks import task_name
from tasks.base import StepContext, run_step
from utils import db, download, media, videos

log = logging.getLogger(__name__)


@shared_task(name=task_name("download"), bind=True)
def download_video(self, step_id: int) -> None:
    run_step(self, step_id, _download)


def _download(ctx: StepContext) -> None:
    settings = ctx.settings
    folder = videos.video_dir(settings.download_dir, ctx.video_id)
    ffmpeg = media.ffmpeg_binary(settings.ffmpeg_path)
    result = download.fetch(ctx.video["url"], ctx.video["resolution"], folder, ctx.progress, ffmpeg)
    if isinstance(result, download.Playlist):
        _expand_playlist(ctx, result)
        result = download.fetch(ctx.video["url"], ctx.video["resolution"], folder, ctx.progress, ffmpeg)
        if isinstance(result, download.Playlist):
            raise download.DownloadError(f"playlist entry {ctx.video['url']} is itself a playlist: submit its videos")
    info = media.probe(result.path)
    with db.transaction(ctx.conn):
        db.update_video(
            ctx.conn,
            ctx.video_id,
            title=result.title,
            uploader=result.uploader,
            duration=result.duration or info.duration,
            thumbnail_url=result.thumbnail_url,
            thumbnail_path=str(result.thumbnail_path) if result.thumbnail_path else None,
            width=info.width,
            height=info.height,
            video_path=str(result.path),
        )
    ctx.publish_video()
    log.info("video %s: downloaded %s at %sx%s", ctx.video_id, result.path.name, info.width, info.height)


def _expand_playlist(ctx: StepContext, playlist: download.Playlist) -> None:
    """This video becomes the first entry; every other entry becomes a video of its own."""
    if not playlist.entry_urls:
        raise download.DownloadError(f"playlist {ctx.video['url']} has no videos: check the link")
    first, *others = playlist.entry_urls
    with db.transaction(ctx.conn):
        db.update_video(ctx.conn, ctx.video_id, url=first, title=playlist.title)
        new_ids = [videos.create_video(ctx.conn, videos.request_from_video(ctx.video, url)) for url in others]
    ctx.video = db.get_video(ctx.conn, ctx.video_id)
    for video_id in new_ids:
        ctx.service.request(video_id, "download")
    log.info("video %s: playlist with %d entries expanded", ctx.video_id, len(playlist.entry_urls))
