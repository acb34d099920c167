"""The analysis invariants over real Bengali news text from ../shared (skipped without it)."""

from __future__ import annotations

import unicodedata

import pytest

from bnsearch.analysis import bengali_analyzer
from bnsearch.analysis.icu_bridge import word_spans

from .conftest import iter_jsonl_texts, shared_file

MARKS = {"Mn", "Mc", "Me"}


@pytest.fixture(
    scope="module", params=["corpus/belin_religious_news.jsonl", "corpus/bqa_passages.jsonl"]
)
def texts(request: pytest.FixtureRequest) -> list[str]:
    return list(iter_jsonl_texts(shared_file(request.param), limit=300))


def test_real_text_tokens_keep_the_invariants(texts: list[str]) -> None:
    analyzer = bengali_analyzer()
    checked = 0
    for text in texts:
        for token in analyzer.tokens(text):
            surface = text[token.start : token.end]
            assert unicodedata.category(token.term[0]) not in MARKS, surface
            assert analyzer.term(surface) == token.term, surface
            checked += 1
    assert checked > 10_000


def test_real_text_segmentation_matches_icu_on_whole_text(texts: list[str]) -> None:
    analyzer = bengali_analyzer(stopwords=None, stem=False)
    for text in texts:
        expected = [text[s:e] for s, e in word_spans(text)]
        got = [text[t.start : t.end] for t in analyzer.tokens(text)]
        assert got == expected


def test_real_text_query_terms_find_index_terms(texts: list[str]) -> None:
    """A reader who types a word exactly as printed gets the term the index stored."""
    index_side = bengali_analyzer()
    query_side = bengali_analyzer()  # a separate instance: no shared cache
    for text in texts[:100]:
        for token in index_side.tokens(text):
            assert query_side.terms(text[token.start : token.end]) == [token.term]
