"""Analysis of articles and the in-RAM build of one segment's arrays.

:class:`SegmentBuilder` takes ``(article, anchors)`` pairs and, in :meth:`~SegmentBuilder.build`,
returns the segment's arrays. Text fields are encoded by whitespace *chunk*: the analyzer
cuts text at whitespace and analyzes each chunk on its own (see
:meth:`bnsearch.analysis.Analyzer.term_sequence`), so a field keeps a :class:`ChunkTable`
(chunk -> number, and per number the chunk's term ids) and each document is just the list
of its chunk numbers: per chunk, one dict lookup done inside ``array.extend(map(...))``.
Chunks not seen before in the segment are analyzed together in one analyzer call. A
multi-valued field of headlines (related headlines, anchors: titles of other articles,
each listed by many pages) takes no chunk numbers of its own: its values' chunks and
their terms are the process's (:mod:`.valuechunks`: each headline split and analyzed
once a process, not once a segment), kept as the process's term numbers
(:meth:`ChunkTable.value_run`) and given the segment's vocabulary at build
(:func:`joined_runs`). At build time numpy expands the chunk numbers into term ids per
position and turns them into CSR postings with one stable radix sort per field.

With a stemming analyzer the tables hold surface forms (the chain cut before its
stemmer, :func:`bnsearch.analysis.forms.inflection_split`); each distinct form is stemmed
once at build, which also gives its form flag.
"""

from __future__ import annotations

import contextlib
import gc
import operator
from array import array
from collections.abc import Iterator, Mapping, Sequence
from itertools import accumulate, chain, pairwise
from typing import Any, cast

import attrs
import numpy as np
import numpy.typing as npt

from bnsearch.analysis import Analyzer
from bnsearch.analysis.forms import InflectionSplit, inflection_split
from bnsearch.arrays import run_positions
from bnsearch.articles import Article
from bnsearch.articles.links import KeyedArticle
from bnsearch.articles.model import link_headline
from bnsearch.compiled import optional_module
from bnsearch.index import blockmax, wordspans
from bnsearch.index.linkmaps import build_maps
from bnsearch.index.links import title_key
from bnsearch.index.norms import encode_lengths
from bnsearch.index.schema import POSITION_GAP, TEXT, FieldSpec, Schema, keyword_values
from bnsearch.index.segment import LINK_HEADLINES, epoch_seconds
from bnsearch.index.store import StoreWriter, article_row
from bnsearch.index.valuechunks import VALUE_CHUNKS

Int32Array = npt.NDArray[np.int32]
Int64Array = npt.NDArray[np.int64]

#: Chunks remembered per table; past it the dict starts over (numbers stay valid, a chunk
#: seen again gets a new number), which bounds memory on huge segments.
_MAX_CHUNKS = 2_000_000
#: The chunk standing for the gap between two values (no real chunk holds a space).
GAP = " "
#: Article sources whose fields are lists of values (headlines), see :func:`_field_values`.
VALUE_SOURCES = frozenset({"related", "anchors"})
#: A segment of at most this many docs (a commit's one-article flush) builds its text
#: fields of values by :func:`few_value_field` (a pass in Python), a larger one by its
#: chunk tables (:meth:`ChunkTable.add_values`, numpy); both give the same arrays.
FEW_VALUE_DOCS = 64
#: One chunk's word spans: start, end (within the chunk), start, end, ... a word.
_Spans = tuple[int, ...]
#: Word spans of the chunks this process has seen (fields that keep word spans): a new
#: segment's tables learn them from here, as their terms from the analyzer's cache, so
#: only chunks new to the process go to the tokenizer. Starts over past the bound.
_CHUNK_SPANS: dict[str, _Spans] = {}
_MAX_CACHED_SPANS = 300_000


class _Vocabulary(dict[str | None, int]):
    """term -> id in first-seen order; ``None`` (a dropped word) maps to -1."""

    def __init__(self) -> None:
        super().__init__()
        self[None] = -1

    def __missing__(self, term: str | None) -> int:
        ident = self[term] = len(self) - 1  # the entries so far, less None's
        return ident

    def add_all(self, terms: list[str | None]) -> None:
        """Give the terms not seen before their ids, in first-seen order, in one update
        (what looking each up would do, without a ``__missing__`` call per new term)."""
        new = [term for term in dict.fromkeys(terms) if term not in self]
        self.update(zip(new, range(len(self) - 1, len(self) - 1 + len(new)), strict=True))

    def terms(self) -> list[str]:
        return [term for term, ident in self.items() if ident >= 0 and term is not None]


class _ChunkNumbers(dict[str, int]):
    """chunk -> number; a chunk not seen before gets the next number and waits in
    ``pending`` for its analysis (numbers keep counting when the dict starts over)."""

    def __init__(self) -> None:
        super().__init__()
        self[GAP] = 0
        self.next = 1
        self.pending: list[str] = []

    def __missing__(self, chunk: str) -> int:
        number = self.next
        self[chunk] = number
        self.next = number + 1
        self.pending.append(chunk)
        return number


class ChunkTable:
    """The whitespace chunks of one text field in one segment, with their term ids.

    ``numbers`` maps a chunk to its number; chunk ``n``'s term ids (``-1`` for a dropped
    word) are ``terms[ptr[n]:ptr[n + 1]]``. Chunk 0 is the gap between two values of a
    multi-valued field (:data:`POSITION_GAP` empty positions), written :data:`GAP`.
    """

    def __init__(self, analyzer: Analyzer, vocab: _Vocabulary, *, spans: bool = False) -> None:
        self.numbers = _ChunkNumbers()
        self.ptr = array("q", [0, POSITION_GAP])
        self.terms = array("i", [-1] * POSITION_GAP)
        self._chunk_terms = analyzer.chunk_terms
        self._vocab = vocab
        #: with ``spans``, each entry's word start and end within its chunk, one after
        #: the other (beside ``terms``): the word spans of :mod:`bnsearch.index.wordspans`
        self.spans: array[int] | None = None
        if spans:
            self.spans = array("i", [0] * (2 * POSITION_GAP))
        self._batch_spans = analyzer.tokenizer.batch_flat_spans
        # process chunk (VALUE_CHUNKS of that generation) -> number here, -1 if none
        self._chunks_generation = -1
        self._number_of_chunk = np.full(0, -1, dtype=np.int32)
        # process term of this analyzer (VALUE_CHUNKS.entries, the same generation) ->
        # its id in the vocabulary, -1 if not mapped yet
        self._analyzer_identity = analyzer.identity
        self._id_of_term = np.full(0, -1, dtype=np.int32)

    def add_docs(self, docs: list[list[str]], out: array[int]) -> None:
        """Append the chunk numbers of ``docs`` (each a list of chunks, :data:`GAP` between
        values) to ``out`` in one pass; the chunks new to the table get the next numbers
        and are analyzed together afterwards, in one analyzer call."""
        numbers = self.numbers
        if len(numbers) > _MAX_CHUNKS:
            numbers.clear()
            numbers[GAP] = 0
        # np.fromiter converts the numbers about a third faster than array.extend does
        found = np.fromiter(map(numbers.__getitem__, chain.from_iterable(docs)), dtype=np.int32)
        out.frombytes(found.tobytes())
        new, numbers.pending = numbers.pending, []
        if new:
            self._learn(new)

    def add_values(self, docs: Sequence[Sequence[str]], out: array[int]) -> list[int]:
        """:meth:`add_docs` of docs given as values (a multi-valued field: each value's
        chunks, :data:`GAP` between two values); returns each doc's number of chunks.

        A related headline or an anchor is another article's title, listed by many pages:
        its chunks come from the process's table (:meth:`_value_chunk_numbers`: each
        value split once a process, one dict lookup a value), so the docs' numbers are
        laid out by numpy, with no per-value work here."""
        flat = list(chain.from_iterable(docs))
        found, sizes = self._value_chunk_numbers(flat)
        # the gap chunk (number 0) before each value after a doc's first
        values = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
        laid, per_doc = _laid_values(values, sizes, found, 1, 0)
        out.frombytes(laid.tobytes())
        counts: list[int] = per_doc.tolist()
        return counts

    def value_run(self, docs: Sequence[Sequence[str]]) -> ValueRun:
        """The docs' values (each doc's values, as :meth:`add_values` takes them) as
        the process's term numbers a position (:class:`ValueRun`), not as this table's
        chunks: the values' chunks and the chunks' entries are the process's
        (:mod:`.valuechunks`), laid out by numpy; nothing is numbered, learned or
        expanded here. A 100k links build's segments and its commit's anchor update
        analyze 600,000 headlines each way, every one split and analyzed once a process
        already, which each segment's table numbered, learned and expanded again."""
        flat = list(chain.from_iterable(docs))
        while True:  # (None: another thread's split started the process's table over)
            generation, chunk_ids, chunk_counts, _ = VALUE_CHUNKS.split(flat)
            found = VALUE_CHUNKS.entries(
                generation, chunk_ids.astype(np.int64), self._analyzer_identity, self._chunk_terms
            )
            if found is not None:
                break
        entry_counts, entries, terms = found
        # entries a value: its chunks' (the chunks come value after value)
        entry_ends = np.concatenate(([0], np.cumsum(entry_counts, dtype=np.int64)))
        value_ends = entry_ends[np.cumsum(chunk_counts, dtype=np.int64)]
        sizes = np.diff(np.concatenate(([0], value_ends)))
        values = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
        return ValueRun(terms, entries, sizes, values)

    def _value_chunk_numbers(
        self, values: list[str]
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]:
        """This table's chunk numbers of ``values`` one after the other, and their
        chunks a value. The values' chunks come from the process's
        :data:`~bnsearch.index.valuechunks.VALUE_CHUNKS` (each headline split once a
        process) and are mapped to this table's numbers by an array (process chunk ->
        number here); the chunks new to the table get the next numbers in first-seen
        order, as :meth:`add_docs` gives them, and are analyzed in one call."""
        generation, chunk_ids, sizes, chunks = VALUE_CHUNKS.split(values)
        if generation != self._chunks_generation:
            self._chunks_generation = generation
            self._number_of_chunk = np.full(0, -1, dtype=np.int32)
            self._id_of_term = np.full(0, -1, dtype=np.int32)
        self._number_of_chunk = _grown(self._number_of_chunk, len(chunks))
        found = self._number_of_chunk[chunk_ids]
        missed = found < 0
        unseen = chunk_ids[missed]
        if len(unseen):
            new = _first_seen(unseen)
            start = self.numbers.next
            self._number_of_chunk[new] = np.arange(start, start + len(new), dtype=np.int32)
            self.numbers.next = start + len(new)
            found[missed] = self._number_of_chunk[unseen]
            entries = None
            if self.spans is None:  # (a headline field keeps no word spans)
                entries = VALUE_CHUNKS.entries(
                    generation, new, self._analyzer_identity, self._chunk_terms
                )
            if entries is None:  # the process's table started over meanwhile
                self._learn(list(map(chunks.__getitem__, new.tolist())))
            else:
                self._learn_entries(*entries)
        return found, sizes

    def _learn_entries(
        self, sizes: npt.NDArray[np.int64], entries: npt.NDArray[np.int32], terms: list[str]
    ) -> None:
        """:meth:`_learn` of new chunks given as their entries in the process's term
        numbers (``terms``, :meth:`.valuechunks.ValueChunks.entries`): each term is
        given its vocabulary id by an array (process term -> id), the terms new to the
        vocabulary taking the next ids in first-seen order, as :meth:`_learn` gives them."""
        self._id_of_term = _grown(self._id_of_term, len(terms))
        words = entries >= 0
        ids = np.full(len(entries), -1, dtype=np.int32)
        found = self._id_of_term[entries[words]]
        unmapped = entries[words][found < 0]
        if len(unmapped):
            new = _first_seen(unmapped)
            strings = list(map(terms.__getitem__, new.tolist()))
            vocab = self._vocab
            known = list(map(vocab.get, strings))
            start = len(vocab) - 1  # the ids so far (None's -1 is not one)
            if known.count(None) == len(known):  # every one new to the vocabulary
                vocab.update(zip(strings, range(start, start + len(strings)), strict=True))
                self._id_of_term[new] = np.arange(start, start + len(new), dtype=np.int32)
            else:  # the process's terms started over: some were mapped before
                self._id_of_term[new] = [
                    vocab[term] if ident is None else ident
                    for term, ident in zip(strings, known, strict=True)
                ]
            found = self._id_of_term[entries[words]]
        ids[words] = found
        self.terms.frombytes(ids.tobytes())
        self.ptr.frombytes((np.cumsum(sizes) + self.ptr[-1]).tobytes())

    def _learn(self, chunks: list[str]) -> None:
        """Term ids of the chunks new to the table (analyzed in one analyzer call)."""
        entries = self._chunk_terms(chunks)
        flat = list(chain.from_iterable(entries))
        if self.spans is not None:
            self._learn_spans(chunks, entries)
        self._vocab.add_all(flat)
        ids = np.fromiter(map(self._vocab.__getitem__, flat), dtype=np.int32, count=len(flat))
        ends = np.cumsum(np.fromiter(map(len, entries), dtype=np.int64, count=len(entries)))
        self.terms.frombytes(ids.tobytes())
        self.ptr.frombytes((ends + self.ptr[-1]).tobytes())

    def _learn_spans(self, chunks: list[str], entries: list[tuple[str | None, ...]]) -> None:
        """Word starts and ends within the new chunks (the tokenizer's, which gave their
        terms: one entry per term)."""
        assert self.spans is not None
        cache = _CHUNK_SPANS
        spans: list[_Spans | None] = list(map(cache.get, chunks))
        unknown = spans.count(None)
        if unknown:  # chunks new to this process: one tokenizer batch
            if unknown == len(chunks):
                missing = chunks
            else:
                missing = [c for c, found in zip(chunks, spans, strict=True) if found is None]
            if len(cache) + len(missing) > _MAX_CACHED_SPANS:
                cache.clear()
            made = self._batch_spans(missing)
            cache.update(zip(missing, made, strict=True))
            if unknown == len(chunks):
                spans = made  # type: ignore[assignment]
            else:
                fresh = iter(made)
                spans = [next(fresh) if found is None else found for found in spans]
        # two numbers a word: the tokenizer's words are the analyzer's (checked in C)
        if list(map(len, spans)) != list(map((2).__mul__, map(len, entries))):  # type: ignore[arg-type]
            raise AssertionError("the tokenizer's spans and the analyzer's terms disagree")
        self.spans.extend(chain.from_iterable(spans))  # type: ignore[arg-type]

    def expand(
        self,
        doc_chunks: Int32Array,
        chunk_counts: Int32Array,
        chunk_starts: npt.NDArray[np.int64] | None = None,
    ) -> tuple[Int32Array, Int32Array, tuple[Int64Array, Int64Array] | None]:
        """Term ids per position of every doc (doc after doc), positions per doc, and
        with ``chunk_starts`` (each chunk occurrence's start in its text) each
        position's word start and end in its text."""
        ptr = np.frombuffer(self.ptr, dtype=np.int64)
        terms = np.frombuffer(self.terms, dtype=np.int32)
        sizes = (ptr[1:] - ptr[:-1])[doc_chunks]
        ends = np.cumsum(sizes, dtype=np.int64)
        total = int(ends[-1]) if len(ends) else 0
        # position p of chunk occurrence k reads terms[ptr[chunk_k] + p - start_k]
        shift = ptr[doc_chunks] - (ends - sizes)
        where = np.repeat(shift, sizes)
        where += np.arange(total, dtype=np.int64)  # in place: one position-sized temporary less
        ids = terms[where]
        spans = None
        if chunk_starts is not None and self.spans is not None:
            base = np.repeat(chunk_starts, sizes)
            both = np.frombuffer(self.spans, dtype=np.int32)
            starts = base + both[0::2][where]
            base += both[1::2][where]
            spans = (starts, base)
        del where
        chunk_ends = np.cumsum(chunk_counts, dtype=np.int64)
        position_ends = np.concatenate(([0], ends))[chunk_ends]
        lengths = np.diff(np.concatenate(([0], position_ends))).astype(np.int32)
        return ids.astype(np.int32, copy=False), lengths, spans


@attrs.frozen(eq=False)
class ValueRun:
    """Some docs' values of a text field as term numbers: ``entries`` (the values'
    entries value after value, numbers into ``terms``, ``-1`` a dropped word),
    ``sizes`` (entries a value) and ``values`` (values a doc). ``terms`` is the
    process's terms of the field's analyzer in one generation of :mod:`.valuechunks`
    (a list that only grows)."""

    terms: list[str]
    entries: Int32Array
    sizes: Int64Array
    values: Int64Array


def joined_runs(runs: Sequence[ValueRun]) -> tuple[list[str], Int32Array, Int32Array]:
    """The vocabulary (the terms the runs use), the term ids a position (into it,
    ``-1`` an empty position: a dropped word, or the gap of :data:`POSITION_GAP`
    positions before each value after a doc's first) and the positions a doc of the
    runs' docs one after the other, as :meth:`ChunkTable.expand` gives them for the
    same docs (its vocabulary in first-seen order, this one in the process's:
    :func:`build_field` sorts the terms, so the arrays are the same). Runs of two
    generations (the process's table started over between them) share the
    vocabulary by their terms' strings."""
    vocab: dict[str, int] = {}
    local_of: dict[int, Int32Array] = {}
    for run in runs:
        if id(run.terms) in local_of:
            continue
        taken = np.zeros(len(run.terms) + 1, dtype=np.bool_)  # (the last: -1's)
        for other in runs:
            if other.terms is run.terms:
                taken[other.entries] = True
        taken[-1] = False
        present = np.flatnonzero(taken)
        local = np.full(len(run.terms) + 1, -1, dtype=np.int32)  # (-1 stays -1)
        if not vocab:  # (the usual case: one generation)
            strings = map(run.terms.__getitem__, present.tolist())
            vocab.update(zip(strings, range(len(present)), strict=True))
            local[present] = np.arange(len(present), dtype=np.int32)
        else:
            strings = map(run.terms.__getitem__, present.tolist())
            local[present] = [vocab.setdefault(term, len(vocab)) for term in strings]
        local_of[id(run.terms)] = local
    if not runs:
        return [], np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32)
    entries = np.concatenate([local_of[id(run.terms)][run.entries] for run in runs])
    ids, lengths = _laid_values(
        np.concatenate([run.values for run in runs]),
        np.concatenate([run.sizes for run in runs]),
        entries,
        POSITION_GAP,
        -1,
    )
    return list(vocab), ids, lengths.astype(np.int32)


def _laid_values(
    per_doc: Int64Array, sizes: Int64Array, items: Int32Array, gap: int, filler: int
) -> tuple[Int32Array, Int64Array]:
    """The items of the docs' values (``sizes[v]`` items value after value, the docs'
    values one after the other, ``per_doc[d]`` values a doc) laid out doc after doc
    with ``gap`` entries of ``filler`` before each value after a doc's first, and the
    entries a doc."""
    gaps = np.full(len(sizes), gap, dtype=np.int64)
    gaps[(np.cumsum(per_doc) - per_doc)[per_doc > 0]] = 0
    spans = sizes + gaps
    starts = np.cumsum(spans) - sizes  # where each value's items go
    laid = np.full(int(spans.sum()), filler, dtype=np.int32)
    laid[run_positions(starts, sizes)] = items
    doc_of = np.repeat(np.arange(len(per_doc), dtype=np.int64), per_doc)
    counts: Int64Array = np.bincount(doc_of, weights=spans, minlength=len(per_doc)).astype(np.int64)
    return laid, counts


def _grown(table: Int32Array, size: int) -> Int32Array:
    """``table`` (a map from numbers to numbers here, ``-1``: none) holding at least
    ``size`` entries (grown by a quarter more, the new ones ``-1``)."""
    if len(table) >= size:
        return table
    grown = np.full(size + size // 4, -1, dtype=np.int32)
    grown[: len(table)] = table
    return grown


#: :func:`_first_seen` sorts fewer values than this (and values spread thin over their
#: range) instead of filling a table of first places.
_FIRST_SEEN_BY_SORT = 4096


def _first_seen(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The distinct ``values`` (numbers from 0: chunk or term numbers) in the order of
    their first occurrence. Each number's first place is found by one unbuffered
    minimum over a table as long as the largest number, and only the distinct ones
    are sorted: a commit's anchor table learns every chunk of its 4 million anchor
    chunk occurrences at once, which ``np.unique`` sorted whole (0.35 CPU-s against
    0.03 for 4M occurrences of 60,000 chunks)."""
    size = int(values.max()) + 1 if len(values) else 0
    if len(values) < _FIRST_SEEN_BY_SORT or len(values) * 4 < size:  # a table would cost more
        distinct, first_at = np.unique(values, return_index=True)
        by_sort: npt.NDArray[Any] = distinct[np.argsort(first_at, kind="stable")]
        return by_sort
    first = np.full(size, len(values), dtype=np.int64)
    np.minimum.at(first, values, np.arange(len(values), dtype=np.int64))
    distinct = np.flatnonzero(first < len(values))
    ordered: npt.NDArray[Any] = distinct[np.argsort(first[distinct], kind="stable")].astype(
        values.dtype, copy=False
    )
    return ordered


@attrs.define(eq=False)
class _EdgeColumns:
    """A segment's link edges as columns, one entry an edge in page order: source doc,
    title key of its headline, URL as given, target id or "", headline. Columns, not
    a tuple an edge: the segment's file stores them so, and a tuple an edge (six an
    article) was one more object for every young collection to scan while the
    builder held it."""

    src: array[int] = attrs.field(factory=lambda: array("i"))
    keys: list[str] = attrs.field(factory=list)
    urls: list[str] = attrs.field(factory=list)
    tids: list[str] = attrs.field(factory=list)
    headlines: list[str] = attrs.field(factory=list)


def _link_rows(
    items: Sequence[tuple[Article, tuple[str, ...]]],
    base: int,
    keys: Sequence[KeyedArticle | None] | None,
    edges: _EdgeColumns,
) -> list[str]:
    """The title key of each article (read from ``keys`` where given, see
    :meth:`SegmentBuilder.add_articles`, else taken by :func:`title_key`); its links'
    edges (docs numbered from ``base``) appended to ``edges``."""
    if keys is None:
        keys = [None] * len(items)
    elif None not in keys:
        return _keyed_link_rows(items, base, cast(Sequence[KeyedArticle], keys), edges)
    title_keys: list[str] = []
    per_doc: list[int] = []
    edge_keys: list[str] = []
    for (article, _), keyed in zip(items, keys, strict=True):
        related = article.related
        per_doc.append(len(related))
        if keyed is None:
            title_keys.append(title_key(article.title))
            edge_keys.extend([title_key(link.headline) for link in related])
        else:
            title_keys.append(keyed[1])
            edge_keys.extend([link[0] for link in keyed[3]])
    links = list(chain.from_iterable(article.related for article, _ in items))
    if links:
        tids = [link.target_id or "" for link in links]
        _add_edges(edges, base, per_doc, links, edge_keys, tids)
    return title_keys


def _keyed_link_rows(
    items: Sequence[tuple[Article, tuple[str, ...]]],
    base: int,
    keys: Sequence[KeyedArticle],
    edges: _EdgeColumns,
) -> list[str]:
    """:func:`_link_rows` where every article's keys are given (a links build's every
    chunk): the edges' title keys and target ids are the link keys' (a
    :data:`~bnsearch.articles.links.LinkKeys` holds ``target_id or ""``, as the
    edge's column does), read a column at a time by C-level getters."""
    link_keys = list(chain.from_iterable(map(_keyed_links, keys)))
    if link_keys:
        links = list(chain.from_iterable(article.related for article, _ in items))
        counts = list(map(len, map(_keyed_links, keys)))
        edge_keys = list(map(_edge_key, link_keys))
        _add_edges(edges, base, counts, links, edge_keys, list(map(_edge_tid, link_keys)))
    return list(map(_keyed_title, keys))


def _add_edges(
    edges: _EdgeColumns,
    base: int,
    counts: list[int],
    links: list[Any],
    edge_keys: list[str],
    tids: list[str],
) -> None:
    """Append to ``edges`` the ``links`` of consecutive docs from ``base`` (``counts[i]``
    links of doc ``base + i``), with their title keys and target ids; a URL column of
    links that give none (a build's, mostly) is one list of ``""``."""
    src = np.repeat(
        np.arange(base, base + len(counts), dtype=np.int32), np.array(counts, dtype=np.int64)
    )
    edges.src.frombytes(src.tobytes())
    edges.keys.extend(edge_keys)
    urls = list(map(_link_url, links))
    if urls.count(None) == len(urls):
        edges.urls.extend([""] * len(urls))
    else:
        edges.urls.extend([url or "" for url in urls])
    edges.tids.extend(tids)
    edges.headlines.extend(map(link_headline, links))


#: Getters of :func:`_keyed_link_rows`: a keyed article's links' keys and title key, a
#: link key's title key and target id, a link's URL as given.
_keyed_links = operator.itemgetter(3)
_keyed_title = operator.itemgetter(1)
_edge_key = operator.itemgetter(0)
_edge_tid = operator.itemgetter(2)
_link_url = operator.attrgetter("url")


def _field_values(spec: FieldSpec, article: Article, anchors: tuple[str, ...]) -> list[str]:
    source = spec.source
    if source == "related":
        return list(map(link_headline, article.related))
    if source == "anchors":
        return list(anchors)
    if source == "section":
        return list(article.section)
    value = getattr(article, source)
    return [value] if value else []


#: Stands in for the article when only anchors are analyzed (their values need no article).
_NO_ARTICLE = Article(id="-", title="-")


def _int32(values: array[int]) -> Int32Array:
    """An ``array('i')`` as a numpy copy (a view would pin the array's size)."""
    if not values:
        return np.zeros(0, dtype=np.int32)
    copied: Int32Array = np.frombuffer(values, dtype=np.int32).copy()
    return copied


#: A text field of values (related headlines, anchors) keeps its docs' values as the
#: process's terms (:meth:`ChunkTable.value_run`, :func:`joined_runs`), not as its
#: table's chunks (:meth:`ChunkTable.add_values`, :meth:`ChunkTable.expand`); the
#: same arrays either way (False: the tables', the reference the tests compare with).
DIRECT_VALUES = True
#: A headline field's values are added (:meth:`ChunkTable.add_values`) this many docs at
#: a time, not a chunk of articles (128) at a time: the call's numpy work has a fixed
#: cost (the related headlines of 100,000 synthetic articles in 16,409-doc segments:
#: 1.44-1.45 CPU-s at 2,048 docs a call against 1.69-1.72 at 128; 11:07 UTC, load 8).
#: Chunk numbers and term ids are given in first-seen order either way.
VALUE_RUN_DOCS = 2048


@attrs.define(eq=False)
class _FieldBuffer:
    """One field of the segment being built.

    ``items``: doc after doc, chunk numbers (text fields, see :class:`ChunkTable`) or
    term ids (keyword fields); ``counts``: entries per doc.
    """

    vocab: _Vocabulary
    table: ChunkTable | None
    items: array[int] = attrs.field(factory=lambda: array("i"))
    counts: array[int] = attrs.field(factory=lambda: array("i"))
    #: with word spans (:mod:`.wordspans`): each chunk occurrence's start in its text
    chunk_starts: array[int] | None = None
    #: a field of values (:data:`VALUE_SOURCES`): docs' values not yet in ``table``
    #: (held while the segment has at most :data:`FEW_VALUE_DOCS` docs, see
    #: :meth:`SegmentBuilder._few_value_arrays`; past that, put in
    #: :data:`VALUE_RUN_DOCS` docs at a time and when the field's arrays are made)
    pending: list[list[str]] = attrs.field(factory=list)
    #: a text field of values (:data:`DIRECT_VALUES`): its docs' values as the
    #: process's terms (:meth:`ChunkTable.value_run`), not in ``items`` and ``counts``
    runs: list[ValueRun] | None = None


def _surface_analyzer(analyzer: Analyzer) -> Analyzer:
    """With a stemming chain, the chain cut before the stemmer (forms stemmed at build)."""
    split = inflection_split(analyzer)
    return split.surfaces if split else analyzer


@attrs.define
class SegmentBuilder:
    """Accumulates analyzed articles; :meth:`build` returns the segment's arrays."""

    schema: Schema
    doc_count: int = 0
    _fields: dict[str, _FieldBuffer] = attrs.field(init=False)
    ids: list[str] = attrs.field(init=False, factory=list)
    title_keys: list[str] = attrs.field(init=False, factory=list)
    urls: list[str] = attrs.field(init=False, factory=list)
    published: list[int] = attrs.field(init=False, factory=list)
    store: StoreWriter = attrs.field(init=False, factory=lambda: StoreWriter(background=True))
    _edges: _EdgeColumns = attrs.field(init=False, factory=_EdgeColumns)
    # anchors are final only at build (linkers may arrive after their target): the
    # articles wait here, their stored rows made and the anchor fields analyzed at build
    # (a row made at add, its links' tuples with it, was scanned by every young
    # collection in between)
    _articles: list[Article] = attrs.field(init=False, factory=list)
    _anchors: list[tuple[str, ...]] = attrs.field(init=False, factory=list)

    def __attrs_post_init__(self) -> None:
        self._fields = {}
        for spec in self.schema.fields:
            vocab = _Vocabulary()
            table = None
            spans = keeps_spans(spec)
            if spec.kind == TEXT:
                analyzer = _surface_analyzer(self.schema.analyzer(spec.name))
                table = ChunkTable(analyzer, vocab, spans=spans)
            direct = DIRECT_VALUES and table is not None and spec.source in VALUE_SOURCES
            self._fields[spec.name] = _FieldBuffer(
                vocab=vocab,
                table=table,
                chunk_starts=array("q") if spans else None,
                runs=[] if direct and not spans else None,
            )

    def add_articles(
        self,
        items: Sequence[tuple[Article, tuple[str, ...]]],
        keys: Sequence[KeyedArticle | None] | None = None,
    ) -> None:
        """Analyze and add ``(article, anchors)`` pairs (the anchors may be replaced at
        :meth:`build`, which analyzes the anchor fields and writes the stored rows).
        ``keys``, one a pair when given: the article's
        :func:`~bnsearch.articles.links.article_keys` as the writer took them (their
        title keys are used, not taken again), or ``None`` to take them here.

        If this raises, the builder is unusable (fields may hold part of the batch): its
        owner drops it, see :class:`bnsearch.index.workers.LocalBuilder`.
        """
        with no_cycle_collection():
            self._add_articles(items, keys)

    def _add_articles(
        self,
        items: Sequence[tuple[Article, tuple[str, ...]]],
        keys: Sequence[KeyedArticle | None] | None,
    ) -> None:
        base = self.doc_count
        title_keys = _link_rows(items, base, keys, self._edges)
        for spec in self.schema.fields:
            if spec.source == "anchors":
                continue  # analyzed at build, when the anchors are final
            buffer = self._fields[spec.name]
            if buffer.table is not None:
                _add_text(spec, buffer, buffer.table, items)
            else:
                lookup = buffer.vocab.__getitem__
                for article, anchors in items:
                    values = keyword_values(_field_values(spec, article, anchors))
                    buffer.items.extend(map(lookup, values))
                    buffer.counts.append(len(values))
        self.title_keys.extend(title_keys)
        for article, anchors in items:
            self.ids.append(article.id)
            self.urls.append(article.url or "")
            self.published.append(epoch_seconds(article.published))
            self._articles.append(article)
            self._anchors.append(anchors)
        self.doc_count += len(items)

    def build(self, anchors: Mapping[int, tuple[str, ...]] | None = None) -> dict[str, Any]:
        """The segment's arrays (by file stem) and statistics, see :mod:`.segment`.

        ``anchors`` replaces the anchors given at :meth:`add_articles` for some docs
        (by local doc number: the order of adding).
        """
        with no_cycle_collection():
            return self._build(anchors or {})

    def _build(self, replaced: Mapping[int, tuple[str, ...]]) -> dict[str, Any]:
        arrays: dict[str, Any] = {}
        stats: dict[str, Any] = {}
        for doc, anchors in replaced.items():
            self._anchors[doc] = anchors
        self._analyze_anchors()
        for article, anchors in zip(self._articles, self._anchors, strict=True):
            self.store.add(article_row(article, anchors))
        self._articles, self._anchors = [], []
        for spec in self.schema.fields:
            built, stats[spec.name] = self._few_value_arrays(spec) or self._field_arrays(spec)
            arrays.update({f"fld.{spec.name}.{key}": value for key, value in built.items()})
        arrays["strings.ids"] = self.ids
        arrays["strings.titlekeys"] = self.title_keys
        arrays["strings.urls"] = self.urls
        arrays["doc.published"] = np.array(self.published, dtype=np.int64)
        edges = self._edges
        arrays["links.src"] = _int32(edges.src)
        arrays["strings.links.key"] = edges.keys
        arrays["strings.links.url"] = edges.urls
        arrays["strings.links.tid"] = edges.tids
        arrays[LINK_HEADLINES] = edges.headlines
        arrays.update(
            build_maps(
                title_keys=self.title_keys,
                urls=self.urls,
                edge_keys=arrays["strings.links.key"],
                edge_urls=arrays["strings.links.url"],
                edge_tids=arrays["strings.links.tid"],
            )
        )
        arrays["store"] = self.store
        return {"arrays": arrays, "stats": stats, "max_doc": self.doc_count}

    def _analyze_anchors(self) -> None:
        anchored = [(_NO_ARTICLE, anchors) for anchors in self._anchors]
        for spec in self.schema.fields:
            if spec.source != "anchors":
                continue
            buffer = self._fields[spec.name]
            if buffer.table is not None:
                _add_text(spec, buffer, buffer.table, anchored)
            else:
                lookup = buffer.vocab.__getitem__
                for _, anchors in anchored:
                    keys = keyword_values(list(anchors))
                    buffer.items.extend(map(lookup, keys))
                    buffer.counts.append(len(keys))

    def _few_value_arrays(self, spec: FieldSpec) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """A field of values (related headlines, anchors) of a segment of at most
        :data:`FEW_VALUE_DOCS` docs (a commit's one-article flush) by one pass in Python
        over its values' chunk terms (:func:`few_value_field`: the arrays and statistics
        :meth:`_field_arrays` gives, without the chunk table's dozen numpy calls on a
        few values); ``None`` for any other field (then :meth:`_field_arrays`)."""
        buffer = self._fields[spec.name]
        pending = buffer.pending
        held = len(pending) == self.doc_count and not buffer.counts and not buffer.runs
        if self.doc_count > FEW_VALUE_DOCS or not pending or not held:
            return None
        return few_value_field(self.schema, spec, pending)

    def _field_arrays(self, spec: FieldSpec) -> tuple[dict[str, Any], dict[str, Any]]:
        buffer = self._fields[spec.name]
        if buffer.table is not None:
            _settle_values(buffer, buffer.table)
        spans = None
        if buffer.runs is not None:
            vocab, ids, lengths = joined_runs(buffer.runs)
        elif buffer.table is not None:
            vocab = buffer.vocab.terms()
            starts = buffer.chunk_starts
            ids, lengths, spans = buffer.table.expand(
                _int32(buffer.items),
                _int32(buffer.counts),
                None if starts is None else np.frombuffer(starts, dtype=np.int64),
            )
        else:
            vocab = buffer.vocab.terms()
            ids, lengths = _int32(buffer.items), _int32(buffer.counts)
        split = inflection_split(self.schema.analyzer(spec.name)) if spec.kind == TEXT else None
        return build_field(
            vocab=vocab,
            stems=split.terms_and_flags(vocab) if split else None,
            ids=ids,
            lengths=lengths,
            doc_count=self.doc_count,
            text=spec.kind == TEXT,
            positions=spec.positions,
            spans=spans,
        )


def anchor_fields(
    schema: Schema, anchors: Sequence[tuple[str, ...]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The arrays (by file stem) and statistics of the anchor fields alone, for docs with
    these anchors (a flushed but uncommitted segment gets its final anchors this way)."""
    builder = SegmentBuilder(schema)
    builder.doc_count = len(anchors)
    builder._anchors = list(anchors)
    arrays: dict[str, Any] = {}
    stats: dict[str, Any] = {}
    with no_cycle_collection():
        builder._analyze_anchors()
        for spec in schema.fields:
            if spec.source == "anchors":
                built, stats[spec.name] = builder._field_arrays(spec)
                arrays.update({f"fld.{spec.name}.{key}": value for key, value in built.items()})
    builder.store.finish()  # its (empty) background compressor ends
    return arrays, stats


#: :func:`anchor_arrays` analyzes at most this many docs' anchors by
#: :func:`few_anchor_fields` (a commit's anchor update: a handful of targets).
FEW_ANCHOR_DOCS = 64


def anchor_arrays(schema: Schema, anchors: Sequence[tuple[str, ...]]) -> dict[str, Any]:
    """The arrays (by file stem) of the anchor fields for docs with these anchors, at
    least those an anchor update keeps (``anchorfile._UPDATE_ARRAYS``): by
    :func:`few_anchor_fields` for a handful of docs, else by :func:`anchor_fields`."""
    if len(anchors) <= FEW_ANCHOR_DOCS:
        found = few_anchor_fields(schema, anchors)
        if found is not None:
            return found
    return anchor_fields(schema, anchors)[0]


def few_anchor_fields(schema: Schema, anchors: Sequence[tuple[str, ...]]) -> dict[str, Any] | None:
    """The arrays :func:`anchor_fields` gives (those an anchor update keeps, the same
    values and dtypes; not the block maxima) by one pass in Python over the headlines'
    chunk terms (the analyzer's chunk cache) and stems: for a handful of docs, where the
    builder's tables and numpy calls are a fixed cost many times the work. ``None`` when
    an anchor field is a keyword field (:func:`anchor_fields` serves)."""
    found = few_anchor_groups(schema, [anchors])
    return None if found is None else found[0]


def few_anchor_groups(
    schema: Schema, groups: Sequence[Sequence[tuple[str, ...]]]
) -> list[dict[str, Any]] | None:
    """:func:`few_anchor_fields` of each group of docs' anchors (each group's docs
    numbered from 0, its arrays its own), from one analysis of all of them (a commit's
    updates of several segments: the analysis's set-up once, no group cut out of a
    whole); ``None`` as there."""
    found: list[dict[str, Any]] = [{} for _ in groups]
    for spec in schema.fields:
        if spec.source != "anchors":
            continue
        if spec.kind != TEXT:
            return None
        for number, arrays in enumerate(value_fields(schema, spec, groups)):
            found[number].update(arrays)
    return found


#: One group's postings of a field: term -> doc -> ``[form flags, *positions]``, each
#: term's docs ascending (:func:`postings_fields`).
GroupPostings = dict[str, dict[int, list[int]]]
#: Every group's docs' values' chunks (group -> doc -> value -> chunks).
_Chunked = list[list[list[list[str]]]]
#: Per surface form its (term or ``None``, form flag); ``None`` -> ``(None, 0)``.
_StemOf = dict[str | None, tuple[str | None, int]]

#: The compiled twin of :func:`_value_postings` + :func:`postings_fields`, or ``None``.
_VALUES = optional_module("bnsearch.index._values")


def value_fields(
    schema: Schema, spec: FieldSpec, groups: Sequence[Sequence[Sequence[str]]]
) -> list[dict[str, Any]]:
    """Per group of docs' values (headlines), the arrays (by file stem, terms as a list)
    of text field ``spec`` over that group's docs (numbered from 0): those
    :func:`postings_fields` makes of :func:`_value_postings` (the reference), made by
    the compiled :mod:`._values` where it is built, in one call making the same two
    analysis calls (:func:`_value_entries`' chunk terms and stems)."""
    return value_fields_by(_VALUES, schema, spec, groups)


def value_fields_by(
    compiled: Any, schema: Schema, spec: FieldSpec, groups: Sequence[Sequence[Sequence[str]]]
) -> list[dict[str, Any]]:
    """:func:`value_fields` made by the compiled module ``compiled``, or by the
    reference where it is ``None`` (the tests ask for each)."""
    if compiled is None:
        postings, lengths, forms = _value_postings(schema, spec, groups)
        return postings_fields(spec, postings, lengths, [len(group) for group in groups], forms)
    surfaces, split = _value_analyzers(schema, spec)
    found: list[dict[str, Any]] = compiled.value_groups(
        groups,
        surfaces.chunk_terms,
        None if split is None else split.terms_and_flags,
        POSITION_GAP,
        spec.positions,
        f"fld.{spec.name}.",
        encode_lengths,
        small_uint,
        doc_id_dtype,
    )
    return found


def _value_analyzers(schema: Schema, spec: FieldSpec) -> tuple[Analyzer, InflectionSplit | None]:
    """The analyzer giving text field ``spec``'s value chunks their surfaces (its chain
    cut before the stemmer, where it has one) and the inflection split stemming them
    (``None``: the field keeps no form flags), for both paths of :func:`value_fields`."""
    analyzer = schema.analyzer(spec.name)
    split = inflection_split(analyzer)
    return (split.surfaces if split else analyzer), split


def _value_entries(
    schema: Schema, spec: FieldSpec, groups: Sequence[Sequence[Sequence[str]]]
) -> tuple[_Chunked, list[tuple[str | None, ...]], _StemOf, bool]:
    """The analysis of groups of docs' values for text field ``spec`` (the reference's;
    the compiled :mod:`._values` does the same steps in C around the same two calls):
    every value's chunks (group -> doc -> value -> chunks), every chunk's surfaces in
    turn (one call of the analyzer's chunk cache), each surface's (term, form flag) (one
    stemming call over the distinct ones, in first-seen order), and whether the field
    keeps form flags."""
    surfaces, split = _value_analyzers(schema, spec)
    chunked = [[[value.split() for value in values] for values in group] for group in groups]
    entries = surfaces.chunk_terms(
        [chunk for group in chunked for values in group for chunks in values for chunk in chunks]
    )
    words = list(dict.fromkeys(t for entry in entries for t in entry if t is not None))
    if split is None:
        stem_of: _StemOf = {t: (t, 0) for t in words}
    else:
        stems, flags = split.terms_and_flags(words)
        stem_of = dict(zip(words, zip(stems, flags, strict=True), strict=True))
    stem_of[None] = (None, 0)
    return chunked, entries, stem_of, split is not None


def _value_postings(
    schema: Schema, spec: FieldSpec, groups: Sequence[Sequence[Sequence[str]]]
) -> tuple[list[GroupPostings], list[int], bool]:
    """The postings of text field ``spec`` (fed by values: headlines) over groups of
    docs' values, by one analysis of all their chunks (:func:`_value_entries`) and
    one pass in Python: per group, term -> doc -> ``[form flags, *positions]`` (each
    term's docs ascending: they are visited in order), each doc's length (one group
    after the other), and whether the field keeps form flags. The
    positions and terms the builder's chunk tables give (:meth:`ChunkTable.add_values`):
    :data:`POSITION_GAP` empty positions between two values, a dropped word's position
    kept empty."""
    chunked, entries, stem_of, forms = _value_entries(schema, spec, groups)
    terms = iter(entries)
    postings: list[GroupPostings] = []
    lengths = []
    for group in chunked:
        table: GroupPostings = {}  # term -> doc -> [flags, *positions]
        for doc, values in enumerate(group):
            own: dict[str, list[int]] = {}  # (this doc's, then put in the table)
            position = count = 0
            for value, chunks in enumerate(values):
                if value:
                    position += POSITION_GAP
                for _ in chunks:
                    for surface in next(terms):
                        term, flag = stem_of[surface]
                        if term is not None:
                            held = own.get(term)
                            if held is None:
                                own[term] = [flag, position]
                            else:
                                held[0] |= flag
                                held.append(position)
                            count += 1
                        position += 1
            for term, held in own.items():
                found = table.get(term)
                if found is None:
                    table[term] = {doc: held}
                else:
                    found[doc] = held
            lengths.append(count)
        postings.append(table)
    return postings, lengths, forms


def few_value_field(
    schema: Schema, spec: FieldSpec, docs: Sequence[Sequence[str]]
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The arrays (by stem within the field, in :func:`build_field`'s order) and
    statistics :func:`build_field` gives text field ``spec`` fed by values (related
    headlines, anchors) over a handful of ``docs`` (each its values), by
    :func:`value_fields` (the block maxima added):
    a commit's one-article segment, where the chunk table's numpy calls cost many times
    the work. ``None`` for a field that is not such (a keyword field, or one keeping
    word spans)."""
    if spec.kind != TEXT or spec.source not in VALUE_SOURCES or keeps_spans(spec):
        return None
    (built,) = value_fields(schema, spec, [docs])
    prefix = f"fld.{spec.name}."
    keys = ("terms", "indptr", "docs", "tfs", "forms", "norms", "lens")
    arrays: dict[str, Any] = {key: built[prefix + key] for key in keys if prefix + key in built}
    arrays.update(
        blockmax.block_maxima(
            arrays["indptr"], arrays["docs"], arrays["tfs"], arrays["norms"], arrays.get("forms")
        )
    )
    if spec.positions:
        arrays["pos"], arrays["posptr"] = built[prefix + "pos"], built[prefix + "posptr"]
    tokens = sum(arrays["lens"].tolist())
    stats = {
        "terms": len(arrays["terms"]),
        "postings": len(arrays["docs"]),
        "tokens": tokens,
        "length_sum": tokens,
    }
    return arrays, stats


def postings_field(
    spec: FieldSpec,
    postings: Mapping[tuple[str, int], Sequence[int]],
    lengths: Sequence[int],
    doc_count: int,
    forms: bool,
) -> dict[str, Any]:
    """:func:`postings_fields` of one group of ``doc_count`` docs: its ``postings`` by
    (term, doc)."""
    table: dict[str, dict[int, Sequence[int]]] = {}
    for term, doc in sorted(postings):
        table.setdefault(term, {})[doc] = postings[(term, doc)]
    (found,) = postings_fields(spec, [table], lengths, [doc_count], forms)
    return found


def postings_fields(
    spec: FieldSpec,
    postings: Sequence[Mapping[str, Mapping[int, Sequence[int]]]],
    lengths: Sequence[int],
    sizes: Sequence[int],
    forms: bool,
) -> list[dict[str, Any]]:
    """Per group of docs (``sizes[g]`` docs each, numbered from 0 in their group, their
    ``lengths`` one group after the other), the arrays (by file stem, terms as a list)
    of text field ``spec`` over that group's docs holding its ``postings[g]``: term ->
    doc (ascending) -> ``[form flags, *positions]`` (a posting's frequency is its
    number of positions; a caller whose field keeps none passes that many zeros). The
    one place a handful of docs' postings become a field's arrays by a pass in Python
    (:func:`value_fields`' reference, the compiled :mod:`._values` its twin; the arrays
    are :func:`sorted_postings_fields`'): each group's terms sorted, one pass over
    every group's postings, one array of each kind, cut per group (a commit's gained
    headlines for several segments: its fixed numpy work once, not once a segment)."""
    # one pass over the postings in (group, term, doc) order: the term table and its
    # pointers, each group's first term, each posting's doc, frequency, flags, positions
    terms: list[str] = []
    starts: list[int] = []  # posting number of each term's first
    firsts = [0]  # term number of each group's first term
    docs: list[int] = []
    tfs: list[int] = []
    flags: list[int] = []
    positions: list[int] = []
    for table in postings:
        for term in sorted(table):
            terms.append(term)
            starts.append(len(docs))
            held_by = table[term]
            docs.extend(held_by)
            for held in held_by.values():
                tfs.append(len(held) - 1)
                flags.append(held[0])
                positions.extend(held[1:])
        firsts.append(len(terms))
    starts.append(len(docs))
    return sorted_postings_fields(
        spec,
        terms,
        np.array(starts, dtype=np.int64),
        np.array(docs, dtype=np.int64),
        np.array(tfs, dtype=np.int64),
        np.array(flags, dtype=np.uint8) if forms else None,
        np.array(positions, dtype=np.int64),
        np.array(lengths, dtype=np.int64),
        firsts,
        sizes,
    )


def sorted_postings_fields(
    spec: FieldSpec,
    terms: list[str],
    indptr: npt.NDArray[np.int64],
    docs: npt.NDArray[np.int64],
    tfs: npt.NDArray[np.int64],
    flags: npt.NDArray[np.uint8] | None,
    positions: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    firsts: Sequence[int],
    sizes: Sequence[int],
) -> list[dict[str, Any]]:
    """Per group of docs, the arrays (by file stem, terms as a list) of text field
    ``spec`` over its ``sizes[g]`` docs, of the groups' postings given one group after
    the other, each in (term, doc) order: ``terms`` (group ``g``'s are
    ``firsts[g]``..``firsts[g + 1] - 1``, sorted) with their postings' pointers
    ``indptr``, each posting's doc (numbered in its group), frequency and form flags
    (``None``: the field keeps none), the positions of every posting in turn (unused
    where ``spec`` keeps none) and every doc's length. The one place postings made
    outside a segment build (a handful of docs' anchors, :func:`postings_fields`; an
    adding anchor update resolved, :mod:`.anchoradds`, one group) get a segment's values
    and dtypes (those of :func:`anchor_fields` over the group's docs alone)."""
    norms = encode_lengths(lengths)
    lens = lengths.astype(np.uint32)  # (a crafted length read from a damaged file wraps,
    # as numpy's cast does, for verify to report; it does not raise here)
    running = np.zeros(len(tfs) + 1, dtype=np.int64)
    np.cumsum(tfs, out=running[1:])
    doc_bounds = [0, *accumulate(sizes)]
    bounds = indptr[np.asarray(firsts, dtype=np.int64)].tolist()
    # each group's largest frequency and position by one reduction each (the dtypes)
    tf_maxima = _group_maxima(tfs, bounds)
    if spec.positions:
        position_bounds = running[bounds].tolist()
        position_maxima = _group_maxima(positions, position_bounds)
    prefix = f"fld.{spec.name}."
    found = []
    for group, size in enumerate(sizes):
        low, high = firsts[group], firsts[group + 1]
        first, end = bounds[group], bounds[group + 1]  # its postings
        at, upto = doc_bounds[group], doc_bounds[group + 1]
        out: dict[str, Any] = {
            "terms": terms[low:high] if len(firsts) > 2 else terms,
            "indptr": (indptr[low : high + 1] - first).astype(np.int64, copy=False),
            "docs": docs[first:end].astype(doc_id_dtype(size)),
            "tfs": tfs[first:end].astype(small_uint(tf_maxima[group])),
            "norms": norms[at:upto],
            "lens": lens[at:upto],
        }
        if flags is not None:
            out["forms"] = flags[first:end].astype(np.uint8, copy=False)
        if spec.positions:
            pos = positions[position_bounds[group] : position_bounds[group + 1]]
            out["pos"] = pos.astype(small_uint(position_maxima[group]))
            out["posptr"] = running[indptr[low : high + 1]] - position_bounds[group]
        found.append({prefix + key: value for key, value in out.items()})
    return found


def _group_maxima(values: npt.NDArray[np.integer[Any]], bounds: Sequence[int]) -> list[int]:
    """The largest of ``values[bounds[g]:bounds[g + 1]]`` for each group ``g`` (0 for
    an empty one; ``bounds`` ascending), by one ``reduceat`` over the groups holding
    values: an array call for all the groups, not one a group."""
    held = [start for start, end in pairwise(bounds) if end > start]
    if not held:
        return [0] * (len(bounds) - 1)
    maxima = iter(np.maximum.reduceat(values[: bounds[-1]], held).tolist())
    return [next(maxima) if end > start else 0 for start, end in pairwise(bounds)]


@contextlib.contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for one batch or build.

    Analysis allocates hundreds of thousands of small containers (word lists, cache
    tuples), which set off a collection every 700 allocations, each scanning what the
    batch has built so far: about 8% of the indexing time on BeliN. None of them form
    cycles (reference counting frees them), so the collector is paused for the batch and
    resumed after it, unless it was already off (then it is left alone).
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _add_text(
    spec: FieldSpec,
    buffer: _FieldBuffer,
    table: ChunkTable,
    items: Sequence[tuple[Article, tuple[str, ...]]],
) -> None:
    """Append each article's chunk numbers for a text field (the gap chunk between values;
    a field of values holds them in ``buffer.pending`` for :data:`VALUE_RUN_DOCS` docs)."""
    source = spec.source
    if source in VALUE_SOURCES:  # held while the segment is small (see _FieldBuffer.pending)
        buffer.pending.extend(_field_values(spec, a, anchors) for a, anchors in items)
        if len(buffer.pending) >= VALUE_RUN_DOCS:
            _settle_values(buffer, table)
        return
    texts = [getattr(article, source) or "" for article, _ in items]
    docs = [text.split() for text in texts]
    if buffer.chunk_starts is not None:
        starts = wordspans.chunk_starts(texts)
        if len(starts) != sum(map(len, docs)):
            raise AssertionError("chunk starts and str.split disagree")
        buffer.chunk_starts.frombytes(starts.tobytes())
    table.add_docs(docs, buffer.items)
    buffer.counts.extend(map(len, docs))


def _settle_values(buffer: _FieldBuffer, table: ChunkTable) -> None:
    """Put the values ``buffer`` holds (:attr:`_FieldBuffer.pending`) into its table."""
    if buffer.pending:
        pending, buffer.pending = buffer.pending, []
        if buffer.runs is not None:
            buffer.runs.append(table.value_run(pending))
        else:
            buffer.counts.extend(table.add_values(pending, buffer.items))


def keeps_spans(spec: FieldSpec) -> bool:
    """True for the fields whose segments keep word spans (:mod:`.wordspans`): text
    fields with positions fed by one string of the article."""
    return spec.kind == TEXT and spec.positions and spec.source in wordspans.SPAN_SOURCES


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


def _stem_ranks(stem_of: list[str | None]) -> tuple[list[str], Int32Array]:
    """The sorted distinct stems, and per surface form its stem's rank (``-1`` for
    ``None``, a form the stemming half dropped); set, dict and lookups all in C."""
    distinct = set(stem_of)
    distinct.discard(None)
    sorted_terms: list[str] = sorted(distinct)  # type: ignore[arg-type]
    rank_of: dict[str | None, int] = dict(zip(sorted_terms, range(len(sorted_terms)), strict=True))
    rank_of[None] = -1
    rank = np.fromiter(map(rank_of.__getitem__, stem_of), dtype=np.int32, count=len(stem_of))
    return sorted_terms, rank


def build_field(
    *,
    vocab: list[str],
    stems: tuple[list[str | None], list[int]] | None = None,
    ids: Int32Array,
    lengths: Int32Array,
    doc_count: int,
    text: bool,
    positions: bool,
    spans: tuple[Int64Array, Int64Array] | None = None,
) -> tuple[dict[str, Any], dict[str, int]]:
    """CSR arrays of one field from per-position term ids (``-1`` = no term).

    ``ids`` holds, doc after doc, ``lengths[d]`` entries for doc ``d``. With ``stems``
    (per vocabulary entry: its stem, ``None`` to drop it, and its form flag, see
    :mod:`bnsearch.analysis.forms`) the vocabulary holds surface forms: postings are by
    stem and each carries the OR of its occurrences' flags (``forms``). Returns the
    arrays (``terms`` as a sorted list of str, ``indptr``, ``docs``, ``tfs``, for text
    fields ``norms``, ``lens``, with positions ``pos``, ``posptr``, with stems
    ``forms``, with ``spans`` (each position's word start and end) the word span arrays
    of :mod:`.wordspans`) and statistics.
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
        sorted_terms, rank = _stem_ranks(stem_of)
        flags = np.array(flag_of, dtype=np.uint8)[ids]
    term = rank[ids] if len(ids) else ids
    if spans is not None:
        dropped = np.ones(len(raw_ids), dtype=bool)
        dropped[kept] = term < 0
        arrays_spans = wordspans.encode(spans[0], spans[1], dropped, lengths)
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
    indptr = np.searchsorted(posting_term, np.arange(len(sorted_terms) + 1), side="left").astype(
        np.int64
    )
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
        arrays.update(
            blockmax.block_maxima(
                indptr, arrays["docs"], arrays["tfs"], arrays["norms"], arrays.get("forms")
            )
        )
        if positions:
            max_pos = int(position.max()) if n else 0
            arrays["pos"] = position.astype(small_uint(max_pos))
            arrays["posptr"] = np.append(posting_start, n).astype(np.int64)[indptr]
        if spans is not None:
            arrays.update(arrays_spans)
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
