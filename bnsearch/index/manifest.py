"""The manifest ``meta.json``: the commit point of an index.

It names the generation, the format version, the schema (with analyzer identities) and
every live segment with its files' sizes and CRC-32s, and its deletions file. A commit
writes all new files, fsyncs them, then replaces ``meta.json`` atomically (see
:meth:`FSDirectory.write_manifest`), so a reader sees either the old or the new commit,
never a mix. The manifest carries its own CRC-32 so a damaged one is detected too.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from bnsearch.errors import IndexFormatError
from bnsearch.index.directory import MANIFEST_TMP, FileInfo, check_name, plain_name

FORMAT_NAME = "bnsearch-index"
#: Bump on any incompatible change of the on-disk layout.
#: 2: stored-text blocks with the long texts outside JSON (see :mod:`.store`).
#: 3: a segment is one compound file (see :mod:`.compound`), deletions beside it.
#: 4: stored blocks may be LZ4 blocks (see :mod:`.store`; a version-3 reader would call
#: them damaged).
FORMAT_VERSION = 4
#: Versions this code opens: 1 and 2 differ only in their stored blocks and in keeping a
#: segment as a folder of ``.npy`` files, 3 only in holding zlib blocks alone; all are
#: still read.
READABLE_VERSIONS = (1, 2, 3, 4)
#: Doc ids are int32: no segment holds more docs.
MAX_DOCS = 2**31 - 1


@attrs.frozen(kw_only=True)
class SegmentEntry:
    """One live segment of a commit."""

    name: str
    max_doc: int
    del_count: int = 0
    deletes: str | None = None
    files: Mapping[str, FileInfo] = attrs.field(factory=dict)
    stats: Mapping[str, Any] = attrs.field(factory=dict)

    @property
    def live_count(self) -> int:
        return self.max_doc - self.del_count


@attrs.frozen(kw_only=True)
class Manifest:
    """One commit: generation, schema description and live segments."""

    generation: int
    schema: Mapping[str, Any]
    segments: tuple[SegmentEntry, ...] = ()
    next_segment: int = 1
    committed_at: str = ""

    @property
    def doc_count(self) -> int:
        return sum(entry.live_count for entry in self.segments)

    def to_bytes(self) -> bytes:
        body = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "generation": self.generation,
            "committed_at": self.committed_at or dt.datetime.now(dt.timezone.utc).isoformat(),
            "next_segment": self.next_segment,
            "schema": self.schema,
            "segments": [
                {
                    "name": entry.name,
                    "max_doc": entry.max_doc,
                    "del_count": entry.del_count,
                    "deletes": entry.deletes,
                    "files": {
                        name: {"size": info.size, "crc32": info.crc32}
                        for name, info in sorted(entry.files.items())
                    },
                    "stats": entry.stats,
                }
                for entry in self.segments
            ],
        }
        canonical = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        encoded = canonical.encode("utf-8")
        # written compact, as the checksum's form (json's C encoder; an indented one is
        # json's Python encoder, 0.6 ms of a one-article commit into 100k articles), with
        # the checksum as its first key: "checksum" sorts before every key of the body,
        # so this is the body with it dumped again, without dumping it again
        return b'{"checksum":%d,' % zlib.crc32(encoded) + encoded[1:]

    @classmethod
    def from_bytes(cls, data: bytes, *, where: str) -> Manifest:
        """Parse and check a manifest; any problem is an :class:`IndexFormatError`."""
        try:
            body = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            raise IndexFormatError(f"{where}: manifest is not valid JSON ({error})") from None
        except RecursionError:
            raise IndexFormatError(f"{where}: manifest is nested too deeply") from None
        if not isinstance(body, dict) or body.get("format") != FORMAT_NAME:
            raise IndexFormatError(f"{where}: not a bnsearch index manifest")
        version = body.get("format_version")
        if version not in READABLE_VERSIONS:
            raise IndexFormatError(
                f"{where}: index format version {version!r}, this bnsearch reads versions "
                f"{', '.join(map(str, READABLE_VERSIONS))}; rebuild the index with this version"
            )
        checksum = body.pop("checksum", None)
        try:
            canonical = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        except (RecursionError, TypeError, ValueError) as error:  # e.g. deep nesting
            raise IndexFormatError(f"{where}: manifest is malformed ({error!r})") from None
        if checksum != zlib.crc32(canonical.encode("utf-8", "surrogatepass")):
            raise IndexFormatError(f"{where}: manifest checksum mismatch (the file is damaged)")
        try:
            listed = body["segments"]
            if type(listed) is not list:  # '' or {} would read as no segments
                raise ValueError(f"segments is {listed!r:.40}, a list expected")
            segments = tuple(_segment(item, where) for item in listed)
            names = [entry.name for entry in segments]
            if len(set(names)) != len(names):
                raise IndexFormatError(f"{where}: a segment is listed twice")
            return cls(
                generation=_count(body["generation"], "generation"),
                schema=body["schema"],
                segments=segments,
                next_segment=_count(body["next_segment"], "next_segment"),
                committed_at=str(body["committed_at"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise IndexFormatError(f"{where}: manifest is malformed ({error!r})") from None


def unreferenced(manifest: Manifest, names: Iterable[str]) -> list[str]:
    """The files among ``names`` (a folder's listing) that no segment of ``manifest``
    lists: ``seg-*`` files and a half-written next manifest. A crash between writing a
    segment (or the next manifest) and committing leaves them, as does a writer at work
    (its uncommitted segments, a background merge's output); the next writer removes
    them (:meth:`IndexWriter._remove_unreferenced`), and ``verify`` names them."""
    keep = {name for entry in manifest.segments for name in entry.files}
    return [
        name
        for name in names
        if (name.startswith("seg-") and name not in keep) or name == MANIFEST_TMP
    ]


def _count(value: object, label: str, limit: int = 2**63 - 1) -> int:
    """A JSON integer in ``0..limit`` (not a bool, a float or a string)."""
    if type(value) is not int or not 0 <= value <= limit:
        raise ValueError(f"{label} is {value!r}, an integer in 0..{limit} expected")
    return value


#: Another segment's compound file, which a segment lists when that file hosts one of its
#: anchor updates (see :mod:`bnsearch.index.anchorfile`).
_HOST = re.compile(r"seg-[0-9]+\.cfs")


def _segment(item: Any, where: str) -> SegmentEntry:
    """One segment of a manifest, its names and counts checked (no file is touched)."""
    name = item["name"]
    if not plain_name(name) or not str(name).startswith("seg-"):
        raise IndexFormatError(f"{where}: segment name {name!r} is not a plain seg-* name")
    max_doc = _count(item["max_doc"], f"{name}: max_doc", MAX_DOCS)
    del_count = _count(item["del_count"], f"{name}: del_count", max_doc)
    files: dict[str, FileInfo] = {}
    for file_name, info in dict(item["files"]).items():
        check_name(file_name, where)
        if not file_name.startswith((name + ".", name + "/")) and not _HOST.fullmatch(file_name):
            raise IndexFormatError(
                f"{where}: file {file_name!r} listed for segment {name!r} is not one of its files"
            )
        files[file_name] = FileInfo(
            size=_count(info["size"], f"{file_name}: size"),
            crc32=_count(info["crc32"], f"{file_name}: crc32", 2**32 - 1),
        )
    deletes = item["deletes"]
    if deletes is not None and deletes not in files:
        raise IndexFormatError(
            f"{where}: deletions file {deletes!r} of segment {name!r} is not among its files"
        )
    if (deletes is None) != (del_count == 0):
        raise IndexFormatError(
            f"{where}: segment {name!r} has {del_count} deletions and deletions file {deletes!r}"
        )
    stats = item.get("stats", {})
    return SegmentEntry(
        name=name,
        max_doc=max_doc,
        del_count=del_count,
        deletes=deletes,
        files=files,
        stats=dict(stats) if isinstance(stats, dict) else {},
    )
