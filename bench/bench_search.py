"""Search across the library: a phrase found in three videos among 1,000 videos' transcripts.

Fills a fresh database (SQLite by default, the app's default; `--postgresql` also on a throwaway
PostgreSQL cluster) with `--videos` transcripts of `--segments` sentences each (about an hour of talk
each: Whisper gives a sentence every 5 s), drawn from a vocabulary of about 12,000 words with a Zipf law like
speech, and puts one rare phrase in three of them. Then it times `operations.search.search` (what `GET /api/search`
runs: the full-text query, the speakers and the Q&A of each hit) for the phrase, a rare word and a common
word, `--repeat` times each, and prints p50 and p95 against the target of 100 ms.

    .venv/bin/python bench/bench_search.py [--videos 1000] [--segments 720] [--postgresql]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import store.engine
import store.schema
import store.speakers
import store.transcripts
import store.videos
from bench.report import Report
from operations import videos
from operations.search import search
from operations.step_service import StepService
from operations.unit_of_work import UnitOfWork
from pipeline.types import Segment
from tests.support.postgres import INSTALL_HINT, PostgresServer, server_binaries

TARGET_MS = 100.0
PHRASE = "purple harbour lanterns"
COMMON = ["the", "and", "to", "of", "a", "I", "you", "it", "in", "that", "we", "so", "like", "know", "just"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=1000)
    parser.add_argument("--segments", type=int, default=720, help="sentences per transcript")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--postgresql", action="store_true", help="also on PostgreSQL")
    return parser.parse_args()


def vocabulary(rng: random.Random, size: int = 20_000) -> list[str]:
    syllables = ["ba", "ko", "ri", "tes", "mon", "la", "vid", "er", "sun", "pa", "lo", "gar", "den", "mi", "stra"]
    words = {"".join(rng.choice(syllables) for _ in range(rng.randint(1, 4))) for _ in range(size * 2)}
    return COMMON + sorted(words)[: size - len(COMMON)]


def sentences(rng: random.Random, words: list[str], count: int) -> list[str]:
    weights = [1 / (rank + 1) for rank in range(len(words))]  # Zipf: a few words most of the time
    drawn = rng.choices(words, weights, k=count * 12)
    return [" ".join(drawn[n * 12 : n * 12 + rng.randint(6, 12)]).capitalize() + "." for n in range(count)]


def fill(conn: store.engine.Database, args: argparse.Namespace) -> tuple[float, set[int], list[str]]:
    rng = random.Random(7)
    words = vocabulary(rng)
    chosen = set(rng.sample(range(args.videos), 3))
    started = time.perf_counter()
    with_phrase = set()
    for n in range(args.videos):
        lines = sentences(rng, words, args.segments)
        if n in chosen:
            spot = rng.randrange(len(lines))
            lines[spot] = f"We lit the {PHRASE} that night."
        segments = [
            Segment(5.0 * i, 5.0 * i + 4.5, f" {text}", (), f"SPEAKER_0{i % 2}") for i, text in enumerate(lines)
        ]
        with store.engine.transaction(conn):
            video_id = videos.create_video(conn, videos.VideoRequest(url=f"https://example.org/watch?v={n}"))
            store.videos.update_video(conn, video_id, title=f"Episode {n}")
            store.transcripts.append_segments(conn, video_id, segments, first_position=0)
            store.speakers.ensure_speakers(conn, video_id, ["SPEAKER_00", "SPEAKER_01"])
        if n in chosen:
            with_phrase.add(video_id)
    return time.perf_counter() - started, with_phrase, words


def timed(conn: store.engine.Database, query: str, repeat: int) -> tuple[list[float], list[dict]]:
    times, hits = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        hits = search(UnitOfWork(conn, StepService(conn)), query)
        times.append((time.perf_counter() - started) * 1000)
    return times, hits


def measure(report: Report, name: str, conn: store.engine.Database, args: argparse.Namespace) -> None:
    seconds, with_phrase, words = fill(conn, args)
    report.add(name, f"indexing {args.videos} transcripts × {args.segments} sentences", seconds, "s")
    rare_word = words[len(words) * 3 // 4]  # far down the Zipf tail: a few dozen sentences in the library
    for label, query in ((f'phrase "{PHRASE}"', f'"{PHRASE}"'), ("rare word", rare_word), ("common word", "know")):
        times, hits = timed(conn, query, args.repeat)
        p95 = sorted(times)[int(0.95 * (len(times) - 1))]
        if label.startswith("phrase"):
            found = {hit["video_id"] for hit in hits}
            report.add(
                name,
                "phrase found in exactly its three videos",
                found == with_phrase,
                "",
                "= True",
                found == with_phrase,
            )
            report.below(name, f"{label}: p95", p95, TARGET_MS, "ms", note=f"p50 {statistics.median(times):.1f} ms")
        else:
            report.add(
                name,
                f"{label}: p50 / p95 ({len(hits)} hits shown)",
                f"{statistics.median(times):.1f} / {p95:.1f}",
                "ms",
            )


def main() -> int:
    args = parse_args()
    report = Report("bench_search")
    workdir = Path(tempfile.mkdtemp(prefix="bench-search-"))
    sqlite = store.schema.open_database(workdir / "clipper.db")
    measure(report, "SQLite (FTS5)", sqlite, args)
    sqlite.close()
    if args.postgresql:
        binaries = server_binaries()
        if binaries is None:
            report.notes.append(f"PostgreSQL skipped: {INSTALL_HINT}")
        else:
            server = PostgresServer(binaries).start()
            try:
                conn = store.schema.open_database(server.new_database())
                measure(report, "PostgreSQL (GIN tsvector)", conn, args)
                conn.close()
            finally:
                server.stop()
    report.notes.append(f"{args.repeat} searches each, through operations.search.search (what GET /api/search runs)")
    report.emit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
