"""Index room: a links build keeps the heap's free pages from one flush's graph update
to that flush's segment build, and gives them back once, at the commit.

:meth:`LinkGraph.update` of a big batch gives the C heap's free pages back to the system
(:func:`bnsearch.heap.give_back_memory`) so a graph built alone does not keep its
temporaries resident. A writer building an index drains its graph at every flush and
builds a segment right after: given back there, the segment build faulted the same pages
in again (a 100k links build: +129,000 minor faults over a plain build's segment builds).
The writer's drains keep them (``give_back=False``) and its commit (or rollback) gives
them back once; the files it writes are the same.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_index_build_links import linked

import bnsearch.articles.links as graph_module
import bnsearch.index.writer as writer_module
from bnsearch.articles.links import LinkGraph, article_keys
from bnsearch.index import Index, MergePolicy
from bnsearch.index.builder import SegmentBuilder


def record(monkeypatch: pytest.MonkeyPatch, events: list[str]) -> None:
    """Note each heap give-back (the graph's and the writer's) and each segment build;
    every batch of two links or more counts as big."""
    monkeypatch.setattr(graph_module, "_GIVE_BACK", 2)
    monkeypatch.setattr(graph_module, "give_back_memory", lambda: events.append("give back"))
    monkeypatch.setattr(writer_module, "give_back_memory", lambda: events.append("give back"))
    build = SegmentBuilder.build

    def noted(self: SegmentBuilder, *args: object, **kwargs: object) -> object:
        events.append("build")
        return build(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(SegmentBuilder, "build", noted)


def build(folder: Path, count: int = 60) -> Index:
    """A links build of ``count`` articles flushing every few (several drains)."""
    index = Index.create(folder)
    policy = MergePolicy(merge_factor=1000)
    with index.writer(buffer_mb=0.0005, merge_policy=policy) as writer:
        writer.add_many(linked(count))
    return index


def test_a_graph_update_gives_back_unless_asked_not_to(monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[str] = []
    record(monkeypatch, events)
    articles = [article_keys(article) for article in linked(40)]
    graph = LinkGraph()
    graph.update(added=articles[:20], give_back=False)
    assert events == []
    graph.update(added=articles[20:])
    assert events == ["give back"]


def test_a_links_build_gives_back_once_after_its_segment_builds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every flush drains the graph, then builds: no give-back between them; one at
    the commit, after the last build."""
    events: list[str] = []
    record(monkeypatch, events)
    index = build(tmp_path / "index")
    assert len(index.reader().segments) > 3
    assert events.count("build") == len(index.reader().segments)
    assert events.count("give back") == 1
    assert events[-1] == "give back"


def test_a_rollback_gives_back_what_the_drains_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    record(monkeypatch, events)
    index = Index.create(tmp_path / "index")
    with index.writer(buffer_mb=0.0005) as writer:
        writer.add_many(linked(30))
        writer.flush()
        assert "build" in events
        assert "give back" not in events
        writer.rollback()
        assert events[-1] == "give back"
    assert index.reader().doc_count == 0


def test_kept_pages_leave_the_files_as_they_were(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same articles built with the graph's pages given back at every drain (as
    before) and kept until the commit write the same segment files, byte for byte."""
    kept = build(tmp_path / "kept")
    update = LinkGraph.update

    def giving_back(self: LinkGraph, **kwargs: object) -> set[str]:
        kwargs["give_back"] = True
        return update(self, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(LinkGraph, "update", giving_back)
    given = build(tmp_path / "given")
    names = sorted(path.name for path in (tmp_path / "kept").glob("seg-*"))
    assert names == sorted(path.name for path in (tmp_path / "given").glob("seg-*"))
    assert len(names) > 3
    for name in names:  # (the manifests differ in their time of writing)
        assert (tmp_path / "kept" / name).read_bytes() == (tmp_path / "given" / name).read_bytes()
    assert (
        kept.searcher().related("a3", limit=3)[0].id
        == given.searcher().related("a3", limit=3)[0].id
    )


def test_small_graph_updates_leave_nothing_to_give_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A drain the graph would not have given back for (fewer new links than its bound)
    keeps no pages: the commit then trims nothing (a trim walks the whole heap; a
    writer keeping a graph commits one article at a time too)."""
    events: list[str] = []
    record(monkeypatch, events)
    monkeypatch.setattr(graph_module, "_GIVE_BACK", 1 << 30)
    index = build(tmp_path / "index", count=20)
    assert events.count("build") == len(index.reader().segments) > 1
    assert "give back" not in events
    graph = LinkGraph()
    graph.update(added=[article_keys(article) for article in linked(10)], give_back=False)
    assert not graph.pages_kept()
