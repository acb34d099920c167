"""A word's first query: what its preparation reads, and that it scores as before.

A phrase is compiled over the weighted fields that hold postings in the snapshot only
(as a plain-words query and a prefix are): a field no document has text in has nothing
to read, and its document frequency of every word is 0, so neither the phrase's matches
nor its idf (the sum over its words of their largest document frequency in a field)
change; the engine no longer asks for them. :meth:`Context.max_doc_freq` is that
largest figure in one call.
"""

from __future__ import annotations

import math
from types import ModuleType

import pytest

from bnsearch.articles import Article
from bnsearch.index import Index
from bnsearch.search import Searcher
from bnsearch.search.compiler import Unit
from bnsearch.search.engine import Evaluator
from bnsearch.search.plan import prepare
from bnsearch.search.scoring import idf

from .conftest import index_of, query_path

ARTICLES = [
    Article(id="a1", title="নির্বাচন কমিশন", body="জাতীয় নির্বাচন কমিশন আজ বৈঠক করেছে"),
    Article(id="a2", title="খেলার খবর", body="নির্বাচন কমিশন ও খেলার মাঠ"),
    Article(id="a3", title="কমিশন", body="আজ বৃষ্টি হয়েছে, নির্বাচন পিছিয়েছে"),
    Article(id="a4", title="নির্বাচন", body="কমিশন নির্বাচন কমিশন"),
]


def _index() -> Index:
    return index_of(ARTICLES[:2], ARTICLES[2:])  # two segments


def _phrase_unit(searcher: Searcher, text: str) -> Unit:
    ctx = searcher._ctx
    plan = prepare(
        ctx,
        text,
        weights=searcher._weights(None),
        field_names=searcher._field_names,
    )
    unit = plan.compiled
    assert isinstance(unit, Unit) and unit.kind == "phrase"
    return unit


def test_a_phrase_reads_only_the_fields_with_postings() -> None:
    searcher = Searcher(_index().reader())
    ctx = searcher._ctx
    weighted = searcher._weights(None)
    with_postings = [field for field in weighted if ctx.has_postings(field)]
    empty = [field for field in weighted if not ctx.has_postings(field)]
    assert with_postings == ["title", "body"] and empty  # (caption, anchors... hold none)
    unit = _phrase_unit(searcher, '"নির্বাচন কমিশন"')
    assert list(unit.phrases) == with_postings
    assert unit.weights == weighted  # (the weights are the query's, all of them)


def test_a_phrase_scores_its_words_largest_document_frequencies(
    query_core: ModuleType | None,
) -> None:
    """The phrase's idf is the sum of its words' idf, each at its largest document
    frequency in a field; the page's scores are the engine's own (both paths)."""
    index = _index()
    searcher = Searcher(index.reader())
    ctx = searcher._ctx
    unit = _phrase_unit(searcher, '"নির্বাচন কমিশন"')
    n = ctx.total_docs
    expected = 0.0
    for term in dict.fromkeys(term for pairs in unit.phrases.values() for _, term in pairs):
        expected += idf(n, max(ctx.doc_freq(field, term) for field in ctx.schema.names))
    assert math.isclose(Evaluator(ctx).unit_idf(unit, 0), expected, rel_tol=1e-12)
    with query_path(query_core):
        results = Searcher(index.reader()).search('"নির্বাচন কমিশন"', stored=False)
    assert set(results.ids) == {"a1", "a2", "a4"}  # (a3 has both words, apart)


def test_max_doc_freq_is_the_largest_over_the_fields() -> None:
    searcher = Searcher(_index().reader())
    ctx = searcher._ctx
    fields = ["title", "body", "caption"]
    for term in ("নির্বাচন", "কমিশন", "খেলার", "বৃষ্টি", "নেই"):
        largest = ctx.max_doc_freq(fields, term)  # (before doc_freq remembered any)
        assert largest == max(ctx.reader.doc_freq(field, term) for field in fields)
        assert ctx.max_doc_freq(fields, term) == largest  # (remembered now)
    assert ctx.max_doc_freq([], "নির্বাচন") == 0
    assert ctx.max_doc_freq(["caption"], "নির্বাচন") == 0


def test_a_phrase_over_fields_no_document_holds_says_so() -> None:
    """A phrase asked of a field no document holds compiles to nothing and says that,
    not that the query had only stopwords; a phrase over fields with postings gets no
    note."""
    searcher = Searcher(_index().reader())
    empty = searcher.search('caption:"নির্বাচন কমিশন"', stored=False)
    assert empty.total == 0
    assert any("no document holds the fields it searches" in note for note in empty.notes)
    assert not any("stopwords" in note for note in empty.notes)
    found = searcher.search('"নির্বাচন কমিশন"', stored=False)
    assert found.total > 0 and not found.notes


def test_the_readers_document_frequencies_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    # a server asked ever new words on one snapshot: the memo starts over past its bound
    # and still answers what the segments say
    from bnsearch.index import reader as reader_module

    monkeypatch.setattr(reader_module, "MAX_DF_MEMO", 5)
    reader = _index().reader()
    words = ["নির্বাচন", "কমিশন", "খেলা", "বৈঠক", "মাঠ", "বৃষ্টি", "আজ", "নাই", *map(str, range(20))]
    for field in ("title", "body"):
        for term in words:
            direct = sum(segment.doc_freq(field, term) for segment in reader.segments)
            assert reader.doc_freq(field, term) == direct
            assert len(reader._df) <= 5
    assert reader.doc_freq("body", "নির্বাচন") > 0
