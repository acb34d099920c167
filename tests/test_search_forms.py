"""Search room: the exact-form bonus (a query word's inflected form found as typed)."""

from __future__ import annotations

import math
import random

import pytest

from bnsearch.analysis import default_analyzer
from bnsearch.articles import Article
from bnsearch.index import Index
from bnsearch.search import BM25FParams, Searcher

from .conftest import index_of


@pytest.fixture(scope="module")
def index() -> Index:
    # same stem, same length, same frequency: only the form differs
    return index_of(
        [
            Article(id="bare", title="খবর", body="আদালতে মামলা উঠেছে আজ"),
            Article(id="the", title="খবর", body="আদালতে মামলাটি উঠেছে আজ"),
            Article(id="of", title="খবর", body="আদালতে মামলার শুনানি আজ"),
            Article(id="other", title="খবর", body="বাজারে চালের দাম বেড়েছে"),
        ]
    )


def scores(searcher: Searcher, query: str) -> dict[str, float]:
    return {hit.id: hit.score for hit in searcher.search(query, limit=1000, stored=False)}


def test_the_typed_form_ranks_first_and_matches_stay_the_same(index: Index) -> None:
    plain = Searcher(index.reader(), params=BM25FParams(proximity=0.0, exact_forms=0.0))
    exact = Searcher(index.reader(), params=BM25FParams(proximity=0.0, exact_forms=0.5))
    before, after = scores(plain, "মামলাটি"), scores(exact, "মামলাটি")
    assert set(before) == set(after) == {"bare", "the", "of"}
    assert before["the"] == pytest.approx(before["bare"])  # one stem: BM25F cannot tell
    assert max(after, key=after.__getitem__) == "the"
    assert after["bare"] == pytest.approx(before["bare"])
    assert scores(exact, "মামলার")["of"] > scores(exact, "মামলার")["the"]


def test_a_bare_query_word_gets_no_bonus(index: Index) -> None:
    plain = Searcher(index.reader(), params=BM25FParams(proximity=0.0, exact_forms=0.0))
    exact = Searcher(index.reader(), params=BM25FParams(proximity=0.0, exact_forms=0.5))
    assert scores(plain, "মামলা") == pytest.approx(scores(exact, "মামলা"))


def test_the_bonus_is_idf_times_the_weight(index: Index) -> None:
    plain = Searcher(index.reader(), params=BM25FParams(proximity=0.0, exact_forms=0.0))
    exact = Searcher(index.reader(), params=BM25FParams(proximity=0.0, exact_forms=2.0))
    explained = plain.explain("মামলাটি", "the")
    gained = scores(exact, "মামলাটি")["the"] - scores(plain, "মামলাটি")["the"]
    reader = index.reader()
    n, df = reader.doc_count, reader.doc_freq("body", "মামলা")
    import math

    assert gained == pytest.approx(2.0 * math.log1p((n - df + 0.5) / (df + 0.5)), rel=1e-5)
    assert explained is not None


def test_explain_shows_the_exact_form_bonus_and_sums_to_the_score(index: Index) -> None:
    searcher = Searcher(index.reader(), params=BM25FParams(proximity=0.0, exact_forms=0.5))
    explained = searcher.explain("মামলাটি", "the")
    parts = {detail.description.split(":")[0]: detail.value for detail in explained.details}
    assert parts["exact forms"] > 0
    assert explained.value == pytest.approx(scores(searcher, "মামলাটি")["the"], rel=1e-5)
    assert "exact forms" not in str(searcher.explain("মামলাটি", "bare"))


@pytest.fixture(scope="module")
def forms_index() -> Index:
    rng = random.Random(5)
    forms = ["মামলা", "মামলাটি", "মামলার", "মামলায়", "আদালত", "আদালতের"]
    bodies = [" ".join(rng.choices(forms, k=rng.randint(1, 12))) for _ in range(60)]
    return index_of(
        Article(id=f"f{n}", title=rng.choice(forms), body=body) for n, body in enumerate(bodies)
    )


@pytest.mark.parametrize("query", ["মামলাটি", "মামলার আদালতের", "মামলায়"])
def test_every_match_with_the_typed_form_gets_the_bonus(
    forms_index: Index, query: str, flat_strategy: str
) -> None:
    plain = Searcher(forms_index.reader(), params=BM25FParams(proximity=0.0, exact_forms=0.0))
    exact = Searcher(
        forms_index.reader(),
        params=BM25FParams(proximity=0.0, exact_forms=1.0, rerank_depth=1),
    )
    before, after = scores(plain, query), scores(exact, query)
    assert set(before) == set(after)
    texts = {hit.id: hit.fields for hit in exact.search(query, limit=1000)}
    n = forms_index.reader().doc_count
    for article_id, base in before.items():
        words = f"{texts[article_id]['title']} {texts[article_id]['body']}".split()
        expected = 0.0
        for typed in query.split():
            if typed in words:  # this index's words differ in their endings only
                # the word's df: the articles matching it in any field
                df = plain.search(default_analyzer().terms(typed)[0], stored=False).total
                expected += math.log1p((n - df + 0.5) / (df + 0.5))
        assert after[article_id] - base == pytest.approx(expected, abs=1e-4), article_id


def test_a_repeated_word_is_one_unit_with_its_typed_forms_ored(index: Index) -> None:
    """A plain-words query whose word repeats in two forms (and a word once): one unit a
    term, boosted by its count, carrying the OR of the forms typed, in first-seen order;
    the same units with the bonus off carry no flag."""
    from bnsearch.analysis.forms import inflection_split
    from bnsearch.search.compiler import Compiler, Unit

    for exact_forms in (0.5, 0.0):
        searcher = Searcher(index.reader(), params=BM25FParams(exact_forms=exact_forms))
        weights = searcher._weights(None)
        units = Compiler(searcher._ctx, weights).words("মামলাটি আদালতে মামলার")
        assert [(u.label, u.boost) for u in units] == [("মামলা", 2.0), ("আদালত", 1.0)]
        assert all(isinstance(u, Unit) for u in units)
        split = inflection_split(searcher._ctx.analyzer("body"))
        assert split is not None
        typed = split.query_flags("মামলাটি মামলার")["মামলা"]
        assert typed != 0 and typed != split.query_flags("মামলাটি")["মামলা"]
        assert units[0].form_flag == (typed if exact_forms else 0)
        assert units[1].form_flag == (split.query_flags("আদালতে")["আদালত"] if exact_forms else 0)
