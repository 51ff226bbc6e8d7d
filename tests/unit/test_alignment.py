"""Speaker alignment on hand-made words, segments and turns."""

from __future__ import annotations

import pytest

from pipeline.alignment import assign_speakers, join_words
from pipeline.types import Segment, Turn, Word


def words_between(start: float, end: float, text: str) -> tuple[Word, ...]:
    """faster-whisper style words (leading space) spread evenly over [start, end]."""
    tokens = text.split()
    step = (end - start) / len(tokens)
    return tuple(
        Word(start + i * step, start + (i + 1) * step - 0.05, f" {token}", probability=0.9)
        for i, token in enumerate(tokens)
    )


def segment(start: float, end: float, text: str) -> Segment:
    return Segment(start, end, f" {text}", words_between(start, end, text))


def test_one_speaker_keeps_the_segment_whole_and_labels_every_word():
    source = segment(1.0, 4.0, "Thanks for having me here.")
    [aligned] = assign_speakers([source], [Turn(0.5, 4.5, "A")])
    assert aligned.speaker == "A"
    assert aligned.text == "Thanks for having me here."
    assert {w.speaker for w in aligned.words} == {"A"}
    assert (aligned.start, aligned.end) == (source.words[0].start, source.words[-1].end)


def test_segment_is_split_where_the_word_speaker_changes():
    words = words_between(0.0, 3.0, "Where do you live?") + words_between(3.2, 6.0, "In a small town.")
    source = Segment(0.0, 6.0, " Where do you live? In a small town.", words)
    first, second = assign_speakers([source], [Turn(0.0, 3.1, "A"), Turn(3.1, 6.5, "B")])
    assert (first.speaker, first.text) == ("A", "Where do you live?")
    assert (second.speaker, second.text) == ("B", "In a small town.")
    assert first.words == tuple(w.with_speaker("A") for w in words[:4])
    assert (second.start, second.end) == (words[4].start, words[-1].end)


def test_speaker_changes_back_and_forth_make_one_segment_per_run():
    words = words_between(0.0, 6.0, "one two three four five six")
    turns = [Turn(0.0, 2.0, "A"), Turn(2.0, 4.0, "B"), Turn(4.0, 6.0, "A")]
    aligned = assign_speakers([Segment(0.0, 6.0, "x", words)], turns)
    assert [(s.speaker, s.text) for s in aligned] == [("A", "one two"), ("B", "three four"), ("A", "five six")]


def test_word_takes_the_speaker_that_overlaps_it_most():
    word = Word(2.5, 3.5, " boats")
    turns = [Turn(0.0, 2.8, "A"), Turn(2.8, 6.0, "B")]
    [aligned] = assign_speakers([Segment(2.5, 3.5, " boats", (word,))], turns)
    assert aligned.speaker == "B"


def test_overlap_sums_over_several_turns_of_one_speaker():
    word = Word(1.0, 3.0, " together")
    turns = [Turn(0.0, 1.5, "A"), Turn(1.5, 2.2, "B"), Turn(2.2, 3.0, "A")]
    [aligned] = assign_speakers([Segment(1.0, 3.0, " together", (word,))], turns)
    assert aligned.speaker == "A"  # 0.5 + 0.8 s of A against 0.7 s of B


def test_a_long_early_turn_is_found_behind_later_short_ones():
    turns = [Turn(0.0, 10.0, "A"), Turn(10.5, 11.0, "B"), Turn(11.0, 12.0, "C"), Turn(4.0, 4.5, "B")]
    cases = {(5.0, 6.0): "A", (10.6, 10.9): "B", (11.2, 11.8): "C", (3.9, 4.6): "A"}
    for (start, end), expected in cases.items():
        [aligned] = assign_speakers([Segment(start, end, " w", (Word(start, end, " w"),))], turns)
        assert aligned.speaker == expected, (start, end)


def test_turn_order_in_the_input_does_not_matter():
    source = segment(0.0, 6.0, "one two three four five six")
    turns = [Turn(0.0, 3.0, "A"), Turn(3.0, 6.0, "B")]
    assert assign_speakers([source], turns) == assign_speakers([source], list(reversed(turns)))


def test_word_in_a_gap_takes_the_nearest_turn():
    words = (Word(0.5, 1.0, " I"), Word(5.2, 5.5, " think"), Word(6.8, 7.0, " so"))
    turns = [Turn(0.0, 5.0, "A"), Turn(7.0, 9.0, "B")]
    aligned = assign_speakers([Segment(0.5, 7.0, " I think so", words)], turns)
    assert [(s.speaker, s.text) for s in aligned] == [("A", "I think"), ("B", "so")]


def test_segment_far_from_every_turn_has_no_speaker():
    far = segment(30.0, 32.0, "Far away from everyone.")
    [aligned] = assign_speakers([far], [Turn(0.0, 5.0, "A")])
    assert aligned.speaker is None
    assert all(w.speaker is None for w in aligned.words)


def test_a_word_far_from_turns_joins_its_neighbours_instead_of_splitting_the_segment():
    words = (Word(0.0, 0.5, " Yes"), Word(0.6, 1.0, " indeed"), Word(9.0, 9.5, " friend"))
    [aligned] = assign_speakers([Segment(0.0, 9.5, " Yes indeed friend", words)], [Turn(0.0, 1.0, "A")])
    assert aligned.speaker == "A"
    assert [w.speaker for w in aligned.words] == ["A", "A", "A"]


def test_without_turns_speakers_stay_none_and_segments_stay_whole():
    source = segment(0.0, 3.0, "Nobody has been diarized yet.")
    [aligned] = assign_speakers([source], [])
    assert aligned.speaker is None
    assert aligned.text == "Nobody has been diarized yet."
    assert aligned.words == source.words


def test_segment_without_words_takes_the_speaker_overlapping_it_most():
    source = Segment(2.0, 6.0, " It was a long winter.")
    [aligned] = assign_speakers([source], [Turn(0.0, 3.0, "A"), Turn(3.0, 8.0, "B")])
    assert aligned == Segment(2.0, 6.0, " It was a long winter.", (), "B")


def test_zero_length_word_takes_the_turn_containing_it():
    word = Word(4.0, 4.0, " uh")
    [aligned] = assign_speakers([Segment(4.0, 4.0, " uh", (word,))], [Turn(0.0, 3.0, "A"), Turn(3.5, 5.0, "B")])
    assert aligned.speaker == "B"


def test_many_turns_and_words_are_aligned_exactly():
    turns = [Turn(float(i), i + 1.0, f"S{i % 3}") for i in range(3000)]
    # Each word is a sentence of its own, so every turn's word keeps its speaker.
    segments = [Segment(i + 0.1, i + 0.9, " Word.", (Word(i + 0.1, i + 0.9, " Word."),)) for i in range(3000)]
    aligned = assign_speakers(segments, turns)
    assert [s.speaker for s in aligned] == [f"S{i % 3}" for i in range(3000)]


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        ([" Hello", " there,", " friend."], "Hello there, friend."),
        (["Hello", "there", ",", "friend", "."], "Hello there, friend."),
        ([" It's", " 5", "%", " off!"], "It's 5% off!"),
        ([], ""),
    ],
)
def test_join_words_keeps_text_natural(texts, expected):
    assert join_words([Word(0.0, 0.1, t) for t in texts]) == expected


def test_short_turns_inside_a_long_overlapping_turn_keep_their_words():
    turns = [Turn(0.0, 1000.0, "HOST")] + [Turn(i + 0.0, i + 0.9, "GUEST") for i in range(0, 1000, 2)]
    segments = [Segment(i + 0.1, i + 0.8, " Yes.", (Word(i + 0.1, i + 0.8, " Yes."),)) for i in range(1000)]
    aligned = assign_speakers(segments, turns)
    assert [s.speaker for s in aligned] == ["GUEST" if i % 2 == 0 else "HOST" for i in range(1000)]


def test_a_sentence_is_not_chopped_by_a_sub_second_turn_at_its_edge():
    """The last word of a sentence heard under the next speaker's turn stays with its sentence."""
    first = segment(11.6, 15.6, "No, I don't think they should get it, it is milder out there than over")
    last = Segment(15.6, 15.9, " here.", (Word(15.6, 15.9, " here."),))
    reply = segment(16.0, 18.9, "We are freezing here now.")
    aligned = assign_speakers([first, last, reply], [Turn(11.3, 15.55, "CALLER"), Turn(15.55, 19.0, "HOST")])
    assert [(s.speaker, s.text) for s in aligned] == [
        ("CALLER", "No, I don't think they should get it, it is milder out there than over"),
        ("CALLER", "here."),
        ("HOST", "We are freezing here now."),
    ]


def test_one_or_two_words_under_another_turn_inside_a_sentence_take_the_sentence_speaker():
    source = segment(0.0, 4.0, "I'm in New Jersey now though, since last year.")
    turns = [Turn(0.0, 0.9, "A"), Turn(0.9, 1.6, "B"), Turn(1.6, 4.0, "A")]
    [aligned] = assign_speakers([source], turns)
    assert aligned.speaker == "A" and aligned.text == "I'm in New Jersey now though, since last year."


def test_a_real_change_inside_an_unpunctuated_sentence_moves_to_the_pause():
    """Whisper sometimes runs two speakers together: the change stays, at the pause between them."""
    words = words_between(0.0, 2.4, "how are you doing") + words_between(3.0, 5.0, "fine thanks a lot")
    source = Segment(0.0, 5.0, " how are you doing fine thanks a lot", words)
    first, second = assign_speakers([source], [Turn(0.0, 1.9, "A"), Turn(1.9, 5.0, "B")])
    assert (first.speaker, first.text) == ("A", "how are you doing")
    assert (second.speaker, second.text) == ("B", "fine thanks a lot")
