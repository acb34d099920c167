"""Fuzzy words: the word as typed ranks first, scores fall with edit distance, and a
distance above 2 is a query error (strict) or searched as 2 with a note (lenient)."""

from __future__ import annotations

import pytest

from bnsearch.articles import Article
from bnsearch.errors import QuerySyntaxError
from bnsearch.index import Index
from bnsearch.search import Searcher
from bnsearch.search.parser import parse_query

FILLER = "আজ সকালে খবরটি প্রকাশিত হয়েছে।"


@pytest.fixture(scope="module")
def searcher() -> Searcher:
    # every body has the same length, so only the matched word decides the score
    bodies = {
        "exact": "ঢাকা",
        "inflected": "ঢাকার",
        "one-edit-a": "টাকা",
        "one-edit-b": "নৌকার",
        "many-one-edits": "টাকা নৌকা থাকা",
        "long-exact": "সম্মেলন",
        "long-one-edit": "সম্মেলম",
        "long-two-edits": "সম্মেকম",
        "none": "বাজেট",
    }
    index = Index.in_memory()
    with index.writer() as writer:
        for ident, word in bodies.items():
            words = word.split()
            padding = " ".join(["খবর"] * (3 - len(words)))
            writer.add(Article(id=ident, title="", body=f"{word} {padding} {FILLER}"))
    return Searcher(index.reader())


def test_the_word_as_typed_ranks_first_and_scores_fall_with_distance(searcher: Searcher) -> None:
    results = searcher.search("ঢাকা~2", limit=10, stored=False, highlight=False)
    scores = {hit.id: hit.score for hit in results}
    assert "none" not in scores
    assert set(results.ids[:2]) == {"exact", "inflected"}
    exact = min(scores["exact"], scores["inflected"])
    one_edit = [scores["one-edit-a"], scores["one-edit-b"], scores["many-one-edits"]]
    assert max(one_edit) < 0.5 * exact
    # several near spellings in one document are no better than one
    assert scores["many-one-edits"] == pytest.approx(max(scores["one-edit-a"], 0), rel=0.05)
    assert not {"long-exact", "long-one-edit", "long-two-edits"} & set(scores)
    results = searcher.search("সম্মেলন~2", limit=10, stored=False, highlight=False)
    assert results.ids == ["long-exact", "long-one-edit", "long-two-edits"]
    long = [hit.score for hit in results]
    assert long[1] < 0.5 * long[0] and long[2] < 0.5 * long[1]


def test_explain_agrees_with_the_fuzzy_score(searcher: Searcher) -> None:
    results = searcher.search("ঢাকা~", limit=10, stored=False, highlight=False)
    for hit in results:
        explanation = searcher.explain("ঢাকা~", hit.id)
        assert explanation.value == pytest.approx(hit.score, rel=1e-5)
        assert explanation.description.startswith("best of")


def test_a_fuzzy_distance_above_two_is_an_error_or_a_note() -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query("বাজেট ঢাকা~5", strict=True)
    assert caught.value.position == 10 and "at most 2" in str(caught.value)
    notes: list[str] = []
    assert str(parse_query("ঢাকা~5", notes=notes)) == "ঢাকা~2"
    assert notes and "position 4" in notes[0]
    # a query that falls back to plain words keeps no note about its syntax
    notes.clear()
    parse_query('ঢাকা~5 "open', notes=notes)
    assert notes == []


def test_search_says_when_it_lowered_a_fuzzy_distance(searcher: Searcher) -> None:
    results = searcher.search("ঢাকা~7")
    assert results.ids and results.ids[0] in {"exact", "inflected"}
    assert any("fuzzy distance 7" in note for note in results.notes)
    with pytest.raises(QuerySyntaxError):
        searcher.search("ঢাকা~7", strict=True)
