"""Clip cutting speed at 720p: seconds of clip produced per second of wall time, accurate vs stream copy.

Run from the repository root:  .venv/bin/python bench/bench_cutting.py [--source-seconds 60] [--preset veryfast]
The source is a generated 720p H.264/AAC video (tests.support.media_factory.make_video), so figures depend only
on this machine's CPU and ffmpeg build.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import Report
from tests.support.media_factory import make_video
from utils.pipeline.media import _cut_command, cut_clip, ffmpeg_binary, probe
from utils.pipeline.options import CutOptions

CLIPS = ((2.37, 14.81), (15.42, 33.9), (20.05, 30.11), (38.6, 57.2))  # 10-20 s, none on a keyframe


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-seconds", type=float, default=60.0)
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--crf", type=int, default=23)
    return parser.parse_args()


def cut_all(source: Path, folder: Path, ffmpeg: str, accurate: bool, preset: str, crf: int) -> tuple[float, float]:
    """Cut every clip once; returns (seconds of clip produced, wall seconds)."""
    produced, began = 0.0, time.perf_counter()
    for n, (start, end) in enumerate(CLIPS):
        clip = cut_clip(
            source,
            folder / f"clip{n}.mp4",
            start,
            end,
            CutOptions(ffmpeg=ffmpeg, accurate=accurate, preset=preset, crf=crf),
        )
        produced += probe(clip).duration
    return produced, time.perf_counter() - began


def main() -> None:
    args = parse_args()
    report = Report("bench_cutting")
    ffmpeg = ffmpeg_binary(os.environ.get("FFMPEG_PATH", ""))
    version = subprocess.run([ffmpeg, "-version"], capture_output=True, text=True).stdout.splitlines()[0]
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(f"ffmpeg:  {ffmpeg} ({version})")
    print(f"cpus:    {os.cpu_count()} visible")
    with tempfile.TemporaryDirectory(prefix="bench_cutting_") as tmp:
        folder = Path(tmp)
        began = time.perf_counter()
        source = make_video(folder / "source720.mp4", 1280, 720, duration=args.source_seconds)
        print(f"source:  {args.source_seconds:g} s 1280x720 generated in {time.perf_counter() - began:.1f} s")
        asked = sum(end - start for start, end in CLIPS)
        print(f"clips:   {len(CLIPS)} clips, {asked:.1f} s in all: {CLIPS}")
        for accurate, label in ((True, "accurate"), (False, "stream copy")):
            start, end = CLIPS[0]
            partial = folder / "clip0.partial.mp4"
            options = CutOptions(ffmpeg=ffmpeg, accurate=accurate, preset=args.preset, crf=args.crf)
            example = _cut_command(source, partial, start, end - start, options, None)
            print(f"\n{label}: {shlex.join(example)}")
            produced, wall = cut_all(source, folder, ffmpeg, accurate, args.preset, args.crf)
            print(
                f"{label}: {produced:.1f} s of clip in {wall:.2f} s wall = {produced / wall:.1f} s of clip per second"
            )
            note = f"{len(CLIPS)} clips, {produced:.1f} s of clip in {wall:.2f} s, preset {args.preset}"
            report.add("720p cutting", f"{label}: seconds of clip per second", produced / wall, "s/s", note=note)
    report.emit()


if __name__ == "__main__":
    main()
