"""Use cases on exchanges (a video's questions and answers): find them again, add one by hand, trim it or
change its look, delete it, and run it through phase 2 to its clips."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import store.clips
import store.exchanges
import store.steps
import store.transcripts
import store.videos
from operations import lookup, presenters, steps
from operations.layout import remove_exchange_files
from operations.unit_of_work import UnitOfWork
from pipeline.exchanges import ExchangeConfig, marked_exchange
from pipeline.types import Exchange
from store.engine import Database
from store.records import ExchangeRecord, StepRecord

# ---- reading -------------------------------------------------------------------------------------


def describe_all(uow: UnitOfWork, video_id: int) -> list[dict[str, Any]]:
    """The video's exchanges as the API and the video's page show them, each with its steps."""
    return _describe(uow, video_id, store.exchanges.list_exchanges(uow.conn, video_id))


def describe_one(uow: UnitOfWork, exchange: ExchangeRecord) -> dict[str, Any]:
    """One exchange with its steps (and what may be done with each)."""
    return _describe(uow, exchange.video_id, [exchange])[0]


def _describe(uow: UnitOfWork, video_id: int, rows: list[ExchangeRecord]) -> list[dict[str, Any]]:
    exchange_steps = store.steps.exchange_steps(uow.conn, [row.id for row in rows])
    return presenters.describe_exchanges(rows, exchange_steps, store.steps.steps_of(uow.conn, [video_id]))


def qas_of(uow: UnitOfWork, video_id: int) -> list[ExchangeRecord]:
    """The video's questions and answers: its exchanges less the sentences clipped from a search."""
    return [row for row in store.exchanges.list_exchanges(uow.conn, video_id) if not presenters.from_search(row.label)]


def marked_in(uow: UnitOfWork, video_id: int, start: float, end: float) -> Exchange:
    """The words inside a stretch marked by hand (or trimmed): its question, asker and answerer."""
    language = lookup.existing_video(uow.conn, video_id).language  # what asks something depends on it
    segments = store.transcripts.get_segments(uow.conn, video_id)
    return marked_exchange(segments, start, end, ExchangeConfig(language=language))


# ---- writing -------------------------------------------------------------------------------------


def create_exchange(
    conn: Database, video_id: int, label: str, kind: str, exchange: Exchange, chain: bool = False
) -> int:
    """Insert an exchange and one pending row per phase-2 step; call inside a transaction.
    `chain` runs its steps one after another once the first is queued."""
    exchange_id = store.exchanges.insert_exchange(conn, video_id, label, kind, exchange, chain=chain)
    store.steps.insert_steps(conn, video_id, steps.PHASE2_STEPS, exchange_id=exchange_id)
    return exchange_id


def next_manual_label(conn: Database, video_id: int, prefix: str = "man") -> str:
    """`man_N` (or `search_N` for a sentence clipped from a search), one past the highest of the video."""
    numbers = [
        int(number)
        for kind, _, number in (row.label.partition("_") for row in store.exchanges.list_exchanges(conn, video_id))
        if kind == prefix and number.isdigit()
    ]
    return f"{prefix}_{max(numbers, default=0) + 1}"


def add_by_hand(
    uow: UnitOfWork, video_id: int, start: float, end: float, from_search: bool, process: bool
) -> dict[str, Any]:
    """A stretch marked by hand (or a sentence clipped from a search) becomes an exchange, run through phase 2
    at once when `process`; returns it as the API shows it. A refused `process` leaves no exchange behind."""
    if process:
        uow.steps.check_phase2_ready(video_id)
    with uow.transaction():
        label = next_manual_label(uow.conn, video_id, presenters.SEARCH_PREFIX if from_search else "man")
        exchange = marked_in(uow, video_id, start, end)
        exchange_id = create_exchange(uow.conn, video_id, label, "manual", exchange, chain=process)
        uow.changed("exchanges", video_id)
    if process:
        uow.steps.request(video_id, steps.PHASE2_STEPS[0], exchange_id)
    return next(item for item in describe_all(uow, video_id) if item["id"] == exchange_id)


def replace_auto_exchanges(
    uow: UnitOfWork, video_id: int, found: list[Exchange], note: str | None, clips_dir: Path
) -> list[int]:
    """The exchanges found anew replace the ones found before (manual ones stay), with the note that
    explains what was left out; the old ones' clip files go too. Returns the new exchanges' ids."""
    with uow.transaction():
        removed = store.exchanges.delete_exchanges(uow.conn, video_id, "auto")
        new_ids = [
            create_exchange(uow.conn, video_id, f"spkchg_{number}", "auto", exchange)
            for number, exchange in enumerate(found, start=1)
        ]
        store.videos.update_video(uow.conn, video_id, exchanges_note=note)
    remove_exchange_files(clips_dir, video_id, removed)
    uow.changed("exchanges", video_id)
    return new_ids


def edit(
    uow: UnitOfWork, exchange: ExchangeRecord, changes: dict[str, Any], bounds: tuple[float, float] | None
) -> None:
    """A trim (`bounds`: its new start and end, the texts following) and look changes; its clips are then out
    of date until cut again (after a trim, its speaker segments and clip definitions too)."""
    changes = dict(changes)
    if bounds is not None:
        changes["start_time"], changes["end_time"] = bounds
        marked = marked_in(uow, exchange.video_id, *bounds)
        changes["question"] = marked.question
        if marked.asker:  # who speaks in it now (a transcript without speakers keeps the old ones)
            changes["asker"], changes["answerer"] = marked.asker, marked.answerer
    with uow.transaction():
        only_cut = "start_time" not in changes
        staled = uow.steps.mark_exchange_changed(exchange.video_id, exchange.id, only_cut=only_cut)
        store.exchanges.update_exchange(uow.conn, exchange.id, **changes)
    uow.steps.announce_ids(staled)
    uow.changed("exchanges", exchange.video_id)


def delete_exchange(uow: UnitOfWork, exchange: ExchangeRecord, clips_dir: Path) -> None:
    """Remove the exchange (its steps and clips cascade), then its clip files."""
    with uow.transaction():
        store.exchanges.delete_exchange(uow.conn, exchange.id)
    remove_exchange_files(clips_dir, exchange.video_id, [exchange.id])
    uow.changed("exchanges", exchange.video_id)


# ---- running phase 2 -----------------------------------------------------------------------------


def request_step(uow: UnitOfWork, exchange: ExchangeRecord, name: str, captions: str | None) -> StepRecord:
    """Queue one of the exchange's steps; the cut may be asked for its captions (none or a caption style),
    which are kept only when the cut may run (a refused request changes nothing)."""
    if name == "cut_clips" and captions is not None:
        uow.steps.check_ready(exchange.video_id, name, exchange.id)
        with uow.transaction():
            store.exchanges.update_exchange(uow.conn, exchange.id, captions=captions)
    return uow.steps.request(exchange.video_id, name, exchange.id)


def cut_again(uow: UnitOfWork, exchange: ExchangeRecord) -> tuple[list, str]:
    """Cut an exchange's clips as it is now: from its first step that is not done (all three after a
    trim, only the cut after a new shape; the cut alone when all are done), each step queueing the next.
    Always acts, unless it is being cut already; returns the steps queued and what was started, in words."""
    title = presenters.exchange_title(exchange.label)
    own = {step.name: step for step in store.steps.exchange_steps(uow.conn, [exchange.id])}
    busy = [own[name] for name in steps.PHASE2_STEPS if name in own and own[name].state in steps.ACTIVE]
    if busy:
        return [], f"{title} is being cut already: {steps.STEP[busy[0].name].title} is {busy[0].state}"
    first = next((name for name in steps.PHASE2_STEPS if own[name].state != steps.DONE), steps.PHASE2_STEPS[-1])
    clips_now = len(store.clips.list_clips(uow.conn, exchange.id))
    with uow.transaction():
        store.exchanges.update_exchange(uow.conn, exchange.id, chain=1)
    queued = [uow.steps.request(exchange.video_id, first, exchange.id)]
    again = " again" if own[steps.PHASE2_STEPS[-1]].attempts else ""
    if first == steps.PHASE2_STEPS[-1]:
        return queued, f"Cutting {title}{again}: {clips_now} clip{'' if clips_now == 1 else 's'}"
    todo = steps.PHASE2_STEPS[steps.PHASE2_STEPS.index(first) :]
    return queued, f"Cutting {title}{again}: {' → '.join(steps.STEP[name].title for name in todo)}"


def process_video_exchanges(uow: UnitOfWork, video_id: int) -> list | None:
    """Run every exchange of the video through phase 2; None when it has no exchange yet."""
    rows = store.exchanges.list_exchanges(uow.conn, video_id)
    if not rows:
        return None
    queued, _kept = process_exchanges(uow, rows)
    return queued


def process_exchanges(
    uow: UnitOfWork, exchanges: list[ExchangeRecord], keep_cut: bool = False
) -> tuple[list, list[int]]:
    """Run each exchange through phase 2 to its clips (process, define, cut), each step queueing the next;
    with `keep_cut`, exchanges already cut are left as they are (their clips are not cut again). Returns the
    steps queued and the ids of the exchanges left alone."""
    done = _already_cut(uow, exchanges) if keep_cut else set()
    todo = [exchange for exchange in exchanges if exchange.id not in done]
    with uow.transaction():
        for exchange in todo:
            store.exchanges.update_exchange(uow.conn, exchange.id, chain=1)
    queued = [uow.steps.request(exchange.video_id, steps.PHASE2_STEPS[0], exchange.id) for exchange in todo]
    return queued, sorted(done)


def _already_cut(uow: UnitOfWork, exchanges: list[ExchangeRecord]) -> set[int]:
    """The exchanges whose cut is done."""
    rows = store.steps.exchange_steps(uow.conn, [e.id for e in exchanges])
    cut = [step for step in rows if step.name == steps.PHASE2_STEPS[-1] and step.state == steps.DONE]
    return {step.exchange_id for step in cut if step.exchange_id is not None}
