"""Zips of clips (/clips/download.zip, a person's answers.zip) are streamed as they are read from disk:
the web process holds a chunk, never the archive, and the archive reads back with every clip intact."""

from __future__ import annotations

import io
import os
import tracemalloc
import zipfile
from pathlib import Path

import pytest

import store.clips
import store.engine
import store.speakers
import store.videos
from operations import people, presenters, videos
from operations.clips import clips_in_library
from operations.exchanges import create_exchange
from operations.step_service import StepService
from operations.unit_of_work import UnitOfWork
from pipeline.types import Exchange

CLIP_BYTES = 3 * 2**20  # three clips: 9 MB of MP4 in each zip
MEMORY_LIMIT = 3 * 2**20


@pytest.fixture
def conn(app_conn):
    return app_conn


@pytest.fixture
def cut_clips(conn, tmp_path) -> tuple[int, dict[str, bytes]]:
    """A video whose three Q&As are cut (one whole-exchange clip each, with subtitles), answered by Ada;
    returns her person id and the zip's expected members."""
    with store.engine.transaction(conn):
        video_id = videos.create_video(conn, videos.VideoRequest(url="https://example.org/talk"))
        store.videos.update_video(conn, video_id, title="Harbour talk", duration=300.0)
        store.speakers.ensure_speakers(conn, video_id, ["SPEAKER_00", "SPEAKER_01"])
        exchange_ids = [
            create_exchange(
                conn,
                video_id,
                f"spkchg_{n}",
                "auto",
                Exchange(60.0 * n, 60.0 * n + 42, "Why?", "SPEAKER_00", "SPEAKER_01"),
            )
            for n in range(1, 4)
        ]
        for n, exchange_id in enumerate(exchange_ids):
            mp4, srt = tmp_path / f"clip{n}.mp4", tmp_path / f"clip{n}.srt"
            mp4.write_bytes(os.urandom(CLIP_BYTES))
            srt.write_text(f"1\n00:00:00,000 --> 00:00:02,000\nAnswer {n}\n")
            store.clips.replace_clips(
                conn,
                exchange_id,
                [
                    {
                        "position": 1,
                        "kind": "exchange",
                        "start_time": 60.0 * (n + 1),
                        "end_time": 60.0 * (n + 1) + 42,
                        "path": str(mp4),
                        "srt_path": str(srt),
                    }
                ],
            )
        person = people.name_speaker(conn, video_id, "SPEAKER_01", "Ada", remember=True).person
    expected = {}
    for item in clips_in_library(UnitOfWork(conn, StepService(conn)), video_id):
        stem = presenters.clip_file_name(item.video.title, item.exchange.label, item.clip, None, "mp4")[:-4]
        expected[f"{stem}_{item.clip.id}.mp4"] = Path(item.clip.path).read_bytes()
        expected[f"{stem}_{item.clip.id}.srt"] = Path(item.clip.srt_path).read_bytes()
    return person.id, expected


def download_streamed(client, path: str, into: Path) -> tuple[int, str, int]:
    """GET the zip chunk by chunk into a file; (status, Content-Disposition, peak bytes the process held)."""
    tracemalloc.start()
    try:
        response = client.get(path, buffered=False)
        with into.open("wb") as out:
            for chunk in response.response:
                out.write(chunk)
        response.close()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return response.status_code, response.headers.get("Content-Disposition", ""), peak


def read_back(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None, "every member's CRC matches"
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_STORED}
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.mark.parametrize("which", ["clips", "answers"])
def test_a_zip_of_clips_is_streamed_and_reads_back_intact(client, cut_clips, tmp_path, which):
    person_id, expected = cut_clips
    path = "/clips/download.zip" if which == "clips" else f"/people/{person_id}/answers.zip"
    status, disposition, peak = download_streamed(client, path, tmp_path / "got.zip")
    assert status == 200
    name = "all_clips.zip" if which == "clips" else "Ada-answers.zip"  # named after what it holds
    assert disposition == f"attachment; filename={name}"
    assert read_back(tmp_path / "got.zip") == expected
    assert sum(map(len, expected.values())) > 3 * MEMORY_LIMIT
    assert peak < MEMORY_LIMIT, f"{peak / 2**20:.1f} MB held while a {CLIP_BYTES * 3 / 2**20:.0f} MB zip went out"


def test_a_clip_removed_since_it_was_listed_is_left_out(client, cut_clips, tmp_path, conn):
    _person_id, expected = cut_clips
    gone = store.clips.list_cut_clips(conn)[0]
    Path(gone.path).unlink()
    response = client.get("/clips/download.zip")
    assert response.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert len(names) == len(expected) - 1 and not any(name.endswith(f"_{gone.id}.mp4") for name in names)
