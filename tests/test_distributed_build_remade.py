"""A shard folder made anew (the sharded index deleted and built again at the same path)
reaches the same generations with other articles: a process keeping a reader of the
old folder must not serve it to a searcher of the new one, and a searcher of the old
folder must not be answered from the new one under its old statistics.

Two processes are played in one: the searcher's snapshot is taken (``shard_state``)
where the new folder is seen, and the query is answered where the old folder's reader
is still kept (the module's kept readers put back as they were), as on a cluster whose
states and queries run on different workers.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bnsearch.articles import Article
from bnsearch.distributed import ShardedIndex
from bnsearch.distributed import shard as shard_module
from bnsearch.distributed.shard import StaleShardError


def _articles(word: str, prefix: str) -> list[Article]:
    return [
        Article(id=f"{prefix}-{n}", title=f"{word} {n}", body=f"{word} বিষয়ে খবর {n}")
        for n in range(12)
    ]


OLD = _articles("নদী", "old")
NEW = _articles("বাজেট", "new")


def _remake(root: Path, articles: list[Article]) -> ShardedIndex:
    shutil.rmtree(root, ignore_errors=True)
    sharded = ShardedIndex.create(root, shards=2)
    sharded.add(articles)
    return sharded


def test_a_kept_reader_of_the_old_folder_is_not_served_to_the_new_one(tmp_path: Path) -> None:
    root = tmp_path / "s"
    old = _remake(root, OLD)
    assert old.searcher().search("নদী").total == len(OLD)  # the old readers kept
    kept = dict(shard_module._open)
    new = _remake(root, NEW)
    assert new.manifest.generations == old.manifest.generations  # the same generations
    searcher = new.searcher()  # its snapshot taken where the new folder is seen
    shard_module._open.update(kept)  # answered where the old readers are kept
    found = searcher.search("বাজেট")
    assert found.total == len(NEW)
    assert {hit.id for hit in found} <= {a.id for a in NEW}
    assert searcher.search("নদী").total == 0


def test_a_searcher_of_the_old_folder_is_told_to_refresh(tmp_path: Path) -> None:
    root = tmp_path / "s"
    old = _remake(root, OLD)
    searcher = old.searcher()
    _remake(root, NEW)
    shard_module._open.clear()  # a process that kept no reader of it
    with pytest.raises(StaleShardError):
        searcher.search("নদী")
    refreshed = searcher.refresh()
    assert refreshed.search("বাজেট").total == len(NEW)
