"""Exchanges (Q&As): found or hand-made, their options and the segments they hold."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pipeline.types import Exchange
from store.engine import Database, as_records, now, one_or_none
from store.records import ExchangeRecord, ExchangeSegmentRecord


def insert_exchange(
    conn: Database, video_id: int, label: str, kind: str, exchange: Exchange, chain: bool = False
) -> int:
    """`chain`: once a phase-2 step is done, queue the next one (process all)."""
    return conn.insert(
        "INSERT INTO exchanges (video_id, label, kind, start_time, end_time, question, asker, answerer, chain, "
        "note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            video_id,
            label,
            kind,
            exchange.start,
            exchange.end,
            exchange.question,
            exchange.asker,
            exchange.answerer,
            int(chain),
            exchange.note or None,
            now(),
        ),
    )


EXCHANGE_SETTABLE = (
    "chain",
    "captions",
    "note",
    "asker",
    "answerer",
    "start_time",
    "end_time",
    "question",
    "shape",
    "crop_x",
    "caption_position",
    "caption_names",
    "framing",
)


def update_exchange(conn: Database, exchange_id: int, **fields: Any) -> None:
    unknown = set(fields) - set(EXCHANGE_SETTABLE)
    if unknown:
        raise ValueError(f"unknown exchange fields: {sorted(unknown)}")
    assignments = ", ".join(f"{name} = ?" for name in fields)
    conn.execute(f"UPDATE exchanges SET {assignments} WHERE id = ?", [*fields.values(), exchange_id])


def delete_exchanges(conn: Database, video_id: int, kind: str) -> list[int]:
    ids = [row[0] for row in conn.execute("SELECT id FROM exchanges WHERE video_id = ? AND kind = ?", (video_id, kind))]
    conn.execute("DELETE FROM exchanges WHERE video_id = ? AND kind = ?", (video_id, kind))
    return ids


def list_exchanges(conn: Database, video_id: int) -> list[ExchangeRecord]:
    rows = conn.execute("SELECT * FROM exchanges WHERE video_id = ? ORDER BY start_time, id", (video_id,))
    return as_records(conn, ExchangeRecord, rows)


def get_exchange(conn: Database, exchange_id: int) -> ExchangeRecord | None:
    return one_or_none(
        conn, ExchangeRecord, conn.execute("SELECT * FROM exchanges WHERE id = ?", (exchange_id,)).fetchone()
    )


def delete_exchange(conn: Database, exchange_id: int) -> bool:
    return conn.execute("DELETE FROM exchanges WHERE id = ?", (exchange_id,)).rowcount > 0


def exchanges_of(conn: Database, video_ids: Iterable[int]) -> list[ExchangeRecord]:
    """The exchanges of several videos in one query."""
    ids = list(video_ids)
    marks = ", ".join("?" for _ in ids)
    rows = (
        conn.execute(f"SELECT * FROM exchanges WHERE video_id IN ({marks}) ORDER BY start_time, id", ids) if ids else []
    )
    return as_records(conn, ExchangeRecord, rows)


def replace_exchange_segments(conn: Database, exchange_id: int, spans: Iterable[Any]) -> None:
    conn.execute("DELETE FROM exchange_segments WHERE exchange_id = ?", (exchange_id,))
    conn.executemany(
        "INSERT INTO exchange_segments (exchange_id, position, start_time, end_time, speaker) VALUES (?, ?, ?, ?, ?)",
        [(exchange_id, index, span.start, span.end, span.speaker) for index, span in enumerate(spans)],
    )


def get_exchange_segments(conn: Database, exchange_id: int) -> list[ExchangeSegmentRecord]:
    rows = conn.execute("SELECT * FROM exchange_segments WHERE exchange_id = ? ORDER BY position", (exchange_id,))
    return as_records(conn, ExchangeSegmentRecord, rows)
