"""``verify(path)``: check an index's checksums and structure and name what is wrong.

Checks, in order: the manifest (readable, own checksum, format version, plain file names,
bounded counts), the schema and analyzer identities, every file listed for every segment
(present, size, CRC-32; for a damaged compound file, which of its arrays fail their own
CRC-32), then the open checks of :class:`~bnsearch.index.segment.SegmentReader` and the
structure of each segment (sorted terms, monotone CSR pointers, doc ids in range and
ascending per term, positive term frequencies, positions matching frequencies, norms,
ids and publication dates one per doc (the dates when the segment opens), stored rows
readable and matching the ids, word spans one per word and inside the stored text, no
article id live twice), and last, when nothing else is
wrong, that every live article's stored anchors are the headlines of the links that
resolve to it (one resolution of every live link, about 7 microseconds a link: small next
to reading every stored row, which verify does anyway).
A healthy index gives a report with no problems; the CLI's ``bnsearch verify`` prints it.
Files in the folder that the manifest does not reference are warnings, not problems (a
crash before a commit leaves them; see :func:`bnsearch.index.manifest.unreferenced`).
"""

from __future__ import annotations

import itertools
import os
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from bnsearch.errors import BnSearchError
from bnsearch.index import blockmax, compound, wordspans
from bnsearch.index.anchorfile import PACK, same_anchors
from bnsearch.index.directory import Directory, FSDirectory
from bnsearch.index.linkmaps import map_problems
from bnsearch.index.links import LinkGraph, graph_from_segments
from bnsearch.index.manifest import Manifest, SegmentEntry, unreferenced
from bnsearch.index.norms import encode_lengths
from bnsearch.index.reader import read_manifest
from bnsearch.index.schema import TEXT, Schema
from bnsearch.index.segment import LINK_HEADLINES, SegmentReader

_CHUNK = 1 << 20


@attrs.frozen(kw_only=True)
class VerifyReport:
    """The outcome of :func:`verify`; ``ok`` when ``problems`` is empty."""

    location: str
    generation: int | None
    segments: int
    doc_count: int
    files_checked: int
    problems: tuple[str, ...]
    #: What is not damage but worth knowing (files the manifest does not reference).
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        head = (
            f"{self.location}: generation {self.generation}, {self.segments} segments, "
            f"{self.doc_count} live articles, {self.files_checked} files checked"
        )
        lines = [f"  - {problem}" for problem in self.problems]
        lines += [f"  - warning: {warning}" for warning in self.warnings]
        if self.ok:
            head += ": OK" + (f", {len(self.warnings)} warning(s)" if self.warnings else "")
        else:
            head += f": {len(self.problems)} problem(s)"
        return "\n".join([head, *lines])


def _crc(directory: Directory, name: str) -> tuple[int, int]:
    if isinstance(directory, FSDirectory):
        crc, size = 0, 0
        with open(directory.path / name, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                crc = zlib.crc32(chunk, crc)
                size += len(chunk)
        return size, crc
    data = directory.read_bytes(name)
    return len(data), zlib.crc32(data)


def _check_files(directory: Directory, entry: SegmentEntry, problems: list[str]) -> int:
    checked = 0
    for name, info in sorted(entry.files.items()):
        where = directory.describe(name)
        try:
            size, crc = _crc(directory, name)
        except FileNotFoundError:
            problems.append(f"{where}: file missing")
            continue
        except OSError as error:
            problems.append(f"{where}: cannot be read ({error.strerror})")
            continue
        checked += 1
        if size != info.size:
            problems.append(f"{where}: size {size} bytes, manifest says {info.size}")
        elif crc != info.crc32:
            problems.append(
                f"{where}: checksum mismatch (CRC-32 {crc:08x}, manifest says "
                f"{info.crc32:08x}): the file is damaged{_damaged_arrays(directory, name)}"
            )
    return checked


def _damaged_arrays(directory: Directory, name: str) -> str:
    """For a compound file, which of its arrays fail their own CRC-32 (or its table)."""
    if not name.endswith(compound.SUFFIX):
        return ""
    try:
        buffer = directory.map_file(name)
        table = compound.read_table(buffer, directory.describe(name))
    except BnSearchError as error:
        return f" ({error})"
    damaged = [stem for stem, item in table.items() if not compound.check_crc(buffer, item)]
    for stem in [stem for stem in damaged if stem.startswith(PACK)]:  # which update's array
        try:
            inner, packed = compound.nested(buffer, table[stem], f"{name} {stem!r}")
        except BnSearchError as error:
            damaged.append(f"{stem} ({error})")
            continue
        damaged += [
            f"{stem}/{part}" for part, item in packed.items() if not compound.check_crc(inner, item)
        ]
    if not damaged:
        return " (outside its arrays: padding or table)"
    return "; damaged arrays: " + ", ".join(repr(stem) for stem in damaged)


def _check_field(segment: SegmentReader, name: str, text: bool, problems: list[str]) -> None:
    where = f"{segment.name} field {name!r}"
    arrays = segment._field(name)
    terms = segment.terms(name)
    if any(a >= b for a, b in itertools.pairwise(terms)):
        problems.append(f"{where}: terms are not strictly sorted")
    indptr = np.asarray(arrays.indptr, dtype=np.int64)
    docs = np.asarray(arrays.docs)
    tfs = np.asarray(arrays.tfs)
    if len(indptr) != len(terms) + 1 or (len(indptr) and indptr[0] != 0):
        problems.append(f"{where}: {len(indptr)} postings pointers for {len(terms)} terms")
        return
    if np.any(np.diff(indptr) < 0) or int(indptr[-1]) != len(docs) or len(docs) != len(tfs):
        problems.append(f"{where}: postings pointers do not match {len(docs)} postings")
        return
    if len(docs) and (int(docs.min()) < 0 or int(docs.max()) >= segment.max_doc):
        problems.append(f"{where}: doc id out of range 0..{segment.max_doc - 1}")
    step = np.diff(docs.astype(np.int64))
    first_of_term = np.zeros(len(docs), dtype=bool)
    first_of_term[indptr[:-1][np.diff(indptr) > 0]] = True
    if len(step) and np.any((step <= 0) & ~first_of_term[1:]):
        problems.append(f"{where}: doc ids not ascending within a term")
    if len(tfs) and int(tfs.min()) <= 0:
        problems.append(f"{where}: zero term frequency")
    if arrays.forms is not None and len(arrays.forms) != len(docs):
        problems.append(f"{where}: {len(arrays.forms)} form flags for {len(docs)} postings")
    if text:
        norms, lens = segment.norms(name), segment.field_lengths(name)
        if len(norms) != segment.max_doc or len(lens) != segment.max_doc:
            problems.append(f"{where}: norms/lengths are not one per doc")
        else:
            _check_lengths(where, docs, tfs, norms, lens, problems)
            if arrays is segment._fields.get(name):  # (anchor updates keep no block maxima)
                stems = {n: f"fld.{name}.{n}" for n in blockmax.NAMES}
                blocks = {
                    n: segment.array(stem) if segment.has_array(stem) else None
                    for n, stem in stems.items()
                }
                found = blockmax.problems(blocks, indptr, docs, tfs, norms, arrays.forms, deep=True)
                problems.extend(f"{where}: {problem}" for problem in found)
        if arrays.pos is not None and arrays.posptr is not None:
            total = int(tfs.sum(dtype=np.int64))
            if len(arrays.pos) != total or len(arrays.posptr) != len(terms) + 1:
                problems.append(f"{where}: {len(arrays.pos)} positions for {total} occurrences")
    elif len(segment.facet(name)[1]) != segment.max_doc:
        problems.append(f"{where}: facet values are not one per doc")


def _check_lengths(
    where: str, docs: Any, tfs: Any, norms: Any, lens: Any, problems: list[str]
) -> None:
    """A doc's field length is the sum of its term frequencies (every word is one
    occurrence of one term) and its norm is that length encoded: a crafted length or
    norm with valid checksums would otherwise change scores unnoticed."""
    counted = np.bincount(
        np.asarray(docs, dtype=np.int64), weights=tfs, minlength=len(lens)
    ).astype(np.int64)
    wrong = np.flatnonzero(counted != np.asarray(lens, dtype=np.int64))
    if len(wrong):
        problems.append(
            f"{where}: doc {int(wrong[0])} has length {int(lens[wrong[0]])} but "
            f"{int(counted[wrong[0]])} words in the postings ({len(wrong)} docs differ)"
        )
    elif np.any(encode_lengths(lens) != np.asarray(norms)):
        problems.append(f"{where}: norms do not encode the field lengths")


@attrs.define
class LinkRows:
    """What the anchor check needs from the stored rows of live docs."""

    headlines: dict[str, list[str]] = attrs.field(factory=dict)  # source -> link headlines
    anchors: dict[str, list[str]] = attrs.field(factory=dict)  # id -> stored anchors (non-empty)

    def note(self, article_id: str, row: dict[str, Any]) -> None:
        """Take what the check needs from a live doc's stored row."""
        if row.get("related"):
            self.headlines[article_id] = [str(link[0]) for link in row["related"]]
        if row.get("anchors"):
            self.anchors[article_id] = list(row["anchors"])


def link_rows(segments: Sequence[SegmentReader]) -> LinkRows:
    """The related headlines and stored anchors of the live docs of ``segments``."""
    found = LinkRows()
    for segment in segments:
        ids = segment.article_ids()
        for doc in np.flatnonzero(segment.live).tolist():
            found.note(ids[doc], segment.stored(doc))
    return found


def _check_segment(
    segment: SegmentReader,
    schema: Schema,
    problems: list[str],
    seen: dict[str, str],
    link_rows: LinkRows,
) -> None:
    for spec in schema.fields:
        _check_field(segment, spec.name, spec.kind == TEXT, problems)
    for read in (
        segment.title_keys,
        segment.urls,
        *(lambda part=part: segment.link_table(part) for part in ("key", "url", "tid")),
    ):
        try:
            read()  # every string table is UTF-8
        except BnSearchError as error:
            problems.append(str(error))
    try:
        problems.extend(map_problems(segment))  # the link key maps match the link keys
    except BnSearchError as error:
        problems.append(str(error))
    ids = segment.article_ids()
    try:
        rows = list(segment.iter_stored())
    except BnSearchError as error:
        problems.append(str(error))
        return
    if len(rows) != segment.max_doc:
        problems.append(f"{segment.name}: {len(rows)} stored rows for {segment.max_doc} docs")
        return
    for doc, row in enumerate(rows):
        if row.get("id") != ids[doc]:
            stored_id = row.get("id")
            problems.append(f"{segment.name} doc {doc}: stored id {stored_id!r} != {ids[doc]!r}")
            break
    for spec in schema.text_fields:
        spans = segment.word_spans(spec.name)
        if spans is not None:
            texts: list[str | None] = [row.get(spec.source) for row in rows]
            found = wordspans.check_words(
                *spans, segment.field_lengths(spec.name), texts.__getitem__
            )
            problems.extend(f"{segment.name} field {spec.name!r}: {p}" for p in found)
    _check_link_headlines(segment, rows, problems)
    for doc in np.flatnonzero(segment.live).tolist():
        other = seen.get(ids[doc])
        if other is not None:
            problems.append(f"article {ids[doc]!r} is live in both {other} and {segment.name}")
        seen[ids[doc]] = segment.name
        link_rows.note(ids[doc], rows[doc])


def _check_link_headlines(
    segment: SegmentReader, rows: list[dict[str, Any]], problems: list[str]
) -> None:
    """The segment's per-link headline table (when it has one) must be the headlines
    of the stored rows' related links."""
    if not segment.has_array(f"{LINK_HEADLINES}.off") or not len(segment.link_src):
        return
    try:
        headlines = segment.link_headlines()
    except BnSearchError as error:
        problems.append(str(error))
        return
    table = segment.edges()
    for edge, (src, number) in enumerate(zip(table.src, table.link_no, strict=True)):
        related = rows[src].get("related") or []
        if number >= len(related) or headlines[edge] != str(related[number][0]):
            problems.append(
                f"{segment.name}: link {edge}'s headline {headlines[edge]!r} is not the "
                "stored row's (rebuild the index to repair)"
            )
            return


_MAX_ANCHOR_PROBLEMS = 10


def _check_anchors(segments: list[SegmentReader], link_rows: LinkRows, problems: list[str]) -> None:
    """Stored anchors must be the headlines of the links that resolve to each article."""
    where: dict[str, tuple[int, int]] = {}
    for ordinal, segment in enumerate(segments):
        ids = segment.article_ids()
        for doc in np.flatnonzero(segment.live).tolist():
            where[ids[doc]] = (ordinal, doc)
    problems.extend(anchor_problems(graph_from_segments(segments, where.get), link_rows))


def anchor_differences(graph: LinkGraph, link_rows: LinkRows) -> dict[str, list[str]]:
    """Articles whose stored anchors (``link_rows``) are not the headlines of the links
    ``graph`` resolves to them, each with those headlines (sorted by id)."""
    incoming = {target: graph.incoming_refs(target) for target in graph.in_link_counts()}
    wrong: dict[str, list[str]] = {}
    for ident in sorted(incoming.keys() | link_rows.anchors.keys()):
        expected = [
            link_rows.headlines[source][number] for source, number in incoming.get(ident, ())
        ]
        if not same_anchors(link_rows.anchors.get(ident, []), expected):
            wrong[ident] = expected
    return wrong


def anchor_problems(graph: LinkGraph, link_rows: LinkRows) -> list[str]:
    """:func:`anchor_differences` as report lines (at most ten named, then a count)."""
    wrong = anchor_differences(graph, link_rows)
    problems = [
        f"article {ident!r}: stored anchors {link_rows.anchors.get(ident, [])!r}, but the "
        f"links resolving to it give {expected!r} (rebuild the index to repair)"
        for ident, expected in list(wrong.items())[:_MAX_ANCHOR_PROBLEMS]
    ]
    if len(wrong) > _MAX_ANCHOR_PROBLEMS:
        problems.append(f"... anchors differ for {len(wrong)} articles in all")
    return problems


_MAX_NAMED_FILES = 10


def _leftovers(directory: Directory, manifest: Manifest) -> tuple[str, ...]:
    """Warnings for files in the folder that ``manifest`` does not reference."""
    try:
        left = unreferenced(manifest, directory.list_names())
    except OSError:
        return ()
    if not left:
        return ()
    named = ", ".join(left[:_MAX_NAMED_FILES])
    if len(left) > _MAX_NAMED_FILES:
        named += f" and {len(left) - _MAX_NAMED_FILES} more"
    found = [
        f"{len(left)} file(s) not referenced by the manifest: {named} (a crash between "
        "writing a segment and committing leaves them, as does a writer at work now; "
        "they are not read, and the next writer removes them)"
    ]
    if not manifest.segments and any(name.startswith("seg-") for name in left):
        found.append(
            "the manifest lists no segments, yet segment files are in the folder: a crash "
            "before the first commit, or a commit that deleted every article, leaves this; "
            "if the index should hold articles, its meta.json was replaced (restore it from "
            "a copy before a writer opens the index and removes those files)"
        )
    return tuple(found)


def verify(target: str | os.PathLike[str] | Any, *, anchors: bool = True) -> VerifyReport:
    """Check the index at ``target`` (a folder path or an :class:`Index`).

    ``anchors=False`` leaves out the anchor check (a shard of a sharded index: its
    anchors come from links on every shard, which the sharded index checks).
    """
    directory: Directory
    if isinstance(target, (str, os.PathLike)):
        directory = FSDirectory(Path(target))
        location = str(target)
    else:
        directory = target.directory
        location = str(target.path) if target.path is not None else "<memory>"
    problems: list[str] = []
    try:
        manifest: Manifest = read_manifest(directory)
    except (BnSearchError, OSError) as error:
        problem = str(error)
        if isinstance(error, OSError):  # a file where the folder should be, no permission
            problem = f"{location}: no index folder readable here ({error.strerror})"
        return VerifyReport(
            location=location,
            generation=None,
            segments=0,
            doc_count=0,
            files_checked=0,
            problems=(problem,),
        )
    schema: Schema | None = None
    try:
        schema = Schema.from_json(manifest.schema)
    except BnSearchError as error:
        problems.append(str(error))
        try:
            schema = Schema.from_json(manifest.schema, check_identities=False)
        except BnSearchError:
            schema = None
    checked = 0
    seen: dict[str, str] = {}
    link_rows = LinkRows()
    opened: list[SegmentReader] = []
    for ordinal, entry in enumerate(manifest.segments):
        before = len(problems)
        checked += _check_files(directory, entry, problems)
        if len(problems) > before or schema is None:
            continue  # structure checks on damaged bytes would only repeat the problem
        try:
            segment = SegmentReader(directory, entry, schema, ordinal=ordinal)
            _check_segment(segment, schema, problems, seen, link_rows)
            opened.append(segment)
        except (BnSearchError, ValueError, IndexError) as error:
            problems.append(f"{directory.describe(entry.name)}: {error}")
        except (TypeError, KeyError) as error:  # a stored row's value of another shape
            problems.append(
                f"{directory.describe(entry.name)}: a stored row is malformed "
                f"({type(error).__name__}: {error})"
            )
    if anchors and not problems and opened:
        try:
            _check_anchors(opened, link_rows, problems)
        except BnSearchError as error:  # verify reports, it never raises on damage
            problems.append(str(error))
    return VerifyReport(
        location=location,
        generation=manifest.generation,
        segments=len(manifest.segments),
        doc_count=manifest.doc_count,
        files_checked=checked,
        problems=tuple(problems),
        warnings=_leftovers(directory, manifest),
    )
