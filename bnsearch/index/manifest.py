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
import zlib
from collections.abc import Mapping
from typing import Any

import attrs

from bnsearch.errors import IndexFormatError
from bnsearch.index.directory import FileInfo

FORMAT_NAME = "bnsearch-index"
#: Bump on any incompatible change of the on-disk layout.
#: 2: stored-text blocks with the long texts outside JSON (see :mod:`.store`).
FORMAT_VERSION = 2
#: Versions this code opens: version 1 differs only in its stored blocks, still read.
READABLE_VERSIONS = (1, 2)


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
        body["checksum"] = zlib.crc32(canonical.encode("utf-8"))
        return json.dumps(body, ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes, *, where: str) -> Manifest:
        """Parse and check a manifest; any problem is an :class:`IndexFormatError`."""
        try:
            body = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            raise IndexFormatError(f"{where}: manifest is not valid JSON ({error})") from None
        if not isinstance(body, dict) or body.get("format") != FORMAT_NAME:
            raise IndexFormatError(f"{where}: not a bnsearch index manifest")
        version = body.get("format_version")
        if version not in READABLE_VERSIONS:
            raise IndexFormatError(
                f"{where}: index format version {version!r}, this bnsearch reads versions "
                f"{', '.join(map(str, READABLE_VERSIONS))}; rebuild the index with this version"
            )
        checksum = body.pop("checksum", None)
        canonical = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        if checksum != zlib.crc32(canonical.encode("utf-8")):
            raise IndexFormatError(f"{where}: manifest checksum mismatch (the file is damaged)")
        try:
            segments = tuple(
                SegmentEntry(
                    name=str(item["name"]),
                    max_doc=int(item["max_doc"]),
                    del_count=int(item["del_count"]),
                    deletes=item["deletes"],
                    files={
                        name: FileInfo(size=int(info["size"]), crc32=int(info["crc32"]))
                        for name, info in item["files"].items()
                    },
                    stats=dict(item.get("stats", {})),
                )
                for item in body["segments"]
            )
            return cls(
                generation=int(body["generation"]),
                schema=body["schema"],
                segments=segments,
                next_segment=int(body["next_segment"]),
                committed_at=str(body["committed_at"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise IndexFormatError(f"{where}: manifest is malformed ({error!r})") from None
