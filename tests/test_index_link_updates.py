"""Index room: incremental link resolution equals a resolution from scratch.

Random sequences of adds, upserts, deletes, rollbacks and commits over a small universe
of ids, titles and URLs (so links collide, go ambiguous, resolve late and break) must
leave exactly the anchors and edges that :class:`bnsearch.articles.links.LinkGraph`
computes from the live articles, and that a fresh one-batch build stores.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bnsearch.articles import Article, RelatedLink
from bnsearch.articles.links import LinkGraph
from bnsearch.index import Index, IndexWriter
from bnsearch.index.links import graph_from_segments

IDS = [f"n{number}" for number in range(9)]
TITLES = ["পদ্মা সেতু খুলল", "চালের দাম বাড়ল", "বৃষ্টিতে জলাবদ্ধতা", "পদ্মা সেতু: খুলল!"]
URLS = [None, "https://example.com/a", "http://www.example.com/a/", "https://example.com/b"]
HEADLINES = [*TITLES, "কোথাও নেই এমন খবর"]


def random_article(rng: random.Random, ident: str) -> Article:
    links = []
    for _ in range(rng.randrange(4)):
        links.append(
            RelatedLink(
                headline=rng.choice(HEADLINES),
                url=rng.choice(URLS) if rng.random() < 0.4 else None,
                target_id=rng.choice([*IDS, "gone"]) if rng.random() < 0.3 else None,
            )
        )
    return Article(
        id=ident,
        title=rng.choice(TITLES),
        body=f"খবরের বিস্তারিত {ident}",
        url=rng.choice(URLS),
        related=tuple(links),
    )


def stored_anchors(index: Index) -> dict[str, list[str]]:
    reader = index.reader()
    result = {}
    for ident in reader.article_ids():
        where = reader.find(ident)
        assert where is not None
        result[ident] = list(reader.stored(*where)["anchors"])
    return result


def expected_anchors(live: dict[str, Article]) -> dict[str, list[str]]:
    graph = LinkGraph.from_articles(live.values())
    return {ident: [edge.headline for edge in graph.in_edges(ident)] for ident in live}


def graph_edges(live: dict[str, Article]) -> set[tuple[str, int, str]]:
    graph = LinkGraph.from_articles(live.values())
    return {(edge.source, edge.index, edge.target) for edge in graph.edges()}


def check(index: Index, writer: IndexWriter | None, live: dict[str, Article]) -> None:
    assert stored_anchors(index) == expected_anchors(live)
    reader = index.reader()
    resolved = reader.link_graph()
    edges = {(edge.source, edge.index, edge.target) for edge in resolved.edges()}
    assert edges == graph_edges(live)
    expected = expected_anchors(live)
    for segment in reader.segments:  # the indexed anchors field follows the stored rows
        lengths = segment.field_lengths("anchors")
        for doc in segment.live.nonzero()[0].tolist():
            assert (int(lengths[doc]) > 0) == bool(expected[segment.article_id(doc)])
    # a reader resolving one article at a time (no whole graph) gives the same links
    graph = LinkGraph.from_articles(live.values())
    lazy = index.reader()
    for ident in [*IDS, "gone"]:
        assert lazy.out_links(ident) == (list(graph.out_links(ident)) if ident in live else [])
        assert lazy.in_links(ident) == (sorted(graph.in_links(ident)) if ident in live else [])
        assert lazy.in_link_count(ident) == len(lazy.in_links(ident))
    assert lazy._graph is None  # nothing above resolved the whole graph
    links = getattr(writer, "_links", None) if writer is not None else None
    if links is not None:  # the writer's incremental graph equals a resolution from scratch
        fresh = graph_from_segments(reader.segments, reader.find)
        assert graph_state(links) == graph_state(fresh)


def graph_state(graph: LinkGraph) -> tuple[object, ...]:
    """Everything a link graph resolved, independent of insertion order."""
    ids = sorted(graph.ids())
    return (
        ids,
        {ident: graph.out_links(ident) for ident in ids},
        {ident: graph.incoming_refs(ident) for ident in ids},
        graph.unresolved_refs(),
        graph.ambiguous_refs(),
    )


@pytest.mark.parametrize("buffer_mb", [128.0, 0.0005])  # small: flushes in flight all along
@pytest.mark.parametrize("seed", range(10))
def test_random_updates_match_a_resolution_from_scratch(seed: int, buffer_mb: float) -> None:
    run_random_updates(Index.in_memory(), seed=seed, buffer_mb=buffer_mb, processes=1)


@pytest.mark.parametrize("seed", [100, 101])
def test_random_updates_with_worker_processes(seed: int, tmp_path: Path) -> None:
    index = Index.create(tmp_path / "idx")
    run_random_updates(index, seed=seed, buffer_mb=0.0005, processes=2)


def apply_batch(live: dict[str, Article], batch: dict[str, Article | None]) -> None:
    """What a commit makes of the batch: upserts land, deletions (None) go; batch emptied."""
    for ident, value in batch.items():
        if value is None:
            live.pop(ident, None)
        else:
            live[ident] = value
    batch.clear()


def run_random_updates(index: Index, *, seed: int, buffer_mb: float, processes: int) -> None:
    rng = random.Random(seed)
    live: dict[str, Article] = {}
    batch: dict[str, Article | None] = {}
    writer = index.writer(buffer_mb=buffer_mb, processes=processes)
    try:
        for _ in range(60):
            action = rng.random()
            if action < 0.55:
                article = random_article(rng, rng.choice(IDS))
                writer.add(article)
                batch[article.id] = article
            elif action < 0.75:
                ident = rng.choice(IDS)
                writer.delete(ident)
                batch[ident] = None
            elif action < 0.8:
                writer.rollback()
                batch.clear()
            elif action < 0.95:
                writer.commit()
                apply_batch(live, batch)
                check(index, writer, live)
            else:  # a new writer builds its graph from the committed segments
                writer.commit()
                writer.close()
                apply_batch(live, batch)
                writer = index.writer(buffer_mb=buffer_mb, processes=processes)
                check(index, writer, live)
        writer.commit()
        apply_batch(live, batch)
        check(index, writer, live)
    finally:
        writer.close()
    fresh = Index.in_memory()
    with fresh.writer() as fresh_writer:
        fresh_writer.add_many(live.values())
    assert stored_anchors(fresh) == stored_anchors(index)


def test_update_reports_old_and_new_targets() -> None:
    graph = LinkGraph()
    graph.update(removed=(), added=[("t1", "k", "", ()), ("s", "x", "", (("k", "", ""),))])
    assert graph.incoming_refs("t1") == [("s", 0)]
    # a second article with the same title key makes the link ambiguous: t1 loses it
    changed = graph.update(removed=(), added=[("t2", "k", "", ())])
    assert changed == {"t1"}
    assert graph.incoming_refs("t1") == [] and graph.resolution("s", 0).candidates == ("t1", "t2")
    # deleting t1 resolves the link to t2
    changed = graph.update(removed=["t1"], added=())
    assert changed == {"t2"} and graph.incoming_refs("t2") == [("s", 0)]


def test_batch_over_several_flushes_anchors_earlier_segments_without_reindexing() -> None:
    """Linkers flushed after their targets (same batch): the earlier, uncommitted segments
    get their final anchors rebuilt (no article analyzed twice, nothing re-indexed)."""
    from bnsearch.index import verify

    targets = [Article(id=f"t{n}", title=f"খবর শিরোনাম {n}", body="নদী " * 40) for n in range(60)]
    sources = [
        Article(
            id=f"s{n}",
            title=f"উৎস {n}",
            body="সেতু " * 40,
            related=[RelatedLink(headline=f"খবর শিরোনাম {(n * 7 + k) % 60}") for k in range(3)],
        )
        for n in range(60)
    ]
    index = Index.in_memory()
    with index.writer(buffer_mb=0.002) as writer:  # a flush every few articles
        writer.add_many([*targets, *sources])
        result = writer.commit()
    assert result.reindexed == 0 and result.added == 120
    live = {article.id: article for article in [*targets, *sources]}
    assert stored_anchors(index) == expected_anchors(live)
    assert verify(index).ok
    reader = index.reader()
    assert all(reader.in_links(f"t{n}") for n in range(60))
    assert reader.doc_freq("anchors", "শিরোনাম") == 60
