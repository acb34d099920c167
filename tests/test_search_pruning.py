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

from .conftest import compiled_core, index_of, query_path, shared_file


@pytest.fixture(scope="module")
def core() -> ModuleType:
    return compiled_core()


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
    # (a section of 1,968 BeliN articles: "ধর্ম" alone names none of these corpora's)
    [{}, {"offset": 10, "limit": 10}, {"filter": {"section": "ইসলাম ধর্ম"}}, {"limit": 3}],
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
    # pruning did happen (a filtered search prunes too, once its filter's matches pass
    # the threshold): the comparison is not vacuous
    assert pruned >= (5 if "filter" in options else 20)


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
    keeps exactly those of all segments (ids and scores; a segment may return fewer
    than its own best ``rerank_depth`` once the segments before it score higher), so
    the reranked page is the exhaustive one.
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
            assert _best_of_all(kept.matched, depth) == _best_of_all(full, depth), query
            for (docs, scores), (all_docs, all_scores) in zip(kept.matched, full, strict=True):
                # whatever a segment returns beyond them has its exact score
                at = np.searchsorted(all_docs, docs)
                assert all_docs[at].tolist() == docs.tolist(), query
                assert all_scores[at].tolist() == scores.tolist(), query
            compared += not kept.total_is_exact
    finally:
        kernel.core = saved
    # (under a section mask the kept best are checked; a mask rarely lets the core prune)
    assert compared >= (0 if filtered else 10)


def _best_of_all(matched: list[Any], depth: int) -> list[tuple[float, int, int]]:
    """The best ``depth`` matches of all segments: (score, segment, doc), best first."""
    rows = [
        (-float(score), ordinal, int(doc))
        for ordinal, (docs, scores) in enumerate(matched)
        for doc, score in zip(docs.tolist(), scores.tolist(), strict=True)
    ]
    return sorted(rows)[:depth]


def _lone_words(limit: int) -> list[str]:
    """Words of the BQA questions (common and rare ones), each searched alone."""
    words = [w for q in _questions(300) for w in q.split() if len(w) > 2]
    return list(dict.fromkeys(words))[:limit]


@pytest.mark.parametrize("kind", ["one-word", "prefix", "title-only", "page-two"])
def test_skipped_blocks_change_no_page_on_the_corpora(
    corpus_searcher: Searcher, core: ModuleType, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """A lone word (or prefix) skips the blocks of its longest posting list that cannot
    reach the page (block-max pruning): the page and its scores stay those of the
    exhaustive pass and of the numpy path (the exact-form bonus included)."""
    monkeypatch.setattr(searcher_module, "TRACK_TOTAL_HITS", 30)
    words = _lone_words(120)
    options: dict[str, Any] = {}
    if kind == "prefix":
        words = list(dict.fromkeys(f"{w[:3]}*" for w in words))[:60]
    elif kind == "title-only":
        options["fields"] = ["title"]
    elif kind == "page-two":
        options.update(offset=10, limit=10)
    pruned = _compare(corpus_searcher, core, words, 30, **options)
    # blocks were skipped (on these mixed short and long docs the bounds are loose: a
    # block's largest tf times the multiplier of its shortest doc; 2-4 words in 60-120)
    assert pruned >= 2


def test_skipped_blocks_leave_deleted_docs_out(
    core: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deleted docs never set the score a block must reach: with deletes in both
    segments, pages with skipped blocks equal the exhaustive and numpy pages."""
    bqa = list(read_articles(shared_file("corpus/bqa_passages.jsonl")))
    belin = list(read_articles(shared_file("corpus/belin_religious_news.jsonl")))
    again = belin[::4][:500] + bqa[::10][:120]
    searcher = Searcher(index_of(bqa, belin, again, keep_deletes=True).reader())
    assert sum(s.del_count for s in searcher.reader.segments) == 620
    monkeypatch.setattr(searcher_module, "TRACK_TOTAL_HITS", 30)
    assert _compare(searcher, core, _lone_words(120), 30) >= 2


def test_segments_without_block_maxima_search_the_same(
    core: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A segment written before block maxima (here: built without them) opens, passes
    verify, and gives the same pages with every match counted; a merge with a segment
    that has them writes them again."""
    from bnsearch.index import blockmax, builder, verify

    belin = list(read_articles(shared_file("corpus/belin_religious_news.jsonl")))
    with monkeypatch.context() as patch:
        patch.setattr(builder.blockmax, "block_maxima", lambda *args: {})
        old = index_of(belin[:1500])
    new = index_of(belin[:1500])
    (segment,) = old.reader().segments
    assert not segment.has_array("fld.body.blocktf")
    assert new.reader().segments[0].has_array("fld.body.blocktf")
    assert verify(old).ok
    monkeypatch.setattr(searcher_module, "TRACK_TOTAL_HITS", 10)
    old_searcher, new_searcher = Searcher(old.reader()), Searcher(new.reader())
    skipped = 0
    saved = kernel.core
    kernel.core = core
    try:
        for word in _lone_words(150):
            before = old_searcher.search(word, stored=False, highlight=False)
            after = new_searcher.search(word, stored=False, highlight=False)
            assert before.total_is_exact
            assert before.ids == after.ids, word
            assert [h.score for h in before] == [h.score for h in after], word
            skipped += not after.total_is_exact
    finally:
        kernel.core = saved
    assert skipped >= 1
    with old.writer() as writer:  # a second segment, then one merged segment
        for article in belin[1500:1600]:
            writer.add(article)
    old.writer().optimize()
    (merged,) = old.reader().segments
    assert all(merged.has_array(f"fld.body.{name}") for name in blockmax.NAMES[:3])
    assert verify(old).ok


def test_verify_finds_block_maxima_that_do_not_match() -> None:
    from bnsearch.index import blockmax

    indptr = np.array([0, 3, 300], dtype=np.int64)
    docs = np.concatenate([[0, 5, 9], np.arange(297)]).astype(np.int32)
    tfs = np.arange(1, 301).astype(np.uint16) % 7 + 1
    norms = (np.arange(400) % 200).astype(np.uint8)
    forms = (np.arange(300) % 3).astype(np.uint8)
    arrays: dict[str, Any] = dict(blockmax.block_maxima(indptr, docs, tfs, norms, forms))
    assert len(arrays["blocktf"]) == 3  # 3 postings (one block: none kept), then 297 in 3
    assert int(arrays["blocktf"][0]) == int(tfs[3 : 3 + 128].max())
    assert not blockmax.problems(arrays, indptr, docs, tfs, norms, forms, deep=True)
    damaged = dict(arrays, blocktf=arrays["blocktf"] - 1)
    assert blockmax.problems(damaged, indptr, docs, tfs, norms, forms, deep=True)
    assert blockmax.problems(
        dict(arrays, blockforms=None), indptr, docs, tfs, norms, forms, deep=False
    )


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


@pytest.mark.parametrize("kind", ["several-words", "one-word", "prefix"])
def test_a_floor_returns_the_best_above_it(
    corpus_searcher: Searcher, core: ModuleType, kind: str
) -> None:
    """Given a floor (the best of the segments before), a segment returns exactly its
    best ``keep`` among the docs scoring at least the floor, with their exact scores,
    whether MaxScore prunes (several words) or blocks are skipped (a lone word or
    prefix) from it: floors from above the best score to below the ``keep``-th."""
    ctx = corpus_searcher._ctx
    keep = 10
    queries = _questions(40) if kind == "several-words" else _lone_words(60)
    if kind == "prefix":
        queries = list(dict.fromkeys(f"{w[:3]}*" for w in queries))[:30]
    pruned = checked = 0
    for query in queries:
        plan = corpus_searcher._prepare(query, None, romanized=False)
        units = None if plan.compiled is None else _flat_units(plan.compiled)
        if not units or (kind == "several-words") != (len(units) > 1):
            continue
        evaluator = Evaluator(ctx)
        prune = len(units) > 1
        calls = evaluator._segment_calls(core, units, prune, None if prune else 0)
        for segment, (arrays, pruning, blocks, *_) in zip(ctx.reader.segments, calls, strict=True):
            args = (None, segment.max_doc, keep, pruning, 0, blocks)
            # (counting every match first: no pruning, the exact count)
            docs, scores, count, _ = core.score_segment(*arrays, *args[:4], 10**9, blocks)
            every = core.score_segment(*arrays, None, segment.max_doc, 0)
            order = np.lexsort((every[0], -every[1]))
            best = [(int(every[0][i]), float(every[1][i])) for i in order]
            assert count == len(best)
            assert list(zip(docs.tolist(), scores.tolist(), strict=True)) == sorted(best[:keep])
            scores_sorted = [score for _, score in best]
            if not best:
                continue
            for floor in {*scores_sorted[: 3 * keep : 3], scores_sorted[0] * 1.5}:
                found = core.score_segment(*arrays, *args, floor)
                wanted = sorted((d, s) for d, s in best[:keep] if s >= floor)
                assert list(zip(found[0].tolist(), found[1].tolist(), strict=True)) == wanted
                assert found[2] <= count and (found[3] or found[2] == count)
                pruned += found[3]
                checked += 1
    assert checked >= 20
    assert pruned >= 5  # the floor let the core prune or skip: not vacuous


def test_matches_held_for_certain_let_maxscore_prune_before_counting(
    corpus_searcher: Searcher, core: ModuleType
) -> None:
    """``at_least`` (the engine's ``_held``: a common word's longest slice, every
    posting a match) stands in for the count MaxScore must reach before it prunes: the
    same best ``keep`` and scores as the exhaustive pass, a count between ``min_total``
    and the exact one, and queries that could not prune counting first now do; with a
    mask it is ignored (the count is the masked one)."""
    ctx = corpus_searcher._ctx
    keep, checked, earlier = 10, 0, 0
    for query in _questions(80):
        plan = corpus_searcher._prepare(query, None, romanized=False)
        units = None if plan.compiled is None else _flat_units(plan.compiled)
        if not units or len(units) < 2:
            continue
        calls = Evaluator(ctx)._segment_calls(core, units, True, None)
        for segment, (arrays, _, _, _, held, joined) in zip(
            ctx.reader.segments, calls, strict=True
        ):
            every = core.score_segment(*arrays, None, segment.max_doc, 0)
            exact = len(every[0])
            assert held <= exact, query  # (held for certain: never more than match)
            if held < 2 * keep:
                continue
            order = np.lexsort((every[0], -every[1]))
            best = sorted((int(every[0][i]), float(every[1][i])) for i in order[:keep])
            need = held  # (more than the rare words' docs: counting first reads them all)
            args = (None, segment.max_doc, keep, True, need, None, 0, None)
            docs, scores, count, cut = core.score_segment(*arrays, *args, held, joined)
            assert list(zip(docs.tolist(), scores.tolist(), strict=True)) == best, query
            assert (need <= count <= exact) if cut else count == exact, query
            before = core.score_segment(*arrays, *args, 0, joined)
            assert before[2] >= need or not before[3], query
            earlier += cut and not before[3]
            masked = core.score_segment(
                *arrays, np.ones(segment.max_doc, bool), *args[1:], held, joined
            )
            assert masked[2] == exact or (masked[3] and masked[2] >= need), query
            checked += 1
    assert checked >= 20
    assert earlier >= 5  # held matches let MaxScore start where counting first did not


@pytest.mark.parametrize("kind", ["several-words", "one-word", "prefix", "page-two"])
def test_floors_across_four_segments_change_no_page(
    core: ModuleType, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """BQA + BeliN in four segments: each later segment is pruned from the best of
    those before it (the floor); pages and scores stay the exhaustive and numpy ones."""
    articles = [
        *read_articles(shared_file("corpus/bqa_passages.jsonl")),
        *read_articles(shared_file("corpus/belin_religious_news.jsonl")),
    ]
    random.Random(3).shuffle(articles)
    quarter = len(articles) // 4 + 1
    batches = [articles[at : at + quarter] for at in range(0, len(articles), quarter)]
    searcher = Searcher(index_of(*batches).reader())
    assert len(searcher.reader.segments) == 4
    monkeypatch.setattr(searcher_module, "TRACK_TOTAL_HITS", 40)
    options: dict[str, Any] = {}
    queries = _questions(60)
    if kind == "one-word":
        queries = _lone_words(80)
    elif kind == "prefix":
        queries = list(dict.fromkeys(f"{w[:3]}*" for w in _lone_words(120)))[:50]
    elif kind == "page-two":
        options.update(offset=10, limit=10)
    pruned = _compare(searcher, core, queries, 40, **options)
    # (a prefix's expansions are mostly too many beside its longest list to skip blocks)
    assert pruned >= (1 if kind == "prefix" else 2)


def test_one_call_over_every_segment_is_the_calls_a_segment(core: ModuleType) -> None:
    """``score_segments`` gives what one ``score_segment`` call a segment gives, each
    told what the segments before left to count and, as its floor, the ``keep``-th best
    score they returned (the rule the engine applied between calls before)."""
    articles = [
        *read_articles(shared_file("corpus/bqa_passages.jsonl")),
        *read_articles(shared_file("corpus/belin_religious_news.jsonl")),
    ]
    random.Random(4).shuffle(articles)
    fifth = len(articles) // 5 + 1
    searcher = Searcher(
        index_of(*[articles[at : at + fifth] for at in range(0, len(articles), fifth)]).reader()
    )
    ctx = searcher._ctx
    segments = ctx.reader.segments
    assert len(segments) == 5
    floored = checked = 0
    for query in [*_lone_words(40), *_questions(20)]:
        plan = searcher._prepare(query, None, romanized=False)
        units = None if plan.compiled is None else _flat_units(plan.compiled)
        if not units:
            continue
        prune = len(units) > 1
        for keep, track in ((10, 30), (10, None), (3, 0), (0, None)):
            skip = keep > 0 and track is not None and not prune
            calls = Evaluator(ctx)._segment_calls(core, units, prune, track if skip else None)
            total, exact, best, floor, wanted = 0, True, np.empty(0, np.float32), 0.0, []
            for number, (segment, (arrays, pruning, blocks, memo, held, joined)) in enumerate(
                zip(segments, calls, strict=True)
            ):
                docs, scores, count, cut = core.score_segment(
                    *arrays, None, segment.max_doc, keep, pruning and keep > 0,
                    max((track or 0) - total, 0), blocks if skip else None, floor, memo, held,
                    joined,
                )  # fmt: skip
                wanted.append((docs.tolist(), scores.tolist()))
                total += count
                exact = exact and not cut
                if track is not None and keep and number + 1 < len(segments):
                    best = np.sort(np.concatenate((best, scores)))[-keep:]
                    if len(best) == keep:
                        floor = float(best[0])
                        floored += 1
            found, found_total, found_exact = core.score_segments(
                calls, None, [s.max_doc for s in segments], keep, track, skip
            )
            assert [(d.tolist(), v.tolist()) for d, v in found] == wanted
            assert (found_total, found_exact) == (total, exact)
            checked += 1
    assert checked >= 100 and floored >= 50


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
    # and the units were read from their joined memos (the segment passes JOIN_MIN_DOCS)
    records = synthetic_searcher._ctx.units.values()
    assert any(memo is not None for record in records for memo in (record.joined or {}).values())


def test_kept_units_dropped_when_full_free_their_memos_room(
    synthetic_searcher: Searcher, core: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the kept units are dropped because they are full, the room their joined memos
    took under ``JOINED_CACHE_BYTES`` is free again (else, after 16,384 units, no memo
    would be made until the searcher forgot its queries)."""
    import bnsearch.search.engine as engine_module

    ctx = synthetic_searcher._ctx
    questions = _questions(400)  # (the 20k pages' test searched the first 120)
    with query_path(core):
        for question in questions[:40]:
            synthetic_searcher.search(question, limit=10)
        assert ctx.joined_bytes > 0  # memos were made, their room counted
        monkeypatch.setattr(engine_module, "PARTS_CACHE_ENTRIES", len(ctx.units))
        monkeypatch.setattr(engine_module, "JOIN_MIN_POSTINGS", 1 << 60)  # no memo made now
        before = len(ctx.units)
        for question in questions[200:]:
            synthetic_searcher.search(question, limit=10)
            if len(ctx.units) < before:  # a new unit found them full: they were dropped
                break
        else:
            pytest.fail("no question brought a unit not kept already")
    assert ctx.joined_bytes == 0


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


def test_block_maxima_are_those_of_each_block() -> None:
    """Every block's maxima against its own postings (a long list after short ones
    that keep no blocks, and before another)."""
    from bnsearch.index import blockmax

    rng = np.random.default_rng(3)
    counts = [5, 300, 2, 129, 128, 700]
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    total = int(indptr[-1])
    docs = np.concatenate([np.sort(rng.choice(2000, n, replace=False)) for n in counts])
    tfs = rng.integers(1, 40, total).astype(np.uint8)
    norms = rng.integers(0, 255, 2000).astype(np.uint8)
    forms = rng.choice([0, 1, 2, 4, 8], total).astype(np.uint8)
    arrays = blockmax.block_maxima(indptr, docs, tfs, norms, forms)
    pointer = arrays["blockptr"]
    assert np.diff(pointer).tolist() == [0, 3, 0, 2, 0, 6]
    for term in range(len(counts)):
        for number, block in enumerate(range(int(pointer[term]), int(pointer[term + 1]))):
            at = slice(
                int(indptr[term]) + number * 128,
                min(int(indptr[term + 1]), int(indptr[term]) + (number + 1) * 128),
            )
            assert arrays["blocktf"][block] == tfs[at].max()
            assert arrays["blocknorm"][block] == norms[docs[at]].min()
            assert arrays["blockforms"][block] == np.bitwise_or.reduce(forms[at])
