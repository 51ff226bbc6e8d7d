"""The speaker library, search and editing timelines through the API and the pages."""

from __future__ import annotations

from pathlib import Path

import opentimelineio as otio
import pytest

import store.engine
import store.speakers
import store.steps
import store.transcripts
import store.videos
from operations import people, videos
from operations.exchanges import create_exchange
from pipeline.types import Exchange, Segment
from tests.support.common import EVIL
from tests.support.media_factory import make_video
from tests.support.voices import voice


@pytest.fixture
def conn(app_conn):
    return app_conn


def interview(conn, title: str, prints: dict, lines: list[tuple[str, str]] = ()) -> int:
    """A diarized, transcribed video whose speakers have these voiceprints, and one Q&A (00 asks, 01 answers)."""
    with store.engine.transaction(conn):
        video_id = videos.create_video(conn, videos.VideoRequest(url=f"https://example.org/{title}"))
        store.videos.update_video(conn, video_id, title=title, duration=120.0)
        store.speakers.ensure_speakers(conn, video_id, sorted(prints))
        store.transcripts.replace_segments(
            conn, video_id, [Segment(10.0 * n, 10.0 * n + 8, text, (), label) for n, (label, text) in enumerate(lines)]
        )
        create_exchange(
            conn, video_id, "spkchg_1", "auto", Exchange(2.0, 30.5, "Why did you leave?", "SPEAKER_00", "SPEAKER_01")
        )
        people.store_voices(conn, video_id, prints)
        for step in store.steps.steps_of(conn, [video_id]):  # phase 1 has run
            store.steps.update_step(conn, step.id, state="done", progress=1.0)
    return video_id


def test_naming_a_voice_then_accepting_it_elsewhere(client, conn):
    first = interview(conn, "One", {"SPEAKER_00": voice(1), "SPEAKER_01": voice(2)})
    named = client.put(f"/api/videos/{first}/speakers/SPEAKER_01", json={"name": "Ada"}).get_json()["speaker"]
    assert named["name"] == "Ada" and named["person"]["name"] == "Ada"
    (ada,) = client.get("/api/people").get_json()["people"]
    assert (ada["name"], ada["videos"], ada["answers"]) == ("Ada", 1, 1)

    second = interview(conn, "Two", {"SPEAKER_00": voice(3), "SPEAKER_01": voice(4, near=2, similarity=0.8)})
    suggested = {s["label"]: s for s in client.get(f"/api/videos/{second}/speakers").get_json()["speakers"]}
    assert suggested["SPEAKER_01"]["suggestion"]["name"] == "Ada" and suggested["SPEAKER_00"]["suggestion"] is None
    page = client.get(f"/videos/{second}").get_data(as_text=True)
    assert "Sounds like" in page and "Yes, Ada" in page
    accepted = client.post(f"/api/videos/{second}/speakers/SPEAKER_01/accept").get_json()["speaker"]
    assert accepted["name"] == "Ada" and accepted["person"]["id"] == ada["id"]
    assert client.post(f"/api/videos/{second}/speakers/SPEAKER_01/accept").status_code == 409
    answers = client.get(f"/api/people/{ada['id']}/answers").get_json()["answers"]
    assert [(a["video_title"], a["question"], a["asker_name"]) for a in answers] == [
        ("One", "Why did you leave?", "Speaker 1"),
        ("Two", "Why did you leave?", "Speaker 1"),
    ]


def test_turning_a_suggestion_down_and_leaving_a_voice_out(client, conn):
    first = interview(conn, "One", {"SPEAKER_00": voice(1), "SPEAKER_01": voice(2)})
    client.put(f"/api/videos/{first}/speakers/SPEAKER_01", json={"name": "Ada"})
    client.put(f"/api/videos/{first}/speakers/SPEAKER_00", json={"name": "Host", "remember": False})
    assert [person["name"] for person in client.get("/api/people").get_json()["people"]] == ["Ada"]
    second = interview(conn, "Two", {"SPEAKER_00": voice(4, near=2, similarity=0.8), "SPEAKER_01": voice(5)})
    turned = client.post(f"/api/videos/{second}/speakers/SPEAKER_00/reject").get_json()["speaker"]
    assert turned["suggestion"] is None and turned["person"] is None
    assert (
        client.put(f"/api/videos/{second}/speakers/SPEAKER_00", json={"name": "X", "remember": "yes"}).status_code
        == 400
    )
    assert client.post(f"/api/videos/{second}/speakers/NOBODY/reject").status_code == 404
    assert client.post(f"/api/videos/{second}/speakers/SPEAKER_00/maybe").status_code == 404


def test_people_are_renamed_everywhere_removed_and_their_answers_cut(client, conn):
    first = interview(conn, "One", {"SPEAKER_00": voice(1), "SPEAKER_01": voice(2)})
    client.put(f"/api/videos/{first}/speakers/SPEAKER_01", json={"name": "Ada"})
    client.put(f"/api/videos/{first}/speakers/SPEAKER_00", json={"name": "Bob"})
    ada, bob = sorted(client.get("/api/people").get_json()["people"], key=lambda p: p["name"])
    assert client.patch(f"/api/people/{ada['id']}", json={"name": "bob"}).status_code == 400  # taken
    renamed = client.patch(f"/api/people/{ada['id']}", json={"name": "Ada Lovelace"}).get_json()["person"]
    assert renamed["name"] == "Ada Lovelace"
    assert client.get(f"/api/videos/{first}/transcript").status_code == 200
    names = {s["label"]: s["name"] for s in client.get(f"/api/videos/{first}/speakers").get_json()["speakers"]}
    assert names == {"SPEAKER_00": "Bob", "SPEAKER_01": "Ada Lovelace"}

    (exchange,) = store.speakers.answers_of_person(conn, ada["id"])
    assert (
        client.post(f"/api/people/{ada['id']}/answers/cut", json={"exchange_ids": [exchange.id + 99]}).status_code
        == 400
    )
    assert client.post(f"/api/people/{bob['id']}/answers/cut").status_code == 400  # Bob answers nothing
    queued = client.post(f"/api/people/{ada['id']}/answers/cut", json={"exchange_ids": [exchange.id]})
    assert queued.status_code == 202 and queued.get_json()["steps"][0]["name"] == "label_speakers"
    assert client.get(f"/people/{ada['id']}/answers.zip").status_code == 404  # nothing cut yet: said so

    assert client.delete(f"/api/people/{ada['id']}").status_code == 204
    assert client.get(f"/api/people/{ada['id']}").status_code == 404
    names = {s["label"]: s["name"] for s in client.get(f"/api/videos/{first}/speakers").get_json()["speakers"]}
    assert names["SPEAKER_01"] == "Ada Lovelace"


def test_search_finds_the_sentence_its_speaker_and_its_qa(client, conn):
    lines = [("SPEAKER_00", "Why did you leave the harbour?"), ("SPEAKER_01", "The harbour was closing.")]
    video_id = interview(conn, "One", {"SPEAKER_00": voice(1), "SPEAKER_01": voice(2)}, lines)
    client.put(f"/api/videos/{video_id}/speakers/SPEAKER_01", json={"name": "Ada"})
    body = client.get("/api/search?q=harbour+closing").get_json()
    (hit,) = body["hits"]
    assert (hit["text"], hit["speaker_name"], hit["start"], hit["exchange"]["title"]) == (
        "The harbour was closing.",
        "Ada",
        10.0,
        "Q&A 1",
    )
    assert body["took_ms"] >= 0
    person = client.get("/api/people").get_json()["people"][0]["id"]
    assert len(client.get(f"/api/search?q=harbour&person={person}").get_json()["hits"]) == 1
    assert client.get("/api/search?q=").status_code == 400
    assert client.get("/api/search?q=harbour&since=yesterday").status_code == 400
    page = client.get("/search?q=harbour").get_data(as_text=True)
    assert "<mark>harbour</mark>" in page and "Clip this sentence" in page and "Cut its Q&amp;A" in page


def test_what_people_typed_is_shown_as_text_never_run(client, conn):
    video_id = interview(conn, "One", {"SPEAKER_00": voice(1)}, [("SPEAKER_00", f"He said {EVIL} twice.")])
    client.put(f"/api/videos/{video_id}/speakers/SPEAKER_00", json={"name": EVIL[:80]})
    person = client.get("/api/people").get_json()["people"][0]["id"]
    for path in ("/people", f"/people/{person}", f"/search?q={EVIL}", "/search?q=said"):
        page = client.get(path).get_data(as_text=True)
        assert "<script>alert" not in page and "<img src=x" not in page, path


READERS = (("otio", "otio_json", {}), ("fcpxml", "fcpx_xml", {}), ("edl", "cmx_3600", {"rate": 25}))


def sound_and_picture(response) -> list[tuple[str, list]]:
    """The timeline read back with its adapter: each track's kind and clips, and the file it was in."""
    fmt = response.headers["Content-Disposition"].rsplit(".", 1)[1]
    adapter, options = next((adapter, options) for name, adapter, options in READERS if name == fmt)
    back = otio.adapters.read_from_string(response.get_data(as_text=True), adapter, **options)
    return [(track.kind, list(track.find_clips())) for track in back.tracks]


def test_a_video_exports_as_an_editing_timeline_with_sound_that_reads_back(client, conn, app):
    video_id = interview(conn, "One", {"SPEAKER_00": voice(1), "SPEAKER_01": voice(2)})
    source = make_video(Path(app.config["SETTINGS"].download_dir) / str(video_id) / "v.mp4", duration=1.0)
    with store.engine.transaction(conn):
        store.videos.update_video(conn, video_id, video_path=str(source))
    client.put(f"/api/videos/{video_id}/speakers/SPEAKER_01", json={"name": "Ada"})
    for fmt, _adapter, _options in READERS:
        response = client.get(f"/api/videos/{video_id}/timeline.{fmt}")
        assert response.status_code == 200 and f"filename=One.{fmt}" in response.headers["Content-Disposition"]
        tracks = sound_and_picture(response)
        assert {kind for kind, _clips in tracks} == {"Video", "Audio"}, fmt
        for _kind, (clip,) in tracks:
            assert clip.source_range.start_time.to_seconds() == pytest.approx(2.0, abs=1 / 25)
            assert clip.source_range.end_time_exclusive().to_seconds() == pytest.approx(30.5, abs=1 / 25)
        (marker,) = next(clips[0] for kind, clips in tracks if kind == "Video").markers
        assert "why did you leave?" in marker.name.lower() and "ada" in marker.name.lower()
    fcpxml = client.get(f"/api/videos/{video_id}/timeline.fcpxml").get_data(as_text=True)
    # the sound the file has (make_video's tone: mono, 44.1 kHz), under the name its download is saved as
    assert 'src="One.mp4"' in fcpxml and 'hasAudio="1"' in fcpxml
    assert 'audioChannels="1"' in fcpxml and 'audioRate="44100"' in fcpxml
    page = client.get(f"/videos/{video_id}").get_data(as_text=True)  # the links a person clicks
    for link in (
        f"/api/videos/{video_id}/timeline.fcpxml",
        f"/api/videos/{video_id}/timeline.edl",
        f"/api/videos/{video_id}/timeline.otio",
        f"/media/videos/{video_id}?download=1",
    ):
        assert f'href="{link}"' in page, link
    saved = client.get(f"/media/videos/{video_id}?download=1")
    assert saved.status_code == 200 and saved.headers["Content-Disposition"] == "attachment; filename=One.mp4"
    assert client.get(f"/media/videos/{video_id}").headers["Content-Disposition"] == "inline; filename=One.mp4"
    assert client.get(f"/api/videos/{video_id}/timeline.mov").status_code == 404
    with store.engine.transaction(conn):
        store.videos.update_video(conn, video_id, title="Wywiad z Łukaszem")  # a title beyond Latin-1 still downloads
    header = client.get(f"/api/videos/{video_id}/timeline.edl").headers["Content-Disposition"]
    assert "filename*=UTF-8''Wywiad_z_%C5%81ukaszem.edl" in header and header.isascii()
    empty = videos.create_video(conn, videos.VideoRequest(url="https://example.org/empty"))
    assert client.get(f"/api/videos/{empty}/timeline.edl").status_code == 409


def test_a_persons_answers_export_as_one_timeline_of_their_videos(client, conn):
    first = interview(conn, "One", {"SPEAKER_00": voice(1), "SPEAKER_01": voice(2)})
    second = interview(conn, "Two's\ninterview", {"SPEAKER_00": voice(3), "SPEAKER_01": voice(4)})
    client.put(f"/api/videos/{first}/speakers/SPEAKER_01", json={"name": "Ada"})
    client.put(f"/api/videos/{second}/speakers/SPEAKER_01", json={"name": "Ada"})
    (ada,) = client.get("/api/people").get_json()["people"]
    answers = [a["id"] for a in client.get(f"/api/people/{ada['id']}/answers").get_json()["answers"]]
    for fmt, _adapter, _options in READERS:
        response = client.get(f"/api/people/{ada['id']}/timeline.{fmt}")
        assert response.status_code == 200 and f"filename=Ada_answers.{fmt}" in response.headers["Content-Disposition"]
        for kind, clips in sound_and_picture(response):
            assert len(clips) == 2, (fmt, kind)
            if fmt != "edl":  # an EDL names each file in a comment
                assert [clip.media_reference.target_url for clip in clips] == ["One.mp4", "Two_s_interview.mp4"]
            assert "\n" not in clips[1].name and clips[1].name.endswith("interview - Q&A 1: Why did you leave?")
    edl = client.get(f"/api/people/{ada['id']}/timeline.edl").get_data(as_text=True)
    assert [line for line in edl.splitlines() if line.startswith("* FROM CLIP:")] == [
        "* FROM CLIP: One.mp4",
        "* FROM CLIP: Two_s_interview.mp4",
    ]
    page = client.get(f"/people/{ada['id']}").get_data(as_text=True)
    for fmt, _adapter, _options in READERS:
        assert f'href="/api/people/{ada["id"]}/timeline.{fmt}"' in page, fmt
    chosen = client.get(f"/api/people/{ada['id']}/timeline.otio?exchange={answers[1]}")
    assert [len(clips) for _kind, clips in sound_and_picture(chosen)] == [1, 1]
    assert client.get(f"/api/people/{ada['id']}/timeline.otio?exchange=99999").status_code == 400
    assert client.get(f"/api/people/{ada['id']}/timeline.mov").status_code == 404
    assert client.get("/api/people/99999/timeline.otio").status_code == 404
    host = client.put(f"/api/videos/{first}/speakers/SPEAKER_00", json={"name": "Host"}).get_json()["speaker"]
    assert client.get(f"/api/people/{host['person']['id']}/timeline.edl").status_code == 409  # asks, never answers


def test_searched_words_are_marked_in_any_form_and_short_ones_only_whole():
    from routes.pages import highlight

    assert str(highlight("He answered: it is in its place.", "answers is")) == (
        "He <mark>answered</mark>: it <mark>is</mark> in its place."
    )
    assert str(highlight("<b>is</b>", "is")) == "&lt;b&gt;<mark>is</mark>&lt;/b&gt;"
