"""Ties on the page: equal scores are ordered by segment, then doc, on both paths.

A word in two fields is one unit whose docs the numpy path gathers as the union of the
fields' posting lists (the longest list, then the docs the others add), so its matches
are not in doc order; picking each segment's best by array index then kept the wrong
ones of a run of equal scores (the compiled core keeps score, then doc)."""

from __future__ import annotations

from types import ModuleType

import pytest

from bnsearch.articles import Article
from bnsearch.index import Index, MergePolicy
from bnsearch.search import Searcher

from .conftest import query_path


@pytest.fixture(scope="module")
def searcher() -> Searcher:
    """Two segments of ten docs; docs 0-2 hold the word in the title, docs 3-9 in the
    body; every title and body is two words long, so all twenty score the same."""
    index = Index.in_memory()
    for segment in range(2):
        with index.writer(merge_policy=MergePolicy(merge_factor=100)) as writer:
            for doc in range(10):
                found, other = "ঢাকা নগর", "পদ্মা মেঘনা"
                title, body = (found, other) if doc < 3 else (other, found)
                writer.add(Article(id=f"s{segment}d{doc}", title=title, body=body))
    reader = index.reader()
    assert len(reader.segments) == 2
    return Searcher(reader, default_fields={"title": 1.0, "body": 1.0})


@pytest.mark.parametrize("sort", ["score", "-date", "date"])
@pytest.mark.parametrize("limit", [1, 3, 5, 12])
def test_equal_scores_go_by_segment_then_doc(
    searcher: Searcher, query_core: ModuleType | None, limit: int, sort: str
) -> None:
    """(No article has a date: by date, every match ties too.)"""
    with query_path(query_core):
        results = searcher.search("ঢাকা", limit=limit, stored=False, sort=sort)
    assert results.total == 20
    assert len({hit.score for hit in results}) == 1  # a tie throughout
    expected = [f"s{n // 10}d{n % 10}" for n in range(20)][:limit]
    assert results.ids == expected
