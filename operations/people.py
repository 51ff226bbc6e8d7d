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
from dataclasses import dataclass

import numpy as np

import store.speakers
from pipeline.voiceprints import MATCH_SIMILARITY, Voiceprint
from store.engine import Database
from store.records import PersonRecord, VoiceRecord

PLACEHOLDER = re.compile(r"speaker \d+", re.IGNORECASE)


class UnknownSpeaker(LookupError):
    """No such speaker in this video."""


def store_voices(conn: Database, video_id: int, prints: dict[str, Voiceprint]) -> None:
    """A video's new voiceprints (inside the caller's transaction), then its suggestions.

    Diarizing again may number the voices differently: a label whose voice is no longer alike what it was
    loses its person (and name) and its refusals, which were about the other voice."""
    before = {voice.label: _vector(voice) for voice in store.speakers.get_voices(conn, [video_id])}
    moved = [label for label, voice in prints.items()
             if label in before and float(before[label] @ np.asarray(voice.vector)) < MATCH_SIMILARITY]  # fmt: skip
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
            if voice.video_id != video_id and voice.person_id not in taken:
                best[voice.person_id] = max(best.get(voice.person_id, -1.0), float(value))
        candidates += [(value, label, person) for person, value in best.items()
                       if value >= MATCH_SIMILARITY and (video_id, label, person) not in refused]  # fmt: skip
    chosen, used = {}, set()
    for value, label, person in sorted(candidates, reverse=True):
        if label not in chosen and person not in used:
            chosen[label] = (person, round(value, 4))
            used.add(person)
    return chosen


def _vector(voice: VoiceRecord) -> np.ndarray:
    return np.asarray(json.loads(voice.vector), dtype=np.float64)
