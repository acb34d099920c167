"""A context's idf by document frequency (:meth:`Context.idf`, remembered) is
:func:`bnsearch.search.scoring.idf` at the snapshot's document count, for every
frequency and past its memo's bound, and a search's scores do not depend on what the
memo held before."""

from __future__ import annotations

import pytest

from bnsearch.articles import Article
from bnsearch.index import Index
from bnsearch.search import Searcher, context
from bnsearch.search.scoring import idf


def _index() -> Index:
    index = Index.in_memory()
    with index.writer() as writer:
        for number in range(40):
            words = " ".join(["নদী"] * (1 + number % 3) + ["মাছ" if number % 4 else "পাখি"])
            writer.add(Article(id=f"a{number}", title=f"খবর {number}", body=words))
    return index


def test_the_idf_memo_is_the_scoring_idf(monkeypatch: pytest.MonkeyPatch) -> None:
    searcher = Searcher(_index().reader())
    ctx = searcher._ctx
    assert ctx.total_docs == 40
    monkeypatch.setattr(context, "IDF_MEMO_ENTRIES", 7)
    for _ in range(2):  # (the second pass reads what the first remembered, or made again)
        for df in range(0, 45):
            assert ctx.idf(df) == float(idf(40, df))
            assert len(ctx._idfs) <= 7


def test_scores_do_not_depend_on_the_memo() -> None:
    index = _index()
    first = Searcher(index.reader())
    want = [(hit.id, hit.score) for hit in first.search("নদী মাছ", limit=40, stored=False)]
    second = Searcher(index.reader())
    second._ctx._idfs.update({df: -1.0 for df in range(100, 200)})  # (other frequencies)
    got = [(hit.id, hit.score) for hit in second.search("নদী মাছ", limit=40, stored=False)]
    assert got == want and len(want) == 40
    second._ctx.forget_queries()
    assert second._ctx._idfs  # (no word's figure: kept)
    again = [(hit.id, hit.score) for hit in second.search("নদী মাছ", limit=40, stored=False)]
    assert again == want
