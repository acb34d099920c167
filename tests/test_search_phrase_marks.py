"""Phrase highlights mark the phrase where it stands, not its words wherever they are."""

from __future__ import annotations

import json
import random

from bnsearch.analysis import default_analyzer
from bnsearch.articles import read_articles
from bnsearch.search import Searcher
from bnsearch.search.highlight import best_fragment, highlight_all, matcher_for

from .conftest import index_of, shared_file

ANALYZER = default_analyzer()


def _phrase(text: str) -> tuple[tuple[int, str], ...]:
    return tuple((i, t) for i, t in enumerate(ANALYZER.term_sequence(text)) if t is not None)


def _marked(fragment: object) -> list[str]:
    text = fragment.text  # type: ignore[attr-defined]
    return [text[s:e] for s, e in fragment.spans]  # type: ignore[attr-defined]


def test_only_the_occurrence_is_marked_as_one_span() -> None:
    text = "ঢাকা শহরে আজ বৃষ্টি। শহরের মানুষ ঢাকা ছেড়ে যাচ্ছে। ঢাকা শহরের যানজট বেড়েছে।"
    matcher = matcher_for([], phrases=[_phrase("ঢাকা শহর")])
    assert _marked(highlight_all(text, ANALYZER, matcher)) == ["ঢাকা শহরে", "ঢাকা শহরের"]
    # a plain word beside the phrase is still marked wherever it is; inside the phrase once
    both = matcher_for(["বৃষ্টি", "ঢাকা"], phrases=[_phrase("ঢাকা শহর")])
    assert _marked(highlight_all(text, ANALYZER, both)) == [
        "ঢাকা শহরে",
        "বৃষ্টি",
        "ঢাকা",
        "ঢাকা শহরের",
    ]


def test_a_phrase_across_a_stopword_and_a_missing_phrase() -> None:
    text = "সরকার ও বিরোধী দল আলোচনায় বসেছে; বিরোধী সরকার নয়।"
    phrase = _phrase("সরকার ও বিরোধী")
    assert [offset for offset, _ in phrase] == [0, 2]  # ও is a dropped stopword
    fragment = best_fragment(text, ANALYZER, matcher_for([], phrases=[phrase]))
    assert _marked(fragment) == ["সরকার ও বিরোধী"]
    absent = matcher_for([], phrases=[_phrase("বিরোধী সরকার দল")])
    assert highlight_all(text, ANALYZER, absent).spans == ()


def test_phrase_queries_on_real_articles_mark_only_the_phrase() -> None:
    """Two-word phrases drawn from BeliN bodies: every mark of a page, analyzed, is the
    phrase's terms in order (no lone word of the phrase is marked)."""
    path = shared_file("corpus/belin_religious_news.jsonl")
    articles = list(read_articles(path))[:600]
    searcher = Searcher(index_of(articles).reader())
    rng = random.Random(5)
    checked = 0
    with path.open(encoding="utf-8") as lines:
        bodies = [json.loads(line)["body"] for _, line in zip(range(600), lines, strict=False)]
    for body in rng.sample(bodies, 40):
        words = body.split()
        at = rng.randrange(max(len(words) - 2, 1))
        text = " ".join(words[at : at + 2])
        phrase = _phrase(text)
        if len(phrase) != 2:
            continue
        results = searcher.search(f'"{text}"', limit=5)
        assert results.hits, text  # the phrase comes from an indexed body
        wanted = [t for _, t in phrase]
        for hit in results.hits:
            body_marks = hit.highlights.get("body")
            assert body_marks is not None
            for mark in _marked(body_marks):
                assert [t for t in ANALYZER.term_sequence(mark) if t] == wanted, (text, mark)
                checked += 1
    assert checked >= 20
