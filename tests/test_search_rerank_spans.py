"""Search room: the rerank's field reads as spans of a field's whole postings
(:meth:`TermTable.position_spans` of ``SegmentReader.position_table``'s table) are
the runs :meth:`TermTable.position_runs` gives as views, and the compiled
``proximity_scores`` reading them gives the bonus it gives from views (and the search
the ids and scores). Skipped where the compiled modules were not built."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

from bnsearch import Index
from bnsearch.index import segment as segment_module
from bnsearch.index.segment import SegmentReader, encoded_terms
from bnsearch.search.searcher import Searcher

from .conftest import compiled_core, index_of, query_path
from .test_search_position_runs import WORDS, _articles, _terms_module


@pytest.fixture(scope="module")
def index() -> Index:
    return index_of(_articles(3, 200), _articles(4, 150))


def _spans(segment: SegmentReader, field: str, encoded: list[Any], walk: int) -> tuple[Any, ...]:
    """The field's held table's spans of ``encoded`` and the field's positions."""
    held = segment.position_table(field)
    assert held is not None
    laid = held[0].position_spans(encoded, walk)
    assert laid is not None
    return (*laid, held[1])


def _fields_in_both_forms(index: Index, walk: int) -> list[tuple[Any, Any]]:
    """Per segment and field, its reads for every term and a few others, as views
    (``position_runs``) and as spans (the held table's ``position_spans``)."""
    found = []
    for segment in index.reader().segments:
        for field in ("title", "body"):
            terms = [*segment.terms(field), "নেই", "\ud800", WORDS[0], "", WORDS[0]]
            encoded = encoded_terms(terms)
            views = segment.position_runs(field, encoded, walk)
            spans = _spans(segment, field, encoded, walk)
            assert views is not None
            found.append((views, spans))
    return found


@pytest.mark.parametrize("walk", [-1, 0, 40, 10**9])
def test_spans_are_the_runs_as_views(index: Index, walk: int) -> None:
    """Per word with postings, in the order asked: its span of the whole postings holds
    the docs and tfs the views hold, ``first`` its first position (-1 past ``walk``,
    counted in ``long``); the same indices and position array."""
    _terms_module()
    if segment_module._TERMS is None:  # (BNSEARCH_PURE_PYTHON: no table serves)
        pytest.skip("the segments read without their compiled term tables")
    asked = 0
    for (docs, places, indices, positions), spanned in _fields_in_both_forms(index, walk):
        all_docs, all_tfs, spans, span_indices, long, span_positions = spanned
        assert spans.dtype == np.int64 and spans.shape == (len(docs), 3)
        assert span_indices.dtype == np.int32 and span_indices.tolist() == indices.tolist()
        assert span_positions is positions
        assert long == sum(place is None for place in places)
        for (start, end, first), view, place in zip(spans.tolist(), docs, places, strict=True):
            assert all_docs[start:end].dtype == view.dtype
            assert np.array_equal(all_docs[start:end], view)
            if place is None:
                assert first == -1
            else:
                assert first == place[1] and np.array_equal(all_tfs[start:end], place[0])
            asked += 1
    assert asked > 40


def test_spans_wait_for_position_pointers() -> None:
    module = _terms_module()
    blob = np.frombuffer("কখগ".encode(), dtype=np.uint8)
    table = module.TermTable(blob, np.array([0, 3, 6, 9], dtype=np.uint32))
    with pytest.raises(ValueError):
        table.position_spans([], 1)
    docs, tfs = np.arange(5, dtype=np.int32), np.array([1, 2, 1, 3, 1], dtype=np.uint16)
    assert table.hold(np.array([0, 2, 2, 5], np.uint32), docs, tfs, None)
    assert table.hold_positions(np.array([0, 3, 3], dtype=np.int64))
    got_docs, got_tfs, spans, indices, long = table.position_spans(
        ["গ".encode(), None, "খ".encode(), "ক".encode(), b"x"], 2
    )
    assert got_docs is docs and got_tfs is tfs
    assert spans.tolist() == [[2, 5, -1], [0, 2, 0]] and indices.tolist() == [0, 3]
    assert long == 1


def _bonus_both_ways(index: Index, walk: int) -> tuple[int, int]:
    """``proximity_scores`` over every field's reads as views and as spans (long lists
    by their offsets): the same bonus; returns (docs with a bonus, entries)."""
    core = compiled_core()
    rng = np.random.default_rng(walk + 2)
    bonused = entries = 0
    for segment in index.reader().segments:
        fields_views, fields_spans = [], []
        for field in ("title", "body"):
            encoded = encoded_terms(WORDS)
            views, places, labels, positions = segment.position_runs(field, encoded, walk)
            all_docs, all_tfs, spans, _, long, _ = _spans(segment, field, encoded, walk)
            offsets = []
            for at, place in enumerate(places):
                if place is None:  # (a long list: its offsets)
                    run = segment.position_run(field, WORDS[labels[at]])
                    assert run is not None
                    counted = np.concatenate(([0], np.cumsum(run[1], dtype=np.int64)))
                    offsets.append(counted + run[2])
                else:
                    offsets.append(place)
            multiplier = rng.uniform(0.5, 2.0, segment.max_doc).astype(np.float32)
            fields_views.append((views, offsets, positions, labels, multiplier))
            fields_spans.append(
                (
                    (all_docs, all_tfs, spans),
                    offsets if long else None,
                    positions,
                    labels,
                    multiplier,
                )
            )
            entries += len(labels)
        size = len(WORDS)
        pair_row = np.full((size, size, 3), -1, dtype=np.int64)
        for row in range(size - 1):
            pair_row[row, row + 1, 1] = row
            pair_row[row + 1, row, 2] = size - 1 + row
        weights = np.linspace(0.5, 2.0, 2 * size - 2).astype(np.float32)
        docs = np.sort(rng.choice(segment.max_doc, 60, replace=False)).astype(np.int32)
        want = core.proximity_scores(fields_views, docs, pair_row, weights, 0.3)
        got = core.proximity_scores(fields_spans, docs, pair_row, weights, 0.3)
        assert got.dtype == np.float32 and np.array_equal(got, want)
        bonused += int(np.count_nonzero(want))
    return bonused, entries


@pytest.mark.parametrize("walk", [-1, 40, 10**9])
def test_the_bonus_from_spans_is_the_bonus_from_views(index: Index, walk: int) -> None:
    _terms_module()
    if segment_module._TERMS is None:
        pytest.skip("the segments read without their compiled term tables")
    bonused, entries = _bonus_both_ways(index, walk)
    assert bonused > 20 and entries > 20


def test_a_span_outside_the_postings_is_refused() -> None:
    core = compiled_core()
    docs = np.arange(10, dtype=np.int32)
    tfs = np.full(10, 2, dtype=np.uint8)  # (each doc: two positions side by side)
    pair_row = np.full((1, 1, 3), -1, dtype=np.int64)
    pair_row[0, 0, 1] = 0
    weights = np.ones(1, dtype=np.float32)
    positions = np.arange(20, dtype=np.uint32)
    multiplier = np.ones(10, dtype=np.float32)
    labels = np.zeros(1, dtype=np.int32)
    for bad in ([[4, 11, 0]], [[5, 4, 0]], [[-1, 3, 0]]):
        field = ((docs, tfs, np.array(bad, dtype=np.int64)), None, positions, labels, multiplier)
        with pytest.raises(ValueError):
            core.proximity_scores([field], docs[:3], pair_row, weights, 0.3)
    long = (
        (docs, tfs, np.array([[0, 10, -1]], dtype=np.int64)),
        None,
        positions,
        labels,
        multiplier,
    )
    with pytest.raises(ValueError):  # (a long span needs its offsets)
        core.proximity_scores([long], docs[:3], pair_row, weights, 0.3)
    ok = ((docs, tfs, np.array([[0, 10, 0]], dtype=np.int64)), None, positions, labels, multiplier)
    assert core.proximity_scores([ok], docs[:3], pair_row, weights, 0.3).tolist()[0] > 0


def test_the_rerank_from_spans_scores_as_from_views(
    index: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several-words searches with the pair words read as spans, as views (the spans
    refused), and on the numpy path: the same ids and scores."""
    _terms_module()
    core = compiled_core()
    queries = [" ".join(random.Random(n).sample(WORDS, 4)) for n in range(30)]
    asked = SegmentReader.position_table
    refused: list[int] = []

    class NoSpans:
        """A held table that refuses spans (postings not plain arrays)."""

        def __init__(self, table: Any) -> None:
            self.table = table

        def position_spans(self, terms: Any, walk: int) -> None:
            refused.append(walk)
            return None

        def position_runs(self, terms: Any, walk: int) -> Any:
            return self.table.position_runs(terms, walk)

    def no_spans(self: SegmentReader, field: str) -> Any:
        held = asked(self, field)
        return None if held is None else (NoSpans(held[0]), held[1])

    def run() -> list[Any]:
        searcher = Searcher(index.reader())
        found = [searcher.search(q, limit=20, highlight=False, stored=False) for q in queries]
        return [(r.ids, [h.score for h in r.hits]) for r in found]

    with query_path(core):
        spans = run()
        with monkeypatch.context() as patch:
            patch.setattr(SegmentReader, "position_table", no_spans)
            views = run()
    with query_path(None):
        reference = run()
    assert spans == views == reference
    assert sum(len(ids) for ids, _ in spans) > 300
    # (the spans refused where the tables serve; BNSEARCH_PURE_PYTHON: none does)
    assert bool(refused) == (segment_module._TERMS is not None)


def test_a_new_plan_asks_no_field_table_again(
    index: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rerank's field tables (and multipliers) are kept per segment and weights: new
    plans of the weights ask no segment for a field's table again, other weights ask
    their own, and every search scores as on the numpy path."""
    _terms_module()
    core = compiled_core()
    queries = [" ".join(random.Random(n).sample(WORDS, 4)) for n in range(20)]
    weighted = [None, {"title": 5.0, "body": 0.5}, {"body": 1.0}]
    asked = SegmentReader.position_table
    fields_asked: list[tuple[str, str]] = []

    def counted(self: SegmentReader, field: str) -> Any:
        fields_asked.append((self.name, field))
        return asked(self, field)

    def run() -> list[Any]:
        searcher = Searcher(index.reader())
        found = [
            searcher.search(q, fields=w, limit=20, highlight=False, stored=False)
            for w in weighted
            for q in queries
        ]
        return [(r.ids, [h.score for h in r.hits]) for r in found]

    with query_path(core), monkeypatch.context() as patch:
        patch.setattr(SegmentReader, "position_table", counted)
        got = run()
    with query_path(None):
        reference = run()
    assert got == reference and sum(len(ids) for ids, _ in got) > 300
    if segment_module._TERMS is None:  # (BNSEARCH_PURE_PYTHON: no table to keep)
        return
    segments = len(index.reader().segments)
    # (per weights, each segment's fields once: 2 + 2 + 1 of them)
    assert len(fields_asked) == segments * 5
    assert len(set(fields_asked)) == segments * 2
