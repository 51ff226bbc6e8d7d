"""The speaker library's rules, with voiceprints made to measure (real voices: tests/integration/test_voices.py)."""

import pytest

import store.engine
import store.speakers
from operations import people, videos
from pipeline.voiceprints import MATCH_SIMILARITY, Voiceprint
from tests.support.voices import voice


def video_with(conn, prints: dict[str, Voiceprint]) -> int:
    with store.engine.transaction(conn):
        video_id = videos.create_video(conn, videos.VideoRequest(url=f"https://example.org/{len(prints)}"))
        store.speakers.ensure_speakers(conn, video_id, sorted(prints))
        people.store_voices(conn, video_id, prints)
    return video_id


def speaker(conn, video_id: int, label: str):
    return next(row for row in store.speakers.get_speakers(conn, video_id) if row.label == label)


def test_a_named_voice_is_suggested_in_a_later_video_and_nowhere_else(conn):
    first = video_with(conn, {"SPEAKER_00": voice(1), "SPEAKER_01": voice(2)})
    with store.engine.transaction(conn):
        ada = people.name_speaker(conn, first, "SPEAKER_00", "Ada", remember=True).person
    later = video_with(conn, {"SPEAKER_00": voice(3), "SPEAKER_01": voice(4, near=1, similarity=0.8)})
    assert speaker(conn, later, "SPEAKER_01").suggested_person_id == ada.id
    assert speaker(conn, later, "SPEAKER_01").suggestion_similarity == pytest.approx(0.8, abs=0.01)
    assert speaker(conn, later, "SPEAKER_00").suggested_person_id is None
    assert speaker(conn, first, "SPEAKER_01").suggested_person_id is None  # not Ada: her own video's other voice


def test_a_voice_below_the_threshold_gets_no_suggestion(conn):
    first = video_with(conn, {"SPEAKER_00": voice(1)})
    with store.engine.transaction(conn):
        people.name_speaker(conn, first, "SPEAKER_00", "Ada", remember=True)
    later = video_with(conn, {"SPEAKER_00": voice(5, near=1, similarity=MATCH_SIMILARITY - 0.05)})
    assert speaker(conn, later, "SPEAKER_00").suggested_person_id is None


def test_naming_later_suggests_in_videos_already_there(conn):
    earlier = video_with(conn, {"SPEAKER_00": voice(6, near=1, similarity=0.85)})
    first = video_with(conn, {"SPEAKER_00": voice(1)})
    with store.engine.transaction(conn):
        named = people.name_speaker(conn, first, "SPEAKER_00", "ada", remember=True)
    assert speaker(conn, earlier, "SPEAKER_00").suggested_person_id == named.person.id
    assert named.elsewhere == {earlier}  # its page is told


def test_one_person_per_video_the_most_alike_speaker_wins(conn):
    first = video_with(conn, {"SPEAKER_00": voice(1)})
    with store.engine.transaction(conn):
        ada = people.name_speaker(conn, first, "SPEAKER_00", "Ada", remember=True).person
    later = video_with(
        conn, {"SPEAKER_00": voice(7, near=1, similarity=0.7), "SPEAKER_01": voice(8, near=1, similarity=0.9)}
    )
    assert speaker(conn, later, "SPEAKER_01").suggested_person_id == ada.id
    assert speaker(conn, later, "SPEAKER_00").suggested_person_id is None


def test_accepting_names_the_speaker_and_the_voice_joins_the_person(conn):
    first = video_with(conn, {"SPEAKER_00": voice(1)})
    with store.engine.transaction(conn):
        ada = people.name_speaker(conn, first, "SPEAKER_00", "Ada", remember=True).person
    later = video_with(conn, {"SPEAKER_00": voice(4, near=1, similarity=0.8)})
    with store.engine.transaction(conn):
        assert people.accept_suggestion(conn, later, "SPEAKER_00").person.id == ada.id
    accepted = speaker(conn, later, "SPEAKER_00")
    assert (accepted.person_id, accepted.name, accepted.suggested_person_id) == (ada.id, "Ada", None)
    assert store.speakers.get_person(conn, ada.id).videos == 2


def test_a_turned_down_suggestion_is_remembered(conn):
    first = video_with(conn, {"SPEAKER_00": voice(1)})
    with store.engine.transaction(conn):
        people.name_speaker(conn, first, "SPEAKER_00", "Ada", remember=True)
    later = video_with(conn, {"SPEAKER_00": voice(4, near=1, similarity=0.8)})
    with store.engine.transaction(conn):
        people.reject_suggestion(conn, later, "SPEAKER_00")
    assert speaker(conn, later, "SPEAKER_00").suggested_person_id is None
    with store.engine.transaction(conn):  # the library changes; the refusal still holds
        people.name_speaker(
            conn, video_with(conn, {"SPEAKER_00": voice(9, near=1, similarity=0.95)}), "SPEAKER_00", "Ada", True
        )
        people.refresh_suggestions(conn)
    assert speaker(conn, later, "SPEAKER_00").suggested_person_id is None


def test_a_name_without_remember_stays_out_of_the_library(conn):
    first = video_with(conn, {"SPEAKER_00": voice(1)})
    with store.engine.transaction(conn):
        assert people.name_speaker(conn, first, "SPEAKER_00", "Ada", remember=False).person is None
    assert store.speakers.list_people(conn) == []
    assert speaker(conn, first, "SPEAKER_00").name == "Ada"


def test_renaming_a_person_renames_their_speakers_and_removing_keeps_names(conn):
    first = video_with(conn, {"SPEAKER_00": voice(1)})
    with store.engine.transaction(conn):
        ada = people.name_speaker(conn, first, "SPEAKER_00", "Ada", remember=True).person
        store.speakers.rename_person(conn, ada.id, "Ada Lovelace")
    assert speaker(conn, first, "SPEAKER_00").name == "Ada Lovelace"
    with store.engine.transaction(conn):
        store.speakers.delete_person(conn, ada.id)
    kept = speaker(conn, first, "SPEAKER_00")
    assert (kept.name, kept.person_id) == ("Ada Lovelace", None)


def test_an_unknown_speaker_is_refused(conn):
    first = video_with(conn, {"SPEAKER_00": voice(1)})
    with pytest.raises(people.UnknownSpeaker), store.engine.transaction(conn):
        people.name_speaker(conn, first, "SPEAKER_09", "Ada", remember=True)


def test_a_placeholder_name_never_becomes_a_person(conn):
    first = video_with(conn, {"SPEAKER_00": voice(1)})
    with store.engine.transaction(conn):
        assert people.name_speaker(conn, first, "SPEAKER_00", "Speaker 1", remember=True).person is None
    assert store.speakers.list_people(conn) == []


def test_diarizing_again_keeps_a_person_whose_voice_stayed_and_unlinks_one_whose_label_moved(conn):
    first = video_with(conn, {"SPEAKER_00": voice(1), "SPEAKER_01": voice(2)})
    with store.engine.transaction(conn):
        people.name_speaker(conn, first, "SPEAKER_00", "Ada", remember=True)
        people.name_speaker(conn, first, "SPEAKER_01", "Bob", remember=True)
        # The new run numbered them the other way round for one of them (a third voice under SPEAKER_01).
        people.store_voices(conn, first, {"SPEAKER_00": voice(20, near=1, similarity=0.95), "SPEAKER_01": voice(3)})
    assert (speaker(conn, first, "SPEAKER_00").name, speaker(conn, first, "SPEAKER_01").person_id) == ("Ada", None)
    assert speaker(conn, first, "SPEAKER_01").name is None
