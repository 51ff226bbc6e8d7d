"""Login sessions: one generation that every signed cookie must carry."""

from __future__ import annotations

from store.engine import Database


def session_generation(conn: Database) -> str:
    row = conn.execute("SELECT value FROM auth_state WHERE key = 'session_generation'").fetchone()
    return row[0] if row else "0"


def end_all_sessions(conn: Database) -> None:
    """Move to a new generation: every session cookie issued before is no longer accepted."""
    conn.execute(
        "INSERT INTO auth_state (key, value) VALUES ('session_generation', '1') "
        "ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(auth_state.value AS INTEGER) + 1 AS TEXT)"
    )
