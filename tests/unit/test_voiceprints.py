"""Where a voiceprint's speech is taken from: only the speaker, alone, at most MAX_SECONDS of it."""

from pipeline.types import Turn
from pipeline.voiceprints import MAX_SECONDS, SHIFT_SECONDS, WINDOW_SECONDS, clean_stretches, windows


def test_only_time_with_nobody_else_talking_counts_longest_first():
    turns = [
        Turn(0.0, 10.0, "A"),
        Turn(4.0, 5.0, "B"),
        Turn(12.0, 12.5, "A"),
        Turn(20.0, 40.0, "A"),
        Turn(39.0, 41.0, "B"),
    ]
    assert clean_stretches(turns, "A") == [(20.0, 39.0), (5.0, 10.0), (0.0, 4.0)]  # the 0.5 s turn says too little


def test_windows_cover_each_stretch_to_its_end_without_going_past():
    chosen = windows([(0.0, 4.0)])
    assert chosen[0] == (0.0, WINDOW_SECONDS) and chosen[-1] == (4.0 - WINDOW_SECONDS, 4.0)
    assert all(end <= 4.0 for _start, end in chosen)


def test_a_long_monologue_is_cut_at_the_limit():
    chosen = windows([(0.0, 3600.0), (4000.0, 4100.0)])
    assert max(end for _start, end in chosen) <= MAX_SECONDS + 1e-9
    assert len(chosen) <= MAX_SECONDS / SHIFT_SECONDS + 1
