"""Copying a few docs out of segments into a new one, without analyzing them again.

When an article's anchors change, the writer deletes it from its committed segment and
writes it anew with its final anchors. :func:`copied_arrays` gives the arrays of a
segment holding the selected docs of some segments: for every field their postings, term
frequencies, positions, form flags, norms, lengths and facets, and their ids, title keys,
URLs, dates and link edges, are taken out of the source arrays. Its cost grows with the
docs copied and the postings scanned by numpy, never with a Python pass over a whole
vocabulary (only the copied docs' terms are decoded). The caller adds the stored rows
and replaces the anchor fields.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from bnsearch.index import wordspans
from bnsearch.index.builder import doc_id_dtype, small_uint
from bnsearch.index.schema import TEXT, Schema
from bnsearch.index.segment import SegmentReader

Array = npt.NDArray[Any]
Parts = Sequence[tuple[SegmentReader, Sequence[int]]]


_STARTS: weakref.WeakKeyDictionary[Any, Array] = weakref.WeakKeyDictionary()


def _position_starts(reader: SegmentReader, field: str) -> Array:
    """Where each posting's positions start in the field's position array (kept with
    the field's arrays, which readers of the same segment share: a committed segment
    serves many copies)."""
    arrays = reader._field(field)
    starts = _STARTS.get(arrays)
    if starts is None:
        tfs = np.asarray(arrays.tfs)
        total = int(tfs.sum(dtype=np.int64))
        starts = np.cumsum(tfs, dtype=np.int64) - tfs
        if total < 2**31:
            starts = starts.astype(np.int32)
        _STARTS[arrays] = starts
    return starts


def _copy_field(
    name: str, text: bool, positions: bool, parts: Parts, remaps: Sequence[Array], max_doc: int
) -> tuple[dict[str, Any], dict[str, int]]:
    picked: list[tuple[list[str], Array, Array, Array, Array | None, Array | None]] = []
    any_forms = any(reader.forms(name) is not None for reader, _ in parts)
    vocab_set: set[str] = set()
    norms_parts, lens_parts, facet_parts = [], [], []
    for (reader, docs), remap in zip(parts, remaps, strict=True):
        arrays = reader._field(name)
        all_docs = np.asarray(arrays.docs)
        where = np.flatnonzero(remap[all_docs] >= 0)
        indptr = np.asarray(arrays.indptr, dtype=np.int64)
        term_of = np.searchsorted(indptr, where, side="right") - 1
        idents = np.unique(term_of)
        if not text:  # a doc's facet value is one of its terms; kept for safety
            facet = np.asarray(arrays.facet)[list(docs)]
            idents = np.union1d(idents, facet[facet >= 0]).astype(np.int64)
        vocabulary = reader.terms(name)  # decoded once per segment (readers are kept)
        words = [vocabulary[ident] for ident in idents.tolist()]
        vocab_set.update(words)
        tfs_all = np.asarray(arrays.tfs)
        tfs = tfs_all[where].astype(np.int64)
        pos = None
        if text and positions and arrays.pos is not None:
            start = _position_starts(reader, name)[where].astype(np.int64)
            gather = np.repeat(start - (np.cumsum(tfs) - tfs), tfs) + np.arange(int(tfs.sum()))
            pos = np.asarray(arrays.pos)[gather].astype(np.int64)
        forms = None
        if any_forms:
            forms = (
                np.zeros(len(where), np.uint8)
                if arrays.forms is None
                else np.asarray(arrays.forms)[where]
            )
        local = np.searchsorted(idents, term_of)
        picked.append((words, local, remap[all_docs[where]], tfs, pos, forms))
        chosen = list(docs)
        if text:
            norms_parts.append(np.asarray(arrays.norms)[chosen])
            lens_parts.append(np.asarray(arrays.lens)[chosen])
        else:
            facet_parts.append((idents, words, np.asarray(arrays.facet)[chosen]))
    vocab = sorted(vocab_set)
    index = {term: ident for ident, term in enumerate(vocab)}
    term_parts, doc_parts, tf_parts, pos_parts, form_parts = [], [], [], [], []
    for words, local, new_docs, tfs, pos, forms in picked:
        mapping = np.array([index[word] for word in words], dtype=np.int64)
        term_parts.append(mapping[local] if len(local) else np.zeros(0, np.int64))
        doc_parts.append(new_docs.astype(np.int64))
        tf_parts.append(tfs)
        if pos is not None:
            pos_parts.append(pos)
        if forms is not None:
            form_parts.append(forms)
    term = np.concatenate(term_parts) if term_parts else np.zeros(0, np.int64)
    docs_new = np.concatenate(doc_parts) if doc_parts else np.zeros(0, np.int64)
    tfs_new = np.concatenate(tf_parts) if tf_parts else np.zeros(0, np.int64)
    order = np.lexsort((docs_new, term))  # by term, then doc
    term, docs_new, tfs_sorted = term[order], docs_new[order], tfs_new[order]
    indptr = np.searchsorted(term, np.arange(len(vocab) + 1), side="left").astype(np.int64)
    max_tf = int(tfs_sorted.max()) if len(tfs_sorted) else 0
    out: dict[str, Any] = {
        "terms": vocab,
        "indptr": indptr,
        "docs": docs_new.astype(doc_id_dtype(max_doc)),
        "tfs": tfs_sorted.astype(small_uint(max_tf)),
    }
    if any_forms:
        out["forms"] = np.concatenate(form_parts).astype(np.uint8)[order]
    length_sum = 0
    if text:
        lens = np.concatenate(lens_parts).astype(np.uint32)
        out["norms"] = np.concatenate(norms_parts).astype(np.uint8)
        out["lens"] = lens
        length_sum = int(lens.sum(dtype=np.int64))
        out.update(
            wordspans.select(
                [reader.word_spans(name) for reader, _ in parts],
                [np.asarray(docs, dtype=np.int64) for _, docs in parts],
            )
        )
        if positions:
            pos_all = np.concatenate(pos_parts) if pos_parts else np.zeros(0, np.int64)
            old_start = np.cumsum(tfs_new, dtype=np.int64) - tfs_new
            new_start = np.cumsum(tfs_sorted, dtype=np.int64) - tfs_sorted
            total = int(tfs_sorted.sum())
            gather = np.repeat(old_start[order] - new_start, tfs_sorted) + np.arange(total)
            pos_all = pos_all[gather]
            out["pos"] = pos_all.astype(small_uint(int(pos_all.max()) if len(pos_all) else 0))
            out["posptr"] = np.append(new_start, total)[indptr].astype(np.int64)
    else:
        values: list[int] = []
        for idents, words, facet in facet_parts:
            lookup = {int(i): index[w] for i, w in zip(idents.tolist(), words, strict=True)}
            values.extend(lookup[int(v)] if v >= 0 else -1 for v in facet.tolist())
        out["facet"] = np.array(values, dtype=np.int32)
    stats = {
        "terms": len(vocab),
        "postings": len(docs_new),
        "tokens": int(tfs_new.sum()),
        "length_sum": length_sum,
    }
    return out, stats


def copied_arrays(schema: Schema, parts: Parts) -> tuple[dict[str, Any], dict[str, Any], int]:
    """Arrays (by file stem, without ``"store"``), statistics and doc count of a segment
    holding ``docs`` of each ``(reader, docs)`` in ``parts`` (docs ascending), in order."""
    remaps: list[Array] = []
    base = 0
    for reader, docs in parts:
        remap = np.full(reader.max_doc, -1, dtype=np.int64)
        remap[list(docs)] = np.arange(base, base + len(docs))
        remaps.append(remap)
        base += len(docs)
    max_doc = base
    arrays: dict[str, Any] = {}
    stats: dict[str, Any] = {}
    for spec in schema.fields:
        built, stats[spec.name] = _copy_field(
            spec.name, spec.kind == TEXT, spec.positions, parts, remaps, max_doc
        )
        arrays.update({f"fld.{spec.name}.{key}": value for key, value in built.items()})
    ids: list[str] = []
    keys: list[str] = []
    urls: list[str] = []
    published: list[Array] = []
    edge_src: list[int] = []
    edge_parts: dict[str, list[str]] = {"key": [], "url": [], "tid": []}
    for (reader, docs), remap in zip(parts, remaps, strict=True):
        ids.extend(reader.article_id(doc) for doc in docs)
        keys.extend(reader.title_key_of(doc) for doc in docs)
        urls.extend(reader.url_of(doc) for doc in docs)
        published.append(np.asarray(reader.published())[list(docs)])
        src = np.asarray(reader.link_src)
        if len(src):
            edges = np.flatnonzero(remap[src] >= 0).tolist()  # grouped by source, in order
            edge_src.extend(remap[src[edges]].tolist())
            for part, values in edge_parts.items():
                values.extend(reader.link_values(part, edges))
    arrays["strings.ids"] = ids
    arrays["strings.titlekeys"] = keys
    arrays["strings.urls"] = urls
    arrays["doc.published"] = (
        np.concatenate(published).astype(np.int64) if published else np.zeros(0, np.int64)
    )
    arrays["links.src"] = np.array(edge_src, dtype=np.int32)
    for part, values in edge_parts.items():
        arrays[f"strings.links.{part}"] = values
    return arrays, stats, max_doc
