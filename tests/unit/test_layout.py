"""Rules of the code layout that a linter does not check (import-linter checks the layers)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP_PACKAGES = ("routes", "tasks", "operations", "events", "runtime", "store", "pipeline")
APP_CODE = [
    ROOT / "app.py",
    ROOT / "serve.py",
    *(
        path
        for package in ("pipeline", "store", "operations", "events", "runtime")
        for path in (ROOT / package).rglob("*.py")
    ),
]
STORE = list((ROOT / "store").rglob("*.py"))  # the SQL modules and the migrations


def test_only_the_store_reads_database_rows():
    """Everything above the store reads typed records (`video.title`), never `row["title"]`."""
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in APP_CODE
        if path not in STORE
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if re.search(r"\b(row|sqlite3\.Row)\b.*\[[\"']\w+[\"']\]", line)
    ]
    assert offenders == []


def test_sql_is_written_only_in_the_store_and_its_migrations():
    allowed = set(STORE)
    offenders = [
        str(path.relative_to(ROOT))
        for path in APP_CODE
        if path not in allowed and re.search(r"\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM)\b", path.read_text())
    ]
    assert offenders == []
