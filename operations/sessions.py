"""Login sessions: the generation every session mark carries, and ending every session at once."""

from __future__ import annotations

import store.sessions
from operations.unit_of_work import UnitOfWork


def session_generation(uow: UnitOfWork) -> str:
    """Changes when every session is ended, so the marks issued before stop matching."""
    return store.sessions.session_generation(uow.conn)


def end_all_sessions(uow: UnitOfWork) -> None:
    """Logout ends this session and every other one (other browsers, stolen cookies)."""
    with uow.transaction():
        store.sessions.end_all_sessions(uow.conn)
