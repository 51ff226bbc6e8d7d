"""Clip planning: speaker stretches inside an exchange and the clips defined from them."""

from __future__ import annotations

import pytest

from utils.pipeline.clips import ClipError, SpeakerSpan, define_clips, speaker_segments
from utils.pipeline.errors import StepError
from utils.pipeline.options import ClipLimits
from utils.pipeline.types import Segment, Turn, Word

A, B = "SPEAKER_00", "SPEAKER_01"


def words_between(start: float, end: float, texts: list[str], speaker: str | None = None) -> list[Word]:
    """Words spread evenly over [start, end], each taking 80% of its slot (pauses between them)."""
    slot = (end - start) / len(texts)
    return [
        Word(round(start + i * slot, 3), round(start + i * slot + 0.8 * slot, 3), text, speaker=speaker)
        for i, text in enumerate(texts)
    ]


def plan(spans, words, start, end, media_duration=None, **limits):
    limits = {"min_duration": 3.0, "max_duration": 120.0, "padding": 0.0} | limits
    return define_clips(spans, words, start, end, ClipLimits(**limits), media_duration=media_duration)


def speaker_clips(clip_plan):
    return [clip for clip in clip_plan.clips if clip.kind == "speaker"]


def inside_a_word(time: float, words: list[Word]) -> bool:
    return any(w.start < time < w.end for w in words)


# ---- speaker_segments --------------------------------------------------------------------------


def test_same_speaker_pieces_merge_across_small_gaps_only():
    turns = [Turn(0.0, 2.0, A), Turn(2.4, 5.0, A), Turn(5.6, 8.0, A), Turn(8.0, 12.0, B)]
    spans = speaker_segments(turns, 0.0, 12.0)
    assert spans == [SpeakerSpan(0.0, 5.0, A), SpeakerSpan(5.6, 8.0, A), SpeakerSpan(8.0, 12.0, B)]


def test_merge_gap_is_configurable():
    turns = [Turn(0.0, 2.0, A), Turn(2.4, 5.0, A)]
    assert len(speaker_segments(turns, 0.0, 5.0, merge_gap=0.3)) == 2


def test_slivers_are_dropped_and_the_neighbours_they_split_merge_again():
    turns = [Turn(0.0, 5.0, A), Turn(5.1, 5.3, B), Turn(5.4, 10.0, A), Turn(10.0, 15.0, B)]
    spans = speaker_segments(turns, 0.0, 15.0)
    assert spans == [SpeakerSpan(0.0, 10.0, A), SpeakerSpan(10.0, 15.0, B)]


def test_same_speaker_fragments_merge_before_the_sliver_rule():
    turns = [Turn(0.0, 0.2, A), Turn(0.3, 0.5, A), Turn(0.6, 0.8, A), Turn(1.0, 4.0, B)]
    spans = speaker_segments(turns, 0.0, 4.0)
    assert spans[0] == SpeakerSpan(0.0, 0.8, A)


def test_spans_are_clipped_to_the_exchange_window():
    turns = [Turn(0.0, 12.0, A), Turn(12.0, 20.0, B), Turn(20.0, 30.0, A)]
    spans = speaker_segments(turns, 10.0, 25.0)
    assert spans == [SpeakerSpan(10.0, 12.0, A), SpeakerSpan(12.0, 20.0, B), SpeakerSpan(20.0, 25.0, A)]


def test_a_sliver_made_by_clipping_is_dropped():
    turns = [Turn(0.0, 10.1, A), Turn(10.1, 20.0, B)]
    assert speaker_segments(turns, 10.0, 20.0) == [SpeakerSpan(10.1, 20.0, B)]


def test_segments_work_like_turns_and_unlabelled_ones_are_ignored():
    segments = [
        Segment(0.0, 3.0, "Hello there.", speaker=A),
        Segment(3.0, 4.0, "(music)", speaker=None),
        Segment(4.0, 8.0, "Hi.", speaker=B),
    ]
    assert speaker_segments(segments, 0.0, 8.0) == [SpeakerSpan(0.0, 3.0, A), SpeakerSpan(4.0, 8.0, B)]


def test_unsorted_input_is_sorted():
    turns = [Turn(5.0, 10.0, B), Turn(0.0, 5.0, A)]
    assert [s.speaker for s in speaker_segments(turns, 0.0, 10.0)] == [A, B]


# ---- define_clips: the exchange clip and its errors --------------------------------------------


def test_whole_exchange_clip_comes_first_and_covers_question_and_answer():
    words = words_between(10.0, 14.0, ["Why", "is", "that?"], A) + words_between(14.5, 22.0, ["Because", "reasons."], B)
    spans = [SpeakerSpan(10.0, 14.0, A), SpeakerSpan(14.5, 22.0, B)]
    result = plan(spans, words, 10.0, 22.0)
    exchange = result.clips[0]
    assert (exchange.kind, exchange.speaker, exchange.position) == ("exchange", None, 0)
    assert exchange.start == words[0].start and exchange.end == words[-1].end
    assert [c.speaker for c in speaker_clips(result)] == [A, B]
    assert [c.position for c in result.clips] == [0, 1, 2]


def test_exchange_shorter_than_the_minimum_is_an_error_a_person_can_act_on():
    with pytest.raises(ClipError) as caught:
        plan([SpeakerSpan(5.0, 6.2, A)], [], 5.0, 6.2)
    assert isinstance(caught.value, StepError)
    message = str(caught.value)
    assert "1.2 s" in message and "CLIP_MIN_DURATION_SECONDS=3" in message and "widen" in message


def test_an_exchange_without_words_keeps_its_own_times():
    result = plan([SpeakerSpan(0.0, 5.0, A)], [], 0.0, 5.0)
    assert [(c.start, c.end) for c in result.clips] == [(0.0, 5.0), (0.0, 5.0)]


# ---- short spans -------------------------------------------------------------------------------


def test_short_span_merges_with_a_close_same_speaker_neighbour():
    spans = [SpeakerSpan(0.0, 2.0, A), SpeakerSpan(3.0, 6.0, A), SpeakerSpan(6.0, 12.0, B)]
    result = plan(spans, [], 0.0, 12.0)
    assert [(c.start, c.end, c.speaker) for c in speaker_clips(result)] == [(0.0, 6.0, A), (6.0, 12.0, B)]
    assert result.dropped == []


def test_short_span_picks_the_closer_neighbour():
    spans = [SpeakerSpan(0.0, 4.0, A), SpeakerSpan(5.5, 6.5, A), SpeakerSpan(6.8, 10.0, A)]
    result = plan(spans, [], 0.0, 10.0)
    assert [(c.start, c.end) for c in speaker_clips(result)] == [(0.0, 4.0), (5.5, 10.0)]


def test_short_span_without_a_coherent_neighbour_is_dropped_with_a_reason():
    spans = [SpeakerSpan(0.0, 5.0, A), SpeakerSpan(12.3, 13.1, B), SpeakerSpan(13.1, 20.0, A)]
    result = plan(spans, [], 0.0, 20.0)
    assert [c.speaker for c in speaker_clips(result)] == [A, A]
    assert result.dropped == ["SPEAKER_01 at 12.3–13.1 s: 0.8 s is under CLIP_MIN_DURATION_SECONDS=3"]


def test_short_span_far_from_its_same_speaker_neighbour_is_dropped():
    spans = [SpeakerSpan(0.0, 1.0, A), SpeakerSpan(5.0, 9.0, A)]
    result = plan(spans, [], 0.0, 9.0)
    assert [(c.start, c.end) for c in speaker_clips(result)] == [(5.0, 9.0)]
    assert len(result.dropped) == 1 and result.dropped[0].startswith("SPEAKER_00 at 0.0–1.0 s")


def test_short_span_is_not_merged_when_that_would_exceed_the_maximum():
    spans = [SpeakerSpan(0.0, 9.0, A), SpeakerSpan(9.5, 10.5, A)]
    result = plan(spans, [], 0.0, 10.5, max_duration=10.0)
    assert [(c.start, c.end) for c in speaker_clips(result)] == [(0.0, 9.0)]
    assert "1.0 s is under" in result.dropped[0]


def test_two_short_spans_merge_into_one_long_enough_clip():
    spans = [SpeakerSpan(0.0, 1.5, A), SpeakerSpan(2.0, 3.6, A), SpeakerSpan(3.6, 8.0, B)]
    result = plan(spans, [], 0.0, 8.0)
    assert [(c.start, c.end, c.speaker) for c in speaker_clips(result)] == [(0.0, 3.6, A), (3.6, 8.0, B)]


# ---- long spans --------------------------------------------------------------------------------


def long_answer() -> list[Word]:
    """About 50 s of speech: five sentences of ten words, each word 0.8 s long with 0.2 s pauses."""
    words = []
    for sentence in range(5):
        texts = [f"w{sentence}{i}" for i in range(9)] + [f"end{sentence}."]
        words += words_between(sentence * 10.0, sentence * 10.0 + 10.0, texts, A)
    return words


def test_long_span_is_split_at_sentence_ends_never_inside_a_word():
    words = long_answer()
    result = plan([SpeakerSpan(0.0, 50.0, A)], words, 0.0, 50.0, max_duration=25.0)
    pieces = speaker_clips(result)
    assert len(pieces) == 3
    assert all(c.duration <= 25.0 for c in pieces)
    ends = {w.end: w.text for w in words}
    for clip in pieces[:-1]:
        assert ends[clip.end].endswith(".")
    for clip in pieces:
        assert not inside_a_word(clip.start, words) and not inside_a_word(clip.end, words)
    assert [c.note for c in pieces] == ["part 1 of 3", "part 2 of 3", "part 3 of 3"]


def test_split_pieces_cover_every_word_once():
    words = long_answer()
    pieces = speaker_clips(plan([SpeakerSpan(0.0, 50.0, A)], words, 0.0, 50.0, max_duration=25.0))
    covered = [w for w in words for c in pieces if c.start <= w.start and w.end <= c.end]
    assert covered == words


def test_long_span_without_sentence_ends_is_split_at_the_largest_pause():
    words = words_between(0.0, 12.0, [f"a{i}" for i in range(12)], A)
    words += words_between(13.5, 20.0, [f"b{i}" for i in range(6)], A)  # the 1.5 s pause follows a11
    result = plan([SpeakerSpan(0.0, 20.0, A)], words, 0.0, 20.0, max_duration=15.0)
    pieces = speaker_clips(result)
    assert [(c.start, c.end) for c in pieces] == [(0.0, words[11].end), (13.5, words[-1].end)]


def test_split_prefers_pieces_that_respect_the_minimum():
    # sentence end right before the last word would leave a sub-minimum tail; the earlier one does not
    words = words_between(0.0, 5.0, ["one", "two", "three", "four", "five."], A)
    words += words_between(5.0, 14.0, ["six", "seven", "eight", "nine", "ten", "eleven", "twelve", "end."], A)
    words += words_between(14.0, 15.0, ["tail"], A)
    pieces = speaker_clips(plan([SpeakerSpan(0.0, 15.0, A)], words, 0.0, 15.0, max_duration=14.0))
    assert all(c.duration >= 3.0 for c in pieces)
    assert pieces[0].end == words[4].end


def test_long_span_without_words_is_split_evenly():
    pieces = speaker_clips(plan([SpeakerSpan(0.0, 30.0, A)], [], 0.0, 30.0, max_duration=12.0))
    assert [(c.start, c.end) for c in pieces] == [(0.0, 10.0), (10.0, 20.0), (20.0, 30.0)]


# ---- snapping, padding, clamping ---------------------------------------------------------------


def test_boundaries_snap_to_word_edges_then_pad():
    words = [Word(1.2, 1.6, "So,"), Word(1.7, 2.4, "tell"), Word(2.5, 3.1, "me."), Word(3.3, 5.9, "Well...")]
    spans = [SpeakerSpan(1.0, 3.2, A), SpeakerSpan(3.2, 6.5, B)]
    result = plan(spans, words, 0.5, 6.5, min_duration=1.0, padding=0.15)
    exchange, first, second = result.clips
    assert (exchange.start, exchange.end) == (1.05, 6.05)
    assert (first.start, first.end) == (1.05, 3.25)
    assert (second.start, second.end) == (3.15, 6.05)


def test_a_boundary_inside_a_word_moves_to_the_edge_of_the_word_it_mostly_belongs_to():
    words = [Word(0.0, 1.0, "alpha"), Word(1.0, 2.0, "beta"), Word(2.0, 4.0, "gamma"), Word(4.0, 8.0, "delta")]
    spans = [SpeakerSpan(0.0, 2.6, A), SpeakerSpan(2.6, 8.0, B)]
    first, second = speaker_clips(plan(spans, words, 0.0, 8.0, min_duration=1.0))
    assert (first.start, first.end) == (0.0, 2.0)  # gamma's middle (3.0) is in B's span
    assert (second.start, second.end) == (2.0, 8.0)


def test_padding_is_clamped_to_the_media():
    words = [Word(0.05, 1.0, "Hi"), Word(1.1, 4.95, "there.")]
    result = plan([SpeakerSpan(0.0, 5.0, A)], words, 0.0, 5.0, padding=0.3, media_duration=5.0)
    for clip in result.clips:
        assert (clip.start, clip.end) == (0.0, 5.0)


def test_words_outside_the_exchange_are_ignored():
    words = [Word(0.0, 2.0, "before"), Word(10.0, 12.0, "inside"), Word(12.5, 14.0, "too."), Word(20.0, 21.0, "x")]
    result = plan([SpeakerSpan(9.0, 15.0, A)], words, 9.0, 15.0)
    assert [(c.start, c.end) for c in result.clips] == [(10.0, 14.0), (10.0, 14.0)]


def test_padding_never_reaches_into_a_neighbouring_word():
    from utils.pipeline.clips import SpeakerSpan, define_clips
    from utils.pipeline.types import Word

    words = [Word(9.0, 10.45, "up"), Word(10.5, 11.0, "Hello"), Word(11.0, 14.9, "there."), Word(14.95, 16.0, "Next")]
    limits = ClipLimits(min_duration=1, max_duration=60, padding=0.15)
    plan = define_clips([SpeakerSpan(10.5, 14.9, "A")], words, 10.5, 14.9, limits)
    for clip in plan.clips:
        assert clip.start == pytest.approx(10.45) and clip.end == pytest.approx(14.95)


def test_a_qa_marked_by_hand_learns_its_asker_and_answerer_from_who_speaks():
    from utils.pipeline.clips import asker_and_answerer

    spans = [SpeakerSpan(0, 2, A), SpeakerSpan(2, 3, "SPEAKER_02"), SpeakerSpan(3, 9, B), SpeakerSpan(9, 10, A)]
    assert asker_and_answerer(spans) == (A, B)
    assert asker_and_answerer([SpeakerSpan(0, 5, A)]) == (A, "")
    assert asker_and_answerer([]) == ("", "")
