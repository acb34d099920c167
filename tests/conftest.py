"""Shared test helpers: where ../shared is, skipping cleanly without it, and the engine's
scoring strategies."""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import pytest

from bnsearch.articles import Article, read_articles
from bnsearch.index import Index, MergePolicy
from bnsearch.search import engine, kernel

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
# helper modules beside the tests (index_files.py) import as top-level modules
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))


def benchmark_module(name: str) -> ModuleType:
    """A module of ``benchmarks/`` (not a package: its scripts import each other by name),
    loaded from its file once."""
    module = sys.modules.get(f"benchmarks_{name}")
    if module is None:
        path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(f"benchmarks_{name}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # before running it: attrs classes look it up
        spec.loader.exec_module(module)
    return module


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


@pytest.fixture(params=["dense", "word-by-word"])
def flat_strategy(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways the engine sums a bag of words: a dense units x docs table, or word by
    word (the way of large segments)."""
    dense = request.param == "dense"
    monkeypatch.setattr(engine, "DENSE_FLAT_CELLS", 10**12 if dense else -1)
    monkeypatch.setattr(engine, "DENSE_MAX_CELLS", 10**12)
    monkeypatch.setattr(engine, "DENSE_CELLS_PER_POSTING", 10**6 if dense else -1)
    return str(request.param)


def index_of(*batches: Iterable[Article], keep_deletes: bool = False) -> Index:
    """An in-memory index with one commit (so one segment) per batch of articles.

    ``keep_deletes`` turns merges off, so an article a later batch replaces stays in its
    old segment as a delete (for tests of deletes across segments).
    """
    index = Index.in_memory()
    policy = MergePolicy(merge_factor=100, max_deleted_ratio=1.0) if keep_deletes else None
    for batch in batches:
        with index.writer(merge_policy=policy) as writer:
            for article in batch:
                writer.add(article)
    return index


def corpora_with_deletes() -> Index:
    """BQA passages, BeliN articles, then 300 of both again (deletes in both earlier
    segments); merges off: three segments. Skips without ../shared."""
    bqa = list(read_articles(shared_file("corpus/bqa_passages.jsonl")))
    belin = list(read_articles(shared_file("corpus/belin_religious_news.jsonl")))
    again = [Article(id=a.id, title=a.body[:40], body=a.title) for a in bqa[::13][:150]]
    return index_of(bqa, belin, again + belin[::7][:150], keep_deletes=True)


def compiled_core() -> ModuleType:
    """The compiled query core; the calling test skips, with the reason, where it was
    not built."""
    try:
        return importlib.import_module("bnsearch.search._kernel")
    except ImportError as error:  # pragma: no cover - depends on the build
        pytest.skip(f"the compiled core is not built: {error}")


@contextmanager
def query_path(core: ModuleType | None) -> Iterator[None]:
    """Searches inside run on ``core`` (the compiled module) or, given None, on the numpy
    path (the reference)."""
    saved = kernel.core
    kernel.core = core
    try:
        yield
    finally:
        kernel.core = saved


@pytest.fixture(params=["compiled", "numpy"])
def query_core(request: pytest.FixtureRequest) -> ModuleType | None:
    """Each test run twice: on the compiled core and on the numpy path (``None``); use
    with :func:`query_path`."""
    return None if request.param == "numpy" else compiled_core()
