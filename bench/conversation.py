"""A generated N-minute conversation video for the benchmarks, cached under bench/output/ (git-ignored).

The sound is real and scripted speech in turn: pyannote.audio's 30 s sample (two real speakers) and
espeak-ng interviews in two clearly different pitched voices (tests/speech_factory.py), separated by
a second of silence, repeated until the length is reached and cut there, as one 16 kHz mono track.
The picture is ffmpeg's testsrc2 at 1280x720, 25 fps; the MP4 is H.264 (veryfast, 4 s GOP) with
48 kHz stereo AAC, like a 720p download.

Run alone to build (or find) the file:  .venv/bin/python bench/conversation.py --minutes 2
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import OUTPUT
from tests.support.media_factory import run_ffmpeg
from tests.support.speech_factory import INTERVIEW, ScriptLine, make_conversation
from tests.support.speech_samples import make_sample

SAMPLE_RATE = 16_000
PIECE_GAP_SECONDS = 1.0
WIDTH, HEIGHT, FPS = 1280, 720, 25
_FORMAT_VERSION = 1

GARDEN: tuple[ScriptLine, ...] = (
    ScriptLine("interviewer", "Today we are talking about growing food in small city gardens.", "statement"),
    ScriptLine("guest", "It is my favourite subject, so thank you for asking me.", "statement"),
    ScriptLine("interviewer", "What should a beginner plant in their first year?", "question"),
    ScriptLine(
        "guest",
        "Start with salad leaves, radishes and herbs. They grow quickly, they forgive mistakes, and you can "
        "pick them a few weeks after sowing.",
        "answer",
    ),
    ScriptLine("interviewer", "Mm hmm.", "backchannel"),
    ScriptLine("guest", "Tomatoes are tempting, but they need more care than most people expect.", "answer"),
    ScriptLine("interviewer", "How much sun does a balcony garden really need?", "question"),
    ScriptLine(
        "guest",
        "Six hours of direct sun is ideal for fruiting plants. With less than that, grow leafy greens and "
        "mint, which are happy in partial shade.",
        "answer",
    ),
    ScriptLine("interviewer", "Many listeners wrote in about watering in the summer heat.", "statement"),
    ScriptLine("guest", "Yes, that is the question I hear the most at every talk I give.", "statement"),
    ScriptLine("interviewer", "So what is your advice for a hot week in July?", "question"),
    ScriptLine(
        "guest",
        "Water early in the morning, deeply rather than often, and cover the soil with straw or compost so "
        "the moisture stays where the roots can reach it.",
        "answer",
    ),
)

LANGUAGES: tuple[ScriptLine, ...] = (
    ScriptLine("interviewer", "My next guest has learned five languages as an adult.", "statement"),
    ScriptLine("guest", "Six, if you count the one I am still struggling with.", "statement"),
    ScriptLine("interviewer", "What is the biggest mistake adult learners make?", "question"),
    ScriptLine(
        "guest",
        "They wait until they feel ready before they speak. You never feel ready. The people who improve "
        "fastest are the ones who start talking badly in the first week.",
        "answer",
    ),
    ScriptLine("interviewer", "How many hours a day do you practise?", "question"),
    ScriptLine(
        "guest",
        "About forty minutes, every single day, and never more than an hour. Regular short sessions beat "
        "a long session on Sunday that leaves you exhausted.",
        "answer",
    ),
    ScriptLine("interviewer", "I see.", "backchannel"),
    ScriptLine("guest", "Consistency matters far more than talent or clever methods.", "answer"),
    ScriptLine("interviewer", "Which language surprised you the most?", "question"),
    ScriptLine(
        "guest",
        "Finnish. Everyone warned me it would be impossible, but the spelling is so regular that reading "
        "aloud became easy within a month.",
        "answer",
    ),
)

SCRIPTS = (("interview", INTERVIEW), ("garden", GARDEN), ("languages", LANGUAGES))


@dataclass(frozen=True)
class BenchMedia:
    video_path: Path
    wav_path: Path
    duration: float
    pieces: tuple[str, ...]


def build(minutes: float = 10.0, folder: Path = OUTPUT) -> BenchMedia:
    """The conversation MP4 (and its 16 kHz WAV) of `minutes` length, built once and then reused."""
    target = round(minutes * 60 * SAMPLE_RATE)
    speech_dir = folder / "speech"
    sources = _sources(speech_dir)
    key = _cache_key(minutes, sources)
    stem = folder / f"conversation-{minutes:g}min-{key}"
    wav_path, video_path, meta_path = stem.with_suffix(".wav"), stem.with_suffix(".mp4"), stem.with_suffix(".json")
    if not (wav_path.is_file() and meta_path.is_file()):
        audio, pieces = _assemble(sources, target)
        partial = wav_path.with_suffix(".partial.wav")
        sf.write(partial, audio, SAMPLE_RATE, subtype="PCM_16")
        partial.replace(wav_path)
        meta_path.write_text(json.dumps({"pieces": pieces, "duration": len(audio) / SAMPLE_RATE}))
    meta = json.loads(meta_path.read_text())
    if not video_path.is_file():
        began = time.perf_counter()
        partial = video_path.with_suffix(".partial.mp4")
        run_ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={WIDTH}x{HEIGHT}:rate={FPS}:duration={meta['duration']}",
                   "-i", str(wav_path), "-map", "0:v:0", "-map", "1:a:0",
                   "-c:v", "libx264", "-preset", "veryfast", "-crf", "28", "-g", str(FPS * 4), "-pix_fmt", "yuv420p",
                   "-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2", "-shortest",
                   "-movflags", "+faststart", "-f", "mp4", str(partial))  # fmt: skip
        partial.replace(video_path)
        print(f"built {video_path.name} in {time.perf_counter() - began:.1f} s", flush=True)
    return BenchMedia(video_path, wav_path, float(meta["duration"]), tuple(meta["pieces"]))


def _sources(speech_dir: Path) -> dict[str, Path]:
    """Every piece as a 16 kHz mono WAV: the pyannote sample and each spoken script (cached by content)."""
    sources = {"pyannote-sample": make_sample(speech_dir).wav}
    for name, script in SCRIPTS:
        sources[name] = make_conversation(speech_dir, script, name=name).wav_path
    return sources


def _assemble(sources: dict[str, Path], target: int) -> tuple[np.ndarray, list[str]]:
    """Scripts alternating with the real sample, a gap between pieces, until `target` samples; then cut."""
    order = [name for script, _ in SCRIPTS for name in (script, "pyannote-sample")]
    gap = np.zeros(int(PIECE_GAP_SECONDS * SAMPLE_RATE), dtype=np.float32)
    pieces, names, length = [], [], 0
    while length < target:
        name = order[len(names) % len(order)]
        audio, rate = sf.read(sources[name], dtype="float32")
        assert rate == SAMPLE_RATE and audio.ndim == 1, f"{sources[name]} is not 16 kHz mono"
        pieces += [audio, gap]
        names.append(name)
        length += len(audio) + len(gap)
    return np.concatenate(pieces)[:target], names


def _cache_key(minutes: float, sources: dict[str, Path]) -> str:
    digest = hashlib.sha1(json.dumps([minutes, _FORMAT_VERSION, WIDTH, HEIGHT, FPS, PIECE_GAP_SECONDS]).encode())
    for name, path in sorted(sources.items()):
        digest.update(name.encode())
        digest.update(hashlib.sha1(path.read_bytes()).digest())
    return digest.hexdigest()[:10]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    media = build(args.minutes)
    print(f"{media.video_path} ({media.duration:.1f} s; {len(media.pieces)} pieces)")


if __name__ == "__main__":
    main()
