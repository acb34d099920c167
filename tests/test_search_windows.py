"""A lone unit of many slices (a prefix's expansions) evaluated window by window.

The compiled core sums such a unit's postings a window of docs at a time in tables the
cache holds (``_windows`` in ``_kernel.pyx``) when a page is asked for; the exhaustive
pass (no page: the per-doc tables over the whole segment) is its reference. Here
``score_segment`` is called directly with random slices, term-frequency and doc types,
multipliers, form flags and bonuses, masks, floors and window sizes down to one doc,
so windows' edges fall everywhere; and a prefix with many expansions is searched on the
corpus with small windows on both paths. Skipped without the built extension.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from bnsearch.articles import read_articles
from bnsearch.errors import IndexFormatError
from bnsearch.search import Searcher

from .conftest import compiled_core, index_of, query_path, shared_file
from .test_search_blocks_random import _random_multipliers, exhaustive_page, lone_unit_case


@pytest.fixture(scope="module")
def core() -> ModuleType:
    return compiled_core()


@contextmanager
def window(core: ModuleType, size: int) -> Iterator[None]:
    """The core's windows hold ``size`` docs inside (the default after)."""
    saved = core._set_window(size)
    try:
        yield
    finally:
        core._set_window(saved)


def _random_prefix(rng: np.random.Generator) -> dict[str, Any]:
    """One unit of 3 to 40 slices (a prefix's expansions in one or two fields) in one
    segment: lists long and short, docs shared between them, sometimes form flags and a
    bonus, sometimes postings whose ``x`` is zero."""
    max_doc = int(rng.integers(50, 4000))
    n_slices = int(rng.integers(3, 41))
    doc_type = np.uint16 if rng.random() < 0.5 else np.int32
    with_forms = bool(rng.random() < 0.4)
    docs, tfs, mults, forms = [], [], [], []
    field_mults = [_random_multipliers(rng, max_doc) for _ in range(2)]
    if rng.random() < 0.1:  # a field whose multipliers are zero: postings of x = 0
        field_mults[1] = np.zeros(max_doc, np.float32)
    for number in range(n_slices):
        length = int(rng.integers(1, max_doc + 1) if rng.random() < 0.3 else rng.integers(1, 60))
        docs.append(np.sort(rng.choice(max_doc, size=min(length, max_doc), replace=False)))
        docs[-1] = docs[-1].astype(doc_type)
        tf_type = rng.choice([np.uint8, np.uint16, np.uint32, np.int64])
        tfs.append(rng.integers(1, int(rng.choice([2, 5, 50])), size=len(docs[-1])).astype(tf_type))
        mults.append(field_mults[number % 2])
        forms.append(
            rng.integers(0, 4, size=len(docs[-1])).astype(np.uint8) if with_forms else None
        )
    return lone_unit_case(rng, (docs, tfs, mults, forms), with_forms, max_doc)


def test_windows_keep_the_exhaustive_page_on_random_prefixes(core: ModuleType) -> None:
    """The best ``keep`` (score, then doc), their scores to the bit and the exact count
    are the exhaustive pass's, whatever the window's size, the mask and the floor."""
    rng = np.random.default_rng(20261207)
    floored = crossed = 0
    for case in range(400):
        unit = _random_prefix(rng)
        arrays, keep = unit["arrays"], unit["keep"]
        every_docs, every_scores, every_count, best, floor = exhaustive_page(
            core, rng, arrays, keep, 0.3
        )
        floored += floor > 0
        size = int(rng.choice([1, 7, 64, 1000, 1 << 14]))
        crossed += size < arrays[-1]
        with window(core, size):
            docs, scores, count, pruned = core.score_segment(
                *arrays, keep, False, unit["min_total"], None, floor
            )
        assert docs.tolist() == best.tolist(), case
        assert scores.tolist() == every_scores[np.searchsorted(every_docs, best)].tolist(), case
        assert count == every_count and not pruned, case
    assert floored > 80 and crossed > 250  # (the cases do reach floors and windows' edges)


def test_a_memo_of_x_written_then_read_keeps_page_scores_and_count(core: ModuleType) -> None:
    """With a memo of its postings' ``x`` (``xs``), the first call writes each posting's
    ``tf * mult[doc]`` (the slices' end to end) and marks it written; the next reads it:
    both give the exhaustive page, its scores to the bit and the exact count. A memo
    holding other values is what the second call scores by (the memo is read, not the
    multipliers), and one of the wrong size is refused."""
    rng = np.random.default_rng(20261208)
    changed = 0
    for case in range(200):
        unit = _random_prefix(rng)
        arrays, keep = unit["arrays"], unit["keep"]
        every_docs, every_scores, every_count, best, floor = exhaustive_page(
            core, rng, arrays, keep, 0.3
        )
        docs_l, tfs_l, mults_l = arrays[:3]
        x = np.concatenate(
            [
                np.multiply(t, m[d.astype(np.int64)], dtype=np.float32)
                for d, t, m in zip(docs_l, tfs_l, mults_l, strict=True)
            ]
        )
        memo = np.zeros(len(x) + 1, dtype=np.float32)
        size = int(rng.choice([7, 1000, 1 << 14]))
        with window(core, size):
            for call in range(2):
                docs, scores, count, pruned = core.score_segment(
                    *arrays, keep, False, unit["min_total"], None, floor, memo
                )
                assert docs.tolist() == best.tolist(), (case, call)
                expected = every_scores[np.searchsorted(every_docs, best)].tolist()
                assert scores.tolist() == expected, (case, call)
                assert count == every_count and not pruned, (case, call)
                assert memo[:-1].tolist() == x.tolist() and memo[-1] == 1, (case, call)
            other = memo.copy()
            other[:-1] = other[:-1] * np.float32(2) + np.float32(1)
            docs, scores, _, _ = core.score_segment(
                *arrays, keep, False, unit["min_total"], None, floor, other
            )
            changed += scores.tolist() != expected
            with pytest.raises(ValueError, match="memo of x"):
                core.score_segment(*arrays, keep, False, 0, None, 0, memo[1:])
    assert changed > 100  # (k1 is 0 in about a third: a score then ignores x; seed fixed)


@pytest.mark.parametrize("size", [1, 16, 1 << 14])
def test_a_prefix_naming_a_doc_outside_the_segment_raises(core: ModuleType, size: int) -> None:
    """Postings of a many-slice unit that name a doc outside the segment (negative, at
    or past its end, or out of order across a window's edge) raise IndexFormatError,
    never a read or write out of bounds, and leave the shared tables clean: the same
    call on good postings then gives the exhaustive page."""
    max_doc = 100
    good = [np.arange(start, max_doc, 3, dtype=np.int32) for start in range(3)]
    mult = np.ones(max_doc, dtype=np.float32)
    figures = (np.ones(1, np.float32), np.ones(1, np.uint8), np.ones(1, np.float32))

    def call(slices: list[Any], keep: int = 5) -> Any:
        n = len(slices)
        return core.score_segment(
            slices,
            [np.full(len(d), 2, np.uint8) for d in slices],
            [mult] * n,
            [np.ones(len(d), np.uint8) for d in slices],
            np.zeros(n, np.int32),
            *figures,
            1.2,
            None,
            max_doc,
            keep,
        )

    every_docs, every_scores, _, _ = call(good, keep=0)
    best = np.sort(every_docs[np.lexsort((every_docs, -every_scores))[:5]])
    bads = [[-1, 5], [5, max_doc], [3, max_doc + 600], [7, -2]]
    if size <= 20:  # (docs out of order within one window are summed as they come)
        bads.append([60, 20])
    with window(core, size):
        for bad in bads:
            for at in range(3):
                slices = list(good)
                slices.insert(at, np.array(bad, dtype=np.int32))
                with pytest.raises(IndexFormatError, match="outside its segment"):
                    call(slices)
                docs, scores, count, _ = call(good)
                assert docs.tolist() == best.tolist()
                assert scores.tolist() == every_scores[np.searchsorted(every_docs, best)].tolist()
                assert count == len(every_docs)


@pytest.fixture(scope="module")
def searcher() -> Searcher:
    """BQA passages and BeliN articles, some BeliN articles added again (deletes)."""
    bqa = list(read_articles(shared_file("corpus/bqa_passages.jsonl")))
    belin = list(read_articles(shared_file("corpus/belin_religious_news.jsonl")))
    return Searcher(index_of(bqa, belin, belin[::9][:200], keep_deletes=True).reader())


@pytest.mark.parametrize("size", [37, 1024, 1 << 14])
def test_prefixes_of_many_expansions_rank_as_numpy_does(
    searcher: Searcher, core: ModuleType, size: int
) -> None:
    """Prefixes that expand to dozens of words in title and body, on the compiled core
    (windows of ``size`` docs) and on the numpy path: the same page (ids, scores within
    1e-9), totals and marks, on the first page and a later one, filtered or not."""
    checked = 0
    with window(core, size):
        for prefix in ("প্র*", "স*", "বি*", "আল*", "মুস*", "কর*", "title:প্র*"):
            for options in ({}, {"offset": 10, "limit": 7}, {"filter": {"section": "ধর্ম"}}):
                with query_path(core):
                    compiled = searcher.search(prefix, **options)
                with query_path(None):
                    reference = searcher.search(prefix, **options)
                assert compiled.ids == reference.ids, (prefix, options)
                assert compiled.total == reference.total, (prefix, options)
                assert compiled.total_is_exact == reference.total_is_exact, (prefix, options)
                for mine, theirs in zip(compiled.hits, reference.hits, strict=True):
                    assert abs(mine.score - theirs.score) <= 1e-9, (prefix, mine.id)
                    assert mine.highlights == theirs.highlights, (prefix, mine.id)
                checked += len(compiled.hits) > 0
    assert checked >= 14  # the prefixes do find pages (the comparison is not empty)
