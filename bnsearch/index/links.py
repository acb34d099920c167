"""Related-headline links over index segments: adapters of :mod:`bnsearch.articles.links`.

The rule (:func:`~bnsearch.articles.links.resolve_link`) and the one incremental graph
(:class:`~bnsearch.articles.links.LinkGraph`) live in the article room. This module only
reads them out of segments:

* :func:`segment_link_maps`: the one per-segment lookup (built once per segment and kept
  with it: segments never change): docs by title key and by URL key, the
  :data:`~bnsearch.articles.links.LinkKeys` of every edge, edges by target id, URL key and
  title key. Deleted docs are included; callers filter with the snapshot's live masks.
* :func:`doc_link_keys`: the link keys of one doc, in page order.
* :func:`graph_from_segments`: a :class:`LinkGraph` over the live docs of a snapshot, put
  by keys (headlines are read from the stored rows only when asked for).
* :class:`SnapshotLinks`: one article's out-links or in-links resolved on demand with the
  same rule over the segments' maps, so the first ``related()`` on a big index does not
  resolve every link.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from bnsearch.articles.links import (
    LinkGraph,
    LinkKeys,
    LinkStatus,
    Resolution,
    link_keys,
    resolve_link,
    title_key,
    url_key,
)
from bnsearch.articles.model import RelatedLink
from bnsearch.errors import IndexFormatError

if TYPE_CHECKING:
    from bnsearch.index.segment import SegmentReader

__all__ = [
    "LinkGraph",
    "LinkKeys",
    "LinkStatus",
    "Resolution",
    "SegmentLinkMaps",
    "SnapshotLinks",
    "doc_link_keys",
    "graph_from_segments",
    "link_keys",
    "link_url_key",
    "resolve_link",
    "segment_link_maps",
    "title_key",
    "url_key",
]


@functools.lru_cache(maxsize=1 << 16)
def link_url_key(url: str) -> str:
    """:func:`url_key` of a stored URL, ``""`` for no URL (cached: URLs repeat)."""
    return url_key(url) if url else ""


def _group(values: Sequence[str]) -> dict[str, list[int]]:
    grouped: dict[str, list[int]] = {}
    for number, value in enumerate(values):
        if value:
            bucket = grouped.get(value)
            if bucket is None:
                grouped[value] = [number]
            else:
                bucket.append(number)
    return grouped


@attrs.frozen(kw_only=True)
class SegmentLinkMaps:
    """One segment's link lookups (deleted docs included)."""

    docs_by_title: dict[str, list[int]]
    docs_by_url: dict[str, list[int]]
    #: per edge: the link's keys (title key, URL key, target id)
    edge_keys: list[LinkKeys]
    edges_by_tid: dict[str, list[int]]
    edges_by_url: dict[str, list[int]]
    edges_by_key: dict[str, list[int]]

    def edges_pointing_at(self, article_id: str, url: str, key: str) -> set[int]:
        """Edges whose resolution may involve an article with this id, URL key, title key."""
        found = set(self.edges_by_tid.get(article_id, ()))
        if url:
            found.update(self.edges_by_url.get(url, ()))
        if key:
            found.update(self.edges_by_key.get(key, ()))
        return found


_MAPS: weakref.WeakKeyDictionary[Any, SegmentLinkMaps] = weakref.WeakKeyDictionary()


def segment_link_maps(segment: SegmentReader) -> SegmentLinkMaps:
    """The :class:`SegmentLinkMaps` of ``segment``, built on first use and kept with its
    arrays (a refreshed reader reuses unchanged segments, and a segment that only gained
    deletions or an anchor update shares its arrays, so only new segments pay)."""
    found = _MAPS.get(segment.arrays_key)
    if found is None:
        if len(segment.link_src):
            table = segment.edges()
            urls = [link_url_key(url) for url in table.url]
            edge_keys = list(zip(table.key, urls, table.tid, strict=True))
            by_tid, by_url, by_key = _group(table.tid), _group(urls), _group(table.key)
        else:
            edge_keys, by_tid, by_url, by_key = [], {}, {}, {}
        found = SegmentLinkMaps(
            docs_by_title=_group(segment.title_keys()),
            docs_by_url=_group([link_url_key(url) for url in segment.urls()]),
            edge_keys=edge_keys,
            edges_by_tid=by_tid,
            edges_by_url=by_url,
            edges_by_key=by_key,
        )
        _MAPS[segment.arrays_key] = found
    return found


def doc_link_keys(segment: SegmentReader, doc: int) -> tuple[LinkKeys, ...]:
    """The link keys of ``doc`` in ``segment``, in page order."""
    if not len(segment.link_src):
        return ()
    keys = segment_link_maps(segment).edge_keys
    return tuple(keys[edge] for edge in segment.edges().of_source(doc))


def stored_links(segment: SegmentReader, doc: int) -> tuple[RelatedLink, ...]:
    """The related links of ``doc`` as stored (headline, URL, target), in page order."""
    return tuple(
        RelatedLink(headline=headline, url=url, target_id=target)
        for headline, url, target in segment.stored(doc)["related"]
    )


def damaged_ids(article_id: str) -> IndexFormatError:
    """The error for a link graph read from segments whose id tables disagree with the
    reader's (a crafted or damaged ids table that passed the open checks)."""
    return IndexFormatError(
        f"a link of article {article_id!r} was read from the index, but no live document "
        "has that id: a segment's id table is damaged; run `bnsearch verify --index DIR`"
    )


def graph_from_segments(
    segments: Sequence[SegmentReader],
    find: Callable[[str], tuple[int, int] | None],
    *,
    live: Sequence[npt.NDArray[np.bool_]] | None = None,
) -> LinkGraph:
    """A :class:`LinkGraph` over the live docs of ``segments`` (put by keys; ``find``
    locates a live id as (segment ordinal, doc) for the headlines of edges and reports).
    ``live`` replaces the segments' own live masks (a writer's batch deletes docs)."""

    @functools.lru_cache(maxsize=256)  # a report reads one source's links in a row
    def links_of(source_id: str) -> tuple[RelatedLink, ...]:
        where = find(source_id)
        if where is None:  # the graph was read from these segments: their id tables disagree
            raise damaged_ids(source_id)
        return stored_links(segments[where[0]], where[1])

    def link_source(source_id: str, link_no: int) -> RelatedLink:
        return links_of(source_id)[link_no]

    graph = LinkGraph(link_source=link_source)
    added = []
    for ordinal, segment in enumerate(segments):
        ids = segment.article_ids()
        titles = segment.title_keys()
        urls = segment.urls()
        maps = segment_link_maps(segment) if len(segment.link_src) else None
        table = segment.edges() if maps is not None else None
        mask = segment.live if live is None else live[ordinal]
        for doc, alive in enumerate(mask.tolist()):
            if not alive:
                continue
            links: tuple[LinkKeys, ...] = ()
            if maps is not None and table is not None:
                links = tuple(maps.edge_keys[edge] for edge in table.of_source(doc))
            added.append((ids[doc], titles[doc], link_url_key(urls[doc]), links))
    graph.update(added=added)
    return graph


class _LiveIds:
    """``get(key, default)``: ids of the snapshot's live articles with this title or URL
    key (a lookup :func:`resolve_link` takes)."""

    def __init__(self, segments: Sequence[SegmentReader], attribute: str) -> None:
        self._segments = segments
        self._attribute = attribute

    def get(self, key: str, default: Collection[str], /) -> Collection[str]:
        found: list[str] = []
        for segment in self._segments:
            docs = getattr(segment_link_maps(segment), self._attribute).get(key)
            if docs:
                ids, live = segment.article_ids(), segment.live
                found.extend(ids[doc] for doc in docs if live[doc])
        return found or default


class SnapshotLinks:
    """The links of one snapshot resolved on demand, one article at a time.

    ``out_links(id)`` resolves the article's own links; ``in_links(id)`` resolves only
    the links that could point at it (same target id, URL key or title key). Both apply
    :func:`resolve_link` to the snapshot's live articles, so they equal what a
    :class:`LinkGraph` over the snapshot gives for that article.
    """

    def __init__(
        self,
        segments: Sequence[SegmentReader],
        find: Callable[[str], tuple[int, int] | None],
    ) -> None:
        self._segments = tuple(segments)
        self._find = find
        self._by_title = _LiveIds(self._segments, "docs_by_title")
        self._by_url = _LiveIds(self._segments, "docs_by_url")
        self._out: dict[str, tuple[str, ...]] = {}
        self._in: dict[str, tuple[str, ...]] = {}

    def _is_live(self, article_id: str) -> bool:
        return self._find(article_id) is not None

    def resolve(self, source_id: str, keys: LinkKeys) -> Resolution:
        """Where a link with ``keys`` on ``source_id`` points in this snapshot."""
        return resolve_link(
            source_id, keys, live=self._is_live, by_url=self._by_url, by_title=self._by_title
        )

    def out_links(self, article_id: str) -> tuple[str, ...]:
        """Distinct targets of a live article's links, in headline order."""
        cached = self._out.get(article_id)
        if cached is not None:
            return cached
        targets: dict[str, None] = {}
        where = self._find(article_id)
        if where is not None:
            for keys in doc_link_keys(self._segments[where[0]], where[1]):
                state = self.resolve(article_id, keys)
                if state.status is LinkStatus.RESOLVED and state.target is not None:
                    targets[state.target] = None
        result = self._out[article_id] = tuple(targets)
        return result

    def in_links(self, article_id: str) -> tuple[str, ...]:
        """Distinct live sources of links resolving to a live article, sorted."""
        cached = self._in.get(article_id)
        if cached is not None:
            return cached
        sources: set[str] = set()
        where = self._find(article_id)
        if where is not None:
            target = self._segments[where[0]]
            key = target.title_key_of(where[1])
            url = link_url_key(target.url_of(where[1]))
            for segment in self._segments:
                if not len(segment.link_src):
                    continue
                maps = segment_link_maps(segment)
                src, ids, live = segment.edges().src, segment.article_ids(), segment.live
                for edge in maps.edges_pointing_at(article_id, url, key):
                    doc = src[edge]
                    if not live[doc] or ids[doc] in sources:
                        continue
                    if self.resolve(ids[doc], maps.edge_keys[edge]).target == article_id:
                        sources.add(ids[doc])
        result = self._in[article_id] = tuple(sorted(sources))
        return result
