"""A damaged or crafted ``shards.json`` is an :class:`IndexFormatError` saying so, never a
Python error, and it cannot point a shard at the sharded index's own folder (or outside
it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bnsearch.distributed import ShardedIndex
from bnsearch.errors import IndexFormatError


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    ShardedIndex.create(tmp_path / "s", shards=2)
    return tmp_path / "s" / "shards.json"


def test_deeply_nested_json_is_unreadable(manifest: Path) -> None:
    manifest.write_text("[" * 100_000)
    with pytest.raises(IndexFormatError, match="unreadable"):
        ShardedIndex.open(manifest.parent)


@pytest.mark.parametrize("folder", [".", "..", "", "a/b", "a\\b", "a\x00b"])
def test_a_shard_folder_must_be_a_plain_name(manifest: Path, folder: str) -> None:
    data = json.loads(manifest.read_text())
    data["folders"][0] = folder
    manifest.write_text(json.dumps(data))
    with pytest.raises(IndexFormatError, match="malformed sharded manifest"):
        ShardedIndex.open(manifest.parent)
