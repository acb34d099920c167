"""Top-k pruning (MaxScore in the compiled core) changes no page.

Past ``TRACK_TOTAL_HITS`` matches the core may stop reading the long posting lists of a
query's common words; the hits and their scores must be exactly those of the exhaustive
pass (``exact_total=True``) and of the numpy path, also for page two, with a filter, and
with the proximity rerank reading its window; only ``total`` becomes a lower bound
(``total_is_exact`` False) and facets are still counted over every match.

On the real corpora (BQA + BeliN, 4,008 documents) the threshold is lowered so that
pruning happens; on a synthetic 20,000-article index (windows of real BQA/BeliN text) it
is the default 10,000. Skipped without ../shared or without the built extension.
"""

from __future__ import annotations

import importlib
import json
import random
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import bnsearch.search.searcher as searcher_module
from bnsearch.articles import Article, read_articles
from bnsearch.index import Index
from bnsearch.search import Results, Searcher, kernel
from bnsearch.search.engine import Evaluator, _flat_units

from .conftest import index_of, shared_file


@pytest.fixture(scope="module")
def core() -> ModuleType:
    try:
        return importlib.import_module("bnsearch.search._kernel")
    except ImportError as error:  # pragma: no cover - depends on the build
        pytest.skip(f"the compiled core is not built: {error}")


def _questions(limit: int) -> list[str]:
    path = shared_file("eval/bqa_dev_questions.jsonl")
    with path.open(encoding="utf-8") as lines:
        rows = [json.loads(line)["question"] for line in lines if line.strip()]
    return rows[:limit]


def _same_page(pruned: Results, exact: Results, query: str) -> None:
    assert pruned.ids == exact.ids, query
    assert [h.score for h in pruned] == [h.score for h in exact], query
    assert exact.total_is_exact
    if pruned.total_is_exact:
        assert pruned.total == exact.total, query
    else:
        assert pruned.total <= exact.total, query


def _compare(
    searcher: Searcher, core: ModuleType, queries: list[str], threshold: int, **options: Any
) -> int:
    """Every query searched pruned, exhaustive and on the numpy path: the same page.
    Returns how many were pruned."""
    pruned_count = 0
    saved = kernel.core
    try:
        for query in queries:
            kernel.core = core
            pruned = searcher.search(query, stored=False, highlight=False, **options)
            exact = searcher.search(
                query, stored=False, highlight=False, exact_total=True, **options
            )
            kernel.core = None
            reference = searcher.search(query, stored=False, highlight=False, **options)
            _same_page(pruned, exact, query)
            assert pruned.ids == reference.ids, query
            assert [h.score for h in pruned] == [h.score for h in reference], query
            assert reference.total == exact.total, query
            if not pruned.total_is_exact:
                assert pruned.total >= threshold, query
                pruned_count += 1
    finally:
        kernel.core = saved
    return pruned_count


# -- the real corpora, with a low threshold ------------------------------------------------
@pytest.fixture(scope="module")
def corpus_searcher() -> Searcher:
    bqa = list(read_articles(shared_file("corpus/bqa_passages.jsonl")))
    belin = list(read_articles(shared_file("corpus/belin_religious_news.jsonl")))
    return Searcher(index_of(bqa, belin).reader())


@pytest.mark.parametrize(
    "options",
    [{}, {"offset": 10, "limit": 10}, {"filter": {"section": "ধর্ম"}}, {"limit": 3}],
    ids=["page-one", "page-two", "filtered", "short-page"],
)
def test_pruned_pages_equal_exhaustive_ones_on_the_corpora(
    corpus_searcher: Searcher,
    core: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    options: dict[str, Any],
) -> None:
    monkeypatch.setattr(searcher_module, "TRACK_TOTAL_HITS", 60)
    queries = _questions(150)
    pruned = _compare(corpus_searcher, core, queries, 60, **options)
    if "filter" not in options:  # a filter keeps few matches: pruning is rarer there
        assert pruned >= 20  # pruning did happen: the comparison is not vacuous


def test_facets_are_counted_over_every_match(
    corpus_searcher: Searcher, core: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(searcher_module, "TRACK_TOTAL_HITS", 60)
    checked = 0
    saved = kernel.core
    kernel.core = core
    try:
        for query in _questions(60):
            pruned = corpus_searcher.search(query, stored=False, facets=["section"])
            exact = corpus_searcher.search(
                query, stored=False, facets=["section"], exact_total=True
            )
            assert dict(pruned.facets) == dict(exact.facets), query
            checked += not pruned.total_is_exact
    finally:
        kernel.core = saved
    assert checked >= 5


@pytest.mark.parametrize("filtered", [False, True])
def test_the_rerank_window_survives_pruning(
    corpus_searcher: Searcher, core: ModuleType, filtered: bool
) -> None:
    """The proximity rerank reads the best ``rerank_depth`` matches before it: pruning
    keeps exactly those (ids and scores), so the reranked page is the exhaustive one.
    With a mask, the best kept are those of the masked docs (``search`` does not let
    the core prune filtered queries)."""
    ctx = corpus_searcher._ctx
    depth = ctx.params.rerank_depth
    segments = corpus_searcher.reader.segments
    max_docs = [s.max_doc for s in segments]
    compared = 0
    saved = kernel.core
    kernel.core = core
    try:
        for query in _questions(80):
            plan = corpus_searcher._prepare(query, None, romanized=False)
            if plan.compiled is None or not plan.reranks:
                continue
            evaluator = Evaluator(ctx)
            masks = None
            if filtered:
                section = {"section": "ধর্ম"}
                masks = corpus_searcher._filters.masks(section, plan.compiler, evaluator)
            kept = evaluator.evaluate_top(
                plan.compiled, max_docs, masks, keep=depth, track_total=0 if filtered else 60
            )
            full = evaluator.evaluate(plan.compiled, max_docs, masks)
            for (docs, scores), (all_docs, all_scores) in zip(kept.matched, full, strict=True):
                best = np.lexsort((all_docs, -all_scores))[:depth]
                order = np.lexsort((docs, -scores))
                assert docs[order].tolist() == all_docs[best].tolist(), query
                assert scores[order].tolist() == all_scores[best].tolist(), query
            compared += not kept.total_is_exact
    finally:
        kernel.core = saved
    # (under a section mask the kept best are checked; a mask rarely lets the core prune)
    assert compared >= (0 if filtered else 10)


def test_every_unit_must_be_in_falling_bound_order(core: ModuleType) -> None:
    docs = np.array([0, 1, 2], dtype=np.int32)
    tfs = np.ones(3, dtype=np.uint8)
    mult = np.ones(3, dtype=np.float32)
    slices = ([docs, docs], [tfs, tfs], [mult, mult], [None, None], np.array([0, 1], np.int32))

    def score(weights: list[float]) -> Any:
        no_bonus = (np.zeros(2, np.uint8), np.zeros(2, np.float32))
        # keep the best 2 of 3 docs, prune, count exactly to 0 matches
        return core.score_segment(
            *slices, np.array(weights, np.float32), *no_bonus, 0.3, None, 3, 2, True, 0
        )

    with pytest.raises(ValueError, match="falling bounds"):
        score([1.0, 2.0])
    found = score([2.0, 1.0])
    assert found[0].tolist() == [0, 1] and found[2] == 3  # ties: the lower docs


# -- a synthetic 20,000-article index, the default threshold -------------------------------
def _synthetic(count: int, seed: int = 5) -> Iterator[Article]:
    """Articles stitched from windows of real BQA/BeliN text (realistic word statistics)."""
    texts: list[list[str]] = []
    for name in ("corpus/bqa_passages.jsonl", "corpus/belin_religious_news.jsonl"):
        with shared_file(name).open(encoding="utf-8") as lines:
            texts.extend(json.loads(line)["body"].split() for line in lines if line.strip())
    texts = [words for words in texts if len(words) > 30]
    rng = random.Random(seed)
    sections = ("জাতীয়", "খেলা", "ধর্ম", "অর্থনীতি")
    for number in range(count):
        source = texts[rng.randrange(len(texts))]
        at = rng.randrange(len(source) - 8)
        body = []
        for _ in range(4):
            chunk = texts[rng.randrange(len(texts))]
            start = rng.randrange(len(chunk) - 20)
            body.extend(chunk[start : start + 20])
        yield Article(
            id=f"s{number}",
            title=" ".join(source[at : at + 8]),
            body=" ".join(body),
            section=(sections[number % len(sections)],),
        )


@pytest.fixture(scope="module")
def synthetic_searcher() -> Searcher:
    index = Index.in_memory()
    with index.writer() as writer:
        for article in _synthetic(20_000):
            writer.add(article)
    return Searcher(index.reader())


@pytest.mark.parametrize("threshold", [10_000, 2_000])
def test_pruned_pages_equal_exhaustive_ones_at_20k(
    synthetic_searcher: Searcher,
    core: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    threshold: int,
) -> None:
    monkeypatch.setattr(searcher_module, "TRACK_TOTAL_HITS", threshold)
    queries = _questions(120)
    pruned = _compare(synthetic_searcher, core, queries, threshold)
    pruned += _compare(synthetic_searcher, core, queries[:40], threshold, offset=20, limit=20)
    # pruning did happen (at 10,000 only where the common words' lists are long)
    assert pruned >= (1 if threshold == 10_000 else 10)


def test_flat_units_of_a_bag_of_words(corpus_searcher: Searcher) -> None:
    plan = corpus_searcher._prepare("ঢাকা শহর", None, romanized=False)
    assert plan.compiled is not None
    units = _flat_units(plan.compiled)
    assert units is not None and {u.label for u in units} >= {"ঢাকা", "শহর"}


def test_a_bounded_total_is_said_as_such() -> None:
    """The CLI and the HTTP payload say when a total is a lower bound."""
    import io

    from bnsearch import cli
    from bnsearch.web.payload import search_json

    bounded = Results(hits=(), total=12_345, offset=0, limit=10, total_is_exact=False)
    out = io.StringIO()
    cli._print_results(bounded, cli._Style(out, "never"), out=out)
    assert out.getvalue().startswith("at least 12345 matches")
    assert cli._results_json(bounded)["total_is_exact"] is False
    assert search_json(bounded, q="x", suggestion=None, took_ms=1.0)["total_is_exact"] is False
    exact = Results(hits=(), total=1, offset=0, limit=10)
    assert exact.total_is_exact and cli._results_json(exact)["total_is_exact"] is True
