"""What every bench script shares: the machine description and the final machine-readable line.

Each script ends with one line `RESULT {json}` that `bench/run_all.py` collects into bench/RESULTS.md:

    {"script": "bench_web", "command": "...", "machine": {...},
     "figures": [{"group": "...", "name": "...", "value": 1.23, "unit": "s", "target": "≤ 1.10", "ok": true,
                  "note": "..."}],
     "tables": [{"title": "...", "columns": ["...", ...], "rows": [[...], ...]}], "notes": ["..."]}

`ok` is true, false, or null where a figure has no target. Anything else in the object is kept as is.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "bench" / "output"
RESULT_PREFIX = "RESULT "


@dataclass
class Figure:
    group: str
    name: str
    value: float | int | str | None
    unit: str = ""
    target: str = ""
    ok: bool | None = None
    note: str = ""


@dataclass
class Report:
    script: str
    figures: list[Figure] = field(default_factory=list)
    tables: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, group: str, name: str, value, unit: str = "", target: str = "", ok: bool | None = None, note=""):
        if isinstance(value, float):
            value = round(value, 4)
        self.figures.append(Figure(group, name, value, unit, target, ok, note))

    def at_most(self, group: str, name: str, value: float | None, limit: float, unit: str = "", note: str = ""):
        """A figure with an upper bound as its target."""
        ok = None if value is None else value <= limit
        self.add(group, name, value, unit, f"≤ {limit:g}", ok, note)

    def below(self, group: str, name: str, value: float | None, limit: float, unit: str = "", note: str = ""):
        ok = None if value is None else value < limit
        self.add(group, name, value, unit, f"< {limit:g}", ok, note)

    def table(self, title: str, columns: list[str], rows: list[list[Any]]) -> None:
        """A table of its own in RESULTS.md (e.g. one row per step); floats are rounded for reading."""
        rounded = [[round(cell, 3) if isinstance(cell, float) else cell for cell in row] for row in rows]
        self.tables.append({"title": title, "columns": columns, "rows": rounded})

    def emit(self) -> dict[str, Any]:
        """Print the figures for people, then the RESULT line for run_all.py."""
        payload = {
            "script": self.script,
            "command": command_line(),
            "machine": machine(),
            "figures": [asdict(figure) for figure in self.figures],
            "tables": self.tables,
            "notes": self.notes,
            **self.extra,
        }
        print()
        for table in self.tables:
            print(table["title"])
            print("  " + " | ".join(table["columns"]))
            for row in table["rows"]:
                print("  " + " | ".join("" if cell is None else str(cell) for cell in row))
            print()
        for figure in self.figures:
            target = f"  target {figure.target}: {'ok' if figure.ok else 'MISSED'}" if figure.ok is not None else ""
            value = figure.value if figure.value is not None else "n/a"
            print(f"{figure.group:>18} | {figure.name:<52} {value} {figure.unit}{target}")
        for note in self.notes:
            print(f"note: {note}")
        print(RESULT_PREFIX + json.dumps(payload), flush=True)
        return payload


def command_line() -> str:
    """The command as a person would type it from the repository root."""
    script = Path(sys.argv[0]).resolve()
    try:
        shown = str(script.relative_to(ROOT))
    except ValueError:
        shown = str(script)
    return shlex.join([".venv/bin/python", shown, *sys.argv[1:]])


def machine() -> dict[str, Any]:
    """Cores, memory, CPU model, GPU (or none), load and tool versions: what the figures depend on."""
    import psutil

    memory = psutil.virtual_memory().total
    return {
        "cpu_model": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "memory_gib": round(memory / 2**30, 1),
        "gpu": _gpu(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "os": platform.platform(),
        "python": platform.python_version(),
        "ffmpeg": _ffmpeg_version(),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _gpu() -> str:
    if shutil.which("nvidia-smi"):
        found = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=False).stdout.strip()
        if found:
            return "; ".join(found.splitlines())
    try:
        import ctranslate2

        if ctranslate2.get_cuda_device_count() > 0:
            return f"{ctranslate2.get_cuda_device_count()} CUDA device(s)"
    except Exception:  # a broken CUDA install must not stop a CPU benchmark
        pass
    return "none"


def _ffmpeg_version() -> str:
    from pipeline.media import ffmpeg_binary

    binary = ffmpeg_binary(os.environ.get("FFMPEG_PATH", ""))
    first = subprocess.run([binary, "-version"], capture_output=True, text=True, check=False).stdout.splitlines()
    return first[0].split(" Copyright")[0] if first else binary


def describe_machine(info: dict[str, Any]) -> str:
    return (
        f"{info['cpu_model']}, {info['usable_cores']} usable of {info['logical_cores']} logical cores, "
        f"{info['memory_gib']} GiB memory, GPU: {info['gpu']}, load average {info['load_average']}"
    )


def parse_result(stdout: str) -> dict[str, Any] | None:
    """The last RESULT line of a script's output."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    return None
