"""Use cases on a video's speakers: list them, name one, answer the suggestion of who they are, and record
what diarization found. A new name reaches the clips' subtitles before open pages hear of it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import store.speakers
import store.transcripts
from operations import people, presenters
from operations.unit_of_work import UnitOfWork
from pipeline.types import Turn
from pipeline.voiceprints import Voiceprint


def list_speakers(uow: UnitOfWork, video_id: int) -> list[dict[str, Any]]:
    """A video's speakers as the details page and the API show them, library links included."""
    return presenters.video_speakers(uow.conn, video_id)


def rename_speaker(uow: UnitOfWork, video_id: int, label: str, name: str | None, remember: bool) -> dict[str, Any]:
    """A name for the speaker (None resets it); with `remember` the voice is that person's in the library."""
    with uow.transaction():
        named = people.name_speaker(uow.conn, video_id, label, name, remember)
    return _renamed(uow, video_id, label, named.elsewhere)


def accept_suggestion(uow: UnitOfWork, video_id: int, label: str) -> dict[str, Any] | None:
    """The speaker is the person suggested and takes their name; None when nobody was suggested."""
    with uow.transaction():
        named = people.accept_suggestion(uow.conn, video_id, label)
    if named is None:
        return None
    return _renamed(uow, video_id, label, named.elsewhere)


def reject_suggestion(uow: UnitOfWork, video_id: int, label: str) -> dict[str, Any]:
    """Not that person, remembered for this speaker (the next most alike person may be suggested)."""
    with uow.transaction():
        people.reject_suggestion(uow.conn, video_id, label)
    return _renamed(uow, video_id, label)


def _renamed(uow: UnitOfWork, video_id: int, label: str, elsewhere: Iterable[int] = ()) -> dict[str, Any]:
    """The speaker as it is now, once the names are everywhere."""
    people.names_changed(uow, video_id, elsewhere)
    return next(item for item in list_speakers(uow, video_id) if item["label"] == label)


def record_diarization(uow: UnitOfWork, video_id: int, turns: list[Turn], prints: dict[str, Voiceprint]) -> None:
    """Who speaks when, one speaker per voice, and their voiceprints for the speaker library."""
    conn = uow.conn
    with uow.transaction():
        store.transcripts.replace_turns(conn, video_id, turns)
        store.speakers.ensure_speakers(conn, video_id, sorted({turn.speaker for turn in turns}))
        people.store_voices(conn, video_id, prints)
        uow.changed("speakers", video_id)
