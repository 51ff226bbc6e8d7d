"""One use case, one unit of work: a transaction on one connection whose events go out after it commits.

Routes and tasks never open a transaction or publish by hand: an operation takes a `UnitOfWork`, writes
inside `with uow.transaction():`, and says what changed with `uow.changed(...)`. The events are sent once
the outermost transaction has committed, so a page never hears of a row it cannot read yet, and nothing
is announced for a transaction that rolled back. (cosmicpython's unit of work is the model.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import store.engine
from operations.step_service import StepService
from store.engine import Database, StoreSettings

# Database is named here too: routes and tasks annotate their connection with it without importing the store.
__all__ = ["ChangeKind", "Changed", "Database", "UnitOfWork", "connect"]

# What a page listens for: "video" (a row of the list), "video_deleted", and the sections of a video's page.
ChangeKind = Literal["video", "video_deleted", "transcript", "speakers", "exchanges", "clips"]


@dataclass(frozen=True)
class Changed:
    """Something a page shows changed; the event stream carries it as {"type": kind, "video_id": …}."""

    kind: ChangeKind
    video_id: int
    exchange_id: int | None = None

    def as_event(self) -> dict[str, Any]:
        event: dict[str, Any] = {"type": self.kind, "video_id": self.video_id}
        if self.exchange_id is not None:
            event["exchange_id"] = self.exchange_id
        return event


@dataclass
class UnitOfWork:
    """The connection and the step service of one request or one task, and the changes not yet announced."""

    conn: Database
    steps: StepService
    pending: list[Changed] = field(default_factory=list)

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """Joins a transaction already open; the outermost one publishes what was collected, after COMMIT."""
        outermost = not self.conn.in_transaction
        try:
            with store.engine.transaction(self.conn):
                yield self.conn
        except BaseException:
            if outermost:
                self.pending.clear()
            raise
        if outermost:
            self.publish_pending()

    def changed(self, kind: ChangeKind, video_id: int, exchange_id: int | None = None) -> None:
        """Announce after the commit (at once when no transaction is open)."""
        change = Changed(kind, video_id, exchange_id)
        if change not in self.pending:
            self.pending.append(change)
        if not self.conn.in_transaction:
            self.publish_pending()

    def publish_pending(self) -> None:
        changes, self.pending = self.pending, []
        for change in changes:
            self.steps.publish(change.as_event())


def connect(settings: StoreSettings) -> Database:
    """A connection of this request's or task's own (routes and tasks never open the store themselves)."""
    return store.engine.connect_to(settings)
