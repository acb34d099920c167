"""A writer takes each segment under the anchor update it has just written in one step
(``SegmentReader.with_written_update``, not a scan of the entry's files and a reread):
its readers hold what a reader opened from the files holds, through adding updates,
replacing ones and folds."""

from __future__ import annotations

import random
from pathlib import Path

import attrs
import pytest
from test_index_anchor_adds import _linker, _same_as_fresh, _target

from bnsearch.articles import Article
from bnsearch.index import Index, MergePolicy
from bnsearch.index.anchorfile import MAX_UPDATES, anchors_files
from bnsearch.index.reader import IndexReader
from bnsearch.index.segment import SegmentReader


def _updates(reader: IndexReader) -> dict[str, list[tuple[str, int, bool, list[int]]]]:
    """Per segment: its anchor updates (file, generation, adds, docs), oldest first."""
    return {
        segment.name: [
            (u.name, u.generation, u.adds, u.docs.tolist()) for u in segment.anchor_updates
        ]
        for segment in reader.segments
    }


def _anchors(reader: IndexReader) -> dict[str, tuple[str, ...]]:
    return {
        segment.article_id(doc): segment.stored_anchors(doc)
        for segment in reader.segments
        for doc in range(segment.max_doc)
        if segment.live[doc]
    }


@pytest.mark.parametrize("seed", range(3))
def test_a_writers_readers_hold_the_updates_a_fresh_open_reads(seed: int, tmp_path: Path) -> None:
    """Commits of new linkers (adding updates, folded past MAX_UPDATES), a linker
    deleted and a target retitled now and then (replacing updates): after each commit
    the writer's own readers list exactly the update files of their entries, the same
    updates (generation, kind, docs) and the same stored anchors as a reader opened
    from the manifest; at the end scores equal a fresh build's."""
    rng = random.Random(seed)
    index = Index.create(tmp_path / "idx")
    live: dict[str, Article] = {f"t{n}": _target(n) for n in range(10)}
    with index.writer() as writer:
        writer.add_many(list(live.values()))
    writer = index.writer(merge_policy=MergePolicy(merge_factor=256))
    seen: set[tuple[str, str]] = set()  # (segment, update file) over the history
    try:
        for step in range(2 * MAX_UPDATES + 3):
            article = _linker(f"s{step}", rng, live)
            writer.add(article)
            live[article.id] = article
            if step % 5 == 4:  # a replacing update: a linker gone, a target retitled
                gone = rng.choice([i for i in live if i.startswith("s") and i != article.id])
                writer.delete(gone)
                del live[gone]
                target = live[f"t{step % 10}"]
                live[target.id] = attrs.evolve(target, title=f"{target.title} নতুন")
                writer.add(live[target.id])
            writer.commit()
            mine = writer._base
            for segment in mine.segments:
                names = sorted(u.name for u in segment.anchor_updates)
                assert names == anchors_files(segment.entry)
            opened = index.reader()
            assert _updates(mine) == _updates(opened)
            assert _anchors(mine) == _anchors(opened)
            seen |= {(s.name, u.name) for s in opened.segments for u in s.anchor_updates}
    finally:
        writer.close()
    listed = {(s.name, u.name) for s in index.reader().segments for u in s.anchor_updates}
    assert listed and len(listed) < len(seen)  # some were folded (carried over, gone)
    _same_as_fresh(index, live)


def test_with_written_update_takes_only_a_newer_update_of_its_own_segment(
    tmp_path: Path,
) -> None:
    """An update not newer than one the segment keeps, or an entry of another segment,
    is refused (the updates' order is their generation's)."""
    rng = random.Random(5)
    index = Index.create(tmp_path / "idx")
    live: dict[str, Article] = {f"t{n}": _target(n) for n in range(6)}
    with index.writer() as writer:
        writer.add_many(list(live.values()))
    with index.writer() as writer:
        writer.add(_linker("s0", rng, live))
    updated = [s for s in index.reader().segments if s.anchor_updates]
    assert updated
    segment: SegmentReader = updated[0]
    (update,) = segment.anchor_updates
    with pytest.raises(ValueError, match="not newer"):
        segment.with_written_update(segment.entry, segment.ordinal, update)
    other = [s for s in index.reader().segments if s.name != segment.name]
    assert other
    with pytest.raises(ValueError, match="under a new anchor update"):
        segment.with_written_update(other[0].entry, segment.ordinal, update)
