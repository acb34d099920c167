"""The search path makes its objects by place (a call with keywords builds a dict):
each such call gives what the keyword call gives, so a field added to one of these
classes, or their fields reordered, fails here rather than filling the wrong field."""

from __future__ import annotations

import inspect
from types import MappingProxyType

import attrs

from bnsearch.articles import Article
from bnsearch.index import Index
from bnsearch.search import Searcher
from bnsearch.search.compiler import Unit, _word_unit
from bnsearch.search.hits import units_of
from bnsearch.search.plan import Plan, Scored
from bnsearch.search.results import Results
from bnsearch.search.searcher import Scoring


def _fields(value: object) -> dict[str, object]:
    return {field.name: getattr(value, field.name) for field in attrs.fields(type(value))}


def test_a_word_unit_by_place_is_the_keyword_one() -> None:
    weights = MappingProxyType({"title": 2.0, "body": 1.0})
    made = _word_unit("নদী", 2.0, ["title", "body"], ("নদী",), weights, 3)
    want = Unit(
        kind="terms",
        label="নদী",
        boost=2.0,
        terms={"title": ("নদী",), "body": ("নদী",)},
        weights=weights,
        form_flag=3,
    )
    assert made == want and made.fields() == want.fields()
    assert list(made.terms.items()) == list(want.terms.items())
    assert not made.phrases and not made.prefixes


def test_a_unit_is_its_fields_in_init_order() -> None:
    """:class:`Unit` is a plain slotted class (a frozen attrs class set each field
    through ``object.__setattr__``): its fields by place follow ``__init__``'s order,
    it compares and shows by them, and a unit differing in one field differs."""
    names = list(inspect.signature(Unit.__init__).parameters)[1:]
    assert list(Unit.__slots__) == sorted(names)
    values = ("phrase", "ক খ", 2.0, {"body": ("ক",)}, {"body": ((0, "ক"),)}, {"body": 1.0}, {}, 1)
    unit = Unit(*values)
    assert list(unit.fields()) == names and tuple(unit.fields().values()) == values
    assert unit == Unit(*values) and unit != Unit(*values[:-1], 2) and unit != values
    assert repr(unit).startswith("Unit(kind='phrase', label='ক খ', boost=2.0, terms=")


def test_searches_leave_every_unit_as_it_was_made() -> None:
    """A unit is immutable by convention only (the engine keeps what it reads of a unit
    by the unit object): searching, explaining and highlighting change none."""
    index = Index.in_memory()
    with index.writer() as writer:
        for number in range(12):
            writer.add(Article(id=f"a{number}", title=f"নদী {number}", body="নদী মাছ বাজার " * number))
    searcher = Searcher(index.reader())
    queries = ("নদী", "নদী মাছ", '"মাছ বাজার"', "মা*", "নদি~1", "নদী^2 নদী", "title:নদী")
    made = {}
    for query in queries:
        plan = searcher._prepare(query, None, False)
        assert plan.compiled is not None
        for unit in units_of(plan.compiled):
            made[id(unit)] = (unit, repr(unit.fields()))
    for query in queries:
        results = searcher.search(query, highlight=True)
        assert results.total > 0
        searcher.explain(query, results[0].id)
        searcher.search(query, stored=False, filter={"published": (None, None)})
    assert made and all(repr(unit.fields()) == fields for unit, fields in made.values())


def test_a_search_fills_its_results_and_scoring_by_name() -> None:
    index = Index.in_memory()
    with index.writer() as writer:
        for number in range(12):
            section = ("খেলা",) if number % 2 else ()
            writer.add(
                Article(
                    id=f"a{number}", title=f"নদী {number}", body="নদী মাছ " * number, section=section
                )
            )
    searcher = Searcher(index.reader())
    results = searcher.search("নদী", limit=5, stored=False, highlight=False)
    assert [hit.rank for hit in results.hits] == [0, 1, 2, 3, 4]
    assert results.total == 12 and results.offset == 0 and results.limit == 5
    assert results.total_is_exact is True and results.query is None and results.notes == ()
    assert isinstance(results.took_ms, float) and results.took_ms >= 0
    assert dict(results.facets) == {"section": {"খেলা": 6}}
    scoring = searcher.score("নদী", page_end=5)
    assert isinstance(scoring, Scoring) and isinstance(scoring.plan, Plan)
    assert isinstance(scoring.scored, Scored) and scoring.total == 12 and scoring.notes == ()
    scored = scoring.scored
    assert scored.total == 12 and scored.total_is_exact
    # (the compiled core keeps the page's best; the numpy path every match)
    assert len(scored.matched[0][0]) == (12 if scored.complete else 5)
    assert scored.candidates is None and scored.before_rerank is scored.matched
    plan = scoring.plan
    assert plan.plain == "নদী" and plan.parsed is None and plan.notes == ()
    assert isinstance(plan.compiled, Unit) and plan.compiler.weights is plan.weights
    nothing = searcher.score("", page_end=5)
    assert nothing.scored is None and nothing.total == 0 and nothing.plan.compiled is None
    by_name = Results(hits=(), total=3, offset=1, limit=2, notes=("x",), total_is_exact=False)
    assert by_name == Results((), 3, 1, 2, {}, 0.0, None, ("x",), False)


def test_a_search_scored_object_is_its_own_after_the_rerank_and_the_prior() -> None:
    """``Scored`` is the evaluation's object, its ``matched`` replaced by the rerank (and
    the prior's scores kept as ``before_rerank``): each search gets its own, a kept plan's
    search does not see the one before, and the facets count the search's own matches."""
    from bnsearch.search.scoring import BM25FParams

    index = Index.in_memory()
    with index.writer() as writer:
        for number in range(12):
            near = "নদী মাছ" if number % 3 else "নদী এক দুই তিন মাছ"
            section = ("খেলা",) if number % 2 else ("দেশ",)
            writer.add(
                Article(id=f"a{number}", title=f"শিরোনাম {number}", body=near, section=section)
            )
    searcher = Searcher(index.reader())
    first = searcher.score("নদী মাছ", page_end=5).scored
    again = searcher.score("নদী মাছ", page_end=5).scored
    assert first is not None and again is not None and first is not again
    assert first.candidates is not None and first.before_rerank is not first.matched
    # (the rerank adds to the near pairs' docs: the two lists differ in scores only)
    for (docs, scores), (before_docs, before_scores) in zip(
        first.matched, first.before_rerank, strict=True
    ):
        assert sorted(docs.tolist()) == sorted(before_docs.tolist())
        assert float(scores.sum()) > float(before_scores.sum())
    assert [(d.tolist(), s.tolist()) for d, s in again.matched] == [
        (d.tolist(), s.tolist()) for d, s in first.matched
    ]
    assert dict(searcher.search("নদী মাছ").facets) == {"section": {"খেলা": 6, "দেশ": 6}}
    assert dict(searcher.search("এক").facets) == {"section": {"খেলা": 2, "দেশ": 2}}
    prior = Searcher(index.reader(), params=BM25FParams(proximity=0.0, link_prior=0.5))
    scored = prior.score("নদী", page_end=5).scored
    assert scored is not None and scored.complete and scored.candidates is None
    assert scored.before_rerank is scored.matched and scored.total == 12


def test_the_weights_key_is_one_string_per_weights() -> None:
    """What is kept per field weights is keyed by one string a weights (its hash kept):
    the same weights give the same object, other weights (or another order, as their
    tuple did) another key, and searches at other weights are not served each other's
    plans."""
    index = Index.in_memory()
    with index.writer() as writer:
        writer.add(Article(id="t", title="নদী", body="মাছ"))
        writer.add(Article(id="b", title="মাছ", body="নদী নদী"))
    searcher = Searcher(index.reader())
    ctx = searcher._ctx
    key = ctx.weights_key({"title": 2.0, "body": 1.0})
    assert isinstance(key, str) and ctx.weights_key({"title": 2.0, "body": 1.0}) is key
    assert ctx.weights_key({"title": 1.0, "body": 2.0}) != key
    assert ctx.weights_key({"body": 1.0, "title": 2.0}) != key
    assert searcher._default_key == ctx.weights_key(searcher.default_fields)
    by_title = searcher.search("নদী", fields={"title": 5.0, "body": 0.1}, stored=False)
    by_body = searcher.search("নদী", fields={"title": 0.1, "body": 5.0}, stored=False)
    assert [hit.id for hit in by_title] == ["t", "b"]
    assert [hit.id for hit in by_body] == ["b", "t"]
    searcher._ctx.forget_queries()
    assert [hit.id for hit in searcher.search("নদী", fields={"title": 5.0, "body": 0.1})] == [
        "t",
        "b",
    ]
