"""Index room: the writer finds where each live article is, asked for few ids or many.

``IndexWriter._live_locations`` looks few ids up segment by segment and reads every
doc's id when asked for many (``_SCAN_FRACTION``); both must give the same (segment,
doc, id) triples: the newest live version of each id, none for a deleted one, over
committed segments, the batch's flushed ones, deletes and upserts of this batch.
"""

from __future__ import annotations

import random

import pytest

import bnsearch.index.writer as writer_module
from bnsearch.articles import Article
from bnsearch.index import Index, MergePolicy


def article(ident: str, version: int) -> Article:
    return Article(id=ident, title=f"শিরোনাম {ident} {version}", body=f"খবর {ident} {version}")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_scan_and_lookup_find_the_same_docs(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    ids = [f"a{n}" for n in range(60)]
    index = Index.in_memory()
    policy = MergePolicy(merge_factor=1000)
    with index.writer(buffer_mb=0.0005, merge_policy=policy) as writer:
        writer.add_many(article(ident, 0) for ident in ids)
    writer = index.writer(buffer_mb=0.0005, merge_policy=policy)
    try:
        for step in range(80):  # upserts and deletes, flushed every few articles
            ident = rng.choice(ids)
            if rng.random() < 0.3:
                writer.delete(ident)
            else:
                writer.add(article(ident, step + 1))
        writer.flush()
        asked = [*rng.sample(ids, 40), "never-added"]
        assert len(writer._working) > 5  # several segments, committed and new
        monkeypatch.setattr(writer_module, "_SCAN_FRACTION", 0)  # never scans
        looked_up = sorted(writer._live_locations(asked))
        monkeypatch.setattr(writer_module, "_SCAN_FRACTION", 1 << 30)  # always scans
        scanned = sorted(writer._live_locations(asked))
        assert scanned == looked_up
        deleted = set(asked) - {ident for _, _, ident in looked_up}
        assert "never-added" in deleted
        for ordinal, doc, ident in scanned:  # each the newest live version
            assert writer._working[ordinal].find(ident) == doc
            assert all(w.find(ident) is None for w in writer._working[ordinal + 1 :])
        for ident in deleted:
            assert all(w.find(ident) is None for w in writer._working)
    finally:
        writer.rollback()
        writer.close()
