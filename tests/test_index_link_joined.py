"""A writer's joined title and URL maps of its big segments (linkmaps.JoinedDocMaps),
kept across commits: the same resolutions as each segment's own maps, and never used
once the segments it joined changed (a merge, a rollback, another writer's commit)."""

from __future__ import annotations

from typing import Any

import pytest
from test_index_link_updates import (
    fresh_anchors,
    linked_article,
    run_random_updates,
    stored_anchors,
)

from bnsearch.articles import Article
from bnsearch.index import Index, MergePolicy, linkmaps


@pytest.fixture
def joined_calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Segments of two docs or more joined (tests' segments are small); the tables
    made and searched counted."""
    monkeypatch.setattr(linkmaps, "JOINED_DOCS", 2)
    calls = {"made": 0, "searched": 0}
    made, searched = linkmaps.JoinedDocMaps.__init__, linkmaps.JoinedDocMaps.candidates_many

    def counted_made(self: Any, *args: Any) -> None:
        calls["made"] += 1
        made(self, *args)

    def counted_searched(self: Any, *args: Any) -> Any:
        calls["searched"] += 1
        return searched(self, *args)

    monkeypatch.setattr(linkmaps.JoinedDocMaps, "__init__", counted_made)
    monkeypatch.setattr(linkmaps.JoinedDocMaps, "candidates_many", counted_searched)
    return calls


@pytest.mark.parametrize("seed", range(12))
def test_random_updates_through_joined_maps_match_a_resolution_from_scratch(
    seed: int, joined_calls: dict[str, int]
) -> None:
    """Random adds, upserts (retitles, new URLs), deletes, rollbacks, commits, merges
    and new writers, every commit checked against a resolution from scratch, with the
    joined maps answering the lookups of the segments they join."""
    run_random_updates(
        Index.in_memory(),
        seed=seed,
        buffer_mb=128.0,
        processes=1,
        merge_policy=MergePolicy(merge_factor=2, floor_docs=1, background_docs=None),
    )
    assert joined_calls["searched"] > 0


def test_a_kept_table_serves_commits_until_a_merge_replaces_its_segments(
    joined_calls: dict[str, int],
) -> None:
    """One table while one-article commits leave the big segments as they are; a merge
    of them (optimize) makes a new one, whose lookups find a target in the merged
    segment (a table joining the segments merged away would read the wrong docs);
    a target deleted or retitled in a joined segment no longer takes the links naming
    its old title."""
    index = Index.in_memory()
    live: dict[str, Article] = {}
    policy = MergePolicy(floor_docs=1000, background_docs=None)  # nothing merged by itself

    def commit(writer: Any, *articles: Article, delete: str = "") -> None:
        for article in articles:
            writer.add(article)
            live[article.id] = article
        if delete:
            writer.delete(delete)
            live.pop(delete)
        writer.commit()
        assert stored_anchors(index) == fresh_anchors(live)

    with index.writer(merge_policy=policy) as writer:
        commit(writer, *(linked_article(f"a{n}", f"নদী খবর {n}") for n in range(4)))
    with index.writer(merge_policy=policy) as writer:
        commit(writer, *(linked_article(f"b{n}", f"সেতু খবর {n}", "নদী খবর 1") for n in range(3)))
    with index.writer(merge_policy=policy) as writer:
        commit(writer, linked_article("c0", "বৃষ্টি", "নদী খবর 2", "সেতু খবর 0"))
        made = joined_calls["made"]
        commit(writer, linked_article("c1", "বৃষ্টি দুই", "নদী খবর 3"))
        commit(writer, linked_article("c2", "বৃষ্টি তিন", "সেতু খবর 2"))
        assert joined_calls["made"] == made  # kept: the big segments stayed
        writer.optimize()
        assert len(index.reader().segments) == 1
        commit(writer, linked_article("c3", "মেঘ", "নদী খবর 0", "সেতু খবর 1"))
        assert joined_calls["made"] > made  # the merged segment's own table
        commit(writer, linked_article("c4", "মেঘ দুই", "সেতু খবর 1"), delete="b1")
        commit(
            writer, linked_article("a0", "নতুন শিরোনাম"), linked_article("c5", "মেঘ তিন", "নদী খবর 0")
        )
    anchors = stored_anchors(index)
    assert anchors["a2"] == ["নদী খবর 2"] and anchors["b0"] == ["সেতু খবর 0"]
    assert anchors["a0"] == []  # retitled: the links naming its old title resolve nowhere
    assert joined_calls["searched"] > 0


def test_a_writers_views_hand_each_segments_lookups_on_while_its_arrays_stay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A commit's view takes the segment lookups the last one made for the same arrays
    (only the new segments' are made), and none of a segment merged away: after a merge
    (forced every second commit) the links still resolve as a fresh build's."""
    from bnsearch.index import links

    made: list[str] = []
    original = links.segment_link_maps

    def counted(segment: Any) -> Any:
        made.append(segment.name)
        return original(segment)

    monkeypatch.setattr(links, "segment_link_maps", counted)
    index = Index.in_memory()
    live: dict[str, Article] = {}
    with index.writer() as writer:
        for n in range(6):
            live[f"a{n}"] = linked_article(f"a{n}", f"নদী খবর {n}", f"নদী খবর {n + 1}")
        writer.add_many(live.values())
    policy = MergePolicy(merge_factor=2, floor_docs=1, background_docs=None)
    with index.writer(merge_policy=policy) as writer:
        for n in range(6):
            article = linked_article(f"c{n}", f"মেঘ {n}", f"নদী খবর {n}", f"মেঘ {n - 1}")
            writer.add(article)
            live[article.id] = article
            made.clear()
            result = writer.commit()
            assert len(set(made)) == len(made)  # each segment's lookups made once
            if n and not result.merged_segments:
                assert "seg-000001" not in made  # the bulk build's segment: handed on
            assert stored_anchors(index) == fresh_anchors(live)
        writer.optimize()  # every segment merged into one: no lookups of theirs kept
        assert writer._made_maps.keys() <= {s.arrays_key for s in index.reader().segments}
        article = linked_article("d0", "শেষ", "মেঘ 1")
        writer.add(article)
        live[article.id] = article
        writer.commit()
        assert stored_anchors(index) == fresh_anchors(live)
