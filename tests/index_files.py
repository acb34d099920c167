"""Test helpers that reach into an index folder: read and rewrite a segment's arrays and
its manifest as a crafted file would (checksums recomputed), to test what opening and
``verify`` make of content that is wrong but consistent."""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from bnsearch.index import compound
from bnsearch.index.directory import FileInfo, FSDirectory
from bnsearch.index.manifest import Manifest, SegmentEntry
from bnsearch.index.segment import compound_name


def manifest_of(path: Path) -> Manifest:
    data = FSDirectory(path).read_manifest()
    assert data is not None
    return Manifest.from_bytes(data, where="test")


def segment_arrays(path: Path, entry: SegmentEntry) -> dict[str, np.ndarray]:
    """Copies of every array of a compound segment, by stem."""
    buffer = np.fromfile(path / compound_name(entry.name), dtype=np.uint8)
    table = compound.read_table(buffer, "test")
    return {stem: np.array(compound.view(buffer, item)) for stem, item in table.items()}


def rewrite_segments(
    path: Path, change: Callable[[SegmentEntry, dict[str, np.ndarray]], dict[str, np.ndarray]]
) -> None:
    """Rewrite every segment's compound file with ``change(entry, arrays)`` and write a
    manifest whose sizes and checksums match (a crafted, self-consistent index)."""
    manifest = manifest_of(path)
    written = {}
    for entry in manifest.segments:
        arrays = change(entry, segment_arrays(path, entry))
        name = compound_name(entry.name)
        written[name] = FSDirectory(path).write_parts(name, compound.encode(arrays))
    entries = []
    for entry in manifest.segments:  # a file hosting another's anchor update is listed twice
        files = {name: written.get(name, info) for name, info in entry.files.items()}
        entries.append(attrs.evolve(entry, files=files))
    FSDirectory(path).write_manifest(attrs.evolve(manifest, segments=tuple(entries)).to_bytes())


def rewrite_manifest_body(path: Path, change: Callable[[dict[str, Any]], Any]) -> None:
    """Apply ``change(body)`` to the manifest's JSON and store it with a valid checksum."""
    body = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    body.pop("checksum")
    body = change(body) or body
    canonical = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    body["checksum"] = zlib.crc32(canonical.encode("utf-8"))
    (path / "meta.json").write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")


def file_info(data: bytes) -> FileInfo:
    return FileInfo(size=len(data), crc32=zlib.crc32(data))
