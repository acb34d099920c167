"""A prefix page's highlight preparation: the snippet weights counted when asked for,
a matcher's answers for many terms at once, and a span lookup's candidates (a prefix's
expansions found in its range, not looked up one by one). Each gives what the eager
code it replaced gave."""

from __future__ import annotations

import bisect

import pytest

from bnsearch.articles import Article
from bnsearch.index import Index
from bnsearch.search import Searcher
from bnsearch.search.highlight import TermMatcher, phrase_key
from bnsearch.search.hits import SnippetWeights, query_matchers
from bnsearch.search.scoring import idf
from bnsearch.search.spans import SpanLookup

from .conftest import index_of

WORDS = ["বাংলা", "বাংলাদেশ", "বাজার", "বাড়ি", "কথা", "নদী", "বাঘ", "আকাশ"]


@pytest.fixture(scope="module")
def index() -> Index:
    """Two segments of short articles sharing words under the prefix বা."""
    first = [
        Article(
            id=f"a{i}",
            title=f"{WORDS[i % 8]} {WORDS[(i + 3) % 8]}",
            body=" ".join(WORDS[(i + k) % 8] for k in range(i % 5 + 3)),
        )
        for i in range(40)
    ]
    second = [
        Article(id=f"b{i}", title=WORDS[(i * 5) % 8], body=f"{WORDS[i % 8]} বাদাম {WORDS[2]}")
        for i in range(25)
    ]
    return index_of(first, second)


def _eager(searcher: Searcher, field: str, terms: set[str], phrases: tuple) -> dict:  # type: ignore[type-arg]
    """The weights as query_matchers made them before they were counted when asked."""
    ctx = searcher._ctx
    words = terms.union(t for phrase in phrases for _, t in phrase)
    weights = {t: float(idf(ctx.total_docs, ctx.doc_freq(field, t))) for t in words}
    for phrase in phrases:
        weights[phrase_key(phrase)] = sum(weights[t] for t in {t for _, t in phrase})
    return weights


def test_snippet_weights_equal_the_eager_ones(index: Index) -> None:
    searcher = Searcher(index.reader())
    ctx = searcher._ctx
    terms = {"বাংলা", "কথা", "নেই"}  # (a word no doc holds: idf of df 0)
    phrases = (
        ((0, "বাজার"), (1, "বাড়ি")),
        ((0, "নদী"),),  # a one-word phrase: its key is its word
        ((0, "কথা"), (2, "কথা")),  # a word twice counts once
    )
    weights = SnippetWeights(ctx, "body", ctx.total_docs, terms, phrases)
    expected = _eager(searcher, "body", terms, phrases)
    assert dict(weights) == expected
    assert set(weights) == set(expected) and len(weights) == len(expected)
    assert weights.get("বাজার বাড়ি") == expected["বাজার বাড়ি"]
    assert weights.get("আকাশ") is None and weights.get("আকাশ", 2.0) == 2.0
    with pytest.raises(KeyError):
        weights["আকাশ"]


def test_a_body_snippet_counts_no_title_weight(index: Index) -> None:
    searcher = Searcher(index.reader())
    results = searcher.search("বা*", limit=5)
    assert [hit.snippet for hit in results]
    matchers = results[0].highlights.matchers  # type: ignore[attr-defined]
    title, body = matchers["title"].weights, matchers["body"].weights
    assert isinstance(title, SnippetWeights) and isinstance(body, SnippetWeights)
    assert not title._counted  # nothing of the title was shown
    assert body._counted  # the snippets chose by the body's weights


@pytest.mark.parametrize("prefixes", [(), ("বা",), ("বাং",), ("বা", "ক"), ("ক", "বা"), ("বাং", "বা")])
def test_answers_equal_the_matcher_a_term(prefixes: tuple[str, ...]) -> None:
    matcher = TermMatcher(terms={"বাজার", "নদী"}, prefixes=prefixes)
    terms = [*WORDS, "বাদাম", "", "ব"]
    assert matcher.answers(terms) == [matcher(term) for term in terms]


@pytest.mark.parametrize("query", ["বা*", "বাং*", "ক*", "নদী বা*", '"বাজার বাড়ি" বা*'])
def test_span_lookup_candidates(index: Index, query: str) -> None:
    """Every term looked up alone or in a prefix's range, each once, in order."""
    searcher = Searcher(index.reader())
    compiled = searcher._prepare(query, None, romanized=False).compiled
    assert compiled is not None
    matcher = query_matchers(searcher._ctx, compiled)["body"]
    assert matcher.prefixes
    for segment in searcher._ctx.reader.segments:
        vocabulary = segment.terms("body")
        wanted = set(matcher.terms).union(t for p in matcher.phrases for _, t in p)
        ids = {segment.term_id("body", term) for term in wanted} - {-1}
        for prefix in matcher.prefixes:
            low = bisect.bisect_left(vocabulary, prefix)
            ids.update(range(low, bisect.bisect_left(vocabulary, prefix + "\U0010ffff")))
        lookup = SpanLookup(segment, "body", matcher)
        assert lookup._terms == [vocabulary[i] for i in sorted(ids)]
