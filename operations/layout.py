"""Where a video's and an exchange's files live under the managed folders, and removing them."""

from __future__ import annotations

import shutil
from pathlib import Path


def video_dir(download_dir: Path, video_id: int) -> Path:
    return download_dir / str(video_id)


def remove_video_files(video_id: int, folders: list[Path]) -> None:
    for root in folders:
        shutil.rmtree(video_dir(root, video_id), ignore_errors=True)


def exchange_dir(clips_dir: Path, video_id: int, exchange_id: int) -> Path:
    return clips_dir / str(video_id) / str(exchange_id)


def remove_exchange_files(clips_dir: Path, video_id: int, exchange_ids: list[int]) -> None:
    """Clip files of exchanges that no longer exist, so re-running leaves no orphans."""
    for exchange_id in exchange_ids:
        shutil.rmtree(exchange_dir(clips_dir, video_id, exchange_id), ignore_errors=True)


def waveform_file(audio_path: Path) -> Path:
    """The clip editor's waveform of a video, kept beside the WAV it is worked out from."""
    return audio_path.with_name("waveform.peaks")
