"""CoreShare: a compute step's threads follow the cores the machine leaves free, never below its share."""

from __future__ import annotations

from pipeline import cores
from pipeline.cores import CoreShare


class Machine:
    """A two-core machine's clock, idle time and this process's CPU time, moved by hand."""

    def __init__(self) -> None:
        self.now = self.idle = self.own = 0.0

    def run(self, seconds: float, own_cores: float, idle_cores: float) -> None:
        self.now += seconds
        self.own += own_cores * seconds
        self.idle += idle_cores * seconds


def share_on(machine: Machine, applied: list[int], share: int = 1) -> CoreShare:
    return CoreShare(
        share,
        applied.append,
        cores=2,
        idle_seconds=lambda: machine.idle,
        clock=lambda: machine.now,
        own_seconds=lambda: machine.own,
    )


def test_the_share_holds_while_the_other_slot_works_and_grows_when_it_is_done():
    machine, applied = Machine(), []
    share = share_on(machine, applied)
    machine.run(2.0, own_cores=1.0, idle_cores=0.05)  # transcribe busy on the other core
    assert share.threads() == 1 and applied == []
    machine.run(2.0, own_cores=1.0, idle_cores=0.95)  # transcribe done: a core idles
    assert share.threads() == 2 and applied == [2]
    machine.run(2.0, own_cores=1.9, idle_cores=0.1)  # using both now: that is not "someone else is busy"
    assert share.threads() == 2 and applied == [2]
    machine.run(2.0, own_cores=1.0, idle_cores=0.0)  # the other slot took a new video
    assert share.threads() == 1 and applied == [2, 1]


def test_the_machine_is_read_at_most_every_half_second():
    machine, applied = Machine(), []
    share = share_on(machine, applied)
    machine.run(cores.SAMPLE_SECONDS / 2, own_cores=1.0, idle_cores=1.0)
    assert share.threads() == 1 and applied == []
    machine.run(cores.SAMPLE_SECONDS, own_cores=1.0, idle_cores=1.0)
    assert share.threads() == 2


def test_never_below_the_share_nor_above_the_cores():
    machine, applied = Machine(), []
    share = share_on(machine, applied, share=2)
    machine.run(1.0, own_cores=0.2, idle_cores=0.0)
    assert share.threads() == 2
    big = CoreShare(
        1,
        applied.append,
        cores=2,
        idle_seconds=lambda: machine.idle,
        clock=lambda: machine.now,
        own_seconds=lambda: machine.own,
    )
    machine.run(1.0, own_cores=1.0, idle_cores=30.0)  # a host with many more cores than this process may use
    assert big.threads() == 2


def test_without_proc_stat_the_share_is_kept(monkeypatch):
    monkeypatch.setattr(cores, "STAT", "/nonexistent/stat")
    assert cores.machine_idle_seconds() is None
    applied = []
    share = CoreShare(1, applied.append, cores=2)
    assert share.threads() == 1 and applied == []


def test_idle_time_is_read_from_this_machine():
    first = cores.machine_idle_seconds()
    assert first is not None and first > 0
