"""Subtitles: cues with names, cut and rebased per clip, written as SRT/VTT that real parsers accept."""

from __future__ import annotations

import io
import itertools
import json

import srt
import webvtt

from pipeline.subtitles import Cue, clip_cues, to_json, to_srt, to_text, to_vtt, transcript_cues
from pipeline.types import Segment, Word

A, B = "SPEAKER_00", "SPEAKER_01"
NAMES = {A: "Alice", B: "Bob"}


def segment(start: float, end: float, text: str, speaker: str | None = A) -> Segment:
    """A segment whose words share its time evenly (each word 90% of its slot)."""
    tokens = text.split()
    slot = (end - start) / len(tokens)
    words = tuple(
        Word(round(start + i * slot, 3), round(start + (i + 0.9) * slot, 3), f" {token}", speaker=speaker)
        for i, token in enumerate(tokens)
    )
    return Segment(start, end, f" {text}", words, speaker)


def conversation() -> list[Segment]:
    long_answer = " ".join(f"word{i}" for i in range(40)) + ". And that is all."
    return [
        segment(1.0, 4.0, "So what brought you here today?", A),
        segment(4.5, 24.5, long_answer, B),
        segment(25.0, 27.0, "Thank you.", A),
    ]


def vtt_seconds(timestamp) -> float:
    return timestamp.in_milliseconds() / 1000


# ---- cues --------------------------------------------------------------------------------------


def test_names_are_applied_and_unknown_labels_fall_back_to_the_label():
    cues = transcript_cues([segment(0.0, 2.0, "Hi.", A), segment(2.0, 4.0, "Hello.", "SPEAKER_07")], NAMES)
    assert [c.text for c in cues] == ["Alice: Hi.", "SPEAKER_07: Hello."]


def test_segment_without_speaker_has_no_prefix():
    assert transcript_cues([segment(0.0, 2.0, "Music plays.", None)], NAMES)[0].text == "Music plays."


def test_long_segments_become_readable_cues_split_between_words():
    cues = transcript_cues(conversation(), NAMES)
    answer = [c for c in cues if c.name == "Bob"]
    assert len(answer) > 1
    for cue in cues:
        assert cue.end - cue.start <= 7.0 + 1e-9
        assert len(cue.text) <= 84
        assert cue.text.startswith(("Alice: ", "Bob: "))
    spoken = " ".join(c.text.removeprefix("Bob: ") for c in answer)
    assert spoken == " ".join(w.text.strip() for w in conversation()[1].words)


def test_segment_without_words_is_split_by_characters():
    text = " ".join(["lorem ipsum dolor"] * 12)
    cues = transcript_cues([Segment(10.0, 30.0, text, (), A)], NAMES)
    assert len(cues) > 1
    assert cues[0].start == 10.0 and abs(cues[-1].end - 30.0) < 1e-9
    assert all(len(c.text) <= 84 and c.end - c.start <= 7.0 + 1e-9 for c in cues)
    assert " ".join(c.text.removeprefix("Alice: ") for c in cues) == text


# ---- clip_cues ---------------------------------------------------------------------------------


def test_clip_cues_are_rebased_and_lie_inside_the_clip():
    clip_start, clip_end = 3.2, 15.0
    cues = clip_cues(transcript_cues(conversation(), NAMES), clip_start, clip_end)
    assert cues
    for cue in cues:
        assert 0.0 <= cue.start < cue.end <= clip_end - clip_start


def test_cues_outside_the_clip_are_dropped_and_crossing_ones_trimmed_by_words():
    segments = [
        segment(0.0, 2.0, "Before the clip.", A),
        segment(2.0, 6.0, "one two three four", B),
        segment(6.0, 8.0, "inside entirely", A),
        segment(8.0, 12.0, "five six seven eight", B),
        segment(20.0, 22.0, "After the clip.", A),
    ]
    cues = clip_cues(transcript_cues(segments, NAMES), 4.0, 10.0)
    assert [c.text for c in cues] == ["Bob: three four", "Alice: inside entirely", "Bob: five six"]
    assert [(round(c.start, 3), round(c.end, 3)) for c in cues] == [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0)]
    assert cues[0].words[0].start == 0.0  # words move with the cue


def test_clip_cues_accept_segments_and_names():
    cues = clip_cues([segment(5.0, 7.0, "Hello there.", B)], 4.0, 10.0, names=NAMES)
    assert [(c.start, c.end, c.text) for c in cues] == [(1.0, 3.0, "Bob: Hello there.")]


def test_crossing_cue_without_words_keeps_its_text_with_clipped_times():
    cues = clip_cues([Cue(1.0, 5.0, "Bob: no word timings")], 3.0, 4.0)
    assert [(c.start, c.end, c.text) for c in cues] == [(0.0, 1.0, "Bob: no word timings")]


# ---- formats -----------------------------------------------------------------------------------


def test_srt_parses_and_keeps_times_and_text():
    cues = clip_cues(transcript_cues(conversation(), NAMES), 0.5, 26.0)
    parsed = list(srt.parse(to_srt(cues)))
    assert [p.index for p in parsed] == list(range(1, len(cues) + 1))
    assert [p.content for p in parsed] == [c.text for c in cues]
    for p, cue in zip(parsed, cues, strict=True):
        assert abs(p.start.total_seconds() - cue.start) < 0.001
        assert abs(p.end.total_seconds() - cue.end) < 0.001
        assert 0.0 <= p.start.total_seconds() < p.end.total_seconds() <= 25.5


def test_vtt_parses_with_header_and_millisecond_times():
    cues = clip_cues(transcript_cues(conversation(), NAMES), 0.5, 26.0)
    text = to_vtt(cues)
    assert text.startswith("WEBVTT\n\n")
    parsed = webvtt.from_string(text).captions
    assert [p.text for p in parsed] == [c.text for c in cues]
    for p, cue in zip(parsed, cues, strict=True):
        assert abs(vtt_seconds(p.start_time) - cue.start) < 0.001
        assert abs(vtt_seconds(p.end_time) - cue.end) < 0.001
    assert len(webvtt.read_buffer(io.StringIO(text)).captions) == len(cues)


def test_vtt_escapes_markup_in_text():
    cues = transcript_cues([segment(0.0, 3.0, "<script>alert(1)</script> & more", A)], NAMES)
    text = to_vtt(cues)
    assert "<script>" not in text
    assert "Alice: &lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in text
    assert webvtt.from_string(text).captions[0].raw_text == "Alice: &lt;script&gt;alert(1)&lt;/script&gt; &amp; more"


def test_timestamps_past_an_hour():
    text = to_srt([Cue(3725.5, 3727.25, "late")])
    assert "01:02:05,500 --> 01:02:07,250" in text
    assert "01:02:05.500 --> 01:02:07.250" in to_vtt([Cue(3725.5, 3727.25, "late")])


def test_empty_cues_make_empty_but_valid_files():
    assert list(srt.parse(to_srt([]))) == []
    assert webvtt.from_string(to_vtt([])).captions == []


# ---- transcript exports ------------------------------------------------------------------------


def test_plain_text_has_a_clock_and_a_name_per_line():
    segments = [*conversation(), segment(3725.0, 3727.0, "Late question?", "SPEAKER_07")]
    lines = to_text(segments, NAMES).splitlines()
    assert lines[0] == "[00:01] Alice: So what brought you here today?"
    assert lines[1].startswith("[00:04] Bob: word0 word1")
    assert lines[2] == "[00:25] Alice: Thank you."
    assert lines[3] == "[1:02:05] SPEAKER_07: Late question?"


def test_json_export_carries_speakers_names_and_words():
    document = json.loads(to_json(conversation(), NAMES))
    assert document["speakers"] == {A: "Alice", B: "Bob"}
    first = document["segments"][0]
    assert (first["speaker"], first["name"], first["text"]) == (A, "Alice", "So what brought you here today?")
    assert first["words"][0] == {"start": 1.0, "end": 1.45, "text": "So", "probability": None}


def dialogues(ass: str) -> list[tuple[str, str, str]]:
    """(start, end, text) of each ASS event."""
    rows = [line.removeprefix("Dialogue: ").split(",", 9) for line in ass.splitlines() if line.startswith("Dialogue:")]
    return [(row[1], row[2], row[9]) for row in rows]


def test_highlight_colours_the_spoken_word_one_event_a_word_and_cannot_inject_styles():
    from pipeline.subtitles import CaptionLayout, Cue, to_ass

    words = (Word(0.7, 1.0, " Hi"), Word(1.1, 1.9, " {\\b1}there"))
    cue = Cue(0.5, 2.0, "Ada: Hi {\\b1}there", "Ada", words)
    ass = to_ass([cue, Cue(2.0, 3.0, "No word times")], "highlight", CaptionLayout(1080, 1920, names=True))
    events = dialogues(ass)
    assert [(start, end) for start, end, _ in events] == [
        ("0:00:00.70", "0:00:01.10"),
        ("0:00:01.10", "0:00:02.00"),
        ("0:00:02.00", "0:00:03.00"),
    ]
    accent = "{\\1c&H3FD2FF&}"
    assert events[0][2] == f"Ada: {accent}Hi{{\\1c&HFFFFFF&}} (/b1)there"
    assert events[1][2] == f"Ada: Hi {accent}(/b1)there{{\\1c&HFFFFFF&}}"
    assert events[2][2] == "No word times"
    assert "PlayResX: 1080" in ass and "PlayResY: 1920" in ass and "DejaVu Sans" in ass


def test_clean_burned_captions_and_srt_carry_markup_as_text():
    from pipeline.subtitles import CaptionLayout, to_ass

    cue = Cue(0.5, 2.0, '<font color="#ff0000">{\\an8}Eve</font>: hi')
    [(start, end, text)] = dialogues(to_ass([cue], "clean", CaptionLayout(1280, 720)))
    assert (start, end) == ("0:00:00.50", "0:00:02.00")
    assert text.replace("\\N", " ") == '<font color="#ff0000">(/an8)Eve</font>: hi'
    assert "{" not in text
    srt_text = to_srt([cue])
    assert "<font" not in srt_text and "{\\" not in srt_text and "</font" not in srt_text
    assert srt_text.replace("\u200b", "").splitlines()[2] == cue.text


# ---- captions made for phones -------------------------------------------------------------------

LAYOUTS = {"vertical": (1080, 1920), "square": (1080, 1080), "original": (1280, 720), "small": (640, 360)}


def long_talk() -> list[Cue]:
    """Two speakers, one long answer with long words, as the clip's cues (names and word times)."""
    names = {A: "Teri", B: "Maximilian Longname-Smith"}
    answer = (
        "Well, I think the single most extraordinarily important consideration in this whole business "
        "is that we listened to our customers every single day. Otherwise nothing would have worked."
    )
    return transcript_cues(
        [segment(0.0, 3.0, "So what really happened there?", A), segment(3.2, 16.0, answer, B)], names
    )


def test_old_style_names_still_work_and_every_style_reads_on_any_background():
    from pipeline.subtitles import CAPTION_STYLES, caption_style, worst_contrast

    assert caption_style("plain").name == "clean" and caption_style("words").name == "highlight"
    assert set(CAPTION_STYLES) == {"clean", "highlight", "pop", "bilingual"}
    for style in CAPTION_STYLES.values():
        assert worst_contrast(style) >= 4.5, style.name  # text and spoken word against outline or box


def test_captions_are_at_most_two_lines_that_fit_the_frame_a_few_words_at_a_time():
    from pipeline import fonts
    from pipeline.subtitles import CAPTION_STYLES, CaptionLayout, caption_chunks

    for style in CAPTION_STYLES.values():
        for width, height in LAYOUTS.values():
            layout = CaptionLayout(width, height, names=True)
            chunks = caption_chunks(long_talk(), style, layout)
            assert chunks and all(1 <= len(chunk.lines) <= 2 for chunk in chunks)
            size = round(style.size * layout.unit)
            for chunk in chunks:
                for line in chunk.lines:
                    text = " ".join(token.text for token in line)
                    too_wide = fonts.text_width(text, size, style.bold) > layout.line_room(style)
                    assert not too_wide or len(line) == 1, (style.name, layout, text)  # one long word is shrunk
                if style.max_words:
                    assert len(chunk.spoken) <= style.max_words
            starts = [chunk.start for chunk in chunks]
            assert starts == sorted(starts) and all(a.end <= b.start for a, b in itertools.pairwise(chunks))
            spoken = [token.text for chunk in chunks for token in chunk.spoken]
            assert " ".join(spoken) == " ".join(w.text.strip() for cue in long_talk() for w in cue.words)


def test_a_speaker_is_named_once_when_names_are_on_and_never_when_off():
    from pipeline.subtitles import CaptionLayout, caption_chunks, caption_style

    named = caption_chunks(long_talk(), caption_style("pop"), CaptionLayout(1080, 1920, names=True))
    texts = [chunk.text.replace("\n", " ") for chunk in named]
    assert texts[0].startswith("Teri: So") and sum("Teri:" in text for text in texts) == 1
    assert sum("Maximilian Longname-Smith:" in text for text in texts) == 1
    plain = caption_chunks(long_talk(), caption_style("pop"), CaptionLayout(1080, 1920, names=False))
    assert not any(":" in chunk.text for chunk in plain)


def test_phone_captions_keep_out_of_the_platform_buttons_and_go_where_asked():
    from pipeline.subtitles import CaptionLayout, caption_style, to_ass

    for name in ("clean", "highlight", "pop"):
        style = caption_style(name)
        for position, alignment in (("bottom", 2), ("middle", 5), ("top", 8)):
            layout = CaptionLayout(1080, 1920, position)
            left, right, vertical = layout.margins(style)
            edge = (style.edge_width + style.shadow) * 1080
            assert right - edge >= 0.15 * 1080 and left - edge >= 0.05 * 1080
            if position == "bottom":
                assert vertical - edge >= 0.20 * 1920
            ass = to_ass(long_talk(), name, layout)
            style_line = next(line for line in ass.splitlines() if line.startswith("Style:"))
            assert style_line.split(",")[18:22] == [str(alignment), str(left), str(right), str(vertical)]


def test_pop_shows_the_words_said_so_far_and_hides_the_rest_in_place():
    from pipeline.subtitles import CaptionLayout, Cue, to_ass

    words = tuple(Word(0.5 * i, 0.5 * i + 0.4, f" w{i}") for i in range(3))
    events = dialogues(to_ass([Cue(0.0, 1.5, "w0 w1 w2", None, words)], "pop", CaptionLayout(1080, 1920)))
    assert len(events) == 3
    assert all(text.count("\\alpha&HFF&") == 2 - index for index, (_, _, text) in enumerate(events))
    assert all("\\t(0," in text for _, _, text in events)  # the newest word grows into place


def test_a_preview_catches_a_caption_mid_word():
    from pipeline.subtitles import CaptionLayout, caption_events, caption_style, preview_moment

    layout = CaptionLayout(1080, 1920)
    for name in ("clean", "highlight", "pop"):
        moment = preview_moment(long_talk(), name, layout)
        events = caption_events(long_talk(), caption_style(name), layout)
        assert any(start < moment < end for start, end, _ in events[:2])
    assert preview_moment([], "pop", layout) == 0.0


# ---- bilingual captions ------------------------------------------------------------------------------


def test_each_caption_is_paired_with_the_english_it_overlaps_longest():
    from pipeline.subtitles import pair_by_overlap

    captions = [Cue(0.0, 2.0, "a"), Cue(2.0, 5.0, "b"), Cue(9.0, 10.0, "c")]
    english = [Cue(0.5, 2.5, "A"), Cue(2.4, 6.0, "B"), Cue(8.0, 8.9, "C")]
    assert pair_by_overlap(captions, english) == [0, 1, None], "c overlaps nothing: no English under it"
    assert pair_by_overlap(captions, []) == [None, None, None]


def test_bilingual_captions_are_one_line_with_a_smaller_escaped_english_line_under_it():
    from pipeline.subtitles import CaptionLayout, caption_style, to_ass

    spanish = transcript_cues(
        [
            segment(0.0, 3.0, "¿Vendrás a México {\\an8} este verano?", A),
            segment(3.5, 6.0, "Sí, claro.", B),
            segment(8.0, 9.0, "Vale.", B),
        ],
        NAMES,
    )
    english = transcript_cues(
        [Segment(0.1, 3.0, " Will you come to Mexico {\\an8} this summer?"), Segment(3.4, 6.0, " Yes, of course.")], {}
    )
    for width, height in LAYOUTS.values():
        layout = CaptionLayout(width, height)
        ass = to_ass(spanish, "bilingual", layout, english)
        texts = [line.split(",,0,0,0,,", 1)[1] for line in ass.splitlines() if line.startswith("Dialogue:")]
        assert texts[0].startswith("¿Vendrás") and texts[-1] == "Vale.", "nothing said in English then: no line"
        small = round(caption_style("bilingual").english_size * layout.unit)
        for text in texts[:-1]:
            original, under = text.split("\\N")
            assert "\\N" not in under and under.startswith(f"{{\\fs{small}}}"), "one smaller English line"
            assert "{" not in original and "\\" not in original
            assert "{" not in under.removeprefix(f"{{\\fs{small}}}")
        assert any("Will you come to Mexico (/an8) this summer?" in text for text in texts), "escaped"
        assert texts[-2].endswith("Yes, of course.")
    assert small < round(caption_style("bilingual").size * layout.unit)
    assert to_ass(spanish, "bilingual", CaptionLayout()).count("\\N") == 0, "no translation: the words alone"
