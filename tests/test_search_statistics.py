"""The searcher's statistics hook: global figures given to a Searcher are the ones it
scores with, and a recorder notes the figures a query needs."""

from __future__ import annotations

import math

import pytest

from bnsearch.articles import read_articles
from bnsearch.index import Index
from bnsearch.search import Searcher
from bnsearch.search.statistics import Statistics, StatisticsRecorder
from tests.conftest import shared_file


@pytest.fixture(scope="module")
def index() -> Index:
    articles = list(read_articles(shared_file("corpus/bqa_passages.jsonl")))[:400]
    built = Index.in_memory()
    with built.writer() as writer:
        writer.add_many(articles)
    return built


def own_statistics(searcher: Searcher, query: str) -> Statistics:
    reader = searcher.reader
    recorder = StatisticsRecorder(
        base=Statistics(
            total_docs=reader.doc_count,
            length_sums={
                f.name: reader.field_length_sum(f.name) for f in reader.schema.text_fields
            },
            with_postings=frozenset(
                f.name for f in reader.schema.text_fields if reader.field_length_sum(f.name)
            ),
        ),
        reader=reader,
    )
    Searcher(reader, statistics=recorder).search(query, limit=0, stored=False)
    return Statistics(
        total_docs=recorder.total_docs,
        length_sums=recorder.base.length_sums,
        with_postings=recorder.with_postings,
        doc_freqs=recorder.doc_freqs,
        unit_doc_freqs=recorder.unit_doc_freqs,
    )


def test_own_figures_change_nothing(index: Index) -> None:
    searcher = index.searcher()
    for query in ("বাংলাদেশের রাজধানী", '"মুক্তিযুদ্ধ"', "ঢাকা"):
        stats = own_statistics(searcher, query)
        assert stats.unit_doc_freqs and stats.doc_freqs
        plain = searcher.search(query, limit=10, stored=False)
        given = Searcher(index.reader(), statistics=stats).search(query, limit=10, stored=False)
        assert [(h.id, h.score) for h in given] == [(h.id, h.score) for h in plain]


def test_given_figures_are_the_ones_scored_with(index: Index) -> None:
    """A one-word, one-field query's score is idf(N, df) * x / (k1 + x): tell the
    searcher N is ten times larger and the score scales by the ratio of the idfs."""
    searcher = index.searcher()
    query = "body:ঢাকা"
    stats = own_statistics(searcher, query)
    ((key, df),) = stats.unit_doc_freqs.items()
    assert key[0] == "terms" and df > 0
    bigger = Statistics(
        total_docs=stats.total_docs * 10,
        length_sums={k: v * 10 for k, v in stats.length_sums.items()},  # same averages
        with_postings=stats.with_postings,
        doc_freqs=stats.doc_freqs,
        unit_doc_freqs=stats.unit_doc_freqs,
    )
    plain = searcher.search(query, limit=5, stored=False)
    scaled = Searcher(index.reader(), statistics=bigger).search(query, limit=5, stored=False)
    n = stats.total_docs

    def idf(total: int) -> float:
        return math.log(1 + (total - df + 0.5) / (df + 0.5))

    assert plain.ids == scaled.ids
    for a, b in zip(plain, scaled, strict=True):
        assert b.score / a.score == pytest.approx(idf(10 * n) / idf(n), rel=1e-5)


def test_recorder_notes_each_units_terms(index: Index) -> None:
    searcher = index.searcher()
    stats = own_statistics(searcher, "ঢাকা শহর")
    terms = {term for (_, term) in stats.doc_freqs}
    assert len(terms) == 2
    for (field, term), df in stats.doc_freqs.items():
        assert df == searcher.reader.doc_freq(field, term)
    assert all(isinstance(k, tuple) and k[0] == "terms" for k in stats.unit_doc_freqs)
    assert len({unit_key_part[1] for unit_key_part in stats.unit_doc_freqs}) == 2
