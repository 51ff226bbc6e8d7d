"""Search across the library's transcripts, on both databases: words, phrases, stems, filters."""

import pytest

import store.engine
import store.search
import store.speakers
import store.transcripts
import store.videos
from operations import videos
from pipeline.types import Segment


def add_video(conn, title: str, lines: list[tuple[str, str]], created_at: str | None = None) -> int:
    with store.engine.transaction(conn):
        video_id = videos.create_video(conn, videos.VideoRequest(url=f"https://example.org/{title}"))
        store.videos.update_video(conn, video_id, title=title)
        segments = [Segment(10.0 * n, 10.0 * n + 8, text, (), speaker) for n, (speaker, text) in enumerate(lines)]
        store.transcripts.replace_segments(conn, video_id, segments)
        store.speakers.ensure_speakers(conn, video_id, sorted({speaker for speaker, _ in lines}))
        if created_at:
            conn.execute("UPDATE videos SET created_at = ? WHERE id = ?", (created_at, video_id))
    return video_id


@pytest.fixture
def library_of_three(conn):
    boats = [
        ("SPEAKER_00", "What made you build boats?"),
        ("SPEAKER_01", "My grandfather answered that for me: the sea."),
    ]
    gardens = [
        ("SPEAKER_00", "Tell me about the garden."),
        ("SPEAKER_01", "The sea air kills the roses, my grandfather said."),
    ]
    first = add_video(conn, "Boats", boats, "2026-01-05")
    second = add_video(conn, "Gardens", gardens, "2026-03-01")
    third = add_video(conn, "Words", [("SPEAKER_00", "Which languages do you speak at home?")], "2026-06-01")
    return first, second, third


def test_words_are_found_in_every_video_best_first(conn, library_of_three):
    first, second, _third = library_of_three
    hits = store.search.search_segments(conn, "grandfather sea")
    assert {(hit.video_id, hit.text) for hit in hits} == {
        (first, "My grandfather answered that for me: the sea."),
        (second, "The sea air kills the roses, my grandfather said."),
    }
    assert all(hit.speaker == "SPEAKER_01" and hit.start_time == 10.0 for hit in hits)


def test_a_phrase_keeps_its_order_and_a_word_its_stem(conn, library_of_three):
    first, second, third = library_of_three
    assert [hit.video_id for hit in store.search.search_segments(conn, '"sea air"')] == [second]
    assert [hit.video_id for hit in store.search.search_segments(conn, "answers")] == [
        first
    ]  # answered, answers: answer
    assert [hit.video_id for hit in store.search.search_segments(conn, "language")] == [third]


def test_filters_by_video_date_and_person(conn, library_of_three):
    first, second, _third = library_of_three
    assert [hit.video_id for hit in store.search.search_segments(conn, "grandfather", video_id=second)] == [second]
    assert [hit.video_id for hit in store.search.search_segments(conn, "grandfather", since="2026-02-01")] == [second]
    assert [hit.video_id for hit in store.search.search_segments(conn, "grandfather", until="2026-02-01")] == [first]
    with store.engine.transaction(conn):
        person = store.speakers.insert_person(conn, "Ada")
        store.speakers.link_speaker(conn, first, "SPEAKER_01", person, "Ada")
    hits = store.search.search_segments(conn, "grandfather", person_id=person)
    assert [(hit.video_id, hit.speaker_name) for hit in hits] == [(first, "Ada")]


HOSTILE = ['sea"', "NEAR(sea grandfather)", "sea*", "-sea", "sea OR", "'; DROP TABLE x; --", ":", "^sea", "sea AND NOT"]


@pytest.mark.parametrize("query", HOSTILE)
def test_query_syntax_in_a_search_is_taken_as_words(conn, library_of_three, query):
    hits = store.search.search_segments(conn, query)  # never an error, whatever the text
    assert all("sea" in hit.text.lower() for hit in hits)


def test_a_replaced_or_deleted_transcript_leaves_the_index(conn, library_of_three):
    first, second, _third = library_of_three
    with store.engine.transaction(conn):
        store.transcripts.replace_segments(conn, first, [Segment(0.0, 2.0, "Nothing of that kind.", (), "SPEAKER_00")])
        store.videos.delete_video(conn, second)
    assert store.search.search_segments(conn, "grandfather") == []
    assert [hit.video_id for hit in store.search.search_segments(conn, "kind")] == [first]
