"""The per-snapshot cache of position offsets (what phrases and the proximity rerank
read) holds a bounded number of bytes: each entry's offsets are a new array of eight
bytes a posting, so a bound on terms alone (8,192) let common words of a large index
keep gigabytes (review finding)."""

from __future__ import annotations

import itertools

import pytest

from bnsearch.articles import read_articles
from bnsearch.search import Searcher, phrases, rerank

from .conftest import index_of, shared_file


def _held(searcher: Searcher) -> int:
    """Bytes of the offsets the searcher's positions cache holds (docs and positions
    are views of the segment)."""
    return sum(entry[1].nbytes for entry in searcher._ctx.positions.values() if entry is not None)


def _offsets_outside_the_cache(searcher: Searcher) -> list[int]:
    """Bytes of position offsets the searcher's rerank plans keep alive that its
    positions cache no longer holds (the cache's bound must cover them too)."""
    ctx = searcher._ctx
    cached = {id(entry[1]) for entry in ctx.positions.values() if entry is not None}
    kept = [
        reads
        for plan in ctx.rerank_plans.values()
        for key, reads in plan.memo.items()
        if isinstance(key, tuple) and key[0] == "reads"
    ]
    kept += [reads for _, reads in getattr(ctx.positions, "derived", {}).values()]
    return [
        offsets.nbytes
        for reads in kept
        for read in reads
        for offsets in read[1]
        if not isinstance(offsets, tuple)  # (a walked word's tfs: the segment's own)
        and id(offsets) not in cached
    ]


def test_position_offsets_kept_stay_under_the_byte_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    belin = list(read_articles(shared_file("corpus/belin_religious_news.jsonl")))[:600]
    reader = index_of(belin[:300], belin[300:]).reader()
    words = [w for a in belin[:40] for w in a.title.split() if len(w) > 2][:30]
    queries = [f'"{a} {b}"' for a, b in itertools.pairwise(words)]
    queries += [f"{a} {b}" for a, b in zip(words[::2], words[1::2], strict=False)]  # rerank
    bound = 4096  # bytes: a few terms' offsets (unbounded, these keep about 40 KB)
    monkeypatch.setattr(phrases, "POSITIONS_CACHE_BYTES", bound)
    # every pair word's offsets read (none walked: these lists are all short)
    monkeypatch.setattr(rerank, "WALK_POSTINGS", -1)
    bounded = Searcher(reader)
    held = []
    for query in queries * 2:
        page = bounded.search(query, stored=False, highlight=False)
        fresh = Searcher(reader).search(query, stored=False, highlight=False)
        assert page.ids == fresh.ids and page.total == fresh.total, query
        held.append(_held(bounded))
        assert held[-1] == bounded._ctx.positions.nbytes
        assert held[-1] <= bound, query
        assert not _offsets_outside_the_cache(bounded), query
    assert max(held) > 0  # offsets were kept: the bound was exercised, not avoided
