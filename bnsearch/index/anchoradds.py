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
one after it), so a reader keeps each one once made.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from bnsearch.errors import IndexFormatError
from bnsearch.index.builder import postings_field
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


def _resolved_field(
    spec: FieldSpec,
    base: _FieldArrays,
    base_terms: list[str],
    earlier: Sequence[AnchorUpdate],
    update: AnchorUpdate,
) -> _FieldArrays:
    """The field ``spec`` of ``update``'s docs (local doc ``i`` is ``update.docs[i]``):
    each doc's field under ``earlier`` (replacing updates; else ``base``) plus the
    postings ``update`` adds."""
    from bnsearch.index.anchorfile import _terms

    docs = update.docs.tolist()
    # where each doc's field stands before the update: the last earlier update holding it
    by_source: dict[int, list[tuple[int, int]]] = {}  # source (-1: base) -> (local, slot)
    for slot, doc in enumerate(docs):
        source, local = -1, doc
        for number in range(len(earlier) - 1, -1, -1):
            found = earlier[number].slot_of(doc)
            if found is not None:
                source, local = number, found
                break
        by_source.setdefault(source, []).append((local, slot))
    # (term, slot) -> [form flags, *positions] (builder.postings_field's layout; a field
    # without positions holds tf zeros)
    postings: dict[tuple[str, int], list[int]] = {}
    lens = np.zeros(len(docs), dtype=np.int64)
    last = np.full(len(docs), -1, dtype=np.int64)  # each doc's last position before
    positions = spec.positions
    for source, pairs in by_source.items():
        arrays = base if source < 0 else earlier[source].fields[spec.name]
        terms = base_terms if source < 0 else _terms(arrays)
        local_to_slot = dict(pairs)
        for term, local, tf, pos, flags in _doc_postings(arrays, terms, local_to_slot, positions):
            slot = local_to_slot[local]
            postings[(term, slot)] = [flags, *(pos if positions else [0] * tf)]
            if pos:
                last[slot] = max(int(last[slot]), pos[-1])
        locals_ = np.array([local for local, _ in pairs], dtype=np.int64)
        slots = np.array([slot for _, slot in pairs], dtype=np.int64)
        lens[slots] = np.asarray(arrays.lens)[locals_]  # (gathered, then widened)
    mini = update.fields[spec.name]
    offset = np.where(last >= 0, last + 1 + POSITION_GAP, 0)
    identity = {slot: slot for slot in range(len(docs))}
    for term, slot, tf, pos, flags in _doc_postings(mini, _terms(mini), identity, positions):
        shift = int(offset[slot])
        moved = [value + shift for value in pos] if positions else [0] * tf
        held = postings.get((term, slot))
        if held is None:
            postings[(term, slot)] = [flags, *moved]
        else:
            held[0] |= flags
            held.extend(moved)
    lens += np.asarray(mini.lens, dtype=np.int64)
    has_forms = any(
        arrays.forms is not None
        for arrays in [mini, base, *(earlier[n].fields[spec.name] for n in by_source if n >= 0)]
    )
    return _field_arrays(spec, postings, lens, len(docs), has_forms)


def _doc_postings(
    arrays: _FieldArrays, terms: list[str], wanted: dict[int, int], positions: bool
) -> list[tuple[str, int, int, list[int], int]]:
    """The postings of the docs ``wanted`` (its keys) in ``arrays``: (term, doc, tf,
    positions, form flags) each, by term then doc."""
    all_docs = np.asarray(arrays.docs)
    chosen = arrays.doc_postings(list(wanted))
    # (the field's arrays are gathered, then widened: not widened whole, millions at 1M)
    indptr = np.asarray(arrays.indptr)
    posting_terms = np.searchsorted(indptr, chosen, side="right") - 1
    term_ids = posting_terms.tolist()
    tfs = np.asarray(arrays.tfs)[chosen].astype(np.int64).tolist()
    flags = [0] * len(chosen) if arrays.forms is None else arrays.forms[chosen].tolist()
    found_docs = all_docs[chosen].tolist()
    pos_lists: list[list[int]] = [[] for _ in chosen]
    if positions and arrays.pos is not None and len(chosen):
        starts = arrays.position_starts(chosen, posting_terms).tolist()
        pos = np.asarray(arrays.pos)
        pos_lists = [
            pos[start : start + tf].tolist() for start, tf in zip(starts, tfs, strict=True)
        ]
    return [
        (terms[term], doc, tf, found, flag)
        for term, doc, tf, found, flag in zip(
            term_ids, found_docs, tfs, pos_lists, flags, strict=True
        )
    ]


def _field_arrays(
    spec: FieldSpec,
    postings: dict[tuple[str, int], list[int]],
    lens: npt.NDArray[np.int64],
    doc_count: int,
    has_forms: bool,
) -> _FieldArrays:
    """A text field's arrays (as a segment holds them, :func:`.builder.postings_field`)
    of ``postings`` over ``doc_count`` docs of lengths ``lens``."""
    from bnsearch.index.segment import _FieldArrays, encode_strings

    prefix = f"fld.{spec.name}"
    built = postings_field(spec, postings, lens.tolist(), doc_count, has_forms)
    terms: list[str] = built.pop(f"{prefix}.terms")
    stems: dict[str, Any] = built
    stems[f"{prefix}.terms.blob"], stems[f"{prefix}.terms.off"] = encode_strings(terms)
    arrays = _FieldArrays(stems.__getitem__, prefix, True, spec.positions, has_forms)
    arrays.terms = terms
    return arrays
