"""The Clips page's filters: by person (across videos) or by one video's speaker, never by a name that
two videos' "Speaker 1" share; and its zip, named after what it holds."""

from __future__ import annotations

import re

import pytest

import store.clips
import store.engine
import store.exchanges
import store.speakers
import store.videos
from operations import presenters
from operations.exchanges import create_exchange
from pipeline.types import Exchange, Turn

A, B = "SPEAKER_00", "SPEAKER_01"


@pytest.fixture
def conn(app_conn):
    return app_conn


def interview(conn, tmp_path, title: str) -> int:
    """A video whose one Q&A is cut: a whole-Q&A clip and a clip of each speaker (A asks, B answers)."""
    with store.engine.transaction(conn):
        video_id = store.videos.insert_video(conn, url=f"https://example.org/{title}", resolution="720", title=title)
        store.speakers.ensure_speakers(conn, video_id, [A, B])
        exchange_id = create_exchange(conn, video_id, "spkchg_1", "auto", Exchange(0, 9, "Why?", A, B))
        store.exchanges.replace_exchange_segments(conn, exchange_id, [Turn(0, 3, A), Turn(3, 9, B)])
        clips = [("exchange", None, 0, 9), ("speaker", A, 0, 3), ("speaker", B, 3, 9)]
        rows = [
            {
                "position": n,
                "kind": kind,
                "speaker": who,
                "start_time": start,
                "end_time": end,
                "path": str(tmp_path / f"{title}-{n}.mp4"),
            }
            for n, (kind, who, start, end) in enumerate(clips)
        ]
        for row in rows:
            (tmp_path / row["path"]).write_bytes(b"mp4")
        store.clips.replace_clips(conn, exchange_id, rows)
    return video_id


@pytest.fixture
def two_videos(conn, tmp_path) -> tuple[int, int, int]:
    """Two interviews; in the first, the answerer is Ada of the speaker library."""
    first, second = interview(conn, tmp_path, "Harbour talk"), interview(conn, tmp_path, "Board meeting")
    with store.engine.transaction(conn):
        person_id = store.speakers.insert_person(conn, "Ada Lovelace")
        store.speakers.link_speaker(conn, first, B, person_id, "Ada Lovelace")
    return first, second, person_id


def video_links(html: str) -> list[str]:
    return re.findall(r'clip-video"><a href="/videos/(\d+)"', html)


def test_a_person_is_offered_once_and_chooses_their_clips_in_every_video(client, two_videos):
    first, _second, person_id = two_videos
    html = client.get("/clips").get_data(as_text=True)
    assert re.search(rf'<option value="{person_id}">Ada Lovelace</option>', html)
    assert "Speaker 1</option>" not in html, "no name that every video's first speaker shares"
    chosen = client.get(f"/clips?person={person_id}").get_data(as_text=True)
    assert video_links(chosen) == [str(first), str(first)]  # her own clip and the whole Q&A she answers in
    assert f'<option value="{person_id}" selected>' in chosen


def test_in_one_video_its_own_speakers_are_offered_by_label(client, two_videos):
    first, second, person_id = two_videos
    html = client.get(f"/clips?video={second}").get_data(as_text=True)
    assert 'name="speaker"' in html and '<option value="SPEAKER_00">Speaker 1</option>' in html
    assert video_links(client.get(f"/clips?video={second}&speaker={A}").get_data(as_text=True)) == [str(second)] * 2
    # a person chosen before the video is their speaker there; a label without its video means nothing
    both = client.get(f"/clips?video={first}&person={person_id}").get_data(as_text=True)
    assert f'<option value="{B}" data-person="{person_id}" selected>' in both
    assert len(video_links(both)) == 2
    assert len(video_links(client.get(f"/clips?speaker={A}").get_data(as_text=True))) == 6


def test_the_zip_is_named_after_what_it_holds(client, two_videos):
    first, second, person_id = two_videos

    def name(query: str) -> str:
        response = client.get(f"/clips/download.zip{query}")
        assert response.status_code == 200
        return response.headers["Content-Disposition"].removeprefix("attachment; filename=")

    assert name("") == "all_clips.zip"
    assert name(f"?person={person_id}") == "Ada_Lovelace_clips.zip"
    assert name(f"?video={second}") == "Board_meeting_clips.zip"
    assert name(f"?video={second}&speaker={A}") == "Speaker_1_in_Board_meeting_clips.zip"
    assert name(f"?video={first}&person={person_id}") == "Ada_Lovelace_in_Harbour_talk_clips.zip"


def test_zip_names_are_safe_and_short():
    video = type("Video", (), {"id": 7, "title": 'Q3 "results" / <draft>' * 5})()
    named = presenters.clips_zip_name(video, "Ada: the first")
    assert named.startswith("Ada_the_first_in_Q3_results_draft") and named.endswith("_clips.zip")
    assert re.fullmatch(r"[\w-]+\.zip", named) and len(named) < 120
    assert presenters.clips_zip_name(type("Video", (), {"id": 7, "title": None})(), None) == "video-7_clips.zip"
