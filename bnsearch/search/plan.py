"""The one preparation of a query that :meth:`Searcher.search` and :meth:`Searcher.explain`
share: parse, compile, then score (evaluate, the in-link prior, the proximity rerank).

Both take their scores from :func:`score`, so the value ``explain()`` reports for a
document is the score ``search()`` gives it, by construction.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np
import numpy.typing as npt

from bnsearch.analysis import Analyzer
from bnsearch.search import collect
from bnsearch.search.compiler import Compiled, Compiler, Node, Unit
from bnsearch.search.context import PER_WEIGHTS, RERANK_PLANS_KEPT, Context
from bnsearch.search.engine import DocScores, Evaluated, Evaluator
from bnsearch.search.parser import check_length, has_syntax, parse_query, words_query
from bnsearch.search.query import Bool, Query, Term
from bnsearch.search.rerank import RerankPlan, proximity_added, proximity_pairs, rerank_fields

#: Most distinct leaves a query may have; a longer user string is cut (and a note says so).
MAX_CLAUSES = 1024

Masks = Sequence["npt.NDArray[np.bool_] | None"]


class Plan:
    """A prepared query: what to score, and how it was read (made once, then only
    read: a searcher keeps it for the query string). A plain slotted class, not attrs:
    every new query makes one, and the frozen attrs class it was took twice the
    instructions to make (10.8k against 5.6k, callgrind)."""

    __slots__ = (
        "_rerank",
        "compiled",
        "compiler",
        "notes",
        "parsed",
        "plain",
        "reranks",
        "weights",
    )

    def __init__(  # (by place in prepare(): keywords cost a dict a call)
        self,
        compiled: Compiled | None,
        parsed: Query | None,
        plain: str | None,
        weights: Mapping[str, float],
        compiler: Compiler,
        notes: tuple[str, ...],
    ) -> None:
        self.compiled = compiled
        #: the parsed tree (``None`` for plain words, which skip the parser)
        self.parsed = parsed
        #: the text of a plain-words query (its word pairs are what the rerank looks for)
        self.plain = plain
        self.weights = weights
        self.compiler = compiler
        self.notes = notes
        self._rerank: RerankPlan | None = None
        #: a plain-words query of more than one word: the proximity rerank applies (a
        #: query of one term has no pair to look for, whatever spelling variants it
        #: reads; set once here, not a property: every search of the plan asks)
        self.reranks = (
            plain is not None
            and compiled is not None
            and not (isinstance(compiled, Unit) and compiled.boost == 1)
            and compiler.terms_read != 1
        )

    def __repr__(self) -> str:
        return f"Plan(compiled={self.compiled!r}, parsed={self.parsed!r}, notes={self.notes!r})"

    @property
    def rerank(self) -> RerankPlan:
        """What the proximity rerank looks for (made once: a plan is kept and reused)."""
        found = self._rerank
        if found is None:
            found = RerankPlan() if self.plain is None else rerank_plan(self.compiler, self.plain)
            self._rerank = found
        return found


def plain_words(query: str | Query, strict: bool, romanized: bool) -> str | None:
    """``query`` if it is plain words (compiled by :meth:`Compiler.words`, no parser;
    not keyword-only: :func:`prepare` passes its arguments by place)."""
    if isinstance(query, str) and not strict and not romanized and not has_syntax(query):
        return query
    return None


def prepare(
    ctx: Context,
    query: str | Query,
    weights: Mapping[str, float],
    field_names: Collection[str],
    romanized: bool = False,
    strict: bool = False,
    weights_key: str | None = None,
) -> Plan:
    """Parse (unless the query is plain words) and compile ``query`` (a string longer
    than :data:`~bnsearch.search.parser.MAX_QUERY_CHARS` raises QuerySyntaxError;
    ``weights_key``: :meth:`Context.weights_key` of ``weights`` when the caller has it).
    (Not keyword-only: a searcher's new query passes them by place, as keywords cost a
    dict a call.)"""
    if isinstance(query, str):
        check_length(query)
    notes: list[str] = []
    plain = plain_words(query, strict, romanized)
    compiler = Compiler(ctx, weights, romanized, weights_key)
    parsed: Query | None = None
    compiled: Compiled | None
    said = 0  # notes that already say why nothing is searched
    if plain is not None:  # a plain-words query skips the parser
        compiled = _plain_words(ctx, compiler, plain, notes)
        said = len(notes)
    else:
        parsed = _parse(query, strict, field_names, notes)
        parsed = _limit_clauses(parsed, notes, strict_input=not isinstance(query, str))
        compiled = compiler.compile(parsed)
    notes.extend(compiler.notes)
    if (
        compiled is None
        and not said
        and not compiler.notes
        and isinstance(query, str)
        and query.strip()
    ):
        notes.append("no searchable words in the query (only stopwords or punctuation)")
    return Plan(compiled, parsed, plain, weights, compiler, tuple(notes))


#: Per segment, the matches of a plan and their final scores: the evaluation's own object,
#: its ``matched`` and ``before_rerank`` set by :func:`score_plan` (one object a search).
Scored = Evaluated


def score_plan(
    ctx: Context,
    plan: Plan,
    evaluator: Evaluator,
    masks: Masks | None,
    page_end: int,
    sort: str = "score",
    page_only: bool = False,
    track_total: int | None = None,
) -> Scored:
    """Evaluate ``plan`` (compiled, not None) and add the in-link prior and the rerank.

    ``page_only``: the caller needs the best ``page_end`` by score and the count of the
    rest, not every match (facets are counted later, from a full evaluation); the
    compiled core then keeps only each segment's best (those the rerank reads among:
    ``rerank_depth`` of them) and, with ``track_total``, may prune (see
    :class:`~bnsearch.search.engine.Evaluated`). The in-link prior changes the order
    after evaluation, so with it every match is kept.
    """
    assert plan.compiled is not None
    reranks = plan.reranks and sort == "score" and not plan.rerank.empty
    keep = 0
    if page_only and sort == "score" and ctx.params.link_prior == 0 and page_end > 0:
        keep = max(ctx.params.rerank_depth, page_end) if reranks else page_end
    found = evaluator.evaluate_top(plan.compiled, ctx.max_docs, masks, keep, track_total)
    if ctx.params.link_prior > 0:
        found.matched = found.before_rerank = collect.add_prior(
            found.matched, ctx.link_counts(), ctx.params.link_prior
        )
    if reranks:  # (the evaluation's object, just made, takes the reranked scores)
        found.matched, found.candidates = _rerank(
            ctx, found.matched, plan.rerank, plan.weights, page_end, ascending=not found.complete
        )
    return found


def doc_score(matched: list[DocScores], ordinal: int, doc: int) -> float | None:
    """The score of ``doc`` of segment ``ordinal`` in ``matched``, or None (no match)."""
    docs, scores = matched[ordinal]
    at = np.flatnonzero(docs == doc)
    return float(scores[at[0]]) if len(at) else None


#: What :func:`rerank_plan` keeps per weights: the rerank's analyzer (None: off), the
#: fields it reads and their tables per segment (:func:`.rerank._field_tables`).
_PerWeights = tuple[Analyzer | None, list[str], dict[int, object]]


def rerank_plan(compiler: Compiler, text: str) -> RerankPlan:
    """What the rerank of plain words looks for (their pairs; empty when off), at the
    compiler's snapshot and weights. One plan per pairs and weights a snapshot keeps
    (:data:`~.context.RERANK_PLANS_KEPT` of them): what it keeps (pair weights; its
    reads of the pair words' postings, beside the positions cache) serves every query
    of the same pairs, and a query of pairs met before makes no plan."""
    ctx = compiler.ctx
    # (the analyzer of the first weighted field with postings, None when the rerank is
    # off, the fields it reads and, per segment, their tables (:func:`.rerank._field_tables`,
    # filled by the first search): per weights, kept with what is kept per weights)
    per_weights = (PER_WEIGHTS, "rerank", compiler.weights_key)
    found_per_weights: _PerWeights | None = ctx.interned.get(per_weights)
    if found_per_weights is None:
        field = next((f for f in compiler.weights if ctx.has_postings(f)), None)
        analyzer = None
        if field is not None and ctx.params.proximity > 0:
            analyzer = ctx.schema.analyzer(field)
        found_per_weights = ctx.intern(
            per_weights, (analyzer, rerank_fields(ctx, compiler.weights), {})
        )
    analyzer, fields, tables = found_per_weights
    if analyzer is None:
        return RerankPlan()
    pairs = proximity_pairs(analyzer, text)
    if not pairs:
        return RerankPlan()
    kept = ctx.rerank_plans
    key = (pairs, compiler.weights_key)
    found: RerankPlan | None = kept.get(key)
    if found is None:
        if len(kept) >= RERANK_PLANS_KEPT:
            kept.clear()
        found = kept[key] = RerankPlan(pairs=pairs)
        # (:func:`.rerank._fields` and :func:`.rerank._field_tables`, per weights: no
        # list made, no table asked again)
        memo = found.memo
        memo["fields"], memo["tables"] = fields, tables
    return found


def _rerank(
    ctx: Context,
    matched: list[DocScores],
    plan: RerankPlan,
    weights: Mapping[str, float],
    page_end: int,
    *,
    ascending: bool = False,
) -> tuple[list[DocScores], list[npt.NDArray[np.intp]] | None]:
    """Add the proximity bonus to the best ``rerank_depth`` matches (plain-words
    queries; see :mod:`.rerank`). Also returns those matches' indices per segment:
    the bonus only raises scores, so the best ``page_end`` are among them.
    ``ascending``: every segment's docs ascend (the compiled core's best of each)."""
    if plan.empty:
        return matched, None
    depth = max(ctx.params.rerank_depth, page_end)
    every = sum(len(docs) for docs, _ in matched) <= depth
    best = [np.arange(len(docs)) for docs, _ in matched] if every else collect.best(matched, depth)
    out = []
    for segment, (docs, scores), where in zip(ctx.reader.segments, matched, best, strict=True):
        if every and ascending:  # (all of them, in doc order already)
            scores = proximity_added(ctx, segment, docs, scores, None, plan, weights)
        elif len(where):
            if not ascending:  # the bonuses want sorted docs (ascending indices: so they are)
                where = where[np.argsort(docs[where])]
            scores = proximity_added(ctx, segment, docs, scores, where, plan, weights)
        out.append((docs, scores))
    return out, best


def _parse(
    query: str | Query, strict: bool, field_names: Collection[str], notes: list[str]
) -> Query:
    if not isinstance(query, str):
        if isinstance(query, bytes):
            raise TypeError("query must be str or a Query, got bytes (decode it first)")
        return query
    if strict:
        return parse_query(query, strict=True, fields=field_names)
    if not has_syntax(query):
        return words_query(query)
    return parse_query(query, fields=field_names, notes=notes)


def _plain_words(ctx: Context, compiler: Compiler, text: str, notes: list[str]) -> Compiled | None:
    """The bag-of-words path: a unit per distinct word, any may match (no parser)."""
    units = compiler.words(text)
    if len(units) > MAX_CLAUSES:  # keep words the index knows, then cut
        distinct = len(units)
        units = [u for u in units if _known(ctx, u)]
        if not units:
            notes.append(
                f"the query has {distinct} distinct words (more than {MAX_CLAUSES}) and the "
                "index has none of them"
            )
    if len(units) > MAX_CLAUSES:
        notes.append(
            f"the query has {len(units)} distinct words; only the first {MAX_CLAUSES} were used"
        )
        units = units[:MAX_CLAUSES]
    return Node(should=tuple(units)) if len(units) > 1 else (units[0] if units else None)


def _known(ctx: Context, unit: Unit) -> bool:
    return any(
        ctx.doc_freq(field, term) > 0 for field, terms in unit.terms.items() for term in terms
    )


def _limit_clauses(query: Query, notes: list[str], *, strict_input: bool) -> Query:
    if not isinstance(query, Bool):
        return query
    count = _count_leaves(query)
    if count <= MAX_CLAUSES:
        return query
    if query.must or query.must_not or not all(isinstance(q, Term) for q in query.should):
        if strict_input:
            raise ValueError(f"query has {count} clauses; the limit is {MAX_CLAUSES}")
        query = words_query(" ".join(str(leaf) for leaf in query.should if isinstance(leaf, Term)))
    merged: dict[tuple[str, str | None], float] = {}
    for leaf in query.should:
        assert isinstance(leaf, Term)
        key = (leaf.text, leaf.field)
        merged[key] = merged.get(key, 0.0) + leaf.boost
    terms = [Term(text=t, field=f, boost=b) for (t, f), b in merged.items()]
    if len(terms) > MAX_CLAUSES:
        notes.append(
            f"the query has {len(terms)} distinct words; only the first {MAX_CLAUSES} were used"
        )
        terms = terms[:MAX_CLAUSES]
    return Bool(should=terms, boost=query.boost)


def _count_leaves(query: Query) -> int:
    if isinstance(query, Bool):
        return sum(_count_leaves(q) for q in (*query.must, *query.should, *query.must_not))
    return 1
