"""Library operations shared by the API and the tasks: create a video with its steps, delete one."""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import store.clips
import store.engine
import store.exchanges
import store.search
import store.speakers
import store.steps
import store.transcripts
import store.videos
from operations import presenters, steps
from operations.steps import StepService
from pipeline import corrections, media, subtitles, timeline
from pipeline.clips import shorten
from pipeline.download import Downloaded
from pipeline.exchanges import ExchangeConfig, marked_exchange, sentence_around
from pipeline.media import MediaInfo
from pipeline.types import Exchange, Segment
from store.engine import Database
from store.layout import remove_exchange_files, remove_video_files, video_dir
from store.records import ClipRecord, ExchangeRecord, PersonRecord, VideoRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UploadedFile:
    """An upload checked by ffmpeg, ready to become a video."""

    path: Path
    extension: str  # from the container ffmpeg found, never the user's file name
    title: str
    duration: float | None
    width: int | None
    height: int | None


@dataclass(frozen=True)
class VideoRequest:
    """What a submission asks for one URL; validated before any row is written."""

    url: str
    resolution: str = "best"
    auto: bool = False
    clips: bool = False
    num_speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None


def create_video(conn: Database, request: VideoRequest) -> int:
    """Insert the video and one pending row per phase-1 step; call inside a transaction."""
    video_id = store.videos.insert_video(
        conn,
        url=request.url,
        resolution=request.resolution,
        auto=int(request.auto),
        clips=int(request.clips),
        num_speakers=request.num_speakers,
        min_speakers=request.min_speakers,
        max_speakers=request.max_speakers,
    )
    store.steps.insert_steps(conn, video_id, steps.PHASE1_STEPS)
    return video_id


def request_from_video(video: VideoRecord, url: str) -> VideoRequest:
    """The same choices as an existing video, for another URL (playlist entries)."""
    return VideoRequest(
        url=url,
        resolution=video.resolution,
        auto=bool(video.auto),
        clips=bool(video.clips),
        num_speakers=video.num_speakers,
        min_speakers=video.min_speakers,
        max_speakers=video.max_speakers,
    )


def delete_exchange(conn: Database, exchange: ExchangeRecord, clips_dir: Path) -> None:
    """Remove the exchange (its steps and clips cascade), then its clip files."""
    with store.engine.transaction(conn):
        store.exchanges.delete_exchange(conn, exchange.id)
    remove_exchange_files(clips_dir, exchange.video_id, [exchange.id])


def replace_auto_exchanges(
    conn: Database, video_id: int, found: list[Exchange], note: str | None, clips_dir: Path
) -> list[int]:
    """The exchanges found anew replace the ones found before (manual ones stay), with the note that
    explains what was left out; the old ones' clip files go too. Returns the new exchanges' ids."""
    with store.engine.transaction(conn):
        removed = store.exchanges.delete_exchanges(conn, video_id, "auto")
        new_ids = [
            create_exchange(conn, video_id, f"spkchg_{number}", "auto", exchange)
            for number, exchange in enumerate(found, start=1)
        ]
        store.videos.update_video(conn, video_id, exchanges_note=note)
    remove_exchange_files(clips_dir, video_id, removed)
    return new_ids


def delete_video(conn: Database, video_id: int, folders: list[Path]) -> bool:
    """Remove the rows (steps cascade), then the video's folders under each managed root."""
    with store.engine.transaction(conn):
        deleted = store.videos.delete_video(conn, video_id)
    if deleted:
        remove_video_files(video_id, folders)
    return deleted


def create_exchange(
    conn: Database, video_id: int, label: str, kind: str, exchange: Exchange, chain: bool = False
) -> int:
    """Insert an exchange and one pending row per phase-2 step; call inside a transaction.
    `chain` runs its steps one after another once the first is queued."""
    exchange_id = store.exchanges.insert_exchange(conn, video_id, label, kind, exchange, chain=chain)
    store.steps.insert_steps(conn, video_id, steps.PHASE2_STEPS, exchange_id=exchange_id)
    return exchange_id


def next_manual_label(conn: Database, video_id: int, prefix: str = "man") -> str:
    """`man_N` (or `search_N` for a sentence clipped from a search), one past the highest of the video."""
    numbers = [
        int(number)
        for kind, _, number in (row.label.partition("_") for row in store.exchanges.list_exchanges(conn, video_id))
        if kind == prefix and number.isdigit()
    ]
    return f"{prefix}_{max(numbers, default=0) + 1}"


def qas_of(conn: Database, video_id: int) -> list[ExchangeRecord]:
    """The video's questions and answers: its exchanges less the sentences clipped from a search."""
    return [row for row in store.exchanges.list_exchanges(conn, video_id) if not presenters.from_search(row.label)]


def cut_again(conn: Database, service: StepService, exchange: ExchangeRecord) -> tuple[list, str]:
    """Cut an exchange's clips as it is now: from its first step that is not done (all three after a
    trim, only the cut after a new shape; the cut alone when all are done), each step queueing the next.
    Always acts, unless it is being cut already; returns the steps queued and what was started, in words."""
    title = presenters.exchange_title(exchange.label)
    own = {step.name: step for step in store.steps.exchange_steps(conn, [exchange.id])}
    busy = [own[name] for name in steps.PHASE2_STEPS if name in own and own[name].state in steps.ACTIVE]
    if busy:
        return [], f"{title} is being cut already: {steps.STEP[busy[0].name].title} is {busy[0].state}"
    first = next((name for name in steps.PHASE2_STEPS if own[name].state != steps.DONE), steps.PHASE2_STEPS[-1])
    clips_now = len(store.clips.list_clips(conn, exchange.id))
    with store.engine.transaction(conn):
        store.exchanges.update_exchange(conn, exchange.id, chain=1)
    queued = [service.request(exchange.video_id, first, exchange.id)]
    again = " again" if own[steps.PHASE2_STEPS[-1]].attempts else ""
    if first == steps.PHASE2_STEPS[-1]:
        return queued, f"Cutting {title}{again}: {clips_now} clip{'' if clips_now == 1 else 's'}"
    todo = steps.PHASE2_STEPS[steps.PHASE2_STEPS.index(first) :]
    return queued, f"Cutting {title}{again}: {' → '.join(steps.STEP[name].title for name in todo)}"


def add_uploaded_video(conn: Database, request: VideoRequest, upload: UploadedFile, download_dir: Path) -> int:
    """A finished upload becomes a video whose download step is already done: the file moves into the
    video's folder under the name the media's own container gives it. Call inside a transaction; the
    folder is removed again if anything fails."""
    video_id = create_video(conn, request)
    folder = video_dir(download_dir, video_id)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"video.{upload.extension}"
        os.replace(upload.path, target)
        store.videos.update_video(
            conn, video_id, title=upload.title, duration=upload.duration, width=upload.width,
            height=upload.height, video_path=str(target),
        )  # fmt: skip
        StepService(conn).record_done(store.steps.find_step(conn, video_id, "download").id)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return video_id


def record_download(conn: Database, video_id: int, result: Downloaded, info: MediaInfo, thumbnail: Path | None) -> None:
    """What a download found: the file, what the site says about it and what ffmpeg measured."""
    store.videos.update_video(
        conn, video_id, title=result.title, uploader=result.uploader, duration=result.duration or info.duration,
        thumbnail_url=result.thumbnail_url, thumbnail_path=str(thumbnail) if thumbnail else None,
        width=info.width, height=info.height, video_path=str(result.path),
    )  # fmt: skip


def expand_playlist(conn: Database, video: VideoRecord, entries: list[str], title: str | None) -> list[int]:
    """A playlist's video becomes its first entry, and every other entry a new video with the same
    choices; returns the new videos' ids. Call inside a transaction."""
    first, *others = entries
    store.videos.update_video(conn, video.id, url=first, title=title)
    return [create_video(conn, request_from_video(video, url)) for url in others]


def subtitle_cues(conn: Database, video_id: int) -> list[subtitles.Cue]:
    """The video's captions with the speakers' current names ("Ada: ..."), for its clips' subtitles."""
    names = presenters.speaker_names(store.speakers.get_speakers(conn, video_id))
    return subtitles.transcript_cues(store.transcripts.get_segments(conn, video_id), names)


def english_cues(conn: Database, video_id: int) -> list[subtitles.Cue] | None:
    """The video's English subtitles (the translate step's) as cues, for bilingual captions; None: not made."""
    translation = store.transcripts.get_translation(conn, video_id)
    if translation is None:
        return None
    return subtitles.transcript_cues([replace(s, speaker=None) for s in translation.segments], {})


def rewrite_clip_subtitles(conn: Database, video_id: int, between: tuple[float, float] | None = None) -> int:
    """After a rename (or a corrected line, `between` its times), every cut clip's SRT and VTT (over it)
    carry the new names or words at once, and clips with captions burned into the picture are marked out
    of date (only cutting again changes a picture); returns how many clips' subtitles were rewritten."""
    with store.engine.transaction(conn):
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


def correct_line(conn: Database, video_id: int, segment_id: int, before: Segment, after: Segment) -> None:
    """A line of the transcript corrected by hand: stored with its words (the search index follows), made
    in the transcript Whisper gave too (alignment reads it again when speakers change), the questions of
    the Q&As over it said again, the clips' subtitles over it rewritten and their burned captions marked
    out of date. Cutting again makes new subtitles from it."""
    with store.engine.transaction(conn):
        store.transcripts.replace_segment(conn, video_id, segment_id, after)
        raw = store.transcripts.get_raw_transcript(conn, video_id)
        if raw is not None:
            carried = tuple(corrections.carry_over(raw.segments, before, after))
            store.transcripts.save_raw_transcript(conn, video_id, replace(raw, segments=carried))
        segments = store.transcripts.get_segments(conn, video_id)
        config = ExchangeConfig(language=store.videos.get_video(conn, video_id).language)
        for exchange in store.exchanges.list_exchanges(conn, video_id):
            if exchange.start_time < before.end and exchange.end_time > before.start:
                question = marked_exchange(segments, exchange.start_time, exchange.end_time, config).question
                store.exchanges.update_exchange(conn, exchange.id, question=question or exchange.question)
    rewrite_clip_subtitles(conn, video_id, (min(before.start, after.start), max(before.end, after.end)))


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


def clips_in_library(conn: Database, video_id: int | None = None, limit: int = 500) -> list[ClipInLibrary]:
    """Cut clips across the library (or of one video), newest first, each with its Q&A, video and speakers."""
    found, exchanges, videos, speakers = [], {}, {}, {}
    for clip in store.clips.list_cut_clips(conn, video_id, limit):
        if clip.exchange_id not in exchanges:
            exchanges[clip.exchange_id] = store.exchanges.get_exchange(conn, clip.exchange_id)
        exchange = exchanges[clip.exchange_id]
        if exchange.video_id not in videos:
            videos[exchange.video_id] = store.videos.get_video(conn, exchange.video_id)
            rows = store.speakers.get_speakers(conn, exchange.video_id)
            speakers[exchange.video_id] = {item["label"]: item for item in presenters.describe_speakers(rows)}
        found.append(ClipInLibrary(clip, exchange, videos[exchange.video_id], speakers[exchange.video_id]))
    return found


def spoken_by(
    conn: Database, items: list[ClipInLibrary], person_id: int | None = None, label: str | None = None
) -> list[ClipInLibrary]:
    """The clips of a person of the speaker library (in any video), or of one video's speaker by its label
    ("Speaker 1" of one video is not "Speaker 1" of another): their own clips and the whole-Q&A clips in
    which they speak."""
    if person_id is None and not label:
        return items
    return [item for item in items if _speaks(conn, item, person_id, label)]


def _speaks(conn: Database, item: ClipInLibrary, person_id: int | None, label: str | None) -> bool:
    def is_them(speaker: str | None) -> bool:
        if label:
            return speaker == label
        person = item.speakers_by_label.get(speaker or "", {}).get("person")
        return bool(person) and person["id"] == person_id

    if item.clip.kind == "speaker":
        return is_them(item.clip.speaker)
    return any(is_them(span.speaker) for span in store.exchanges.get_exchange_segments(conn, item.exchange.id))


# ---- the speaker library -------------------------------------------------------------------------


def describe_answers(conn: Database, person_id: int) -> list[dict[str, Any]]:
    """A person's answers across videos: each exchange as the details page shows it, with its video, the
    asker's name and the whole-exchange clip once cut."""
    answers = store.speakers.answers_of_person(conn, person_id)
    by_video: dict[int, list[ExchangeRecord]] = {}
    for exchange in answers:
        by_video.setdefault(exchange.video_id, []).append(exchange)
    described = []
    for video_id, exchanges in by_video.items():
        video = store.videos.get_video(conn, video_id)
        names = presenters.speaker_names(store.speakers.get_speakers(conn, video_id))
        rows = presenters.describe_exchanges(
            exchanges,
            store.steps.exchange_steps(conn, [e.id for e in exchanges]),
            store.steps.steps_of(conn, [video_id]),
        )
        for exchange, row in zip(exchanges, rows, strict=True):
            whole = next((clip for clip in store.clips.list_clips(conn, exchange.id) if clip.kind == "exchange"), None)
            described.append({
                **row, "video_id": video_id, "video_title": video.title,
                "asker_name": names.get(exchange.asker or "", exchange.asker),
                "answerer_name": names.get(exchange.answerer or "", exchange.answerer),
                "clip_id": whole.id if whole and whole.path else None,
            })  # fmt: skip
    return described


def answer_clips(conn: Database, person_id: int, exchange_ids: list[int] | None) -> list[ClipInLibrary]:
    """The whole-exchange clips already cut of the person's answers (all, or those asked for)."""
    chosen = [
        e for e in store.speakers.answers_of_person(conn, person_id) if exchange_ids is None or e.id in exchange_ids
    ]
    wanted = {exchange.id for exchange in chosen}
    videos = {exchange.video_id for exchange in chosen}
    items = [item for video_id in videos for item in clips_in_library(conn, video_id)]
    return [item for item in items if item.exchange.id in wanted and item.clip.kind == "exchange"]


def process_exchanges(
    conn: Database, service: StepService, exchanges: list[ExchangeRecord], keep_cut: bool = False
) -> tuple[list, list[int]]:
    """Run each exchange through phase 2 to its clips (process, define, cut), each step queueing the next;
    with `keep_cut`, exchanges already cut are left as they are (their clips are not cut again). Returns the
    steps queued and the ids of the exchanges left alone."""
    if keep_cut:
        done = {step.exchange_id for step in store.steps.exchange_steps(conn, [e.id for e in exchanges])
                if step.name == steps.PHASE2_STEPS[-1] and step.state == steps.DONE}  # fmt: skip
    else:
        done = set()
    todo = [exchange for exchange in exchanges if exchange.id not in done]
    with store.engine.transaction(conn):
        for exchange in todo:
            store.exchanges.update_exchange(conn, exchange.id, chain=1)
    queued = [service.request(exchange.video_id, steps.PHASE2_STEPS[0], exchange.id) for exchange in todo]
    return queued, sorted(done)


# ---- search ------------------------------------------------------------------------------------


SENTENCE_REACH_SECONDS = 30.0  # how far around a matching segment its sentence is looked for


def term_pattern(query: str) -> re.Pattern | None:
    """The searched words as a pattern that finds them in any form, as the search stems them: a word of
    4 letters or more by its first letters ("answer" in "answered"), a shorter one only whole."""
    words = {word.lower() for term in store.search.search_terms(query) for word in term.split()}
    if not words:
        return None
    alternatives = "|".join(
        re.escape(word[: max(3, len(word) - 2)]) + r"\w*" if len(word) >= 4 else re.escape(word) + r"\b"
        for word in sorted(words, key=len, reverse=True)
    )
    return re.compile(rf"\b(?:{alternatives})", re.IGNORECASE)


def search(conn: Database, text: str, **filters: Any) -> list[dict[str, Any]]:
    """Search hits as the API and the Search page show them: the sentence (a matching Whisper segment
    widened or narrowed to whole sentences, by punctuation and pauses), who said it, in which video, when,
    and the Q&A that holds it (to cut it), if any. Two segments of one sentence make one hit."""
    pattern = term_pattern(text)

    def matches(said: str) -> bool:
        return bool(pattern and pattern.search(said))

    found, seen, configs = [], set(), {}
    for hit in store.search.search_segments(conn, text, **filters):
        around = store.transcripts.segments_between(
            conn, hit.video_id, hit.start_time - SENTENCE_REACH_SECONDS, hit.end_time + SENTENCE_REACH_SECONDS
        )
        if hit.video_id not in configs:  # its sentences are read by its language's rules
            configs[hit.video_id] = ExchangeConfig(language=store.videos.get_video(conn, hit.video_id).language)
        sentence = sentence_around(around, hit.start_time, hit.end_time, matches, configs[hit.video_id])
        start, end, said = (sentence.start, sentence.end, sentence.text) if sentence else (
            hit.start_time, hit.end_time, hit.text)  # fmt: skip
        if (hit.video_id, round(start, 2)) in seen:
            continue
        seen.add((hit.video_id, round(start, 2)))
        exchange = store.search.exchange_at(conn, hit.video_id, start, end)
        found.append({
            "segment_id": hit.segment_id, "video_id": hit.video_id, "video_title": hit.video_title,
            "video_added": hit.video_created_at, "start": start, "end": end, "text": said,
            "speaker": hit.speaker,
            "speaker_name": hit.speaker_name or (presenters.speaker_placeholder(hit.speaker) if hit.speaker else None),
            "person_id": hit.person_id,
            "exchange": {"id": exchange.id, "label": exchange.label, "title": presenters.exchange_title(exchange.label)}
            if exchange else None,
        })  # fmt: skip
    return found


# ---- editing timelines ---------------------------------------------------------------------------


def timeline_of(conn: Database, video: VideoRecord) -> timeline.otio.schema.Timeline:
    """The video's exchanges in order as an OpenTimelineIO timeline with sound (pipeline/timeline.py)."""
    source, rate = timeline_source(video)
    names = presenters.speaker_names(store.speakers.get_speakers(conn, video.id))
    items = [_timeline_item(exchange, names, presenters.exchange_title(exchange.label))
             for exchange in qas_of(conn, video.id)]  # fmt: skip
    return timeline.assemble(video.title or f"Video {video.id}", rate, [(source, item) for item in items])


def answers_timeline(
    conn: Database, person: PersonRecord, exchange_ids: list[int] | None = None
) -> timeline.otio.schema.Timeline | None:
    """The person's answers (all, or those asked for) as one timeline: a clip of its own video per answer,
    counted at the frame rate most of their videos share; None when there is no answer to show."""
    chosen = [
        e for e in store.speakers.answers_of_person(conn, person.id) if exchange_ids is None or e.id in exchange_ids
    ]
    if not chosen:
        return None
    videos = {
        video_id: store.videos.get_video(conn, video_id) for video_id in dict.fromkeys(e.video_id for e in chosen)
    }
    sources = {video_id: timeline_source(video) for video_id, video in videos.items()}
    names = {video_id: presenters.speaker_names(store.speakers.get_speakers(conn, video_id)) for video_id in videos}
    rates = Counter(rate for _source, rate in sources.values() if rate)
    placed = []
    for exchange in chosen:
        title = (videos[exchange.video_id].title or f"Video {exchange.video_id}")[:60]
        name = f"{title} - {presenters.exchange_title(exchange.label)}"
        placed.append((sources[exchange.video_id][0], _timeline_item(exchange, names[exchange.video_id], name)))
    rate = rates.most_common(1)[0][0] if rates else None
    return timeline.assemble(f"{person.name}: answers", rate, placed)


def timeline_source(video: VideoRecord) -> tuple[timeline.Source, float | None]:
    """The video as timelines reference it: the name its source download is saved under, with its sound,
    and its frame rate, read from the file while it is here (else the timeline counts at 25 fps)."""
    info = None
    if video.video_path and Path(video.video_path).is_file():
        try:
            info = media.probe(video.video_path)
        except media.MediaError:
            log.warning("video %s: cannot read %s for its timeline", video.id, video.video_path, exc_info=True)
    source = timeline.Source(
        presenters.source_file_name(video), video.duration or (info.duration if info else 0.0),
        info.audio_channels if info else None, info.audio_rate if info else None,
    )  # fmt: skip
    return source, info.frame_rate if info else None


def _timeline_item(exchange: ExchangeRecord, names: dict[str, str], name: str) -> timeline.TimelineItem:
    """A clip named as the Clips page titles it: "Q&A 3: How real is AI?" (the question at most 60 characters)."""
    return timeline.TimelineItem(
        name=f"{name}: {shorten(exchange.question)}" if exchange.question else name,
        start=exchange.start_time, end=exchange.end_time, question=exchange.question,
        note=f"asked by {names.get(exchange.asker or '', exchange.asker or 'someone')}, "
             f"answered by {names.get(exchange.answerer or '', exchange.answerer or 'someone')}",
    )  # fmt: skip
