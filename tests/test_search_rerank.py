"""Search room: the rerank's proximity bonus equals BM25F phrase scores of the word pairs.

The rerank finds query word pairs among the positions of a few documents by its own
vectorized pass (:mod:`bnsearch.search.rerank`); the phrase engine scores the same pair
as a quoted phrase by another route (:func:`bnsearch.search.phrases.phrase_frequencies`).
Both must agree on every document, field and gap.
"""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from bnsearch.articles import Article
from bnsearch.index import Index
from bnsearch.search import BM25FParams, Searcher, rerank

from .conftest import index_of

WORDS = ["মামলা", "আদালত", "বাজার", "নদী", "পাহাড়", "শহর"]
STOPWORD = "এবং"  # dropped by the analyzer: a pair across it has gap 2


def _text(rng: random.Random, length: int) -> str:
    return " ".join(STOPWORD if rng.random() < 0.15 else rng.choice(WORDS) for _ in range(length))


@pytest.fixture(scope="module", params=[1, 3], ids=["one-segment", "three-segments"])
def index(request: pytest.FixtureRequest) -> Index:
    rng = random.Random(11)
    articles = [
        Article(
            id=f"a{n}", title=_text(rng, rng.randint(1, 5)), body=_text(rng, rng.randint(3, 30))
        )
        for n in range(90)
    ]
    per_commit = len(articles) // request.param
    return index_of(*(articles[at : at + per_commit] for at in range(0, len(articles), per_commit)))


def _scores(searcher: Searcher, query: str) -> dict[str, float]:
    return {hit.id: hit.score for hit in searcher.search(query, limit=1000, stored=False)}


QUERIES = [
    [WORDS[0], WORDS[1]],
    [WORDS[2], WORDS[3], WORDS[4]],
    [WORDS[5], STOPWORD, WORDS[0]],  # gap 2
    [WORDS[1], WORDS[1], WORDS[2]],  # a word paired with itself
    [WORDS[4], WORDS[4]],  # one word typed twice: one query unit, still a pair
    [WORDS[4]],  # one word: nothing to rerank
    [WORDS[3], STOPWORD, WORDS[4], WORDS[5], STOPWORD, STOPWORD, WORDS[0]],  # gap 3: no pair
]


@pytest.fixture(params=["scan-walk", "search-offsets"])
def strategy(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways of finding the reranked docs' postings: one scan, or a search per term
    (numpy); the compiled core's: every pair word's postings walked summing their tfs,
    or every word's offsets read (:data:`rerank.WALK_POSTINGS`)."""
    scan = request.param == "scan-walk"
    monkeypatch.setattr(rerank, "SEARCH_NS_PER_TERM", 10**12 if scan else 0)
    monkeypatch.setattr(rerank, "WALK_POSTINGS", 10**12 if scan else -1)
    return str(request.param)


@pytest.mark.parametrize("words", QUERIES, ids=lambda words: "-".join(words))
def test_proximity_bonus_is_the_pairs_phrase_score(
    index: Index, words: list[str], strategy: str
) -> None:
    deep = 10_000  # every match is reranked
    plain = Searcher(index.reader(), params=BM25FParams(proximity=0.0, exact_forms=0.0))
    near = Searcher(
        index.reader(), params=BM25FParams(proximity=2.0, exact_forms=0.0, rerank_depth=deep)
    )
    query = " ".join(words)
    before, after = _scores(plain, query), _scores(near, query)
    assert set(before) == set(after)
    expected = dict.fromkeys(before, 0.0)
    # the pairs: kept words at most two positions apart (one dropped stopword between)
    kept = [(at, word) for at, word in enumerate(words) if word != STOPWORD]
    pairs = {
        (first, second, later - at)
        for (at, first), (later, second) in itertools.pairwise(kept)
        if later - at <= 2
    }
    for first, second, gap in pairs:
        phrase = f'"{first} {STOPWORD} {second}"' if gap == 2 else f'"{first} {second}"'
        for article_id, score in _scores(plain, phrase).items():
            expected[article_id] += 2.0 * score
    assert any(expected.values()) == bool(pairs)
    for article_id, base in before.items():
        assert after[article_id] - base == pytest.approx(expected[article_id], abs=1e-4), article_id


def test_rerank_plan_tables_name_each_pair() -> None:
    """A plan's tables, made with it: every word of a pair has one row (first seen
    first), ``pair_row`` gives each pair's index at its rows and gap and -1 elsewhere,
    and the words are encoded in row order."""
    pairs = ((1, "ক", "খ"), (2, "খ", "গ"), (1, "গ", "ক"), (1, "খ", "খ"))
    plan = rerank.RerankPlan(pairs=pairs)
    assert plan.label == {"ক": 0, "খ": 1, "গ": 2}
    assert plan.terms == ("ক", "খ", "গ")
    assert plan.encoded == [t.encode() for t in plan.terms]
    assert plan.pair_row.shape == (3, 3, 3)
    expected = {(plan.label[a], plan.label[b], gap): row for row, (gap, a, b) in enumerate(pairs)}
    for cell in itertools.product(range(3), range(3), range(3)):
        assert plan.pair_row[cell] == expected.get(cell, -1)
    empty = rerank.RerankPlan()
    assert empty.empty and empty.label == {} and empty.pair_row.shape == (0, 0, 3)


def test_pair_weights_are_their_words_idf_from_one_batch(index: Index) -> None:
    """A plan's pair weights: per pair its distinct words' idf (each word's largest
    document frequency over the rerank's fields) summed, times ``proximity``, as float32;
    the batch of document frequencies (:meth:`Context.max_doc_freqs`) gives each word
    what :meth:`Context.max_doc_freq` gives it alone, also for words no field holds."""
    searcher = Searcher(index.reader(), params=BM25FParams(proximity=0.35))
    ctx = searcher._ctx
    fields = ["title", "body"]
    terms = [*(ctx.analyzer("body").term(word) for word in WORDS), "অজানা"]
    assert all(term is not None for term in terms)
    found = ctx.max_doc_freqs(fields, terms)  # type: ignore[arg-type]
    assert found == [ctx.max_doc_freq(fields, term) for term in terms]  # type: ignore[arg-type]
    assert found[-1] == 0 and max(found) > 0
    assert ctx.max_doc_freqs([], terms) == [0] * len(terms)  # type: ignore[arg-type]
    pairs = ((1, terms[0], terms[1]), (2, terms[1], terms[2]), (1, terms[3], terms[3]))
    plan = rerank.RerankPlan(pairs=pairs)
    weights = rerank._pair_weights(ctx, plan, fields)
    idf = {t: ctx.idf(ctx.max_doc_freq(fields, t)) for t in plan.terms}  # type: ignore[arg-type]
    expected = [
        np.float32(np.float32(idf[a] + (idf[b] if a != b else 0.0)) * np.float32(0.35))
        for _, a, b in pairs
    ]
    assert weights.dtype == np.float32
    assert weights.tolist() == [float(value) for value in expected]


def test_a_new_plan_reads_the_fields_of_its_weights(index: Index) -> None:
    """A plan made by :func:`.plan.rerank_plan` reads the rerank fields of the weights
    it was made at (:func:`rerank.rerank_fields`, kept per weights: each new plan is
    given them), a weights of other fields makes plans of those, and with
    ``proximity`` off no plan has pairs, whatever weights were met before."""
    from bnsearch.search.plan import prepare, rerank_plan

    query = f"{WORDS[0]} {WORDS[1]} {WORDS[2]}"
    searcher = Searcher(index.reader(), params=BM25FParams(proximity=0.35))
    ctx = searcher._ctx
    names = searcher._field_names
    for weights, want in (
        ({"title": 2.0, "body": 1.0}, ["title", "body"]),
        ({"title": 1.0}, ["title"]),
    ):
        for _ in range(2):  # (the second: a plan met before, then a new plan at the same weights)
            compiler = prepare(ctx, query, weights, names).compiler
            made = rerank_plan(compiler, query)
            assert made.pairs and made.memo["fields"] == want
            assert rerank._fields(ctx, made, weights) == want
            assert want == rerank.rerank_fields(ctx, weights)
            ctx.rerank_plans.clear()
    off = Searcher(index.reader(), params=BM25FParams(proximity=0.0))
    assert rerank_plan(prepare(off._ctx, query, {"body": 1.0}, names).compiler, query).empty
