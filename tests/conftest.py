"""Shared test helpers: where ../shared is, and skipping cleanly without it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def shared_file(relative: str) -> Path:
    """Path of a file in ../shared, or skip the test with the reason."""
    path = SHARED / relative
    if not path.is_file():
        pytest.skip(f"{path} is not here (../shared is absent): test needs the real corpus")
    return path


def iter_jsonl_texts(path: Path, *, limit: int | None = None) -> Iterator[str]:
    """Title and body texts of a corpus JSONL file."""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines):
            if limit is not None and number >= limit:
                return
            record = json.loads(line)
            for key in ("title", "body"):
                if record.get(key):
                    yield record[key]
