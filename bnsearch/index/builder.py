"""Analysis of articles and the in-RAM build of one segment's arrays.

Two steps, so that analysis can run in worker processes:

1. :func:`encode_articles` (pure, picklable in and out) turns a batch of articles into an
   :class:`EncodedBatch`: per field a small vocabulary and one int32 array of term ids per
   position (``-1`` for a dropped stopword or a gap), plus the compressed stored rows, ids,
   title keys, URLs and link edges.
2. :class:`SegmentBuilder` maps each batch's vocabulary onto the segment's term ids (one
   dict lookup per distinct term per batch, then a numpy gather) and, in :meth:`build`,
   turns the token arrays into CSR postings with one stable argsort per field.

The per-token Python work is one dict lookup inside the analyzer's chunk cache and one in
the batch vocabulary; everything after that is numpy.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from bnsearch.analysis import normalize_text
from bnsearch.analysis.forms import inflection_split
from bnsearch.articles import Article
from bnsearch.index.links import title_key
from bnsearch.index.norms import encode_lengths
from bnsearch.index.schema import POSITION_GAP, TEXT, FieldSpec, Schema
from bnsearch.index.segment import epoch_seconds
from bnsearch.index.store import Block, StoreWriter, article_row

Int32Array = npt.NDArray[np.int32]
Int64Array = npt.NDArray[np.int64]


class _Vocabulary(dict[str | None, int]):
    """term -> id in first-seen order; ``None`` (a dropped word) maps to -1."""

    def __init__(self) -> None:
        super().__init__()
        self[None] = -1

    def __missing__(self, term: str | None) -> int:
        ident = len(self) - 1
        self[term] = ident
        return ident

    def terms(self) -> list[str]:
        return [term for term in self if term is not None]


@attrs.define(kw_only=True)
class EncodedField:
    """One field of a batch: vocabulary, term ids per position, positions per doc."""

    vocab: list[str]  # empty when ``shared``: ids are the builder's own term ids
    ids: Int32Array  # with a stemming analyzer, ids of surface forms (stemmed at build)
    lengths: Int32Array  # positions (including dropped words and gaps) per doc
    shared: bool = False


@attrs.define(kw_only=True)
class EncodedBatch:
    """A batch of analyzed articles, ready for :meth:`SegmentBuilder.add_batch`."""

    count: int
    ids: list[str]
    title_keys: list[str]
    urls: list[str]
    published: list[int]  # epoch seconds or NO_DATE, see segment.epoch_seconds
    store_blocks: list[tuple[Block, int]]  # compressed stored rows, rows per block
    fields: dict[str, EncodedField]
    edge_src: list[int]  # doc number within the batch
    edge_key: list[str]
    edge_url: list[str]
    edge_tid: list[str]
    text_bytes: int


def keyword_values(section: Sequence[str]) -> list[str]:
    """Keyword terms of a section path: each normalized element, then the full path."""
    parts = [normalize_text(part) for part in section]
    parts = [part for part in parts if part]
    if not parts:
        return []
    values = list(dict.fromkeys(parts))
    full = ">".join(parts)
    if full not in values:
        values.append(full)
    else:  # single element: keep the full path last, it is the facet value
        values.remove(full)
        values.append(full)
    return values


def _field_values(spec: FieldSpec, article: Article, anchors: tuple[str, ...]) -> list[str]:
    source = spec.source
    if source == "related":
        return [link.headline for link in article.related]
    if source == "anchors":
        return list(anchors)
    if source == "section":
        return list(article.section)
    value = getattr(article, source)
    return [value] if value else []


def encode_articles(
    schema: Schema,
    items: Sequence[tuple[Article, tuple[str, ...]]],
    vocabularies: dict[str, _Vocabulary] | None = None,
) -> EncodedBatch:
    """Analyze ``(article, anchors)`` pairs into an :class:`EncodedBatch`.

    With ``vocabularies`` (a builder's own), term ids are taken from and added to them
    (no remapping later); otherwise each field gets a vocabulary local to the batch.
    """
    fields: dict[str, EncodedField] = {}
    text_bytes = 0
    for spec in schema.fields:
        shared = vocabularies is not None
        vocab = vocabularies[spec.name] if vocabularies is not None else _Vocabulary()
        lookup = vocab.__getitem__
        per_doc: array[int] = array("i")  # C ints: no list of Python ints to convert
        lengths = np.zeros(len(items), dtype=np.int32)
        if spec.kind == TEXT:
            analyzer = schema.analyzer(spec.name)
            split = inflection_split(analyzer)
            # a stemming chain: keep surface forms here, stem each distinct one at build
            sequence_of = (split.surfaces if split else analyzer).term_sequence
            gap = [None] * POSITION_GAP
            for number, (article, anchors) in enumerate(items):
                values = _field_values(spec, article, anchors)
                if len(values) == 1:
                    sequence = sequence_of(values[0])
                else:
                    sequence = []
                    for index, value in enumerate(values):
                        if index:
                            sequence.extend(gap)
                        sequence.extend(sequence_of(value))
                per_doc.extend(map(lookup, sequence))
                lengths[number] = len(sequence)
                text_bytes += sum(len(value) for value in values)
        else:
            for number, (article, anchors) in enumerate(items):
                keys = keyword_values(_field_values(spec, article, anchors))
                per_doc.extend(map(lookup, keys))
                lengths[number] = len(keys)
        fields[spec.name] = EncodedField(
            vocab=[] if shared else vocab.terms(),
            ids=np.frombuffer(per_doc, dtype=np.int32) if per_doc else np.zeros(0, np.int32),
            lengths=lengths,
            shared=shared,
        )
    edge_src: list[int] = []
    edge_key: list[str] = []
    edge_url: list[str] = []
    edge_tid: list[str] = []
    for number, (article, _) in enumerate(items):
        for link in article.related:
            edge_src.append(number)
            edge_key.append(title_key(link.headline))
            edge_url.append(link.url or "")
            edge_tid.append(link.target_id or "")
    return EncodedBatch(
        count=len(items),
        ids=[article.id for article, _ in items],
        title_keys=[title_key(article.title) for article, _ in items],
        urls=[article.url or "" for article, _ in items],
        published=[epoch_seconds(article.published) for article, _ in items],
        store_blocks=_store_blocks(items, background=vocabularies is not None),
        fields=fields,
        edge_src=edge_src,
        edge_key=edge_key,
        edge_url=edge_url,
        edge_tid=edge_tid,
        text_bytes=text_bytes,
    )


def _store_blocks(
    items: Sequence[tuple[Article, tuple[str, ...]]], *, background: bool
) -> list[tuple[Block, int]]:
    store = StoreWriter(background=background)
    for article, anchors in items:
        store.add(article_row(article, anchors))
    return store.blocks(resolve=not background)


@attrs.define
class _FieldBuffer:
    vocab: _Vocabulary = attrs.field(factory=_Vocabulary)
    ids: list[Int32Array] = attrs.field(factory=list)
    lengths: list[Int32Array] = attrs.field(factory=list)


@attrs.define
class SegmentBuilder:
    """Accumulates encoded batches; :meth:`build` returns the segment's arrays."""

    schema: Schema
    doc_count: int = 0
    token_count: int = 0
    _fields: dict[str, _FieldBuffer] = attrs.field(init=False)
    ids: list[str] = attrs.field(init=False, factory=list)
    title_keys: list[str] = attrs.field(init=False, factory=list)
    urls: list[str] = attrs.field(init=False, factory=list)
    published: list[int] = attrs.field(init=False, factory=list)
    store: StoreWriter = attrs.field(init=False, factory=StoreWriter)
    _edges: list[tuple[int, str, str, str]] = attrs.field(init=False, factory=list)

    def __attrs_post_init__(self) -> None:
        self._fields = {spec.name: _FieldBuffer() for spec in self.schema.fields}

    def add_articles(self, items: Sequence[tuple[Article, tuple[str, ...]]]) -> None:
        """Analyze and add ``(article, anchors)`` pairs (term ids straight into this builder)."""
        vocabularies = {name: buffer.vocab for name, buffer in self._fields.items()}
        self.add_batch(encode_articles(self.schema, items, vocabularies))

    def add_batch(self, batch: EncodedBatch) -> None:
        """Add a batch encoded elsewhere (local vocabularies are remapped) or by
        :meth:`add_articles` (ids already ours)."""
        for name, encoded in batch.fields.items():
            buffer = self._fields[name]
            if encoded.shared:
                buffer.ids.append(encoded.ids)
            else:
                vocab = buffer.vocab
                remap = np.empty(len(encoded.vocab) + 1, dtype=np.int32)
                remap[-1] = -1  # index -1 (a dropped word) stays -1
                for local, term in enumerate(encoded.vocab):
                    remap[local] = vocab[term]
                buffer.ids.append(remap[encoded.ids] if len(encoded.ids) else encoded.ids)
            buffer.lengths.append(encoded.lengths)
            self.token_count += len(encoded.ids)
        base = self.doc_count
        self._edges.extend(
            (base + src, key, url, tid)
            for src, key, url, tid in zip(
                batch.edge_src, batch.edge_key, batch.edge_url, batch.edge_tid, strict=True
            )
        )
        self.ids.extend(batch.ids)
        self.title_keys.extend(batch.title_keys)
        self.urls.extend(batch.urls)
        self.published.extend(batch.published)
        self.store.add_blocks(batch.store_blocks)
        self.doc_count += batch.count

    def build(self) -> dict[str, Any]:
        """The segment's arrays (by file stem) and statistics, see :mod:`.segment`."""
        arrays: dict[str, Any] = {}
        stats: dict[str, Any] = {}
        for spec in self.schema.fields:
            buffer = self._fields[spec.name]
            vocab = buffer.vocab.terms()
            split = inflection_split(self.schema.analyzer(spec.name)) if spec.kind == TEXT else None
            built, field_stats = build_field(
                vocab=vocab,
                stems=split.terms_and_flags(vocab) if split else None,
                ids=_concat32(buffer.ids),
                lengths=_concat32(buffer.lengths),
                doc_count=self.doc_count,
                text=spec.kind == TEXT,
                positions=spec.positions,
            )
            arrays.update({f"fld.{spec.name}.{key}": value for key, value in built.items()})
            stats[spec.name] = field_stats
        arrays["strings.ids"] = self.ids
        arrays["strings.titlekeys"] = self.title_keys
        arrays["strings.urls"] = self.urls
        arrays["doc.published"] = np.array(self.published, dtype=np.int64)
        arrays["links.src"] = np.array([e[0] for e in self._edges], dtype=np.int32)
        arrays["strings.links.key"] = [e[1] for e in self._edges]
        arrays["strings.links.url"] = [e[2] for e in self._edges]
        arrays["strings.links.tid"] = [e[3] for e in self._edges]
        arrays["store"] = self.store
        return {"arrays": arrays, "stats": stats, "max_doc": self.doc_count}


def _concat32(parts: list[Int32Array]) -> Int32Array:
    if not parts:
        return np.zeros(0, dtype=np.int32)
    return np.concatenate(parts).astype(np.int32, copy=False)


def small_uint(max_value: int) -> type[np.unsignedinteger[Any]]:
    """The narrowest unsigned dtype that holds ``max_value`` (postings' tfs and positions)."""
    if max_value < 2**8:
        return np.uint8
    if max_value < 2**16:
        return np.uint16
    return np.uint32


def stable_order(keys: npt.NDArray[np.integer[Any]], limit: int) -> Int64Array:
    """``np.argsort(keys, kind="stable")`` for keys in ``[0, limit)``, ``limit <= 2**32``.

    numpy sorts 16-bit keys stably by radix sort (about 5x faster than its stable sort of
    32-bit keys), so larger keys are sorted in two 16-bit passes, low half first.
    """
    if limit <= 1 << 16:
        return np.argsort(keys.astype(np.uint16), kind="stable").astype(np.int64, copy=False)
    order = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
    high = (keys[order] >> 16).astype(np.uint16)
    result: Int64Array = order[np.argsort(high, kind="stable")].astype(np.int64, copy=False)
    return result


def doc_id_dtype(max_doc: int) -> type[np.integer[Any]]:
    """Doc ids of postings: uint16 in a segment of at most 65,536 docs, else int32."""
    return np.uint16 if max_doc <= 2**16 else np.int32


def build_field(
    *,
    vocab: list[str],
    stems: tuple[list[str | None], list[int]] | None = None,
    ids: Int32Array,
    lengths: Int32Array,
    doc_count: int,
    text: bool,
    positions: bool,
) -> tuple[dict[str, Any], dict[str, int]]:
    """CSR arrays of one field from per-position term ids (``-1`` = no term).

    ``ids`` holds, doc after doc, ``lengths[d]`` entries for doc ``d``. With ``stems``
    (per vocabulary entry: its stem, ``None`` to drop it, and its form flag, see
    :mod:`bnsearch.analysis.forms`) the vocabulary holds surface forms: postings are by
    stem and each carries the OR of its occurrences' flags (``forms``). Returns the
    arrays (``terms`` as a sorted list of str, ``indptr``, ``docs``, ``tfs``, for text
    fields ``norms``, ``lens``, with positions ``pos``, ``posptr``, with stems
    ``forms``) and statistics.
    """
    doc_of = np.repeat(np.arange(doc_count, dtype=np.int32), lengths)
    starts = np.cumsum(lengths, dtype=np.int64) - lengths
    position = np.arange(len(ids), dtype=np.int64) - np.repeat(starts, lengths)
    raw_ids = ids
    kept = ids >= 0
    ids, doc_of, position = ids[kept], doc_of[kept], position[kept]
    flags = None
    if stems is None:
        order_terms = sorted(range(len(vocab)), key=vocab.__getitem__)
        rank = np.empty(len(vocab), dtype=np.int32)
        rank[np.array(order_terms, dtype=np.int64)] = np.arange(len(vocab), dtype=np.int32)
        sorted_terms = [vocab[i] for i in order_terms]
    else:  # many surface forms -> one stem
        stem_of, flag_of = stems
        sorted_terms = sorted({stem for stem in stem_of if stem is not None})
        stem_rank = {stem: number for number, stem in enumerate(sorted_terms)}
        rank = np.array([-1 if s is None else stem_rank[s] for s in stem_of], dtype=np.int32)
        flags = np.array(flag_of, dtype=np.uint8)[ids]
    term = rank[ids] if len(ids) else ids
    if flags is not None and len(term) and int(term.min()) < 0:  # the stemmer dropped some
        stemmed = term >= 0
        term, doc_of, position = term[stemmed], doc_of[stemmed], position[stemmed]
        flags = flags[stemmed]
    order = stable_order(term, len(sorted_terms))  # tokens are already in (doc, position) order
    term, doc_of, position = term[order], doc_of[order], position[order]
    n = len(term)
    if n:
        change = np.empty(n, dtype=bool)
        change[0] = True
        np.not_equal(term[1:], term[:-1], out=change[1:])
        change[1:] |= doc_of[1:] != doc_of[:-1]
        posting_start = np.flatnonzero(change)
    else:
        posting_start = np.zeros(0, dtype=np.int64)
    tfs = np.diff(np.append(posting_start, n))
    posting_term = term[posting_start]
    indptr = np.searchsorted(
        posting_term, np.arange(len(sorted_terms) + 1), side="left"
    ).astype(np.int64)
    field_lengths = np.bincount(doc_of, minlength=doc_count).astype(np.uint32)
    max_tf = int(tfs.max()) if len(tfs) else 0
    arrays: dict[str, Any] = {
        "terms": sorted_terms,
        "indptr": indptr,
        "docs": doc_of[posting_start].astype(doc_id_dtype(doc_count)),
        "tfs": tfs.astype(small_uint(max_tf)),
    }
    if flags is not None:
        arrays["forms"] = (
            np.bitwise_or.reduceat(flags[order], posting_start) if n else np.zeros(0, np.uint8)
        )
    if text:
        arrays["norms"] = encode_lengths(field_lengths)
        arrays["lens"] = field_lengths
        if positions:
            max_pos = int(position.max()) if n else 0
            arrays["pos"] = position.astype(small_uint(max_pos))
            arrays["posptr"] = np.append(posting_start, n).astype(np.int64)[indptr]
    else:
        # the last keyword of each doc is its full path: the facet value
        facet = np.full(doc_count, -1, dtype=np.int32)
        has = lengths > 0
        last = (np.cumsum(lengths, dtype=np.int64) - 1)[has]
        facet[has] = rank[raw_ids[last]]
        arrays["facet"] = facet
    stats = {
        "terms": len(sorted_terms),
        "postings": len(posting_start),
        "tokens": n,
        "length_sum": int(field_lengths.sum()),
    }
    return arrays, stats
