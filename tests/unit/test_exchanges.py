"""Question detection and exchange finding on hand-made, speaker-labelled segments."""

from __future__ import annotations

import pytest

from pipeline.exchanges import (
    ExchangeConfig,
    explain_no_exchanges,
    explain_short_exchanges,
    find_exchanges,
    is_closing_remark,
    is_question,
)
from pipeline.types import Exchange, Segment, Word


def say(speaker: str | None, start: float, end: float, text: str) -> Segment:
    """A segment by one speaker with faster-whisper style words spread evenly over [start, end]."""
    tokens = text.split()
    step = (end - start) / len(tokens)
    words = tuple(
        Word(start + i * step, start + (i + 1) * step, f" {token}", speaker=speaker) for i, token in enumerate(tokens)
    )
    return Segment(start, end, f" {text}", words, speaker)


def word_start(segment: Segment, index: int) -> float:
    return segment.words[index].start


@pytest.mark.parametrize(
    "text",
    [
        "What do you do?",
        "what do you do",
        "Why did you leave.",
        "How long did it take",
        "When did you start",
        "Where do you live",
        "Who taught you",
        "Which one do you prefer",
        "Whose idea was it",
        "Whom did you meet there",
        "Do you like it.",
        "Is it hard",
        "Could we try that again",
        "Are you sure",
        "Can you explain that",
        "Would you do it again",
        "Have you ever failed",
        "Did you enjoy it",
        "Will you come back",
        "Should we stop here",
        "Is there a catch",
        "Don’t you think so",
        "So, what happened next",
        "So do you think it works",
        "And how did that feel",
        "Well, do you think so",
        "Okay, so, what made you stay",
        "But, you know, why boats",
        "IS IT TRUE",
        "It was hard, right?",
        'You liked it?"',
    ],
)
def test_questions(text):
    assert is_question(text)


@pytest.mark.parametrize(
    "text",
    [
        "I know what you mean.",
        "That is what I said.",
        "I wonder why he left.",
        "Nobody knows how it works",
        "When I was young, I built boats.",
        "Where the river bends, we moored.",
        "What a day.",
        "How it works is simple.",
        "Which is why I left.",
        "Do the dishes first.",
        "Have a seat.",
        "It is true.",
        "So I went home.",
        "Yes.",
        "Why.",
        "So do I.",
        "And so did we",
        "",
    ],
)
def test_statements_are_not_questions(text):
    assert not is_question(text)


def test_a_question_answered_by_another_speaker_is_an_exchange():
    question = say("A", 1.0, 3.0, "What got you started?")
    answer = say("B", 3.5, 9.0, "My grandfather built boats. I helped him every summer.")
    assert find_exchanges([question, answer]) == [Exchange(1.0, 9.0, "What got you started?", "A", "B")]


def test_exchanges_come_in_time_order_whatever_the_input_order():
    segments = [
        say("A", 0.0, 2.0, "Why boats?"),
        say("B", 2.5, 7.0, "Because the sea was right there."),
        say("A", 7.5, 9.0, "Where do you work?"),
        say("B", 9.5, 14.0, "In a shed by the harbour."),
    ]
    found = find_exchanges(list(reversed(segments)))
    assert [(e.start, e.end) for e in found] == [(0.0, 7.0), (7.5, 14.0)]


def test_the_next_question_by_the_asker_ends_the_answer():
    segments = [
        say("A", 0.0, 2.0, "How long does a boat take?"),
        say("B", 2.5, 8.0, "About three months of steady work."),
        say("A", 8.5, 10.0, "And who buys them?"),
        say("B", 10.5, 15.0, "Mostly fishermen and a few collectors."),
    ]
    found = find_exchanges(segments)
    assert [(e.start, e.end, e.question) for e in found] == [
        (0.0, 8.0, "How long does a boat take?"),
        (8.5, 15.0, "And who buys them?"),
    ]


def test_a_question_by_the_answerer_ends_the_answer_at_sentence_level():
    answer_then_question = say("B", 2.5, 10.0, "It took years. I loved it anyway. What about you?")
    segments = [
        say("A", 0.0, 2.0, "Was it hard?"),
        answer_then_question,
        say("A", 10.5, 16.0, "I never tried, but my father did for a while."),
    ]
    first, second = find_exchanges(segments)
    question_start = word_start(answer_then_question, 7)  # "What"
    assert (first.start, first.end, first.answerer) == (0.0, answer_then_question.words[6].end, "B")
    assert (second.start, second.end, second.asker, second.answerer) == (question_start, 16.0, "B", "A")
    assert second.question == "What about you?"


def test_the_asker_taking_the_floor_for_a_long_turn_ends_the_answer():
    segments = [
        say("A", 0.0, 2.0, "Why wood?"),
        say("B", 2.5, 7.0, "It is warm and it forgives mistakes."),
        say("A", 7.5, 13.0, "That is a great point. I have heard the same from many makers."),
        say("B", 13.5, 17.0, "It is true, most of us agree."),
    ]
    assert [(e.start, e.end) for e in find_exchanges(segments)] == [(0.0, 7.0)]


def test_a_short_remark_by_the_asker_does_not_end_the_answer():
    segments = [
        say("A", 0.0, 2.0, "Why wood?"),
        say("B", 2.5, 7.0, "It is warm and it forgives mistakes."),
        say("A", 7.3, 9.0, "That is surprising."),
        say("B", 9.3, 14.0, "Metal never forgives anything at all."),
    ]
    assert [(e.start, e.end) for e in find_exchanges(segments)] == [(0.0, 14.0)]


@pytest.mark.parametrize(
    "remark",
    ["Thank you for joining us.", "Brian, thank you very much.", "Well, thanks.", "Okay, let's move on."],
)
def test_the_askers_closing_or_transition_remark_ends_the_answer(remark):
    segments = [
        say("A", 0.0, 2.0, "Why wood?"),
        say("B", 2.5, 7.0, "It is warm and it forgives mistakes."),
        say("A", 7.3, 9.0, remark),
        say("B", 9.3, 11.0, "Thank you for having me."),
    ]
    assert [(e.start, e.end) for e in find_exchanges(segments)] == [(0.0, 7.0)]


@pytest.mark.parametrize(
    "text", ["Thank you.", "Thanks for having me", "Brian, thank you very much.", "So let's move on to sport."]
)
def test_closing_remarks(text):
    assert is_closing_remark(text)


@pytest.mark.parametrize(
    "text", ["That is surprising.", "I never thanked him for it.", "We moved on to London after the war."]
)
def test_remarks_that_do_not_close(text):
    assert not is_closing_remark(text)


def test_a_backchannel_does_not_break_the_answer():
    segments = [
        say("A", 0.0, 2.0, "How did you learn?"),
        say("B", 2.5, 7.0, "My grandfather taught me everything."),
        say("A", 7.1, 7.5, "Mm-hmm."),
        say("B", 7.8, 12.0, "He was patient with me."),
        say("A", 12.1, 12.6, "Yeah, right."),
        say("B", 12.8, 15.0, "Mostly patient."),
    ]
    assert find_exchanges(segments) == [Exchange(0.0, 15.0, "How did you learn?", "A", "B")]


def test_a_backchannel_inside_the_askers_questions_does_not_split_them():
    segments = [
        say("A", 0.0, 2.0, "What do you build?"),
        say("B", 2.1, 2.4, "Uh-huh."),
        say("A", 2.5, 4.0, "And who for?"),
        say("B", 4.5, 9.0, "Small boats, for people on the coast."),
    ]
    assert find_exchanges(segments) == [Exchange(0.0, 9.0, "What do you build? And who for?", "A", "B")]


def test_a_backchannel_alone_does_not_answer_a_question():
    segments = [
        say("A", 0.0, 2.0, "Do you follow me?"),
        say("B", 2.3, 2.8, "Okay."),
        say("A", 3.0, 9.0, "Good, because the next part is where it gets tricky."),
    ]
    assert find_exchanges(segments) == []


def test_a_backchannel_after_a_statement_forms_no_exchange():
    segments = [say("A", 0.0, 4.0, "I have built forty boats."), say("B", 4.2, 4.6, "Wow.")]
    assert find_exchanges(segments) == []


def test_a_long_stretch_of_agreement_words_is_speech_not_a_backchannel():
    segments = [say("A", 0.0, 2.0, "Would you do it again?"), say("B", 2.5, 5.0, "Yes, absolutely, of course.")]
    assert [(e.start, e.end) for e in find_exchanges(segments)] == [(0.0, 5.0)]
    strict = ExchangeConfig(backchannel_max_seconds=3.0)
    assert find_exchanges(segments, strict) == []


def test_a_speaker_change_without_a_question_makes_no_exchange():
    segments = [
        say("A", 0.0, 3.0, "That is a great point, thank you."),
        say("B", 3.5, 7.0, "It is true. Most of us learned it the hard way."),
    ]
    assert find_exchanges(segments) == []
    assert explain_no_exchanges(segments) == "no questions were found"


def test_a_statement_containing_what_mid_sentence_makes_no_exchange():
    segments = [say("A", 0.0, 3.0, "I know what you mean."), say("B", 3.5, 7.0, "Everyone says that to me.")]
    assert find_exchanges(segments) == []


def test_an_unanswered_question_makes_no_exchange():
    assert find_exchanges([say("A", 0.0, 2.0, "Is anyone there?")]) == []
    segments = [
        say("A", 0.0, 2.0, "Is anyone there?"),
        say("B", 30.0, 32.0, "Sorry, I was outside."),
        say("A", 32.5, 34.0, "Then who answered the door?"),
    ]
    assert find_exchanges(segments) == []
    assert explain_no_exchanges(segments) == "no question was answered by another speaker"


def test_a_question_followed_by_a_long_monologue_by_the_asker_is_rhetorical():
    segments = [
        say("A", 0.0, 2.0, "Why does this matter?"),
        say("A", 2.2, 14.0, "Because every boat we lose is a hundred years of knowledge gone for good."),
        say("B", 14.5, 18.0, "I could not agree more."),
    ]
    assert find_exchanges(segments) == []


def test_consecutive_question_sentences_merge_into_one_question():
    segments = [
        say("A", 0.0, 4.0, "That sounds hard. So what happened next? Did you give up?"),
        say("B", 4.5, 9.0, "No, I went back the next winter."),
    ]
    [exchange] = find_exchanges(segments)
    assert exchange.question == "So what happened next? Did you give up?"
    assert exchange.start == word_start(segments[0], 3)  # "So", found from word timestamps
    assert exchange.end == 9.0


def test_only_the_last_question_before_the_answer_counts_when_the_asker_talks_in_between():
    asker = say("A", 0.0, 6.0, "Why? Because it is cheap. Was that the reason?")
    segments = [asker, say("B", 6.5, 10.0, "Partly, but mostly habit.")]
    [exchange] = find_exchanges(segments)
    assert (exchange.start, exchange.question) == (word_start(asker, 5), "Was that the reason?")


def test_an_answer_after_a_long_silence_makes_no_exchange():
    segments = [say("A", 0.0, 2.0, "Any regrets?"), say("B", 20.0, 24.0, "Not one, not a single one.")]
    assert find_exchanges(segments) == []
    assert find_exchanges(segments, ExchangeConfig(max_answer_delay_seconds=30.0)) != []


def test_a_long_pause_inside_the_answer_ends_it():
    segments = [
        say("A", 0.0, 2.0, "Any regrets?"),
        say("B", 2.5, 6.0, "Not one, not a single one."),
        say("B", 30.0, 34.0, "Welcome back to the second half."),
    ]
    assert [(e.start, e.end) for e in find_exchanges(segments)] == [(0.0, 6.0)]


def test_a_very_short_answer_makes_no_exchange():
    segments = [say("A", 0.0, 2.0, "Did you sell it?"), say("B", 2.5, 3.0, "No.")]
    assert find_exchanges(segments) == []


def test_another_listener_may_carry_on_the_answer():
    segments = [
        say("A", 0.0, 2.0, "What do you both think?"),
        say("B", 2.5, 6.0, "I think it is a fine idea."),
        say("C", 6.5, 10.0, "And I think it is overdue."),
    ]
    assert find_exchanges(segments) == [Exchange(0.0, 10.0, "What do you both think?", "A", "B")]


def test_words_with_mixed_speakers_in_one_segment_are_handled():
    question, answer = say("A", 0.0, 2.0, "Is it heavy?"), say("B", 2.2, 6.0, "Very heavy, it needs two people.")
    merged = Segment(0.0, 6.0, question.text + answer.text, question.words + answer.words, None)
    assert find_exchanges([merged]) == [Exchange(0.0, 6.0, "Is it heavy?", "A", "B")]


def test_segments_without_words_are_split_into_sentences_by_their_text():
    segments = [
        Segment(0.0, 4.0, " That is nice. What did you do then?", (), "A"),
        Segment(4.5, 9.0, " I went back to sea for a year.", (), "B"),
    ]
    [exchange] = find_exchanges(segments)
    assert 1.0 < exchange.start < 2.5
    assert (exchange.end, exchange.question) == (9.0, "What did you do then?")


def test_segments_without_speakers_make_no_exchange():
    segments = [say(None, 0.0, 2.0, "Why boats?"), say(None, 2.5, 6.0, "Because the sea was there.")]
    assert find_exchanges(segments) == []
    assert explain_no_exchanges(segments) == "no speaker labels: run speaker diarization first"


@pytest.mark.parametrize(
    ("segments", "reason"),
    [
        ([], "no speech was transcribed"),
        ([Segment(0.0, 1.0, " ", (), "A")], "no speech was transcribed"),
        ([say("A", 0.0, 3.0, "Why is it so? Who knows?")], "only one speaker was found"),
        ([say("A", 0.0, 3.0, "Why is it so?"), say("B", 3.2, 3.6, "Hmm.")], "only one speaker was found"),
        ([say("A", 0.0, 3.0, "I like it."), say("B", 3.5, 6.0, "So do I, very much.")], "no questions were found"),
    ],
)
def test_explain_no_exchanges_says_why(segments, reason):
    assert explain_no_exchanges(segments) == reason


def test_explain_no_exchanges_is_none_when_there_are_exchanges():
    segments = [say("A", 0.0, 2.0, "Why boats?"), say("B", 2.5, 6.0, "Because the sea was there.")]
    assert explain_no_exchanges(segments) is None


def test_an_answer_that_opens_by_echoing_the_question_is_still_the_answer():
    reply = say("B", 2.5, 9.0, "Do I miss it? Every single day, to be honest.")
    segments = [
        say("A", 0.0, 2.0, "Do you miss the sea?"),
        reply,
        say("A", 9.5, 16.0, "I can imagine that, it was a big part of your life."),
    ]
    assert find_exchanges(segments) == [Exchange(0.0, 9.0, "Do you miss the sea?", "A", "B")]


def test_a_rhetorical_question_inside_a_long_answer_does_not_end_it():
    segments = [
        say("A", 0.0, 2.0, "Why wood?"),
        say("B", 2.5, 6.0, "It forgives mistakes."),
        say("B", 6.2, 7.5, "And why does that matter?"),
        say("B", 7.7, 18.0, "Because every beginner makes hundreds of them, and metal punishes each one for years."),
    ]
    assert find_exchanges(segments) == [Exchange(0.0, 18.0, "Why wood?", "A", "B")]


CLIP_MINIMUM = ExchangeConfig(min_exchange_seconds=3.0)


def test_a_follow_up_question_joins_a_too_short_exchange():
    """Small talk ("How are you?" "Good, thanks." "And your new baby?" ...): alone each pair is too short
    for a clip; asked by the same person one after the other, they make one exchange."""
    segments = [
        say("JANE", 0.0, 1.2, "How are you and Jackie?"),
        say("MARK", 1.4, 2.4, "Good, thanks."),
        say("JANE", 2.6, 3.6, "And your new baby?"),
        say("MARK", 3.8, 7.8, "George is two now and he keeps us busy all day long."),
    ]
    [exchange] = find_exchanges(segments, CLIP_MINIMUM)
    assert (exchange.start, exchange.end) == (0.0, 7.8)
    assert exchange.question == "How are you and Jackie? And your new baby?"
    assert "joined with the follow-up question" in exchange.note


def test_a_too_short_exchange_alone_is_left_out_and_explained():
    segments = [
        say("HOST", 0.0, 1.0, "Ready?"),
        say("GUEST", 1.2, 2.4, "Yes, let us go now."),
        say("HOST", 12.0, 20.0, "Today we talk about boats and the people who build them by hand."),
    ]
    assert find_exchanges(segments, CLIP_MINIMUM) == []
    note = explain_short_exchanges(segments, CLIP_MINIMUM)
    assert "1 question-and-answer pair shorter than 3 s (CLIP_MIN_DURATION_SECONDS) left out: 0–2 s" in note
    assert find_exchanges(segments) != [], "without the clip minimum the pair is an exchange"


def test_exchanges_long_enough_are_kept_as_they_are():
    segments = [say("HOST", 0.0, 2.0, "What do you build?"), say("GUEST", 2.2, 8.0, "Boats, mostly wooden ones.")]
    [exchange] = find_exchanges(segments, CLIP_MINIMUM)
    assert (exchange.start, exchange.end, exchange.note) == (0.0, 8.0, "")
    assert explain_short_exchanges(segments, CLIP_MINIMUM) is None
