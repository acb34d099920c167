"""A unit's joined memo is made the second time it is scored, not the first: a query of
words never seen scores a long unit from its slices (a join is a pass over every posting
that one query does not repay), and the page is the same either way."""

from __future__ import annotations

from types import ModuleType

import pytest

import bnsearch.search.engine as engine_module
from bnsearch.articles import Article
from bnsearch.index import Index
from bnsearch.search import Searcher

from .conftest import compiled_core, query_path

WORDS = ("ঢাকা", "শহর", "নদী", "বাজার", "মানুষ", "সরকার", "খেলা", "বৃষ্টি")


def _searcher() -> Searcher:
    index = Index.in_memory()
    with index.writer() as writer:
        for number in range(600):
            body = " ".join(WORDS[(number * k + k) % len(WORDS)] for k in range(1, 12))
            writer.add(Article(id=f"a{number}", title=WORDS[number % len(WORDS)], body=body))
    return Searcher(index.reader())


def _memos(searcher: Searcher) -> list[object]:
    return [m for r in searcher._ctx.units.values() for m in (r.joined or {}).values()]


def test_a_unit_is_joined_when_scored_again_with_the_same_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    core: ModuleType = compiled_core()
    # the small test segment joins as a large one would (the rule under test is when)
    monkeypatch.setattr(engine_module, "JOIN_MIN_DOCS", 1)
    monkeypatch.setattr(engine_module, "JOIN_MIN_POSTINGS", 1)
    searcher = _searcher()
    query = "ঢাকা শহর নদী"
    with query_path(core):
        first = searcher.search(query, limit=10, highlight=False, stored=False)
        assert searcher._ctx.joined_bytes == 0  # first sight: nothing joined
        assert _memos(searcher) and not any(isinstance(m, tuple) for m in _memos(searcher))
        searcher._plans.clear()
        searcher._ctx.calls.clear()  # (the units kept: a new query of words seen)
        second = searcher.search(query, limit=10, highlight=False, stored=False)
        assert searcher._ctx.joined_bytes > 0  # scored again: joined now
        assert any(isinstance(m, tuple) for m in _memos(searcher))
    with query_path(None):
        reference = Searcher(searcher._ctx.reader).search(
            query, limit=10, highlight=False, stored=False
        )
    assert first.ids == second.ids == reference.ids
    assert [h.score for h in first] == [h.score for h in second] == [h.score for h in reference]
