"""What a media URL serves: the file a video or clip row points to, and the name it is saved under."""

from __future__ import annotations

import store.speakers
from operations import lookup, presenters
from operations.unit_of_work import UnitOfWork
from store.records import ClipRecord

CLIP_COLUMNS = {"mp4": "path", "srt": "srt_path", "vtt": "vtt_path", "jpg": "poster_path"}


def clip_path(clip: ClipRecord, kind: str) -> str | None:
    """The clip's file of this kind (mp4, srt, vtt or jpg) as its row records it."""
    return getattr(clip, CLIP_COLUMNS[kind])


def clip_download_name(uow: UnitOfWork, clip: ClipRecord, kind: str) -> str:
    """`<title>_QA3_1m12s.mp4`: the name a saved clip gets (the page's links ask for the same one)."""
    exchange = lookup.existing_exchange(uow.conn, clip.exchange_id)
    video = lookup.existing_video(uow.conn, exchange.video_id)
    names = presenters.speaker_names(store.speakers.get_speakers(uow.conn, video.id))
    speaker = names.get(clip.speaker or "", clip.speaker)
    return presenters.clip_file_name(video.title, exchange.label, clip, speaker, kind)
