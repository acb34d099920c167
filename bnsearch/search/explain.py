"""Explain: how one document scores for a query, beside the evaluator.

:func:`explain` scores the query through the same preparation and scoring as a search
(:mod:`.plan`), so its top value *is* the score ``search()`` gives the document; the
details break it down per clause and field (BM25F ``x``, idf, the exact-form bonus), then
the in-link prior and the proximity bonus.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

from bnsearch.index.norms import NORM_DECODE
from bnsearch.search.compiler import Compiled, Unit
from bnsearch.search.context import Context
from bnsearch.search.engine import Evaluator
from bnsearch.search.phrases import phrase_frequencies
from bnsearch.search.plan import Plan, doc_score, score_plan
from bnsearch.search.results import Explanation


def explain(ctx: Context, plan: Plan, ordinal: int, doc: int) -> Explanation:
    """The score of ``doc`` of segment ``ordinal`` for ``plan``, with its breakdown."""
    if plan.compiled is None:
        return Explanation(value=0.0, description="no searchable words in the query")
    evaluator = Evaluator(ctx)
    masks = [None if s.del_count == 0 else s.live for s in ctx.reader.segments]
    scored = score_plan(ctx, plan, evaluator, masks, page_end=0)
    value = doc_score(scored.matched, ordinal, doc)
    _, breakdown = _explain(ctx, plan.compiled, evaluator, ordinal, doc)
    if value is None:
        return Explanation(value=0.0, description="no match", details=(breakdown,))
    extras: list[Explanation] = []
    if ctx.params.link_prior > 0:
        links = int(ctx.link_counts()[ordinal][doc])
        prior = ctx.params.link_prior * math.log1p(links)
        extras.append(Explanation(value=prior, description=f"in-link prior, {links} in-links"))
    before = doc_score(scored.before_rerank, ordinal, doc)
    if before is not None and value != before:
        description = (
            f"proximity: query word pairs side by side, weight {ctx.params.proximity:g} "
            f"(added within the best {ctx.params.rerank_depth} matches)"
        )
        extras.append(Explanation(value=value - before, description=description))
    if not extras:
        return attrs.evolve(breakdown, value=value)  # its own sum, rounded alike
    return Explanation(value=value, description="sum of:", details=(breakdown, *extras))


def _explain(
    ctx: Context, node: Compiled, evaluator: Evaluator, ordinal: int, doc: int
) -> tuple[float | None, Explanation]:
    if isinstance(node, Unit):
        return _explain_unit(ctx, node, evaluator, ordinal, doc)
    parts = []
    total = 0.0
    missing = []
    for clause in node.must:
        value, detail = _explain(ctx, clause, evaluator, ordinal, doc)
        if value is None:
            missing.append(detail)
        else:
            total += value
            parts.append(detail)
    any_should = False
    best = 0.0
    for clause in node.should:
        value, detail = _explain(ctx, clause, evaluator, ordinal, doc)
        if value is not None:
            any_should = True
            best = max(best, value)
            total += 0.0 if node.best_of else value
            parts.append(detail)
    total += best if node.best_of else 0.0
    for clause in node.must_not:
        value, detail = _explain(ctx, clause, evaluator, ordinal, doc)
        if value is not None:
            return None, Explanation(
                value=0.0, description="excluded by a must-not clause", details=(detail,)
            )
    if missing:
        return None, Explanation(
            value=0.0, description="a required clause does not match", details=tuple(missing)
        )
    if not node.must and not any_should:
        return None, Explanation(value=0.0, description="no clause matches")
    total = float(np.float32(total) * np.float32(node.boost))
    label = "best of:" if node.best_of else "sum of:"
    if node.boost != 1:
        label = f"{label[:-1]} (times boost {node.boost:g}):"
    return total, Explanation(value=total, description=label, details=tuple(parts))


def _explain_unit(
    ctx: Context, unit: Unit, evaluator: Evaluator, ordinal: int, doc: int
) -> tuple[float | None, Explanation]:
    scored = evaluator.unit_scores(unit)
    docs, scores = scored[ordinal]
    at = np.flatnonzero(docs == doc)
    if unit.kind == "all":
        return 0.0, Explanation(value=0.0, description="matches every article (*:*)")
    if not len(at):
        return None, Explanation(value=0.0, description=f"{unit.label}: no match")
    value = float(scores[at[0]])
    segments = ctx.reader.segments
    df = sum(int(np.count_nonzero(s.live[d])) for s, (d, _) in zip(segments, scored, strict=True))
    df = ctx.unit_doc_freq(unit, df)  # the global figure, given statistics
    unit_idf = evaluator.unit_idf(unit, df)
    segment = segments[ordinal]
    field_parts = []
    x_total = 0.0
    for field, weight in unit.weights.items():
        tf = _field_tf(ctx, unit, segment, field, doc)
        if not tf:
            continue
        if ctx.is_text(field):
            code = int(segment.norms(field)[doc])
            length = float(NORM_DECODE[code])
            avg = ctx.avg_length(field)
            b = ctx.params.b_of(field)
            x = float(ctx.table(field, weight)[code]) * tf
            text = (
                f"field {field}: x = w {weight:g} * tf {tf:g} / (1 - b {b:g} + b * len "
                f"{length:g} / avg {avg:.2f})"
            )
        else:
            x = weight * tf
            text = f"field {field}: x = w {weight:g} * tf {tf:g} (keyword)"
        x_total += x
        field_parts.append(Explanation(value=x, description=text))
    k1 = ctx.params.k1
    description = (
        f"{unit.label}: boost {unit.boost:g} * idf {unit_idf:.4f} (N {ctx.total_docs}, "
        f"df {df}) * x {x_total:.4f} / (k1 {k1:g} + x)"
    )
    bonus = evaluator.form_bonus(unit, unit_idf)
    if bonus and doc in evaluator.form_docs(unit, segment, evaluator.parts(unit, segment)):
        description += " + exact forms"
        field_parts.append(
            Explanation(
                value=bonus,
                description=(
                    f"exact forms: the word found in the form typed, weight "
                    f"{ctx.params.exact_forms:g} * idf {unit_idf:.4f}"
                ),
            )
        )
    return value, Explanation(value=value, description=description, details=tuple(field_parts))


def _field_tf(ctx: Context, unit: Unit, segment: Any, field: str, doc: int) -> float:
    tf = 0.0
    if field in unit.phrases:
        docs, freqs = phrase_frequencies(segment, field, unit.phrases[field], cache=ctx.positions)
        hit = np.flatnonzero(docs == doc)
        return float(freqs[hit[0]]) if len(hit) else 0.0
    for term in unit.terms.get(field, ()):
        found = segment.postings(field, term)
        if found is None:
            continue
        index = int(np.searchsorted(found[0], doc))
        if index < len(found[0]) and int(found[0][index]) == doc:
            tf += float(found[1][index])
    return tf
