"""Editing that respects a person's time (issue 26): a hand-made Q&A's question is the words selected, a
trim is one request after which the question follows and the old clips are out of date, "Cut again"
always acts and says what it started, a misheard word is fixed everywhere, search hits are sentences and
a sentence clipped from a search is not a Q&A, and the waveform the clip editor draws."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

import store.clips
import store.engine
import store.speakers
import store.steps
import store.transcripts
import store.videos
from operations import videos
from pipeline import corrections, waveform
from pipeline.alignment import word_gaps
from pipeline.exchanges import marked_exchange, sentence_around
from pipeline.types import Segment, Transcript, Word


def say(speaker: str | None, start: float, end: float, text: str, lead: str = "") -> Segment:
    """A segment with words spread evenly over [start, end], stripped as faster-whisper's are stored."""
    tokens = text.split()
    step = (end - start) / len(tokens)
    words = tuple(
        Word(round(start + i * step, 3), round(start + (i + 1) * step, 3), f"{lead}{token}", 0.9, speaker)
        for i, token in enumerate(tokens)
    )
    return Segment(start, end, text, words, speaker)


# ---- the pipeline: pure functions ------------------------------------------------------------------


def test_words_are_shown_with_spaces_but_none_before_punctuation_or_in_unspaced_languages():
    words = [Word(0, 1, "So"), Word(1, 2, "Teri"), Word(2, 3, ","), Word(3, 4, " speaking")]
    assert word_gaps(words) == ["", " ", "", ""]
    assert word_gaps(words, "ja") == ["", "", "", ""]


def test_a_hand_made_qa_asks_the_selected_words_and_learns_who_asks_and_answers():
    segments = [
        say("SPEAKER_01", 0.0, 3.0, "and that was the end of it."),
        say("SPEAKER_00", 3.0, 6.0, "So Teri, how can I help you? I mean today."),
        say("SPEAKER_01", 6.0, 9.0, "I would like to reset my radio clock."),
    ]
    second_word = segments[1].words[1].start  # "Teri": the selection starts there, not at "So"
    marked = marked_exchange(segments, second_word, 9.0)
    assert marked.question == "Teri, how can I help you?"  # up to the asker's last question, nothing before
    assert (marked.asker, marked.answerer) == ("SPEAKER_00", "SPEAKER_01")
    alone = marked_exchange(segments, 6.0, 9.0)
    assert (alone.question, alone.asker, alone.answerer) == ("I would like to reset my radio clock.", "SPEAKER_01", "")
    assert marked_exchange(segments, 20.0, 30.0).question == ""


def test_a_search_hit_is_the_whole_sentence_across_whispers_fragments():
    segments = [
        say("A", 0.0, 2.0, "Twice a year,"),
        say("A", 2.0, 5.0, "when you have to reset your radio clock,"),
        say("A", 5.0, 6.5, "you think of him. Then"),
        say("A", 9.0, 10.0, "nothing."),  # after a pause: another sentence
    ]
    found = sentence_around(segments, 2.0, 5.0, lambda text: "clock" in text)
    assert (found.start, found.end) == (0.0, segments[2].words[3].end)
    assert found.text == "Twice a year, when you have to reset your radio clock, you think of him."
    narrowed = sentence_around(segments, 5.0, 6.5, lambda text: "Then" in text)
    assert narrowed.text == "Then"  # of a segment holding two sentences, the one that matches


def test_a_corrected_line_keeps_the_times_of_the_words_that_did_not_change():
    line = say("A", 0.0, 4.0, "So Teri speaking how can I help you?")
    fixed = corrections.retext(line, "So Terry speaking, how can I help you today?")
    assert fixed.text == "So Terry speaking, how can I help you today?"
    assert fixed.words[0] == line.words[0] and fixed.words[4] == line.words[4]  # "So", "can": untouched
    assert (fixed.words[1].start, fixed.words[1].end) == (line.words[1].start, line.words[1].end)
    assert fixed.words[-1].end == line.words[-1].end and all(w.speaker == "A" for w in fixed.words)
    added = corrections.retext(line, "So Teri is speaking how can I help you?")
    assert [w.text for w in added.words[:4]] == ["So", "Teri", "is", "speaking"]
    assert all(a.end <= b.start + 1e-9 for a, b in zip(added.words, added.words[1:], strict=False))
    with pytest.raises(corrections.CorrectionError):
        corrections.retext(line, "   ")


def test_a_corrected_word_shares_its_time_and_reaches_the_transcript_whisper_gave():
    line = say("A", 0.0, 2.0, "radioclock works")
    fixed = corrections.retext_word(line, 0, "radio clock")
    assert [(w.text, w.start, w.end) for w in fixed.words[:2]] == [("radio", 0.0, 0.5), ("clock", 0.5, 1.0)]
    raw = [Segment(0.0, 2.0, "radioclock works", tuple(Word(w.start, w.end, w.text) for w in line.words))]
    (carried,) = corrections.carry_over(raw, line, fixed)
    assert carried.text == "radio clock works" and carried.words[0].speaker is None
    assert corrections.retext_word(line, 1, "").text == "radioclock"
    with pytest.raises(corrections.CorrectionError):
        corrections.retext_word(line, 5, "x")


def wav_file(path: Path, seconds: float, rate: int = 16000) -> Path:
    """A 16-bit mono WAV: silence, then a tone at half of full scale from 1 s on."""
    samples = np.zeros(int(seconds * rate), dtype="<i2")
    samples[rate:] = (16384 * np.sin(np.arange(len(samples) - rate) * 2 * np.pi * 440 / rate)).astype("<i2")
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(samples.tobytes())
    return path


def test_the_waveform_is_fifty_peaks_a_second_worked_out_once(tmp_path):
    wav = wav_file(tmp_path / "audio.wav", 2.5)
    peaks = waveform.peaks(wav)
    assert len(peaks) == 125
    assert max(peaks[:50]) == 0 and 120 <= min(peaks[51:]) <= 128  # silence, then half of full scale
    cache = tmp_path / "waveform.peaks"
    assert waveform.cached_peaks(wav, cache) == peaks and cache.read_bytes() == peaks
    cache.write_bytes(b"\x01")  # newer than the WAV: read, not worked out again
    assert waveform.cached_peaks(wav, cache) == b"\x01"
    (tmp_path / "bad.wav").write_bytes(b"not a wav")
    with pytest.raises(waveform.WaveformError):
        waveform.peaks(tmp_path / "bad.wav")


# ---- through the API ---------------------------------------------------------------------------------


@pytest.fixture
def conn(app_conn):
    return app_conn


LINES = [
    say("SPEAKER_01", 0.0, 3.0, "and that was the end of it."),
    say("SPEAKER_00", 3.0, 6.0, "So Teri, how can I help you?"),
    say("SPEAKER_01", 6.0, 9.0, "I would like to reset my radio clock."),
    say("SPEAKER_00", 9.0, 12.0, "Why the radio clock?"),
    say("SPEAKER_01", 12.0, 15.0, "Because it is always wrong."),
]


def unlabelled(segment: Segment) -> Segment:
    """The segment as Whisper gave it: no speakers yet."""
    return Segment(segment.start, segment.end, segment.text, tuple(Word(w.start, w.end, w.text) for w in segment.words))


def clip_row(start: float, end: float, position: int = 0, kind: str = "exchange", speaker: str | None = None) -> dict:
    return {
        "position": position,
        "kind": kind,
        "start_time": start,
        "end_time": end,
        "speaker": speaker,
        "note": None,
        "path": None,
        "srt_path": None,
        "vtt_path": None,
        "title": None,
    }


def transcribed(conn, lines=LINES) -> int:
    """A video whose phase 1 is done, with this transcript (the one Whisper gave kept too) and speakers."""
    with store.engine.transaction(conn):
        video_id = videos.create_video(conn, videos.VideoRequest(url="https://example.org/talk"))
        store.videos.update_video(conn, video_id, title="Talk", duration=20.0)
        store.transcripts.replace_segments(conn, video_id, lines)
        store.transcripts.save_raw_transcript(
            conn, video_id, Transcript(tuple(unlabelled(s) for s in lines), "en", 20.0)
        )
        store.speakers.ensure_speakers(conn, video_id, ["SPEAKER_00", "SPEAKER_01"])
        for step in store.steps.steps_of(conn, [video_id]):
            store.steps.update_step(conn, step.id, state="done", progress=1.0)
    return video_id


def test_a_hand_made_qa_and_a_trim_take_their_question_from_the_words_in_them(client, conn):
    video_id = transcribed(conn)
    teri = LINES[1].words[1].start
    created = client.post(f"/api/videos/{video_id}/exchanges", json={"start": teri, "end": 9.0}).get_json()["exchange"]
    assert created["question"] == "Teri, how can I help you?"  # not "and that was the end of it."
    assert (created["asker"], created["answerer"]) == ("SPEAKER_00", "SPEAKER_01")
    with store.engine.transaction(conn):  # as if it had been cut
        for step in store.steps.exchange_steps(conn, [created["id"]]):
            store.steps.update_step(conn, step.id, state="done", progress=1.0, attempts=1)
    trimmed = client.patch(f"/api/exchanges/{created['id']}", json={"start": 9.0, "end": 15.0}).get_json()
    assert trimmed["question"] == "Why the radio clock?"  # the question follows the range
    assert {step["state"] for step in trimmed["steps"]} == {"stale"}
    page = client.get(f"/partials/videos/{video_id}/exchanges").get_data(as_text=True)
    assert "Why the radio clock?" in page and 'class="btn btn-sm btn-outline-primary mt-1 edit-exchange"' in page


def test_cut_again_always_starts_something_and_says_what(client, conn):
    video_id = transcribed(conn)
    made = client.post(f"/api/videos/{video_id}/exchanges", json={"start": 3.0, "end": 9.0}).get_json()["exchange"]
    first = client.post(f"/api/exchanges/{made['id']}/cut")
    assert first.status_code == 202
    assert first.get_json()["message"] == "Cutting Manual Q&A 1: Label speakers → Define clips → Cut clips"
    assert first.get_json()["steps"][0]["name"] == "label_speakers"
    busy = client.post(f"/api/exchanges/{made['id']}/cut").get_json()
    assert busy["steps"] == [] and "being cut already" in busy["message"]
    with store.engine.transaction(conn):  # cut, with two clips; then only the look changed
        for step in store.steps.exchange_steps(conn, [made["id"]]):
            store.steps.update_step(conn, step.id, state="done" if step.name != "cut_clips" else "stale", attempts=1)
        store.clips.replace_clips(
            conn, made["id"], [clip_row(3.0 + n, 4.0 + n, n, "speaker", "SPEAKER_00") for n in range(2)]
        )
    again = client.post(f"/api/exchanges/{made['id']}/cut").get_json()
    assert again["message"] == "Cutting Manual Q&A 1 again: 2 clips" and again["steps"][0]["name"] == "cut_clips"
    assert client.post("/api/exchanges/987654/cut").status_code == 404


def test_clips_cut_before_a_trim_are_marked_out_of_date_with_cut_again(client, conn):
    video_id = transcribed(conn)
    made = client.post(f"/api/videos/{video_id}/exchanges", json={"start": 3.0, "end": 9.0}).get_json()["exchange"]
    with store.engine.transaction(conn):
        for step in store.steps.exchange_steps(conn, [made["id"]]):
            store.steps.update_step(conn, step.id, state="done", progress=1.0, attempts=1)
        store.clips.replace_clips(conn, made["id"], [clip_row(3.0, 9.0)])
    assert "clips-out-of-date" not in client.get(f"/partials/videos/{video_id}/clips").get_data(as_text=True)
    assert client.patch(f"/api/exchanges/{made['id']}", json={"start": 4.0}).status_code == 200
    clips = client.get(f"/partials/videos/{video_id}/clips").get_data(as_text=True)
    assert "Out of date: Manual Q&amp;A 1 changed since these clips were cut" in clips and "cut-again" in clips


def test_a_corrected_line_reaches_search_subtitles_questions_and_the_transcript_whisper_gave(client, conn):
    video_id = transcribed(conn)
    made = client.post(f"/api/videos/{video_id}/exchanges", json={"start": 3.0, "end": 9.0}).get_json()["exchange"]
    (segment_id,) = [
        sid for sid, s in zip(store.transcripts.segment_ids(conn, video_id), LINES, strict=True) if s is LINES[1]
    ]
    with store.engine.transaction(conn):
        store.clips.replace_clips(conn, made["id"], [clip_row(3.0, 9.0)])
        (clip,) = store.clips.list_clips(conn, made["id"])
        store.clips.update_clip(conn, clip.id, burned_captions=1)
    url = f"/api/videos/{video_id}/segments/{segment_id}"
    fixed = client.patch(url, json={"text": "So Terry, how can I help you?"})
    assert fixed.status_code == 200 and fixed.get_json()["segment"]["text"] == "So Terry, how can I help you?"
    assert [w["start"] for w in fixed.get_json()["segment"]["words"]] == [w.start for w in LINES[1].words]
    assert client.get("/api/search?q=Terry").get_json()["hits"][0]["text"] == "So Terry, how can I help you?"
    assert client.get("/api/search?q=Teri").get_json()["hits"] == []
    assert client.get(f"/api/exchanges/{made['id']}").get_json()["question"] == "So Terry, how can I help you?"
    assert store.clips.list_clips(conn, made["id"])[0].captions_out_of_date
    assert "Terry" in " ".join(s.text for s in store.transcripts.get_raw_transcript(conn, video_id).segments)
    assert "Terry" in client.get(f"/api/videos/{video_id}/transcript.srt").get_data(as_text=True)
    word = client.patch(f"{url}/words/1", json={"text": "Terri,"})
    assert word.status_code == 200 and word.get_json()["segment"]["text"] == "So Terri, how can I help you?"
    assert client.patch(url, json={"text": ""}).status_code == 400
    assert client.patch(f"{url}/words/40", json={"text": "x"}).status_code == 400
    assert client.patch(f"/api/videos/{video_id}/segments/987654", json={"text": "x"}).status_code == 404


def test_search_hits_are_sentences_and_a_clipped_sentence_is_not_a_qa(client, conn):
    lines = [
        say("SPEAKER_00", 0.0, 2.0, "Twice a year,"),
        say("SPEAKER_00", 2.0, 5.0, "when you have to reset your radio clock,"),
        say("SPEAKER_00", 5.0, 6.5, "you think of him."),
        say("SPEAKER_01", 7.0, 9.0, "Why is that?"),
    ]
    video_id = transcribed(conn, lines)
    (hit,) = client.get("/api/search?q=radio+clock").get_json()["hits"]
    assert hit["text"] == "Twice a year, when you have to reset your radio clock, you think of him."
    assert (hit["start"], hit["end"]) == (0.0, 6.5)
    (one,) = client.get("/api/search?q=you").get_json()["hits"]  # in two of its segments: one sentence, one hit
    assert one["start"] == 0.0
    sentence = {"start": hit["start"], "end": hit["end"], "from_search": True}
    made = client.post(f"/api/videos/{video_id}/exchanges", json=sentence).get_json()["exchange"]
    assert (made["label"], made["title"], made["from_search"]) == ("search_1", "Clip from search 1", True)
    manual = client.post(f"/api/videos/{video_id}/exchanges", json={"start": 0, "end": 9}).get_json()["exchange"]
    assert manual["title"] == "Manual Q&A 1"
    qas = client.get(f"/partials/videos/{video_id}/exchanges").get_data(as_text=True)
    assert "Manual Q&amp;A 1" in qas and "Clip from search" not in qas
    assert "Clip from search 1" in client.get(f"/partials/videos/{video_id}/clips").get_data(as_text=True)
    hit_again = client.get("/api/search?q=radio+clock").get_json()["hits"][0]
    assert hit_again["exchange"]["title"] == "Manual Q&A 1"  # the Q&A that holds it, not the clip from search
    timeline = client.get(f"/api/videos/{video_id}/timeline.otio").get_data(as_text=True)
    assert "Manual Q&A 1" in timeline and "Clip from search" not in timeline


def test_the_waveform_endpoint_serves_a_stretch_and_says_when_there_is_no_audio(client, conn, tmp_path):
    video_id = transcribed(conn)
    assert client.get(f"/api/videos/{video_id}/waveform").status_code == 409
    wav = wav_file(tmp_path / "audio.wav", 3.0)
    with store.engine.transaction(conn):
        store.videos.update_video(conn, video_id, audio_path=str(wav))
    body = client.get(f"/api/videos/{video_id}/waveform?start=0.5&end=1.5").get_json()
    assert (body["per_second"], body["start"], len(body["peaks"])) == (50, 0.5, 50)
    assert body["peaks"][0] == 0 and body["peaks"][-1] > 100
    assert len(client.get(f"/api/videos/{video_id}/waveform").get_json()["peaks"]) == 150
    assert (tmp_path / "waveform.peaks").is_file()
    assert client.get(f"/api/videos/{video_id}/waveform?start=soon").status_code == 400
