"""The compiled word call that finds a unit's term itself
(``_units.word_unit_pieces_df``, what :func:`bnsearch.search.wordpieces.pieces_df` calls)
follows :func:`~bnsearch.search.wordpieces.single_term`'s rule: a unit of one term in
every field gets the pieces ``_terms.word_pieces`` gives that term's UTF-8 and the live df
``_units.live_doc_freqs`` counts of them;
a unit of different terms per field, of several terms in a field, of no field, or of a
term UTF-8 cannot hold (a lone surrogate) gets ``(None, -1)`` (the engine then reads it
slice by slice). Skipped where the compiled modules were not built."""

from __future__ import annotations

import pytest

from bnsearch.index import Index
from bnsearch.search import Searcher, unitstats, wordpieces
from bnsearch.search.compiler import Unit

from .conftest import corpora_with_deletes


@pytest.fixture(scope="module")
def searcher() -> Searcher:
    if wordpieces._TERMS is None or unitstats.core is None:
        pytest.skip("the compiled modules are not built (or the numpy path is asked for)")
    index: Index = corpora_with_deletes()
    return Searcher(index.reader())


def _call(searcher: Searcher, terms: dict[str, tuple[str, ...]]) -> tuple[object, int]:
    ctx = searcher._ctx
    weights = {field: 1.0 for field in terms} or {"title": 1.0}
    unit = Unit("terms", "x", terms=terms, weights=weights)
    made = wordpieces.layout(ctx, unit)
    lives, max_docs = ctx.lives()
    assert unitstats.core is not None and wordpieces._TERMS is not None
    found: tuple[object, int] = unitstats.core.word_unit_pieces_df(
        wordpieces._TERMS.word_pieces, terms, made, lives, max_docs
    )
    return found


def test_one_term_in_every_field_is_the_encoded_term_s_call(searcher: Searcher) -> None:
    ctx = searcher._ctx
    words = sorted({t for s in searcher.reader.segments for t in s.terms("title")})[::50]
    counted = 0
    for word in words:
        # (distinct tuples of one term: equal, not the same object)
        terms = {"title": (word,), "body": tuple([word])}
        unit = Unit("terms", word, terms=terms, weights={"title": 2.0, "body": 1.0})
        made = wordpieces.layout(ctx, unit)
        lives, max_docs = ctx.lives()
        assert unitstats.core is not None and wordpieces._TERMS is not None
        got = unitstats.core.word_unit_pieces_df(
            wordpieces._TERMS.word_pieces, terms, made, lives, max_docs
        )
        pieces = wordpieces._TERMS.word_pieces(word.encode(), made)
        want_df = (
            -1 if None in pieces else unitstats.core.live_doc_freqs([pieces], lives, max_docs, 1)[0]
        )
        assert got[1] == want_df and len(got[0]) == len(pieces)
        for ours, theirs in zip(got[0], pieces, strict=True):
            assert [p[0] for p in ours[0]] == [p[0] for p in theirs[0]]
            assert [len(p[1]) for p in ours[0]] == [len(p[1]) for p in theirs[0]]
        counted += got[1] > 0
    assert counted > 10


@pytest.mark.parametrize(
    "terms",
    [
        {"title": ("বাংলাদেশ",), "body": ("ঢাকা",)},  # different terms per field
        {"title": ("বাংলাদেশ", "ঢাকা"), "body": ("বাংলাদেশ", "ঢাকা")},  # several
        {},  # no field
        {"title": ("বাংলা\ud800",), "body": ("বাংলা\ud800",)},  # a lone surrogate
    ],
)
def test_anything_but_one_term_is_left_to_the_engine(
    searcher: Searcher, terms: dict[str, tuple[str, ...]]
) -> None:
    assert wordpieces.single_term(terms) is None or "\ud800" in terms["title"][0]
    assert _call(searcher, terms) == (None, -1)
