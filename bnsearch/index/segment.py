"""One immutable segment: writing its folder of ``.npy`` arrays, and reading it mmapped.

Layout of ``seg-NNNNNN/`` (every file is a plain ``.npy`` array; strings are UTF-8 blobs
with byte offsets, ``<stem>.blob.npy`` + ``<stem>.off.npy``; every offset or pointer array
is uint32 when its values fit, else int64; see docs/index-format.md):

* per field ``F``: ``fld.F.terms`` (sorted terms, string table), ``fld.F.indptr.npy``
  (postings of term ``t`` are ``[indptr[t], indptr[t+1])``), ``fld.F.docs.npy`` (doc
  ids, ascending per term: uint16 in a segment of at most 65,536 docs, else int32),
  ``fld.F.tfs.npy`` (uint8/16/32), and for a stemmed field ``fld.F.forms.npy`` (uint8
  form flags per posting, see :mod:`bnsearch.analysis.forms`);
  text fields add ``fld.F.norms.npy`` (uint8 length codes), ``fld.F.lens.npy`` (uint32
  exact lengths), and with positions ``fld.F.pos.npy`` (uint8/16/32, grouped by posting)
  and ``fld.F.posptr.npy`` (the first position of term ``t``); keyword fields add
  ``fld.F.facet.npy`` (int32 term id of each doc's full value, -1 if none);
* ``strings.ids``, ``strings.titlekeys``, ``strings.urls``: one entry per doc;
* ``doc.published.npy``: int64 publication time per doc, seconds since the Unix epoch
  (UTC), :data:`NO_DATE` when the article has none (absent in segments written before
  it existed: read as all :data:`NO_DATE`);
* ``links.src.npy`` (int32 source doc per edge) and ``strings.links.key/url/tid``;
* ``store.bin.npy`` (uint8, zlib blocks of JSON rows, see :mod:`.store`) and ``store.idx.npy``;
* deletions live outside the immutable set: ``del-GGGGGG.npy`` (sorted int32 doc ids
  deleted as of generation G), named by the manifest.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from bnsearch.errors import IndexFormatError, SchemaError
from bnsearch.index import faults
from bnsearch.index.directory import Directory, FileInfo
from bnsearch.index.manifest import SegmentEntry
from bnsearch.index.schema import TEXT, Schema
from bnsearch.index.store import StoreReader, StoreWriter

Array = npt.NDArray[Any]

#: ``SegmentReader.published()`` value of a doc whose article has no publication date.
NO_DATE: int = int(np.iinfo(np.int64).min)
PUBLISHED_FILE = "doc.published.npy"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def epoch_seconds(published: dt.datetime | None) -> int:
    """``published`` as whole seconds since 1970-01-01 UTC (floored), :data:`NO_DATE`
    for ``None``. A naive datetime is taken as UTC."""
    if published is None:
        return NO_DATE
    if published.tzinfo is None or published.utcoffset() is None:
        published = published.replace(tzinfo=dt.timezone.utc)
    delta = published - _EPOCH
    return delta.days * 86_400 + delta.seconds


def compact_offsets(offsets: Array) -> Array:
    """Offsets as uint32 when they fit (they are non-negative and ascending), else int64."""
    if len(offsets) == 0 or int(offsets[-1]) < 2**32:
        return np.asarray(offsets).astype(np.uint32)
    return np.asarray(offsets).astype(np.int64)


def encode_strings(values: Sequence[str]) -> tuple[npt.NDArray[np.uint8], Array]:
    """A string table: the UTF-8 blob and ``len + 1`` byte offsets."""
    joined = "\x00".join(values)
    if values and joined.count("\x00") == len(values) - 1:
        # no value holds a NUL: one encode for all, the separators give the offsets
        data = np.frombuffer(joined.encode("utf-8"), dtype=np.uint8)
        cuts = np.flatnonzero(data == 0)
        offsets = np.empty(len(values) + 1, dtype=np.int64)
        offsets[0] = 0
        offsets[1:-1] = cuts - np.arange(len(cuts))
        offsets[-1] = len(data) - len(cuts)
        return np.delete(data, cuts) if len(cuts) else data, compact_offsets(offsets)
    encoded = [value.encode("utf-8") for value in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    if encoded:
        np.cumsum([len(item) for item in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), compact_offsets(offsets)


def decode_strings(blob: Array, offsets: Array) -> list[str]:
    """All strings of a string table.

    Where no string holds a NUL (the usual case), NULs are put between the strings and
    the table is decoded and split in one C call each, instead of one decode a string:
    a search's first use of a 150,000-term dictionary took 60 ms the slow way.
    """
    count = len(offsets) - 1
    if count <= 0:
        return []
    first, last = int(offsets[0]), int(offsets[-1])
    data = np.asarray(blob[first:last], dtype=np.uint8)
    if count > 1 and not (data == 0).any():
        cuts = np.asarray(offsets[1:-1], dtype=np.int64) - first
        return np.insert(data, cuts, 0).tobytes().decode("utf-8").split("\x00")
    raw = blob.tobytes()
    bounds = offsets.tolist()
    return [raw[start:end].decode("utf-8") for start, end in itertools.pairwise(bounds)]


def write_segment(directory: Directory, name: str, built: dict[str, Any]) -> dict[str, FileInfo]:
    """Write the arrays of a built segment under ``name/``; returns the files written."""
    files: dict[str, FileInfo] = {}
    arrays: dict[str, Any] = built["arrays"]
    for stem, value in arrays.items():
        if stem == "store":
            store: StoreWriter = value
            data, index = store.finish()
            files[f"{name}/store.bin.npy"] = directory.save_array(
                f"{name}/store.bin.npy", np.frombuffer(data, dtype=np.uint8)
            )
            files[f"{name}/store.idx.npy"] = directory.save_array(f"{name}/store.idx.npy", index)
        elif isinstance(value, list):
            blob, offsets = encode_strings(value)
            for suffix, part in (("blob", blob), ("off", offsets)):
                target = f"{name}/{stem}.{suffix}.npy"
                files[target] = directory.save_array(target, part)
        else:
            if stem.endswith((".indptr", ".posptr")):
                value = compact_offsets(value)
            files[f"{name}/{stem}.npy"] = directory.save_array(f"{name}/{stem}.npy", value)
    faults.crash_point("segment-written")
    return files


class _FieldArrays:
    """The mmapped arrays of one field of one segment."""

    def __init__(
        self, load: Any, prefix: str, text: bool, positions: bool, has_forms: bool
    ) -> None:
        self.blob: Array = load(f"{prefix}.terms.blob.npy")
        self.off: Array = load(f"{prefix}.terms.off.npy")
        self.indptr: Array = load(f"{prefix}.indptr.npy")
        self.docs: Array = load(f"{prefix}.docs.npy")
        self.tfs: Array = load(f"{prefix}.tfs.npy")
        self.norms: Array | None = load(f"{prefix}.norms.npy") if text else None
        self.lens: Array | None = load(f"{prefix}.lens.npy") if text else None
        self.pos: Array | None = load(f"{prefix}.pos.npy") if text and positions else None
        self.posptr: Array | None = load(f"{prefix}.posptr.npy") if text and positions else None
        self.facet: Array | None = None if text else load(f"{prefix}.facet.npy")
        self.forms: Array | None = load(f"{prefix}.forms.npy") if has_forms else None
        self.terms: list[str] | None = None


class SegmentReader:
    """Read access to one segment at one generation (its deletions fixed).

    Every array is memory-mapped (no copy) on a filesystem index; postings are
    zero-copy slices. All arrays are opened in the constructor, so a later merge that
    removes the files cannot pull them from under a reader.
    """

    def __init__(
        self, directory: Directory, entry: SegmentEntry, schema: Schema, *, ordinal: int = 0
    ) -> None:
        self.name = entry.name
        self.entry = entry
        self.ordinal = ordinal
        self.schema = schema
        self.max_doc = entry.max_doc
        where = directory.describe(entry.name)
        self._where = where

        def load(stem: str) -> Array:
            try:
                return directory.load_array(f"{entry.name}/{stem}")
            except FileNotFoundError:
                raise IndexFormatError(
                    f"{directory.describe(entry.name + '/' + stem)}: file missing "
                    "(the index is damaged; run bnsearch verify)"
                ) from None

        for file_name, info in entry.files.items():
            try:
                size = directory.size(file_name)
            except FileNotFoundError:
                raise IndexFormatError(
                    f"{directory.describe(file_name)}: file missing "
                    "(the index is damaged; run bnsearch verify)"
                ) from None
            if size != info.size:
                raise IndexFormatError(
                    f"{directory.describe(file_name)}: {size} bytes, the manifest says "
                    f"{info.size} (the file is damaged or was changed; run bnsearch verify)"
                )
        self._fields: dict[str, _FieldArrays] = {
            spec.name: _FieldArrays(
                load,
                f"fld.{spec.name}",
                spec.kind == TEXT,
                spec.positions,
                f"{entry.name}/fld.{spec.name}.forms.npy" in entry.files,
            )
            for spec in schema.fields
        }
        self._ids_blob, self._ids_off = load("strings.ids.blob.npy"), load("strings.ids.off.npy")
        self._keys = (load("strings.titlekeys.blob.npy"), load("strings.titlekeys.off.npy"))
        self._urls = (load("strings.urls.blob.npy"), load("strings.urls.off.npy"))
        self._published: Array | None = (
            load(PUBLISHED_FILE) if f"{entry.name}/{PUBLISHED_FILE}" in entry.files else None
        )
        self.link_src: Array = load("links.src.npy")
        self._link_tables = {
            part: (load(f"strings.links.{part}.blob.npy"), load(f"strings.links.{part}.off.npy"))
            for part in ("key", "url", "tid")
        }
        self._store = StoreReader(load("store.bin.npy"), load("store.idx.npy"), where=where)
        self.live: npt.NDArray[np.bool_] = np.ones(self.max_doc, dtype=bool)
        if entry.deletes is not None:
            try:
                deleted = directory.load_array(entry.deletes)
            except FileNotFoundError:
                raise IndexFormatError(
                    f"{directory.describe(entry.deletes)}: deletions file missing"
                ) from None
            if len(deleted) and (int(deleted.max()) >= self.max_doc or int(deleted.min()) < 0):
                raise IndexFormatError(f"{directory.describe(entry.deletes)}: doc id out of range")
            self.live[np.asarray(deleted, dtype=np.int64)] = False
        self.live.setflags(write=False)
        self.del_count = int(self.max_doc - np.count_nonzero(self.live))
        if self.del_count != entry.del_count:
            raise IndexFormatError(
                f"{where}: manifest says {entry.del_count} deletions, file has {self.del_count}"
            )
        if len(self._ids_off) != self.max_doc + 1:
            raise IndexFormatError(f"{where}: {len(self._ids_off) - 1} ids for {self.max_doc} docs")
        if self._published is not None and (
            len(self._published) != self.max_doc or self._published.dtype != np.int64
        ):
            raise IndexFormatError(
                f"{where}: {len(self._published)} publication dates ({self._published.dtype}) "
                f"for {self.max_doc} docs (int64 expected)"
            )
        self._id_map: dict[str, int] | None = None
        self._ids: list[str] | None = None
        self._edges: EdgeTable | None = None

    # -- fields ------------------------------------------------------------------------
    def _field(self, field: str) -> _FieldArrays:
        try:
            return self._fields[field]
        except KeyError:
            raise SchemaError(f"unknown field {field!r}; fields are {self.schema.names}") from None

    def terms(self, field: str) -> list[str]:
        """The field's terms, sorted (decoded once, then cached)."""
        arrays = self._field(field)
        if arrays.terms is None:
            arrays.terms = decode_strings(arrays.blob, arrays.off)
        return arrays.terms

    def term_id(self, field: str, term: str) -> int:
        """The term's ordinal in :meth:`terms`, or -1."""
        terms = self.terms(field)
        index = bisect.bisect_left(terms, term)
        return index if index < len(terms) and terms[index] == term else -1

    def terms_with_prefix(self, field: str, prefix: str) -> list[str]:
        """Terms of the field that start with ``prefix``, sorted."""
        terms = self.terms(field)
        low = bisect.bisect_left(terms, prefix)
        high = bisect.bisect_left(terms, prefix + "\U0010ffff")
        return [term for term in terms[low:high] if term.startswith(prefix)]

    def postings(self, field: str, term: str) -> tuple[Array, Array] | None:
        """``(doc_ids, tfs)`` of the term (deleted docs included), or ``None``."""
        found = self.located_postings(field, term)
        return None if found is None else (found[0], found[1])

    def located_postings(self, field: str, term: str) -> tuple[Array, Array, int] | None:
        """``(doc_ids, tfs, start)``: :meth:`postings` and the index of the term's first
        posting in the field's posting arrays (doc ids, tfs, :meth:`forms`); or ``None``."""
        ident = self.term_id(field, term)
        return None if ident < 0 else self._posting_slice(field, ident)

    def postings_by_id(self, field: str, ident: int) -> tuple[Array, Array]:
        """Postings of term number ``ident`` (zero-copy slices)."""
        docs, tfs, _ = self._posting_slice(field, ident)
        return docs, tfs

    def _posting_slice(self, field: str, ident: int) -> tuple[Array, Array, int]:
        arrays = self._field(field)
        start, end = int(arrays.indptr[ident]), int(arrays.indptr[ident + 1])
        return arrays.docs[start:end], arrays.tfs[start:end], start

    def forms(self, field: str) -> npt.NDArray[np.uint8] | None:
        """Per posting (aligned with the field's doc ids), the OR of its occurrences' form
        flags (:mod:`bnsearch.analysis.forms`); ``None`` where the field keeps none."""
        return self._field(field).forms

    def positions(self, field: str, term: str) -> tuple[Array, Array] | None:
        """``(offsets, positions)``: posting ``j``'s positions are
        ``positions[offsets[j]:offsets[j + 1]]`` (in the order of :meth:`postings`)."""
        found = self.term_positions(field, term)
        if found is None:
            return None
        _, offsets, positions = found
        first = int(offsets[0])
        return offsets - first, positions[first : int(offsets[-1])]

    def term_positions(self, field: str, term: str) -> tuple[Array, Array, Array] | None:
        """``(doc_ids, offsets, positions)`` with ``positions`` the field's whole position
        array (no slicing): posting ``j``'s positions are
        ``positions[offsets[j]:offsets[j + 1]]``. Lets a caller gather the positions of
        several terms with one index."""
        arrays = self._field(field)
        if arrays.pos is None or arrays.posptr is None:
            raise SchemaError(f"field {field!r} has no positions")
        ident = self.term_id(field, term)
        if ident < 0:
            return None
        start, end = int(arrays.indptr[ident]), int(arrays.indptr[ident + 1])
        offsets = np.empty(end - start + 1, dtype=np.int64)
        offsets[0] = int(arrays.posptr[ident])
        np.cumsum(arrays.tfs[start:end], out=offsets[1:])
        offsets[1:] += offsets[0]
        return arrays.docs[start:end], offsets, arrays.pos

    def term_doc_freqs(self, field: str) -> npt.NDArray[np.int64]:
        """Postings length of every term in :meth:`terms` order (deleted docs included)."""
        indptr = np.asarray(self._field(field).indptr, dtype=np.int64)
        counts: npt.NDArray[np.int64] = indptr[1:] - indptr[:-1]
        return counts

    def doc_freq(self, field: str, term: str) -> int:
        """Live documents containing the term."""
        found = self.postings(field, term)
        if found is None:
            return 0
        docs = found[0]
        return len(docs) if self.del_count == 0 else int(np.count_nonzero(self.live[docs]))

    def norms(self, field: str) -> npt.NDArray[np.uint8]:
        """One length code per doc (decode with :data:`~bnsearch.index.norms.NORM_DECODE`)."""
        arrays = self._field(field)
        if arrays.norms is None:
            raise SchemaError(f"field {field!r} is a keyword field and has no norms")
        return arrays.norms

    def field_lengths(self, field: str) -> npt.NDArray[np.uint32]:
        """Exact number of terms per doc in a text field."""
        arrays = self._field(field)
        if arrays.lens is None:
            raise SchemaError(f"field {field!r} is a keyword field and has no lengths")
        return arrays.lens

    def field_length_sum(self, field: str) -> int:
        """Sum of the field's lengths over live docs."""
        lens = self.field_lengths(field)
        if self.del_count == 0:
            return int(lens.sum(dtype=np.int64))
        return int(lens[self.live].sum(dtype=np.int64))

    def facet(self, field: str) -> tuple[list[str], npt.NDArray[np.int32]]:
        """``(values, ords)`` of a keyword field: ``values[ords[doc]]`` is the doc's full
        value (the whole section path), ``ords[doc] == -1`` when it has none."""
        arrays = self._field(field)
        if arrays.facet is None:
            raise SchemaError(f"field {field!r} is a text field; facets need a keyword field")
        return self.terms(field), arrays.facet

    # -- documents ---------------------------------------------------------------------
    @property
    def live_count(self) -> int:
        return self.max_doc - self.del_count

    def article_ids(self) -> list[str]:
        """Article id of every doc (decoded once)."""
        if self._ids is None:
            self._ids = decode_strings(self._ids_blob, self._ids_off)
        return self._ids

    def article_id(self, doc: int) -> str:
        start, end = int(self._ids_off[doc]), int(self._ids_off[doc + 1])
        return self._ids_blob[start:end].tobytes().decode("utf-8")

    def published(self) -> npt.NDArray[np.int64]:
        """Publication time of every doc (deleted docs included): int64 seconds since the
        Unix epoch, UTC (a naive ``Article.published`` was taken as UTC), :data:`NO_DATE`
        where the article has none. Mmapped; a segment written before dates were
        recorded reads as all :data:`NO_DATE`."""
        if self._published is None:
            missing = np.full(self.max_doc, NO_DATE, dtype=np.int64)
            missing.setflags(write=False)
            self._published = missing
        return self._published

    def find(self, article_id: str) -> int | None:
        """Local doc of a live article with this id, or ``None``."""
        if self._id_map is None:
            self._id_map = {ident: doc for doc, ident in enumerate(self.article_ids())}
        doc = self._id_map.get(article_id)
        if doc is None or not self.live[doc]:
            return None
        return doc

    def stored(self, doc: int) -> dict[str, Any]:
        """The stored row of ``doc``: the original article text and metadata."""
        return self._store.row(doc)

    def related_headlines(self, doc: int) -> list[str]:
        """The headlines of ``doc``'s related links, in page order (link numbers)."""
        return self._store.related_headlines(doc)

    def copy_stored(self, target: StoreWriter) -> None:
        """Append the live docs' stored rows to ``target`` (for merges)."""
        self._store.copy_live(target, self.live)

    def iter_stored(self) -> Any:
        """Every stored row in doc order (shared objects: read only)."""
        return self._store.iter_rows()

    def section(self, doc: int) -> tuple[str, ...]:
        """The section path of ``doc`` as written in the article."""
        return tuple(self.stored(doc)["section"])

    def title_key_of(self, doc: int) -> str:
        """The title key of one doc (see :func:`bnsearch.index.links.title_key`)."""
        blob, offsets = self._keys
        return blob[int(offsets[doc]) : int(offsets[doc + 1])].tobytes().decode("utf-8")

    def url_of(self, doc: int) -> str:
        """The URL of one doc as given (``""`` when none)."""
        blob, offsets = self._urls
        return blob[int(offsets[doc]) : int(offsets[doc + 1])].tobytes().decode("utf-8")

    def title_keys(self) -> list[str]:
        return decode_strings(*self._keys)

    def urls(self) -> list[str]:
        return decode_strings(*self._urls)

    def link_table(self, part: str) -> list[str]:
        """Per edge: ``"key"`` (headline key), ``"url"`` or ``"tid"`` (target id), ``""``
        when absent."""
        return decode_strings(*self._link_tables[part])

    # -- link edges (the lookups by key live in bnsearch.index.links) ---------------------
    def edges(self) -> EdgeTable:
        """The segment's link edges as lists (built on first use, cached)."""
        if self._edges is None:
            self._edges = EdgeTable(
                src=self.link_src.tolist(),
                key=self.link_table("key"),
                url=self.link_table("url"),
                tid=self.link_table("tid"),
            )
        return self._edges


class EdgeTable:
    """Edges of one segment as Python lists, with each edge's link number."""

    def __init__(self, *, src: list[int], key: list[str], url: list[str], tid: list[str]) -> None:
        self.src, self.key, self.url, self.tid = src, key, url, tid
        self.link_no: list[int] = []
        previous, count = -1, 0
        for source in src:
            count = count + 1 if source == previous else 0
            previous = source
            self.link_no.append(count)

    def of_source(self, doc: int) -> list[int]:
        """Edges whose source is ``doc`` (edges are stored grouped by source)."""
        low = bisect.bisect_left(self.src, doc)
        high = bisect.bisect_right(self.src, doc)
        return list(range(low, high))
