"""A Q&A cut vertical by the cut_clips step with the crop following whoever speaks, on a real video
(MSDWild's clip 00001 in ../shared/faces: a host on the left asks "Do you feel good?", the boy in the middle
answers): every clip is 1080×1920, the crop sits on the host during his turn and on the boy during his, the
face analysis has its share of the step's progress, and the preview's still is centred until the cut."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np
import pytest

import store.clips
import store.engine
import store.exchanges
import store.speakers
import store.transcripts
import store.videos
from operations import videos
from operations.exchanges import create_exchange
from pipeline import cutting, framing, media
from pipeline.types import Exchange, Segment, Word
from tasks import clip_steps
from tests.support.framing_labels import shared_face_video
from tests.support.speech_samples import read_rttm
from tests.support.step_contexts import clip_step_context

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
FACES = ROOT.parent / "shared" / "faces"
HOST, BOY = "2", "0"  # the RTTM's speaker ids (its face ids)
HOST_FACE_X, BOY_FACE_X = (336 + 445) / 2, (704 + 796) / 2  # where their faces are, in source pixels
QUESTION = "If someone compliments Korea or if Korea does something well in news do you feel good"
ANSWER = (
    "Because I'm part of that like when they say America has ten thousand cases and Korea has like one "
    "thousand cases of covid then I feel good"
)
SCALE = 2  # frames are compared at half the source's size


@pytest.fixture(scope="module")
def video() -> Path:
    return shared_face_video()


def spoken(start: float, end: float, text: str, speaker: str) -> Segment:
    texts = text.split()
    slot = (end - start) / len(texts)
    words = tuple(
        Word(round(start + i * slot, 3), round(start + (i + 0.8) * slot, 3), t, 0.9, speaker)
        for i, t in enumerate(texts)
    )
    return Segment(start, end, text, words, speaker)


def step_context(app, conn, video_id: int, exchange_id: int, progress: list[float]) -> SimpleNamespace:
    return clip_step_context(app.config["SETTINGS"], conn, video_id, exchange_id, progress.append)


def grey_frame(path: Path, at: float, width: int, height: int) -> np.ndarray:
    """The frame shown at `at` seconds, scaled to width×height, as grey levels."""
    seek = ["-ss", f"{at:.3f}"] if at else []  # (a JPEG has no time to seek to)
    command = [media.ffmpeg_binary(), "-hide_banner", "-loglevel", "error", *seek, "-i", str(path), "-frames:v", "1",
               "-vf", f"scale={width}:{height}", "-f", "rawvideo", "-pix_fmt", "gray", "-"]  # fmt: skip
    raw = subprocess.run(command, capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(height, width).astype(np.float32)


def crop_left_edge(shown: np.ndarray, source: Path, source_at: float) -> int:
    """Where, across the source's picture, a vertical frame (grey, at half the crop's size) was cropped: the
    left edge, in source pixels, of the 9:16 strip of the source's frame at `source_at` most like it."""
    width = shown.shape[1]
    picture = grey_frame(source, source_at, 1280 // SCALE, 720 // SCALE)
    differences = [np.abs(picture[:, x : x + width] - shown).mean() for x in range(picture.shape[1] - width + 1)]
    return int(np.argmin(differences)) * SCALE


def clip_frame(path: Path, at: float) -> np.ndarray:
    """A vertical clip's (or still's) frame at `at` seconds, at half the source crop's size."""
    crop_w, crop_h = framing.crop_size(1280, 720)
    return grey_frame(path, at, crop_w // SCALE, crop_h // SCALE)


def make_qa(conn, video: Path, start: float, end: float, segments: list[Segment], **look) -> tuple[int, int]:
    """A video (MSDWild's clip with its human turns) and one Q&A over [start, end] with this look."""
    with store.engine.transaction(conn):
        video_id = videos.create_video(conn, videos.VideoRequest(url="https://example.org/msdwild"))
        store.videos.update_video(conn, video_id, title="Korea", duration=24.29, video_path=str(video))
        store.transcripts.replace_turns(conn, video_id, read_rttm(FACES / "msdwild_00001.rttm"))
        store.transcripts.replace_segments(conn, video_id, segments)
        store.speakers.ensure_speakers(conn, video_id, sorted({segment.speaker for segment in segments}))
        asker, answerer = segments[0].speaker, segments[-1].speaker
        exchange = Exchange(start, end, segments[0].text, asker, answerer)
        exchange_id = create_exchange(conn, video_id, "spkchg_1", "auto", exchange)
        store.exchanges.update_exchange(conn, exchange_id, captions="none", **look)
    return video_id, exchange_id


def cut(app, conn, video_id: int, exchange_id: int) -> list[float]:
    """The Q&A through label_speakers, define_clips and cut_clips; the progress the cut reported."""
    progress: list[float] = []
    ctx = step_context(app, conn, video_id, exchange_id, progress)
    clip_steps._label_speakers(ctx)
    clip_steps._define_clips(ctx)
    progress.clear()
    clip_steps._cut_clips(ctx)
    return progress


def test_a_vertical_qa_follows_the_host_then_the_boy(app, app_conn, video):
    segments = [spoken(5.7, 11.3, QUESTION, HOST), spoken(12.6, 24.2, ANSWER, BOY)]
    video_id, exchange_id = make_qa(
        app_conn, video, 5.7, 24.2, segments, shape="vertical", framing="follow", crop_x=0.0
    )
    progress = cut(app, app_conn, video_id, exchange_id)

    rows = store.clips.list_clips(app_conn, exchange_id)
    assert len(rows) > 1 and all((row.width, row.height) == (1080, 1920) for row in rows)
    for row in rows:
        info = media.probe(row.path)
        assert (info.width, info.height) == (1080, 1920) and abs(info.duration - (row.end_time - row.start_time)) < 0.1
    whole = next(row for row in rows if row.kind == "exchange")
    crop_w = framing.crop_size(1280, 720)[0]
    host_x = crop_left_edge(clip_frame(Path(whole.path), 8.0 - whole.start_time), video, 8.0)  # his turn, close shot
    # the answer, away from the jump cut at 18.04 s (where the crop may re-place itself on the new frame)
    boy_x = crop_left_edge(clip_frame(Path(whole.path), 16.0 - whole.start_time), video, 16.0)
    assert host_x < HOST_FACE_X < host_x + crop_w, (host_x, boy_x)
    assert boy_x < BOY_FACE_X < boy_x + crop_w, (host_x, boy_x)
    assert boy_x - host_x > crop_w / 2, "the crop moved across to the boy"
    answer = next(row for row in rows if row.kind == "speaker" and row.speaker == BOY)  # copied out of the encode
    assert crop_left_edge(clip_frame(Path(answer.path), 16.0 - answer.start_time), video, 16.0) == boy_x

    assert progress == sorted(progress) and progress[-1] >= 0.99
    assert any(0 < fraction <= cutting.FACES_SHARE for fraction in progress), "finding faces reports progress"


def test_a_fixed_crop_stays_where_it_was_put_and_looks_for_no_faces(app, app_conn, video, caplog):
    segments = [spoken(1.0, 4.6, "Sometimes we'll use half Korean and half English and mix it", BOY)]
    video_id, exchange_id = make_qa(app_conn, video, 1.0, 4.6, segments, shape="vertical", framing="fixed", crop_x=1.0)
    with caplog.at_level("INFO", logger="pipeline.faces"):
        cut(app, app_conn, video_id, exchange_id)
    assert not [record for record in caplog.records if record.name == "pipeline.faces"]
    (row, *_) = store.clips.list_clips(app_conn, exchange_id)
    right_edge = 1280 - framing.crop_size(1280, 720)[0]
    assert abs(crop_left_edge(clip_frame(Path(row.path), 2.0), video, row.start_time + 2.0) - right_edge) <= SCALE


def test_the_preview_is_centred_until_the_cut_finds_the_speaker(client, app_conn, video, tmp_path):
    segments = [spoken(1.0, 4.6, "Sometimes we'll use half Korean and half English and mix it", BOY)]
    _, exchange_id = make_qa(app_conn, video, 1.0, 4.6, segments, shape="vertical", framing="fixed", crop_x=0.0)
    url = f"/api/exchanges/{exchange_id}/preview.jpg"
    edges = {}
    for query in ("framing=fixed&crop_x=0", "framing=follow&crop_x=0", "framing=split&crop_x=1", "crop_x=1"):
        response = client.get(f"{url}?shape=vertical&{query}")
        assert response.status_code == 200, query
        still = tmp_path / "still.jpg"
        still.write_bytes(response.data)
        with av.open(io.BytesIO(response.data)) as container:
            assert next(container.decode(video=0)).height == media.PREVIEW_HEIGHT
        edges[query] = crop_left_edge(clip_frame(still, 0.0), video, 1.0)
    centre = (1280 - framing.crop_size(1280, 720)[0]) // 2
    assert edges["framing=fixed&crop_x=0"] == 0 and edges["crop_x=1"] > centre + 200, "the stored framing: fixed"
    assert abs(edges["framing=follow&crop_x=0"] - centre) <= SCALE, edges
    assert abs(edges["framing=split&crop_x=1"] - centre) <= SCALE, edges
    refused = client.get(f"{url}?framing=zoom")
    assert refused.status_code == 400 and "framing must be one of follow, fixed, split" in refused.get_json()["error"]
