"""Copy this instance's database into another one, e.g. from SQLite to PostgreSQL before adding hosts.

    .venv/bin/python copy_database.py postgresql://clipper:<password>@10.0.0.1/clipper

The source is the database the settings name (DATABASE_URL, else DATABASE_PATH); the target must be
empty (a new database). Stop the app and its workers first; afterwards set DATABASE_URL to the target.
"""

from __future__ import annotations

import argparse
import sys

import store.copy
import store.engine
from config import ConfigError, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", help="postgresql://... URL, or a SQLite file path")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    if args.target == settings.database:
        print("the target is the database in use: name another one", file=sys.stderr)
        return 2
    source, target = store.engine.connect_to(settings), store.engine.connect(args.target, settings.data_dir)
    try:
        store.copy.copy_store(source, target)
    except ValueError as error:
        print(f"not copied: {error}", file=sys.stderr)
        return 1
    finally:
        source.close()
        target.close()
    print(f"done: set DATABASE_URL={args.target} (in .env) and start the app again")
    return 0


if __name__ == "__main__":
    sys.exit(main())
