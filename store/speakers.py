"""Speakers of a video, their voiceprints, and the speaker library: people, links and suggestions."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from store.engine import Database, as_records, now, one_or_none
from store.records import ExchangeRecord, PersonRecord, SpeakerRecord, VoiceRecord


def ensure_speakers(conn: Database, video_id: int, labels: Iterable[str]) -> None:
    """Add rows for new labels; names given by the user to existing labels are kept."""
    conn.executemany(
        "INSERT INTO speakers (video_id, label) VALUES (?, ?) ON CONFLICT DO NOTHING",
        [(video_id, label) for label in labels],
    )


def get_speakers(conn: Database, video_id: int) -> list[SpeakerRecord]:
    rows = conn.execute("SELECT * FROM speakers WHERE video_id = ? ORDER BY label", (video_id,))
    return as_records(conn, SpeakerRecord, rows)


def rename_speaker(conn: Database, video_id: int, label: str, name: str | None) -> bool:
    cursor = conn.execute("UPDATE speakers SET name = ? WHERE video_id = ? AND label = ?", (name, video_id, label))
    return cursor.rowcount > 0


PERSON_SELECT = """
    SELECT people.id, people.name, people.created_at,
           (SELECT COUNT(DISTINCT video_id) FROM speakers WHERE person_id = people.id) AS videos,
           COALESCE((SELECT SUM(turns.end_time - turns.start_time) FROM turns JOIN speakers
                     ON speakers.video_id = turns.video_id AND speakers.label = turns.speaker
                     WHERE speakers.person_id = people.id), 0) AS seconds,
           (SELECT COUNT(*) FROM exchanges JOIN speakers
            ON speakers.video_id = exchanges.video_id AND speakers.label = exchanges.answerer
            WHERE speakers.person_id = people.id) AS answers
    FROM people"""


def replace_voices(conn: Database, video_id: int, voices: dict[str, tuple[Sequence[float], float]]) -> None:
    """A video's voiceprints: label → (unit vector, seconds of speech it came from)."""
    conn.execute("DELETE FROM voices WHERE video_id = ?", (video_id,))
    conn.executemany(
        "INSERT INTO voices (video_id, label, vector, seconds) VALUES (?, ?, ?, ?)",
        [
            (video_id, label, json.dumps([round(x, 6) for x in vector]), seconds)
            for label, (vector, seconds) in voices.items()
        ],
    )


def get_voices(conn: Database, video_ids: Iterable[int] | None = None) -> list[VoiceRecord]:
    """Voiceprints with the person each belongs to, of some videos or of all."""
    sql = (
        "SELECT voices.*, speakers.person_id FROM voices LEFT JOIN speakers "
        "ON speakers.video_id = voices.video_id AND speakers.label = voices.label"
    )
    if video_ids is None:
        return as_records(conn, VoiceRecord, conn.execute(sql + " ORDER BY voices.video_id, voices.label"))
    ids = list(video_ids)
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    rows = conn.execute(sql + f" WHERE voices.video_id IN ({marks}) ORDER BY voices.video_id, voices.label", ids)
    return as_records(conn, VoiceRecord, rows)


def voiced_labels(conn: Database, video_id: int) -> set[str]:
    return {row[0] for row in conn.execute("SELECT label FROM voices WHERE video_id = ?", (video_id,))}


def people_names(conn: Database) -> dict[int, str]:
    return {row[0]: row[1] for row in conn.execute("SELECT id, name FROM people")}


def insert_person(conn: Database, name: str) -> int:
    return conn.insert("INSERT INTO people (name, created_at) VALUES (?, ?) RETURNING id", (name, now()))


def find_person(conn: Database, name: str) -> PersonRecord | None:
    """By name, whatever its case."""
    return one_or_none(
        conn, PersonRecord, conn.execute(PERSON_SELECT + " WHERE lower(people.name) = lower(?)", (name,)).fetchone()
    )


def get_person(conn: Database, person_id: int) -> PersonRecord | None:
    return one_or_none(
        conn, PersonRecord, conn.execute(PERSON_SELECT + " WHERE people.id = ?", (person_id,)).fetchone()
    )


def list_people(conn: Database) -> list[PersonRecord]:
    return as_records(conn, PersonRecord, conn.execute(PERSON_SELECT + " ORDER BY lower(people.name), people.id"))


def rename_person(conn: Database, person_id: int, name: str) -> bool:
    """The person and every speaker linked to them take the new name."""
    if not conn.execute("UPDATE people SET name = ? WHERE id = ?", (name, person_id)).rowcount:
        return False
    conn.execute("UPDATE speakers SET name = ? WHERE person_id = ?", (name, person_id))
    return True


def delete_person(conn: Database, person_id: int) -> bool:
    """Out of the library; the speakers keep the name they were given."""
    return conn.execute("DELETE FROM people WHERE id = ?", (person_id,)).rowcount > 0


def videos_of_person(conn: Database, person_id: int) -> list[int]:
    rows = conn.execute("SELECT DISTINCT video_id FROM speakers WHERE person_id = ? ORDER BY video_id", (person_id,))
    return [row[0] for row in rows]


def link_speaker(conn: Database, video_id: int, label: str, person_id: int | None, name: str | None) -> bool:
    """Say who a speaker is (or that they are nobody in the library); their suggestion is settled."""
    return (
        conn.execute(
            "UPDATE speakers SET person_id = ?, name = ?, suggested_person_id = NULL, suggestion_similarity = NULL "
            "WHERE video_id = ? AND label = ?",
            (person_id, name, video_id, label),
        ).rowcount
        > 0
    )


def set_suggestion(conn: Database, video_id: int, label: str, person_id: int | None, similarity: float | None) -> None:
    conn.execute(
        "UPDATE speakers SET suggested_person_id = ?, suggestion_similarity = ? WHERE video_id = ? AND label = ?",
        (person_id, similarity, video_id, label),
    )


def reject_suggestion(conn: Database, video_id: int, label: str, person_id: int) -> None:
    """Remembered: this speaker is not this person, whatever the voices say."""
    conn.execute(
        "INSERT INTO voice_rejections (video_id, label, person_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        (video_id, label, person_id),
    )
    set_suggestion(conn, video_id, label, None, None)


def forget_rejections(conn: Database, video_id: int, labels: Iterable[str]) -> None:
    conn.executemany(
        "DELETE FROM voice_rejections WHERE video_id = ? AND label = ?", [(video_id, label) for label in labels]
    )


def rejections(conn: Database) -> set[tuple[int, str, int]]:
    return {(row[0], row[1], row[2]) for row in conn.execute("SELECT video_id, label, person_id FROM voice_rejections")}


def unlinked_speakers(
    conn: Database, video_ids: Iterable[int] | None = None
) -> list[tuple[int, str, int | None, float | None]]:
    """(video, label, suggested person, similarity) of speakers with a voiceprint who are nobody in the library."""
    sql = (
        "SELECT speakers.video_id, speakers.label, speakers.suggested_person_id, speakers.suggestion_similarity "
        "FROM speakers JOIN voices "
        "ON voices.video_id = speakers.video_id AND voices.label = speakers.label WHERE speakers.person_id IS NULL"
    )
    params: list[Any] = []
    if video_ids is not None:
        ids = list(video_ids)
        if not ids:
            return []
        sql += f" AND speakers.video_id IN ({', '.join('?' for _ in ids)})"
        params = ids
    rows = conn.execute(sql + " ORDER BY speakers.video_id, speakers.label", params)
    return [(row[0], row[1], row[2], row[3]) for row in rows]


def answers_of_person(conn: Database, person_id: int) -> list[ExchangeRecord]:
    """Exchanges, across videos, in which the person answers, oldest video first."""
    rows = conn.execute(
        "SELECT exchanges.* FROM exchanges JOIN speakers ON speakers.video_id = exchanges.video_id "
        "AND speakers.label = exchanges.answerer WHERE speakers.person_id = ? "
        "ORDER BY exchanges.video_id, exchanges.start_time, exchanges.id",
        (person_id,),
    )
    return as_records(conn, ExchangeRecord, rows)


def linked_people(conn: Database, video_id: int) -> set[int]:
    rows = conn.execute("SELECT person_id FROM speakers WHERE video_id = ? AND person_id IS NOT NULL", (video_id,))
    return {row[0] for row in rows}
