"""Full-text search over transcript segments (FTS5 on SQLite, tsvector on PostgreSQL)."""

from __future__ import annotations

import re
from typing import Any

from pipeline import languages
from store.engine import Database, as_records, one_or_none
from store.records import ExchangeRecord, SearchHit

SEARCH_COLUMNS = (
    "SELECT segments.id AS segment_id, segments.video_id, videos.title AS video_title, "
    "videos.created_at AS video_created_at, segments.start_time, segments.end_time, segments.text, "
    "segments.speaker, speakers.name AS speaker_name, speakers.person_id "
)
SEARCH_JOINS = (
    "JOIN videos ON videos.id = segments.video_id "
    "LEFT JOIN speakers ON speakers.video_id = segments.video_id AND speakers.label = segments.speaker "
)


def search_terms(text: str) -> list[str]:
    """What a search asks for: "quoted phrases" and single words, as plain words (nothing of a query
    language gets through)."""
    terms = []
    for phrase, word in re.findall(r'"([^"]*)"|(\S+)', text):
        words = re.findall(r"\w+", phrase if phrase else word)
        if words:
            terms.append(" ".join(words))
    return terms


def search_segments(
    conn: Database,
    text: str,
    *,
    person_id: int | None = None,
    video_id: int | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: int = 50,
) -> list[SearchHit]:
    """Transcript segments containing every word and phrase of `text` (stemmed: "answers" finds "answer"),
    best matches first; filtered by person, video and the day the video was added (ISO dates).

    Each transcript is searched in its language: SQLite's one FTS5 index stems every row with Porter's
    (English) stemmer over words with their accents removed, so "Mexico" finds "México" and "canciones"
    "canción"; PostgreSQL stems each row with its language's configuration (`segments.search_config`), and
    the query is stemmed in every configuration in use, any of them matching."""
    terms = search_terms(text)
    if not terms:
        return []
    params: list[Any]
    if conn.dialect == "sqlite":  # each term a quoted FTS5 string: words and phrases ANDed, never operators
        source = f"FROM segments_search JOIN segments ON segments.id = segments_search.rowid {SEARCH_JOINS}"
        where, params = ["segments_search MATCH ?"], [" ".join(f'"{term}"' for term in terms)]
        order, order_params = "segments_search.rank", []
    else:
        query = " ".join(f'"{term}"' for term in terms)  # "or", "-x" are words here too, as on SQLite
        configs = sorted({languages.search_config(None), *languages.SEARCH_CONFIGS.values(), languages.SIMPLE_SEARCH})
        asked = " || ".join(f"websearch_to_tsquery('{config}', ?)" for config in configs)  # names from our table
        source = f"FROM segments {SEARCH_JOINS}"
        where, params = [f"to_tsvector(segments.search_config, segments.text) @@ ({asked})"], [query] * len(configs)
        order = f"ts_rank(to_tsvector(segments.search_config, segments.text), ({asked})) DESC"
        order_params = [query] * len(configs)
    filters: tuple[tuple[str, int | str | None], ...] = (
        ("speakers.person_id = ?", person_id),
        ("segments.video_id = ?", video_id),
        ("videos.created_at >= ?", since),
        ("videos.created_at < ?", until),
    )
    for clause, value in filters:
        if value is not None:
            where.append(clause)
            params.append(value)
    sql = (
        f"{SEARCH_COLUMNS} {source} WHERE {' AND '.join(where)} "
        f"ORDER BY {order}, segments.video_id, segments.start_time LIMIT ?"
    )
    return as_records(conn, SearchHit, conn.execute(sql, [*params, *order_params, limit]))


def exchange_at(conn: Database, video_id: int, start: float, end: float) -> ExchangeRecord | None:
    """The exchange that holds this stretch of the video, if any (the shortest, when several do)."""
    row = conn.execute(
        "SELECT * FROM exchanges WHERE video_id = ? AND start_time <= ? AND end_time >= ? "
        "AND substr(label, 1, 7) <> 'search_' ORDER BY end_time - start_time, id LIMIT 1",
        (video_id, start + 0.01, end - 0.01),
    ).fetchone()
    return one_or_none(conn, ExchangeRecord, row)
