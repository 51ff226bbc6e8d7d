"""Plain data shared by the analysis pipeline: words, segments, speaker turns and exchanges.

Times are seconds from the start of the audio. `speaker` is a diarization label such as
`SPEAKER_00`; display names live in the database and are applied at the edges (API, subtitles).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace

Progress = Callable[[float], None]  # every long stage reports the fraction done, 0..1, through one of these


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str
    probability: float | None = None
    speaker: str | None = None

    def with_speaker(self, speaker: str | None) -> Word:
        return replace(self, speaker=speaker)


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = field(default_factory=tuple)
    speaker: str | None = None


@dataclass(frozen=True)
class Transcript:
    segments: tuple[Segment, ...]
    language: str | None
    duration: float
    model: str | None = None  # the Whisper model that made it ("tiny.en", "base", a directory's name)


@dataclass(frozen=True)
class Turn:
    """A stretch of audio where one speaker talks, as diarization found it."""

    start: float
    end: float
    speaker: str


@dataclass(frozen=True)
class Exchange:
    """A question by one speaker and the answer by another, from the question's start to the answer's end."""

    start: float
    end: float
    question: str
    asker: str
    answerer: str
    note: str = ""  # why it was shaped the way it is (e.g. joined with a follow-up question)


def transcript_to_dict(transcript: Transcript) -> dict:
    """A JSON-ready form, used to keep the raw (unaligned) transcript beside the media."""
    return asdict(transcript)


def transcript_from_dict(data: dict) -> Transcript:
    segments = tuple(
        Segment(
            start=item["start"],
            end=item["end"],
            text=item["text"],
            words=tuple(Word(**word) for word in item.get("words", ())),
            speaker=item.get("speaker"),
        )
        for item in data.get("segments", ())
    )
    return Transcript(
        segments=segments, language=data.get("language"), duration=data.get("duration", 0.0), model=data.get("model")
    )
