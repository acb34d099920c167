"""The page chosen from per-segment matches: the Python sort of a few matches and the
numpy ranking of many rank alike (score descending, then segment, then doc)."""

from __future__ import annotations

import numpy as np
import pytest

from bnsearch.articles import Article
from bnsearch.index import Index
from bnsearch.search import Searcher, collect


def test_few_matches_rank_as_many_do_with_ties_across_segments() -> None:
    rng = np.random.default_rng(5)
    matched = []
    for size in (300, 1, 0, 250):
        docs = rng.permutation(1000)[:size].astype(np.int32)  # unsorted, as a field union
        # few distinct scores: ties within and across segments; one negative score
        scores = rng.choice(np.array([2.5, 1.25, 1.0, 0.0, -0.5], np.float32), size)
        matched.append((docs, scores))
    for k in (1, 10, 40):
        many = collect.top([], matched, k, "score")  # > SMALL matches: numpy's lexsort
        within = collect.best(matched, k)
        assert sum(map(len, within)) <= collect.SMALL
        few = collect.top([], matched, k, "score", within=within)  # the Python sort
        assert few == many
        assert len(few) == k
        keys = [(-score, ordinal, doc) for ordinal, doc, score in few]
        assert keys == sorted(keys)
        assert all(isinstance(score, float) for _, _, score in few)


def test_default_fields_are_read_only_since_kept_plans_are_keyed_by_them() -> None:
    # the kept plans' key takes the default weights once, at construction: a change made
    # afterwards would have been used by new queries and ignored by repeated ones
    index = Index.in_memory()
    with index.writer() as writer:
        writer.add(Article(id="a", title="ঢাকা নগর", body="পদ্মা মেঘনা"))
    searcher = Searcher(index.reader(), default_fields={"title": 1.0, "body": 2.0})
    with pytest.raises(TypeError):
        searcher.default_fields["title"] = 9.0  # type: ignore[index]
    assert dict(searcher.default_fields) == {"title": 1.0, "body": 2.0}
    assert searcher.refresh().default_fields == searcher.default_fields
