"""A recording's waveform for the clip editor: the loudest sample of every fiftieth of a second, one byte
each, worked out once from the extracted WAV and kept in a file beside it (3 hours: 540 kB)."""

from __future__ import annotations

import os
import tempfile
import wave
from pathlib import Path

import numpy as np

PEAKS_PER_SECOND = 50
CHUNK_SECONDS = 10  # read this much of the WAV at a time: memory stays flat whatever its length


class WaveformError(RuntimeError):
    """The audio cannot be read as 16-bit PCM WAV."""


def peaks(wav: Path, per_second: int = PEAKS_PER_SECOND) -> bytes:
    """The loudest sample of each 1/per_second of the recording (all channels), 0..255 of full scale."""
    try:
        with wave.open(str(wav), "rb") as reader:
            return _peaks(reader, per_second)
    except (wave.Error, EOFError) as error:
        raise WaveformError(f"{wav.name} is not a WAV file ffmpeg wrote ({error}): run Extract audio again") from error


def _peaks(reader: wave.Wave_read, per_second: int) -> bytes:
    if reader.getsampwidth() != 2:
        raise WaveformError("the audio is not 16-bit PCM: run Extract audio again")
    channels = reader.getnchannels()
    bucket = max(1, round(reader.getframerate() / per_second))
    found = bytearray()
    while data := reader.readframes(bucket * per_second * CHUNK_SECONDS):
        loud = np.abs(np.frombuffer(data, "<i2").astype(np.int32)).reshape(-1, channels).max(axis=1)
        padded = np.pad(loud, (0, -len(loud) % bucket))  # only the last chunk ends in a part bucket
        found += (padded.reshape(-1, bucket).max(axis=1) * 255 // 32768).astype(np.uint8).tobytes()
    return bytes(found)


def cached_peaks(wav: Path, cache: Path, per_second: int = PEAKS_PER_SECOND) -> bytes:
    """`peaks`, from the file beside the WAV when it is newer than the WAV, else worked out and kept there
    (written whole, then renamed, so two requests at once never read half of it)."""
    try:
        if cache.stat().st_mtime_ns >= wav.stat().st_mtime_ns:
            return cache.read_bytes()
    except FileNotFoundError:
        pass
    found = peaks(wav, per_second)
    with tempfile.NamedTemporaryFile(dir=cache.parent, prefix=f".{cache.name}.", delete=False) as partial:
        partial.write(found)
    os.replace(partial.name, cache)
    return found
