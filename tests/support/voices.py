"""Voiceprints made to measure, for tests of the speaker library's rules (real voices are tested apart)."""

from __future__ import annotations

import numpy as np

from pipeline.voiceprints import Voiceprint

DIM = 192


def voice(seed: int, near: int | None = None, similarity: float = 0.9) -> Voiceprint:
    """A unit vector; with `near`, one whose cosine similarity to voice(near) is `similarity`."""
    base = np.random.default_rng(seed).normal(size=DIM)
    base /= np.linalg.norm(base)
    if near is None:
        return Voiceprint(tuple(base), 30.0)
    anchor = np.asarray(voice(near).vector)
    other = base - anchor * (base @ anchor)
    other /= np.linalg.norm(other)
    mixed = similarity * anchor + np.sqrt(1 - similarity**2) * other
    return Voiceprint(tuple(mixed), 30.0)
