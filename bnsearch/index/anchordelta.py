"""An anchor field under updates a reader has not spliced in: read term by term.

A link commit gives its targets' segment an anchor update (:mod:`.anchorfile`; an
*adding* one, :mod:`.anchoradds`, when it only adds headlines): a few docs' postings
change. Splicing them into the segment's whole anchor field (:func:`.anchorfile.splice`)
rewrites every array of the field (millions of postings at 1M: 110-125 ms of the next
search, ninth session) to change a few dozen postings. A :class:`DeltaField` instead
keeps the field as last built whole (``full``, under the updates ``full_under``) and
the updates committed since (``pending``, resolved by :func:`.anchoradds.resolved`: each
holds its docs' whole field), and answers what a search reads from them:

* the term table: ``full``'s, with the terms only the pending updates hold merged in and
  those only a folded-away update held dropped (the union of term tables
  :func:`.anchorfile.materialize` takes);
* a term's postings: ``full``'s slice as it is unless the term is *dirty* (a pending doc
  holds it now, or held it in ``full``: :func:`deferred` finds those), else ``full``'s
  slice without the pending docs plus their postings from the last pending update
  holding each, made when the term is first read and kept (:class:`Patch`; its postings
  are addressed past ``full``'s, so a slice's ``start`` still tells which postings it
  is, and its positions are an array of its own: code gathering several terms'
  positions by one index joins their runs, :func:`bnsearch.search.phrases.shared_positions`);
* norms and lengths: ``full``'s, copied once with the pending docs' patched.

Whatever needs the field whole (a merge, verify, every term's doc count, a word-span
lookup) gets it built once (:meth:`DeltaField.whole`: the splice or materialize the reader
did before, the arrays a segment written with the final anchors holds). A field past
:data:`MAX_PENDING_DOCS` or :data:`MAX_DIRTY_TERMS`, or updates not newer than those
before, or a folded-away update whose docs no newer one holds, is built whole instead.
"""

from __future__ import annotations

import bisect
import functools
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from bnsearch.arrays import distinct, run_positions

if TYPE_CHECKING:
    from bnsearch.index.anchorfile import AnchorUpdate
    from bnsearch.index.schema import FieldSpec
    from bnsearch.index.segment import _FieldArrays

Array = npt.NDArray[Any]

#: A reader defers the updates of at most this many docs of a segment's anchor field
#: (each read term is patched for them); more are spliced into the field whole.
MAX_PENDING_DOCS = 4_096


@attrs.frozen
class Patch:
    """One term's postings under the pending updates (positions grouped by posting)."""

    docs: Array
    tfs: Array
    forms: Array | None
    pos: Array | None
    #: where its postings are addressed (past ``full``'s: :attr:`DeltaField.tail_start`)
    start: int


class DeltaField:
    """The anchor field ``full`` (built under ``full_under``) with the updates
    ``pending`` (resolved, oldest first, all newer than ``full_under``) applied term by
    term (see the module docstring); made by :func:`deferred`. ``dirty``: the terms
    whose postings differ from ``full``'s (a superset: every term a pending doc holds
    now or held in ``full``); ``terms``: the field's term table; ``whole``: builds the
    field whole."""

    def __init__(
        self,
        full: _FieldArrays,
        full_under: tuple[AnchorUpdate, ...],
        pending: tuple[AnchorUpdate, ...],
        dirty: frozenset[str],
        terms: list[str],
        field: str,
        whole: Callable[[], _FieldArrays],
        holders: Holders | None = None,
    ) -> None:
        from bnsearch.index.anchorfile import _terms

        assert full.terms is not None and full.lens is not None and full.norms is not None
        self.full, self.full_under, self.pending = full, full_under, pending
        self.dirty = dirty
        self.terms = terms
        self.field = field
        self._whole = whole
        self._built: _FieldArrays | None = None
        #: the pending docs (ascending), and per doc the last pending update holding it
        #: and its slot there
        self.changed, self._numbers, self._slots = _holders(pending) if holders is None else holders
        self._mini_terms = [_terms(update.fields[field]) for update in pending]
        #: the compiled term table: none (terms are searched in :attr:`terms`)
        self.table: Any = False
        self.tail_start = len(full.docs)
        self._tail = self.tail_start
        self._patches: dict[int, Patch | None] = {}
        # (two threads patching at once would take one start for two terms)
        self._lock = threading.Lock()
        self._by_start: dict[int, Patch] = {}

    @property
    def pending_docs(self) -> int:
        return len(self.changed)

    def whole(self) -> _FieldArrays:
        """The field built whole (once)."""
        if self._built is None:
            self._built = self._whole()
        return self._built

    @property
    def built(self) -> _FieldArrays | None:
        """The field whole, if something has built it."""
        return self._built

    # -- per doc ------------------------------------------------------------------------
    def _patched(self, key: str) -> Array:
        """``full``'s per-doc array ``key`` (norms, lens) with the pending docs' own."""
        values = getattr(self.full, key)
        assert values is not None
        out: Array = values.copy()
        for number, docs, slots in self._held():
            out[docs] = np.asarray(getattr(self.pending[number].fields[self.field], key))[slots]
        out.setflags(write=False)
        return out

    @functools.cached_property
    def norms(self) -> Array:
        return self._patched("norms")

    @functools.cached_property
    def lens(self) -> Array:
        return self._patched("lens")

    def length_sum(self) -> int:
        """The sum of :attr:`lens`: ``full``'s plus the pending docs' differences (no
        copy of the per-doc lengths)."""
        assert self.full.lens is not None
        full_lens = np.asarray(self.full.lens)
        change = 0
        for number, docs, slots in self._held():
            mine = np.asarray(self.pending[number].fields[self.field].lens)[slots]
            change += int(mine.sum(dtype=np.int64)) - int(full_lens[docs].sum(dtype=np.int64))
        return self.full.length_sum() + change

    def _held(self) -> list[tuple[int, npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
        """Per pending update holding the last of some pending docs: its number, those
        docs and their slots in it."""
        found = []
        for number in distinct(self._numbers).tolist():
            mask = self._numbers == number
            found.append((number, self.changed[mask], self._slots[mask]))
        return found

    # -- per term -----------------------------------------------------------------------
    def _full_ordinal(self, ident: int) -> int:
        """The ordinal in ``full``'s table of this table's term ``ident`` (-1: a term
        only pending updates hold)."""
        full_terms = self.full.terms
        if full_terms is self.terms:
            return ident
        assert full_terms is not None
        return _ordinal(full_terms, self.terms[ident])

    def patch(self, ident: int) -> Patch | None:
        """Term ``ident``'s postings where the term is dirty, else None (``full``'s
        slice serves)."""
        if ident in self._patches:
            return self._patches[ident]
        with self._lock:
            if ident in self._patches:
                return self._patches[ident]
            return self._new_patch(ident)

    def _new_patch(self, ident: int) -> Patch | None:
        term = self.terms[ident]
        found = None
        if term in self.dirty:
            held = [
                (number, at)
                for number, terms in enumerate(self._mini_terms)
                if (at := _ordinal(terms, term)) >= 0
            ]
            found = self._make_patch(ident, held)
        if found is not None and len(found.docs):  # (an empty one shares its start)
            self._by_start[found.start] = found
        self._patches[ident] = found  # (last: a reader finding it finds its start)
        return found

    def _make_patch(self, ident: int, held: list[tuple[int, int]]) -> Patch:
        full, field = self.full, self.field
        positions = full.pos is not None
        docs_parts, tfs_parts, forms_parts, pos_parts = [], [], [], []
        origin = self._full_ordinal(ident)
        if origin >= 0:
            start, end = (int(value) for value in full.indptr[origin : origin + 2])
            docs = np.asarray(full.docs[start:end])
            keep = ~_member(docs, self.changed) if len(self.changed) else np.ones(len(docs), bool)
            kept = np.flatnonzero(keep)
            docs_parts.append(docs[kept].astype(np.int64))
            tfs = np.asarray(full.tfs[start:end])
            tfs_parts.append(tfs[kept].astype(np.int64))
            if full.forms is not None:
                forms_parts.append(np.asarray(full.forms[start:end])[kept])
            if positions:
                assert full.posptr is not None and full.pos is not None
                firsts = int(full.posptr[origin]) + np.concatenate(
                    ([0], np.cumsum(tfs, dtype=np.int64)[:-1])
                )
                pos_parts.append(full.pos[run_positions(firsts[kept], tfs[kept])])
        for number, at in held:
            update = self.pending[number]
            mini = update.fields[field]
            start, end = (int(value) for value in mini.indptr[at : at + 2])
            local = np.asarray(mini.docs[start:end], dtype=np.int64)
            docs = update.docs[local]
            # the docs a later pending update holds are that one's
            keep = self._numbers[np.searchsorted(self.changed, docs)] == number
            kept = np.flatnonzero(keep)
            docs_parts.append(docs[kept])
            tfs = np.asarray(mini.tfs[start:end])
            tfs_parts.append(tfs[kept].astype(np.int64))
            if full.forms is not None:
                flags = (
                    np.zeros(end - start, dtype=np.uint8)
                    if mini.forms is None
                    else np.asarray(mini.forms[start:end])
                )
                forms_parts.append(flags[kept])
            if positions:
                assert mini.posptr is not None and mini.pos is not None
                firsts = int(mini.posptr[at]) + np.concatenate(
                    ([0], np.cumsum(tfs, dtype=np.int64)[:-1])
                )
                pos_parts.append(mini.pos[run_positions(firsts[kept], tfs[kept])])
        if not docs_parts:  # (a term of the table no doc holds: none of full's)
            docs_parts.append(np.zeros(0, dtype=np.int64))
            tfs_parts.append(np.zeros(0, dtype=np.int64))
            if full.forms is not None:
                forms_parts.append(np.zeros(0, dtype=np.uint8))
            if positions:
                assert full.pos is not None
                pos_parts.append(full.pos[:0])
        all_docs = np.concatenate(docs_parts)
        order = np.argsort(all_docs, kind="stable")
        all_tfs = np.concatenate(tfs_parts)
        out_tfs = all_tfs[order]
        pos = None
        if positions:
            # each posting's run of positions, in the postings' new order
            lengths = all_tfs
            firsts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
            joined = np.concatenate(pos_parts)
            pos = joined[run_positions(firsts[order], lengths[order])]
            assert full.pos is not None
            pos = pos.astype(_fitting(full.pos.dtype, pos), copy=False)
        found = Patch(
            docs=all_docs[order].astype(full.docs.dtype),
            tfs=out_tfs.astype(_fitting(full.tfs.dtype, out_tfs)),
            forms=np.concatenate(forms_parts)[order] if full.forms is not None else None,
            pos=pos,
            start=self._tail,
        )
        self._tail += len(all_docs)
        return found

    def postings(self, ident: int) -> tuple[Array, Array, int]:
        """``(docs, tfs, start)`` of term ``ident``."""
        found = self.patch(ident)
        if found is not None:
            return found.docs, found.tfs, found.start
        origin = self._full_ordinal(ident)
        full = self.full
        if origin < 0:  # (a term of the table no pending doc holds any more)
            empty = full.docs[:0]
            return empty, full.tfs[:0], 0
        start, end = (int(value) for value in full.indptr[origin : origin + 2])
        return full.docs[start:end], full.tfs[start:end], start

    def position_run(self, ident: int) -> tuple[Array, Array, int, Array]:
        """``(docs, tfs, first, positions)`` of term ``ident``, as
        :meth:`~bnsearch.index.segment.SegmentReader.position_run` gives them, but a
        patched term's ``positions`` are its own (from 0), not ``full``'s array: code
        gathering several terms' positions by one index joins their runs first
        (:func:`bnsearch.search.phrases.shared_positions`)."""
        full = self.full
        assert full.posptr is not None and full.pos is not None
        found = self.patch(ident)
        if found is not None:
            assert found.pos is not None
            return found.docs, found.tfs, 0, found.pos
        docs, tfs, _ = self.postings(ident)
        origin = self._full_ordinal(ident)
        return docs, tfs, int(full.posptr[origin]) if origin >= 0 else 0, full.pos

    def forms(self, start: int, length: int) -> Array | None:
        """The form flags of the postings ``[start, start + length)`` (one term's, as
        :meth:`postings` addresses them)."""
        full = self.full
        if full.forms is None:
            return None
        if start < self.tail_start or length == 0:
            flags: Array = full.forms[start : start + length]
            return flags
        patch = self._by_start[start]
        assert patch.forms is not None and len(patch.forms) == length
        found: Array = patch.forms
        return found


def _ordinal(terms: list[str], term: str) -> int:
    at = bisect.bisect_left(terms, term)
    return at if at < len(terms) and terms[at] == term else -1


#: (docs ascending, per doc the number of the last update holding it, its slot there)
Holders = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]


def _holders(updates: Sequence[AnchorUpdate]) -> Holders:
    """The docs ``updates`` hold, each with the last of them holding it and its slot
    there (arrays: a pending update can hold thousands of docs)."""
    if not updates:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    docs = np.concatenate([np.asarray(update.docs, dtype=np.int64) for update in updates])
    numbers = np.repeat(np.arange(len(updates), dtype=np.int64), [len(u.docs) for u in updates])
    slots = np.concatenate([np.arange(len(update.docs), dtype=np.int64) for update in updates])
    order = np.argsort(docs, kind="stable")  # (a doc's holders oldest first)
    ordered = docs[order]
    last = np.ones(len(ordered), dtype=np.bool_)
    last[:-1] = ordered[1:] != ordered[:-1]
    pick = order[last]
    return ordered[last], numbers[pick], slots[pick]


def _member(values: Array, sorted_set: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """Per value, whether it is in ``sorted_set`` (ascending, non-empty)."""
    at = np.searchsorted(sorted_set, values)
    at[at == len(sorted_set)] = 0
    found: npt.NDArray[np.bool_] = sorted_set[at] == values
    return found


def _fitting(dtype: np.dtype[Any], values: Array) -> Any:
    """``dtype`` if it holds ``values`` (unsigned, non-negative), else the narrowest
    unsigned type that does (:func:`.builder.small_uint`; imported here: the builder
    imports the segment module, which imports this one)."""
    from bnsearch.index.builder import small_uint

    largest = int(values.max()) if len(values) else 0
    return dtype if largest <= np.iinfo(dtype).max else small_uint(largest)


#: A term table of an update up to this size stands for the terms its docs hold (a
#: superset); a larger one's docs are found in ``full`` by a pass over its doc ids.
SMALL_TABLE = 512
#: A field whose pending docs hold more terms than this is built whole.
MAX_DIRTY_TERMS = 8_192


def deferred(
    spec: FieldSpec,
    full: _FieldArrays,
    full_under: tuple[AnchorUpdate, ...],
    before: DeltaField | None,
    raw: Sequence[AnchorUpdate],
    applied: tuple[AnchorUpdate, ...],
    base: _FieldArrays,
    base_terms: list[str],
    whole: Callable[[], _FieldArrays],
) -> DeltaField | None:
    """The field ``spec`` under the segment's updates ``raw`` (as read; ``applied``:
    resolved, oldest first) as
    ``full`` (built under ``full_under``) plus the rest deferred (with ``before``'s, a
    field deferred under earlier updates from the same ``full``), or None (the caller
    builds it whole) when that cannot be: an update not newer than the ones before it,
    an update gone (folded) whose docs no newer one holds, too many docs or terms.

    The terms whose postings change (:attr:`DeltaField.dirty`): those each pending doc
    holds now (its update's term table) and those it held in ``full``: covered already
    when it was pending before, or when its first pending update adds (its resolution
    holds its earlier terms too); else those of the last update of ``full_under``
    holding it (its table, when small), else found in ``full`` by a pass over its docs;
    one no update of ``full_under`` holds has its terms in full from the segment's own
    field ``base`` (whose terms are ``base_terms``), read there (in doc order for a
    large field: kept, as resolving adding updates reads it so too).
    """
    from bnsearch.index.anchorfile import _dropped_term_ids, _terms

    assert full.terms is not None
    field = spec.name
    adding = {update.name for update in raw if update.adds}
    names = {update.name for update in applied}
    under_names = {update.name for update in full_under}
    old_pending = before.pending if before is not None else ()
    old_names = under_names | {update.name for update in old_pending}
    pending = tuple(update for update in applied if update.name not in under_names)
    fresh = [update for update in pending if update.name not in old_names]
    if not fresh:
        return None
    newest = max((update.generation for update in (*full_under, *old_pending)), default=-1)
    if min(update.generation for update in fresh) <= newest:
        return None
    holders = _holders(pending)
    if len(holders[0]) > MAX_PENDING_DOCS:
        return None
    gone = [update for update in (*full_under, *old_pending) if update.name not in names]
    for update in gone:
        docs = np.asarray(update.docs, dtype=np.int64)
        if len(docs) and (not len(holders[0]) or not _member(docs, holders[0]).all()):
            return None
    # nothing gone: the term table and changed terms before, with the new updates'
    grown = before is not None and not gone
    dirty: set[str] = set(before.dirty) if before is not None else set()
    for update in fresh if grown else pending:
        dirty.update(_terms(update.fields[field]))
    # the docs whose terms in full a pending doc's are not known to cover
    seen = set(before.changed.tolist()) if before is not None else set()
    scan: list[int] = []
    own: list[int] = []  # (docs whose field in full is base's)
    for update in fresh:
        for doc in update.docs.tolist():
            if doc in seen:
                continue
            seen.add(doc)
            if update.name in adding:
                continue
            holder = next((u for u in reversed(full_under) if u.slot_of(doc) is not None), None)
            table = None if holder is None else _terms(holder.fields[field])
            if holder is None:
                own.append(doc)
            elif table is not None and len(table) <= SMALL_TABLE:
                dirty.update(table)
            else:
                scan.append(doc)
    if scan:  # (full is read once: searched, not put in doc order)
        found = full.doc_postings(scan, keep=False)
        owners = np.searchsorted(np.asarray(full.indptr, dtype=np.int64), found, side="right")
        dirty.update(full.terms[number - 1] for number in distinct(owners).tolist())
    if own:
        found = base.doc_postings(own)
        owners = np.searchsorted(np.asarray(base.indptr), found, side="right")
        dirty.update(base_terms[number - 1] for number in distinct(owners).tolist())
    if len(dirty) > MAX_DIRTY_TERMS:
        return None
    # the term table: materialize's union (the base's and every applied update's)
    gone_under = [update for update in full_under if update.name not in names]
    terms = before.terms if grown and before is not None else full.terms
    if gone_under:
        ids = _dropped_term_ids(spec, full.terms, base_terms, applied, gone_under, [])
        if ids is None:
            return None
        if len(ids):
            drop = set(ids.tolist())
            terms = [term for number, term in enumerate(full.terms) if number not in drop]
    extra = sorted(
        {
            term
            for update in (fresh if grown else pending)
            for term in _terms(update.fields[field])
            if _ordinal(terms, term) < 0
        }
    )
    if extra:
        terms = list(terms) if terms is full.terms or grown else terms
        for term in extra:
            bisect.insort(terms, term)
    return DeltaField(full, full_under, pending, frozenset(dirty), terms, field, whole, holders)
