"""Use cases on clips: the clips of the library and of one exchange as the pages show them, and the three
phase-2 steps' loading and recording (speaker segments, clip definitions, cut files)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import store.clips
import store.exchanges
import store.speakers
import store.transcripts
import store.videos
from operations import lookup, presenters, transcripts
from operations.layout import exchange_dir, remove_exchange_files
from operations.unit_of_work import UnitOfWork
from pipeline import clips, subtitles
from pipeline.clips import SpeakerSpan
from pipeline.cutting import ClipSpan, CutClip
from pipeline.errors import StepError
from pipeline.types import Segment, Turn
from store.records import ClipRecord, ExchangeRecord, ExchangeSegmentRecord, VideoRecord

# ---- the clips of the library --------------------------------------------------------------------


@dataclass(frozen=True)
class ClipInLibrary:
    """A cut clip with what the Clips page shows about it: its Q&A, its video and the video's speakers."""

    clip: ClipRecord
    exchange: ExchangeRecord
    video: VideoRecord
    speakers_by_label: dict[str, dict]

    @property
    def speaker_name(self) -> str | None:
        speaker = self.speakers_by_label.get(self.clip.speaker or "")
        return speaker["name"] if speaker else self.clip.speaker

    @property
    def title(self) -> str:
        """Its question, shortened, with who speaks for a speaker's clip (presenters.clip_title)."""
        return presenters.clip_title(self.clip, self.speaker_name, self.exchange.label)


def clips_in_library(uow: UnitOfWork, video_id: int | None = None, limit: int = 500) -> list[ClipInLibrary]:
    """Cut clips across the library (or of one video), newest first, each with its Q&A, video and speakers."""
    conn = uow.conn
    found: list[ClipInLibrary] = []
    exchanges: dict[int, ExchangeRecord] = {}
    videos: dict[int, VideoRecord] = {}
    speakers: dict[int, dict[str, dict]] = {}
    for clip in store.clips.list_cut_clips(conn, video_id, limit):
        if clip.exchange_id not in exchanges:
            exchanges[clip.exchange_id] = lookup.existing_exchange(conn, clip.exchange_id)
        exchange = exchanges[clip.exchange_id]
        if exchange.video_id not in videos:
            videos[exchange.video_id] = lookup.existing_video(conn, exchange.video_id)
            rows = store.speakers.get_speakers(conn, exchange.video_id)
            speakers[exchange.video_id] = {item["label"]: item for item in presenters.describe_speakers(rows)}
        found.append(ClipInLibrary(clip, exchange, videos[exchange.video_id], speakers[exchange.video_id]))
    return found


def spoken_by(
    uow: UnitOfWork, items: list[ClipInLibrary], person_id: int | None = None, label: str | None = None
) -> list[ClipInLibrary]:
    """The clips of a person of the speaker library (in any video), or of one video's speaker by its label
    ("Speaker 1" of one video is not "Speaker 1" of another): their own clips and the whole-Q&A clips in
    which they speak."""
    if person_id is None and not label:
        return items
    return [item for item in items if _speaks(uow, item, person_id, label)]


def _speaks(uow: UnitOfWork, item: ClipInLibrary, person_id: int | None, label: str | None) -> bool:
    def is_them(speaker: str | None) -> bool:
        if label:
            return speaker == label
        person = item.speakers_by_label.get(speaker or "", {}).get("person")
        if not person:
            return False
        return person["id"] == person_id

    if item.clip.kind == "speaker":
        return is_them(item.clip.speaker)
    return any(is_them(span.speaker) for span in store.exchanges.get_exchange_segments(uow.conn, item.exchange.id))


def answer_clips(uow: UnitOfWork, person_id: int, exchange_ids: list[int] | None) -> list[ClipInLibrary]:
    """The whole-exchange clips already cut of the person's answers (all, or those asked for)."""
    chosen = [
        e for e in store.speakers.answers_of_person(uow.conn, person_id) if exchange_ids is None or e.id in exchange_ids
    ]
    wanted = {exchange.id for exchange in chosen}
    videos = {exchange.video_id for exchange in chosen}
    items = [item for video_id in videos for item in clips_in_library(uow, video_id)]
    return [item for item in items if item.exchange.id in wanted and item.clip.kind == "exchange"]


# ---- the clips of one exchange -------------------------------------------------------------------


@dataclass(frozen=True)
class ExchangeClips:
    """What the API shows of an exchange's clips: who speaks when in it, its clips, and the names and the
    video's title they are labelled and saved with."""

    segments: list[ExchangeSegmentRecord]
    clips: list[ClipRecord]
    names: dict[str, str]
    video_title: str | None


def clips_of(uow: UnitOfWork, exchange: ExchangeRecord) -> ExchangeClips:
    """The exchange's speaker segments and clips, with the speakers' names and the video's title."""
    return ExchangeClips(
        store.exchanges.get_exchange_segments(uow.conn, exchange.id),
        store.clips.list_clips(uow.conn, exchange.id),
        transcripts.speaker_names(uow.conn, exchange.video_id),
        lookup.existing_video(uow.conn, exchange.video_id).title,
    )


# ---- phase 2: speaker segments and clip definitions ----------------------------------------------


def exchange_to_process(uow: UnitOfWork, exchange_id: int | None) -> ExchangeRecord:
    """The exchange a phase-2 step works on; a StepError when it was deleted meanwhile."""
    exchange = store.exchanges.get_exchange(uow.conn, exchange_id) if exchange_id is not None else None
    if exchange is None:
        raise StepError("this exchange was deleted: nothing to do")
    return exchange


def who_speaks(uow: UnitOfWork, video_id: int) -> list[Segment] | list[Turn]:
    """Who speaks when in the video: the transcript's lines when they have speakers, else the diarized turns."""
    segments = store.transcripts.get_segments(uow.conn, video_id)
    if any(segment.speaker for segment in segments):
        return segments
    return store.transcripts.get_turns(uow.conn, video_id)


def record_speaker_segments(uow: UnitOfWork, exchange: ExchangeRecord, spans: list[SpeakerSpan]) -> None:
    """The exchange's speaker segments; one marked by hand learns its asker and answerer from them."""
    with uow.transaction():
        store.exchanges.replace_exchange_segments(uow.conn, exchange.id, spans)
        if exchange.kind == "manual":  # found exchanges know their speakers; one marked by hand learns them here
            asker, answerer = clips.asker_and_answerer(spans)
            store.exchanges.update_exchange(uow.conn, exchange.id, asker=asker, answerer=answerer)
        uow.changed("exchanges", exchange.video_id)
        uow.changed("clips", exchange.video_id, exchange.id)


@dataclass(frozen=True)
class ToDefine:
    """What defining an exchange's clips reads: its speaker segments and the video's words."""

    spans: list[SpeakerSpan]
    words: list[Any]


def to_define(uow: UnitOfWork, exchange: ExchangeRecord) -> ToDefine:
    """The exchange's speaker segments and the words of the video's transcript."""
    spans = [
        SpeakerSpan(row.start_time, row.end_time, row.speaker)
        for row in store.exchanges.get_exchange_segments(uow.conn, exchange.id)
    ]
    words = [word for segment in store.transcripts.get_segments(uow.conn, exchange.video_id) for word in segment.words]
    return ToDefine(spans, words)


def record_definitions(uow: UnitOfWork, exchange: ExchangeRecord, plan: clips.ClipPlan, clips_dir: Path) -> int:
    """The exchange's clips as planned replace the old ones, whose files go first so nothing is orphaned;
    returns how many clips there are now."""
    rows = [
        {
            "position": spec.position,
            "kind": spec.kind,
            "start_time": spec.start,
            "end_time": spec.end,
            "speaker": spec.speaker,
            "note": spec.note or None,
            "title": spec.title or None,
        }
        for spec in plan.clips
    ]
    remove_exchange_files(clips_dir, exchange.video_id, [exchange.id])
    with uow.transaction():
        store.clips.replace_clips(uow.conn, exchange.id, rows)
        store.exchanges.update_exchange(uow.conn, exchange.id, note="; ".join(plan.dropped) or None)
        uow.changed("clips", exchange.video_id, exchange.id)
    return len(rows)


# ---- phase 2: cutting ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ToCut:
    """What cutting an exchange's clips reads: the clips and the folder they go in, whether captions are burned
    in, the captions (and their English for bilingual ones) and who speaks when (a crop that follows the speaker
    needs it)."""

    spans: list[ClipSpan]
    folder: Path
    captions: str | None  # the caption style burned in (subtitles.burned_caption_style); None: no captions
    cues: list[subtitles.Cue]
    english: list[subtitles.Cue]
    turns: list[Turn]


def to_cut(uow: UnitOfWork, exchange: ExchangeRecord, burn_by_default: bool, clips_dir: Path) -> ToCut:
    """The exchange's clips to cut and all they are cut with; a StepError says what to run first."""
    rows = store.clips.list_clips(uow.conn, exchange.id)
    if not rows:
        raise StepError("no clips are defined for this exchange: run define_clips first")
    captions = subtitles.burned_caption_style(exchange.captions, burn_by_default)
    english = _english(uow, exchange, captions) if captions else []
    spans = [ClipSpan(row.id, row.position, row.kind, row.start_time, row.end_time) for row in rows]
    cues = transcripts.subtitle_cues(uow.conn, exchange.video_id)
    folder = exchange_dir(clips_dir, exchange.video_id, exchange.id)
    return ToCut(spans, folder, captions, cues, english, store.transcripts.get_turns(uow.conn, exchange.video_id))


def _english(uow: UnitOfWork, exchange: ExchangeRecord, style: str) -> list[subtitles.Cue]:
    """The English shown under bilingual captions (nothing for the other styles): the video's English
    subtitles, which are made only when asked for."""
    if not subtitles.caption_style(style).english_size:
        return []
    english = transcripts.english_cues(uow.conn, exchange.video_id)
    if english is None:
        raise StepError(
            "bilingual captions need the video's English subtitles: run English subtitles "
            "in the video's pipeline panel, then cut again"
        )
    return english


def record_cut(uow: UnitOfWork, video_id: int, exchange_id: int, cut: CutClip) -> None:
    """A clip just cut: its files, captions and picture, announced at once so the page shows it."""
    with uow.transaction():
        store.clips.update_clip(
            uow.conn,
            cut.clip_id,
            path=str(cut.path),
            srt_path=str(cut.srt),
            vtt_path=str(cut.vtt),
            poster_path=str(cut.poster) if cut.poster else None,
            burned_captions=int(cut.burned_captions),
            captions_out_of_date=0,
            width=cut.picture.width,
            height=cut.picture.height,
            upscaled_from=cut.picture.upscaled_from,
        )
        uow.changed("clips", video_id, exchange_id)
