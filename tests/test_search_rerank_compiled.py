"""Search room: a new rerank plan's compiled tables and pair weights equal the reference.

The compiled core makes a plan's tables (``rerank_tables``) and its pair weights
(``pair_weights``: the words' document frequencies, their idf and the pair sums) in one
call each; the numpy/Python code (:func:`.rerank._tables`, :func:`.rerank._pair_weights`
with the core swapped out) is the reference, and both must give the same labels, words,
tables and float32 weights, bit for bit.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bnsearch.articles import Article
from bnsearch.search import BM25FParams, Searcher, kernel, rerank

from .conftest import index_of

pytestmark = pytest.mark.skipif(kernel.core is None, reason="the compiled core is not built")

WORDS = ["মামলা", "আদালত", "বাজার", "নদী", "পাহাড়", "শহর", "অজানা"]

pair_lists = st.lists(
    st.tuples(st.integers(0, 2), st.sampled_from(WORDS), st.sampled_from(WORDS)),
    max_size=12,
    unique=True,
).map(tuple)


@given(pairs=pair_lists)
def test_compiled_tables_equal_the_reference(pairs: tuple[rerank.Pair, ...]) -> None:
    assert kernel.core is not None
    label, terms, table = kernel.core.rerank_tables(pairs)
    ref_label, ref_terms, ref_table = rerank._tables(pairs)
    assert label == ref_label and list(label) == list(ref_label)
    assert terms == ref_terms
    assert table.dtype == ref_table.dtype == np.int64
    assert table.shape == ref_table.shape
    assert np.array_equal(table, ref_table)


@settings(deadline=None)
@given(words=st.lists(st.sampled_from([*WORDS[:4], "এবং", "ও", "।"]), max_size=16))
def test_compiled_pairs_equal_the_reference(searcher: Searcher, words: list[str]) -> None:
    """The pairs of a query (stopwords dropped, so gaps of 1, 2 and farther; repeated
    words and pairs) from the compiled loop and the reference's, in order."""
    analyzer = searcher._ctx.analyzer("body")
    text = " ".join(words)
    assert kernel.core is not None
    compiled = rerank.proximity_pairs(analyzer, text)
    saved = kernel.core
    kernel.core = None
    try:
        reference = rerank.proximity_pairs(analyzer, text)
    finally:
        kernel.core = saved
    assert compiled == reference
    assert all(type(gap) is int for gap, _, _ in compiled)


def test_compiled_tables_refuse_a_gap_outside_the_table() -> None:
    assert kernel.core is not None
    with pytest.raises(ValueError, match="gap"):
        kernel.core.rerank_tables(((3, "ক", "খ"),))


@pytest.fixture(scope="module")
def searcher() -> Searcher:
    rng = random.Random(5)
    words = WORDS[:-1]  # (the last word is in no document: df 0)
    articles = [
        Article(
            id=f"a{n}",
            title=" ".join(rng.choice(words[:3]) for _ in range(rng.randint(1, 4))),
            body=" ".join(rng.choice(words) for _ in range(rng.randint(2, 20))),
        )
        for n in range(60)
    ]
    index = index_of(articles[:30], articles[30:])  # (two segments: a df summed over both)
    assert len(index.reader().segments) == 2
    return Searcher(index.reader(), params=BM25FParams(proximity=0.35))


@settings(max_examples=60, deadline=None)
@given(pairs=pair_lists.filter(bool), both=st.booleans())
def test_compiled_pair_weights_equal_the_reference(
    searcher: Searcher, pairs: tuple[rerank.Pair, ...], both: bool
) -> None:
    ctx = searcher._ctx
    analyzer = ctx.analyzer("body")
    terms = {w: analyzer.term(w) or w for w in WORDS}
    pairs = tuple(dict.fromkeys((g, terms[a], terms[b]) for g, a, b in pairs))
    fields = ["title", "body"] if both else ["title"]
    compiled = rerank._pair_weights(ctx, rerank.RerankPlan(pairs), fields)
    saved = kernel.core
    kernel.core = None
    try:
        reference = rerank._pair_weights(ctx, rerank.RerankPlan(pairs), fields)
    finally:
        kernel.core = saved
    assert compiled.dtype == reference.dtype == np.float32
    assert compiled.tobytes() == reference.tobytes()
    assert (compiled > 0).any()
