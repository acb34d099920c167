"""Index room: a writer on an index that holds articles resolves links by key.

Such a writer keeps no :class:`~bnsearch.articles.links.LinkGraph`: a commit looks up
the keys it touches in the segments' persisted link key maps (:mod:`bnsearch.index.
linkmaps`). These tests check that its first one-article commit reads nothing whole
(no graph, no whole string table), that random add / retitle / delete commits by fresh
writers leave the links, anchors and unresolved / ambiguous lists of a fresh build of the
same articles (real BeliN titles), and that segments written without the maps (older
code) give the same results and merge into segments with correct maps.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import shared_file
from page_render import load_belin

import bnsearch.index.builder as builder
import bnsearch.index.linkmaps as linkmaps
import bnsearch.index.links as links
import bnsearch.index.writer as writer
from bnsearch.articles import Article, RelatedLink
from bnsearch.index import Index, MergePolicy, verify
from bnsearch.index.segment import SegmentReader

NO_MERGES = MergePolicy(merge_factor=1000, max_deleted_ratio=1.0)


def belin(count: int) -> list[dict[str, Any]]:
    return load_belin(shared_file("corpus/belin_religious_news.jsonl"))[:count]


def linked_articles(records: list[dict[str, Any]], rng: random.Random) -> list[Article]:
    """The records as articles, each listing up to four other records' titles."""
    titles = [record["title"] for record in records]
    return [
        Article(
            id=record["id"],
            title=record["title"],
            body=record["body"][:300],
            url=f"https://news.example/{record['id']}",
            related=[rng.choice(titles) for _ in range(rng.randrange(5))],
        )
        for record in records
    ]


def link_state(index: Index) -> tuple[object, ...]:
    """Everything the links decide, as a reader sees it: stored anchors, each article's
    out- and in-links, the unresolved and ambiguous lists."""
    reader = index.reader()
    ids = sorted(reader.article_ids())
    anchors = {}
    for ident in ids:
        where = reader.find(ident)
        assert where is not None
        anchors[ident] = sorted(reader.stored(*where)["anchors"])  # a multiset
    return (
        anchors,
        {ident: (reader.out_links(ident), reader.in_links(ident)) for ident in ids},
        reader.unresolved_links(),
        reader.ambiguous_links(),
    )


def fresh_build(articles: dict[str, Article]) -> Index:
    index = Index.in_memory()
    with index.writer() as fresh:
        fresh.add_many(articles.values())
    return index


def test_a_fresh_writers_first_link_commit_reads_only_per_key_lookups(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(5)
    records = belin(300)
    articles = linked_articles(records[:200], rng)
    index = Index.in_memory()
    with index.writer(merge_policy=NO_MERGES) as first:
        first.add_many(articles[:120])
    with index.writer(merge_policy=NO_MERGES) as second:  # two segments with maps
        second.add_many(articles[120:])
    new = Article(
        id="new",
        title="নতুন খবর",
        body="নতুন খবরের বিস্তারিত",
        related=[article.title for article in articles[10:16]],
    )

    def whole(*args: object, **kwargs: object) -> None:
        raise AssertionError("a one-article commit read something whole")

    # nothing builds a graph, nor decodes a segment's whole title, URL or link tables
    for module in (writer, links):
        monkeypatch.setattr(module, "graph_from_segments", whole)
    monkeypatch.setattr(links, "live_link_keys", whole)
    monkeypatch.setattr(linkmaps, "computed_maps", whole)
    for method in ("edges", "title_keys", "urls", "link_table", "link_headlines"):
        monkeypatch.setattr(SegmentReader, method, whole)
    resolved: list[tuple[str, links.LinkKeys]] = []
    real_resolve = links.resolve_link

    def counted(source_id: str, keys: links.LinkKeys, **kwargs: Any) -> links.Resolution:
        resolved.append((source_id, keys))
        return real_resolve(source_id, keys, **kwargs)

    monkeypatch.setattr(links, "resolve_link", counted)
    with index.writer(merge_policy=NO_MERGES) as third:
        third.add(new)
        result = third.commit()
        assert third._links is None  # no graph kept either
    monkeypatch.undo()
    # only links naming the touched keys were resolved: far fewer than the index holds
    assert len(set(resolved)) < 60 < sum(len(article.related) for article in articles)
    live = {article.id: article for article in [*articles, new]}
    assert link_state(index) == link_state(fresh_build(live))
    assert result.reindexed > 0  # the six targets got their new anchor
    assert verify(index).ok


@pytest.mark.parametrize("seed", range(4))
def test_random_commits_by_fresh_writers_equal_a_fresh_build(seed: int) -> None:
    rng = random.Random(seed)
    records = belin(60)
    pool = linked_articles(records, rng)
    # a few shared titles and URLs: links go ambiguous, resolve late and break
    titles = [article.title for article in pool[:8]]
    index = Index.in_memory()
    live: dict[str, Article] = {}
    with index.writer() as first:
        for article in pool[:30]:
            first.add(article)
            live[article.id] = article
    for _ in range(25):
        with index.writer(buffer_mb=rng.choice([128.0, 0.0005])) as fresh:
            for _ in range(rng.randrange(1, 4)):
                action = rng.random()
                ident = rng.choice(pool).id
                if action < 0.35:  # add or replace
                    article = next(a for a in pool if a.id == ident)
                    fresh.add(article)
                    live[ident] = article
                elif action < 0.6:  # retitle (and maybe move the URL)
                    base = live.get(ident) or next(a for a in pool if a.id == ident)
                    url = rng.choice([base.url, "https://news.example/shared", None])
                    article = Article(
                        id=ident,
                        title=rng.choice(titles),
                        body=base.body,
                        url=url,
                        related=[
                            *base.related,
                            RelatedLink(headline="", url="http://www.news.example/shared/"),
                        ],
                    )
                    fresh.add(article)
                    live[ident] = article
                else:
                    fresh.delete(ident)
                    live.pop(ident, None)
            assert fresh._links is None
    assert link_state(index) == link_state(fresh_build(live))
    assert verify(index).ok


def test_segments_without_maps_read_alike_and_merge_into_correct_maps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(9)
    articles = linked_articles(belin(120), rng)
    older = Index.in_memory()
    with monkeypatch.context() as patch:  # segments as written before the maps existed
        patch.setattr(builder, "build_maps", lambda **kwargs: {})
        with older.writer(merge_policy=NO_MERGES) as first:
            first.add_many(articles[:80])
    (segment,) = older.reader().segments
    assert not segment.has_array(linkmaps.map_stem("title", "hash"))
    with older.writer(merge_policy=NO_MERGES) as second:  # resolves over the fallback maps
        second.add_many(articles[80:])
        second.delete(articles[3].id)
    live = {article.id: article for article in articles if article.id != articles[3].id}
    assert link_state(older) == link_state(fresh_build(live))
    with older.writer() as merging:
        merging.optimize()
    (merged,) = older.reader().segments
    assert merged.has_array(linkmaps.map_stem("etid", "items"))
    assert linkmaps.map_problems(merged) == []
    assert link_state(older) == link_state(fresh_build(live))
    assert verify(older).ok


def test_verify_names_a_damaged_link_map() -> None:
    rng = random.Random(2)
    index = fresh_build({a.id: a for a in linked_articles(belin(40), rng)})
    segment = max(index.reader().segments, key=lambda segment: len(segment.link_src))
    stem = linkmaps.map_stem("ekey", "items")
    items = segment.array(stem)
    assert len(items) > 2
    swapped = items.copy()
    swapped[[0, -1]] = swapped[[-1, 0]]
    real_array = SegmentReader.array

    def damaged(self: SegmentReader, name: str) -> Any:
        return swapped if name == stem else real_array(self, name)

    problem = (
        f"{segment.name}: link map 'ekey' does not match the segment's link keys "
        "(rebuild the index to repair)"
    )
    assert verify(index).ok
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SegmentReader, "array", damaged)
        assert linkmaps.map_problems(segment) == [problem]
        assert problem in verify(index).problems


@pytest.mark.parametrize("size", [0, 1, 6, linkmaps.SMALL_MAP, linkmaps.SMALL_MAP + 1, 300])
def test_small_and_large_key_maps_find_and_check_alike(size: int) -> None:
    """A key map of any size (a dict of its hashes up to SMALL_MAP items, binary search
    above) gives each key's items in order, a key's hash collisions included, and
    check_map refuses an item out of range and hashes out of order on either side."""
    rng = random.Random(size)
    keys = [rng.choice(["নদী", "সেতু", "", f"খবর {rng.randrange(size + 1)}"]) for _ in range(size)]
    hashes, items = linkmaps.build_map(keys)
    key_map = linkmaps.KeyMap(hashes, items)
    for key in {*keys, "নেই"} - {""}:
        assert key_map.candidates(key) == [i for i, k in enumerate(keys) if k == key]
    assert key_map.candidates("") == []
    # many keys at once (repeats, the empty key and a missing one among them), in any order
    asked = [*rng.sample(keys, min(len(keys), 9)), "", "নেই", *keys[:2]]
    rng.shuffle(asked)
    assert key_map.candidates_many(linkmaps.KeyBatch(asked)) == [
        [i for i, k in enumerate(keys) if k == key] if key else [] for key in asked
    ]
    if len(hashes):  # every item under one hash: all are candidates of its key
        same = np.full(len(hashes), hashes[0], dtype=np.uint64)
        collided = linkmaps.KeyMap(same, np.sort(items))
        wanted = next(k for k in keys if k and linkmaps.key_hash(k) == int(hashes[0]))
        assert collided.candidates(wanted) == sorted(items.tolist())
    assert linkmaps.check_map("title", hashes, items, size) is None
    if len(items) > 1:
        beyond = items.copy()
        beyond[-1] = size
        assert "an item outside" in str(linkmaps.check_map("title", hashes, beyond, size))
        below = items.copy()
        below[0] = -1
        assert "an item outside" in str(linkmaps.check_map("title", hashes, below, size))
        if hashes[0] != hashes[-1]:
            backwards = hashes[::-1].copy()
            assert "not ascending" in str(linkmaps.check_map("title", backwards, items, size))


def test_a_writer_hands_over_the_link_maps_its_flush_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The segment a writer's commit built keeps the link maps its builder wrote (no
    views, no checks: the next commit checks no map), equal array by array to the ones
    a reader opening the index reads and checks from the file; a bulk build's large maps
    are not held in memory (read from the file when asked)."""
    rng = random.Random(4)
    records = belin(80)
    index = Index.create(tmp_path / "idx")
    with index.writer() as writer:
        writer.add_many(linked_articles(records[:70], rng))
    checked: list[str] = []
    original = linkmaps.check_map

    def counting(name, hashes, items, count):  # type: ignore[no-untyped-def]
        checked.append(name)
        return original(name, hashes, items, count)

    monkeypatch.setattr(linkmaps, "check_map", counting)
    (big,) = index.reader().segments
    assert big.arrays_key not in linkmaps._BUILT  # a bulk build's maps: not adopted
    with index.writer(merge_policy=NO_MERGES) as writer:
        for article in linked_articles(records[70:], rng):
            checked.clear()
            writer.add(article)
            writer.commit()
            assert set(checked) <= set(linkmaps.MAPS) and len(checked) <= len(linkmaps.MAPS)
            assert not checked or article.id == records[70]["id"]  # the first: the big one's
        held = {s.name: linkmaps.map_arrays(s) for s in writer._base.segments if s.name != big.name}
    assert len(held) == 10
    opened = {s.name: s for s in Index.open(tmp_path / "idx").reader().segments}
    checked.clear()
    for name, arrays in held.items():
        read = linkmaps.map_arrays(opened[name])
        assert arrays.keys() == read.keys()
        for stem, array in arrays.items():
            assert array.dtype == read[stem].dtype and array.tolist() == read[stem].tolist()
    assert len(checked) == 10 * len(linkmaps.MAPS)  # a reader opening them checks each


def test_build_maps_hashes_from_its_bounded_memo_as_hashed_afresh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """build_maps takes each key's hash from a process memo kept across segments (a
    links build's segments name the same titles); with the memo small enough to be
    replaced several times over these segments, every segment's maps hold what hashing
    each key afresh gives, and a memo handed out before a replacement stays whole."""
    monkeypatch.setattr(linkmaps, "HASHES_REMEMBERED", 40)
    monkeypatch.setattr(linkmaps, "_hash_memo", {})
    rng = random.Random(7)
    titles = [f"খবর {n}" for n in range(60)]
    for _ in range(8):
        docs = rng.sample(titles, 12)
        edges = [rng.choice([*titles, ""]) for _ in range(30)]
        urls = ["", "https://news.example/a", "http://www.news.example/b/"]
        strings = {
            "title_keys": docs,
            "urls": [rng.choice(urls) for _ in docs],
            "edge_keys": edges,
            "edge_urls": [rng.choice(urls) for _ in edges],
            "edge_tids": [rng.choice(["", *docs]) for _ in edges],
        }
        built = linkmaps.build_maps(**strings)
        for name, keys in linkmaps.map_keys(**strings).items():
            present = [(linkmaps._hash(key), item) for item, key in enumerate(keys) if key]
            hashes = built[linkmaps.map_stem(name, "hash")]
            items = built[linkmaps.map_stem(name, "items")]
            # by hash, items ascending within one
            assert list(zip(hashes.tolist(), items.tolist(), strict=True)) == sorted(present)
    handed = linkmaps._hashes(titles[:30])
    linkmaps._hashes(titles[30:])  # over the bound: a new memo
    assert all(handed[key] == linkmaps._hash(key) for key in titles[:30])


def test_key_lookups_asked_together_equal_asked_alone_after_deletes_and_merges(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A state's title and URL lookups asked of every segment at once
    (:meth:`SnapshotLinks.prefetch`, as a writer's commit asks them) equal the same keys
    asked one at a time and the live articles that have each key, in small and big
    segments, after deletes, retitles (the old version's key left in a dead doc) and a
    merge: with a coarse hash, so most candidates share a hash and must be confirmed."""
    monkeypatch.setattr(linkmaps, "_hash", lambda key: len(key) % 5)
    linkmaps.forget_hashes()
    try:
        _lookups_together_and_alone()
    finally:
        monkeypatch.undo()
        linkmaps.forget_hashes()  # no coarse hash stays remembered


def _lookups_together_and_alone() -> None:
    rng = random.Random(11)
    records = belin(120)
    pool = linked_articles(records, rng)
    titles = [article.title for article in pool[:10]]
    urls = ["https://news.example/shared", "http://www.news.example/other/", None]
    live: dict[str, Article] = {}
    index = Index.in_memory()

    def retitled(article: Article) -> Article:
        return Article(
            id=article.id,
            title=rng.choice(titles),
            body=article.body,
            url=rng.choice([article.url, *urls]),
            related=article.related,
        )

    def check() -> None:
        reader = index.reader()
        keys = [*(links.title_key(a.title) for a in pool), "নেই"]
        url_keys = [*{links.link_url_key(a.url or "") for a in pool} - {""}, "https://none/"]
        together = links.SnapshotLinks(reader.segments, reader.find)
        together.prefetch((key, url, "") for key, url in zip(keys, url_keys * 200, strict=False))
        together.prefetch((key, "", "") for key in keys)
        alone = links.SnapshotLinks(reader.segments, reader.find)
        for lookup, wanted, key_of in (
            ("by_title", keys, lambda a: links.title_key(a.title)),
            ("by_url", url_keys, lambda a: links.link_url_key(a.url or "")),
        ):
            for key in wanted:
                expected = sorted(a.id for a in live.values() if key_of(a) == key)
                assert sorted(getattr(together, lookup).get(key, ())) == expected, key
                assert sorted(getattr(alone, lookup).get(key, ())) == expected, key
        for ident in live:  # where a lookup found it is where it lives
            assert together.locate(ident) == reader.find(ident)

    with index.writer(merge_policy=NO_MERGES) as first:  # big segments (binary search)
        for article in pool[:100]:
            first.add(article)
            live[article.id] = article
    for round_ in range(6):  # small segments (dicts), deletes and retitles in old ones
        with index.writer(merge_policy=NO_MERGES) as fresh:
            for _ in range(3):
                ident = rng.choice(pool).id
                if rng.random() < 0.4:
                    fresh.delete(ident)
                    live.pop(ident, None)
                else:
                    article = retitled(live.get(ident) or pool[100 + round_])
                    fresh.add(article)
                    live[article.id] = article
        check()
    with index.writer() as merging:
        merging.optimize()
    assert len(index.reader().segments) == 1
    check()
