"""One field's CSR postings built from parts of other fields' postings.

A merge (:mod:`.merge`), an anchor update (:mod:`.anchorfile`: a segment's anchor
field with some docs' anchors replaced) and the update file itself all build a field
the same way: take the postings of some source fields with their terms renumbered into
one sorted vocabulary and their docs renumbered (``-1`` drops a posting), order the
lot by term then doc, and derive the pointers. :func:`field_part` takes one source,
:func:`build_postings` joins them; norms, lengths and facets are per doc and stay with
the callers.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from bnsearch.index.builder import doc_id_dtype, small_uint, stable_order

Array = npt.NDArray[Any]


@attrs.frozen(kw_only=True)
class PostingsPart:
    """Postings of one source, renumbered: per posting its new term id, new doc and
    frequency; positions grouped by posting in the same order; form flags."""

    terms: Array
    docs: Array
    tfs: Array
    pos: Array | None = None
    forms: Array | None = None


def field_part(
    arrays: Any, term_map: Array, doc_map: Array, *, positions: bool, forms: bool
) -> PostingsPart:
    """The postings of one field's ``arrays`` (a segment's field arrays: ``indptr``,
    ``docs``, ``tfs``, ``pos``, ``forms``) with term ``t`` renumbered ``term_map[t]`` and
    doc ``d`` renumbered ``doc_map[d]``; postings of docs mapped to ``-1`` are dropped.
    With ``forms``, a field without form flags contributes zeros."""
    indptr = np.asarray(arrays.indptr, dtype=np.int64)
    posting_term = np.repeat(term_map, indptr[1:] - indptr[:-1])
    new_docs = doc_map[np.asarray(arrays.docs)]
    keep = new_docs >= 0
    tfs = np.asarray(arrays.tfs).astype(np.int32)
    flags = None
    if forms:
        count = int(np.count_nonzero(keep))
        flags = np.zeros(count, np.uint8) if arrays.forms is None else arrays.forms[keep]
    pos = None
    if positions and arrays.pos is not None:
        pos = np.asarray(arrays.pos)[np.repeat(keep, tfs)]
    return PostingsPart(
        terms=posting_term[keep], docs=new_docs[keep], tfs=tfs[keep], pos=pos, forms=flags
    )


def build_postings(
    parts: Sequence[PostingsPart],
    *,
    vocab_size: int,
    max_doc: int,
    positions: bool,
    in_doc_order: bool = True,
) -> tuple[dict[str, Any], int]:
    """The CSR arrays (``indptr``, ``docs``, ``tfs``, and ``forms``, ``pos``, ``posptr``
    when the parts have them) of the parts joined, and the total of their frequencies.

    ``in_doc_order``: the parts' postings are already ascending by doc within each term
    once concatenated (a merge: every part's docs follow the previous part's), so one
    stable sort by term orders them; else they are sorted by term and doc."""
    term = np.concatenate([p.terms for p in parts]) if parts else np.zeros(0, np.int32)
    docs = np.concatenate([p.docs for p in parts]) if parts else np.zeros(0, np.int32)
    tfs = np.concatenate([p.tfs for p in parts]) if parts else np.zeros(0, np.int32)
    if in_doc_order:
        order = stable_order(term, max(vocab_size, 1))
    else:  # runs of sorted keys (each part's) make the stable sort close to linear
        key = term.astype(np.int64) * (max_doc + 1) + docs.astype(np.int64)
        order = np.argsort(key, kind="stable")
    term, docs_sorted, tfs_sorted = term[order], docs[order], tfs[order]
    indptr = np.searchsorted(term, np.arange(vocab_size + 1), side="left").astype(np.int64)
    max_tf = int(tfs_sorted.max()) if len(tfs_sorted) else 0
    out: dict[str, Any] = {
        "indptr": indptr,
        "docs": docs_sorted.astype(doc_id_dtype(max_doc)),
        "tfs": tfs_sorted.astype(small_uint(max_tf)),
    }
    flags = [p.forms for p in parts if p.forms is not None]
    if flags:
        out["forms"] = np.concatenate(flags).astype(np.uint8)[order]
    if positions:
        pos_parts = [p.pos for p in parts if p.pos is not None]
        pos = np.concatenate(pos_parts) if pos_parts else np.zeros(0, np.int64)
        old_start = np.cumsum(tfs, dtype=np.int64) - tfs
        new_start = np.cumsum(tfs_sorted, dtype=np.int64) - tfs_sorted
        total = int(new_start[-1] + tfs_sorted[-1]) if len(tfs_sorted) else 0
        gather = np.repeat(old_start[order] - new_start, tfs_sorted)
        gather += np.arange(total, dtype=np.int64)
        pos = pos[gather]
        del gather, old_start
        out["pos"] = pos.astype(small_uint(int(pos.max()) if len(pos) else 0))
        out["posptr"] = np.append(new_start, total)[indptr].astype(np.int64)
    return out, int(tfs.sum(dtype=np.int64))


def combine_fields(
    sources: Sequence[tuple[Any, list[str], Array]],
    *,
    max_doc: int,
    text: bool,
    positions: bool,
    in_doc_order: bool = True,
) -> tuple[dict[str, Any], int]:
    """One field (by array name: ``terms``, the CSR arrays of :func:`build_postings`,
    and ``norms`` + ``lens`` for a text field, ``facet`` for a keyword field) from
    ``(arrays, terms, doc_map)`` sources: each source's doc ``d`` becomes ``doc_map[d]``
    (``-1``: left out); every doc of ``0..max_doc-1`` is given by exactly one source.
    Also returns the total of the term frequencies."""
    vocab, term_maps = union_vocabulary([terms for _, terms, _ in sources])
    any_forms = any(arrays.forms is not None for arrays, _, _ in sources)
    parts = []
    norms = np.zeros(max_doc, np.uint8)
    lens = np.zeros(max_doc, np.uint32)
    facet = np.full(max_doc, -1, np.int32)
    for (arrays, _, doc_map), term_map in zip(sources, term_maps, strict=True):
        parts.append(
            field_part(arrays, term_map, doc_map, positions=text and positions, forms=any_forms)
        )
        valid = np.flatnonzero(doc_map >= 0)
        target = doc_map[valid]
        if text:
            norms[target] = np.asarray(arrays.norms)[valid]
            lens[target] = np.asarray(arrays.lens)[valid]
        else:  # -1 (no value) picks the appended -1
            facet[target] = np.append(term_map, np.int32(-1))[np.asarray(arrays.facet)[valid]]
    built, tokens = build_postings(
        parts,
        vocab_size=len(vocab),
        max_doc=max_doc,
        positions=text and positions,
        in_doc_order=in_doc_order,
    )
    out: dict[str, Any] = {"terms": vocab, **built}
    if text:
        out["norms"], out["lens"] = norms, lens
    else:
        out["facet"] = facet
    return out, tokens


def union_vocabulary(vocabularies: Sequence[list[str]]) -> tuple[list[str], list[Array]]:
    """The sorted union of sorted, distinct term lists, and per list the new id of each of
    its terms. When one list is much larger than the others (a segment's field and an
    anchor update's), the others are placed into it by binary search and the large one is
    neither hashed nor re-sorted."""
    if not vocabularies:
        return [], []
    largest = max(range(len(vocabularies)), key=lambda number: len(vocabularies[number]))
    big = vocabularies[largest]
    rest = sum(len(terms) for number, terms in enumerate(vocabularies) if number != largest)
    if rest * 16 > len(big):
        vocab = sorted(set().union(*vocabularies))
        index = {term: ident for ident, term in enumerate(vocab)}
        return vocab, [
            np.fromiter((index[t] for t in terms), dtype=np.int32, count=len(terms))
            for terms in vocabularies
        ]
    extra = sorted(
        {
            term
            for number, terms in enumerate(vocabularies)
            if number != largest
            for term in terms
            if (at := bisect.bisect_left(big, term)) == len(big) or big[at] != term
        }
    )
    if extra:
        slots = np.array([bisect.bisect_left(big, term) for term in extra], dtype=np.int64)
        # a big term's new id: its old one plus the extra terms sorted before it
        shift = np.searchsorted(slots, np.arange(len(big)), side="right")
        big_map = (np.arange(len(big)) + shift).astype(np.int32)
        vocab = list(heapq.merge(big, extra))
    else:
        big_map = np.arange(len(big), dtype=np.int32)
        vocab = big
    maps = []
    for number, terms in enumerate(vocabularies):
        if number == largest:
            maps.append(big_map)
        else:
            maps.append(
                np.array([bisect.bisect_left(vocab, term) for term in terms], dtype=np.int32)
            )
    return vocab, maps
