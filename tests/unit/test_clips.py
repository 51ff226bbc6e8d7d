"""Clip planning: speaker stretches inside an exchange and the clips defined from them: whole turns that
end at sentence ends, with a lead-in and a tail, never the same clip twice, titled with the question."""

from __future__ import annotations

import pytest

from pipeline.clips import ClipError, SpeakerSpan, define_clips, shorten, speaker_segments
from pipeline.errors import StepError
from pipeline.options import ClipLimits
from pipeline.types import Segment, Turn, Word

A, B = "SPEAKER_00", "SPEAKER_01"


def words_between(start: float, end: float, texts: list[str], speaker: str | None = None) -> list[Word]:
    """Words spread evenly over [start, end], each taking 80% of its slot (pauses between them)."""
    slot = (end - start) / len(texts)
    return [
        Word(round(start + i * slot, 3), round(start + i * slot + 0.8 * slot, 3), text, speaker=speaker)
        for i, text in enumerate(texts)
    ]


def plan(spans, words, start, end, media_duration=None, question="", **limits):
    """Without lead-in or tail unless asked for, so boundaries are the words' own edges."""
    limits = {"min_duration": 3.0, "max_duration": 120.0, "padding": 0.0, "lead_in": 0.0, "tail": 0.0} | limits
    return define_clips(
        spans, words, start, end, ClipLimits(**limits), media_duration=media_duration, question=question
    )


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
    result = plan([SpeakerSpan(0.0, 5.0, A), SpeakerSpan(5.0, 9.0, B)], [], 0.0, 9.0)
    assert [(c.start, c.end) for c in result.clips] == [(0.0, 9.0), (0.0, 5.0), (5.0, 9.0)]


# ---- whole turns --------------------------------------------------------------------------------


def test_a_speakers_turn_holds_its_pauses_in_one_clip():
    """One answer, three stretches apart by pauses of over a second: one clip, not three fragments."""
    words = words_between(0.0, 4.0, ["What", "is", "intelligence?"], A)
    words += words_between(4.5, 9.0, ["It", "is", "the", "ability", "of", "a", "machine,"], B)
    words += words_between(10.5, 14.0, ["to", "learn", "and", "get", "better."], B)
    words += words_between(15.2, 19.0, ["That", "happens", "today."], B)
    spans = [SpeakerSpan(0.0, 4.0, A), SpeakerSpan(4.5, 9.0, B), SpeakerSpan(10.5, 14.0, B), SpeakerSpan(15.2, 19.0, B)]
    first, second = speaker_clips(plan(spans, words, 0.0, 19.0))
    assert (first.speaker, first.start, first.end) == (A, 0.0, words[2].end)
    assert (second.speaker, second.start, second.end) == (B, 4.5, words[-1].end)


def test_a_backchannel_does_not_split_an_answer_but_an_interjection_does():
    question = words_between(0.0, 4.0, ["What", "went", "wrong?"], A)
    answer = words_between(4.5, 9.0, ["The", "light", "stayed", "on."], B)
    answer += words_between(10.0, 14.0, ["So", "I", "called", "you."], B)

    def clips_with(interjection: list[Word]):
        words = question + answer[:4] + interjection + answer[4:]
        gap = (interjection[0].start, interjection[-1].end)
        spans = [SpeakerSpan(0.0, 4.0, A), SpeakerSpan(4.5, 9.0, B), SpeakerSpan(*gap, A), SpeakerSpan(10.0, 14.0, B)]
        return plan(spans, words, 0.0, 14.0)

    mm_hm = clips_with(words_between(9.2, 9.8, ["Mm-hm."], A))  # under a second, one word
    assert [(c.speaker, c.start, c.end) for c in speaker_clips(mm_hm)] == [(A, 0.0, question[-1].end), (B, 4.5, 13.8)]
    really = clips_with(words_between(9.1, 9.9, ["Oh", "really,", "when?"], A))  # three words: someone else talks
    assert [(c.speaker, c.start) for c in speaker_clips(really)] == [(A, 0.0), (B, 4.5), (B, 10.0)]
    assert really.dropped == ["SPEAKER_00 at 9.1–9.8 s: 0.7 s is under CLIP_MIN_DURATION_SECONDS=3"]


def test_a_backchannel_without_words_does_not_split_a_turn_either():
    spans = [SpeakerSpan(0.0, 5.0, A), SpeakerSpan(5.0, 5.6, B), SpeakerSpan(5.6, 12.0, A), SpeakerSpan(12.0, 20.0, B)]
    result = plan(spans, [], 0.0, 20.0)
    assert [(c.speaker, c.start, c.end) for c in speaker_clips(result)] == [(A, 0.0, 12.0), (B, 12.0, 20.0)]


def test_short_turns_get_no_clip_and_say_why():
    words = words_between(0.0, 1.5, ["Why?"], A) + words_between(2.0, 9.0, ["Because", "it", "works."], B)
    result = plan([SpeakerSpan(0.0, 1.5, A), SpeakerSpan(2.0, 9.0, B)], words, 0.0, 9.0)
    assert [c.speaker for c in speaker_clips(result)] == [B]
    assert result.dropped == ["SPEAKER_00 at 0.0–1.2 s: 1.2 s is under CLIP_MIN_DURATION_SECONDS=3"]


def test_a_turn_never_ends_mid_sentence_it_goes_on_to_the_sentence_end_past_a_qa_marked_by_hand():
    words = words_between(0.0, 4.0, ["How", "real", "is", "it?"], A)
    words += words_between(4.5, 12.0, ["It", "is", "happening", "today", "in"], B)
    words += words_between(12.0, 13.0, ["fields."], B) + words_between(13.5, 16.0, ["Next", "one?"], A)
    spans = [SpeakerSpan(0.0, 4.0, A), SpeakerSpan(4.5, 12.0, B)]
    result = plan(spans, words, 0.0, 12.0)  # marked by hand, ending on "in"
    assert result.clips[0].end == words[8].end  # the whole Q&A clip is what was marked
    answer = speaker_clips(result)[-1]
    assert (answer.start, answer.end) == (4.5, words[9].end)  # "... today in fields."


def test_a_turn_whose_sentence_goes_on_too_long_ends_at_its_last_sentence_end():
    words = words_between(0.0, 4.0, ["How", "real", "is", "it?"], A)
    words += words_between(4.5, 12.0, ["It", "is", "real.", "It", "happens", "in"], B)
    words += words_between(20.0, 21.0, ["fields."], B)  # eight seconds later: past SENTENCE_REACH_SECONDS
    answer = speaker_clips(plan([SpeakerSpan(0.0, 4.0, A), SpeakerSpan(4.5, 12.0, B)], words, 0.0, 12.0))[-1]
    assert (answer.start, answer.end) == (4.5, words[6].end)  # "It is real."


def test_a_turn_without_any_sentence_end_is_kept_whole():
    words = words_between(0.0, 4.0, ["so", "what", "now"], A) + words_between(4.0, 9.0, ["well", "we", "wait"], B)
    clips = speaker_clips(plan([SpeakerSpan(0.0, 4.0, A), SpeakerSpan(4.0, 9.0, B)], words, 0.0, 9.0))
    assert [(c.start, c.end) for c in clips] == [(0.0, words[2].end), (4.0, words[-1].end)]


def test_an_interrupted_sentence_runs_on_through_the_interruption():
    words = words_between(0.0, 4.0, ["Where", "did", "it", "go?"], A)
    words += words_between(4.5, 8.0, ["I", "think", "that"], B)
    words += words_between(8.2, 9.8, ["Sorry", "what", "was", "that?"], A)
    words += words_between(10.0, 12.0, ["we", "lost", "it", "there."], B)  # within SENTENCE_REACH_SECONDS
    spans = [SpeakerSpan(0.0, 4.0, A), SpeakerSpan(4.5, 8.0, B), SpeakerSpan(8.2, 9.8, A), SpeakerSpan(10.0, 12.0, B)]
    result = plan(spans, words, 0.0, 12.0)
    assert [(c.speaker, c.start, c.end) for c in speaker_clips(result)] == [(A, 0.0, words[3].end), (B, 4.5, 11.9)]
    assert "SPEAKER_00 at 8.2–9.7 s" in result.dropped[0]


# ---- one clip of each: a one-speaker Q&A, duplicates -----------------------------------------------


def test_a_qa_with_one_speaker_is_one_clip():
    words = words_between(0.0, 8.0, ["So", "here", "is", "what", "I", "think."], A)
    result = plan([SpeakerSpan(0.0, 8.0, A)], words, 0.0, 8.0)
    assert [(c.kind, c.start, c.end) for c in result.clips] == [("exchange", 0.0, words[-1].end)]


def test_a_qa_with_one_speaker_and_a_backchannel_is_one_clip_too():
    words = words_between(0.0, 4.0, ["So", "here", "it", "is."], A) + words_between(4.2, 4.8, ["Mm."], B)
    words += words_between(5.0, 9.0, ["And", "that", "is", "all."], A)
    spans = [SpeakerSpan(0.0, 4.0, A), SpeakerSpan(4.2, 4.8, B), SpeakerSpan(5.0, 9.0, A)]
    assert [c.kind for c in plan(spans, words, 0.0, 9.0).clips] == ["exchange"]


def test_a_long_one_speaker_qa_keeps_its_parts():
    pieces = speaker_clips(plan([SpeakerSpan(0.0, 30.0, A)], [], 0.0, 30.0, max_duration=12.0))
    assert len(pieces) == 3


def test_no_clip_is_made_twice():
    words = [Word(0.0, 4.0, "This", speaker=A), Word(4.0, 9.95, "answer.", speaker=A)]
    words += [Word(9.96, 10.04, "Ok", speaker=B)]  # someone else's word just inside the end of the Q&A
    spans = [SpeakerSpan(0.0, 9.95, A), SpeakerSpan(9.96, 10.04, B)]
    result = plan(spans, words, 0.0, 10.04)
    assert [c.kind for c in result.clips] == ["exchange"]  # A's clip would end 0.09 s before it: the same clip


# ---- titles ------------------------------------------------------------------------------------


def test_every_clip_is_titled_with_the_question_shortened_at_a_word():
    question = "How real is artificial intelligence, and how far along is IBM Watson in being intelligent?"
    words = words_between(0.0, 4.0, question.split(), A) + words_between(4.5, 12.0, ["It", "is", "real."], B)
    result = plan([SpeakerSpan(0.0, 4.0, A), SpeakerSpan(4.5, 12.0, B)], words, 0.0, 12.0, question=question)
    titles = {c.title for c in result.clips}
    assert titles == {"How real is artificial intelligence, and how far along is…"}
    assert len(titles.pop()) <= 60


def test_shorten_cuts_at_a_word_boundary_with_an_ellipsis():
    assert shorten("Short one?") == "Short one?"
    assert shorten("  spread \n over   lines ") == "spread over lines"
    assert shorten("one two three four", 12) == "one two…"
    assert shorten("one two, three four", 10) == "one two…"
    assert shorten("one two three", 8) == "one two…"  # the cut falls on a space: "two" is whole
    assert shorten("Supercalifragilistic", 8) == "Superca…"
    assert all(len(shorten("word " * 40, n)) <= n for n in range(2, 80))


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
    words += words_between(14.0, 15.0, ["tail."], A)
    pieces = speaker_clips(plan([SpeakerSpan(0.0, 15.0, A)], words, 0.0, 15.0, max_duration=14.0))
    assert all(c.duration >= 3.0 for c in pieces)
    assert pieces[0].end == words[4].end


def test_a_split_never_falls_mid_sentence_when_a_sentence_end_fits():
    # the widest pause (after "c") leaves both pieces long enough, but it is mid-sentence: "nine." wins
    words = words_between(0.0, 3.0, ["a", "b", "c"], A) + words_between(4.5, 10.0, ["d", "e", "f", "g", "nine."], A)
    words += words_between(10.0, 12.0, ["ten", "eleven."], A)
    pieces = speaker_clips(plan([SpeakerSpan(0.0, 12.0, A)], words, 0.0, 12.0, max_duration=10.0))
    assert [c.end for c in pieces] == [words[7].end, words[-1].end]


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
    words = [Word(0.05, 1.0, "Hi", speaker=A), Word(1.1, 4.95, "there.", speaker=A)]
    result = plan([SpeakerSpan(0.0, 5.0, A)], words, 0.0, 5.0, padding=0.3, media_duration=5.0)
    assert [(clip.start, clip.end) for clip in result.clips] == [(0.0, 5.0)]


def test_words_outside_the_exchange_are_ignored():
    words = [Word(0.0, 2.0, "before"), Word(10.0, 12.0, "inside"), Word(12.5, 14.0, "too."), Word(20.0, 21.0, "x")]
    result = plan([SpeakerSpan(9.0, 15.0, A)], words, 9.0, 15.0)
    assert [(c.start, c.end) for c in result.clips] == [(10.0, 14.0)]


def test_padding_never_reaches_into_a_neighbouring_word():
    from pipeline.clips import SpeakerSpan, define_clips
    from pipeline.types import Word

    words = [Word(9.0, 10.45, "up"), Word(10.5, 11.0, "Hello"), Word(11.0, 14.9, "there."), Word(14.95, 16.0, "Next")]
    limits = ClipLimits(min_duration=1, max_duration=60, padding=0.15)
    plan = define_clips([SpeakerSpan(10.5, 14.9, "A")], words, 10.5, 14.9, limits)
    for clip in plan.clips:
        assert clip.start == pytest.approx(10.45) and clip.end == pytest.approx(14.95)


def test_a_zero_length_first_word_gets_a_lead_in_never_into_the_previous_speakers_word():
    """Whisper gave "Yeah," no length: the clip starts a lead-in before it, not on it."""
    question = words_between(0.0, 4.0, ["How", "real", "is", "it?"], A)  # "it?" ends at 3.8
    answer = [Word(4.5, 4.5, "Yeah,", speaker=B), *words_between(5.0, 9.0, ["it", "is", "real."], B)]
    limits = {"padding": 0.15, "lead_in": 0.3, "tail": 0.3}
    whole, asked, answered = plan(
        [SpeakerSpan(0.0, 4.0, A), SpeakerSpan(4.5, 9.0, B)], question + answer, 0.0, 9.0, media_duration=20.0, **limits
    ).clips
    assert (answered.start, answered.end) == (4.2, round(answer[-1].end + 0.3, 3))
    assert (asked.start, asked.end) == (0.0, 4.1)  # from the start of the media, up to 0.3 s after "it?"
    assert (whole.start, whole.end) == (0.0, answered.end)
    close = [Word(4.4, 4.45, "then?", speaker=A)]  # the asker's last word ends right before "Yeah,"
    spans = [SpeakerSpan(0.0, 4.45, A), SpeakerSpan(4.5, 9.0, B)]
    answered = speaker_clips(plan(spans, question + close + answer, 0.0, 9.0, **limits))[-1]
    assert answered.start == 4.45


def test_a_speaker_clip_stays_inside_the_whole_qa_clip():
    words = [Word(2.0, 2.0, "So,", speaker=A), *words_between(2.1, 6.0, ["what", "is", "it?"], A)]
    words += words_between(6.0, 10.0, ["It", "is", "this."], B) + words_between(10.05, 11.0, ["Next."], A)
    result = plan([SpeakerSpan(2.0, 6.0, A), SpeakerSpan(6.0, 10.0, B)], words, 2.0, 9.9, lead_in=0.3, tail=0.3)
    whole, *speakers = result.clips
    assert whole.start == 1.7 and all(whole.start <= c.start and c.end <= whole.end for c in speakers)
    assert speakers[-1].start == 5.74  # the lead-in stops at the end of the asker's "it?"
    assert speakers[-1].end == whole.end == 10.033  # 0.3 s after "this.", before "Next." (10.05)


def test_a_qa_marked_by_hand_learns_its_asker_and_answerer_from_who_speaks():
    from pipeline.clips import asker_and_answerer

    spans = [SpeakerSpan(0, 2, A), SpeakerSpan(2, 3, "SPEAKER_02"), SpeakerSpan(3, 9, B), SpeakerSpan(9, 10, A)]
    assert asker_and_answerer(spans) == (A, B)
    assert asker_and_answerer([SpeakerSpan(0, 5, A)]) == (A, "")
    assert asker_and_answerer([]) == ("", "")
