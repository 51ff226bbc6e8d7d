"""The rows the store returns, as typed records: go-to-definition from `video.title` lands here.

Only the store's SQL modules read database rows; everything above them reads these fields. They mirror the
tables in `migrations.py` (a test checks that every column has a field).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Self


class Record:
    @classmethod
    def from_row(cls, row: Mapping) -> Self:
        return cls(**{field.name: row[field.name] for field in fields(cls)})  # type: ignore[arg-type]


@dataclass(frozen=True)
class VideoRecord(Record):
    id: int
    url: str  # as submitted (it may hold credentials for the download: show `redact_url(url)`)
    title: str | None
    uploader: str | None
    duration: float | None
    thumbnail_url: str | None
    thumbnail_path: str | None
    resolution: str
    width: int | None
    height: int | None
    video_path: str | None
    audio_path: str | None
    wants_whole_pipeline: bool  # every phase-1 step runs on its own, one after the other
    wants_clips: bool  # and then clips are cut of every Q&A found
    num_speakers: int | None
    min_speakers: int | None
    max_speakers: int | None
    language: str | None
    transcript_note: str | None
    exchanges_note: str | None
    created_at: str
    transcript_model: str | None = None  # the Whisper model that transcribed it

    def __post_init__(self) -> None:
        object.__setattr__(self, "wants_whole_pipeline", bool(self.wants_whole_pipeline))
        object.__setattr__(self, "wants_clips", bool(self.wants_clips))


@dataclass(frozen=True)
class StepRecord(Record):
    id: int
    video_id: int
    exchange_id: int | None  # None for a phase-1 step
    name: str
    state: str
    progress: float
    attempts: int
    error: str | None
    task_id: str | None
    queued_at: str | None
    started_at: str | None
    finished_at: str | None
    updated_at: str | None
    note: str | None  # where a model step ran ("on CUDA"), or why on the CPU ("ran on CPU: ...")


@dataclass(frozen=True)
class SpeakerRecord(Record):
    label: str  # SPEAKER_00, as diarization named it
    name: str | None  # what the user called them, None until renamed
    person_id: int | None  # who this is in the speaker library
    suggested_person_id: int | None  # who the voice sounds like, until accepted or turned down
    suggestion_similarity: float | None


@dataclass(frozen=True)
class PersonRecord(Record):
    """Someone in the speaker library, with what the library knows of them."""

    id: int
    name: str
    created_at: str
    videos: int  # videos they speak in
    seconds: float  # talking time across those videos
    answers: int  # exchanges in which they answer


@dataclass(frozen=True)
class VoiceRecord(Record):
    video_id: int
    label: str
    vector: str  # JSON list of floats, unit length (pipeline/voiceprints.py)
    seconds: float
    person_id: int | None  # of the speaker this voice belongs to


@dataclass(frozen=True)
class ExchangeRecord(Record):
    id: int
    video_id: int
    label: str  # spkchg_N (found) or man_N (added by hand)
    kind: str  # auto or manual
    start_time: float
    end_time: float
    question: str | None
    asker: str | None
    answerer: str | None
    chain: bool  # each phase-2 step queues the next
    note: str | None
    created_at: str
    shape: str  # original, vertical (1080×1920) or square (1080×1080)
    crop_x: float  # where a vertical or square crop sits across the picture, 0..1
    # captions burned into the picture: none, clean, highlight, pop or bilingual (subtitles.CAPTION_STYLES);
    # None: the CLIP_BURN_SUBTITLES setting decides (subtitles.burned_caption_style)
    captions: str | None
    caption_position: str  # top, middle or bottom
    caption_names: bool | None  # a new speaker's captions start with their name; None: as the shape suggests
    framing: str  # a vertical or square clip's camera: follow (the speaker), fixed (at crop_x) or split

    def __post_init__(self) -> None:
        object.__setattr__(self, "chain", bool(self.chain))
        if self.caption_names is not None:
            object.__setattr__(self, "caption_names", bool(self.caption_names))


@dataclass(frozen=True)
class ExchangeSegmentRecord(Record):
    """Who speaks when inside an exchange (label_speakers's output)."""

    start_time: float
    end_time: float
    speaker: str


@dataclass(frozen=True)
class ClipRecord(Record):
    id: int
    exchange_id: int
    position: int
    kind: str  # exchange (the whole exchange) or speaker (one speaker's stretch)
    start_time: float
    end_time: float
    speaker: str | None
    note: str | None
    path: str | None  # the MP4, once cut
    srt_path: str | None
    vtt_path: str | None
    created_at: str
    poster_path: str | None  # a JPEG still from the clip
    burned_captions: bool  # captions are part of the picture
    captions_out_of_date: bool  # ... and a speaker was renamed since: cut it again
    title: str | None  # its Q&A's question, shortened (presenters.clip_title adds who speaks)
    width: int | None  # of its picture, once cut
    height: int | None
    upscaled_from: int | None  # the source's height when the picture was enlarged from it (720p to 1080×1920)

    def __post_init__(self) -> None:
        object.__setattr__(self, "burned_captions", bool(self.burned_captions))
        object.__setattr__(self, "captions_out_of_date", bool(self.captions_out_of_date))


@dataclass(frozen=True)
class ErrorRecord(Record):
    """A step in error, with what the error log shows about its video and exchange."""

    id: int
    video_id: int
    exchange_id: int | None
    name: str
    state: str
    error: str | None
    attempts: int
    finished_at: str | None
    updated_at: str | None
    video_title: str | None
    video_url: str
    exchange_label: str | None


@dataclass(frozen=True)
class SearchHit(Record):
    """A transcript segment that matches a search, with where it is."""

    segment_id: int
    video_id: int
    video_title: str | None
    video_created_at: str
    start_time: float
    end_time: float
    text: str
    speaker: str | None  # label
    speaker_name: str | None  # as named (None: not named)
    person_id: int | None
