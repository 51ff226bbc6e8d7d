"""The speaker library: people, the voices that are theirs, and who a new speaker sounds like.

A person is a name with the voiceprints of every speaker linked to them. A speaker without a person gets
a suggestion: the person whose voices are most alike, at least MATCH_SIMILARITY, never one the user
turned down for this speaker, never someone already linked in the same video, and each person at most
once per video (the most alike speaker wins). Suggestions are worked out again whenever voices or links
change (`refresh_suggestions`), for the videos concerned.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

import store.speakers
import store.videos
from operations.exchanges import process_exchanges
from operations.transcripts import rewrite_clip_subtitles
from operations.unit_of_work import UnitOfWork
from pipeline.voiceprints import MATCH_SIMILARITY, Voiceprint
from store.engine import Database
from store.records import ExchangeRecord, PersonRecord, VideoRecord, VoiceRecord

PLACEHOLDER = re.compile(r"speaker \d+", re.IGNORECASE)


class UnknownSpeaker(LookupError):
    """No such speaker in this video."""


class NameTaken(ValueError):
    """Another person of the library has that name already."""


class NotTheirAnswers(ValueError):
    """Exchanges asked for in which the person does not answer (`strangers`)."""

    def __init__(self, strangers: list[int]):
        super().__init__(f"not answers of this person: {', '.join(map(str, strangers))}")
        self.strangers = strangers


class NoAnswers(ValueError):
    """The person answers in no exchange yet."""


def store_voices(conn: Database, video_id: int, prints: dict[str, Voiceprint]) -> None:
    """A video's new voiceprints (inside the caller's transaction), then its suggestions.

    Diarizing again may number the voices differently: a label whose voice is no longer alike what it was
    loses its person (and name) and its refusals, which were about the other voice."""
    before = {voice.label: _vector(voice) for voice in store.speakers.get_voices(conn, [video_id])}
    moved = [
        label
        for label, voice in prints.items()
        if label in before and float(before[label] @ np.asarray(voice.vector)) < MATCH_SIMILARITY
    ]
    linked = {speaker.label for speaker in store.speakers.get_speakers(conn, video_id) if speaker.person_id is not None}
    for label in moved:
        if label in linked:
            store.speakers.link_speaker(conn, video_id, label, None, None)
    store.speakers.forget_rejections(conn, video_id, moved)
    store.speakers.replace_voices(
        conn, video_id, {label: (voice.vector, voice.seconds) for label, voice in prints.items()}
    )
    refresh_suggestions(conn, [video_id])


@dataclass(frozen=True)
class Named:
    """Who a speaker now is in the library (None: nobody), and the other videos whose suggestions changed."""

    person: PersonRecord | None
    elsewhere: set[int]


def name_speaker(conn: Database, video_id: int, label: str, name: str | None, remember: bool) -> Named:
    """Rename a speaker; with `remember`, the name is a person in the library and this voice is theirs
    (an existing person of that name, whatever its case, or a new one)."""
    person = None
    if name and remember and not PLACEHOLDER.fullmatch(name):  # "Speaker 2" is nobody in particular
        person = store.speakers.find_person(conn, name) or store.speakers.get_person(
            conn, store.speakers.insert_person(conn, name)
        )
    if not store.speakers.link_speaker(
        conn, video_id, label, person.id if person else None, person.name if person else name
    ):
        raise UnknownSpeaker(f"video {video_id} has no speaker {label!r}")
    # A voice joined or left the library: others may now sound like someone, or no longer.
    return Named(person, refresh_suggestions(conn) - {video_id})


def accept_suggestion(conn: Database, video_id: int, label: str) -> Named | None:
    """The speaker is the suggested person; None when there was no suggestion."""
    speaker = _speaker(conn, video_id, label)
    if speaker.suggested_person_id is None:
        return None
    person = store.speakers.get_person(conn, speaker.suggested_person_id)
    assert person is not None  # suggested_person_id is a foreign key that deleting the person sets NULL
    store.speakers.link_speaker(conn, video_id, label, person.id, person.name)
    return Named(person, refresh_suggestions(conn) - {video_id})


def reject_suggestion(conn: Database, video_id: int, label: str) -> None:
    """Not this person: remembered, and the next most alike person (if any) is suggested instead."""
    speaker = _speaker(conn, video_id, label)
    if speaker.suggested_person_id is not None:
        store.speakers.reject_suggestion(conn, video_id, label, speaker.suggested_person_id)
    refresh_suggestions(conn, [video_id])


def _speaker(conn: Database, video_id: int, label: str):
    found = next((speaker for speaker in store.speakers.get_speakers(conn, video_id) if speaker.label == label), None)
    if found is None:
        raise UnknownSpeaker(f"video {video_id} has no speaker {label!r}")
    return found


def refresh_suggestions(conn: Database, video_ids: list[int] | None = None) -> set[int]:
    """Work out the suggestions of the given videos' unnamed speakers (all videos when None), writing only
    those that changed; returns the videos whose suggestions changed."""
    targets = store.speakers.unlinked_speakers(conn, video_ids)
    if not targets:
        return set()
    voices = store.speakers.get_voices(conn)
    vectors = {(voice.video_id, voice.label): _vector(voice) for voice in voices}
    known = [voice for voice in voices if voice.person_id is not None]
    matrix = np.stack([vectors[(voice.video_id, voice.label)] for voice in known]) if known else None
    refused = store.speakers.rejections(conn)
    current = {(video_id, label): (person, similarity) for video_id, label, person, similarity in targets}
    by_video: dict[int, list[str]] = defaultdict(list)
    for video_id, label, _person, _similarity in targets:
        by_video[video_id].append(label)
    changed = set()
    for video_id, labels in by_video.items():
        chosen = _assign(
            video_id, labels, known, matrix, vectors, refused, store.speakers.linked_people(conn, video_id)
        )
        for label in labels:
            new = chosen.get(label, (None, None))
            if new != current[(video_id, label)]:
                store.speakers.set_suggestion(conn, video_id, label, *new)
                changed.add(video_id)
    return changed


def _assign(
    video_id, labels, known: list[VoiceRecord], matrix, vectors, refused, taken
) -> dict[str, tuple[int, float]]:
    """Each speaker the most alike person at or above the threshold, each person at most once per video,
    never one already named in the video or refused for the speaker; a person's voices from this video
    do not count (they are the video's own speakers)."""
    if matrix is None:
        return {}
    candidates = []
    for label in labels:
        similarities = matrix @ vectors[(video_id, label)]
        best: dict[int, float] = {}
        for voice, value in zip(known, similarities, strict=True):
            person_id = voice.person_id
            assert person_id is not None  # known holds only the voices of a person
            if voice.video_id != video_id and person_id not in taken:
                best[person_id] = max(best.get(person_id, -1.0), float(value))
        candidates += [
            (value, label, person)
            for person, value in best.items()
            if value >= MATCH_SIMILARITY and (video_id, label, person) not in refused
        ]
    chosen, used = {}, set()
    for value, label, person in sorted(candidates, reverse=True):
        if label not in chosen and person not in used:
            chosen[label] = (person, round(value, 4))
            used.add(person)
    return chosen


def _vector(voice: VoiceRecord) -> np.ndarray:
    return np.asarray(json.loads(voice.vector), dtype=np.float64)


# ---- use cases on the library --------------------------------------------------------------------


def person(uow: UnitOfWork, person_id: int) -> PersonRecord | None:
    return store.speakers.get_person(uow.conn, person_id)


def list_people(uow: UnitOfWork) -> list[PersonRecord]:
    return store.speakers.list_people(uow.conn)


def videos_of(uow: UnitOfWork, person_id: int) -> list[VideoRecord]:
    """The videos in which the person is one of the speakers."""
    conn = uow.conn
    found = [store.videos.get_video(conn, video_id) for video_id in store.speakers.videos_of_person(conn, person_id)]
    return [video for video in found if video is not None]


def rename_person(uow: UnitOfWork, person_id: int, name: str) -> PersonRecord | None:
    """A new name for the person and every speaker that is them (subtitles included); raises NameTaken when
    someone else has it. The person as they are now (None: deleted meanwhile)."""
    conn = uow.conn
    with uow.transaction():  # checked under the write lock: two renames to one name cannot both pass
        clash = store.speakers.find_person(conn, name)
        if clash is not None and clash.id != person_id:
            raise NameTaken(f"{clash.name!r} is already in the library (person {clash.id})")
        store.speakers.rename_person(conn, person_id, name)
    for video_id in store.speakers.videos_of_person(conn, person_id):
        names_changed(uow, video_id)
    return person(uow, person_id)


def delete_person(uow: UnitOfWork, person_id: int) -> None:
    """Out of the library: no more suggestions of them; speakers keep the name they were given."""
    conn = uow.conn
    videos = store.speakers.videos_of_person(conn, person_id)
    with uow.transaction():
        store.speakers.delete_person(conn, person_id)
        changed = refresh_suggestions(conn)  # their voices no longer suggest them; others may show
        for video_id in sorted({*videos, *changed}):
            uow.changed("speakers", video_id)


def names_changed(uow: UnitOfWork, video_id: int, elsewhere: Iterable[int] = ()) -> None:
    """A video's speakers go by other names: its clips' SRT and VTT say them, then open pages hear of it
    (those of the other videos whose suggestions changed too)."""
    rewrite_clip_subtitles(uow, video_id)
    for changed in sorted({video_id, *elsewhere}):
        uow.changed("speakers", changed)


def their_answers(uow: UnitOfWork, person_id: int, wanted: list[int] | None = None) -> list[ExchangeRecord]:
    """The exchanges asked for (all when None) in which the person answers; raises NotTheirAnswers naming
    those in which they do not."""
    theirs = {exchange.id: exchange for exchange in store.speakers.answers_of_person(uow.conn, person_id)}
    if wanted is None:
        return list(theirs.values())
    strangers = [item for item in wanted if item not in theirs]
    if strangers:
        raise NotTheirAnswers(strangers)
    return [theirs[item] for item in wanted]


def cut_answers(uow: UnitOfWork, person_id: int, wanted: list[int] | None = None) -> tuple[list, list[int]]:
    """Each answer asked for (all when None) goes through phase 2 and is cut, those cut already left alone;
    returns the steps queued and the exchanges left alone."""
    chosen = their_answers(uow, person_id, wanted)
    if not chosen:
        raise NoAnswers("this person answers in no exchange yet")
    return process_exchanges(uow, chosen, keep_cut=True)
