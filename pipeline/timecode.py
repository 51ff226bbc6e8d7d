"""Times as people type them (seconds, mm:ss, hh:mm:ss) and as pages show them."""

from __future__ import annotations

import math


def parse_timecode(value: object) -> float:
    """Seconds from 12.5, "12.5", "1:02.5" or "1:01:02"; ValueError with a readable reason otherwise."""
    if isinstance(value, bool) or value is None:
        raise ValueError("expected seconds or mm:ss")
    if isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:
            raise ValueError("time is far too large") from None
    else:
        parts = str(value).strip().split(":")
        if not 1 <= len(parts) <= 3 or any(not part.strip() for part in parts):
            raise ValueError(f"{value!r} is not seconds or mm:ss")
        try:
            numbers = [float(part) for part in parts]
        except (ValueError, OverflowError):
            raise ValueError(f"{str(value)[:40]!r} is not seconds or mm:ss") from None
        if any(number < 0 for number in numbers) or any(number >= 60 for number in numbers[1:]):
            raise ValueError(f"{value!r} is not a valid time")
        seconds = 0.0
        for number in numbers:
            seconds = seconds * 60 + number
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError("time must be zero or more seconds")
    return seconds


def format_timecode(seconds: float) -> str:
    """12.3 → "0:12", 3723 → "1:02:03"."""
    total = int(max(seconds, 0))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_clock(seconds: float | None, decimals: int = 0) -> str:
    """65.2 → "1:05" (or "1:05.2" with one decimal); hours when needed; "" when unknown. The pages'
    JavaScript writes times the same way."""
    if seconds is None:
        return ""
    value = max(0.0, float(seconds))
    hours, minutes = int(value // 3600), int(value % 3600 // 60)
    secs = min(value % 60, 59.999)
    text = f"{secs:0{3 + decimals if decimals else 2}.{decimals}f}"
    if float(text) >= 60:
        text = f"{59.999:.{decimals}f}"
    return f"{hours}:{minutes:02d}:{text}" if hours else f"{minutes}:{text}"
