"""Clip cutting speed and quality at 720p, three ways for one exchange's clips (the whole exchange and
four speaker clips inside it): per clip (each encoded from the source: the way before); encode once (the
exchange encoded with a keyframe where each speaker clip starts, the speaker clips copied out of it: the
way for a source that is not H.264, or when a clip's picture is changed), with x264 presets compared; and
smart cut (what cut_clips does for an H.264 source: each clip's whole groups of pictures copied from the
source, only its ends encoded). SSIM is measured over each clip's first and last seconds, where a smart cut
encodes and joins.

Run from the repository root:  .venv/bin/python bench/bench_cutting.py [--source-seconds 60] [--preset superfast]

Generated 1280x720 25 fps H.264/AAC sources with B-frames, so figures depend only on this machine's CPU
and ffmpeg build: ffmpeg's testsrc2 (flat colours and moving text: easy to compress) and a Mandelbrot zoom
with camera-like grain (detail everywhere: hard to compress), each with a keyframe every 2 s, and the grain
again with one every 5 s (how far apart keyframes are decides how much a smart cut encodes). Neither is a
filmed face: what we have offline.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import OUTPUT, Report
from pipeline import smartcut
from pipeline.media import copy_out, cut_clip, ffmpeg_binary, keyframes, probe
from pipeline.options import CutOptions
from tests.support.media_factory import make_video, run_ffmpeg

PRESETS = ("veryfast", "superfast", "ultrafast")
SSIM_FLOOR = 0.97


@dataclass(frozen=True)
class Exchange:
    """An exchange as define_clips makes it: the whole exchange, and speaker clips inside it."""

    whole: tuple[float, float]
    speakers: tuple[tuple[float, float], ...]

    def clips(self) -> list[tuple[float, float]]:
        return [self.whole, *self.speakers]


def exchange(seconds: float) -> Exchange:
    """Four speaker turns across the source (none on a frame edge), and the whole exchange around them."""
    first, last = 2.37, seconds - 2.51
    step = (last - first) / 4
    edges = [first + index * step + (0.013 if 0 < index < 4 else 0) for index in range(5)]
    return Exchange((first, last), tuple(itertools.pairwise(edges)))


@dataclass(frozen=True)
class Outcome:
    produced: float  # seconds of clip
    wall: float
    worst_ssim: float
    megabytes: float

    @property
    def speed(self) -> float:
        return self.produced / self.wall

    def cells(self) -> list[float]:
        return [self.speed, self.worst_ssim, self.megabytes]


def show(source: str, way: str, preset: str, outcome: Outcome) -> None:
    made = f"{outcome.produced:.1f} s of clip in {outcome.wall:.2f} s = {outcome.speed:.1f} s/s"
    print(f"{source} {way}, {preset}: {made}, worst SSIM {outcome.worst_ssim:.4f}, {outcome.megabytes:.1f} MiB")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-seconds", type=float, default=60.0)
    parser.add_argument("--preset", default=CutOptions.preset, help="the app's preset, held to the targets")
    parser.add_argument("--before-preset", default="veryfast", help="the preset clips were cut with before")
    parser.add_argument("--crf", type=int, default=CutOptions.crf)
    return parser.parse_args()


def make_grainy(path: Path, seconds: float, keyframe_seconds: float) -> Path:
    """Detail in every part of the picture and grain that changes every frame, as a camera gives."""
    run_ffmpeg("-f", "lavfi", "-i", "mandelbrot=size=1280x720:rate=25,noise=alls=3:allf=t",
               "-f", "lavfi", "-i", "sine=frequency=300:sample_rate=48000", "-t", f"{seconds}",
               "-c:v", "libx264", "-preset", "veryfast", "-crf", "16", "-pix_fmt", "yuv420p",
               "-g", str(round(25 * keyframe_seconds)), "-c:a", "aac", str(path))  # fmt: skip
    return path


def ssim(clip: Path, source: Path, start: float, ffmpeg: str, seconds: float = 4.0) -> float:
    """ffmpeg's SSIM of a clip's first and last seconds against the same spans of the source (1.0:
    identical), the worse of the two. A clip may open a frame either side of `start` (tests hold it to
    that); the best of three alignments is the encoder's quality, since one frame off scores grain as a
    different picture."""
    length = probe(clip).duration
    return min(_ssim_at(clip, source, start, ffmpeg, at, seconds) for at in (0.0, max(length - seconds, 0.0)))


def _ssim_at(clip: Path, source: Path, start: float, ffmpeg: str, at: float, seconds: float) -> float:
    scores = []
    for shift in (-0.04, 0.0, 0.04):
        command = [ffmpeg, "-hide_banner", "-nostdin", "-ss", f"{at:.3f}", "-t", f"{seconds}", "-i", str(clip),
                   "-ss", f"{max(start + at + shift, 0):.3f}", "-t", f"{seconds}", "-i", str(source),
                   "-lavfi", "[0:v][1:v]ssim", "-f", "null", "-"]  # fmt: skip
        found = re.search(r"All:([0-9.]+)", subprocess.run(command, capture_output=True, text=True).stderr)
        scores.append(float(found.group(1)) if found else 0.0)
    return max(scores)


def per_clip(source: Path, folder: Path, plan: Exchange, options: CutOptions) -> list[tuple[Path, float]]:
    """Every clip encoded from the source on its own."""
    return [
        (cut_clip(source, folder / f"clip{n}.mp4", start, end, options), start)
        for n, (start, end) in enumerate(plan.clips())
    ]


def encode_once(source: Path, folder: Path, plan: Exchange, options: CutOptions) -> list[tuple[Path, float]]:
    """The whole exchange encoded once, the speaker clips copied out of it (what cut_clips does)."""
    first, last = plan.whole
    whole = cut_clip(
        source, folder / "whole.mp4", first, last, options, keyframes_at=[start - first for start, _ in plan.speakers]
    )
    made, keys = [(whole, first)], keyframes(whole)
    for n, (start, end) in enumerate(plan.speakers):
        clip = copy_out(whole, keys, folder / f"speaker{n}.mp4", start - first, end - first, options.ffmpeg)
        if clip is None:
            raise SystemExit(f"no keyframe at {start:.3f}: the encode-once path fell back")
        made.append((clip, start))
    return made


def smart_cut(source: Path, folder: Path, plan: Exchange, options: CutOptions) -> list[tuple[Path, float]]:
    """What cut_clips does with an H.264 source: smart cut when it encodes less, else encode once."""
    plans = smartcut.choose(source, plan.clips())
    return (
        encode_once(source, folder, plan, options) if plans is None else by_plans(source, folder, plan, options, plans)
    )


def exchanges_of(clips: list[tuple[float, float]]) -> list[Exchange]:
    """bench_pipeline.py's clips grouped as cut_clips gets them: each exchange, then the clips inside it."""
    groups: list[list[tuple[float, float]]] = []
    for start, end in clips:
        if groups and groups[-1][0][0] <= start and end <= groups[-1][0][1]:
            groups[-1].append((start, end))
        else:
            groups.append([(start, end)])
    return [Exchange(group[0], tuple(group[1:])) for group in groups]


def choosing(report: Report, ffmpeg: str, preset: str, folder: Path) -> None:
    """Whether cut_clips chooses the faster way, exchange by exchange, on the 10-minute conversation's own
    exchanges (short ones: two to four clips, 7-22 s) and its 4 s groups of pictures: both ways timed for
    each, against the choice `smartcut.estimated_cost` makes before cutting."""
    from bench.conversation import build

    media, clips_json = build(10), OUTPUT / "pipeline-clips-10min.json"
    if not clips_json.is_file():
        report.notes.append(f"no {clips_json.name} (bench_pipeline.py --minutes 10 writes it): choice not measured")
        return
    options, totals, right = CutOptions(ffmpeg=ffmpeg, preset=preset), {"once": 0.0, "smart": 0.0, "chosen": 0.0}, 0
    exchanges = exchanges_of([tuple(clip) for clip in json.loads(clips_json.read_text())])
    for plan in exchanges:
        walls = {}
        for way, cutter in (("once", encode_once), ("smart", smart_cut_always)):
            for old in folder.glob("*.mp4"):
                old.unlink()
            began = time.perf_counter()
            cutter(media.video_path, folder, plan, options)
            walls[way] = time.perf_counter() - began
            totals[way] += walls[way]
        smart, once = smartcut.estimated_cost([smartcut.plan(media.video_path, *c) for c in plan.clips()], plan.clips())
        totals["chosen"] += walls["smart"] if smart < once else walls["once"]
        right += (smart < once) == (walls["smart"] < walls["once"])
    group = "the 10-minute conversation's exchanges"
    report.add(group, "exchanges cut", len(exchanges), note=f"{sum(len(p.clips()) for p in exchanges)} clips")
    for way in ("once", "smart"):
        report.add(group, f"all encoded once / all smart cut: {way}", totals[way], "s")
    report.add(
        group,
        "as cut_clips chooses",
        totals["chosen"],
        "s",
        note=f"the faster way chosen for {right} of {len(exchanges)}",
    )
    report.add(group, "chosen / all encoded once", totals["chosen"] / totals["once"], "×")


def smart_cut_always(source: Path, folder: Path, plan: Exchange, options: CutOptions) -> list[tuple[Path, float]]:
    return by_plans(source, folder, plan, options, [smartcut.plan(source, start, end) for start, end in plan.clips()])


def by_plans(source: Path, folder: Path, plan: Exchange, options: CutOptions, plans) -> list[tuple[Path, float]]:
    return [
        (smartcut.cut_or_encode(source, folder / f"smart{n}.mp4", start, end, clip_plan, options), start)
        for n, ((start, end), clip_plan) in enumerate(zip(plan.clips(), plans, strict=True))
    ]


def measure(way, source: Path, folder: Path, plan: Exchange, options: CutOptions) -> Outcome:
    for old in folder.glob("*.mp4"):
        old.unlink()
    began = time.perf_counter()
    made = way(source, folder, plan, options)
    wall = time.perf_counter() - began
    produced = sum(probe(clip).duration for clip, _ in made)
    worst = min(ssim(clip, source, start, options.ffmpeg) for clip, start in made)
    size = sum(clip.stat().st_size for clip, _ in made) / 2**20
    return Outcome(produced, wall, worst, size)


def main() -> None:
    args = parse_args()
    report = Report("bench_cutting")
    ffmpeg = ffmpeg_binary(os.environ.get("FFMPEG_PATH", ""))
    version = subprocess.run([ffmpeg, "-version"], capture_output=True, text=True).stdout.splitlines()[0]
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(f"ffmpeg:  {ffmpeg} ({version})")
    print(f"cpus:    {os.cpu_count()} visible")
    plan = exchange(args.source_seconds)
    print(f"clips:   the whole exchange {plan.whole[0]:.2f}-{plan.whole[1]:.2f} s and 4 speaker clips inside it")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_cutting_") as tmp:
        folder = Path(tmp)
        sources = {
            "testsrc2": make_video(folder / "testsrc2.mp4", 1280, 720, args.source_seconds, keyframe_seconds=2),
            "grain": make_grainy(folder / "grain.mp4", args.source_seconds, keyframe_seconds=2),
            "grain, keyframes 5 s apart": make_grainy(folder / "grain5.mp4", args.source_seconds, keyframe_seconds=5),
        }
        work = folder / "out"
        work.mkdir()
        for name, source in sources.items():
            group = f"720p cutting, {name}"
            before = measure(per_clip, source, work, plan, CutOptions(ffmpeg=ffmpeg, preset=args.before_preset))
            show(name, "per clip (before)", args.before_preset, before)
            rows.append([name, "per clip (before)", args.before_preset, *before.cells()])
            presets = PRESETS if "5 s" not in name else (args.preset,)  # the presets compared once per picture
            for way, preset in [*(("encode once", preset) for preset in presets), ("smart cut", args.preset)]:
                cutter = smart_cut if way == "smart cut" else encode_once
                after = measure(cutter, source, work, plan, CutOptions(ffmpeg=ffmpeg, preset=preset, crf=args.crf))
                show(name, way, preset, after)
                rows.append([name, way, preset, *after.cells()])
                ratio, size = after.speed / before.speed, after.megabytes / before.megabytes
                note = f"{after.speed:.1f} s/s, SSIM {after.worst_ssim:.3f}, {size:.2f}× the MiB"
                name_of = f"{way}, {preset} / per clip, {args.before_preset} (before): speed"
                if way == "smart cut":  # what the app does with an H.264 source: held to the targets
                    report.add(group, name_of, ratio, "×", "≥ 3", ratio >= 3, note=note)
                    report.add(
                        group,
                        f"{way}, {preset}: worst SSIM",
                        after.worst_ssim,
                        "",
                        f"≥ {SSIM_FLOOR}",
                        after.worst_ssim >= SSIM_FLOOR,
                    )
                else:
                    report.add(group, name_of, ratio, "×", note=note)
        choosing(report, ffmpeg, args.preset, work)
    report.table(
        "Cutting one exchange (whole + 4 speaker clips) at 720p",
        ["source", "way", "preset", "s of clip / s", "worst SSIM", "MiB"],
        rows,
    )
    report.emit()


if __name__ == "__main__":
    main()
