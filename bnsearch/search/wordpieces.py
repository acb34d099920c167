"""A word's share of the compiled core's arguments in every segment, from one call.

A word's usual unit (one term in every field it is weighted in) reads, per segment and
field, the term's posting slice, the field's per-doc multiplier and the slice's form
flags (the engine's :data:`~.engine.Pieces`). :func:`pieces_df` gets them for every
segment from one compiled call (:func:`bnsearch.index._terms.word_pieces`) over a
layout made once per fields and weights (per segment, the unit's fields with postings,
their compiled term tables holding the postings, and their multipliers), instead of a
lookup per segment and field in Python (``Evaluator.parts``,
``SegmentReader.term_slices``, ``Evaluator._part_forms``), which stay the reference
(and serve a segment whose field is an anchor field under updates).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from bnsearch.compiled import optional_module
from bnsearch.search import unitstats

if TYPE_CHECKING:
    from bnsearch.search.compiler import Unit
    from bnsearch.search.context import Context

#: The compiled term tables, or None (the engine's lookups serve).
_TERMS = optional_module("bnsearch.index._terms")
#: Layouts a :class:`~.context.Context` keeps (one per fields and weights met).
LAYOUTS_KEPT = 64


def single_term(terms: Mapping[str, tuple[str, ...]]) -> str | None:
    """The term when ``terms`` (field -> its terms) is one term in every field, else None."""
    first = None
    for each in terms.values():  # (a loop: a unit has a few fields)
        if first is None:
            first = each
        elif each != first:
            return None
    return first[0] if first is not None and len(first) == 1 else None


def word_term(unit: Unit) -> str | None:
    """The term of a unit of one term in every field (a word's or a spelling variant's
    unit), else None."""
    return None if unit.phrases else single_term(unit.terms)


def layout(ctx: Context, unit: Unit) -> list[Any]:
    """Per segment of the snapshot, ``(field, table, multiplier)`` of each of the unit's
    fields with postings (None for a segment where a field has no table holding its
    postings), made once per fields and weights (kept by ``ctx``,
    :func:`kept_layout`)."""
    weights = unit.weights
    return kept_layout(ctx, (tuple(unit.terms), id(weights)), weights, _word_entry)


def _word_entry(ctx: Context, segment: Any, field: str, weight: float) -> tuple[Any, ...] | None:
    table = segment.word_table(field)
    return None if table is None else (field, table, ctx.multiplier(segment, field, weight))


def kept_layout(
    ctx: Context,
    key: tuple[Any, ...],
    weights: Mapping[str, float],
    entry: Callable[[Context, Any, str, float], tuple[Any, ...] | None],
) -> list[Any]:
    """Per segment of the snapshot, ``entry(ctx, segment, field, weight)`` of each
    field of ``key[0]`` with postings, or None for a segment where an entry is None
    (read field by field); kept in ``ctx.word_layouts`` under ``key`` while ``weights``
    is the same object (a word's layouts and a phrase's, :func:`.phrases.layout`, by
    their own keys), at most :data:`LAYOUTS_KEPT`."""
    kept = ctx.word_layouts
    found = kept.get(key)
    if found is not None and found[0] is weights:
        made: list[Any] = found[1]
        return made
    fields = [field for field in key[0] if ctx.has_postings(field)]
    made = []
    for segment in ctx.reader.segments:
        entries = []
        for field in fields:
            got = entry(ctx, segment, field, weights[field])
            if got is None:
                break
            entries.append(got)
        made.append(entries if len(entries) == len(fields) else None)
    if len(kept) >= LAYOUTS_KEPT:
        kept.clear()
    kept[key] = (weights, made)
    return made


def pieces_df(ctx: Context, unit: Unit) -> tuple[list[Any] | None, int]:
    """Per segment, the unit's :data:`~.engine.Pieces` (None for a segment the caller
    reads slice by slice; None for all: not a word's unit, a term UTF-8 cannot hold, or
    the compiled tables were not built), and the unit's live documents over the
    snapshot, both from one compiled call where the compiled count was built too
    (``_units.word_unit_pieces_df``: the term found and encoded there, then the engine's
    count, :func:`.unitstats.live_doc_freqs`, without a second call a new word); the
    count is -1 where not counted here (the caller counts it)."""
    if _TERMS is None or unit.phrases:  # (:func:`word_term` without its call)
        return None, -1
    counts = unitstats.core
    if counts is None:
        term = single_term(unit.terms)
        if term is None:
            return None, -1
        try:
            encoded = term.encode()
        except UnicodeEncodeError:  # (a lone surrogate: the engine's lookups find nothing)
            return None, -1
        return _TERMS.word_pieces(encoded, layout(ctx, unit)), -1
    # (a unit not of one term, a prefix's, lays out its fields too, then reads slice
    # by slice: the call judges the terms)
    made = layout(ctx, unit)
    lives, max_docs = ctx.lives()
    found: tuple[list[Any] | None, int] = counts.word_unit_pieces_df(
        _TERMS.word_pieces, unit.terms, made, lives, max_docs
    )
    return found
