"""Index room: incremental link resolution equals a resolution from scratch.

Random sequences of adds, upserts, deletes, rollbacks and commits over a small universe
of ids, titles and URLs (so links collide, go ambiguous, resolve late and break) must
leave exactly the anchors and edges that :class:`bnsearch.articles.links.LinkGraph`
computes from the live articles, and that a fresh one-batch build stores.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest

from bnsearch.articles import Article, RelatedLink
from bnsearch.articles.links import LinkGraph
from bnsearch.index import Index, IndexWriter, MergePolicy
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
    """Each article's stored anchors, sorted: anchors are compared as multisets (their
    order is the order they were indexed in: ``anchorfile.same_anchors``)."""
    reader = index.reader()
    result = {}
    for ident in reader.article_ids():
        where = reader.find(ident)
        assert where is not None
        result[ident] = sorted(reader.stored(*where)["anchors"])
    return result


def linked_article(ident: str, title: str, *links: str) -> Article:
    """An article whose related headlines are ``links`` (a short body naming it)."""
    return Article(
        id=ident,
        title=title,
        body=f"খবরের বিস্তারিত {ident}",
        related=tuple(RelatedLink(headline=headline) for headline in links),
    )


def fresh_anchors(articles: dict[str, Article]) -> dict[str, list[str]]:
    """The stored anchors of a fresh build of ``articles`` (the reference)."""
    fresh = Index.in_memory()
    with fresh.writer() as writer:
        writer.add_many(articles.values())
    return stored_anchors(fresh)


def expected_anchors(live: dict[str, Article]) -> dict[str, list[str]]:
    graph = LinkGraph.from_articles(live.values())
    return {ident: sorted(edge.headline for edge in graph.in_edges(ident)) for ident in live}


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


def run_random_updates(
    index: Index,
    *,
    seed: int,
    buffer_mb: float,
    processes: int,
    merge_policy: MergePolicy | None = None,
    after_commit: Callable[[IndexWriter], None] = lambda writer: None,
    before_close: Callable[[IndexWriter], None] = lambda writer: None,
) -> None:
    """Random adds, upserts, deletes, rollbacks, commits and new writers, each commit
    checked against a resolution from scratch; ``after_commit`` is called after each
    commit, ``before_close`` before each close (background merge tests release merges
    there)."""
    rng = random.Random(seed)
    live: dict[str, Article] = {}
    batch: dict[str, Article | None] = {}

    def open_writer() -> IndexWriter:
        return index.writer(buffer_mb=buffer_mb, processes=processes, merge_policy=merge_policy)

    writer = open_writer()
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
                after_commit(writer)
            else:  # a new writer builds its graph from the committed segments
                writer.commit()
                after_commit(writer)
                before_close(writer)
                writer.close()
                apply_batch(live, batch)
                writer = open_writer()
                check(index, writer, live)
        writer.commit()
        apply_batch(live, batch)
        check(index, writer, live)
    finally:
        before_close(writer)
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


def _belin_articles(count: int) -> list[Article]:
    """The first ``count`` BeliN articles, each listing three headlines of other BeliN
    articles (some published later, so their links resolve when they arrive)."""
    import json

    from tests.conftest import shared_file

    path = shared_file("corpus/belin_religious_news.jsonl")
    records = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                records.append(json.loads(line))
            if len(records) == count:
                break
    rng = random.Random(12)
    titles = [str(record["title"]) for record in records]
    return [
        Article(
            id=str(record["id"]),
            title=str(record["title"]),
            body=str(record["body"]),
            related=[RelatedLink(headline=titles[rng.randrange(count)]) for _ in range(3)],
        )
        for record in records
    ]


def test_scores_after_single_commits_with_links_equal_a_fresh_build_on_belin() -> None:
    articles = _belin_articles(240)
    index = Index.in_memory()
    live: dict[str, Article] = {}
    copied = 0
    with index.writer() as writer:
        writer.add_many(articles[:120])
        writer.commit()
        live.update((a.id, a) for a in articles[:120])
        for number, article in enumerate(articles[120:]):
            writer.add(article)  # links to earlier and later articles
            live[article.id] = article
            if number % 17 == 0:  # retitle an older target; its linkers lose their edge
                old = articles[number]
                retitled = Article(id=old.id, title=old.title + " নতুন", body=old.body)
                writer.add(retitled)
                live[old.id] = retitled
            if number % 23 == 5:
                writer.delete(articles[number + 1].id)
                live.pop(articles[number + 1].id, None)
            copied += writer.commit().reindexed
    assert copied > 50  # targets in committed segments were copied with new anchors
    assert len(index.reader().segments) > 1
    fresh = Index.in_memory()
    with fresh.writer() as writer:
        writer.add_many(live.values())
    assert stored_anchors(fresh) == stored_anchors(index)
    queries = [" ".join(a.title.split()[:2]) for a in articles[::12]]
    queries += ['"' + " ".join(a.title.split()[1:3]) + '"' for a in articles[::20]]  # phrases
    searched, expected = index.searcher(), fresh.searcher()
    compared = 0
    for query in queries:
        for fields in (None, ["anchors"]):
            got = {h.id: h.score for h in searched.search(query, limit=500, fields=fields)}
            want = {h.id: h.score for h in expected.search(query, limit=500, fields=fields)}
            assert got == pytest.approx(want, rel=1e-9, abs=1e-12), query
            compared += len(want)
    assert compared > 100


# -- anchor update files: a link never rewrites its target ---------------------------------

LINKED = [Article(id=f"t{n}", title=f"নদীর খবর শিরোনাম {n}", body="নদী ভাঙন " * 30) for n in range(6)]


def _linker(ident: str, *targets: int) -> Article:
    return Article(
        id=ident,
        title=f"উৎস পাতা {ident}",
        body="সেতু " * 20,
        related=[RelatedLink(headline=LINKED[n].title) for n in targets],
    )


def _anchor_files(path: Path) -> list[str]:
    return sorted(p.name for p in path.glob("seg-*.anc-*"))


def _scores(index: Index, query: str, fields: list[str] | None = None) -> dict[str, float]:
    return {hit.id: hit.score for hit in index.searcher().search(query, limit=100, fields=fields)}


def _fresh(articles: list[Article]) -> Index:
    fresh = Index.in_memory()
    with fresh.writer() as writer:
        writer.add_many(articles)
    return fresh


QUERIES = ["নদীর খবর", "শিরোনাম", '"খবর শিরোনাম"', "নদী সেতু", "উৎস শিরোনাম"]


def _same_scores(index: Index, fresh: Index) -> None:
    for query in QUERIES:
        for fields in (None, ["anchors"]):
            got, want = _scores(index, query, fields), _scores(fresh, query, fields)
            assert got == pytest.approx(want, rel=1e-9, abs=1e-12), (query, fields)
            assert want  # the query matches something


def _update_places(index: Index) -> list[tuple[str, int]]:
    """Where the first segment's anchor updates live: (file, generation), oldest first."""
    return [(u.name, u.generation) for u in index.reader().segments[0].anchor_updates]


def test_a_link_commit_updates_anchors_beside_the_target_segment(tmp_path: Path) -> None:
    from bnsearch.index import verify

    path = tmp_path / "idx"
    index = Index.create(path)
    with index.writer() as writer:
        writer.add_many(LINKED)
    (target_segment,) = index.reader().segments
    with index.writer(merge_policy=MergePolicy(merge_factor=64)) as writer:  # no merge
        writer.add(_linker("s1", 0, 1, 2))
        result = writer.commit()
    assert (result.added, result.reindexed) == (1, 3)
    reader = index.reader()
    first, new = reader.segments
    assert first.name == target_segment.name and first.del_count == 0  # not deleted, not copied
    assert reader.doc_count == 7
    # the update is inside the commit's new segment: no file of its own, no extra fsync
    assert _anchor_files(path) == []
    assert _update_places(index) == [(f"{new.name}.cfs", 2)]
    assert f"{new.name}.cfs" in first.entry.files
    assert [u.docs.tolist() for u in first.anchor_updates] == [[0, 1, 2]]
    # a second commit adds an update with its own changes (the later one wins for doc 2)
    with index.writer(merge_policy=MergePolicy(merge_factor=64)) as writer:
        writer.add(_linker("s2", 2, 3))
    third = index.reader().segments[2]
    assert _update_places(index) == [(f"{new.name}.cfs", 2), (f"{third.name}.cfs", 3)]
    updates = index.reader().segments[0].anchor_updates
    assert [u.docs.tolist() for u in updates] == [[0, 1, 2], [2, 3]]
    articles = [*LINKED, _linker("s1", 0, 1, 2), _linker("s2", 2, 3)]
    assert stored_anchors(index) == stored_anchors(_fresh(articles))
    _same_scores(Index.open(path), _fresh(articles))  # read back from disk
    assert verify(path).ok
    # a commit that builds no segment (a delete) writes the update in a file of its own;
    # the linker goes: its targets lose the anchors (the update keeps docs with none)
    with index.writer(merge_policy=MergePolicy(merge_factor=64)) as writer:
        writer.delete("s1")
    assert _anchor_files(path) == [f"{first.name}.anc-000004.cfs"]
    assert _update_places(index)[-1] == (f"{first.name}.anc-000004.cfs", 4)
    # the segment hosting the first update held only "s1": it left the commit, but its
    # file stays while the first segment lists it
    assert new.name not in [segment.name for segment in index.reader().segments]
    assert (path / f"{new.name}.cfs").exists()
    articles = [*LINKED, _linker("s2", 2, 3)]
    assert stored_anchors(index) == stored_anchors(_fresh(articles))
    _same_scores(Index.open(path), _fresh(articles))
    # a merge folds the update into the merged segment
    with Index.open(path).writer() as writer:
        writer.optimize()
    assert _anchor_files(path) == []
    assert stored_anchors(index) == stored_anchors(_fresh(articles))
    _same_scores(Index.open(path), _fresh(articles))
    assert verify(path).ok


def layout_before_packs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Writers write hosted anchor updates as main wrote them before packs (each
    update's arrays stems of the host's compound file): an index of the older layout."""
    from bnsearch.index.anchorfile import hosted_prefix

    def hosted_fixes(self: IndexWriter, fixes: Any, generation: int) -> dict[str, Any]:
        hosted: dict[str, Any] = {}
        for ordinal, (made, _) in fixes.items():
            prefix = hosted_prefix(self._working[ordinal].entry.name, generation)
            hosted.update({prefix + stem: value for stem, value in made.arrays.items()})
        return hosted

    monkeypatch.setattr(IndexWriter, "_hosted_fixes", hosted_fixes)


@pytest.mark.parametrize("placement", ["hosted", "hosted before packs", "own file"])
def test_a_damaged_anchor_update_is_a_format_error(
    tmp_path: Path, placement: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np

    from bnsearch.errors import IndexFormatError
    from bnsearch.index import compound, verify

    if placement == "hosted before packs":
        layout_before_packs(monkeypatch)
    path = tmp_path / "idx"
    with Index.create(path).writer() as writer:
        writer.add_many(LINKED)
    with Index.open(path).writer() as writer:
        writer.add(_linker("s1", 0, 1))
        writer.add(_linker("s2", 2))
    if placement == "own file":
        with Index.open(path).writer() as writer:
            writer.delete("s2")  # no new segment: the update gets a file of its own
    name, generation = _update_places(Index.open(path))[-1]
    assert name.endswith(".anc-000003.cfs") == (placement == "own file")
    prefix = {"own file": "", "hosted": "seg-000001."}.get(
        placement, f"anc.seg-000001.{generation:06d}."
    )
    data = bytearray((path / name).read_bytes())
    buffer = np.frombuffer(bytes(data), dtype=np.uint8)
    table, base = compound.read_table(buffer, name), 0
    if placement == "hosted":  # the commit's updates packed in one array
        pack = table[f"anc.pack.{generation:06d}"]
        table, base = compound.nested(buffer, pack, name)[1], pack.offset
    item = table[prefix + "strings.anchors.blob"]  # a byte of the first anchor headline
    data[base + item.offset + 1] ^= 0x10
    (path / name).write_bytes(bytes(data))
    with pytest.raises(IndexFormatError, match=name.replace(".", r"\.")):
        Index.open(path).reader()
    report = verify(path)
    assert not report.ok and name in " ".join(report.problems)


def test_both_search_paths_rank_anchor_updates_the_same() -> None:
    import importlib

    from bnsearch.search import kernel

    try:
        core = importlib.import_module("bnsearch.search._kernel")
    except ImportError as error:  # pragma: no cover - depends on the build
        pytest.skip(f"the compiled core is not built: {error}")
    articles = _belin_articles(160)
    index = Index.in_memory()
    with index.writer() as writer:
        writer.add_many(articles[:80])
        writer.commit()
        for article in articles[80:]:
            writer.add(article)
            writer.commit()
    assert any(segment.anchor_updates for segment in index.reader().segments)
    queries = [" ".join(a.title.split()[:2]) for a in articles[::9]]
    queries += ['"' + " ".join(a.title.split()[1:3]) + '"' for a in articles[::15]]
    saved = kernel.core
    pages = {}
    try:
        for name, path in (("numpy", None), ("compiled", core)):
            kernel.core = path
            searcher = index.searcher()
            pages[name] = [
                [(hit.id, hit.score) for hit in searcher.search(query, limit=50, fields=fields)]
                for query in queries
                for fields in (None, ["anchors"])
            ]
    finally:
        kernel.core = saved
    assert sum(map(len, pages["numpy"])) > 100
    for numpy_page, compiled_page in zip(pages["numpy"], pages["compiled"], strict=True):
        assert [i for i, _ in numpy_page] == [i for i, _ in compiled_page]
        assert [s for _, s in numpy_page] == pytest.approx([s for _, s in compiled_page], rel=1e-9)


def test_verify_checks_the_link_headline_table(tmp_path: Path) -> None:
    from bnsearch.index import verify
    from bnsearch.index.segment import LINK_HEADLINES, encode_strings
    from tests.index_files import rewrite_segments

    path = tmp_path / "idx"
    with Index.create(path).writer() as writer:
        writer.add_many([*LINKED, _linker("s1", 0, 1)])
    segment = next(s for s in Index.open(path).reader().segments if len(s.link_src))
    assert segment.link_headlines() == [LINKED[0].title, LINKED[1].title]
    assert verify(path).ok

    def swap(entry, arrays):  # type: ignore[no-untyped-def]
        swapped = encode_strings([LINKED[1].title, LINKED[0].title])
        arrays[f"{LINK_HEADLINES}.blob"], arrays[f"{LINK_HEADLINES}.off"] = swapped
        return arrays

    rewrite_segments(path, swap)
    report = verify(path)
    assert not report.ok and "headline" in " ".join(report.problems)


def test_a_refreshed_searcher_sees_anchor_updates_and_shares_the_segment(tmp_path: Path) -> None:
    path = tmp_path / "idx"
    index = Index.create(path)
    with index.writer() as writer:
        writer.add_many(LINKED)
    searcher = Index.open(path).searcher()
    before = searcher.reader.segments[0]
    assert _scores(Index.open(path), "শিরোনাম", ["anchors"]) == {}
    for number, ident in enumerate(["s1", "s2"]):
        with index.writer() as writer:
            writer.add(_linker(ident, number, 4))
        searcher = searcher.refresh()
        segment = searcher.reader.segments[0]
        assert segment.name == before.name and segment.arrays_key is before.arrays_key
        articles = [*LINKED, *(_linker(i, n, 4) for n, i in enumerate(["s1", "s2"][: number + 1]))]
        fresh = _fresh(articles)
        for query in QUERIES:
            got = {h.id: h.score for h in searcher.search(query, limit=100, fields=["anchors"])}
            assert got == pytest.approx(_scores(fresh, query, ["anchors"]), rel=1e-9)


def test_anchor_updates_of_a_segment_are_bounded_and_carried_over(tmp_path: Path) -> None:
    from bnsearch.index import MergePolicy, verify
    from bnsearch.index.anchorfile import MAX_UPDATES

    path = tmp_path / "idx"
    index = Index.create(path)
    with index.writer() as writer:
        writer.add_many(LINKED)
    articles = list(LINKED)
    counts = []
    for number in range(MAX_UPDATES + 3):
        linker = _linker(f"s{number}", number % 6, (number + 1) % 6)
        with index.writer(merge_policy=MergePolicy(merge_factor=64)) as writer:  # no merge
            writer.add(linker)
            if number == 4:
                writer.delete("s1")  # a linker goes: its targets' anchors shrink
        articles = [a for a in articles if not (number == 4 and a.id == "s1")] + [linker]
        counts.append(len(index.reader().segments[0].anchor_updates))
        assert stored_anchors(index) == stored_anchors(_fresh(articles))
    assert max(counts) == MAX_UPDATES and counts[MAX_UPDATES] == 1  # one file carrying all
    # the files of their own that the carried-over updates were in are gone
    held = {update.name for update in index.reader().segments[0].anchor_updates}
    assert set(_anchor_files(path)) == {name for name in held if ".anc-" in name}
    _same_scores(Index.open(path), _fresh(articles))
    assert verify(path).ok


def test_fold_start_carries_the_newest_updates_while_not_much_larger() -> None:
    from bnsearch.index.anchorfile import MAX_UPDATES, fold_start

    assert fold_start([5] * (MAX_UPDATES - 1), 1) == MAX_UPDATES - 1  # room left: none
    assert fold_start([1] * MAX_UPDATES, 1) == 0  # equal sizes: all of them
    big = [1000, *[1] * (MAX_UPDATES - 1)]
    assert fold_start(big, 1) == 1  # the large old one stays where it is
    assert fold_start([4, 3, *[1] * (MAX_UPDATES - 2)], 1000) == 0  # a large commit takes all
    assert fold_start([900, 800, *[1] * (MAX_UPDATES - 2)], 1) == 2  # at least the two newest


def test_a_large_old_anchor_update_is_not_carried_by_later_small_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cost of a commit must not grow with the anchor updates before it: the commit
    that folds a segment's updates carries the small newest ones over, not a large update
    written long before (counted by a wrapper around the fold, not timed)."""
    import bnsearch.index.writer as writer_module
    from bnsearch.index import verify
    from bnsearch.index.anchorfile import MAX_UPDATES, commit_updates

    targets = [
        Article(id=f"g{n}", title=f"নদীর খবর শিরোনাম {n}", body="নদী " * 10) for n in range(100)
    ]

    def linker(ident: str, picks: range) -> Article:
        related = [RelatedLink(headline=targets[n].title) for n in picks]
        return Article(id=ident, title=f"উৎস পাতা {ident}", body="সেতু " * 5, related=related)

    carried: list[list[int]] = []

    def counting(schema, jobs):  # type: ignore[no-untyped-def]
        carried.extend([len(old.docs) for old in job.olds] for job in jobs)
        return commit_updates(schema, jobs)

    monkeypatch.setattr(writer_module, "commit_updates", counting)
    path = tmp_path / "idx"
    index = Index.create(path)
    policy = MergePolicy(merge_factor=256)  # no merge: the updates stay beside segment 0
    with index.writer(merge_policy=policy) as writer:
        writer.add_many(targets)
    articles = [*targets, linker("big", range(100))]  # one update of all 100 targets
    with index.writer(merge_policy=policy) as writer:
        writer.add(articles[-1])
    for number in range(3 * MAX_UPDATES):
        articles.append(linker(f"s{number}", range(number % 100, number % 100 + 1)))
        with index.writer(merge_policy=policy) as writer:
            writer.add(articles[-1])
        assert len(index.reader().segments[0].anchor_updates) <= MAX_UPDATES
    assert any(sizes for sizes in carried)  # the updates were folded
    assert max(sum(sizes) for sizes in carried) < 100  # never with the large one
    assert stored_anchors(index) == stored_anchors(_fresh(articles))
    _same_scores(Index.open(path), _fresh(articles))
    assert verify(path).ok


def test_opening_a_reader_decodes_only_the_anchor_headlines_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build's anchor update holds most of a segment's docs and is read at every open:
    its headlines are decoded a doc at a time, when asked for (counted by wrappers)."""
    import bnsearch.index.segment as segment_module

    path = tmp_path / "idx"
    with Index.create(path).writer(merge_policy=MergePolicy(merge_factor=64)) as writer:
        writer.add_many(LINKED)
        writer.commit()
        writer.add_many([_linker("s1", 0, 1, 2), _linker("s2", 3, 4, 5), _linker("s3", 0)])
    whole: list[str] = []
    single: list[str] = []
    decode_strings, decode_one = segment_module.decode_strings, segment_module.decode_one

    def counting_strings(blob, offsets, where="string table"):  # type: ignore[no-untyped-def]
        whole.append(where)
        return decode_strings(blob, offsets, where)

    def counting_one(blob, start, end, where):  # type: ignore[no-untyped-def]
        single.append(where)
        return decode_one(blob, start, end, where)

    monkeypatch.setattr(segment_module, "decode_strings", counting_strings)
    monkeypatch.setattr(segment_module, "decode_one", counting_one)
    reader = Index.open(path).reader()
    (updates,) = [s.anchor_updates for s in reader.segments if s.anchor_updates]
    assert len(updates[0].docs) == 6
    assert not [where for where in whole if "anchor update" in where or ".anc-" in where]
    assert not [where for where in single if "anchor update" in where]
    where = reader.find("t0")
    assert where is not None
    assert list(reader.stored(*where)["anchors"]) == [LINKED[0].title, LINKED[0].title]
    asked = [where for where in single if "anchor update" in where]
    assert len(asked) == 2  # t0's two headlines, not the update's nine
    assert stored_anchors(Index.open(path)) == stored_anchors(
        _fresh([*LINKED, _linker("s1", 0, 1, 2), _linker("s2", 3, 4, 5), _linker("s3", 0)])
    )


def _count_stored_anchor_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    from bnsearch.index import segment as segment_module

    reads: list[int] = []
    original = segment_module.SegmentReader.stored_anchors

    def counting(self, doc):  # type: ignore[no-untyped-def]
        reads.append(doc)
        return original(self, doc)

    monkeypatch.setattr(segment_module.SegmentReader, "stored_anchors", counting)
    return reads


def _count_incoming_refs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    from bnsearch.index.links import SnapshotLinks

    asked: list[str] = []
    original = SnapshotLinks.incoming_refs

    def counting(self, article_id):  # type: ignore[no-untyped-def]
        asked.append(article_id)
        return original(self, article_id)

    monkeypatch.setattr(SnapshotLinks, "incoming_refs", counting)
    return asked


def test_a_new_linker_appends_to_its_targets_anchors_without_resolving_their_in_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "idx"
    index = Index.create(path)
    with index.writer() as writer:
        writer.add_many([*LINKED, _linker("s0", 0, 4)])
    reads = _count_stored_anchor_reads(monkeypatch)
    asked = _count_incoming_refs(monkeypatch)
    policy = MergePolicy(merge_factor=64)  # no merge
    with index.writer(merge_policy=policy) as writer:
        writer.add(_linker("s1", 0, 1, 2))
        result = writer.commit()
    # three targets (one with an anchor already) gained a headline: an adding update
    # holds those (none of their anchors read), none of their in-links resolved (only
    # the new article's own, for its flush)
    assert (result.added, result.reindexed) == (1, 3)
    assert reads == []
    assert asked == ["s1"]
    (update,) = [u for s in index.reader().segments for u in s.anchor_updates if u.adds]
    assert update.adds and update.docs.tolist() == [0, 1, 2]
    assert [update.rows_of(doc) for doc in (0, 1, 2)] == [(LINKED[n].title,) for n in (0, 1, 2)]
    articles = [*LINKED, _linker("s0", 0, 4), _linker("s1", 0, 1, 2)]
    assert stored_anchors(index) == stored_anchors(_fresh(articles))
    _same_scores(Index.open(path), _fresh(articles))


def test_anchors_of_the_same_length_are_compared_with_the_stored_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def linker(headline: str) -> Article:
        link = RelatedLink(headline=headline, target_id="t0")
        return Article(id="s1", title="উৎস পাতা", body="সেতু " * 20, related=[link])

    path = tmp_path / "idx"
    index = Index.create(path)
    with index.writer() as writer:
        writer.add_many([*LINKED, linker("নদীর খবর")])
    reads = _count_stored_anchor_reads(monkeypatch)
    policy = MergePolicy(merge_factor=64)
    with index.writer(merge_policy=policy) as writer:  # the same link again: no change
        writer.add(linker("নদীর খবর"))
        unchanged = writer.commit()
    assert unchanged.reindexed == 0 and reads  # equal lengths: the stored anchors decide
    with index.writer(merge_policy=policy) as writer:  # as many words, other words
        writer.add(linker("সেতুর ছবি"))
        changed = writer.commit()
    assert changed.reindexed == 1
    articles = [*LINKED, linker("সেতুর ছবি")]
    assert stored_anchors(index) == stored_anchors(_fresh(articles))
    assert _scores(index, "সেতুর ছবি", ["anchors"]) == _scores(
        _fresh(articles), "সেতুর ছবি", ["anchors"]
    )
    assert _scores(index, "সেতুর ছবি", ["anchors"])
    assert not _scores(index, "নদীর খবর", ["anchors"])


# -- a refreshed reader splices an anchor update into the field it built ------------------

_FIELD_ARRAYS = ("blob", "off", "indptr", "docs", "tfs", "norms", "lens", "pos", "posptr", "forms")


def _same_arrays(got: object, want: object) -> None:
    import numpy as np

    for name in _FIELD_ARRAYS:
        left, right = getattr(got, name), getattr(want, name)
        assert (left is None) == (right is None), name
        if left is not None:
            assert np.asarray(left).dtype == np.asarray(right).dtype, name
            assert np.array_equal(np.asarray(left), np.asarray(right)), name
    assert got.terms == want.terms  # type: ignore[attr-defined]


def test_a_refreshed_reader_splices_anchor_updates_into_the_anchors_it_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After each link commit (new linkers, a linker deleted, a target retitled, updates
    folded past MAX_UPDATES) a refreshed searcher's anchors field is spliced into the one
    it built before (the segment's own before the first update), and a reader opened
    anew splices every update into the segment's own; both equal a materialize from
    scratch array by array, dtypes and term table included, and rank as a fresh build
    does."""
    from bnsearch.index import anchorfile
    from bnsearch.index.anchoradds import resolved
    from bnsearch.index.anchorfile import MAX_UPDATES, materialize

    spliced: list[int] = []
    splice = anchorfile.splice

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        found = splice(*args, **kwargs)
        spliced.append(found is not None)
        return found

    monkeypatch.setattr(anchorfile, "splice", counting)
    words = ["নদী", "সেতু", "বাজার", "বৃষ্টি", "ধান", "মেলা", "নৌকা", "হাওর"]
    letters = "কখগঘচছজঝটঠডঢতথদধনপফবভমযরলশসহ"
    own = [letters[n // 28] + "া" + letters[n % 28] + "ো" for n in range(400)]  # one a target
    targets = [
        Article(id=f"t{n}", title=f"খবর {words[n % 8]} {own[n]}", body="নদী " * 9)
        for n in range(400)
    ]
    path = tmp_path / "idx"
    index = Index.create(path)
    policy = MergePolicy(merge_factor=64)  # no merge: one segment takes every update
    with index.writer(merge_policy=policy) as writer:
        writer.add_many(targets)
    live = {a.id: a for a in targets}
    searcher = Index.open(path).searcher()
    searcher.search("খবর", limit=5)
    rng = random.Random(4)
    for number in range(MAX_UPDATES + 4):
        with index.writer(merge_policy=policy) as writer:
            picks = rng.sample(range(40), 3) if number != 1 else [300, 301, 302]  # s1's own
            linker = Article(
                id=f"s{number}",
                title=f"উৎস {number}",
                body="সেতু " * 5,
                related=[RelatedLink(headline=live[f"t{n}"].title) for n in picks],
            )
            writer.add(linker)
            live[linker.id] = linker
            if number == 5:  # a linker goes: its targets' anchors shrink (terms may go)
                writer.delete("s1")
                live.pop("s1")
            if number == 7:  # a target is retitled: its linkers' headlines miss it now
                old = live["t3"]
                live["t3"] = Article(id="t3", title=old.title + " নতুন", body=old.body)
                writer.add(live["t3"])
        searcher = searcher.refresh()
        expected = _fresh(list(live.values())).searcher()
        for query in ["খবর নদী", "সেতু", '"খবর বাজার"', *words[:4]]:
            for fields in (None, ["anchors"]):
                got = {h.id: h.score for h in searcher.search(query, limit=500, fields=fields)}
                want = {h.id: h.score for h in expected.search(query, limit=500, fields=fields)}
                assert got == pytest.approx(want, rel=1e-9, abs=1e-12), (number, query)
        segment = searcher.reader.segments[0]
        base = segment._fields["anchors"]
        assert base.terms is not None
        spec = segment.schema["anchors"]  # (adding updates resolved anew, not cached)
        updates = resolved(spec, base, base.terms, segment.anchor_updates, {})
        rebuilt = materialize(spec, base, base.terms, updates, segment.max_doc)
        _same_arrays(segment._field("anchors"), rebuilt)
        opened = Index.open(path).reader().segments[0]  # its updates spliced into its own
        _same_arrays(opened._field("anchors"), rebuilt)
    assert len(index.reader().segments[0].anchor_updates) < MAX_UPDATES + 4  # folded
    assert all(spliced) and len(spliced) >= 2 * (MAX_UPDATES + 4)  # never materialized


# -- commits of new articles append to their targets' anchors ----------------------------


def _count_appends(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Per commit that looked at anchors by key: whether it appended (the adds-only path)."""
    taken: list[bool] = []
    original = IndexWriter._appended_anchors

    def counting(self, view, pointing):  # type: ignore[no-untyped-def]
        found = original(self, view, pointing)
        taken.append(found is not None)
        return found

    monkeypatch.setattr(IndexWriter, "_appended_anchors", counting)
    return taken


@pytest.mark.parametrize("seed", range(6))
def test_random_commits_of_new_articles_match_a_fresh_build(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New articles only (links by title, URL and target id, to published articles, to
    each other, to ones not there yet, titles shared so links go ambiguous), one to
    three a commit: the anchors, edges and scores equal a fresh build's, both when a
    commit appends and when a published target loses a link (the rule worked out again)."""
    rng = random.Random(seed)
    taken = _count_appends(monkeypatch)
    index = Index.in_memory()
    live: dict[str, Article] = {}
    with index.writer() as writer:  # published articles first (a bulk build)
        for number in range(8):
            article = random_article(rng, f"n{number}")
            writer.add(article)
            live[article.id] = article
    writer = index.writer(merge_policy=MergePolicy(merge_factor=4))
    try:
        for number in range(8, 38):
            for extra in range(rng.randrange(1, 4)):
                ident = f"n{number}" if extra == 0 else f"n{number}x{extra}"
                article = random_article(rng, ident)
                if rng.random() < 0.3:  # a target id that arrives later, or never
                    link = RelatedLink(headline=rng.choice(HEADLINES), target_id=f"n{number + 2}")
                    article = attrs.evolve(article, related=(*article.related, link))
                writer.add(article)
                live[article.id] = article
            writer.commit()
            check(index, writer, live)
            if rng.random() < 0.2:  # a new writer reads the links from the segments
                writer.close()
                writer = index.writer(merge_policy=MergePolicy(merge_factor=4))
    finally:
        writer.close()
    assert any(taken) and not all(taken)  # both paths ran
    fresh = _fresh(list(live.values()))
    assert stored_anchors(fresh) == stored_anchors(index)
    for query in ["পদ্মা সেতু", "চালের দাম", '"সেতু খুলল"', "জলাবদ্ধতা খবর"]:
        for fields in (None, ["anchors"]):
            assert _scores(index, query, fields) == pytest.approx(
                _scores(fresh, query, fields), rel=1e-9, abs=1e-12
            ), (query, fields)


def test_a_new_article_taking_a_link_from_a_published_target_is_not_appended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new article that takes a published link away from its target (the link named
    its id before its title, or it shares the target's title) makes the commit work the
    target's anchors out again: the target loses the headline."""
    from bnsearch.index import verify

    taken = _count_appends(monkeypatch)
    target = Article(id="t", title="নদীর খবর", body="নদী")
    by_id = RelatedLink(headline="নদীর খবর", target_id="later")
    linker = Article(
        id="s", title="উৎস", body="সেতু", related=[by_id, RelatedLink(headline="নদীর খবর")]
    )
    path = tmp_path / "idx"
    index = Index.create(path)
    with index.writer() as writer:
        writer.add_many([target, linker])
    assert stored_anchors(index)["t"] == ["নদীর খবর", "নদীর খবর"]
    with index.writer() as writer:  # link 0 now resolves to its target id
        writer.add(Article(id="later", title="অন্য খবর", body="অন্য"))
    assert taken == [False]
    assert stored_anchors(index)["t"] == ["নদীর খবর"]
    assert stored_anchors(index)["later"] == ["নদীর খবর"]
    with index.writer() as writer:  # the same title: link 1 goes ambiguous
        writer.add(Article(id="twin", title="নদীর খবর!", body="যমজ"))
    assert taken == [False, False]
    assert stored_anchors(index)["t"] == []
    articles = [target, linker, Article(id="later", title="অন্য খবর", body="অন্য")]
    articles.append(Article(id="twin", title="নদীর খবর!", body="যমজ"))
    assert stored_anchors(index) == stored_anchors(_fresh(articles))
    with index.writer() as writer:  # a new linker of "later" only: appended
        writer.add(
            Article(id="a", title="আরও", body="আরও", related=[RelatedLink(headline="অন্য খবর")])
        )
    assert taken[-1] is True
    assert stored_anchors(index)["later"] == ["অন্য খবর", "নদীর খবর"]
    assert verify(path).ok


@pytest.mark.parametrize("docs", [(1, 5), (20, 40)])
@pytest.mark.parametrize("seed", range(5))
def test_one_analysis_split_by_group_equals_each_groups_own(
    seed: int, docs: tuple[int, int]
) -> None:
    """``analyzed_groups`` (one analysis for the updates of several segments) gives each
    group the arrays its own ``anchor_fields`` gives, dtypes and term tables included:
    a handful of docs in all (each group's postings made apart) and more than
    FEW_ANCHOR_DOCS (groups cut out of one analysis)."""

    from bnsearch.index.anchorfile import analyzed_groups
    from bnsearch.index.builder import anchor_fields
    from bnsearch.index.schema import news_schema

    rng = random.Random(seed)
    schema = news_schema()
    words = ["নদী", "ভাঙন", "সেতু", "খুলল", "দাম", "বাড়ল", "ও", "এবং", "২০২৪", "ঢাকায়"]
    headlines = [
        *HEADLINES,
        *(" ".join(rng.choices(words, k=rng.randrange(1, 40))) for _ in range(9)),
    ]
    groups = [
        [tuple(rng.choices(headlines, k=rng.randrange(1, 8))) for _ in range(rng.randrange(*docs))]
        for _ in range(rng.randrange(2, 6) if docs[0] > 1 else rng.randrange(1, 6))
    ]
    for group, got in zip(groups, analyzed_groups(schema, groups), strict=True):
        want, _ = anchor_fields(schema, group)
        same_update_arrays(got, want)


def same_update_arrays(got: dict[str, Any], want: dict[str, Any]) -> None:
    """``got`` holds every array of ``want`` (an ``anchor_fields`` analysis) that an
    anchor update keeps, equal in values and dtype (the term tables equal)."""
    import numpy as np

    from bnsearch.index.anchorfile import _UPDATE_ARRAYS

    names = {name for name in want if name.rsplit(".", 1)[-1] in _UPDATE_ARRAYS}
    assert names <= got.keys()
    for name in names:
        if name.endswith(".terms"):
            assert got[name] == want[name], name
        else:
            assert got[name].dtype == want[name].dtype, name
            assert np.array_equal(got[name], want[name]), name


def test_a_commit_without_published_targets_analyzes_no_anchors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An article linking to nothing published, committed into an index with links,
    takes the appending path with no target: no anchors are analyzed."""
    from bnsearch.index import anchorfile

    index = Index.create(tmp_path / "idx")
    with index.writer() as writer:
        writer.add_many([*LINKED, _linker("s0", 0, 4)])
    taken = _count_appends(monkeypatch)
    calls: list[int] = []
    original = anchorfile.anchor_arrays

    def counting(schema, anchors):  # type: ignore[no-untyped-def]
        calls.append(len(anchors))
        return original(schema, anchors)

    monkeypatch.setattr(anchorfile, "anchor_arrays", counting)
    with index.writer() as writer:
        writer.add(Article(id="x", title="একা খবর", body="কিছু"))
    assert taken == [True] and calls == []
