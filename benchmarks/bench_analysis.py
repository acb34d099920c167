"""Analysis throughput on the BeliN corpus, against a bare PyICU BreakIterator loop.

Run: ``pytest benchmarks/bench_analysis.py --benchmark-only`` (``--corpus-limit N`` for a
quick look). Every benchmark analyses all article bodies once per round and records in
``extra_info``: ``words`` (ICU words in the input, the same count for every benchmark, so
``words_per_s`` is comparable across rows), ``terms_out`` (what the analyzer produced),
``mb`` (UTF-8 megabytes in) and the throughput of the fastest and the mean round.

* ``bare_break_iterator``: ICU word boundaries, word statuses >= 100, words sliced out.
  The floor any ICU-based analyzer pays; the target is the full chain at >= 0.8x of it.
* ``default_chain_cold``: ``bengali_analyzer().terms`` on a fresh analyzer every round,
  so its chunk cache starts empty (what indexing a new corpus costs).
* ``default_chain_warm``: the same analyzer again after one full pass (steady state of a
  long-running indexer; the cache holds every chunk).
* ``lucene_chain_cold``: the Lucene-compatible chain, fresh every round.
* ``whoosh_standard``: whoosh's default ``StandardAnalyzer``, for reference (its ``\\w``
  regex is fast but wrong on Bengali).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import icu  # the bare loop is PyICU itself; bnsearch keeps its own import in icu_bridge
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from bnsearch.analysis import Analyzer, bengali_analyzer
from bnsearch.analysis.lucene import lucene_bengali_analyzer

pytestmark = pytest.mark.benchmark(group="analysis")

ROUNDS = 3
_FIRST_WORD_STATUS = 100  # ICU UBRK_WORD_NUMBER: statuses below are spaces and punctuation


def bare_break_iterator(texts: list[str]) -> list[str]:
    """Words of ``texts`` by a plain BreakIterator loop (the baseline)."""
    iterator = icu.BreakIterator.createWordInstance(icu.Locale.getRoot())
    words: list[str] = []
    append = words.append
    for text in texts:
        iterator.setText(text)
        start = iterator.first()
        for end in iterator:
            if iterator.getRuleStatus() >= _FIRST_WORD_STATUS:
                append(text[start:end])
            start = end
    return words


def analyze_all(analyzer: Analyzer, texts: list[str]) -> int:
    """Terms of every text under ``analyzer``; returns how many came out."""
    terms = analyzer.terms
    return sum(len(terms(text)) for text in texts)


@pytest.fixture(scope="module")
def corpus_size(corpus_bodies: list[str]) -> tuple[int, float]:
    """(ICU words, UTF-8 megabytes) of the bodies."""
    words = len(bare_break_iterator(corpus_bodies))
    megabytes = sum(len(text.encode("utf-8")) for text in corpus_bodies) / 1e6
    return words, megabytes


def record(benchmark: BenchmarkFixture, size: tuple[int, float], terms_out: int) -> None:
    """Put the corpus size and the throughput of the run into ``extra_info``."""
    words, megabytes = size
    info = benchmark.extra_info
    info.update(words=words, terms_out=terms_out, mb=round(megabytes, 3))
    stats = getattr(benchmark, "stats", None)
    if stats is None:  # --benchmark-disable: the function ran once, untimed
        return
    fastest, mean = stats.stats.min, stats.stats.mean
    info.update(
        words_per_s=round(words / fastest),
        mb_per_s=round(megabytes / fastest, 3),
        words_per_s_mean=round(words / mean),
        mb_per_s_mean=round(megabytes / mean, 3),
    )


def timed(
    benchmark: BenchmarkFixture,
    function: Callable[..., Any],
    args: Sequence[object] = (),
    setup: Callable[[], tuple[tuple[object, ...], dict[str, object]]] | None = None,
) -> Any:
    """``ROUNDS`` timed rounds of one call each; returns the last call's result."""
    return benchmark.pedantic(  # type: ignore[no-untyped-call]
        function, args=tuple(args), setup=setup, rounds=ROUNDS, iterations=1
    )


def run_fresh(benchmark: BenchmarkFixture, make: Callable[[], Analyzer], texts: list[str]) -> int:
    """Time ``analyze_all`` with a new analyzer each round (built outside the timing)."""
    return int(timed(benchmark, analyze_all, setup=lambda: ((make(), texts), {})))


def test_bare_break_iterator(
    benchmark: BenchmarkFixture, corpus_bodies: list[str], corpus_size: tuple[int, float]
) -> None:
    words = timed(benchmark, bare_break_iterator, (corpus_bodies,))
    assert len(words) == corpus_size[0]
    record(benchmark, corpus_size, len(words))


def test_default_chain_cold(
    benchmark: BenchmarkFixture, corpus_bodies: list[str], corpus_size: tuple[int, float]
) -> None:
    terms_out = run_fresh(benchmark, bengali_analyzer, corpus_bodies)
    assert 0 < terms_out <= corpus_size[0]
    record(benchmark, corpus_size, terms_out)


def test_default_chain_warm(
    benchmark: BenchmarkFixture, corpus_bodies: list[str], corpus_size: tuple[int, float]
) -> None:
    analyzer = bengali_analyzer()
    expected = analyze_all(analyzer, corpus_bodies)  # fills the cache
    terms_out = timed(benchmark, analyze_all, (analyzer, corpus_bodies))
    assert terms_out == expected
    record(benchmark, corpus_size, terms_out)


def test_lucene_chain_cold(
    benchmark: BenchmarkFixture, corpus_bodies: list[str], corpus_size: tuple[int, float]
) -> None:
    terms_out = run_fresh(benchmark, lucene_bengali_analyzer, corpus_bodies)
    assert 0 < terms_out <= corpus_size[0]
    record(benchmark, corpus_size, terms_out)


def test_whoosh_standard(
    benchmark: BenchmarkFixture, corpus_bodies: list[str], corpus_size: tuple[int, float]
) -> None:
    analysis = pytest.importorskip("whoosh.analysis")
    standard = analysis.StandardAnalyzer()

    def run(texts: list[str]) -> int:
        return sum(1 for text in texts for _ in standard(text))

    terms_out = timed(benchmark, run, (corpus_bodies,))
    record(benchmark, corpus_size, terms_out)
