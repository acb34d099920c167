"""The scalar idf (:func:`bnsearch.search.scoring.scalar_idf`, what the context's idf
memo computes a new document frequency with) gives the very float the scalar rule of
:func:`~bnsearch.search.scoring.idf` gave before it (``math.log1p``; numpy's ``log1p``
of the array rule may differ in the last bit, so scores never mix the two)."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from bnsearch.articles import Article
from bnsearch.search import Searcher
from bnsearch.search.scoring import idf, scalar_idf

from .conftest import index_of


def _stated(total_docs: int, doc_freq: int) -> float:
    """The rule as ``scoring.idf`` stated it for one document frequency."""
    n = max(int(total_docs), 0)
    df = float(min(int(doc_freq), n))
    return math.log1p((n - df + 0.5) / (df + 0.5))


@given(st.integers(-5, 2_000_000), st.integers(0, 2_000_000))
def test_scalar_idf_is_the_stated_rule_exactly(total_docs: int, doc_freq: int) -> None:
    assert scalar_idf(total_docs, doc_freq) == _stated(total_docs, doc_freq)
    assert float(idf(total_docs, doc_freq)) == _stated(total_docs, doc_freq)


@given(st.integers(0, 64), st.integers(0, 80))
def test_small_counts_exactly(total_docs: int, doc_freq: int) -> None:
    assert scalar_idf(total_docs, doc_freq) == _stated(total_docs, doc_freq)


def test_a_document_frequency_above_the_count_is_cut_to_it() -> None:
    assert scalar_idf(10, 25) == scalar_idf(10, 10) > 0
    assert scalar_idf(0, 3) == scalar_idf(0, 0) > 0


def test_the_memo_holds_the_scalar_rule() -> None:
    articles = [
        Article(id="a", title="ঢাকায় বন্যা", body="বন্যায় ঢাকার নিম্নাঞ্চল প্লাবিত।"),
        Article(id="b", title="সিলেটে বৃষ্টি", body="টানা বৃষ্টিতে সিলেটে বন্যা।"),
        Article(id="c", title="খুলনায় রোদ", body="খুলনায় আজ রোদ।"),
    ]
    ctx = Searcher(index_of(articles).reader())._ctx
    assert ctx.total_docs == 3
    for df in (0, 1, 2, 3, 10):
        assert ctx.idf(df) == _stated(3, df)
