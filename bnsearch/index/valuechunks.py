"""The whitespace chunks of headline values, split once a process.

A multi-valued headline field (related headlines, anchors) lists other articles' titles:
a links build's segments each name most of the titles of the build (a 100k build's
segment about 60,000 of them), and the commit's anchor update names them again. A
segment's :class:`~bnsearch.index.builder.ChunkTable` numbers its chunks itself (the
numbers and term ids are the segment's), but what a value's chunks ARE does not depend
on the segment: this table keeps, per value seen in this process, its chunks as numbers
into one process-wide list of distinct chunks, so a segment maps a value to its own
chunk numbers with numpy (one array lookup a chunk) instead of splitting the value and
looking each chunk up in a dict.

The chunks' terms are the same for every segment too: per analyzer (by its identity),
:meth:`ValueChunks.entries` keeps each process chunk's entries as numbers into one
process-wide list of distinct terms (analyzed once a process), so a segment's table
gives the chunks new to it their term ids by one array map (process term -> its
vocabulary id) instead of looking every entry up in its vocabulary.

Bounded: past :data:`MAX_VALUES` values or :data:`MAX_CHUNKS` chunks the table starts
over, with a new :attr:`ValueChunks.generation` (a segment's table forgets what it
mapped from the old one, chunks and terms alike).
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Callable, Sequence
from itertools import chain, repeat

import attrs
import numpy as np
import numpy.typing as npt

from bnsearch.arrays import run_positions

#: Values (headlines) kept; past it the table starts over.
MAX_VALUES = 1 << 18
#: Distinct chunks kept; past it the table starts over.
MAX_CHUNKS = 1 << 20


#: A chunk's entries as an analyzer gives them (``Analyzer.chunk_terms``).
ChunkTermsOf = Callable[[Sequence[str]], list[tuple[str | None, ...]]]


@attrs.define(eq=False)
class _ChunkTerms:
    """One analyzer's entries of the process's chunks (a prefix of them: ``learned``),
    as numbers into :attr:`terms` (distinct terms, first-seen order; ``-1`` for a
    dropped word)."""

    terms: list[str] = attrs.field(factory=list)
    learned: int = 0
    _number: dict[str | None, int] = attrs.field(factory=lambda: {None: -1})
    _ptr: array[int] = attrs.field(factory=lambda: array("q", [0]))
    _flat: array[int] = attrs.field(factory=lambda: array("i"))

    def learn(self, chunks: Sequence[str], chunk_terms: ChunkTermsOf) -> None:
        """Analyze the next ``chunks`` (the process's chunks after :attr:`learned`)."""
        entries = chunk_terms(chunks)
        flat = list(chain.from_iterable(entries))
        number = self._number
        new = [term for term in dict.fromkeys(flat) if term not in number]
        number.update(zip(new, range(len(self.terms), len(self.terms) + len(new)), strict=True))
        self.terms.extend(new)  # type: ignore[arg-type]  # (None is never new)
        ids = np.fromiter(map(number.__getitem__, flat), dtype=np.int32, count=len(flat))
        self._flat.frombytes(ids.tobytes())
        sizes = np.fromiter(map(len, entries), dtype=np.int64, count=len(entries))
        self._ptr.frombytes((np.cumsum(sizes) + self._ptr[-1]).tobytes())
        self.learned += len(chunks)

    def of(
        self, chunk_ids: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32]]:
        """(entries a chunk, the entries one after the other) of learned chunks."""
        ptr = np.frombuffer(self._ptr, dtype=np.int64)
        first = ptr[chunk_ids]
        sizes = ptr[chunk_ids + 1] - first
        flat = np.frombuffer(self._flat, dtype=np.int32)[run_positions(first, sizes)]
        return sizes, flat


@attrs.define(eq=False)
class ValueChunks:
    """value -> its whitespace chunks (``value.split()``), as numbers into
    :attr:`chunks` (the distinct chunks, in first-seen order)."""

    generation: int = 0
    chunks: list[str] = attrs.field(factory=list)
    _chunk_no: dict[str, int] = attrs.field(factory=dict)
    _value_no: dict[str, int] = attrs.field(factory=dict)
    _ptr: array[int] = attrs.field(factory=lambda: array("q", [0]))
    _flat: array[int] = attrs.field(factory=lambda: array("i"))
    _lock: threading.Lock = attrs.field(factory=threading.Lock)
    # analyzer identity -> the process chunks' entries under it (this generation)
    _terms: dict[str, _ChunkTerms] = attrs.field(factory=dict)

    def split(
        self, values: Sequence[str]
    ) -> tuple[int, npt.NDArray[np.int32], npt.NDArray[np.int64], list[str]]:
        """``(generation, chunk numbers of the values one after the other, chunks a
        value, chunks)``: ``chunks`` is :attr:`chunks` of that generation (a
        snapshot safe to index with the numbers returned)."""
        with self._lock:
            # one dict lookup a value when every value is known (a build's usual call)
            which = np.fromiter(
                map(self._value_no.get, values, repeat(-1)), dtype=np.int64, count=len(values)
            )
            unknown = np.flatnonzero(which < 0)
            if len(unknown):
                missing = list(dict.fromkeys(map(values.__getitem__, unknown.tolist())))
                if len(self._value_no) + len(missing) > MAX_VALUES or len(self.chunks) > MAX_CHUNKS:
                    self._start_over()
                    missing = list(dict.fromkeys(values))
                    unknown = np.arange(len(values))
                self._learn(missing)
                which[unknown] = np.fromiter(
                    map(self._value_no.__getitem__, map(values.__getitem__, unknown.tolist())),
                    dtype=np.int64,
                    count=len(unknown),
                )
            ptr = np.frombuffer(self._ptr, dtype=np.int64)
            first = ptr[which]
            sizes = ptr[which + 1] - first
            flat = np.frombuffer(self._flat, dtype=np.int32)[run_positions(first, sizes)]
            del ptr  # a view: the array grows at the next call
            return self.generation, flat, sizes, self.chunks

    def entries(
        self,
        generation: int,
        chunk_ids: npt.NDArray[np.int64],
        analyzer: str,
        chunk_terms: ChunkTermsOf,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], list[str]] | None:
        """The entries of chunks ``chunk_ids`` (numbers into :attr:`chunks` of
        ``generation``) under the analyzer of identity ``analyzer`` (whose
        ``chunk_terms`` analyzes the chunks not seen under it before, all the chunks
        the process holds past those, in one call): ``(entries a chunk, the entries one
        after the other as term numbers, -1 a dropped word; the terms)``, the terms a
        snapshot safe to index with those numbers. ``None`` when the table started over
        since ``generation``."""
        with self._lock:
            if generation != self.generation:
                return None
            table = self._terms.get(analyzer)
            if table is None:
                table = self._terms[analyzer] = _ChunkTerms()
            if table.learned < len(self.chunks):
                table.learn(self.chunks[table.learned :], chunk_terms)
            sizes, flat = table.of(chunk_ids)
            return sizes, flat, table.terms

    def _learn(self, missing: list[str]) -> None:
        chunked = [value.split() for value in missing]
        chunk_no = self._chunk_no
        new = [c for c in dict.fromkeys(chain.from_iterable(chunked)) if c not in chunk_no]
        chunk_no.update(zip(new, range(len(self.chunks), len(self.chunks) + len(new)), strict=True))
        self.chunks.extend(new)
        numbers = np.fromiter(
            map(chunk_no.__getitem__, chain.from_iterable(chunked)), dtype=np.int32
        )
        self._flat.frombytes(numbers.tobytes())
        sizes = np.fromiter(map(len, chunked), dtype=np.int64, count=len(chunked))
        self._ptr.frombytes((np.cumsum(sizes) + self._ptr[-1]).tobytes())
        start = len(self._value_no)
        self._value_no.update(zip(missing, range(start, start + len(missing)), strict=True))

    def _start_over(self) -> None:
        self.generation += 1
        self.chunks = []  # a new list: snapshots handed out stay valid
        self._chunk_no = {}
        self._value_no = {}
        self._ptr = array("q", [0])
        self._flat = array("i")
        self._terms = {}


#: The process's table (every segment's headline fields read it).
VALUE_CHUNKS = ValueChunks()
