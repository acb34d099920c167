"""A query's page does not depend on what the searcher met before.

A searcher keeps each query's plan and, per snapshot, what it compiled for each word
(units, spelling variants: :meth:`Context.intern`; rerank plans), so a new query made of
words met before reuses their posting slices and statistics. These tests run every kind of
query on the real corpora (BQA passages + BeliN, with deletes across segments) through one
searcher that has seen the other queries (words shared between queries in other counts,
forms, boosts, fields and field weights), twice, and compare each page with the page of a
fresh searcher that never saw anything: same ids, totals, scores (exactly), highlights and
snippets, on the compiled core and on the numpy path. Skipped without ../shared.
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest

from bnsearch.articles import Article, read_articles
from bnsearch.index import Index
from bnsearch.search import Results, Searcher
from bnsearch.search.compiler import Compiler, Node, Unit
from bnsearch.search.plan import prepare

from .conftest import compiled_core, index_of, query_path, shared_file

SECTION = "ধর্ম"


@pytest.fixture(scope="module")
def corpus_index() -> Index:
    """BQA passages, then BeliN articles, then 200 of them again (deletes in the BeliN
    segment) and 60 BQA passages with a section; merges off: three segments."""
    bqa = list(read_articles(shared_file("corpus/bqa_passages.jsonl")))
    belin = list(read_articles(shared_file("corpus/belin_religious_news.jsonl")))
    again = belin[::9][:200] + [
        Article(id=a.id, title=a.title, body=a.body, section=(SECTION,)) for a in bqa[::20][:60]
    ]
    return index_of(bqa, belin, again, keep_deletes=True)


def _queries() -> list[tuple[str, dict[str, Any]]]:
    """Queries of every kind over one pool of words as typed in BeliN bodies (so the
    kinds share words), and BQA development questions."""
    belin = shared_file("corpus/belin_religious_news.jsonl")
    with belin.open(encoding="utf-8") as lines:
        texts = [json.loads(line)["body"] for _, line in zip(range(30), lines, strict=False)]
    words = list(dict.fromkeys(w for t in texts for w in t.split()[3:160:23] if len(w) > 2))[:12]
    pairs = [(t.split()[9], t.split()[10]) for t in texts[:12] if len(t.split()) > 11]
    path = shared_file("eval/bqa_dev_questions.jsonl")
    with path.open(encoding="utf-8") as lines:
        rows = [json.loads(line) for _, line in zip(range(16), lines, strict=False)]
    questions = [row["question"] for row in rows]
    assert len(words) >= 12 and len(pairs) >= 8 and len(questions) == 16
    out: list[tuple[str, dict[str, Any]]] = []
    for number, word in enumerate(words):
        other = words[(number * 7 + 3) % len(words)]
        third = words[(number + 5) % len(words)]
        out += [
            (word, {}),
            (f"{word} {other}", {}),
            (f"{word} {word} {other}", {}),  # a word twice: a unit of boost 2
            (f"{other} {word}", {"fields": {"title": 3.0, "body": 1.0}}),
            (f"{word} {other}", {"filter": {"section": SECTION}}),
            (f"{word[:3]}*", {}),
            (f"{word}~1", {}),
            (f"+{word} {other} -{third}", {}),
            (f"title:{word} {other}^2", {}),
            (f"{word}^3", {}),
            (f"{word} {other}", {"limit": 5, "offset": 5}),
        ]
    out += [(f'"{a} {b}"', {}) for a, b in pairs]
    out += [(f'"{a} {b}"', {"fields": ["body"]}) for a, b in pairs[:4]]
    out += [(q, {}) for q in questions] + [(q, {"filter": {"section": SECTION}}) for q in questions]
    out += [("dhaka bangladesh", {"romanized": True}), ("namaz", {"romanized": True})]
    return out


def _same(mine: Results, fresh: Results, query: str) -> None:
    assert mine.ids == fresh.ids, query
    assert (mine.total, mine.total_is_exact) == (fresh.total, fresh.total_is_exact), query
    assert [h.score for h in mine.hits] == [h.score for h in fresh.hits], query
    assert [h.highlights for h in mine.hits] == [h.highlights for h in fresh.hits], query
    assert [h.snippet for h in mine.hits] == [h.snippet for h in fresh.hits], query
    assert mine.notes == fresh.notes, query


def test_pages_of_a_searcher_that_met_other_queries_equal_a_fresh_ones(
    corpus_index: Index, query_core: ModuleType | None
) -> None:
    reader = corpus_index.reader()
    assert len(reader.segments) == 3 and sum(s.del_count for s in reader.segments) == 260
    queries = _queries()
    with query_path(query_core):
        built = Searcher(reader)
        built.search("নামাজ~1 dhaka", romanized=True)  # the fuzzy and romanized indexes

        def fresh_searcher() -> Searcher:
            """A searcher that met no query; it shares the built term dictionaries (a
            fuzzy word's letter-pair index takes seconds; they hold the index's terms,
            nothing of a query)."""
            searcher = Searcher(reader)
            searcher._ctx._dictionaries = built._ctx._dictionaries
            searcher._ctx._roman = built._ctx._roman
            return searcher

        fresh = [fresh_searcher().search(q, **options) for q, options in queries]
        seasoned = Searcher(reader)
        for _ in range(2):  # new queries of words met before, then the kept plans
            for (query, options), expected in zip(queries, fresh, strict=True):
                _same(seasoned.search(query, **options), expected, query)
        interned = len(seasoned._ctx.interned)
    assert sum(bool(page.hits) for page in fresh) > len(queries) * 2 // 3  # not vacuous
    assert interned > 100  # the searcher did keep word units across queries


def test_a_new_query_of_known_words_reuses_their_units(corpus_index: Index) -> None:
    """The units of a new query's words are the objects an earlier query compiled (so
    their posting slices and statistics are read once), and a word in another count,
    form or field weight gets a unit of its own."""
    searcher = Searcher(corpus_index.reader())
    ctx, weights = searcher._ctx, searcher.default_fields
    names = frozenset(searcher.schema.names)

    def units(query: str, given: dict[str, float] | None = None) -> dict[str, Unit]:
        plan = prepare(ctx, query, weights=given or weights, field_names=names)
        found = plan.compiled
        leaves = found.should if isinstance(found, Node) else (found,)
        return {leaf.label: leaf for leaf in leaves if isinstance(leaf, Unit)}

    first = units("নামাজ রোজা হজ")
    second = units("হজ যাকাত নামাজ")
    assert second["নামাজ"] is first["নামাজ"] and second["হজ"] is first["হজ"]
    twice = units("নামাজ নামাজ")
    assert twice["নামাজ"] is not first["নামাজ"] and twice["নামাজ"].boost == 2.0
    weighted = units("নামাজ", {"title": 3.0, "body": 1.0})
    assert weighted["নামাজ"] is not first["নামাজ"]
    assert dict(weighted["নামাজ"].weights) == {"title": 3.0, "body": 1.0}
    inflected = units("নামাজের")  # the same stem, typed in another form
    assert inflected["নামাজ"].form_flag != first["নামাজ"].form_flag
    assert inflected["নামাজ"] is not first["নামাজ"]
    # its spelling variant's unit is the same (a variant has no form of its own)
    assert inflected["নামাজ ~ নামায"] is first["নামাজ ~ নামায"]
    ctx.forget_queries()
    assert units("নামাজ রোজা হজ")["নামাজ"] is not first["নামাজ"]


def test_phrase_frequencies_are_held_only_by_the_bounded_slice_cache(
    corpus_index: Index,
) -> None:
    """The per-unit pieces of the core's arguments hold a phrase's frequencies (new
    arrays) only while the slice cache, bounded by bytes, holds the same ones."""
    searcher = Searcher(corpus_index.reader())
    belin = shared_file("corpus/belin_religious_news.jsonl")
    with belin.open(encoding="utf-8") as lines:
        texts = [
            json.loads(line)["body"].split() for _, line in zip(range(20), lines, strict=False)
        ]
    phrases = [f'"{words[7]} {words[8]}"' for words in texts if len(words) > 9]
    with query_path(compiled_core()):  # the pieces are the compiled core's arguments
        found = sum(searcher.search(p, stored=False, highlight=False).total for p in phrases)
    assert found > 0  # phrases matched: their frequencies were read
    ctx = searcher._ctx
    assert ctx.units  # pieces were kept...
    for record in ctx.units.values():  # ...a phrase's only as the slice cache holds them
        for segment, pieces in zip(ctx.reader.segments, record.pieces, strict=True):
            if record.unit.phrases:
                assert pieces[0] is ctx.parts[(id(record.unit), segment.ordinal)][1]


def test_repeated_clauses_are_folded_into_one_with_their_boosts_added(
    corpus_index: Index,
) -> None:
    """Identical clauses of a boolean query compile to one (200 copies of ``প্র*``, the
    web's 1,000 characters, were scored 200 times): ``should`` and ``must`` copies add
    their boosts, ``must_not`` copies are one; clauses that differ stay apart."""
    searcher = Searcher(corpus_index.reader())
    ctx, weights = searcher._ctx, searcher.default_fields
    names = frozenset(searcher.schema.names)

    def compiled(query: str) -> Unit | Node | None:
        return prepare(ctx, query, weights=weights, field_names=names).compiled

    many = compiled(" ".join(["প্র*"] * 200))
    assert isinstance(many, Unit) and many.boost == pytest.approx(200.0)
    mixed = compiled("+নামাজ* +নামাজ* রোজা*^1.5 রোজা*^1.5 -হজ* -হজ*")
    assert isinstance(mixed, Node)
    assert [u.boost for u in mixed.must] == [2.0] and [u.boost for u in mixed.should] == [3.0]
    assert len(mixed.must_not) == 1
    # another boost of the same clause folds too (labelled as typed, for explain);
    # other fields are other clauses
    apart = compiled("নামাজ* title:নামাজ* নামাজ*^2 রোজা*")
    assert isinstance(apart, Node) and len(apart.should) == 3
    first = apart.should[0]
    assert isinstance(first, Unit) and first.boost == 3.0 and first.label == "নামাজ* নামাজ*^2"


@pytest.mark.parametrize(
    ("repeated", "single", "times", "rel"),
    [
        # doubling is exact in binary floating point: the same scores to 1e-9
        ("প্র* প্র*", "প্র*", 2, 1e-9),
        ("(নামাজ* রোজা) (নামাজ* রোজা)", "নামাজ* রোজা", 2, 1e-9),
        ("+নামাজ* +নামাজ* -হজ -হজ", "+নামাজ* -হজ", 2, 1e-9),
        # 200 float32 additions round at each step, one product once: float32 precision
        (" ".join(["প্র*"] * 200), "প্র*", 200, 1e-5),
    ],
)
def test_folded_repeats_score_what_the_unfolded_query_gives(
    corpus_index: Index,
    query_core: ModuleType | None,
    repeated: str,
    single: str,
    times: int,
    rel: float,
) -> None:
    """A query of ``times`` identical clauses finds what one of them finds, in the same
    order, each score ``times`` the single clause's (what summing the copies gave before
    they were folded), on the compiled core and on the numpy path."""
    with query_path(query_core):
        searcher = Searcher(corpus_index.reader())
        one = searcher.search(single, limit=50, highlight=False)
        many = searcher.search(repeated, limit=50, highlight=False)
    assert len(one) > 5 and many.total == one.total
    assert many.ids == one.ids
    for a, b in zip(one.hits, many.hits, strict=True):
        assert b.score == pytest.approx(a.score * times, rel=rel, abs=1e-12)


@pytest.mark.parametrize(
    ("query", "clauses"),
    [
        ("নামাজ^2 নামাজ", 1),
        ("নামাজ^0.5 রোজা নামাজ^1.5 নামাজ", 2),
        ("(নামাজ রোজা)^2 (নামাজ রোজা)", 2),  # (one node of boost 3: its two words)
        ("প্র*^3 প্র*", 1),
    ],
)
def test_a_repeated_clause_with_other_boosts_scores_what_its_clauses_did_apart(
    corpus_index: Index,
    query_core: ModuleType | None,
    monkeypatch: pytest.MonkeyPatch,
    query: str,
    clauses: int,
) -> None:
    """``a^2 a`` is folded into one clause of boost 3 (it was two, evaluated apart):
    the same matches in the same order, each score what the two clauses summed gave,
    to float32 precision (the folded weight ``float32(3 * idf)`` is rounded once where
    the two clauses' ``2 * float32(idf) + float32(idf)`` summed in float64 is exact), on
    the compiled core and the numpy path."""
    with query_path(query_core):
        searcher = Searcher(corpus_index.reader())
        folded = searcher.search(query, limit=100, highlight=False)
        plan = searcher._prepare(query, None, romanized=False)
        compiled = plan.compiled
        assert (len(compiled.should) if isinstance(compiled, Node) else 1) == clauses
        with monkeypatch.context() as patched:  # the compiler before: nothing folded
            patched.setattr(
                Compiler,
                "_fold",
                lambda self, clauses, add: tuple(
                    c for c in map(self.compile, clauses) if c is not None
                ),
            )
            apart = Searcher(corpus_index.reader()).search(query, limit=100, highlight=False)
    assert len(apart) > 10 and folded.total == apart.total
    assert folded.ids == apart.ids
    for a, b in zip(apart.hits, folded.hits, strict=True):
        assert b.score == pytest.approx(a.score, rel=3e-7, abs=1e-12)


def test_a_refreshed_searcher_serves_no_stale_plan_part(query_core: ModuleType | None) -> None:
    """Between two identical queries the index changes (a commit adding articles with
    the query's words, a delete, a merge into one segment): the refreshed searcher's
    pages equal a fresh searcher's each time, on both paths, though the first searcher
    kept its plans, units, slices, figures and the core's arguments (and the analyzers'
    memos, shared by every searcher, met the words)."""
    belin = list(read_articles(shared_file("corpus/belin_religious_news.jsonl")))[:400]
    words = [w for a in belin[:8] for w in a.title.split() if len(w) > 2][:6]
    queries = [words[0], words[1], f"{words[0]} {words[1]} {words[2]}", f'"{words[3]} {words[4]}"']
    index = index_of(belin[:150], belin[150:250], keep_deletes=True)
    searcher = Searcher(index.reader())

    def check(when: str) -> None:
        fresh = Searcher(index.reader())
        for query in queries:
            _same(searcher.search(query), fresh.search(query), f"{when}: {query}")

    changes = [
        ("commit", lambda writer: [writer.add(a) for a in belin[250:400]]),
        ("delete", lambda writer: [writer.delete(a.id) for a in belin[:8] + belin[260:300]]),
        ("merge", lambda writer: writer.optimize()),
    ]
    with query_path(query_core):
        for _ in range(2):  # (the plans and every per-unit piece kept)
            for query in queries:
                searcher.search(query)
        check("before")
        totals = [searcher.search(q).total for q in queries]
        for when, change in changes:
            with index.writer() as writer:
                change(writer)
            searcher = searcher.refresh()
            check(when)
            if when == "commit":
                assert [searcher.search(q).total for q in queries] != totals  # it changed
    assert len(index.reader().segments) == 1
