"""The sharded index's manifest (``shards.json``) and its routing rule.

A sharded index is a folder of ordinary bnsearch index folders (``shard-0000``, ...) and
this small manifest: the shard count, the routing rule, each shard's folder and the
generation of each shard as of the last completed ``add``/``delete``. It is written like an
index manifest: a temporary file, ``fsync``, an atomic ``os.replace``, an ``fsync`` of the
folder. An article goes to shard ``blake2b(id as UTF-8, 8 bytes) mod shards`` (big-endian),
so every machine routes an id alike, with no table to share.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import attrs

from bnsearch.errors import IndexFormatError

#: The manifest's file name; a folder holding it is a sharded index.
MANIFEST = "shards.json"
FORMAT = "bnsearch-sharded"
VERSION = 1
ROUTING = "blake2b-64-mod"


def shard_of(article_id: str, shards: int) -> int:
    """The shard an article id routes to (stable across processes and machines)."""
    digest = hashlib.blake2b(article_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


def shard_folder(number: int) -> str:
    """The folder name of shard ``number`` (``shard-0003``)."""
    return f"shard-{number:04d}"


def is_sharded(path: str | os.PathLike[str]) -> bool:
    """True if ``path`` is a sharded index folder (it holds ``shards.json``)."""
    return (Path(path) / MANIFEST).is_file()


@attrs.frozen(kw_only=True)
class ShardManifest:
    """What ``shards.json`` says.

    Attributes:
        shards: the shard count (fixed at creation: the routing depends on it).
        folders: each shard's folder, relative to the sharded index's folder.
        generations: each shard's generation after the last completed change.
        commit: how many changes (``add``/``delete``) completed; 0 for a new index.
    """

    shards: int
    folders: tuple[str, ...]
    generations: tuple[int, ...]
    commit: int = 0

    def to_json(self) -> dict[str, Any]:
        """What ``shards.json`` holds (with the format, version and routing rule)."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "routing": ROUTING,
            "shards": self.shards,
            "folders": list(self.folders),
            "generations": list(self.generations),
            "commit": self.commit,
        }

    @classmethod
    def from_json(cls, data: object, *, where: str) -> ShardManifest:
        """The manifest ``data`` (parsed JSON) describes; :class:`IndexFormatError` naming
        ``where`` when it is not a well-formed one."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise IndexFormatError(f"{where}: not a sharded bnsearch index manifest")
        if data.get("version") != VERSION or data.get("routing") != ROUTING:
            raise IndexFormatError(
                f"{where}: sharded index version {data.get('version')!r} with routing "
                f"{data.get('routing')!r}; this bnsearch reads version {VERSION} ({ROUTING})"
            )
        try:
            shards = data["shards"]
            folders = tuple(data["folders"])
            generations = tuple(data["generations"])
            commit = data["commit"]
        except (KeyError, TypeError) as error:
            raise IndexFormatError(f"{where}: malformed sharded manifest ({error!r})") from None
        ints = (shards, commit, *generations)
        if (
            not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in ints)
            or shards < 1
            or len(folders) != shards
            or len(generations) != shards
            or not all(_plain_name(f) for f in folders)
        ):
            raise IndexFormatError(
                f"{where}: malformed sharded manifest (shard count, folders and generations "
                "must agree; a folder is a plain name inside the index's folder)"
            )
        return cls(shards=shards, folders=folders, generations=generations, commit=commit)


def _plain_name(folder: object) -> bool:
    """True for a folder name that stays inside the sharded index's folder."""
    return (
        isinstance(folder, str)
        and folder not in ("", ".", "..")
        and not any(c in folder for c in "/\\\0")
    )


def read_manifest(root: Path) -> ShardManifest:
    """The manifest of the sharded index in ``root`` (:class:`IndexFormatError` if none
    or damaged)."""
    where = str(root / MANIFEST)
    try:
        raw = (root / MANIFEST).read_bytes()
    except FileNotFoundError:
        raise IndexFormatError(
            f"{where}: no sharded index here; create one with ShardedIndex.create(path, shards=N)"
        ) from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise IndexFormatError(f"{where}: unreadable sharded manifest ({error})") from None
    return ShardManifest.from_json(data, where=where)


def write_manifest(root: Path, manifest: ShardManifest) -> None:
    """Write ``shards.json`` durably and atomically (readers see the old or the new one)."""
    data = json.dumps(manifest.to_json(), indent=1).encode("utf-8")
    temporary = root / f".{MANIFEST}.tmp"
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, root / MANIFEST)
    folder = os.open(root, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
