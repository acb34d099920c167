"""BM25F scores from the engine against a plain reference implementation written here."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bnsearch.articles import Article
from bnsearch.index import Index, Schema, news_schema
from bnsearch.search import BM25FParams, Searcher
from bnsearch.search.scoring import idf, norm_table, saturate, top_k

from .conftest import index_of

ARTICLES = [
    Article(id="a", title="ঢাকায় বন্যা পরিস্থিতি", body="বন্যায় ঢাকার নিম্নাঞ্চল প্লাবিত। নদীর পানি বাড়ছে।"),
    Article(id="b", title="সিলেটে বৃষ্টি", body="টানা বৃষ্টিতে সিলেটে বন্যা। বন্যা আরও বাড়তে পারে বলে আশঙ্কা।"),
    Article(
        id="c", title="বাজেট ঘোষণা", body="অর্থমন্ত্রী জাতীয় সংসদে বাজেট পেশ করেন। বাজেটে ঘাটতি বেড়েছে।"
    ),
    Article(id="d", title="বন্যা", body="উত্তরাঞ্চলে বন্যা।"),
    Article(id="e", title="নদীভাঙন", body="পদ্মার ভাঙনে শতাধিক পরিবার গৃহহীন। নদীর পানি কমছে না।"),
]


def reference_bm25f(
    articles: list[Article],
    schema: Schema,
    query_words: list[str],
    weights: dict[str, float],
    k1: float,
    b: float,
) -> dict[str, float]:
    """BM25F the slow, obvious way: per doc and term, loops over fields."""
    fields = list(weights)
    # a field's length counts its indexed terms (dropped stopwords do not count)
    sequences = {
        field: {a.id: schema.analyzer(field).terms(getattr(a, field)) for a in articles}
        for field in fields
    }
    n = len(articles)
    avg = {f: sum(len(s) for s in sequences[f].values()) / n for f in fields}
    analyzer = schema.analyzer(fields[0])
    counts: dict[str, int] = {}
    for word in query_words:
        term = analyzer.term(word)
        if term is not None:
            counts[term] = counts.get(term, 0) + 1
    scores: dict[str, float] = {}
    for term, repeats in counts.items():
        containing = [a.id for a in articles if any(term in sequences[f][a.id] for f in fields)]
        df = len(containing)
        term_idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        for article in articles:
            x = 0.0
            for f in fields:
                seq = sequences[f][article.id]
                tf = seq.count(term)
                if tf:
                    x += weights[f] * tf / (1 - b + b * len(seq) / avg[f])
            if x > 0:
                scores[article.id] = scores.get(article.id, 0.0) + repeats * term_idf * x / (k1 + x)
    return scores


@pytest.fixture(scope="module", params=["one-segment", "segments-and-deletes"])
def index(request: pytest.FixtureRequest) -> Index:
    if request.param == "one-segment":
        return index_of(ARTICLES)
    # the repeats replace: their first copies stay as deletes
    index = index_of(ARTICLES[:3], ARTICLES[3:], ARTICLES[1:2], ARTICLES[3:4], keep_deletes=True)
    assert any(segment.del_count for segment in index.reader().segments)
    return index


@pytest.mark.parametrize("k1,b", [(1.2, 0.75), (0.5, 0.3), (2.0, 1.0), (0.9, 0.0)])
@pytest.mark.parametrize("query", ["বন্যা", "বন্যা নদীর পানি", "বাজেট ঘাটতি", "সিলেটে বন্যা বন্যা", "ঢাকা"])
def test_engine_matches_reference(
    index: Index, query: str, k1: float, b: float, flat_strategy: str
) -> None:
    weights = {"title": 2.5, "body": 1.0}
    params = BM25FParams(k1=k1, b=b, proximity=0.0, exact_forms=0.0)
    searcher = Searcher(index.reader(), params=params, default_fields=weights)
    results = searcher.search(query, limit=10, highlight=False)
    expected = reference_bm25f(ARTICLES, news_schema(), query.split(), weights, k1, b)
    got = {hit.id: hit.score for hit in results}
    assert set(got) == set(expected)
    assert results.total == len(expected)
    for ident, score in expected.items():
        assert got[ident] == pytest.approx(score, rel=1e-5)
    # the ranking follows the scores
    assert [h.score for h in results] == sorted((h.score for h in results), reverse=True)


def test_fields_are_summed_before_saturation(index: Index, flat_strategy: str) -> None:
    """BM25F, not a sum of per-field BM25: a term in title and body saturates once."""
    weights = {"title": 1.0, "body": 1.0}
    searcher = Searcher(
        index.reader(),
        params=BM25FParams(k1=1.2, b=0.0, proximity=0.0, exact_forms=0.0),
        default_fields=weights,
    )
    hit = next(h for h in searcher.search("বন্যা") if h.id == "d")
    # d: tf 1 in title, 1 in body, b = 0 -> x = 2; df = 3 of 5
    expected_idf = math.log(1 + (5 - 3 + 0.5) / (3 + 0.5))
    assert hit.score == pytest.approx(expected_idf * 2 / (1.2 + 2), rel=1e-5)
    assert hit.score < 2 * expected_idf * 1 / (1.2 + 1)  # what per-field BM25 would give


def test_idf_is_never_negative() -> None:
    assert idf(10, 10) > 0
    assert idf(2, 1) > 0
    assert idf(0, 0) > 0
    values = idf(100, np.arange(0, 101))
    assert (values > 0).all()
    assert (np.diff(values) < 0).all()


def test_norm_table_and_saturation() -> None:
    decode = np.array([0.0, 5.0, 10.0, 20.0])
    table = norm_table(decode, avg_length=10.0, b=0.5, weight=2.0)
    assert table.tolist() == pytest.approx([2 / 0.5, 2 / 0.75, 2 / 1.0, 2 / 1.5])
    assert norm_table(decode, avg_length=0.0, b=0.5, weight=3.0).tolist() == [3.0] * 4
    x = np.array([0.0, 1.0, 3.0], dtype=np.float32)
    assert saturate(x, k1=1.0, weight=2.0).tolist() == pytest.approx([0.0, 1.0, 1.5])
    assert saturate(x, k1=0.0, weight=2.0).tolist() == [0.0, 2.0, 2.0]


def test_top_k_orders_and_breaks_ties_by_position() -> None:
    scores = np.array([0.5, 2.0, 1.0, 2.0, 0.1], dtype=np.float32)
    assert top_k(scores, 3).tolist() == [1, 3, 2]
    assert top_k(scores, 10).tolist() == [1, 3, 2, 0, 4]
    assert top_k(scores, 0).tolist() == []


def test_params_validate() -> None:
    with pytest.raises(ValueError, match="k1"):
        BM25FParams(k1=-1)
    with pytest.raises(ValueError, match="b"):
        BM25FParams(b=1.5)
    with pytest.raises(ValueError, match="field_b"):
        BM25FParams(field_b={"title": 2.0})
    assert BM25FParams(field_b={"title": 0.2}).b_of("title") == 0.2
