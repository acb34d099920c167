"""Shared benchmark fixtures: the BeliN news corpus from ``../shared`` beside the repository.

``--corpus-limit N`` keeps the first N articles (for a quick run). The corpus is read once
per session; benchmarks skip, with the reason, when it is absent.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # --import-mode=importlib: no path
from corpus import BELIN, load_records


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--corpus-limit",
        type=int,
        default=None,
        metavar="N",
        help="benchmarks: use only the first N articles of the corpus",
    )


@pytest.fixture(scope="session")
def corpus_records(request: pytest.FixtureRequest) -> list[dict[str, object]]:
    """The BeliN articles as parsed JSON objects (id, title, body, section, source, ...)."""
    if not BELIN.is_file():
        pytest.skip(f"benchmark corpus not found: {BELIN} (it lives in ../shared beside the repo)")
    limit: int | None = request.config.getoption("--corpus-limit")
    return load_records(limit)


@pytest.fixture(scope="session")
def corpus_bodies(corpus_records: list[dict[str, object]]) -> list[str]:
    """The article bodies, as a list of str."""
    return [str(record["body"]) for record in corpus_records]


@pytest.fixture(scope="session")
def corpus_titles(corpus_records: list[dict[str, object]]) -> list[str]:
    """The headlines, as a list of str."""
    return [str(record["title"]) for record in corpus_records]
