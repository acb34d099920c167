"""Adding anchor updates resolved: a doc's anchor field under an adding update.

An *adding* anchor update (:attr:`.anchorfile.AnchorUpdate.adds`, written by a commit of
new articles that takes no link from a published one) holds, for each of its docs, only
the postings of the headlines the doc gains, as their own analysis gives them (positions
from 0). What the doc's anchor field holds after it is its field before the update (the
last update before it that holds the doc, else the segment's own field; the same rule as
:func:`.anchorfile.anchors_of` for the headlines) with those postings added: a term the
doc had gains their frequency and positions, the gained positions placed after the
doc's last one and :data:`~bnsearch.index.schema.POSITION_GAP` empty ones (as a second
value of a multi-valued field is), so no phrase or word pair spans the two; its length
is the sum, its norm the length's code.

:func:`resolved` turns a segment's updates into ones that *replace* (each adding update
by the same docs with their whole field), so that :func:`.anchorfile.materialize` and
:func:`.anchorfile.splice`, which know replacing updates only, build the field from
them. An update's resolution depends only on the updates before it, which no later
commit changes (a fold carries the newest updates, so it drops an update only with every
one after it), so a reader keeps each one once made. The resolution is array passes
over the docs' postings (no Python step a posting): a fold of adding updates is itself
an adding update of hundreds of docs, resolved at the refresh after it.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from bnsearch.arrays import distinct, run_positions
from bnsearch.errors import IndexFormatError
from bnsearch.index.builder import sorted_postings_fields
from bnsearch.index.schema import POSITION_GAP, TEXT, FieldSpec

if TYPE_CHECKING:
    from bnsearch.index.anchorfile import AnchorUpdate
    from bnsearch.index.segment import _FieldArrays

Array = npt.NDArray[Any]

#: (field name, update file name) -> that update resolved for that field
Resolutions = MutableMapping[tuple[str, str], "AnchorUpdate"]


def resolved(
    spec: FieldSpec,
    base: _FieldArrays,
    base_terms: list[str],
    updates: Sequence[AnchorUpdate],
    cache: Resolutions,
) -> tuple[AnchorUpdate, ...]:
    """``updates`` (oldest first) with each adding one replaced by the replacing update
    that gives its docs the same field ``spec`` (kept in ``cache``); the same tuple when
    none adds."""
    if not any(update.adds for update in updates):
        return tuple(updates)
    if spec.kind != TEXT:
        raise IndexFormatError(f"an adding anchor update of the keyword field {spec.name!r}")
    out: list[AnchorUpdate] = []
    for update in updates:
        if update.adds:
            key = (spec.name, update.name)
            found = cache.get(key)
            if found is None:
                fields = dict(update.fields)
                fields[spec.name] = _resolved_field(spec, base, base_terms, out, update)
                found = attrs.evolve(update, fields=fields, adds=False)
                cache[key] = found
            update = found
        out.append(update)
    return tuple(out)


@attrs.frozen
class _Postings:
    """Some postings of one field, in (term, doc) order: the terms they hold
    (``names``), per posting its term (an index into ``names``), doc slot, frequency and
    form flags, and every posting's positions in turn (empty for a field without)."""

    names: list[str]
    owners: npt.NDArray[np.int64]
    slots: npt.NDArray[np.int64]
    tfs: npt.NDArray[np.int64]
    flags: npt.NDArray[np.uint8]
    pos: npt.NDArray[np.int64]


def _resolved_field(
    spec: FieldSpec,
    base: _FieldArrays,
    base_terms: list[str],
    earlier: Sequence[AnchorUpdate],
    update: AnchorUpdate,
) -> _FieldArrays:
    """The field ``spec`` of ``update``'s docs (local doc ``i`` is ``update.docs[i]``):
    each doc's field under ``earlier`` (replacing updates; else ``base``) plus the
    postings ``update`` adds. Array passes, no Python step a posting: each source's
    postings of its docs and the added ones are put in (term, doc) order by one stable
    sort (a doc's earlier postings before its added ones), then a (term, doc) held by
    both is summed into one posting, its positions the two runs in turn."""
    from bnsearch.index.anchorfile import _terms

    positions = spec.positions
    docs = np.asarray(update.docs, dtype=np.int64)
    count = len(docs)
    # where each doc's field stands before the update: the last earlier update holding
    # it (-1: base), and its slot there
    sources = np.full(count, -1, dtype=np.int64)
    locals_ = docs.copy()
    for number, old in enumerate(earlier):  # (oldest first: a later one wins)
        held = old.docs
        if not len(held) or not count:
            continue
        at = np.minimum(held.searchsorted(docs), len(held) - 1)
        hit = held[at] == docs
        sources[hit] = number
        locals_[hit] = at[hit]
    lens = np.zeros(count, dtype=np.int64)
    parts: list[_Postings] = []
    used = distinct(sources).tolist() if count else []
    for source in used:
        slots = np.flatnonzero(sources == source)
        arrays = base if source < 0 else earlier[source].fields[spec.name]
        terms = base_terms if source < 0 else _terms(arrays)
        parts.append(_postings_of(arrays, terms, locals_[slots], slots, positions))
        lens[slots] = np.asarray(arrays.lens)[locals_[slots]]  # (gathered, then widened)
    mini = update.fields[spec.name]
    added = _postings_of(mini, _terms(mini), None, None, positions)
    if positions and len(added.pos):
        # a doc's gained positions go after its last one and the gap
        last = np.full(count, -1, dtype=np.int64)
        for part in parts:
            np.maximum.at(last, np.repeat(part.slots, part.tfs), part.pos)
        offset = np.where(last >= 0, last + 1 + POSITION_GAP, 0)
        added = attrs.evolve(added, pos=added.pos + offset[np.repeat(added.slots, added.tfs)])
    parts.append(added)
    lens += np.asarray(mini.lens, dtype=np.int64)
    has_forms = any(
        arrays.forms is not None
        for arrays in [mini, base, *(earlier[n].fields[spec.name] for n in used if n >= 0)]
    )
    return _field_arrays(spec, _merged(parts, count), lens, count, has_forms)


def _postings_of(
    arrays: _FieldArrays,
    terms: list[str],
    wanted: npt.NDArray[np.int64] | None,
    slots: npt.NDArray[np.int64] | None,
    positions: bool,
) -> _Postings:
    """The postings in ``arrays`` of the docs ``wanted`` (ascending; ``None``: every
    doc, numbered as they are), each doc ``wanted[i]`` numbered ``slots[i]``."""
    indptr = np.asarray(arrays.indptr)
    pos = np.zeros(0, dtype=np.int64)
    if wanted is None:  # (all of a small field's postings, its positions in turn)
        total = int(indptr[-1])
        owners = np.repeat(np.arange(len(indptr) - 1, dtype=np.int64), np.diff(indptr))
        found_docs = np.asarray(arrays.docs).astype(np.int64)
        tfs = np.asarray(arrays.tfs).astype(np.int64)
        chosen: slice | npt.NDArray[np.int64] = slice(0, total)
        if positions and arrays.pos is not None and total:
            pos = np.asarray(arrays.pos)[: int(tfs.sum())].astype(np.int64)
    else:
        chosen = arrays.doc_postings(wanted.tolist())
        # (the field's arrays are gathered, then widened: not widened whole, millions at 1M)
        owners = indptr.searchsorted(chosen, side="right").astype(np.int64) - 1
        found_docs = np.asarray(arrays.docs)[chosen].astype(np.int64)
        assert slots is not None
        found_docs = slots[wanted.searchsorted(found_docs)]
        tfs = np.asarray(arrays.tfs)[chosen].astype(np.int64)
        if positions and arrays.pos is not None and len(chosen):
            starts = arrays.position_starts(chosen, owners)
            pos = np.asarray(arrays.pos)[run_positions(starts, tfs)].astype(np.int64)
    flags = (
        np.zeros(len(tfs), dtype=np.uint8)
        if arrays.forms is None
        else np.asarray(arrays.forms)[chosen].astype(np.uint8)
    )
    # (``chosen`` ascends, so its owners do: each run of one term is one name)
    new_term = np.ones(len(owners), dtype=np.bool_)
    np.not_equal(owners[1:], owners[:-1], out=new_term[1:])
    return _Postings(
        [terms[number] for number in owners[new_term].tolist()],
        np.cumsum(new_term, dtype=np.int64) - 1,
        found_docs,
        tfs,
        flags,
        pos,
    )


def _merged(parts: Sequence[_Postings], count: int) -> _Postings:
    """``parts`` (postings of docs numbered below ``count``; a (term, doc) at most once
    in each) as one field's postings in (term, doc) order: a (term, doc) that several
    hold is one posting, its frequency their sum, its flags their OR, its positions
    their runs in the order of ``parts``."""
    # (each part's names ascend: one sort of their runs merges them, then adjacent
    # repeats go; no set of every name)
    names = list(dict.fromkeys(sorted([name for part in parts for name in part.names])))
    rank = dict(zip(names, range(len(names)), strict=True))
    term_ids = np.concatenate(
        [
            np.array([rank[name] for name in part.names], dtype=np.int64)[part.owners]
            for part in parts
        ]
    )
    slots = np.concatenate([part.slots for part in parts])
    tfs = np.concatenate([part.tfs for part in parts])
    flags = np.concatenate([part.flags for part in parts])
    keys = term_ids * max(count, 1) + slots
    order = np.argsort(keys, kind="stable")  # (ties keep the order of parts)
    keys, tfs, flags = keys[order], tfs[order], flags[order]
    firsts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1]))) if len(keys) else keys
    pos = np.concatenate([part.pos for part in parts])
    if len(pos):
        runs = np.zeros(len(order), dtype=np.int64)
        np.cumsum(np.concatenate([part.tfs for part in parts])[:-1], out=runs[1:])
        pos = pos[run_positions(runs[order], tfs)]
    merged_keys = keys[firsts]
    return _Postings(
        names,
        merged_keys // max(count, 1),
        merged_keys % max(count, 1),
        np.add.reduceat(tfs, firsts) if len(firsts) else tfs,
        np.bitwise_or.reduceat(flags, firsts) if len(firsts) else flags,
        pos,
    )


def _field_arrays(
    spec: FieldSpec,
    postings: _Postings,
    lens: npt.NDArray[np.int64],
    doc_count: int,
    has_forms: bool,
) -> _FieldArrays:
    """A text field's arrays (as a segment holds them,
    :func:`.builder.sorted_postings_fields`) of ``postings`` (in (term, doc) order) over
    ``doc_count`` docs of lengths ``lens``."""
    from bnsearch.index.segment import _FieldArrays, encode_strings

    prefix = f"fld.{spec.name}"
    indptr = np.zeros(len(postings.names) + 1, dtype=np.int64)
    np.cumsum(np.bincount(postings.owners, minlength=len(postings.names)), out=indptr[1:])
    (built,) = sorted_postings_fields(
        spec,
        postings.names,
        indptr,
        postings.slots,
        postings.tfs,
        postings.flags if has_forms else None,
        postings.pos,
        lens,
        [0, len(postings.names)],
        [doc_count],
    )
    terms: list[str] = built.pop(f"{prefix}.terms")
    stems: dict[str, Any] = built
    stems[f"{prefix}.terms.blob"], stems[f"{prefix}.terms.off"] = encode_strings(terms)
    arrays = _FieldArrays(stems.__getitem__, prefix, True, spec.positions, has_forms)
    arrays.terms = terms
    return arrays
