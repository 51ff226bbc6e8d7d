"""Use cases on a video's transcript: its lines as pages and files show them, lines corrected by hand, what
the audio, transcribe, translate and align steps found, and the clips' subtitles that follow all of them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import store.clips
import store.exchanges
import store.speakers
import store.steps
import store.transcripts
import store.videos
from operations import layout, lookup, presenters, steps
from operations.unit_of_work import UnitOfWork
from pipeline import alignment, corrections, subtitles, waveform
from pipeline.exchanges import ExchangeConfig, marked_exchange
from pipeline.types import Segment, Transcript, Turn
from store.engine import Database
from store.records import VideoRecord

NO_SPEECH = "no speech was found in the audio, so the transcript is empty"


@dataclass(frozen=True)
class Lines:
    """Lines of a video with the names its speakers go by now; `ids` are the lines' own (the transcript's)."""

    segments: list[Segment]
    names: dict[str, str]
    ids: list[int] = field(default_factory=list)


# ---- reading -----------------------------------------------------------------------------------


def speaker_names(conn: Database, video_id: int) -> dict[str, str]:
    """What captions and files call each speaker: the name given, else "Speaker 2"."""
    return presenters.speaker_names(store.speakers.get_speakers(conn, video_id))


def segments(uow: UnitOfWork, video_id: int) -> list[Segment]:
    """The video's lines, in order, without their names (what the pipeline reads)."""
    return store.transcripts.get_segments(uow.conn, video_id)


def transcript(uow: UnitOfWork, video_id: int) -> Lines:
    """The transcript as the page and the files show it: every line with its id and its speaker's name."""
    conn = uow.conn
    names = speaker_names(conn, video_id)
    found = store.transcripts.get_segments(conn, video_id)
    return Lines(found, names, store.transcripts.segment_ids(conn, video_id))


def english(uow: UnitOfWork, video_id: int) -> Lines | None:
    """The English subtitles (the translate step's) with the speakers' turns and names; None: not made yet."""
    conn = uow.conn
    translation = store.transcripts.get_translation(conn, video_id)
    if translation is None:
        return None
    lines = alignment.assign_speakers(translation.segments, store.transcripts.get_turns(conn, video_id))
    return Lines(lines, speaker_names(conn, video_id))


def find_line(uow: UnitOfWork, video_id: int, segment_id: int) -> Segment | None:
    return store.transcripts.get_segment(uow.conn, video_id, segment_id)


def audio_peaks(audio: Path) -> bytes:
    """How loud the audio is, worked out once per video and kept beside it (raises WaveformError)."""
    return waveform.cached_peaks(audio, layout.waveform_file(audio))


def subtitle_cues(conn: Database, video_id: int) -> list[subtitles.Cue]:
    """The video's captions with the speakers' current names ("Ada: ..."), for its clips' subtitles."""
    return subtitles.transcript_cues(store.transcripts.get_segments(conn, video_id), speaker_names(conn, video_id))


def english_cues(conn: Database, video_id: int) -> list[subtitles.Cue] | None:
    """The video's English subtitles (the translate step's) as cues, for bilingual captions; None: not made."""
    translation = store.transcripts.get_translation(conn, video_id)
    if translation is None:
        return None
    return subtitles.transcript_cues([replace(s, speaker=None) for s in translation.segments], {})


# ---- corrections by hand -----------------------------------------------------------------------


def correct_line(
    uow: UnitOfWork, video_id: int, segment_id: int, before: Segment, text: Any, word: int | None = None
) -> Lines:
    """A line (or one `word` of it) as it was really said; raises CorrectionError for text that cannot be.
    Open pages hear of the transcript and of the Q&As (whose event refreshes the clips too)."""
    after = corrections.retext(before, text) if word is None else corrections.retext_word(before, word, text)
    _store_correction(uow, video_id, segment_id, before, after)
    rewrite_clip_subtitles(uow, video_id, (min(before.start, after.start), max(before.end, after.end)))
    uow.changed("transcript", video_id)
    uow.changed("exchanges", video_id)
    return Lines([after], speaker_names(uow.conn, video_id), [segment_id])


def _store_correction(uow: UnitOfWork, video_id: int, segment_id: int, before: Segment, after: Segment) -> None:
    """Stored with its words (the search index follows), made in the transcript Whisper gave too (alignment
    reads it again when speakers change), and the questions of the Q&As over it said again."""
    conn = uow.conn
    with uow.transaction():
        store.transcripts.replace_segment(conn, video_id, segment_id, after)
        raw = store.transcripts.get_raw_transcript(conn, video_id)
        if raw is not None:
            carried = tuple(corrections.carry_over(raw.segments, before, after))
            store.transcripts.save_raw_transcript(conn, video_id, replace(raw, segments=carried))
        lines = store.transcripts.get_segments(conn, video_id)
        config = ExchangeConfig(language=lookup.existing_video(conn, video_id).language)
        for exchange in store.exchanges.list_exchanges(conn, video_id):
            if exchange.start_time < before.end and exchange.end_time > before.start:
                question = marked_exchange(lines, exchange.start_time, exchange.end_time, config).question
                store.exchanges.update_exchange(conn, exchange.id, question=question or exchange.question)


def rewrite_clip_subtitles(uow: UnitOfWork, video_id: int, between: tuple[float, float] | None = None) -> int:
    """After a rename (or a corrected line, `between` its times), every cut clip's SRT and VTT (over it)
    carry the new names or words at once, and clips with captions burned into the picture are marked out
    of date (only cutting again changes a picture); returns how many clips' subtitles were rewritten."""
    conn = uow.conn
    with uow.transaction():
        store.clips.mark_burned_captions_out_of_date(conn, video_id, between)
    cues = subtitle_cues(conn, video_id)
    rewritten = 0
    for exchange in store.exchanges.list_exchanges(conn, video_id):
        for clip in store.clips.list_clips(conn, exchange.id):
            if between is not None and not (clip.start_time < between[1] and clip.end_time > between[0]):
                continue
            if clip.srt_path and clip.vtt_path and Path(clip.srt_path).parent.is_dir():
                subtitles.write_clip_subtitles(
                    cues, clip.start_time, clip.end_time, Path(clip.srt_path), Path(clip.vtt_path)
                )
                rewritten += 1
    return rewritten


# ---- what the steps found ----------------------------------------------------------------------


def record_audio(uow: UnitOfWork, video_id: int, fields: dict[str, Any]) -> None:
    """The extracted audio (`audio_path`, the decoded `duration`, a `thumbnail_path` for uploads)."""
    with uow.transaction():
        store.videos.update_video(uow.conn, video_id, **fields)
        uow.changed("video", video_id)


def record_transcript(uow: UnitOfWork, video_id: int, found: Transcript) -> None:
    """Whisper's transcript: kept as it came (alignment starts from it again) and as the video's lines."""
    conn = uow.conn
    with uow.transaction():
        store.transcripts.save_raw_transcript(conn, video_id, found)
        store.transcripts.replace_segments(conn, video_id, found.segments)
        store.videos.update_video(
            conn,
            video_id,
            language=found.language,
            transcript_note=None if found.segments else NO_SPEECH,
            transcript_model=found.model,
        )
        uow.changed("transcript", video_id)


def record_streamed_lines(uow: UnitOfWork, video_id: int, lines: list[Segment], first_position: int) -> None:
    """Lines stored while transcription runs, so text appears early; a re-run starts from an empty transcript."""
    with uow.transaction():
        if first_position == 0:
            store.transcripts.replace_segments(uow.conn, video_id, [])
        store.transcripts.append_segments(uow.conn, video_id, lines, first_position=first_position)
        uow.changed("transcript", video_id)


def record_translation(uow: UnitOfWork, video_id: int, translation: Transcript) -> None:
    """The English subtitles, beside the transcript."""
    with uow.transaction():
        store.transcripts.save_translation(uow.conn, video_id, translation)
        uow.changed("transcript", video_id)


def ready_to_align(uow: UnitOfWork, video_id: int) -> bool:
    """Words get speakers once both the transcript and the turns exist."""
    states = {step.name: step.state for step in store.steps.steps_of(uow.conn, [video_id])}
    return states.get("transcribe") == steps.DONE and states.get("diarize") == steps.DONE


def to_align(uow: UnitOfWork, video: VideoRecord) -> tuple[Transcript, list[Turn]]:
    """Whisper's transcript (the lines stored, for videos transcribed before it was kept) and the turns."""
    conn = uow.conn
    raw = store.transcripts.get_raw_transcript(conn, video.id)
    if raw is None:
        raw = Transcript(tuple(store.transcripts.get_segments(conn, video.id)), video.language, video.duration or 0)
    return raw, store.transcripts.get_turns(conn, video.id)


def record_alignment(uow: UnitOfWork, video_id: int, aligned: list[Segment]) -> None:
    """The lines with a speaker for every word."""
    with uow.transaction():
        store.transcripts.replace_segments(uow.conn, video_id, aligned)
        uow.changed("transcript", video_id)
