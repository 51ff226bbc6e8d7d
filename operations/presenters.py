"""The JSON shapes of videos, steps, speakers and exchanges, for the API, the pages and the snapshots."""

from __future__ import annotations

import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

import store.speakers
import store.steps
from operations import status_words, steps
from pipeline import languages
from pipeline.clips import TITLE_CHARACTERS, shorten
from pipeline.options import caption_names
from pipeline.redact import redact_url
from store.engine import Database
from store.records import ClipRecord, ExchangeRecord, PersonRecord, SpeakerRecord, StepRecord, VideoRecord


def describe(
    video: VideoRecord, video_steps: list[StepRecord], where: status_words.Standing | None = None
) -> dict[str, Any]:
    """The JSON shape of a video: its row, its steps in graph order (a running one with its time left) and
    its status in words; with its standing (`status_words.standings`) the status covers the clips too ("Q&A 2 of 5
    cut") and running steps have their time left."""
    order = {name: index for index, name in enumerate(steps.PHASE1_STEPS)}
    ordered = sorted(video_steps, key=lambda step: order.get(step.name, len(order)))
    described = asdict(video)
    # The API says "auto" and "clips", as the submission does: the names scripts already send and read.
    described["auto"], described["clips"] = described.pop("wants_whole_pipeline"), described.pop("wants_clips")
    described["url"] = redact_url(video.url)  # the stored URL keeps credentials for the download only
    states = {step.name: step.state for step in ordered}
    where = where or status_words.phase1_words(ordered)
    described["steps"] = [
        {**_describe_step(step, states, states), "seconds_left": where.left.get(step.id)} for step in ordered
    ]
    described["status"], described["status_text"] = where.state, where.text
    described["progress"] = steps.weighted_progress(ordered)
    described["exchanges_waiting"] = status_words.phase2_waiting(states)
    described["language_name"] = languages.name_of(video.language)  # "Spanish"; the code stays in `language`
    described["translated"] = states.get("translate") in (steps.DONE, steps.STALE)  # English subtitles exist
    return described


def _describe_step(step: StepRecord, states: dict[str, str], video_states: dict[str, str]) -> dict[str, Any]:
    """A step for the API and pages, with its title and what may be done with it now (so no page
    re-derives the step rules)."""
    described = steps.step_fields(step)
    described["title"] = steps.STEP[step.name].title
    described["optional"] = steps.STEP[step.name].optional  # run only when asked (English subtitles)
    described["action"] = status_words.step_action(step.name, step.state, states, video_states)
    return described


def describe_many(conn: Database, videos: list[VideoRecord]) -> list[dict[str, Any]]:
    """Describe a page of videos with one query for all their steps."""
    by_video = steps.group_by_video(store.steps.steps_of(conn, [video.id for video in videos]))
    where = status_words.standings(conn, videos, by_video)
    return [describe(video, by_video.get(video.id, []), where[video.id]) for video in videos]


SPEAKER_COLORS = ("#0d6efd", "#d63384", "#198754", "#fd7e14", "#6f42c1", "#20c997", "#dc3545", "#0aa2c0")


def describe_speakers(
    rows: list[SpeakerRecord], people: dict[int, str] | None = None, voiced: set[str] | None = None
) -> list[dict[str, Any]]:
    """Label, display name ("Speaker 1" until renamed) and a stable colour per speaker; with `people`
    (id → name) and `voiced` (labels with a voiceprint), who they are in the speaker library too."""
    people = people or {}
    return [
        {
            "label": row.label,
            "name": row.name or speaker_placeholder(row.label),
            "named": row.name is not None,
            "color": SPEAKER_COLORS[i % len(SPEAKER_COLORS)],
            "person": {"id": row.person_id, "name": people.get(row.person_id, row.name)} if row.person_id else None,
            "suggestion": {
                "person_id": row.suggested_person_id,
                "name": people.get(row.suggested_person_id),
                "similarity": row.suggestion_similarity,
            }
            if row.suggested_person_id
            else None,
            "voiced": voiced is not None and row.label in voiced,
        }
        for i, row in enumerate(rows)
    ]


def video_speakers(conn: Database, video_id: int) -> list[dict[str, Any]]:
    """A video's speakers as the details page and the API show them, library links included."""
    return describe_speakers(
        store.speakers.get_speakers(conn, video_id),
        store.speakers.people_names(conn),
        store.speakers.voiced_labels(conn, video_id),
    )


def describe_person(person: PersonRecord) -> dict[str, Any]:
    return {
        "id": person.id,
        "name": person.name,
        "videos": person.videos,
        "seconds": round(person.seconds, 1),
        "answers": person.answers,
        "created_at": person.created_at,
    }


def speaker_placeholder(label: str) -> str:
    """SPEAKER_00 → "Speaker 1": what a person sees until they name the voice."""
    prefix, _, number = label.rpartition("_")
    return f"Speaker {int(number) + 1}" if prefix == "SPEAKER" and number.isdigit() else label


SEARCH_PREFIX = "search"  # the label of a sentence clipped from a search: search_N, not a Q&A


def exchange_title(label: str) -> str:
    """spkchg_3 → "Q&A 3" (found), man_2 → "Manual Q&A 2" (added by hand), search_1 → "Clip from search 1"."""
    kind, _, number = label.partition("_")
    titles = {"spkchg": "Q&A", "man": "Manual Q&A", SEARCH_PREFIX: "Clip from search"}
    return f"{titles[kind]} {number}" if kind in titles else label


def from_search(label: str) -> bool:
    """A sentence clipped from a search: listed with the clips, never as a Q&A nor in the Q&A exports."""
    return label.partition("_")[0] == SEARCH_PREFIX


def speaker_names(rows: list[SpeakerRecord]) -> dict[str, str]:
    return {speaker["label"]: speaker["name"] for speaker in describe_speakers(rows)}


def describe_exchanges(
    exchanges: list[ExchangeRecord], exchange_steps: list[StepRecord], video_steps: list[StepRecord]
) -> list[dict[str, Any]]:
    """Exchanges for the API and pages; `video_steps` (phase 1) decide whether their first step may run."""
    order = {name: index for index, name in enumerate(steps.PHASE2_STEPS)}
    video_states = {step.name: step.state for step in video_steps}
    by_exchange: dict[int, list[StepRecord]] = {exchange.id: [] for exchange in exchanges}
    for step in exchange_steps:
        if step.exchange_id is not None:  # always, for the steps of a Q&A
            by_exchange.setdefault(step.exchange_id, []).append(step)
    described = []
    for exchange in exchanges:
        rows = sorted(by_exchange[exchange.id], key=lambda step: order.get(step.name, len(order)))
        states = {step.name: step.state for step in rows}
        own = [_describe_step(step, states, video_states) for step in rows]
        described.append(
            {
                "id": exchange.id,
                "label": exchange.label,
                "title": exchange_title(exchange.label),
                "kind": exchange.kind,
                "from_search": from_search(exchange.label),
                "start": exchange.start_time,
                "end": exchange.end_time,
                "question": exchange.question,
                "asker": exchange.asker,
                "answerer": exchange.answerer,
                "note": exchange.note,
                "shape": exchange.shape,
                "crop_x": exchange.crop_x,
                "framing": exchange.framing,  # follow, fixed or split (framing.FRAMINGS)
                "captions": exchange.captions,  # none or a caption style; None: CLIP_BURN_SUBTITLES decides
                "caption_position": exchange.caption_position,
                "caption_names": caption_names(exchange.caption_names, exchange.shape),  # as the clips will show
                "steps": own,
                "status": steps.video_status(rows),
                "progress": steps.weighted_progress(rows),
            }
        )
    return described


def exchange_tag(label: str) -> str:
    """spkchg_3 → QA3 (found), man_2 → QA-manual2 (added by hand), search_1 → search1: short, and safe in
    a file name."""
    kind, _, number = label.partition("_")
    tags = {"spkchg": "QA", "man": "QA-manual", SEARCH_PREFIX: "search"}
    return f"{tags[kind]}{number}" if kind in tags else _safe(label)


SPEAKER_IN_TITLE = 24  # characters of a speaker's name a clip title keeps


def clip_title(clip: ClipRecord, speaker: str | None = None, exchange_label: str = "") -> str:
    """A clip's title on its card, in the API and in exports, at most TITLE_CHARACTERS long: its Q&A's
    question (the Q&A's name when it has none), and for a speaker's clip who speaks: "Why? — Ada"."""
    question = clip.title or (exchange_title(exchange_label) if exchange_label else "")
    if clip.kind != "speaker" or not speaker:
        return shorten(question)
    name = shorten(speaker, SPEAKER_IN_TITLE)
    if not question:
        return name
    return f"{shorten(question, TITLE_CHARACTERS - len(name) - 3)} — {name}"


def clip_file_name(
    video_title: str | None, exchange_label: str, clip: ClipRecord, speaker: str | None, ext: str
) -> str:
    """What a downloaded clip is called: `<title>_QA3_1m12s.mp4`, with the speaker for a speaker's clip;
    the title is the clip's (its question, shortened), else the video's."""
    seconds = max(0, round(clip.end_time - clip.start_time))
    title = _safe(shorten(clip.title or "")) or _safe(video_title or "video")[:60]
    parts = [title, exchange_tag(exchange_label)]
    if clip.kind == "speaker" and speaker:
        parts.append(_safe(speaker)[:30])
    parts.append(f"{seconds // 60}m{seconds % 60:02d}s")
    return "_".join(part for part in parts if part) + f".{ext}"


def source_file_name(video: VideoRecord) -> str:
    """What the downloaded source video is called (`<title>.mp4`); editing timelines relink to this name."""
    suffix = Path(video.video_path).suffix if video.video_path else ".mp4"
    return f"{_safe(video.title or '')[:60] or f'video-{video.id}'}{suffix}"


def answers_file_stem(person: PersonRecord) -> str:
    """What a person's answers are called when saved as one timeline: `Ada_Lovelace_answers`."""
    return f"{_safe(person.name)[:60] or f'person-{person.id}'}_answers"


def clips_zip_name(video: VideoRecord | None, who: str | None) -> str:
    """What a zip of the Clips page's clips is called, after what it holds: `Ada_in_Board_meeting_clips.zip`,
    `Board_meeting_clips.zip`, `Ada_clips.zip`, or `all_clips.zip`."""
    title = (_safe(video.title or "")[:60] or f"video-{video.id}") if video else ""
    stem = "_in_".join(part for part in (_safe(who or "")[:40], title) if part)
    return f"{stem or 'all'}_clips.zip"


def _safe(text: str) -> str:
    """Letters, digits, dashes and underscores only (spaces become underscores), for file names."""
    return re.sub(r"_+", "_", re.sub(r"[^\w-]+", "_", text)).strip("_")
