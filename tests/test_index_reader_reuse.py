"""A refreshed reader whose segment only gained deletions shares the segment's checked
arrays (a commit with links deletes the re-anchored targets from several segments) and
still reads, and checks, the new deletions file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bnsearch.articles import Article
from bnsearch.errors import IndexFormatError
from bnsearch.index import Index, IndexReader
from bnsearch.index.merge import MergePolicy

KEEP = MergePolicy(merge_factor=100, max_deleted_ratio=1.0)


def _index() -> Index:
    index = Index.in_memory()
    with index.writer(merge_policy=KEEP) as writer:
        for number in range(20):
            writer.add(Article(id=f"a{number}", title=f"শিরোনাম {number}", body="নামাজ রোজা"))
    return index


def test_deleting_shares_the_arrays_and_reads_the_new_deletions() -> None:
    index = _index()
    before = index.reader()
    with index.writer(merge_policy=KEEP) as writer:
        writer.delete("a3")
    after = before.refresh()
    old, new = before.segments[0], after.segments[0]
    assert new is not old and new._arrays is old._arrays
    assert old.find("a3") is not None and new.find("a3") is None
    assert after.doc_count == 19 and new.del_count == 1
    with index.writer(merge_policy=KEEP) as writer:  # a segment with deletions already
        writer.delete("a4")
    last = after.refresh()
    assert last.segments[0]._arrays is old._arrays
    assert last.doc_count == 18 and last.find("a4") is None and last.find("a3") is None
    fresh = index.reader()  # opened from the files: the same answers
    assert fresh.segments[0].live.tolist() == last.segments[0].live.tolist()


def test_a_damaged_deletions_file_is_refused_on_the_shared_path() -> None:
    index = _index()
    before = index.reader()
    with index.writer(merge_policy=KEEP) as writer:
        writer.delete("a3")
    entry = index.reader().manifest.segments[0]
    assert entry.deletes is not None
    data = bytearray(index.directory.read_bytes(entry.deletes))
    data[-1] ^= 0x01
    index.directory.remove(entry.deletes)
    index.directory.write_bytes(entry.deletes, bytes(data))
    with pytest.raises(IndexFormatError, match="deletions"):
        before.refresh()


def _remade(path: Path, commits: list[int]) -> IndexReader:
    """A reader of an index of five articles at ``path``, whose folder is then deleted
    and made anew with ``commits`` (articles per commit; ids ``new{commit}-{number}``)."""
    first = Index.create(path)
    with first.writer(merge_policy=KEEP) as writer:
        for number in range(5):
            writer.add(Article(id=f"old{number}", title="পুরনো", body="নামাজ"))
    before = first.reader()
    shutil.rmtree(path)
    second = Index.create(path)
    for batch, count in enumerate(commits):
        with second.writer(merge_policy=KEEP) as writer:
            for number in range(count):
                writer.add(Article(id=f"new{batch}-{number}", title="নতুন", body="রোজা"))
    return before


def test_a_folder_made_anew_at_the_same_path_is_not_read_through_old_arrays(
    tmp_path: Path,
) -> None:
    """Segment names restart in a folder deleted and created again: a reader refreshed
    across that must open the new files, not reuse the old segment's arrays by name."""
    # two commits: a newer generation, and seg-1 again
    after = _remade(tmp_path / "news", [5, 6]).refresh()
    assert after.find("old0") is None and after.find("new0-0") is not None
    assert after.doc_count == 11


def test_a_folder_made_anew_at_the_same_generation_is_read_anew(tmp_path: Path) -> None:
    """A folder deleted and made again with as many commits has the same generation: a
    reader refreshed across that returned itself (the old articles, from deleted files)."""
    before = _remade(tmp_path / "news", [7])
    after = before.refresh()
    assert after.generation == before.generation
    assert after.find("old0") is None and after.find("new0-0") is not None
    assert after.doc_count == 7
    assert after.refresh() is after  # (nothing changed since)
