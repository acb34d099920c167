"""Index room: a commit's hosted anchor updates packed in one array of its new segment.

A link commit whose targets lie in several segments writes one array into its new
segment's compound file (``anc.pack.<generation>``: a compound file of its own holding
every updated segment's arrays), not each update's arrays as stems of the host; indexes
written before packs (each update's stems in the host's table) still open, search and
verify the same, and take packed commits on top.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_index_link_updates import (
    LINKED,
    _fresh,
    _linker,
    _same_scores,
    layout_before_packs,
    stored_anchors,
)

from bnsearch.errors import IndexFormatError
from bnsearch.index import Index, MergePolicy, compound, verify

NO_MERGE = MergePolicy(merge_factor=64)


def _targets_in_segments(path: Path) -> Index:
    """LINKED in three segments of two targets each."""
    index = Index.create(path)
    for first in range(0, 6, 2):
        with index.writer(merge_policy=NO_MERGE) as writer:
            writer.add_many(LINKED[first : first + 2])
    assert len(index.reader().segments) == 3
    return index


def _hosted_stems(path: Path, host: str) -> list[str]:
    buffer = np.fromfile(path / host, dtype=np.uint8)
    return [stem for stem in compound.read_table(buffer, host) if stem.startswith("anc.")]


def test_a_commit_touching_several_segments_hosts_one_array(tmp_path: Path) -> None:
    path = tmp_path / "idx"
    index = _targets_in_segments(path)
    with index.writer(merge_policy=NO_MERGE) as writer:
        writer.add(_linker("s1", 0, 2, 3, 5))  # targets in all three segments
        result = writer.commit()
    reader = index.reader()
    *targets, new = reader.segments
    host = f"{new.name}.cfs"
    assert [[(u.name, u.generation) for u in s.anchor_updates] for s in targets] == [
        [(host, result.generation)]
    ] * 3
    assert _hosted_stems(path, host) == [f"anc.pack.{result.generation:06d}"]
    buffer = np.fromfile(path / host, dtype=np.uint8)
    outer = compound.read_table(buffer, host)
    _, packed = compound.nested(buffer, outer[f"anc.pack.{result.generation:06d}"], host)
    assert {stem.split(".", 1)[0] for stem in packed} == {s.name for s in targets}
    articles = [*LINKED, _linker("s1", 0, 2, 3, 5)]
    assert stored_anchors(index) == stored_anchors(_fresh(articles))
    _same_scores(Index.open(path), _fresh(articles))
    assert verify(path).ok


def test_an_index_written_before_packs_opens_searches_and_takes_packed_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "idx"
    index = _targets_in_segments(path)
    with monkeypatch.context() as patched:
        layout_before_packs(patched)
        with index.writer(merge_policy=NO_MERGE) as writer:
            writer.add(_linker("s1", 0, 2, 4))
    old_host = f"{index.reader().segments[-1].name}.cfs"
    old_stems = _hosted_stems(path, old_host)
    assert len(old_stems) > 3 and not any(s.startswith("anc.pack.") for s in old_stems)
    articles = [*LINKED, _linker("s1", 0, 2, 4)]
    assert stored_anchors(Index.open(path)) == stored_anchors(_fresh(articles))
    _same_scores(Index.open(path), _fresh(articles))
    assert verify(path).ok
    # packed commits on top: a segment's updates of both layouts stack, then fold
    for number in range(12):
        with Index.open(path).writer(merge_policy=NO_MERGE) as writer:
            linker = _linker(f"p{number}", number % 6, (number + 3) % 6)
            writer.add(linker)
        articles.append(linker)
        if number == 0:  # the first segment's updates: the old layout's, then a pack's
            hosts = [u.name for u in Index.open(path).reader().segments[0].anchor_updates]
            assert hosts[0] == old_host and len(hosts) == 2
            assert _hosted_stems(path, hosts[1])[0].startswith("anc.pack.")
    assert stored_anchors(Index.open(path)) == stored_anchors(_fresh(articles))
    _same_scores(Index.open(path), _fresh(articles))
    assert verify(path).ok


def test_a_damaged_pack_table_is_a_format_error_and_verify_names_it(tmp_path: Path) -> None:
    path = tmp_path / "idx"
    index = _targets_in_segments(path)
    with index.writer(merge_policy=NO_MERGE) as writer:
        writer.add(_linker("s1", 0, 2, 5))
        generation = writer.commit().generation
    host = f"{index.reader().segments[-1].name}.cfs"
    data = bytearray((path / host).read_bytes())
    outer = compound.read_table(np.frombuffer(bytes(data), dtype=np.uint8), host)
    pack = outer[f"anc.pack.{generation:06d}"]
    data[pack.offset + pack.nbytes - 20] ^= 0x01  # in the packed file's footer
    (path / host).write_bytes(bytes(data))
    with pytest.raises(IndexFormatError, match=r"anc\.pack\."):
        Index.open(path).reader()
    report = verify(path)
    assert not report.ok
    assert any(f"anc.pack.{generation:06d}" in problem for problem in report.problems)
