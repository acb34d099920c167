"""The BeliN news corpus from ``../shared`` beside the repository, for the benchmarks.

One loader for both the pytest fixtures (``conftest.py``) and the indexing benchmark's
child processes (``bench_indexing.py`` runs itself as a script, which cannot import
``conftest``; it puts this folder on ``sys.path`` instead).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
BELIN = SHARED / "corpus" / "belin_religious_news.jsonl"


def load_records(limit: int | None = None) -> list[dict[str, Any]]:
    """The first ``limit`` BeliN articles (all with ``None``) as parsed JSON objects
    (id, title, body, section, source, ...); blank lines are skipped."""
    records: list[dict[str, Any]] = []
    with BELIN.open(encoding="utf-8") as lines:
        for line in lines:
            if limit is not None and len(records) >= limit:
                break
            if line.strip():
                records.append(json.loads(line))
    return records
