"""One immutable segment: writing it as one compound file, and reading it mapped once.

Since format 3 a segment is ``seg-NNNNNN.cfs`` (see :mod:`.compound`: one file, one
memory map, one file descriptor while open) plus, when some of its docs are deleted,
``seg-NNNNNN.del-GGGGGG.npy``. Its arrays, by stem (strings are UTF-8 string tables,
``<stem>.blob`` + ``<stem>.off``; every offset or pointer array is uint32 when its values
fit, else int64; see docs/index-format.md):

* per field ``F``: ``fld.F.terms`` (sorted terms, string table), ``fld.F.indptr``
  (postings of term ``t`` are ``[indptr[t], indptr[t+1])``), ``fld.F.docs`` (doc
  ids, ascending per term: uint16 in a segment of at most 65,536 docs, else int32),
  ``fld.F.tfs`` (uint8/16/32), and for a stemmed field ``fld.F.forms`` (uint8
  form flags per posting, see :mod:`bnsearch.analysis.forms`);
  text fields add ``fld.F.norms`` (uint8 length codes), ``fld.F.lens`` (uint32
  exact lengths), and with positions ``fld.F.pos`` (uint8/16/32, grouped by posting)
  and ``fld.F.posptr`` (the first position of term ``t``); keyword fields add
  ``fld.F.facet`` (int32 term id of each doc's full value, -1 if none);
* ``strings.ids``, ``strings.titlekeys``, ``strings.urls``: one entry per doc;
* ``doc.published``: int64 publication time per doc, seconds since the Unix epoch
  (UTC), :data:`NO_DATE` when the article has none (absent in segments written before
  it existed: read as all :data:`NO_DATE`);
* ``links.src`` (int32 source doc per edge) and ``strings.links.key/url/tid``, and
  ``strings.links.headline`` (each link's headline, so the anchors of a target need no
  stored row read; absent in older segments: read from the stored rows);
* ``links.map.M.hash`` / ``links.map.M.items``: the link key maps (:mod:`.linkmaps`;
  absent in older segments: built in memory from the string tables);
* ``store.bin`` (uint8, zlib blocks of rows, see :mod:`.store`) and ``store.idx``.

A format 1-2 segment is a folder ``seg-NNNNNN/`` holding each array as ``<stem>.npy``
(and its deletion files); it is still read, and merged into compound segments.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import itertools
import zlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from bnsearch.arrays import run_positions
from bnsearch.compiled import optional_module
from bnsearch.errors import IndexFormatError, SchemaError
from bnsearch.index import compound, faults, wordspans
from bnsearch.index.anchordelta import DeltaField
from bnsearch.index.directory import Directory, FileInfo
from bnsearch.index.manifest import SegmentEntry
from bnsearch.index.schema import TEXT, FieldSpec, Schema
from bnsearch.index.store import StoreReader, StoreWriter

if TYPE_CHECKING:
    from bnsearch.index.anchorfile import AnchorUpdate

Array = npt.NDArray[Any]
#: ``SegmentReader.published()`` value of a doc whose article has no publication date.
NO_DATE: int = int(np.iinfo(np.int64).min)
PUBLISHED_STEM = "doc.published"
#: Per link edge, its headline (absent in segments written before it existed).
LINK_HEADLINES = "strings.links.headline"
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
        return np.asarray(offsets).astype(np.uint32, copy=False)
    return np.asarray(offsets).astype(np.int64)


def _blob_of(size: int) -> npt.NDArray[np.uint8]:
    return np.empty(size, dtype=np.uint8)


def _offsets_of(count: int, size: int) -> Array:
    """A string table's new offsets array: uint32 when ``size`` fits, as
    :func:`compact_offsets` makes them."""
    return np.empty(count + 1, dtype=np.uint32 if size < 2**32 else np.int64)


#: The compiled string-table encoder (``_rows.pyx``'s ``string_table``): each string's
#: UTF-8 written once into one array of the table's size, where the Python encoder below
#: (the reference) makes three buffers of it (the joined text, its UTF-8 bytes, their
#: NUL-less copy): a links segment's key and headline tables were most of the fresh
#: memory a links build's segment files touched (docs/benchmarks.md, 12at, 12aw).
_ROWS = optional_module("bnsearch.index._rows")


def encode_strings(values: Sequence[str]) -> tuple[npt.NDArray[np.uint8], Array]:
    """A string table: the UTF-8 blob and ``len + 1`` byte offsets (uint32 where they
    fit, else int64). The same bytes on both paths (a value that is not a str or holds a
    surrogate is left to the Python encoder, which raises)."""
    if _ROWS is not None:
        found = _ROWS.string_table(values, _blob_of, _offsets_of)
        if found is not None:
            return found  # type: ignore[no-any-return]
    return _encode_strings(values)


def _encode_strings(values: Sequence[str]) -> tuple[npt.NDArray[np.uint8], Array]:
    """:func:`encode_strings` in Python (the reference)."""
    joined = "\x00".join(values)
    if values and joined.count("\x00") == len(values) - 1:
        # no value holds a NUL: one encode for all, the separators give the offsets and
        # are dropped by bytes.replace (np.delete made a mask and a gathered copy: a
        # 100k links build's headline and key tables, 1.2M strings, 0.45-0.49 CPU-s
        # against 0.64-0.80)
        raw = joined.encode("utf-8")
        data = np.frombuffer(raw, dtype=np.uint8)
        cuts = np.flatnonzero(data == 0)
        offsets = np.empty(len(values) + 1, dtype=np.int64)
        offsets[0] = 0
        offsets[1:-1] = cuts - np.arange(len(cuts))
        offsets[-1] = len(data) - len(cuts)
        if len(cuts):
            data = np.frombuffer(raw.replace(b"\x00", b""), dtype=np.uint8)
        return data, compact_offsets(offsets)
    encoded = [value.encode("utf-8") for value in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    if encoded:
        np.cumsum([len(item) for item in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), compact_offsets(offsets)


def encode_string_tables(
    tables: Sequence[Sequence[str]],
) -> list[tuple[npt.NDArray[np.uint8], Array]]:
    """:func:`encode_strings` of each of ``tables``, from ONE encode of all their strings
    cut per table (each table's blob a slice, its offsets rebased): the same bytes and
    dtypes as one encode a table, for many small tables (a commit's anchor updates)
    without a fixed cost each."""
    blob, offsets = encode_strings([value for table in tables for value in table])
    starts = np.asarray(offsets, dtype=np.int64)
    found = []
    first = 0
    for table in tables:
        end = first + len(table)
        own = starts[first : end + 1]
        base = int(own[0])
        found.append((blob[base : int(own[-1])], compact_offsets(own - base)))
        first = end
    return found


def decode_strings(blob: Array, offsets: Array, where: str = "string table") -> list[str]:
    """All strings of a string table (:class:`IndexFormatError` if not UTF-8).

    Where no string holds a NUL (the usual case), NULs are put between the strings and
    the table is decoded and split in one C call each, instead of one decode a string:
    a search's first use of a 150,000-term dictionary took 60 ms the slow way.
    """
    try:
        return _decode_strings(blob, offsets)
    except UnicodeDecodeError as error:
        raise IndexFormatError(f"{where}: not valid UTF-8 ({error}); run bnsearch verify") from None


def decode_one(blob: Array, start: int, end: int, where: str) -> str:
    """One string of a string table (:class:`IndexFormatError` if not UTF-8)."""
    try:
        return blob[start:end].tobytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise IndexFormatError(f"{where}: not valid UTF-8 ({error}); run bnsearch verify") from None


def _decode_strings(blob: Array, offsets: Array) -> list[str]:
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


def compound_name(name: str) -> str:
    """The compound file of segment ``name`` (format 3)."""
    return name + compound.SUFFIX


def deletes_name(name: str, generation: int) -> str:
    """The deletions file of segment ``name`` as of ``generation``."""
    return f"{name}.del-{generation:06d}.npy"


def is_segment_file(segment: str, file_name: str) -> bool:
    """True if ``file_name`` belongs to segment ``segment`` (its compound file, its
    deletions, or, format 1-2, a file in its folder)."""
    return file_name.startswith((segment + ".", segment + "/"))


def write_segment(directory: Directory, name: str, built: dict[str, Any]) -> dict[str, FileInfo]:
    """Write a built segment as one compound file; returns the files written.

    The one way arrays reach a segment: ``built["arrays"]`` maps a stem to an array, a
    list of strings (stored as a string table ``<stem>.blob`` + ``<stem>.off``) or, for
    ``"store"``, the :class:`StoreWriter` (``store.bin`` + ``store.idx``). Readers get
    them back with :meth:`SegmentReader.array` (and :meth:`SegmentReader.has_array`).
    """
    arrays = stored_arrays(built["arrays"])
    target = compound_name(name)
    files = {target: directory.write_parts(target, compound.encode(arrays))}
    faults.crash_point("segment-written")
    return files


#: How the stems of pointer arrays end: stored compacted (:func:`compact_offsets`).
POINTER_STEMS = (".indptr", ".posptr", ".spanptr")


#: String tables put aside by :func:`stored_arrays`: ``(arrays, stem, strings)``, their
#: ``.blob`` and ``.off`` places kept in the arrays' order, to encode together.
DeferredTables = list[tuple[dict[str, Any], str, list[str]]]


def stored_arrays(
    built: Mapping[str, Any], deferred: DeferredTables | None = None
) -> dict[str, Array]:
    """The arrays :func:`write_segment` stores for ``built`` (stem -> array, list of
    strings or, for ``"store"``, the :class:`StoreWriter`), by stem, as a reader gets
    them back: string tables encoded, pointer arrays compacted. Arrays already so
    (this function's output) come back equal. ``deferred``: string tables are put
    there instead of encoded (their places held by None), for the caller to encode
    with others' (:func:`encode_string_tables`: a commit's anchor updates, one encode
    cut for all) and set (:func:`set_deferred_tables`)."""
    arrays: dict[str, Any] = {}  # (Any: a deferred table's places hold None a while)
    for stem, value in built.items():
        if stem == "store":
            store: StoreWriter = value
            data, index = store.finish()
            arrays["store.bin"] = np.frombuffer(data, dtype=np.uint8)
            arrays["store.idx"] = index
        elif isinstance(value, list):
            if deferred is None:
                arrays[f"{stem}.blob"], arrays[f"{stem}.off"] = encode_strings(value)
            else:
                arrays[f"{stem}.blob"] = arrays[f"{stem}.off"] = None  # (its place)
                deferred.append((arrays, stem, value))
        elif stem.endswith(POINTER_STEMS):
            arrays[stem] = compact_offsets(value)
        else:
            arrays[stem] = value
    return arrays


def set_deferred_tables(deferred: DeferredTables) -> None:
    """Encode the string tables :func:`stored_arrays` put aside (one encode cut for
    all, :func:`encode_string_tables`) and set each in its place."""
    tables = encode_string_tables([strings for _, _, strings in deferred])
    for (arrays, stem, _), (blob, offsets) in zip(deferred, tables, strict=True):
        arrays[f"{stem}.blob"], arrays[f"{stem}.off"] = blob, offsets


#: A compound file up to this size has every array's CRC-32 checked when it opens, and its
#: doc ids and frequencies range-checked (15 ms for BeliN's 10 MB segment, against 2 ms
#: for the small arrays only); larger ones have their per-doc and per-term arrays
#: checked, and their postings, positions and stored text only by ``verify`` (stored
#: blocks carry zlib's own checksum, so damage there is still caught when a block is read).
OPEN_FULL_CHECK_BYTES = 64 << 20


#: Arrays whose size grows with postings or text: their CRC-32 is checked by ``verify``
#: only (in a segment over :data:`OPEN_FULL_CHECK_BYTES`). Every other array (per doc, per
#: term, per link) is checked when a segment opens. The text of the links and anchors
#: (six headlines an article: at 100,000 articles 124 of the 167 MB an open checked) is
#: read through its offsets, which are checked, and a damaged byte there is at worst a
#: wrong headline or an :class:`IndexFormatError` (not UTF-8), like a damaged stored row.
_UNCHECKED_ON_OPEN = (
    ".docs",
    ".tfs",
    ".pos",
    ".forms",
    ".spans",
    "store.bin",
    "strings.links.key.blob",
    "strings.links.url.blob",
    "strings.links.tid.blob",
    f"{LINK_HEADLINES}.blob",
    "strings.anchors.blob",
)
#: Stem prefix of another segment's anchor update hosted in a compound file (see
#: :mod:`.anchorfile`): checked when that segment opens
#: (:func:`bnsearch.index.anchorfile.read_update`), not when the host does.
HOSTED_PREFIX = "anc."


def unchecked_on_open(stem: str, file_size: int) -> bool:
    """Whether opening a compound file of ``file_size`` bytes skips the CRC-32 of the
    array ``stem`` (see :data:`_UNCHECKED_ON_OPEN`)."""
    return file_size > OPEN_FULL_CHECK_BYTES and stem.endswith(_UNCHECKED_ON_OPEN)


class _Arrays:
    """The arrays of one segment by stem: views into its compound file, or (format 1-2)
    one memory-mapped ``.npy`` file each."""

    def __init__(self, directory: Directory, entry: SegmentEntry, *, check: bool) -> None:
        self.directory = directory
        self.entry = entry
        self.compound = compound_name(entry.name)
        self.where = directory.describe(self.compound)
        self.buffer: npt.NDArray[np.uint8] | None = None
        self.table: dict[str, compound.Entry] = {}
        if self.compound in entry.files:
            self.buffer = directory.map_file(self.compound)
            self.table = compound.read_table(self.buffer, self.where)
            if check:
                everything = len(self.buffer) <= OPEN_FULL_CHECK_BYTES
                for problem in self.crc_problems(everything=everything, hosted=False):
                    raise IndexFormatError(problem + " (run bnsearch verify)")
        else:
            self.where = directory.describe(entry.name)
            if check:
                for problem in self.legacy_crc_problems():
                    raise IndexFormatError(problem + " (run bnsearch verify)")

    def legacy_crc_problems(self) -> list[str]:
        """Format 1-2 files whose CRC-32 is not the manifest's (every file of a segment
        up to :data:`OPEN_FULL_CHECK_BYTES`, else the small ones)."""
        files = self.entry.files
        everything = sum(info.size for info in files.values()) <= OPEN_FULL_CHECK_BYTES
        problems = []
        for name, info in files.items():
            stem = name.rsplit("/", 1)[-1].removesuffix(".npy")
            if name == self.entry.deletes or (not everything and stem.endswith(_UNCHECKED_ON_OPEN)):
                continue
            if zlib.crc32(self.directory.read_bytes(name)) != info.crc32:
                problems.append(
                    f"{self.directory.describe(name)}: checksum mismatch (the file is damaged)"
                )
        return problems

    def opened(self) -> tuple[npt.NDArray[np.uint8], dict[str, compound.Entry]] | None:
        """The mapped compound file and its checked table (``None``: format 1-2)."""
        return None if self.buffer is None else (self.buffer, self.table)

    def size(self) -> int:
        """Bytes of the segment's own files (its deletions, and other segments' files
        hosting its anchor updates, aside)."""
        own = (self.entry.name + ".", self.entry.name + "/")
        files = self.entry.files.items()
        return sum(i.size for n, i in files if n != self.entry.deletes and n.startswith(own))

    def has(self, stem: str) -> bool:
        if self.buffer is not None:
            return stem in self.table
        return f"{self.entry.name}/{stem}.npy" in self.entry.files

    def load(self, stem: str) -> Array:
        if self.buffer is not None:
            item = self.table.get(stem)
            if item is None:
                raise IndexFormatError(f"{self.where}: array {stem!r} missing")
            return compound.view(self.buffer, item)
        name = f"{self.entry.name}/{stem}.npy"
        try:
            return self.directory.load_array(name)
        except FileNotFoundError:
            raise IndexFormatError(
                f"{self.directory.describe(name)}: file missing "
                "(the index is damaged; run bnsearch verify)"
            ) from None

    def crc_problems(self, *, everything: bool = True, hosted: bool = True) -> list[str]:
        """Arrays of the compound file whose bytes no longer match their CRC-32 (only
        the small ones unless ``everything``; other segments' anchor updates it hosts
        only if ``hosted``)."""
        if self.buffer is None:
            return []  # format 1-2 files: see legacy_crc_problems
        buffer = self.buffer
        return [
            f"{self.where}: array {stem!r} is damaged (checksum mismatch)"
            for stem, item in self.table.items()
            if (everything or not stem.endswith(_UNCHECKED_ON_OPEN))
            and (hosted or not stem.startswith(HOSTED_PREFIX))
            and not compound.check_crc(buffer, item)
        ]


#: :meth:`_FieldArrays.doc_postings` finds up to this many docs by comparing the
#: postings' doc ids with each (else by a mask over them) ...
FEW_DOCS = 16
#: ... in a field of up to this many postings; a larger one keeps its postings in doc
#: order (4 bytes a posting, and 8 a doc).
DOC_ORDER_POSTINGS = 1 << 18


class _FieldArrays:
    """The arrays of one field of one segment (views into the mapped file)."""

    def __init__(
        self,
        load: Any,
        prefix: str,
        text: bool,
        positions: bool,
        has_forms: bool,
        has_spans: bool = False,
        has_blocks: bool = False,
    ) -> None:
        self.blob: Array = load(f"{prefix}.terms.blob")
        self.off: Array = load(f"{prefix}.terms.off")
        self.indptr: Array = load(f"{prefix}.indptr")
        self.docs: Array = load(f"{prefix}.docs")
        self.tfs: Array = load(f"{prefix}.tfs")
        self.norms: Array | None = load(f"{prefix}.norms") if text else None
        self.lens: Array | None = load(f"{prefix}.lens") if text else None
        self.pos: Array | None = load(f"{prefix}.pos") if text and positions else None
        self.posptr: Array | None = load(f"{prefix}.posptr") if text and positions else None
        self.facet: Array | None = None if text else load(f"{prefix}.facet")
        self.forms: Array | None = load(f"{prefix}.forms") if has_forms else None
        #: word spans (:mod:`.wordspans`): bytes, per-doc pointers, per-doc widths
        self.spans: tuple[Array, Array, Array] | None = None
        if has_spans:
            self.spans = (
                load(f"{prefix}.{wordspans.SPANS}"),
                load(f"{prefix}.{wordspans.SPANPTR}"),
                load(f"{prefix}.{wordspans.SPANWIDTH}"),
            )
        #: per-block maxima (:mod:`.blockmax`): pointers, max tfs, min norms, OR of forms
        self.blocks: tuple[Array, Array, Array, Array | None] | None = None
        if has_blocks:
            self.blocks = (
                load(f"{prefix}.blockptr"),
                load(f"{prefix}.blocktf"),
                load(f"{prefix}.blocknorm"),
                load(f"{prefix}.blockforms") if has_forms else None,
            )
        self.terms: list[str] | None = None
        #: the compiled term table (:mod:`._terms`), made at the first lookup; False
        #: where that module was not built (the bisect of :func:`_ordinal` serves)
        self.table: Any = None
        #: whether :attr:`table` holds the field's postings (None: not asked yet; see
        #: :meth:`SegmentReader.word_table`)
        self.held: bool | None = None
        #: :attr:`table` where it holds the postings and the position pointers (a
        #: term's position run in one call: :meth:`SegmentReader.position_run`), False
        #: where it does not, None until asked
        self.runs: Any = None
        #: the postings in doc order and where each doc's start (:meth:`doc_postings`)
        self._doc_order: tuple[Array, Array] | None = None
        #: per posting, the tfs of the postings before it (:meth:`position_starts`)
        self._tfs_before: Array | None = None
        #: the sum of :attr:`lens` (:meth:`length_sum`)
        self._length_sum: int | None = None

    def length_sum(self) -> int:
        """The sum of the docs' lengths (a text field; made once)."""
        if self._length_sum is None:
            assert self.lens is not None
            self._length_sum = int(np.asarray(self.lens).sum(dtype=np.int64))
        return self._length_sum

    def position_starts(
        self, chosen: npt.NDArray[np.int64], owners: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.int64]:
        """Where in :attr:`pos` the positions of the postings ``chosen`` start
        (``owners``: each one's term ordinal): its term's ``posptr`` plus the tfs of the
        term's postings before it, read from every posting's running tf sum (4 bytes a
        posting, 8 past 2^32 positions; made at the first call and kept: no posting's
        term is summed again for each doc)."""
        assert self.posptr is not None
        firsts = np.asarray(self.indptr)[owners].astype(np.int64)
        starts = np.asarray(self.posptr)[owners].astype(np.int64)
        if self._tfs_before is None:
            running = np.zeros(len(self.tfs) + 1, dtype=np.int64)
            np.cumsum(self.tfs, out=running[1:])
            fits = running[-1] <= np.iinfo(np.uint32).max
            self._tfs_before = running.astype(np.uint32) if fits else running
        before = self._tfs_before
        starts += before[chosen].astype(np.int64) - before[firsts].astype(np.int64)
        return starts

    def doc_postings(self, docs: Sequence[int], *, keep: bool = True) -> npt.NDArray[np.int64]:
        """The indices of the postings of ``docs`` (ascending: by term, then doc). A
        field of up to :data:`DOC_ORDER_POSTINGS` postings is searched, by a compare a
        doc for up to :data:`FEW_DOCS` docs, else by a mask over its doc ids; a larger
        one is read in doc order (its postings' indices sorted by doc, made at the first
        call and kept: a reader resolving each link commit's few docs of a 1M-doc
        segment then makes no pass over its millions of postings; ``keep``: False for a
        field read once, which is searched)."""
        all_docs = np.asarray(self.docs)
        if len(all_docs) > DOC_ORDER_POSTINGS and (keep or self._doc_order is not None):
            if self._doc_order is None:
                order = np.argsort(all_docs, kind="stable")
                counts = np.bincount(all_docs, minlength=int(all_docs.max()) + 1)
                starts = np.zeros(len(counts) + 1, dtype=np.int64)
                np.cumsum(counts, out=starts[1:])
                self._doc_order = (order.astype(np.int32), starts)
            order, starts = self._doc_order
            wanted = np.asarray(docs, dtype=np.int64)
            wanted = wanted[wanted < len(starts) - 1]
            found: npt.NDArray[np.int64] = np.sort(
                order[run_positions(starts[wanted], starts[wanted + 1] - starts[wanted])]
            ).astype(np.int64)
            return found
        if len(docs) <= FEW_DOCS:  # a compare a doc: no mask over the field's docs
            hit = np.zeros(len(all_docs), dtype=np.bool_)
            for doc in docs:
                hit |= all_docs == doc
        else:
            marked = np.zeros(int(all_docs.max()) + 1 if len(all_docs) else 0, dtype=np.bool_)
            wanted = np.asarray(docs, dtype=np.int64)
            marked[wanted[wanted < len(marked)]] = True
            hit = marked[all_docs]
        return np.flatnonzero(hit)

    def check(self, max_doc: int, fail: Any, *, postings: bool) -> None:
        """Cheap structure checks (lengths, bounds of pointers); with ``postings``, also
        doc ids in range and term frequencies positive (one pass over the postings)."""
        terms = _check_table(self.blob, self.off, None, fail, "terms")
        _check_pointers(self.indptr, terms, len(self.docs), fail, "postings pointers")
        if len(self.tfs) != len(self.docs):
            fail(f"{len(self.tfs)} term frequencies for {len(self.docs)} postings")
        if self.forms is not None and len(self.forms) != len(self.docs):
            fail(f"{len(self.forms)} form flags for {len(self.docs)} postings")
        for label, per_doc in (
            ("norms", self.norms),
            ("lengths", self.lens),
            ("facets", self.facet),
        ):
            if per_doc is not None and len(per_doc) != max_doc:
                fail(f"{len(per_doc)} {label} for {max_doc} docs")
        if self.facet is not None and len(self.facet):
            low, high = _low_high(self.facet)
            if low < -1 or high >= terms:
                fail(f"facet values {low}..{high} outside -1..{terms - 1}")
        if self.posptr is not None and self.pos is not None:
            _check_pointers(self.posptr, terms, len(self.pos), fail, "position pointers")
        # what every writer stores (the snippet and rerank code reads no other)
        if self.pos is not None and (self.pos.dtype.kind != "u" or self.pos.dtype.itemsize > 4):
            fail(f"positions are {self.pos.dtype} numbers, not unsigned ones of 8 to 32 bits")
        if self.spans is not None:
            wordspans.check(*self.spans, max_doc, fail)
        if self.blocks is not None:
            pointer, block_tfs, block_norms, block_forms = self.blocks
            count = int(pointer[-1]) if len(pointer) else -1
            if len(pointer) != terms + 1 or any(
                part is not None and len(part) != count
                for part in (block_tfs, block_norms, block_forms)
            ):
                fail("block maxima do not match the terms")
        if postings and len(self.docs):
            low, high = _low_high(self.docs)
            if low < 0 or high >= max_doc:
                fail(f"doc ids {low}..{high} outside 0..{max_doc - 1}")
            if _low_high(self.tfs)[0] <= 0:
                fail("zero term frequency")
            if self.posptr is not None:
                ends = np.zeros(len(self.tfs) + 1, dtype=np.int64)
                np.cumsum(self.tfs, out=ends[1:])
                if not np.array_equal(ends[np.asarray(self.indptr, dtype=np.int64)], self.posptr):
                    fail("position pointers do not match the term frequencies")


def _check_pointers(pointers: Array, count: int, total: int, fail: Any, label: str) -> None:
    """``pointers`` must be ``count + 1`` ascending offsets from 0 to ``total``."""
    if pointers.ndim != 1 or len(pointers) != count + 1:
        fail(f"{len(pointers)} {label} for {count} entries")
    elif int(pointers[0]) != 0 or int(pointers[-1]) != total:
        fail(f"{label} run {int(pointers[0])}..{int(pointers[-1])}, expected 0..{total}")
    elif count and _descends(pointers):
        fail(f"{label} are not ascending")


#: arrays up to this length are checked as lists: numpy's cost a call (~3 us for a
#: slice, a compare and a reduction) is most of a short array's check, and a small
#: segment (a commit's one article) has some fifty short arrays checked on open
_SHORT = 64


def _descends(values: Array) -> bool:
    """Whether some value of the 1-d array ``values`` is below the one before it."""
    if len(values) <= _SHORT:
        listed = values.tolist()
        return bool(listed != sorted(listed))
    return bool(np.any(values[1:] < values[:-1]))


def _low_high(values: Array) -> tuple[int, int]:
    """The least and the greatest value of the non-empty 1-d array ``values``."""
    if len(values) <= _SHORT:
        listed = values.tolist()
        return min(listed), max(listed)
    return int(values.min()), int(values.max())


def _check_table(blob: Array, offsets: Array, count: int | None, fail: Any, label: str) -> int:
    """A string table must have ``count + 1`` ascending offsets over its blob; its count."""
    if blob.ndim != 1 or blob.dtype != np.uint8:
        fail(f"{label}: the string bytes are not a uint8 array")
    if count is None:
        count = max(len(offsets) - 1, 0)
    _check_pointers(offsets, count, len(blob), fail, f"{label} offsets")
    return count


class SegmentReader:
    """Read access to one segment at one generation (its deletions fixed).

    The segment's compound file is memory-mapped once (one file descriptor) and every
    array is a zero-copy view into it; postings are zero-copy slices. A format 1-2
    segment (a folder of ``.npy`` files) maps each file. Everything is opened and
    checked in the constructor (sizes against the manifest, checksums of the small
    arrays, lengths and pointer bounds: :meth:`_check`), so damage is an
    :class:`IndexFormatError` here rather than a numpy error later, and a later merge
    that removes the files cannot pull them from under a reader.
    """

    def __init__(
        self, directory: Directory, entry: SegmentEntry, schema: Schema, *, ordinal: int = 0
    ) -> None:
        self.name = entry.name
        self.entry = entry
        self.ordinal = ordinal
        self.schema = schema
        self.max_doc = entry.max_doc
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
        self._arrays = source = _Arrays(directory, entry, check=True)
        where = source.where
        self._where = where
        load = source.load
        self._fields: dict[str, _FieldArrays] = {
            spec.name: _FieldArrays(
                load,
                f"fld.{spec.name}",
                spec.kind == TEXT,
                spec.positions,
                source.has(f"fld.{spec.name}.forms"),
                spec.positions and source.has(f"fld.{spec.name}.{wordspans.SPANS}"),
                spec.kind == TEXT
                and all(
                    source.has(f"fld.{spec.name}.{name}")
                    for name in ("blockptr", "blocktf", "blocknorm")
                )
                and (
                    not source.has(f"fld.{spec.name}.forms")
                    or source.has(f"fld.{spec.name}.blockforms")
                ),
            )
            for spec in schema.fields
        }
        self._ids_blob, self._ids_off = load("strings.ids.blob"), load("strings.ids.off")
        self._keys = (load("strings.titlekeys.blob"), load("strings.titlekeys.off"))
        self._urls = (load("strings.urls.blob"), load("strings.urls.off"))
        self._published: Array | None = load(PUBLISHED_STEM) if source.has(PUBLISHED_STEM) else None
        self.link_src: Array = load("links.src")
        self._link_tables = {
            part: (load(f"strings.links.{part}.blob"), load(f"strings.links.{part}.off"))
            for part in ("key", "url", "tid")
        }
        self._link_headlines = (
            (load(f"{LINK_HEADLINES}.blob"), load(f"{LINK_HEADLINES}.off"))
            if source.has(f"{LINK_HEADLINES}.off")
            else None
        )
        store_bin, store_idx = load("store.bin"), load("store.idx")
        self._check(store_bin, store_idx)
        self._store = StoreReader(store_bin, store_idx, where=where)
        self._read_deletes(directory, entry)
        self._anchor_updates: tuple[AnchorUpdate, ...] = ()
        self._anchored: dict[str, _FieldArrays | DeltaField] = {}
        # the updates each built anchor field applied (adding ones resolved), and the
        # resolutions of adding updates (:mod:`.anchoradds`), kept while they apply
        self._anchored_under: dict[str, tuple[AnchorUpdate, ...]] = {}
        self._resolutions: dict[tuple[str, str], AnchorUpdate] = {}
        # anchor fields built under earlier updates, not yet rebuilt under the current
        # ones: field -> (those updates, the field); the new field is spliced from it
        self._splice_sources: dict[
            str, tuple[tuple[AnchorUpdate, ...], _FieldArrays | DeltaField]
        ] = {}
        self._read_anchor_update(directory, entry)
        self._id_map: dict[str, int] | None = None
        self._ids: list[str] | None = None
        self._edges: EdgeTable | None = None

    def _read_deletes(self, directory: Directory, entry: SegmentEntry) -> None:
        """Set :attr:`live` and :attr:`del_count` from ``entry``'s deletions file."""
        where = self._where
        live: npt.NDArray[np.bool_] = np.ones(self.max_doc, dtype=bool)
        if entry.deletes is not None:
            try:
                data = directory.read_bytes(entry.deletes)
            except FileNotFoundError:
                raise IndexFormatError(
                    f"{directory.describe(entry.deletes)}: deletions file missing"
                ) from None
            if zlib.crc32(data) != entry.files[entry.deletes].crc32:
                raise IndexFormatError(
                    f"{directory.describe(entry.deletes)}: checksum mismatch (the deletions "
                    "file is damaged; run bnsearch verify)"
                )
            deleted = compound.parse_npy(data, directory.describe(entry.deletes))
            if len(deleted) and (int(deleted.max()) >= self.max_doc or int(deleted.min()) < 0):
                raise IndexFormatError(f"{directory.describe(entry.deletes)}: doc id out of range")
            live[np.asarray(deleted, dtype=np.int64)] = False
        live.setflags(write=False)
        self.live = live
        self.del_count = int(self.max_doc - np.count_nonzero(live))
        if self.del_count != entry.del_count:
            raise IndexFormatError(
                f"{where}: manifest says {entry.del_count} deletions, file has {self.del_count}"
            )

    def _read_anchor_update(
        self,
        directory: Directory,
        entry: SegmentEntry,
        hosts: Mapping[str, SegmentReader] | None = None,
    ) -> None:
        """Read the segment's anchor update files (see :mod:`.anchorfile`; the ones this
        reader read already are kept; ``hosts``: open readers of segments whose compound
        files host some, by file name, whose tables are used; the updates a writer has
        just written: :meth:`with_written_update`); the anchor
        fields they change are built when first read, spliced
        (:func:`~bnsearch.index.anchorfile.splice`) into the ones built under the
        earlier updates, or into the segment's own."""
        from bnsearch.index.anchorfile import anchors_files, read_update

        names = anchors_files(entry)
        current = self._anchor_updates
        if sorted(update.name for update in current) == names:
            return  # unchanged: the fields built from them stay
        known = {update.name: update for update in current}
        updates = []
        for name in names:
            update = known.get(name)
            if update is None:
                host = (hosts or {}).get(name)
                update = read_update(
                    directory,
                    name,
                    self.schema,
                    self.name,
                    self.max_doc,
                    opened=None if host is None else host._arrays.opened(),
                )
            updates.append(update)
        self._take_updates(updates, names)

    def _take_updates(self, updates: Sequence[AnchorUpdate], names: Collection[str]) -> None:
        """Put the segment under ``updates`` (its whole set, in any order; ``names``
        their files): the anchor fields built under the earlier ones become splice
        sources, the fields are built again when first read."""
        sources = dict(self._splice_sources)  # a new dict: a clone shares the old one
        current = self._anchor_updates
        if not current:  # under no update, an anchor field is the segment's own
            from bnsearch.index.anchorfile import anchor_specs

            sources.update(
                {spec.name: ((), self._fields[spec.name]) for spec in anchor_specs(self.schema)}
            )
        sources.update(
            {
                field: (self._anchored_under[field], arrays)
                for field, arrays in self._anchored.items()
            }
        )
        self._splice_sources = sources
        self._anchor_updates = tuple(sorted(updates, key=lambda update: update.generation))
        self._anchored, self._anchored_under = {}, {}
        listed = set(names)  # resolutions of updates gone (folded) are dropped
        self._resolutions = {
            key: value for key, value in self._resolutions.items() if key[1] in listed
        }

    @property
    def arrays_key(self) -> object:
        """An object shared by every reader of this segment's arrays (the same file,
        whatever its deletions or anchor updates): a key for caches of what those arrays
        alone decide (deleted docs included)."""
        return self._arrays

    @property
    def anchor_updates(self) -> tuple[AnchorUpdate, ...]:
        """The segment's anchor updates (:mod:`.anchorfile`), oldest first."""
        return self._anchor_updates

    def _updated_anchors(self, doc: int) -> tuple[str, ...] | None:
        if not self._anchor_updates:  # most segments: no import a stored row
            return None
        from bnsearch.index.anchorfile import anchors_of

        return anchors_of(self._anchor_updates, doc, self._store.anchors)

    def with_deletes(
        self,
        directory: Directory,
        entry: SegmentEntry,
        ordinal: int,
        hosts: Mapping[str, SegmentReader] | None = None,
    ) -> SegmentReader:
        """This segment under a newer ``entry`` that differs only in its deletions file
        and its anchor update (a commit deleted some of its docs, or changed some of
        their anchors): the arrays opened and checked by this reader and its caches are
        shared, only the deletions (when their file changed) and the update are read."""
        if entry.name != self.name or entry.max_doc != self.max_doc:
            raise ValueError(f"{entry.name} is not a newer entry of segment {self.name}")
        same_deletes = (
            entry.deletes == self.entry.deletes
            and entry.del_count == self.entry.del_count
            and entry.files.get(entry.deletes or "") == self.entry.files.get(entry.deletes or "")
        )
        clone = self._clone(entry, ordinal)
        if not same_deletes:  # (the same file: the same live docs, read already)
            clone._read_deletes(directory, entry)
        clone._read_anchor_update(directory, entry, hosts)
        return clone

    def _clone(self, entry: SegmentEntry, ordinal: int) -> SegmentReader:
        """This reader as the segment's newer ``entry`` at ``ordinal``: its arrays,
        caches and updates shared (the caller changes what the entry changed; copy.copy's
        shallow copy without its reduce protocol)."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.entry = entry
        clone.ordinal = ordinal
        return clone

    def with_written_update(
        self, entry: SegmentEntry, ordinal: int, update: AnchorUpdate
    ) -> SegmentReader:
        """This segment under a newer ``entry`` whose one change is the anchor update
        this process has just written (``update``, made from the arrays written:
        :func:`~bnsearch.index.anchorfile.written_update`), newer than every update it
        carries over: the updates of this reader that ``entry`` still lists, then
        ``update``, in one step: the entry's files are not scanned again for its
        updates (:meth:`with_deletes` reads them), its deletions are this reader's."""
        if entry.name != self.name or entry.deletes != self.entry.deletes:
            raise ValueError(f"{entry.name} is not {self.name} under a new anchor update")
        files = entry.files
        kept = [old for old in self._anchor_updates if old.name in files]
        if kept and kept[-1].generation >= update.generation:
            raise ValueError(f"{update.name} is not newer than {kept[-1].name}")
        clone = self._clone(entry, ordinal)
        kept.append(update)
        clone._take_updates(kept, [old.name for old in kept])
        return clone

    def _check(self, store_bin: Array, store_idx: Array) -> None:
        """The open checks: every length and pointer bound that costs no pass over
        postings or text (the count of docs first, before anything of that size is
        allocated)."""
        where, max_doc = self._where, self.max_doc

        def fail(message: str, field: str | None = None) -> None:
            place = f"{where} field {field!r}" if field else where
            raise IndexFormatError(
                f"{place}: {message} (the index is damaged; run bnsearch verify)"
            )

        if len(self._ids_off) != max_doc + 1:
            fail(f"{len(self._ids_off) - 1} ids for {max_doc} docs")
        _check_table(self._ids_blob, self._ids_off, max_doc, fail, "ids")
        _check_table(*self._keys, max_doc, fail, "title keys")
        _check_table(*self._urls, max_doc, fail, "urls")
        edges = len(self.link_src)
        for part, table in self._link_tables.items():
            _check_table(*table, edges, fail, f"link {part}s")
        if self._link_headlines is not None:
            _check_table(*self._link_headlines, edges, fail, "link headlines")
        if edges:
            low, high = _low_high(self.link_src)
            if low < 0 or high >= max_doc:
                fail("a link's source doc is out of range")
        if edges > 1 and _descends(self.link_src):
            fail("link edges are not grouped by source doc")
        if self._published is not None and (
            len(self._published) != max_doc or self._published.dtype != np.int64
        ):
            fail(
                f"{len(self._published)} publication dates ({self._published.dtype}) "
                f"for {max_doc} docs (int64 expected)"
            )
        small = self._arrays.size() <= OPEN_FULL_CHECK_BYTES
        for name, arrays in self._fields.items():
            arrays.check(max_doc, lambda message, name=name: fail(message, name), postings=small)
        if store_idx.ndim != 2 or store_idx.shape[1] != 2 or len(store_idx) < 1:
            fail(f"the stored-block index has shape {store_idx.shape}")
        starts, firsts = store_idx[:, 0], store_idx[:, 1]
        if int(starts[0]) != 0 or int(firsts[0]) != 0:
            fail("the stored-block index does not start at 0")
        if int(starts[-1]) != len(store_bin) or int(firsts[-1]) != max_doc:
            fail(
                f"the stored-block index ends at ({int(starts[-1])}, {int(firsts[-1])}), "
                f"expected ({len(store_bin)}, {max_doc})"
            )
        if len(store_idx) > 1 and (_descends(starts) or _descends(firsts)):
            fail("the stored-block index is not ascending")

    def has_array(self, stem: str) -> bool:
        """True if the segment holds the array ``stem`` (see :func:`write_segment`);
        segments written before an array existed lack it."""
        return self._arrays.has(stem)

    def array(self, stem: str) -> Array:
        """The array ``stem`` written by :func:`write_segment` (a read-only view; a
        string table is ``<stem>.blob`` + ``<stem>.off``, see :func:`decode_strings`)."""
        return self._arrays.load(stem)

    # -- fields ------------------------------------------------------------------------
    def _field(self, field: str) -> _FieldArrays:
        """The field's arrays whole (an anchor field under adding updates a reader
        deferred, :mod:`.anchordelta`, is built whole for it)."""
        arrays = self._lazy_field(field)
        return arrays.whole() if isinstance(arrays, DeltaField) else arrays

    def _lazy_field(self, field: str) -> _FieldArrays | DeltaField:
        """The field's arrays, or an anchor field under deferred adding updates (what a
        search reads of it is read term by term: :mod:`.anchordelta`)."""
        updates = self._anchor_updates
        if updates and field in updates[0].fields:
            return self._anchor_field(field, updates)
        try:
            return self._fields[field]
        except KeyError:
            raise SchemaError(f"unknown field {field!r}; fields are {self.schema.names}") from None

    def _anchor_field(self, field: str, raw: tuple[AnchorUpdate, ...]) -> _FieldArrays | DeltaField:
        """An anchor field with the segment's anchor updates ``raw`` applied (built
        once): the updates since the field was built under earlier ones deferred
        (:mod:`.anchordelta`), else spliced into it; materialized when none was built."""
        found = self._anchored.get(field)
        if found is None:
            from bnsearch.index.anchoradds import resolved

            base = self._fields[field]
            if base.terms is None:
                base.terms = decode_strings(base.blob, base.off, f"{self._where} {field} terms")
            base_terms = base.terms
            spec = self.schema[field]
            update = resolved(spec, base, base_terms, raw, self._resolutions)
            source = self._splice_sources.pop(field, None)
            spliced: tuple[tuple[AnchorUpdate, ...], _FieldArrays] | None = None
            if source is not None:  # built under earlier updates: only the new docs change
                earlier, built = source
                before = None
                if isinstance(built, DeltaField) and built.built is None:
                    before, previous, earlier = built, built.full, built.full_under
                elif isinstance(built, DeltaField):
                    previous = built.whole()
                else:
                    previous = built
                found = self._deferred(spec, previous, earlier, before, raw, update)
                spliced = (earlier, previous)
            if found is None:
                found = _built_anchor_field(spec, base, spliced, update, self.max_doc)
            self._anchored[field], self._anchored_under[field] = found, update
        return found

    def _deferred(
        self,
        spec: FieldSpec,
        previous: _FieldArrays,
        earlier: tuple[AnchorUpdate, ...],
        before: DeltaField | None,
        raw: tuple[AnchorUpdate, ...],
        update: tuple[AnchorUpdate, ...],
    ) -> DeltaField | None:
        """The anchor field ``spec`` as ``previous`` (built under ``earlier``) with the
        later updates deferred (:func:`.anchordelta.deferred`; ``before``: deferred
        under the updates before), or None when they cannot be."""
        from bnsearch.index.anchordelta import deferred

        if spec.kind != TEXT or previous.terms is None or previous.lens is None:
            return None
        base = self._fields[spec.name]
        assert base.terms is not None

        # (a partial, not a closure over the reader: the field the reader keeps would
        # hold the reader, a cycle only the garbage collector frees)
        whole = functools.partial(
            _built_anchor_field, spec, base, (earlier, previous), update, self.max_doc
        )
        return deferred(spec, previous, earlier, before, raw, update, base, base.terms, whole)

    def terms(self, field: str) -> list[str]:
        """The field's terms, sorted (decoded once, then cached)."""
        arrays = self._lazy_field(field)
        if isinstance(arrays, DeltaField):
            return arrays.terms
        if arrays.terms is None:
            arrays.terms = decode_strings(arrays.blob, arrays.off, f"{self._where} {field} terms")
        return arrays.terms

    def term_id(self, field: str, term: str) -> int:
        """The term's ordinal in :meth:`terms`, or -1."""
        return self._term_index(field, self._lazy_field(field), term, _utf8(term))

    def _term_index(
        self, field: str, arrays: _FieldArrays | DeltaField, term: str, encoded: bytes | None
    ) -> int:
        """``term``'s ordinal in the field's dictionary, or -1: by the compiled term table
        (``encoded``: the term as UTF-8) where there is one, else by the bisect."""
        table = arrays.table
        if table is None:
            assert not isinstance(arrays, DeltaField)  # (which has none: table is False)
            table = self._table(field, arrays)
        if table and encoded is not None:
            index: int = table.find(encoded)
            return index
        terms = arrays.terms
        return _ordinal(self.terms(field) if terms is None else terms, term)

    def _table(self, field: str, arrays: _FieldArrays) -> Any:
        """The field's :class:`._terms.TermTable` (made once), or False: the compiled
        module was not built, or the field's arrays are an anchor field's with updates
        applied (their terms are searched in the decoded list)."""
        if _TERMS is None or self._fields.get(field) is not arrays:
            arrays.table = False
        else:
            arrays.table = _TERMS.TermTable(arrays.blob, arrays.off)
        return arrays.table

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

    def term_slices(self, term: str, fields: Iterable[str]) -> list[tuple[str, Array, Array, int]]:
        """Per field of ``fields`` that holds ``term`` with postings, ``(field, doc_ids,
        tfs, start)`` as :meth:`located_postings` gives them: one call for a word's
        slices in every field of the segment (the Python twin of
        :func:`._terms.word_pieces`, which :meth:`word_table` serves)."""
        found: list[tuple[str, Array, Array, int]] = []
        encoded = _utf8(term) if _TERMS is not None else None
        for field in fields:
            arrays = self._lazy_field(field)
            table = arrays.table  # (the compiled table's lookup inlined: two fields a word)
            if table and encoded is not None:
                index: int = table.find(encoded)
            else:
                index = self._term_index(field, arrays, term, encoded)
            if index < 0:
                continue
            if isinstance(arrays, DeltaField):
                docs, tfs, start = arrays.postings(index)
                if len(docs):
                    found.append((field, docs, tfs, start))
            else:
                start, end = arrays.indptr[index : index + 2].tolist()
                if end > start:
                    found.append((field, arrays.docs[start:end], arrays.tfs[start:end], start))
        return found

    def word_table(self, field: str) -> Any:
        """The field's compiled term table holding its postings (made once: what
        :func:`._terms.word_pieces` reads), or None: the module was not built, the field
        is an anchor field with updates applied, or its arrays do not fit the table."""
        arrays = self._lazy_field(field)
        if isinstance(arrays, DeltaField):
            return None
        table = arrays.table
        if table is None:
            table = self._table(field, arrays)
        if table is False:  # (an empty table is falsy: its len is 0)
            arrays.held = False
            return None
        if arrays.held is None:
            arrays.held = bool(table.hold(arrays.indptr, arrays.docs, arrays.tfs, arrays.forms))
        return table if arrays.held else None

    def _posting_slice(self, field: str, ident: int) -> tuple[Array, Array, int]:
        arrays = self._lazy_field(field)
        if isinstance(arrays, DeltaField):
            return arrays.postings(ident)
        start, end = int(arrays.indptr[ident]), int(arrays.indptr[ident + 1])
        return arrays.docs[start:end], arrays.tfs[start:end], start

    def word_spans(self, field: str) -> tuple[Array, Array, Array] | None:
        """The field's word spans (:mod:`.wordspans`: bytes, per-doc pointers, per-doc
        widths), or ``None`` where the segment keeps none (written before them)."""
        arrays = self._lazy_field(field)
        return None if isinstance(arrays, DeltaField) else arrays.spans

    def blocks(
        self, field: str, start: int, length: int
    ) -> tuple[Array, Array, Array | None] | None:
        """The per-block maxima (:mod:`.blockmax`: max tfs, min length codes, OR of form
        flags or ``None``) of the postings ``[start, start + length)`` of one term (as
        :meth:`located_postings` gives them); ``None`` where the segment keeps none."""
        arrays = self._lazy_field(field)
        if isinstance(arrays, DeltaField) or arrays.blocks is None or length <= 0:
            return None  # (a field under deferred updates keeps none, as a built one)
        pointer, tfs, norms, forms = arrays.blocks
        indptr = arrays.indptr
        if arrays.held is None:
            self.word_table(field)  # (made once: the table holding the postings)
        # (the slice's term, by the table's compiled bisect)
        ident = arrays.table.ordinal_at(start) if arrays.held else -2
        if ident == -2:
            # (the key in the array's own dtype: a Python int would make numpy cast the
            # whole uint32 array to int64 first, ~10 us at 50k terms, per segment and word)
            ident = int(indptr.searchsorted(indptr.dtype.type(start), side="right")) - 1
            if ident < 0 or int(indptr[ident]) != start:
                return None
        if int(indptr[ident + 1]) != start + length:
            return None
        low, high = int(pointer[ident]), int(pointer[ident + 1])
        if high == low:  # (a list of one block keeps none)
            return None
        return tfs[low:high], norms[low:high], None if forms is None else forms[low:high]

    def forms(self, field: str) -> npt.NDArray[np.uint8] | None:
        """Per posting (aligned with the field's doc ids), the OR of its occurrences' form
        flags (:mod:`bnsearch.analysis.forms`); ``None`` where the field keeps none."""
        return self._field(field).forms

    def posting_forms(self, field: str, start: int, length: int) -> npt.NDArray[np.uint8] | None:
        """The form flags of one term's postings (``start`` and ``length`` as
        :meth:`located_postings` and :meth:`term_slices` give them: ``forms(field)[start :
        start + length]``); ``None`` where the field keeps none."""
        arrays = self._lazy_field(field)
        if isinstance(arrays, DeltaField):
            return arrays.forms(start, length)
        forms = arrays.forms
        return None if forms is None else forms[start : start + length]

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
        found = self.position_run(field, term)
        if found is None:
            return None
        docs, tfs, first, positions = found
        offsets = np.empty(len(docs) + 1, dtype=np.int64)
        offsets[0] = first
        np.cumsum(tfs, out=offsets[1:])
        offsets[1:] += first
        return docs, offsets, positions

    def position_run(self, field: str, term: str) -> tuple[Array, Array, int, Array] | None:
        """``(doc_ids, tfs, first, positions)``: the term's postings (views), where its
        first posting's positions start in ``positions`` (the field's whole position
        array) and that array; posting ``j``'s positions follow those of the postings
        before it (``tfs[j]`` of them). No array is built: a caller summing the tfs as it
        walks (the compiled phrase code) needs no offsets."""
        found = self._lazy_field(field)
        held = self._held_runs(field, found)
        if held is not None:  # the held table's lookup, in one compiled call
            runs, positions = held
            encoded = _utf8(term)
            run = None if encoded is None else runs.position_run(encoded)
            return None if run is None else (*run, positions)
        arrays = found.full if isinstance(found, DeltaField) else found
        if arrays.pos is None or arrays.posptr is None:
            raise SchemaError(f"field {field!r} has no positions")
        ident = self.term_id(field, term)
        if ident < 0:
            return None
        if isinstance(found, DeltaField):
            return found.position_run(ident)
        start, end = int(arrays.indptr[ident]), int(arrays.indptr[ident + 1])
        return arrays.docs[start:end], arrays.tfs[start:end], int(arrays.posptr[ident]), arrays.pos

    def position_runs(
        self, field: str, terms: list[bytes | None], walk: int
    ) -> tuple[Any, Any, Any, Array] | None:
        """:meth:`position_run` of several terms (UTF-8: :func:`encoded_terms`) in one
        compiled call (``TermTable.position_runs`` of :mod:`bnsearch.index._terms`):
        ``(docs, places, indices, positions)`` of those with postings, a place ``(tfs,
        first)`` for a term of at most ``walk`` postings, else None; None where the
        field's held table does not serve (an anchor field with updates applied, a table
        not built: ask :meth:`position_run` term by term). The rerank asks the table
        itself for spans (:meth:`position_table`)."""
        held = self.position_table(field)
        if held is None:
            return None
        runs, positions = held
        docs, places, indices = runs.position_runs(terms, walk)
        return docs, places, indices, positions

    def position_table(self, field: str) -> tuple[Any, Array] | None:
        """:meth:`_held_runs` of the field: its term table that answers
        :meth:`position_runs` and its positions, or None. The rerank keeps it per
        snapshot and asks the table for its words' spans (``TermTable.position_spans``:
        the field's whole postings and each word's span in them, no view made), one
        call a field (no frames of this reader's a new plan and field)."""
        return self._held_runs(field, self._lazy_field(field))

    def _held_runs(self, field: str, found: _FieldArrays | DeltaField) -> tuple[Any, Array] | None:
        """The field's term table that serves :meth:`position_run` and
        :meth:`position_runs` (:meth:`_runs`, made once) and the field's positions, or
        None: an anchor field with updates applied, or no table."""
        if isinstance(found, DeltaField):
            return None
        runs = found.runs
        if runs is None:
            runs = self._runs(field, found)
        return None if runs is False or found.pos is None else (runs, found.pos)

    def _runs(self, field: str, arrays: _FieldArrays) -> Any:
        """The field's compiled term table holding its postings and position pointers
        (:meth:`position_run` asks it), or False (not built, no positions, or arrays the
        table cannot hold: the lookups in Python serve); set once on ``arrays``."""
        table = self.word_table(field)
        runs: Any = False
        if table is not None and arrays.posptr is not None and arrays.pos is not None:
            runs = table if table.hold_positions(arrays.posptr) else False
        arrays.runs = runs
        return runs

    def term_doc_freqs(self, field: str) -> npt.NDArray[np.int64]:
        """Postings length of every term in :meth:`terms` order (deleted docs included)."""
        indptr = np.asarray(self._field(field).indptr, dtype=np.int64)
        counts: npt.NDArray[np.int64] = indptr[1:] - indptr[:-1]
        return counts

    def doc_freq(self, field: str, term: str) -> int:
        """Live documents containing the term."""
        if not self.del_count:  # (its postings' count, by the compiled table)
            table = self.word_table(field)
            encoded = None if table is None else _utf8(term)
            if encoded is not None:
                count: int = table.postings_count(encoded)
                return count
        found = self.postings(field, term)
        if found is None:
            return 0
        docs = found[0]
        return len(docs) if self.del_count == 0 else int(np.count_nonzero(self.live[docs]))

    def norms(self, field: str) -> npt.NDArray[np.uint8]:
        """One length code per doc (decode with :data:`~bnsearch.index.norms.NORM_DECODE`)."""
        arrays = self._lazy_field(field)
        if arrays.norms is None:
            raise SchemaError(f"field {field!r} is a keyword field and has no norms")
        return arrays.norms

    def field_lengths(self, field: str) -> npt.NDArray[np.uint32]:
        """Exact number of terms per doc in a text field."""
        arrays = self._lazy_field(field)
        if arrays.lens is None:
            raise SchemaError(f"field {field!r} is a keyword field and has no lengths")
        return arrays.lens

    def field_length_sum(self, field: str) -> int:
        """Sum of the field's lengths over live docs."""
        if self.del_count == 0:
            if not self.schema[field].is_text:
                raise SchemaError(f"field {field!r} is a keyword field and has no lengths")
            return self._lazy_field(field).length_sum()
        lens = self.field_lengths(field)
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
            self._ids = decode_strings(self._ids_blob, self._ids_off, f"{self._where} ids")
        return self._ids

    def article_id(self, doc: int) -> str:
        start, end = int(self._ids_off[doc]), int(self._ids_off[doc + 1])
        return decode_one(self._ids_blob, start, end, f"{self._where} ids")

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
        row = self._store.row(doc)
        anchors = self._updated_anchors(doc)
        if anchors is not None:
            row["anchors"] = list(anchors)
        return row

    def stored_anchors(self, doc: int) -> tuple[str, ...]:
        """The anchors ``doc`` has (the last anchor update holding it gives them, without
        reading its stored row)."""
        anchors = self._updated_anchors(doc)
        return self._store.anchors(doc) if anchors is None else anchors

    def related_headlines(self, doc: int) -> list[str]:
        """The headlines of ``doc``'s related links, in page order (link numbers)."""
        return self._store.related_headlines(doc)

    def copy_stored(self, target: StoreWriter) -> None:
        """Append the live docs' stored rows to ``target`` (for merges)."""
        patches = {doc: {"anchors": list(row)} for doc, row in self._anchor_rows().items()}
        self._store.copy_live(target, self.live, patches)

    def _anchor_rows(self) -> dict[int, tuple[str, ...]]:
        """doc -> its anchors, for every doc an anchor update holds (the last replacing
        one wins, each one's headlines decoded whole; a doc an adding one holds, by the
        rule of :func:`~bnsearch.index.anchorfile.anchors_of`)."""
        rows = {
            doc: row
            for update in self._anchor_updates
            if not update.adds
            for doc, row in zip(update.docs.tolist(), update.rows, strict=True)
        }
        added = {
            doc for update in self._anchor_updates if update.adds for doc in update.docs.tolist()
        }
        for doc in added:  # (each once, however many adding updates hold it)
            found = self._updated_anchors(doc)
            assert found is not None
            rows[doc] = found
        return rows

    def iter_stored(self) -> Any:
        """Every stored row in doc order (shared objects: read only)."""
        if not self._anchor_updates:
            return self._store.iter_rows()
        patched = self._anchor_rows()
        return (
            row if (anchors := patched.get(doc)) is None else {**row, "anchors": list(anchors)}
            for doc, row in enumerate(self._store.iter_rows())
        )

    def section(self, doc: int) -> tuple[str, ...]:
        """The section path of ``doc`` as written in the article."""
        return tuple(self.stored(doc)["section"])

    def title_key_of(self, doc: int) -> str:
        """The title key of one doc (see :func:`bnsearch.index.links.title_key`)."""
        blob, offsets = self._keys
        return decode_one(blob, int(offsets[doc]), int(offsets[doc + 1]), self._where)

    def url_of(self, doc: int) -> str:
        """The URL of one doc as given (``""`` when none)."""
        blob, offsets = self._urls
        return decode_one(blob, int(offsets[doc]), int(offsets[doc + 1]), self._where)

    def title_keys(self) -> list[str]:
        return decode_strings(*self._keys, f"{self._where} title keys")

    def urls(self) -> list[str]:
        return decode_strings(*self._urls, f"{self._where} urls")

    def link_table(self, part: str) -> list[str]:
        """Per edge: ``"key"`` (headline key), ``"url"`` or ``"tid"`` (target id), ``""``
        when absent."""
        return decode_strings(*self._link_tables[part], f"{self._where} link {part}s")

    def link_values(self, part: str, edges: Sequence[int]) -> list[str]:
        """:meth:`link_table` values of the given edges only (link lookups by key)."""
        blob, offsets = self._link_tables[part]
        where = f"{self._where} link {part}s"
        return [decode_one(blob, int(offsets[e]), int(offsets[e + 1]), where) for e in edges]

    def link_headline(self, doc: int, link_no: int) -> str:
        """The headline of link ``link_no`` of ``doc`` (from the segment's headline table,
        or, in a segment written before it existed, from the stored row)."""
        if self._link_headlines is None:
            return self.related_headlines(doc)[link_no]
        src = self.link_src  # searched with its own dtype: a Python int converts the array
        edge = int(src.searchsorted(src.dtype.type(doc), side="left")) + link_no
        blob, offsets = self._link_headlines
        where = f"{self._where} link headlines"
        return decode_one(blob, int(offsets[edge]), int(offsets[edge + 1]), where)

    def link_headlines(self) -> list[str]:
        """Per edge, the link's headline (see :meth:`link_headline`)."""
        if self._link_headlines is not None:
            return decode_strings(*self._link_headlines, f"{self._where} link headlines")
        table = self.edges()
        return [
            self.related_headlines(src)[number]
            for src, number in zip(table.src, table.link_no, strict=True)
        ]

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


def encoded_terms(terms: Iterable[str]) -> list[bytes | None]:
    """``terms`` as :meth:`SegmentReader.position_runs` takes them (UTF-8; None for a
    term no table holds)."""
    return [_utf8(term) for term in terms]


def _utf8(term: str) -> bytes | None:
    """``term`` as UTF-8, or None (a lone surrogate: no stored term holds one)."""
    try:
        return term.encode()
    except UnicodeEncodeError:
        return None


#: The compiled term tables, or None where the bisect below serves (not built, or the
#: numpy/Python path asked for: :mod:`bnsearch.compiled`).
_TERMS = optional_module("bnsearch.index._terms")


def _ordinal(terms: list[str], term: str) -> int:
    """``term``'s place in the sorted ``terms``, or -1 (the term dictionary's lookup)."""
    index = bisect.bisect_left(terms, term)
    return index if index < len(terms) and terms[index] == term else -1


def _built_anchor_field(
    spec: FieldSpec,
    base: _FieldArrays,
    source: tuple[tuple[AnchorUpdate, ...], _FieldArrays] | None,
    update: tuple[AnchorUpdate, ...],
    max_doc: int,
) -> _FieldArrays:
    """The anchor field ``spec`` of a segment (its own field ``base``, terms decoded, of
    ``max_doc`` docs) built whole under ``update`` (resolved): spliced
    (:func:`.anchorfile.splice`) into ``source``'s field (built under its updates), else
    materialized from ``base``."""
    from bnsearch.index.anchorfile import materialize, splice

    assert base.terms is not None
    if source is not None:
        earlier, previous = source
        made = splice(spec, base, base.terms, previous, earlier, update, max_doc)
        if made is not None:
            return made
    return materialize(spec, base, base.terms, update, max_doc)
