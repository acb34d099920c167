"""Query evaluation: compiled units (:mod:`.compiler`) scored with numpy over a snapshot.

Evaluation runs in two passes so that statistics are global: pass one gathers, per
segment, the documents of each unit and their BM25F ``x`` (weighted, length-normalized
frequency summed over fields) and counts the unit's live document frequency over *all*
segments; pass two turns ``x`` into scores with the global idf and combines units through
the boolean structure with dense per-segment arrays.

Everything per posting is compiled or numpy: a bag of words (and a single unit) goes to
the compiled core (:mod:`.kernel`, one call per segment and pass), boolean nodes and the
numpy path use gathers of norms, table lookups and scatter-adds. Both sum a document's
units (and a unit's fields) in float64 and round once, so they give the same float32
scores. Python work is per unit and per field, never per document.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from bnsearch.index.blockmax import BLOCK
from bnsearch.index.segment import SegmentReader
from bnsearch.search import kernel, phrases, unitstats, wordpieces
from bnsearch.search.compiler import Compiled, Unit
from bnsearch.search.context import (
    JOINED_CACHE_BYTES,
    PARTS_CACHE_BYTES,
    PARTS_CACHE_ENTRIES,
    X_CACHE_BYTES,
    Context,
)
from bnsearch.search.phrases import phrase_frequencies
from bnsearch.search.scoring import saturate

FloatArray = npt.NDArray[np.float32]
DocScores = tuple[npt.NDArray[Any], FloatArray]

#: Above this many posting slices holding more than half a segment's doc count, a unit's
#: x is summed with one bincount over all of them (long prefix and fuzzy expansions);
#: otherwise by binary search into the longest slice (a word in title and body, where one
#: slice is much longer than the other, or a few rare expansions).
DENSE_COMBINE_PARTS = 4
#: A bag of words is scored in a dense ``units x docs`` table (one bincount for all its
#: postings, fields and words) when the table has at most this many cells, or at most
#: :data:`DENSE_CELLS_PER_POSTING` per posting read; otherwise word by word. Never above
#: :data:`DENSE_MAX_CELLS` (a thousand common words over a million docs would need GBs).
DENSE_FLAT_CELLS = 1 << 17
DENSE_CELLS_PER_POSTING = 4
DENSE_MAX_CELLS = 1 << 23

#: A phrase's per-segment frequencies are remembered up to this many docs.
PHRASE_PARTS_KEPT = 4096

_EMPTY_DOCS = np.empty(0, dtype=np.int32)
_EMPTY_SCORES = np.empty(0, dtype=np.float32)


#: ``(field, docs, tfs, start)``: a posting slice a unit reads; ``start`` is the index of
#: its first posting in the field's posting arrays (for the form flags), -1 for the
#: frequencies of a phrase.
Part = tuple[str, npt.NDArray[Any], npt.NDArray[Any], int]
#: Per segment, the docs a search may return (``None``: every doc).
Masks = Sequence["npt.NDArray[np.bool_] | None"]


class Evaluated:
    """The matches of a query per segment, with their count, and what the search makes
    of them (the plan's :class:`~.plan.Scored` is this class: one object a search, not
    two). Slotted, not attrs: every search makes one.

    ``matched`` holds every match when ``complete``; otherwise (the compiled core asked
    for the best ``keep`` of each segment) only those, with their exact scores.
    ``total`` counts every match when ``total_is_exact``; otherwise it is a lower bound
    (the core stopped reading the long posting lists of words that could no longer
    lift a document into the best ``keep``, once ``track_total`` matches were counted).
    ``before_rerank`` holds the scores before the proximity rerank (with the in-link
    prior; ``matched`` when there was no rerank); ``candidates`` per segment the
    indices of the reranked matches (the page is among them), or None. Only
    :func:`~.plan.score_plan` sets them, on the object the evaluation just made; it is
    not changed after.
    """

    __slots__ = ("before_rerank", "candidates", "complete", "matched", "total", "total_is_exact")

    def __init__(  # (by place: keywords cost a dict a call)
        self,
        matched: list[DocScores],
        total: int,
        total_is_exact: bool = True,
        complete: bool = True,
    ) -> None:
        self.matched = matched
        self.total = total
        self.total_is_exact = total_is_exact
        self.complete = complete
        self.before_rerank = matched
        self.candidates: list[npt.NDArray[np.intp]] | None = None

    def __repr__(self) -> str:
        return (
            f"Evaluated(total={self.total!r}, total_is_exact={self.total_is_exact!r}, "
            f"complete={self.complete!r}, matched={self.matched!r})"
        )


#: The core's ``score_segment`` arguments of one segment before the mask, whether it may
#: prune, the block bounds of a lone unit, the memo of its postings' ``x``, the docs it
#: matches for certain and its units' joined memos (see :meth:`Evaluator._segment_calls`).
Call = tuple[tuple[Any, ...], bool, Any, Any, int, Any]
#: A unit with at least this many postings in a segment is read from its joined memo
#: there when several units are scored slice by slice (fewer cost little either way).
JOIN_MIN_POSTINGS = 256
#: ... in a segment of at least this many docs (a small one's per-doc tables stay in the
#: cache: a memo gains little there, and a new query would pay for making it).
JOIN_MIN_DOCS = 16384
# a unit's memo is joined the second time its (segment, weight, flag) is scored: a
# join is a pass over every posting of a long unit (at 100k, most of what a query of
# words never seen costs over one of words seen), which one query's scoring does not
# repay; a unit met again (a kept plan, a word searched again) is joined then
_JOIN_NEXT = object()
#: A unit's share of the core's arguments in one segment: its slices (:data:`Part`), then
#: per slice its docs, tfs, multiplier and form flags (None: the bonus reads none).
Pieces = tuple[list[Part], list[Any], list[Any], list[Any], list[Any]]


class UnitArgs:
    """What the compiled core reads of one unit over a snapshot, in one place (a new
    combination of units met before looks each up once): per segment its
    :data:`Pieces`, its live document frequency, its figures (weight, exact-form bonus,
    the form flags the bonus asks for) and, searched alone, its block bounds and the
    core's arguments (a new one-word query of a word met before lays out nothing).

    Kept per snapshot by :class:`~.context.Context` (``units``, at most
    :data:`~.context.PARTS_CACHE_ENTRIES`) unless it holds a phrase's frequencies the
    slice cache does not (``kept``); let go with that cache, whose byte bound covers the
    phrase frequencies both refer to. Slotted, not attrs: made for every new unit."""

    __slots__ = ("alone", "blocks", "df", "figure", "joined", "kept", "pieces", "scoring", "unit")

    def __init__(self, unit: Unit, pieces: list[Pieces], kept: bool, df: int = 0) -> None:
        self.unit = unit
        self.pieces = pieces
        #: whether the slice cache holds the phrase frequencies of ``pieces`` (always, for
        #: a unit of terms, whose slices are views of the segment)
        self.kept = kept
        #: live documents over the snapshot (counted with a word's pieces, or set with the
        #: other new units': :meth:`Evaluator._live_dfs`)
        self.df = df
        #: ``(weight, bonus, flags)``; None until known (and with outside statistics)
        self.figure: tuple[float, float, int] | None = None
        #: ``(segment ordinal, bonus) -> block bounds`` (:meth:`Evaluator._block_bounds`;
        #: None until one is asked for: a unit of several is never searched alone)
        self.blocks: dict[tuple[int, bool], Any] | None = None
        #: the core's arguments of the unit searched alone, per segment (what a
        #: combination of several lays end to end), by the matches to count before
        #: skipping blocks (:meth:`Evaluator._segment_calls`); None until the unit is
        #: searched alone (the words of a several-words query never are: no dict each)
        self.alone: dict[int | None, list[Call]] | None = None
        #: ``(segment ordinal, weight, flag) ->`` the unit's joined memo in that segment
        #: (:meth:`Evaluator._joined`; None past the byte bound); None until one is
        #: asked for (only in segments of :data:`JOIN_MIN_DOCS`)
        self.joined: dict[tuple[int, float, int], Any] | None = None
        #: per segment, its longest slice whose every posting scores (None until asked;
        #: :meth:`Evaluator._scoring`)
        self.scoring: list[int] | None = None

    def block_bounds(
        self, evaluator: Evaluator, ordinal: int, segment: SegmentReader, bonus: bool
    ) -> Any:
        """:meth:`Evaluator._block_bounds` of this unit's slices in ``segment`` (the
        ``ordinal``-th), made once (with the memo of exact block maxima the core fills)."""
        key = (ordinal, bonus)
        blocks = self.blocks
        if blocks is None:
            blocks = self.blocks = {}
        found = blocks.get(key, self)
        if found is self:
            parts = self.pieces[ordinal][0]
            found = blocks[key] = evaluator._block_bounds(segment, self.unit, parts, bonus)
        return found


def _masked(matched: list[DocScores], masks: Masks | None) -> list[DocScores]:
    """``matched`` without the docs ``masks`` leaves out."""
    if masks is None:
        return matched
    out: list[DocScores] = []
    for (docs, scores), mask in zip(matched, masks, strict=True):
        if mask is not None and len(docs):
            keep = mask[docs]
            docs, scores = docs[keep], scores[keep]
        out.append((docs, scores))
    return out


class Evaluator:
    """Scores compiled queries over every segment of a snapshot (one search)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.segments = ctx.reader.segments
        self._unit_cache: dict[int, list[DocScores]] = {}

    # -- pass one: postings (or phrase frequencies) of a unit in one segment --------------
    def parts(self, unit: Unit, segment: SegmentReader) -> list[Part]:
        """The posting slices (:data:`Part`) the unit reads in ``segment`` (remembered
        per snapshot: a cached plan's units come back)."""
        cache = self.ctx.parts
        key = (id(unit), segment.ordinal)
        found = cache.get(key)
        if found is not None and found[0] is unit:
            return found[1]
        parts = self._read_parts(unit, segment)
        self._keep_parts(unit, segment.ordinal, parts)
        return parts

    def _keep_parts(self, unit: Unit, ordinal: int, parts: list[Part]) -> None:
        """Keeps ``parts`` (the unit's slices in the ``ordinal``-th segment) in the
        context's slice cache where they may be kept."""
        # term slices are views of the segment; a phrase's frequencies are new arrays,
        # kept only when small, and the cache holds at most PARTS_CACHE_BYTES of them
        owned = 0
        if unit.phrases:
            if sum(len(part[1]) for part in parts) > PHRASE_PARTS_KEPT:
                return
            owned = sum(part[1].nbytes + part[2].nbytes for part in parts if part[3] == -1)
        if owned <= PARTS_CACHE_BYTES:
            ctx = self.ctx
            cache = ctx.parts
            if len(cache) >= PARTS_CACHE_ENTRIES or ctx.parts_bytes + owned > PARTS_CACHE_BYTES:
                cache.clear()
                ctx.parts_bytes = 0
                ctx.calls.clear()  # (they may refer to the phrase frequencies let go here)
                ctx.forget_units()
            cache[(id(unit), ordinal)] = (unit, parts)
            ctx.parts_bytes += owned

    def _read_parts(self, unit: Unit, segment: SegmentReader) -> list[Part]:
        ctx = self.ctx
        found_parts: list[Part] = []
        if unit.phrases:
            for field, phrase in unit.phrases.items():
                if ctx.has_postings(field):
                    docs, freqs = phrase_frequencies(segment, field, phrase, cache=ctx.positions)
                    if len(docs):
                        found_parts.append((field, docs, freqs, -1))
        unit_terms = unit.terms
        if not found_parts and unit_terms:  # one term in every field (a word's usual
            term = wordpieces.single_term(unit_terms)  # unit): its slices in one call
            if term is not None:
                return segment.term_slices(term, filter(ctx.has_postings, unit_terms))
        for field, terms in unit.terms.items():
            if not ctx.has_postings(field):
                continue
            for term in terms:
                found = segment.located_postings(field, term)
                if found is not None and len(found[0]):
                    found_parts.append((field, *found))
        return found_parts

    def _x(self, unit: Unit, segment: SegmentReader, part: Part) -> FloatArray:
        field, docs, tfs, _ = part
        multiplier = self.ctx.multiplier(segment, field, unit.weights[field])
        x: FloatArray = np.multiply(tfs, multiplier[docs], dtype=np.float32)
        return x

    def _combine(
        self, unit: Unit, segment: SegmentReader, parts: list[Part]
    ) -> tuple[npt.NDArray[Any], FloatArray, int]:
        """Docs (each once) with the unit's summed ``x``, and the live df in this segment."""
        deletions = segment.del_count > 0
        if not parts:
            return _EMPTY_DOCS, _EMPTY_SCORES, 0
        if len(parts) == 1:
            docs = parts[0][1]
            x = self._x(unit, segment, parts[0])
            count = int(np.count_nonzero(segment.live[docs])) if deletions else len(docs)
            return docs, x, count
        if (  # many long expansions: one pass over them all
            len(parts) > DENSE_COMBINE_PARTS
            and sum(len(part[1]) for part in parts) * 2 > segment.max_doc
        ):
            summed_all = np.bincount(
                np.concatenate([part[1] for part in parts]),
                weights=np.concatenate([self._x(unit, segment, part) for part in parts]),
                minlength=segment.max_doc,
            )
            union = np.flatnonzero(summed_all != 0)  # (nonzero on floats is ~5x slower)
            count = int(np.count_nonzero(segment.live[union])) if deletions else len(union)
            return union, summed_all[union].astype(np.float32), count
        # several fields (or expansions): the longest posting list is the base; the others
        # find their docs in it by binary search (their x adds in place), and the docs
        # the base lacks are appended once (a doc in several short lists is summed)
        ordered = sorted(parts, key=lambda part: len(part[1]), reverse=True)
        base_docs = ordered[0][1]
        # x summed in float64 and rounded once (as the compiled core does)
        base_x = self._x(unit, segment, ordered[0]).astype(np.float64)
        extra_docs: list[npt.NDArray[Any]] = []
        extra_x: list[FloatArray] = []
        for part in ordered[1:]:
            docs, x = part[1], self._x(unit, segment, part)
            at = np.searchsorted(base_docs, docs)
            at[at == len(base_docs)] = 0
            found = base_docs[at] == docs
            base_x[at[found]] += x[found]  # docs are unique within a part
            missing = ~found
            if missing.any():
                extra_docs.append(docs[missing])
                extra_x.append(x[missing])
        if not extra_docs:
            union, summed = base_docs, base_x
        else:
            more_docs = np.concatenate(extra_docs)
            more_x: npt.NDArray[Any] = np.concatenate(extra_x)
            if len(extra_docs) > 1:
                more_docs, inverse = np.unique(more_docs, return_inverse=True)
                more_x = np.bincount(inverse, weights=more_x)
            union = np.concatenate([base_docs, more_docs])
            summed = np.concatenate([base_x, more_x])
        count = int(np.count_nonzero(segment.live[union])) if deletions else len(union)
        return union, summed.astype(np.float32), count

    # -- pass two: scores -----------------------------------------------------------------
    def unit_scores(self, unit: Unit) -> list[DocScores]:
        """Per segment, the unit's matching docs and scores."""
        cached = self._unit_cache.get(id(unit))
        if cached is not None:
            return cached
        if unit.kind == "all":
            result = [
                (np.arange(s.max_doc, dtype=np.int32), np.zeros(s.max_doc, dtype=np.float32))
                for s in self.segments
            ]
        else:
            all_parts = [self.parts(unit, s) for s in self.segments]
            gathered = [
                self._combine(unit, s, parts)
                for s, parts in zip(self.segments, all_parts, strict=True)
            ]
            df = self.ctx.unit_doc_freq(unit, sum(count for _, _, count in gathered))
            unit_idf = self.unit_idf(unit, df)
            bonus = self.form_bonus(unit, unit_idf)
            result = []
            for segment, parts, (docs, x, _) in zip(
                self.segments, all_parts, gathered, strict=True
            ):
                scores = saturate(x, k1=self.ctx.params.k1, weight=unit.boost * unit_idf)
                with_form = self.form_docs(unit, segment, parts) if bonus else _EMPTY_DOCS
                if len(with_form):  # within docs, which a union of fields leaves unsorted
                    order = np.argsort(docs, kind="stable")
                    scores[order[np.searchsorted(docs[order], with_form)]] += bonus
                result.append((docs, scores))
        self._unit_cache[id(unit)] = result
        return result

    def form_bonus(self, unit: Unit, unit_idf: float) -> float:
        """What a document with the word in its typed form gains (0: no typed form)."""
        return self.ctx.params.exact_forms * unit_idf if unit.form_flag else 0.0

    def form_docs(self, unit: Unit, segment: SegmentReader, parts: list[Part]) -> npt.NDArray[Any]:
        """The docs where some field's posting of the unit's term has all the ending kinds
        of :attr:`Unit.form_flag` (the postings' flags share their indices with the doc
        ids). A doc found in several fields repeats: ``scores[docs] += bonus`` still adds
        once (numpy applies one update per index), and no sort is paid for."""
        flag = unit.form_flag
        found = []
        for part in parts:
            forms = self._part_forms(unit, segment, part)
            if forms is not None:
                found.append(part[1][(forms & flag) == flag])
        if not found:
            return _EMPTY_DOCS
        return found[0] if len(found) == 1 else np.concatenate(found)

    def unit_idf(self, unit: Unit, df: int) -> float:
        """The idf of a unit (a phrase weighs the sum of its words' idf, as in Lucene)."""
        if unit.kind != "phrase":
            return self.ctx.idf(df)
        key = ("phrase idf", id(unit))  # (its words' figures: remembered per unit)
        known = self.ctx.interned.get(key)
        if known is not None and known[0] is unit:
            return float(known[1])
        words: dict[str, list[str]] = {}  # (a word's fields: its figure is their largest)
        for field, pairs in unit.phrases.items():
            for _, term in pairs:
                fields = words.get(term)
                if fields is None:
                    words[term] = [field]
                else:
                    fields.append(field)
        max_doc_freq = self.ctx.max_doc_freq
        word_idf = self.ctx.idf
        value = 0.0
        for term, fields in words.items():  # (a loop: no generator made a phrase)
            value += word_idf(max_doc_freq(fields, term))
        self.ctx.intern(key, (unit, value))
        return value

    def flat(self, units: Sequence[Unit], masks: Masks | None = None) -> list[DocScores]:
        """The fast path for a bag of words: any unit may match, scores add up.

        In a small segment (or one where the words read many postings) all units are
        summed into a dense ``units x docs`` table with one bincount
        (:meth:`_dense_x`) and saturated together. Elsewhere, units that read one posting
        slice (one term in one field: the common case) are scored together in one
        vectorized pass per field; the rest go through :meth:`_combine` (BM25F over
        several fields).
        """
        if kernel.core is not None:
            return self._flat_compiled(kernel.core, units, masks).matched
        per_segment = [[self.parts(u, s) for u in units] for s in self.segments]
        dfs = np.zeros(len(units), dtype=np.int64)
        merged: list[FloatArray | dict[int, tuple[npt.NDArray[Any], FloatArray]]] = []
        for segment, unit_parts in zip(self.segments, per_segment, strict=True):
            deletions = segment.del_count > 0
            postings = sum(len(part[1]) for parts in unit_parts for part in parts)
            cells = len(units) * segment.max_doc
            dense_enough = cells <= max(DENSE_FLAT_CELLS, DENSE_CELLS_PER_POSTING * postings)
            if dense_enough and cells <= DENSE_MAX_CELLS:
                table = self._dense_x(segment, units, unit_parts)
                dfs += np.count_nonzero(table[:, segment.live] if deletions else table, axis=1)
                merged.append(table)
                continue
            several: dict[int, tuple[npt.NDArray[Any], FloatArray]] = {}
            for i, parts in enumerate(unit_parts):
                if len(parts) == 1:
                    docs = parts[0][1]
                    dfs[i] += int(np.count_nonzero(segment.live[docs])) if deletions else len(docs)
                elif parts:
                    docs, x, count = self._combine(units[i], segment, parts)
                    several[i] = (docs, x)
                    dfs[i] += count
            merged.append(several)
        idfs = self._idfs(units, dfs.tolist())
        weights = np.array([u.boost * w for u, w in zip(units, idfs, strict=True)], np.float32)
        bonuses = [(i, self.form_bonus(u, idfs[i])) for i, u in enumerate(units)]
        bonuses = [(i, bonus) for i, bonus in bonuses if bonus]
        k1 = np.float32(self.ctx.params.k1)
        result: list[DocScores] = []
        for ordinal, (segment, unit_parts, prepared) in enumerate(
            zip(self.segments, per_segment, merged, strict=True)
        ):
            # a doc's units are summed in float64 and rounded once: the order of the
            # sum (table rows, fields, the compiled core's slices) cannot change a score
            if isinstance(prepared, np.ndarray):
                saturated = prepared / (prepared + k1) if k1 else (prepared > 0)
                acc = (saturated * weights[:, None]).sum(axis=0, dtype=np.float64)
            else:
                acc = self._sparse_flat(segment, units, unit_parts, prepared, weights)
            for i, bonus in bonuses:
                acc[self.form_docs(units[i], segment, unit_parts[i])] += np.float32(bonus)
            matching = acc != 0  # (nonzero on a float array is ~5x slower than on bools)
            if masks is not None and masks[ordinal] is not None:
                matching &= masks[ordinal]
            docs = np.flatnonzero(matching).astype(np.int32)
            result.append((docs, acc[docs].astype(np.float32)))
        return result

    def _idf(self, unit: Unit, df: int) -> float:
        """The idf of ``unit`` from its live document frequency in the snapshot (the
        global figure where the statistics come from outside): one rule for both paths
        (:meth:`_idfs`, :meth:`_figures`)."""
        ctx = self.ctx
        if ctx.statistics is not None:  # (else the local count is the figure: no call)
            df = ctx.unit_doc_freq(unit, int(df))
        return self.unit_idf(unit, df)

    def _idfs(self, units: Sequence[Unit], dfs: Sequence[int]) -> list[float]:
        """Per unit, its idf from its live document frequency (:meth:`_idf`)."""
        idf = self._idf
        found = []
        for unit, df in zip(units, dfs, strict=True):  # (a loop: no function made a call)
            found.append(idf(unit, df))
        return found

    def _flat_compiled(
        self,
        core: Any,
        units: Sequence[Unit],
        masks: Masks | None,
        keep: int = 0,
        track_total: int | None = None,
    ) -> Evaluated:
        """:meth:`flat` on the compiled core: per segment, one call for the live document
        frequencies (remembered per unit: a cached plan's units come back) and, once the
        idf is known, one for the scores, the exact-form bonus, the mask and (``keep``)
        the best matches. The same arithmetic as the numpy path (see ``_kernel.pyx``);
        the glue here is per slice, never per posting.

        With ``keep`` and ``track_total``, the units go to the core in order of falling
        bound (``weight + bonus``: what a unit can add to a score) and it may prune
        (MaxScore) once ``track_total`` matches are counted (see :class:`Evaluated`)."""
        if not self.segments:  # a snapshot without segments matches nothing
            return Evaluated([], 0)
        prune = keep > 0 and track_total is not None and len(units) > 1
        # the blocks of the first unit's longest slice that cannot reach the page are
        # skipped (a lone unit; several, where the others are short beside that slice)
        skip_blocks = keep > 0 and track_total is not None
        calls = self._segment_calls(core, units, prune, track_total if skip_blocks else None)
        # one call for every segment: each counts what the ones before left to count, and
        # the best ``keep`` scores of the segments before are a floor for the next (a doc
        # below the keep-th of them cannot be among the best ``keep`` of all)
        result, total, exact = core.score_segments(
            calls, masks, self.ctx.max_docs, keep, track_total, skip_blocks
        )
        return Evaluated(result, total, exact, keep == 0)  # (by place: no keywords' dict)

    def _segment_calls(
        self, core: Any, units: Sequence[Unit], prune: bool, skip_blocks: int | None = None
    ) -> list[Call]:
        """Per segment, the arguments of the core's ``score_segment`` before the mask
        (slices, multipliers, forms, owners, weights, flags, bonuses, k1), whether it
        may prune and (``skip_blocks``: a lone unit, the matches it must count first)
        its block bounds (:meth:`_block_bounds`); remembered per snapshot for the same units (a kept
        plan's) unless the statistics come from outside (a recorder must see every
        figure asked for). A new combination of units lays out what each unit's
        :class:`UnitArgs` holds (one lookup a unit)."""
        ctx = self.ctx
        if len(units) == 1:  # a lone unit's arguments are its own (kept in its UnitArgs)
            record = ctx.units.get(id(units[0]))
            if record is not None and record.unit is units[0] and record.alone is not None:
                alone: list[Call] | None = record.alone.get(skip_blocks)
                if alone is not None:
                    return alone
            key = None
        else:
            key = (tuple(map(id, units)), prune, skip_blocks)
            found = ctx.calls.get(key)
            if found is not None and all(map(operator.is_, found[0], units)):  # (ids matched)
                return found[1]
        records = self._records(units)
        shares = []
        for record in records:  # (a loop: no function made a call)
            shares.append(record.pieces)
        # laid end to end by the core (float32 weights and bonuses, uint8 flags, int32
        # owners), in MaxScore's order (the units that can add most first) when it may
        # prune: a new combination of units met before pays no Python loop per slice
        weights, flags, bonuses, prune, order, laid = core.lay_out_units(
            shares,
            self._figures(records),
            prune,
            len(self.segments),
        )
        if prune:
            records = [records[i] for i in order]
        k1 = ctx.core_k1
        overall = 0  # (the first unit's postings in every segment)
        if skip_blocks is not None:
            for pieces in records[0].pieces:
                for part in pieces[0]:
                    overall += len(part[1])
        # blocks may be skipped only where the first unit has more postings in all
        # segments than the matches to count first (a segment searched after others that
        # counted them may skip from its first block): tested once, not a call a segment
        may_skip = skip_blocks is not None and overall > skip_blocks
        # (a lone unit of terms: its postings' x memo where it has more than two slices)
        memos = key is None and ctx.statistics is None and not records[0].unit.phrases
        kept = True  # (the phrase frequencies read are all held by the slice cache)
        calls: list[Call] = []
        # (several units: per unit its weight, flag and bonus, for the memos and counts)
        figures = None
        # (held matches matter only where the snapshot can hold more than the count to
        # reach: a 4,008-doc corpus never prunes at 10,000)
        holds = prune and (skip_blocks is None or sum(ctx.max_docs) > skip_blocks)
        if len(records) > 1:  # (a loop, no zip: its ``strict`` keyword is a dict a call)
            figures = []
            unit_weights, unit_flags, unit_bonuses = (
                weights.tolist(),
                flags.tolist(),
                bonuses.tolist(),
            )
            for i in range(len(records)):
                figures.append((unit_weights[i], unit_flags[i], unit_bonuses[i]))
        for ordinal, segment in enumerate(self.segments):
            arrays = (*laid[ordinal], weights, flags, bonuses, k1)
            blocks = None
            if may_skip and _may_skip(records, ordinal, core.BLOCK_OTHERS_RATIO):
                blocks = records[0].block_bounds(self, ordinal, segment, bool(flags[0]))
            memo = None
            if memos:
                docs = records[0].pieces[ordinal][1]
                if len(docs) > 2:  # (kept with the calls)
                    memo = self._x_memo(docs)
            held = joined = None
            if figures is not None:
                held = self._held(records, ordinal, figures) if holds else 0
                if ctx.statistics is None and segment.max_doc >= JOIN_MIN_DOCS:
                    joined = self._joined(core, records, ordinal, segment, figures)
            calls.append((arrays, prune, blocks, memo, held or 0, joined))
        if key is None:
            # (a lone unit: nothing is read after its record is made or taken, and the
            # slice cache is never let go without the kept records: its own check holds)
            kept = records[0].kept
        else:
            for record in records:  # (again: reading a later unit may have let the cache go)
                if record.unit.phrases:
                    kept = kept and self._phrases_kept(record.unit, record.pieces)
        if ctx.statistics is None and kept:
            if key is None:
                alone_calls = records[0].alone
                if alone_calls is None:
                    alone_calls = records[0].alone = {}
                alone_calls[skip_blocks] = calls
            else:
                if len(ctx.calls) >= PARTS_CACHE_ENTRIES:
                    ctx.calls.clear()
                ctx.calls[key] = (tuple(units), calls)
        return calls

    def _held(
        self, records: list[UnitArgs], ordinal: int, figures: list[tuple[float, int, float]]
    ) -> int:
        """How many docs of the ``ordinal``-th segment match for certain, whatever
        MaxScore leaves unread (the core's ``at_least``): the longest slice there of a
        unit with a positive weight whose every posting scores (:meth:`_scoring`; the
        core ignores it where a mask drops docs). A query with a common word may then
        prune before reading that word's whole list to count ``track_total`` matches."""
        held = 0
        for i, record in enumerate(records):  # (no zip: its ``strict`` keyword is a dict)
            if figures[i][0] > 0:
                scoring = record.scoring
                if scoring is None:
                    scoring = record.scoring = self._scoring(record)
                if scoring[ordinal] > held:
                    held = scoring[ordinal]
        return held

    def _scoring(self, record: UnitArgs) -> list[int]:
        """Per segment, the longest slice of a unit of terms whose field's multipliers
        are all > 0 (stored term frequencies are >= 1: each of its postings scores; 0
        for a phrase), found once per unit."""
        unit = record.unit
        found = []
        for parts, *_ in record.pieces:
            longest = 0
            if unit.kind == "terms":
                for field, docs, _, _ in parts:
                    if (
                        len(docs) > longest
                        and self.ctx.table_ceiling(field, unit.weights[field])[1]
                    ):
                        longest = len(docs)
            found.append(longest)
        return found

    def _joined(
        self,
        core: Any,
        records: list[UnitArgs],
        ordinal: int,
        segment: SegmentReader,
        figures: list[tuple[float, int, float]],
    ) -> list[Any] | None:
        """Per unit (in the core's order) its joined memo in the ``ordinal``-th segment
        (the core's ``join_unit``: its docs, saturated scores and bonus flags, so that
        several units scored slice by slice read each unit once in doc order instead of
        each slice's frequencies and the docs' multipliers), made once per unit, weight
        and flag the second time it is scored there (the first reads its slices: see
        :data:`_JOIN_NEXT`) and kept with the unit, within :data:`~.context.JOINED_CACHE_BYTES`;
        None for a unit of fewer than :data:`JOIN_MIN_POSTINGS` postings there (or past the
        bound), and None for all when no unit has one."""
        ctx = self.ctx
        found: list[Any] = []
        k1 = ctx.core_k1
        for i, record in enumerate(records):  # (no zip: its ``strict`` keyword is a dict)
            weight, flag, bonus = figures[i]
            _, docs, tfs, mults, forms = record.pieces[ordinal]
            flag = flag if bonus else 0
            key = (ordinal, weight, flag)
            joined = record.joined
            if joined is None:
                joined = record.joined = {}
            memo = joined.get(key, record)
            if memo is record:  # first sight: scored from its slices, marked to join
                joined[key] = _JOIN_NEXT
                memo = None
            elif memo is _JOIN_NEXT:
                memo = None
                postings = sum(map(len, docs))
                size = 9 * postings
                if postings >= JOIN_MIN_POSTINGS and ctx.joined_bytes + size <= JOINED_CACHE_BYTES:
                    ctx.joined_bytes += size
                    memo = core.join_unit(
                        docs, tfs, mults, forms, flag, k1, weight, segment.max_doc
                    )
                joined[key] = memo
            found.append(memo)
        return found if any(memo is not None for memo in found) else None

    def _records(self, units: Sequence[Unit]) -> list[UnitArgs]:
        """Per unit, its :class:`UnitArgs` (kept per snapshot, made where missing: the
        live document frequencies of the new ones in one compiled call per segment)."""
        kept = self.ctx.units
        records: list[UnitArgs] = []
        new: list[UnitArgs] = []
        for unit in units:  # (a loop, not comprehensions: a query has a few units)
            record = kept.get(id(unit))
            if record is None or record.unit is not unit:
                # (a word's or a phrase's unit: its pieces and live df from one
                # compiled call; a phrase's frequencies kept as ``parts`` keeps them)
                if unit.phrases:
                    pieces, df = phrases.pieces_df(self.ctx, unit)
                    if pieces is not None:
                        for ordinal, found in enumerate(pieces):
                            if found is not None:
                                self._keep_parts(unit, ordinal, found[0])
                else:
                    pieces, df = wordpieces.pieces_df(self.ctx, unit)
                # (a count made means pieces in every segment: no scan for a None)
                if df < 0 and (pieces is None or None in pieces):
                    pieces = self._unit_pieces(unit, pieces)
                assert pieces is not None  # (counted: the call gave every segment's)
                kept_all = not unit.phrases or self._phrases_kept(unit, pieces)
                # (by place: no keywords' dict)
                record = UnitArgs(unit, pieces, kept_all, df if df > 0 else 0)
                if record.kept:  # (a phrase's frequencies not kept: made again next time)
                    if len(kept) >= PARTS_CACHE_ENTRIES:
                        self.ctx.forget_units()  # (with their memos' room)
                    kept[id(unit)] = record
                if df < 0:  # (not counted with its pieces)
                    new.append(record)
            records.append(record)
        if new:
            self._live_dfs(new)
        return records

    def _unit_pieces(self, unit: Unit, found: list[Any] | None) -> list[Pieces]:
        """A unit's share of the core's arguments in every segment: per slice, its docs,
        tfs, multiplier and form flags (:meth:`_part_forms`), after the slices, where
        ``found`` (a word's unit: :func:`.wordpieces.pieces_df`, these lookups its
        reference) has none (None, or None for a segment)."""
        multiplier = self.ctx.multiplier
        part_forms = self._part_forms
        weights = unit.weights
        out: list[Pieces] = []
        for ordinal, segment in enumerate(self.segments):
            if found is not None and found[ordinal] is not None:
                out.append(found[ordinal])
                continue
            parts = self.parts(unit, segment)
            docs, tfs, mults, forms = [], [], [], []
            for part in parts:
                docs.append(part[1])
                tfs.append(part[2])
                mults.append(multiplier(segment, part[0], weights[part[0]]))
                forms.append(part_forms(unit, segment, part))
            out.append((parts, docs, tfs, mults, forms))
        return out

    def _phrases_kept(self, unit: Unit, pieces: list[Pieces]) -> bool:
        """Whether the slice cache holds the phrase frequencies of ``unit`` in every
        segment: only then may the core's arguments built from them be kept (they refer
        to the same arrays, so :data:`PARTS_CACHE_BYTES` bounds both; a phrase too long
        for that cache would otherwise stay alive through them)."""
        if not unit.phrases:
            return True
        cache = self.ctx.parts
        # (no zip: its ``strict`` keyword is a dict a call)
        for at, segment in enumerate(self.segments):
            found = cache.get((id(unit), segment.ordinal))
            if found is None or found[1] is not pieces[at][0]:
                return False
        return True

    def _figures(self, records: list[UnitArgs]) -> list[tuple[float, float, int]]:
        """Per unit, its weight (boost times idf), exact-form bonus and the form flags
        the bonus asks for (0: none), made from its live document frequency where not
        known yet; kept in its :class:`UnitArgs` unless the statistics come from outside
        (a recorder must see every figure asked for)."""
        figures: list[tuple[float, float, int]] = []
        keep = self.ctx.statistics is None
        # (one loop over the records, no zip: its ``strict`` keyword and the idfs' list
        # were most of 2.5 us a one-word query; a new unit's figure made in it: no call)
        for record in records:
            figure = record.figure
            if figure is None:
                unit = record.unit
                # (:meth:`_idf` asks nothing more without outside statistics: no call)
                unit_idf = self.unit_idf(unit, record.df) if keep else self._idf(unit, record.df)
                bonus = self.form_bonus(unit, unit_idf)
                figure = (unit.boost * unit_idf, bonus, unit.form_flag if bonus else 0)
                if keep:
                    record.figure = figure
            figures.append(figure)
        return figures

    def _block_bounds(
        self, segment: SegmentReader, unit: Unit, parts: list[Part], bonus: bool
    ) -> tuple[Any, ...] | None:
        """For block-max pruning of a lone unit: its longest slice (the one the core
        walks last), per block of that slice a bound on its postings' ``x`` (the block's
        largest tf times the largest multiplier of a length code at or above the block's
        smallest), with an exact-form bonus the OR of the block's form flags, and the
        memo of the blocks' exact maxima the core fills where that bound cannot skip a
        block (four floats a block, NaN until read: the slice's and, for a word in title
        and body, the title's in the block's doc range; kept with the core's other arguments,
        so a kept query reads them once), each block's first doc (a skipped block's
        postings are then never read), whether every posting of the slice scores (a
        skipped block's postings are then counted unread) and the other slice's ``x`` per
        posting, its docs' ``x`` joined with the longest slice's and whether that slice holds
        them (:meth:`_other_x`); None where the segment keeps no block maxima."""
        longest = max(range(len(parts)), key=lambda i: (len(parts[i][1]), -i))
        field, docs, _, start = parts[longest]
        found = segment.blocks(field, start, len(docs)) if start >= 0 else None
        if found is None:
            return None
        block_tfs, block_norms, block_forms = found
        # (stored term frequencies are >= 1: every posting's x is > 0 where the table is)
        highest, positive = self.ctx.table_ceiling(field, unit.weights[field])
        # (``exact``: two floats a block for the slice, two for the unit's other slice)
        bound, exact, firsts = unitstats.block_bounds(block_tfs, block_norms, highest, docs)
        if not bonus or self._part_forms(unit, segment, parts[longest]) is None:
            block_forms = None
        other_x, joined, in_walked = self._other_x(segment, unit, parts, longest)
        return longest, bound, block_forms, exact, firsts, positive, other_x, joined, in_walked

    def _x_memo(self, docs: list[Any]) -> FloatArray | None:
        """For a lone unit of more than two slices in a segment (a prefix's expansions,
        which the core sums window by window; the caller asks only for those), the memo
        of its postings' ``x`` the core writes at its first search and reads at the next
        (zeros: not yet written; see ``_kernel.score_segment``'s ``xs``); None past
        :data:`~.context.X_CACHE_BYTES`."""
        size = 4 * (sum(map(len, docs)) + 1)
        ctx = self.ctx
        if ctx.x_bytes + size > X_CACHE_BYTES:
            return None
        ctx.x_bytes += size
        return np.zeros(size // 4, dtype=np.float32)

    def _other_x(
        self, segment: SegmentReader, unit: Unit, parts: list[Part], longest: int
    ) -> tuple[FloatArray | None, FloatArray | None, npt.NDArray[np.uint16] | None]:
        """For a unit of two slices (a word's title beside its body), per posting of the
        other slice: its ``x`` (``tf * mult[doc]`` in float32, the core's own product),
        which the core then reads in order instead of each doc's multiplier; the doc's
        ``x`` summed over both slices (float64, rounded once, as the core sums a doc of
        a walked block) and whether the longest slice holds the doc, with that posting's
        form flags (``core.JOINED_HELD_`` plus the flags), so that a doc of a skipped
        block is scored without a search among the block's postings (the core's
        ``join_other``, one merge of the two slices). Nones otherwise, and past
        :data:`~.context.X_CACHE_BYTES` or where a doc lies outside the segment (the
        search then finds and reports it)."""
        core = kernel.core
        if len(parts) != 2 or core is None:
            return None, None, None
        field, docs, tfs, _ = parts[1 - longest]
        walked_field, walked_docs, walked_tfs, _ = parts[longest]
        ctx = self.ctx
        size = 10 * len(docs)
        if not len(walked_docs) or ctx.x_bytes + size > X_CACHE_BYTES:
            return None, None, None
        ctx.x_bytes += size
        found = core.join_other(
            docs,
            tfs,
            ctx.multiplier(segment, field, unit.weights[field]),
            walked_docs,
            walked_tfs,
            ctx.multiplier(segment, walked_field, unit.weights[walked_field]),
            self._part_forms(unit, segment, parts[longest]),
        )
        if found is None:
            return None, None, None
        x, joined, in_walked = found
        return x, joined, in_walked

    def _live_dfs(self, records: list[UnitArgs]) -> None:
        """Sets each record's live documents in the snapshot (a document once however
        many of its slices hold it): one call for them all (:mod:`.unitstats`)."""
        lives, max_docs = self.ctx.lives()
        units = []
        for record in records:  # (a loop: a comprehension makes a function a call)
            units.append(record.pieces)
        # (each segment's docs read in place, its ``Pieces``' second item: no lists made)
        dfs = unitstats.live_doc_freqs(units, lives, max_docs, 1)
        for i, record in enumerate(records):  # (no zip: its ``strict`` keyword is a dict)
            record.df = dfs[i]

    @staticmethod
    def _part_forms(unit: Unit, segment: SegmentReader, part: Part) -> npt.NDArray[Any] | None:
        """The form flags of a part's postings, where the exact-form bonus reads them
        (one term of a field, in a segment written with flags); else None."""
        field, docs, _, start = part
        if start < 0 or len(unit.terms.get(field, ())) != 1:
            return None
        return segment.posting_forms(field, start, len(docs))

    def _dense_x(
        self, segment: SegmentReader, units: Sequence[Unit], unit_parts: list[list[Part]]
    ) -> FloatArray:
        """Every unit's BM25F ``x`` for every doc of the segment (``units x max_doc``)."""
        groups: dict[tuple[str, float], tuple[list[Any], list[Any], list[int], list[int]]] = {}
        for i, parts in enumerate(unit_parts):
            for field, docs, tfs, _ in parts:
                group = groups.setdefault((field, units[i].weights[field]), ([], [], [], []))
                group[0].append(docs)
                group[1].append(tfs)
                group[2].append(i)
                group[3].append(len(docs))
        size = segment.max_doc
        keys: list[npt.NDArray[Any]] = []
        xs: list[FloatArray] = []
        for (field, weight), (docs_list, tfs_list, owners, lengths) in groups.items():
            docs = np.concatenate(docs_list)
            multiplier = self.ctx.multiplier(segment, field, weight)
            xs.append(np.multiply(np.concatenate(tfs_list), multiplier[docs], dtype=np.float32))
            keys.append(np.repeat([owner * size for owner in owners], lengths) + docs)
        if not keys:
            return np.zeros((len(units), size), dtype=np.float32)
        summed = np.bincount(
            np.concatenate(keys), weights=np.concatenate(xs), minlength=len(units) * size
        )
        table: FloatArray = summed.astype(np.float32).reshape(len(units), size)
        return table

    def _sparse_flat(
        self,
        segment: SegmentReader,
        units: Sequence[Unit],
        unit_parts: list[list[Part]],
        several: dict[int, tuple[npt.NDArray[Any], FloatArray]],
        weights: FloatArray,
    ) -> npt.NDArray[np.float64]:
        """The summed scores of a bag of words in a large segment, word by word (float64)."""
        k1 = np.float32(self.ctx.params.k1)
        acc = np.zeros(segment.max_doc, dtype=np.float64)
        by_field: dict[str, tuple[list[Any], list[Any], list[int], list[int]]] = {}
        for i, parts in enumerate(unit_parts):
            if len(parts) == 1:
                field, docs, tfs, _ = parts[0]
                group = by_field.setdefault(field, ([], [], [], []))
                group[0].append(docs)
                group[1].append(tfs)
                group[2].append(len(docs))
                group[3].append(i)
            elif i in several:
                docs, x = several[i]
                acc[docs] += saturate(x, k1=self.ctx.params.k1, weight=float(weights[i]))
        for field, (docs_list, tfs_list, lengths, which) in by_field.items():
            weight = units[which[0]].weights[field]
            multiplier = self.ctx.multiplier(segment, field, weight)
            if len(docs_list) == 1:
                docs, tfs = docs_list[0], tfs_list[0]
                unit_weight: Any = weights[which[0]]
            else:
                docs = np.concatenate(docs_list)
                tfs = np.concatenate(tfs_list)
                unit_weight = np.repeat(weights[which], lengths)
            x = np.multiply(tfs, multiplier[docs], dtype=np.float32)
            scores = x / (x + k1) if k1 else np.ones(len(x), dtype=np.float32)
            scores *= unit_weight
            if len(docs_list) == 1:
                acc[docs] += scores
            else:  # each unit's docs are unique: one fancy add per unit
                start = 0
                for unit_docs, length in zip(docs_list, lengths, strict=True):
                    acc[unit_docs] += scores[start : start + length]
                    start += length
        return acc

    def evaluate_top(
        self,
        node: Compiled,
        max_docs: Sequence[int],
        masks: Masks | None,
        keep: int,
        track_total: int | None,
    ) -> Evaluated:
        """:meth:`evaluate`, where only the best ``keep`` of each segment (by score, then
        doc) are needed and the count of the rest: a bag of words (or one unit) on the
        compiled core returns just those. ``track_total`` (``None``: count every match)
        lets the core prune (MaxScore) once that many matches are counted."""
        units = _flat_units(node)
        if kernel.core is not None and units is not None and keep > 0:
            return self._flat_compiled(kernel.core, units, masks, keep, track_total)
        matched = self.evaluate(node, max_docs, masks)
        return Evaluated(matched, sum(len(docs) for docs, _ in matched))

    def evaluate(
        self, node: Compiled, max_docs: Sequence[int], masks: Masks | None = None
    ) -> list[DocScores]:
        """Per segment: the matching docs (unique) and their scores.

        ``masks`` (per segment, ``None`` for all docs) keeps only the docs it marks: live
        docs, a filter. Where the scores pass through a dense per-doc array anyway (a bag
        of words, a boolean node) the mask costs one ``&`` over it instead of a pass over
        every match.
        """
        units = _flat_units(node)
        if isinstance(node, Unit):
            if kernel.core is not None and units is not None:
                return self._flat_compiled(kernel.core, units, masks).matched
            return _masked(self.unit_scores(node), masks)
        if units is not None:
            return self.flat(units, masks)
        must = [self.evaluate(child, max_docs) for child in node.must]
        should = [self.evaluate(child, max_docs) for child in node.should]
        must_not = [self.evaluate(child, max_docs) for child in node.must_not]
        result: list[DocScores] = []
        boost = np.float32(node.boost)
        for ordinal, size in enumerate(max_docs):
            acc = np.zeros(size, dtype=np.float32)
            if must:
                count = np.zeros(size, dtype=np.int32)
                for clause in must:
                    docs, scores = clause[ordinal]
                    acc[docs] += scores
                    count[docs] += 1
                mask = count == len(must)
                for clause in should:
                    docs, scores = clause[ordinal]
                    acc[docs] += scores
            else:
                mask = np.zeros(size, dtype=bool)
                for clause in should:
                    docs, scores = clause[ordinal]
                    if node.best_of:  # scores are >= 0: the best clause of each doc
                        np.maximum.at(acc, docs, scores)
                    else:
                        acc[docs] += scores
                    mask[docs] = True
            for clause in must_not:
                mask[clause[ordinal][0]] = False
            if masks is not None and masks[ordinal] is not None:
                mask &= masks[ordinal]
            docs = np.flatnonzero(mask).astype(np.int32)
            scores = acc[docs]
            if boost != 1:
                scores *= boost
            result.append((docs, scores))
        return result


def _may_skip(records: Sequence[UnitArgs], ordinal: int, ratio: int) -> bool:
    """Whether the compiled core could skip blocks of the first unit's longest slice in
    segment ``ordinal``, where the unit has more postings in all segments than the
    matches to count first (the caller's test, :meth:`Evaluator._segment_calls`): the
    slice has blocks, and the other slices, the unit's and the other units', are short
    beside it (at most ``1 / ratio`` of it, the core's rule); its block bounds are not
    worth computing otherwise."""
    lengths = [len(part[1]) for part in records[0].pieces[ordinal][0]]
    longest = max(lengths, default=0)
    others = sum(len(part[1]) for record in records[1:] for part in record.pieces[ordinal][0])
    return longest > BLOCK and (sum(lengths) + others - longest) * ratio <= longest


def _flat_units(node: Compiled) -> list[Unit] | None:
    """The units of a bag of words (or a lone unit), scored together by :meth:`flat`;
    ``None`` for a boolean structure (or match-all)."""
    if isinstance(node, Unit):
        return [node] if node.kind != "all" else None
    if node.must or node.must_not or node.boost != 1 or node.best_of:
        return None
    units: list[Unit] = []
    for child in node.should:  # (a loop: a generator and a comprehension were two calls)
        if not isinstance(child, Unit) or child.kind == "all":
            return None
        units.append(child)
    return units
