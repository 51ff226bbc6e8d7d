"""`make bench`: run every benchmark script in turn and write bench/RESULTS.md.

Each script runs in its own process and ends with a `RESULT {json}` line (bench/report.py describes
it); the figures, their targets and the exact command lines go into RESULTS.md with a description of
the machine. A script that prints no RESULT line is shown by the tail of its output (bench_events.py's
text figures are read as a fallback).

    .venv/bin/python bench/run_all.py                 # everything, 10 minutes of media (about half an hour)
    .venv/bin/python bench/run_all.py --quick         # 2 minutes of media, short load runs
    .venv/bin/python bench/run_all.py --only bench_web bench_events
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import ROOT, describe_machine, machine, parse_result

BENCH = ROOT / "bench"
RESULTS = BENCH / "RESULTS.md"
EVENT_P95_TARGET_MS = 500.0
EVENT_TARGET_CLIENTS = 100
TARGETS = (
    "each step within 10% of its floor (step wall / tool alone ≤ 1.10)",
    "phase 1 wall ≤ 1.15 × (download + audio + max(transcribe, diarize) + exchanges)",
    "GET / p95 < 150 ms with 1,000 videos",
    f"event delivery p95 < {EVENT_P95_TARGET_MS:g} ms with {EVENT_TARGET_CLIENTS} subscribers",
    "pages answer with 1,000 idle half-sent connections; 503 within 5 s with Redis frozen",
    "a reset /events client frees its slot within 5 s",
    "20 videos at once on 2 web processes and 4 workers on PostgreSQL: all done, no duplicate run, no database error",
    "search: a phrase across three of 1,000 videos' transcripts in < 100 ms",
    "voice suggestions: no wrong name on ≥ 95% of suggestions, on real recordings",
    "vertical framing: the speaking face in the frame ≥ 95% of speech seconds; a 60 s clip cut in ≤ 60 s",
)


@dataclass
class Outcome:
    name: str
    command: list[str]
    returncode: int
    seconds: float
    load_before: tuple[float, ...]
    load_after: tuple[float, ...]
    result: dict[str, Any] | None
    tail: list[str] = field(default_factory=list)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="media length for bench_pipeline")
    parser.add_argument("--quick", action="store_true", help="2 minutes of media and short load runs")
    parser.add_argument("--only", nargs="+", metavar="SCRIPT", help="run only these (e.g. bench_web)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    return parser.parse_args()


def plan(args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    """(script name, its arguments) in order: the light ones first, the long pipeline last."""
    minutes = 2.0 if args.quick else args.minutes
    runs: list[tuple[str, list[str]]] = [("bench_web", ["--duration", "5" if args.quick else "15"])]
    runs.append(("bench_edges", ["--idle", "300" if args.quick else "1000"]))
    events = BENCH / "bench_events.py"
    if events.is_file():
        if "--clients" in _help(events):
            runs += [("bench_events", ["--clients", str(count)]) for count in (EVENT_TARGET_CLIENTS, 500)]
        else:
            runs.append(("bench_events", []))
    runs.append(("bench_cutting", ["--source-seconds", "60"]))
    runs.append(("bench_framing", ["--no-diarize"]))
    runs.append(("bench_pipeline", ["--minutes", f"{minutes:g}"]))
    runs.append(("bench_scale", ["--videos", "6" if args.quick else "20"]))
    runs.append(("bench_search", ["--videos", "100" if args.quick else "1000", "--postgresql"]))
    runs.append(("voices", []))
    if args.only:
        runs = [(name, extra) for name, extra in runs if name in args.only]
    return runs


def _help(script: Path) -> str:
    done = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, cwd=ROOT)
    return done.stdout


def python_shown() -> str:
    try:
        return str(Path(sys.executable).relative_to(ROOT))
    except ValueError:
        return sys.executable


def run_script(name: str, extra: list[str]) -> Outcome:
    command = [sys.executable, str(BENCH / f"{name}.py"), *extra]
    shown = [python_shown(), f"bench/{name}.py", *extra]
    print(f"\n=== {shlex.join(shown)}", flush=True)
    load_before, began = os.getloadavg(), time.perf_counter()
    lines: list[str] = []
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        assert process.stdout is not None
        for line in process.stdout:
            if not line.startswith("RESULT "):
                print(line, end="", flush=True)
            lines.append(line.rstrip("\n"))
    output = "\n".join(lines)
    result = parse_result(output) or fallback(name, extra, output)
    return Outcome(
        name, shown, process.returncode, time.perf_counter() - began, load_before, os.getloadavg(), result, lines[-25:]
    )


# ---- scripts that print no RESULT line ----------------------------------------------------------

_LATENCY = re.compile(r"p50\s+([\d.]+) ms\s+p95\s+([\d.]+) ms\s+max\s+([\d.]+) ms\s+\((\d+) samples\)")


def fallback(name: str, extra: list[str], output: str) -> dict[str, Any] | None:
    """bench_events.py prints text: read its delivery and page latencies."""
    if name != "bench_events":
        return None
    clients = int(extra[extra.index("--clients") + 1]) if "--clients" in extra else EVENT_TARGET_CLIENTS
    figures, notes = [], ["figures read from the script's printed text"]
    for line in output.splitlines():
        found = _LATENCY.search(line)
        if not found:
            if line.startswith(("events:", "waitress threads", "  (waitress")) or "streams open" in line:
                notes.append(line.strip())
            continue
        label = line[: found.start()].strip()
        p50, p95, worst, samples = float(found[1]), float(found[2]), float(found[3]), int(found[4])
        group = f"{clients} subscribers"
        note = f"max {worst:g} ms, {samples} samples"
        figures.append(_figure(group, f"{label}: p50", p50, "ms"))
        if label.startswith("event delivery") and clients == EVENT_TARGET_CLIENTS:
            ok = p95 < EVENT_P95_TARGET_MS
            figures.append(_figure(group, f"{label}: p95", p95, "ms", f"< {EVENT_P95_TARGET_MS:g}", ok, note))
        else:
            figures.append(_figure(group, f"{label}: p95", p95, "ms", note=note))
    if not figures:
        return None
    return {"script": name, "figures": figures, "notes": notes}


def _figure(group, name, value, unit="", target="", ok=None, note="") -> dict[str, Any]:
    return {"group": group, "name": name, "value": value, "unit": unit, "target": target, "ok": ok, "note": note}


# ---- RESULTS.md ---------------------------------------------------------------------------------


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        value = f"{value:.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:.0f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def verdict(ok: bool | None) -> str:
    return "" if ok is None else ("ok" if ok else "**missed**")


def render(outcomes: list[Outcome], info: dict[str, Any], started: datetime, command: str) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Written by `{command}` (`make bench`), started {started:%Y-%m-%d %H:%M} UTC, "
        f"took {sum(o.seconds for o in outcomes) / 60:.1f} min.",
        "",
        "## Machine",
        "",
        f"- CPU: {info['cpu_model']}; {info['usable_cores']} usable cores ({info['logical_cores']} logical, "
        f"{info['physical_cores']} physical)",
        f"- Memory: {info['memory_gib']} GiB",
        f"- GPU: {info['gpu']}",
        f"- Load average (1, 5, 15 min) at the start: {info['load_average']}; each script's is shown with it. "
        "On a machine shared with other work the figures are noisy: compare runs made at quiet times.",
        f"- {info['os']}; Python {info['python']}; {info['ffmpeg']}",
        "",
        "## Targets",
        "",
        *[f"- {target}" for target in TARGETS],
        "",
        "| script | figure | value | target | verdict |",
        "|---|---|---|---|---|",
    ]
    for outcome in outcomes:
        for figure in (outcome.result or {}).get("figures", []):
            if figure.get("ok") is not None:
                name = f"{figure['group']}: {figure['name']}"
                value = f"{cell(figure['value'])} {figure.get('unit', '')}".strip()
                lines.append(
                    f"| {outcome.name} | {cell(name)} | {value} | {cell(figure['target'])} | {verdict(figure['ok'])} |"
                )
    for outcome in outcomes:
        lines += ["", *section(outcome)]
    return "\n".join(lines) + "\n"


def section(outcome: Outcome) -> list[str]:
    title = " ".join([outcome.name, *outcome.command[2:]])
    status = "finished" if outcome.returncode == 0 else f"**failed (exit code {outcome.returncode})**"
    lines = [
        f"## {title}",
        "",
        f"`{shlex.join(outcome.command)}`: {status} in {outcome.seconds:.0f} s; load average "
        f"{[round(x, 2) for x in outcome.load_before]} before, {[round(x, 2) for x in outcome.load_after]} after.",
    ]
    result = outcome.result
    if result is None:
        return [*lines, "", "No figures were printed. The end of its output:", "", "```", *outcome.tail, "```"]
    for table in result.get("tables", []):
        lines += [
            "",
            f"**{table['title']}**",
            "",
            "| " + " | ".join(table["columns"]) + " |",
            "|" + "---|" * len(table["columns"]),
        ]
        lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in table["rows"]]
    lines += ["", "| group | figure | value | target | verdict | note |", "|---|---|---|---|---|---|"]
    for figure in result.get("figures", []):
        value = f"{cell(figure['value'])} {figure.get('unit', '')}".strip()
        lines.append(
            f"| {cell(figure['group'])} | {cell(figure['name'])} | {value} | {cell(figure.get('target'))} | "
            f"{verdict(figure.get('ok'))} | {cell(figure.get('note'))} |"
        )
    if result.get("notes"):
        lines += ["", *[f"- {note}" for note in result["notes"]]]
    return lines


def main() -> int:
    args = parse_args()
    started = datetime.now(UTC)
    info = machine()
    print(f"machine: {describe_machine(info)}", flush=True)
    outcomes = [run_script(name, extra) for name, extra in plan(args)]
    command = shlex.join([python_shown(), "bench/run_all.py", *sys.argv[1:]])
    args.output.write_text(render(outcomes, info, started, command))
    print(f"\nwrote {args.output}")
    for outcome in outcomes:
        state = "ok" if outcome.returncode == 0 else f"FAILED ({outcome.returncode})"
        print(f"  {outcome.name:<16} {state:<12} {outcome.seconds:6.0f} s")
    return 0 if all(outcome.returncode == 0 for outcome in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
