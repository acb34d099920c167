"""A phrase's unit and its figure: the compiler keeps one unit object per phrase, field,
boost and weights (whichever romanization compiled it), equal to the unit its fields
describe; the phrase's idf is the sum, over its distinct words, of each word's idf at its
largest document frequency over the fields holding it, also where fields hold different
words (fields analyzed differently) and a word repeats."""

from __future__ import annotations

import pytest

from bnsearch import Article, Index
from bnsearch.search import Searcher
from bnsearch.search.compiler import Compiler, Unit
from bnsearch.search.engine import Evaluator
from bnsearch.search.query import Phrase, Term


@pytest.fixture(scope="module")
def searcher() -> Searcher:
    index = Index.in_memory()
    with index.writer() as writer:
        for number in range(30):
            # "ঢাকা" in every body, in few titles; "নদী" in many titles, few bodies
            title = "নদী বাজার" if number % 3 else "ঢাকা শহর"
            body = "ঢাকা শহর মানুষ" + (" নদী বাজার" if number % 7 == 0 else "")
            writer.add(Article(id=str(number), title=title, body=body))
    return Searcher(index.reader())


def _compiler(searcher: Searcher, romanized: bool = False) -> Compiler:
    return Compiler(searcher._ctx, searcher._weights(None), romanized)


def test_a_phrase_compiles_to_one_unit_per_text_field_boost_and_weights(
    searcher: Searcher,
) -> None:
    searcher._ctx.forget_queries()
    unit = _compiler(searcher).compile(Phrase(text="ঢাকা শহর"))
    assert isinstance(unit, Unit) and unit.kind == "phrase"
    # another compiler (romanized: a leaf key of its own) finds the same object
    assert _compiler(searcher, romanized=True).compile(Phrase(text="ঢাকা শহর")) is unit
    expected = Unit(
        "phrase",
        '"ঢাকা শহর"',
        1.0,
        phrases={"title": unit.phrases["title"], "body": unit.phrases["body"]},
        weights=dict(searcher._weights(None)),
    )
    assert unit == expected and dict(unit.phrases) == dict(expected.phrases)
    assert unit.phrases["title"] == ((0, unit.phrases["title"][0][1]), (1, "শহর"))
    # a boost a hair away makes a unit of its own boost
    boosts = (2.0, 2.0000000000000004)
    units = [_compiler(searcher).compile(Phrase(text="ঢাকা শহর", boost=b)) for b in boosts]
    assert [u.boost for u in units if isinstance(u, Unit)] == list(boosts)
    assert units[0] is not unit and units[0] is not units[1]
    only_title = _compiler(searcher).compile(Phrase(text="ঢাকা শহর", field="title"))
    assert isinstance(only_title, Unit) and set(only_title.phrases) == {"title"}
    assert only_title is not unit
    # a word that analyzes to several terms is a phrase of its own label
    word = _compiler(searcher).compile(Term(text="ঢাকা-শহর"))
    assert isinstance(word, Unit) and word.kind == "phrase" and word is not unit
    assert dict(word.phrases) == dict(unit.phrases)


def _expected_idf(searcher: Searcher, unit: Unit) -> float:
    ctx = searcher._ctx
    best: dict[str, int] = {}
    for field, pairs in unit.phrases.items():
        for _, term in pairs:
            best[term] = max(best.get(term, 0), ctx.doc_freq(field, term))
    total = 0.0
    for df in best.values():
        total += ctx.idf(df)
    return total


@pytest.mark.parametrize(
    "phrases",
    [
        # one tuple for both fields (one analyzer's): the usual case
        "shared",
        # fields holding different words, one word in both, a word twice
        {"title": ((0, "নদী"), (1, "বাজার")), "body": ((0, "ঢাকা"), (1, "নদী"), (2, "ঢাকা"))},
        # two fields of one tuple and one of another
        {
            "title": ((0, "ঢাকা"), (1, "শহর")),
            "body": ((0, "ঢাকা"), (1, "শহর")),
            "caption": ((0, "নদী"), (1, "শহর")),
        },
    ],
)
def test_a_phrase_idf_sums_each_word_at_its_largest_df_over_its_fields(
    searcher: Searcher, phrases: object
) -> None:
    ctx = searcher._ctx
    ctx.forget_queries()
    if phrases == "shared":
        words = ((0, "ঢাকা"), (1, "নদী"))
        phrases = {"title": words, "body": words}
    assert isinstance(phrases, dict)
    # the words' dfs differ by field: a figure from one field only would differ
    assert ctx.doc_freq("title", "ঢাকা") != ctx.doc_freq("body", "ঢাকা")
    assert ctx.doc_freq("title", "নদী") != ctx.doc_freq("body", "নদী")
    unit = Unit("phrase", "p", 1.0, phrases=phrases, weights=dict(searcher._weights(None)))
    value = Evaluator(ctx).unit_idf(unit, 0)
    assert value == _expected_idf(searcher, unit)
    assert Evaluator(ctx).unit_idf(unit, 0) == value  # (remembered per unit)
