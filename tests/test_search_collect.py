"""The page chosen from per-segment matches: the Python sort of a few matches and the
numpy ranking of many rank alike (score descending, then segment, then doc)."""

from __future__ import annotations

import numpy as np
import pytest

from bnsearch.articles import Article
from bnsearch.index import Index
from bnsearch.search import Searcher, collect, kernel


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


@pytest.mark.skipif(kernel.core is None, reason="the compiled core is not built")
def test_the_compiled_sort_of_few_matches_ranks_as_python_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(11)
    levels = np.array([3.0, 2.5, 1.25, 1.0, 0.75], np.float32)
    for case in range(200):
        matched = []
        for _ in range(int(rng.integers(1, 13))):  # up to twelve segments, some empty
            size = int(rng.integers(0, 6))
            dtype = np.uint16 if case % 3 == 0 else np.int32
            docs = np.sort(rng.permutation(500)[:size]).astype(dtype)
            matched.append((docs, rng.choice(levels, size)))  # ties within and across
        assert sum(len(d) for d, _ in matched) <= collect.SMALL
        k = int(rng.integers(1, 25))
        # and among some of them (the rerank's candidates), picked in C or by numpy
        within = [np.sort(rng.permutation(len(d))[: int(rng.integers(0, 4))]) for d, _ in matched]
        compiled = collect.top([], matched, k, "score")
        among = collect.top([], matched, k, "score", within=within)
        with monkeypatch.context() as patch:
            patch.setattr(kernel, "core", None)
            python = collect.top([], matched, k, "score")
            python_among = collect.top([], matched, k, "score", within=within)
        assert compiled == python
        assert among == python_among
        assert len(among) == min(k, sum(map(len, within)))
        assert all(type(o) is int and type(d) is int and type(v) is float for o, d, v in compiled)
    # scores of another type than the core's float32: the Python sort serves
    wide = [(np.array([4, 2], np.int32), np.array([1.0, 2.0], np.float64))]
    assert collect.top([], wide, 5, "score") == [(0, 2, 2.0), (0, 4, 1.0)]
    assert collect.top([], wide, 5, "score", within=[np.array([0])]) == [(0, 4, 1.0)]
    with pytest.raises(IndexError):  # an index past a segment's matches
        kernel.core.best_few([(np.array([4], np.int32), np.array([1.0], np.float32))], 1, [[1]])


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


@pytest.mark.skipif(kernel.core is None, reason="the compiled core is not built")
def test_the_compiled_best_few_rank_as_numpy_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """A page picked from a few matches of several segments (the core sorts up to 32 by
    insertion, more by qsort): the same hits in the same order as numpy's way, ties
    broken by segment, then doc."""
    rng = np.random.default_rng(29)
    levels = np.array([3.0, 2.5, 1.25, 1.0, 0.5], np.float32)
    for case in range(400):
        matched = []
        for _ in range(int(rng.integers(1, 6))):
            size = int(rng.integers(0, 14 if case % 2 else 40))
            docs = rng.permutation(500)[:size]
            matched.append((docs.astype(np.int32), rng.choice(levels, size)))  # many ties
        total = sum(len(d) for d, _ in matched)
        if total > collect.SMALL:
            continue
        k = int(rng.integers(1, 40))
        within = None
        if case % 3 == 0:  # (only some of each segment's matches)
            within = [np.flatnonzero(rng.random(len(d)) < 0.7) for d, _ in matched]
        compiled = collect.top([], matched, k, "score", within=within)
        with monkeypatch.context() as patch:
            patch.setattr(kernel, "core", None)
            numpy_way = collect.top([], matched, k, "score", within=within)
        assert compiled == numpy_way


@pytest.mark.skipif(kernel.core is None, reason="the compiled core is not built")
def test_the_compiled_choice_of_the_best_few_is_numpys_set_in_ascending_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(13)
    levels = np.array([3.0, 2.5, 1.25, 1.0, 0.0, -0.5], np.float32)
    for case in range(300):
        matched = []
        for _ in range(int(rng.integers(1, 13))):  # up to twelve segments, some empty
            size = int(rng.integers(0, 80))
            docs = rng.permutation(2000)[:size]  # unsorted (a field union) or ascending
            docs = np.sort(docs) if case % 2 else docs
            dtype = np.uint16 if case % 3 == 0 else np.int32
            matched.append((docs.astype(dtype), rng.choice(levels, size)))  # many ties
        k = int(rng.integers(0, 120))
        compiled = collect.best(matched, k)
        with monkeypatch.context() as patch:
            patch.setattr(kernel, "core", None)
            numpy_way = collect.best(matched, k)
        assert len(compiled) == len(matched)
        for mine, theirs in zip(compiled, numpy_way, strict=True):
            assert mine.tolist() == theirs.tolist()  # the same set, ascending on both paths
        assert sum(map(len, compiled)) == min(k, sum(len(d) for d, _ in matched))
    # other types than the core's (float64 scores, int64 docs): numpy's code serves
    wide = [(np.array([4, 2, 7], np.int64), np.array([1.0, 2.0, 2.0], np.float64))]
    assert kernel.core.best_indices(wide, 2) is None
    assert collect.best(wide, 2)[0].tolist() == [1, 2]
