"""Transcripts: segments and their words, the raw and translated transcripts, and speaker turns."""

from __future__ import annotations

import json
from collections.abc import Iterable

from pipeline import languages
from pipeline.types import Segment, Transcript, Turn, Word, transcript_from_dict, transcript_to_dict
from store.engine import Database


def replace_segments(conn: Database, video_id: int, segments: Iterable[Segment]) -> None:
    """Store a video's transcript, replacing the previous one; call inside a transaction."""
    conn.execute("DELETE FROM segments WHERE video_id = ?", (video_id,))
    append_segments(conn, video_id, segments, first_position=0)


def append_segments(conn: Database, video_id: int, segments: Iterable[Segment], first_position: int) -> None:
    """Add segments after the ones stored, as transcription produces them (searched in the video's language)."""
    row = conn.execute("SELECT language FROM videos WHERE id = ?", (video_id,)).fetchone()
    search = languages.search_config(row[0] if row else None)
    for position, segment in enumerate(segments, start=first_position):
        segment_id = conn.insert(
            "INSERT INTO segments (video_id, position, start_time, end_time, text, speaker, search_config) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (video_id, position, segment.start, segment.end, segment.text, segment.speaker, search),
        )
        conn.executemany(
            "INSERT INTO words (segment_id, video_id, position, start_time, end_time, text, probability, speaker) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (segment_id, video_id, index, word.start, word.end, word.text, word.probability, word.speaker)
                for index, word in enumerate(segment.words)
            ],
        )


def get_segments(conn: Database, video_id: int) -> list[Segment]:
    words_by_segment: dict[int, list[Word]] = {}
    for row in conn.execute("SELECT * FROM words WHERE video_id = ? ORDER BY segment_id, position", (video_id,)):
        word = Word(row["start_time"], row["end_time"], row["text"], row["probability"], row["speaker"])
        words_by_segment.setdefault(row["segment_id"], []).append(word)
    rows = conn.execute("SELECT * FROM segments WHERE video_id = ? ORDER BY position", (video_id,))
    return [
        Segment(
            row["start_time"], row["end_time"], row["text"], tuple(words_by_segment.get(row["id"], ())), row["speaker"]
        )
        for row in rows
    ]


def segment_ids(conn: Database, video_id: int) -> list[int]:
    return [row[0] for row in conn.execute("SELECT id FROM segments WHERE video_id = ? ORDER BY position", (video_id,))]


def segments_between(conn: Database, video_id: int, start: float, end: float) -> list[Segment]:
    """The video's segments that overlap [start, end], with their words (a search hit's neighbours)."""
    rows = conn.execute(
        "SELECT * FROM segments WHERE video_id = ? AND end_time > ? AND start_time < ? ORDER BY position",
        (video_id, start, end),
    ).fetchall()
    return [_segment(conn, row) for row in rows]


def get_segment(conn: Database, video_id: int, segment_id: int) -> Segment | None:
    row = conn.execute("SELECT * FROM segments WHERE id = ? AND video_id = ?", (segment_id, video_id)).fetchone()
    return _segment(conn, row) if row else None


def _segment(conn: Database, row) -> Segment:
    words = conn.execute("SELECT * FROM words WHERE segment_id = ? ORDER BY position", (row["id"],))
    return Segment(
        row["start_time"],
        row["end_time"],
        row["text"],
        tuple(Word(w["start_time"], w["end_time"], w["text"], w["probability"], w["speaker"]) for w in words),
        row["speaker"],
    )


def replace_segment(conn: Database, video_id: int, segment_id: int, segment: Segment) -> None:
    """One segment's text and words, corrected (the search index follows its text); in a transaction."""
    conn.execute(
        "UPDATE segments SET start_time = ?, end_time = ?, text = ? WHERE id = ?",
        (segment.start, segment.end, segment.text, segment_id),
    )
    conn.execute("DELETE FROM words WHERE segment_id = ?", (segment_id,))
    conn.executemany(
        "INSERT INTO words (segment_id, video_id, position, start_time, end_time, text, probability, speaker) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (segment_id, video_id, index, word.start, word.end, word.text, word.probability, word.speaker)
            for index, word in enumerate(segment.words)
        ],
    )


def replace_turns(conn: Database, video_id: int, turns: Iterable[Turn]) -> None:
    conn.execute("DELETE FROM turns WHERE video_id = ?", (video_id,))
    conn.executemany(
        "INSERT INTO turns (video_id, start_time, end_time, speaker) VALUES (?, ?, ?, ?)",
        [(video_id, turn.start, turn.end, turn.speaker) for turn in turns],
    )


def save_raw_transcript(conn: Database, video_id: int, transcript: Transcript) -> None:
    data = json.dumps(transcript_to_dict(transcript))
    conn.execute(
        "INSERT INTO raw_transcripts (video_id, data) VALUES (?, ?) "
        "ON CONFLICT (video_id) DO UPDATE SET data = excluded.data",
        (video_id, data),
    )


def get_raw_transcript(conn: Database, video_id: int) -> Transcript | None:
    """The transcript before speaker alignment; None for videos transcribed before it was kept here."""
    row = conn.execute("SELECT data FROM raw_transcripts WHERE video_id = ?", (video_id,)).fetchone()
    return transcript_from_dict(json.loads(row["data"])) if row else None


def save_translation(conn: Database, video_id: int, translation: Transcript) -> None:
    """The English text of a video in another language (its `language` is the speech's), with times."""
    conn.execute(
        "INSERT INTO translations (video_id, language, data) VALUES (?, ?, ?) "
        "ON CONFLICT (video_id) DO UPDATE SET language = excluded.language, data = excluded.data",
        (video_id, translation.language or "", json.dumps(transcript_to_dict(translation))),
    )


def get_translation(conn: Database, video_id: int) -> Transcript | None:
    row = conn.execute("SELECT data FROM translations WHERE video_id = ?", (video_id,)).fetchone()
    return transcript_from_dict(json.loads(row["data"])) if row else None


def delete_translation(conn: Database, video_id: int) -> None:
    conn.execute("DELETE FROM translations WHERE video_id = ?", (video_id,))


def get_turns(conn: Database, video_id: int) -> list[Turn]:
    rows = conn.execute("SELECT * FROM turns WHERE video_id = ? ORDER BY start_time, id", (video_id,))
    return [Turn(row["start_time"], row["end_time"], row["speaker"]) for row in rows]
