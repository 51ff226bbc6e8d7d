"""Checks of cut clips against their source, shared by the cutting tests."""

from __future__ import annotations

import re
import struct
import subprocess
from pathlib import Path

import av
import numpy as np

from pipeline.media import probe

FPS = 25  # make_video's frame rate


def top_level_atoms(path: Path) -> list[str]:
    """The MP4 box types at the top of the file, in file order."""
    data, offset, names = path.read_bytes(), 0, []
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        elif size == 0:
            size = len(data) - offset
        names.append(kind.decode("latin-1"))
        offset += size
    return names


def frames(path: Path, count: int | None = None) -> list[np.ndarray]:
    """Decoded pictures as grey arrays, from the start of the file."""
    pictures = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            pictures.append(frame.to_ndarray(format="gray").astype(np.int16))
            if count is not None and len(pictures) == count:
                break
    return pictures


def first_frame_time(clip: Path, source: Path) -> float:
    """Which source frame the clip opens on: the closest picture, as a time in the source."""
    opening = frames(clip, 1)[0]
    differences = [np.abs(opening - picture).mean() for picture in frames(source)]
    return int(np.argmin(differences)) / FPS


def decode_errors(clip: Path, ffmpeg: str) -> str:
    """What ffmpeg complains of while decoding the whole clip ("": it plays through cleanly)."""
    command = [ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-i", str(clip), "-f", "null", "-"]
    return subprocess.run(command, capture_output=True, text=True).stderr.strip()


def ssim(clip: Path, source: Path, start: float, ffmpeg: str) -> float:
    """ffmpeg's SSIM of a clip's picture against the same span of the source (1.0: identical)."""
    duration = probe(clip).duration
    command = [ffmpeg, "-hide_banner", "-nostdin", "-i", str(clip), "-ss", f"{start:.3f}", "-t", f"{duration:.3f}",
               "-i", str(source), "-lavfi", "[0:v][1:v]ssim", "-f", "null", "-"]  # fmt: skip
    found = re.search(r"All:([0-9.]+)", subprocess.run(command, capture_output=True, text=True).stderr)
    assert found, "ffmpeg printed no SSIM"
    return float(found.group(1))


def video_frames(path: Path) -> list[av.VideoFrame]:
    with av.open(str(path)) as container:
        return list(container.decode(video=0))
