"""Related-headline links over index segments: adapters of :mod:`bnsearch.articles.links`.

The rule (:func:`~bnsearch.articles.links.resolve_link`) and the one incremental graph
(:class:`~bnsearch.articles.links.LinkGraph`) live in the article room. This module only
reads them out of segments:

* :func:`segment_link_maps`: the one per-segment lookup by key (docs by title key and
  by URL key, edges by target id, URL key and title key): the segment's persisted key
  maps (:mod:`.linkmaps`) with each candidate confirmed against its stored key. Deleted
  docs are included; callers filter with the state's live masks.
* :func:`doc_link_keys`: the link keys of one doc, in page order.
* :func:`graph_from_segments`: a :class:`LinkGraph` over the live docs of a snapshot, put
  by keys (headlines are read from the stored rows only when asked for).
* :class:`SnapshotLinks`: one article's out-links or in-links resolved on demand with the
  same rule over the segments' maps (and a writer's buffered articles), so the first
  ``related()`` on a big index, and a writer's commit, resolve only the links they touch.
* :func:`link_census`: every live link sorted into resolved (with its target) or pending
  (unresolved, ambiguous) over the segments' maps with numpy, for a reader's reports and
  its in-link prior, without a :class:`LinkGraph` of the whole index.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from bnsearch.arrays import distinct
from bnsearch.articles.links import (
    KeyedArticle,
    LinkGraph,
    LinkKeys,
    LinkRef,
    LinkStatus,
    Resolution,
    link_keys,
    resolve_link,
    settled_by_key,
    title_key,
    url_key,
)
from bnsearch.articles.model import RelatedLink
from bnsearch.errors import IndexFormatError
from bnsearch.index.linkmaps import (
    JoinedDocMaps,
    KeyBatch,
    KeyMap,
    joined_members,
    link_url_key,
    segment_maps,
)
from bnsearch.index.segment import LINK_HEADLINES, decode_one, decode_strings

if TYPE_CHECKING:
    from bnsearch.index.segment import SegmentReader

__all__ = [
    "LinkCensus",
    "LinkGraph",
    "LinkKeys",
    "LinkStatus",
    "Resolution",
    "SegmentLinkMaps",
    "SnapshotLinks",
    "Unstored",
    "doc_link_keys",
    "graph_from_segments",
    "iter_live_link_keys",
    "link_census",
    "link_keys",
    "link_url_key",
    "live_link_keys",
    "resolve_link",
    "segment_link_maps",
    "title_key",
    "url_key",
]


#: Answers :meth:`SegmentLinkMaps.edges_pointing_at` remembers (past it, it starts over:
#: a writer's views hand a segment's lookups on from commit to commit).
POINTING_REMEMBERED = 256

#: A link's key kind -> (its edge map, the link table's part holding that key).
_EDGE_MAPS = {"id": ("etid", "tid"), "url": ("eurl", "url"), "title": ("ekey", "key")}


@attrs.frozen
class SegmentLinkMaps:
    """One segment's link lookups by key (deleted docs included): its persisted key maps
    (:mod:`.linkmaps`) with every candidate confirmed against the key stored for it."""

    segment: SegmentReader
    maps: dict[str, KeyMap]
    #: what :meth:`edges_pointing_at` found, by its arguments (a state's lookups of the
    #: batch's keys and the resolution of the batch's articles' in-links ask alike)
    _pointing: dict[tuple[str, str, str], frozenset[int]] = attrs.field(
        factory=dict, init=False, repr=False, eq=False
    )

    def docs_with_title(self, key: str) -> list[int]:
        """Docs whose title key is ``key``."""
        return self.docs_with(True, KeyBatch((key,)))[0]

    def docs_with_url(self, key: str) -> list[int]:
        """Docs whose URL key is ``key``."""
        return self.docs_with(False, KeyBatch((key,)))[0]

    def docs_with(self, title: bool, batch: KeyBatch) -> list[list[int]]:
        """Per key of ``batch``: the docs whose title key (``title``) or URL key is it (the
        map asked once for all of them: :meth:`.linkmaps.KeyMap.candidates_many`)."""
        stored = stored_doc_key(self.segment, title)
        found = self.maps["title" if title else "url"].candidates_many(batch)
        return [
            [doc for doc in docs if stored(doc) == key] if docs else docs
            for key, docs in zip(batch.keys, found, strict=True)
        ]

    def edges_with(self, kind: str, key: str) -> list[int]:
        """Edges whose target id (``kind`` "id"), URL key ("url") or title key ("title")
        is ``key``."""
        name, part = _EDGE_MAPS[kind]
        edges = self.maps[name].candidates(key)
        if not edges:
            return edges
        values = self.segment.link_values(part, edges)
        if part == "url":
            values = [link_url_key(value) for value in values]
        return [edge for edge, value in zip(edges, values, strict=True) if value == key]

    def edges_pointing_at(self, article_id: str, url: str, key: str) -> frozenset[int]:
        """Edges whose resolution may involve an article with this id, URL key, title key
        (remembered)."""
        remembered = self._pointing.get((article_id, url, key))
        if remembered is not None:
            return remembered
        if len(self._pointing) >= POINTING_REMEMBERED:  # (kept across a writer's views)
            self._pointing.clear()
        found = set(self.edges_with("id", article_id)) if self.maps["etid"].items.size else set()
        if url:
            found.update(self.edges_with("url", url))
        if key:
            found.update(self.edges_with("title", key))
        result = self._pointing[(article_id, url, key)] = frozenset(found)
        return result

    def edge_keys(self, edge: int) -> LinkKeys:
        """The :data:`LinkKeys` of one edge."""
        return self.edges_keys((edge,))[0]

    def edges_keys(self, edges: Sequence[int]) -> list[LinkKeys]:
        """The :data:`LinkKeys` of each of ``edges`` (each part's table read once)."""
        keys, urls, tids = (self.segment.link_values(part, edges) for part in ("key", "url", "tid"))
        return [
            (key, link_url_key(url), tid) for key, url, tid in zip(keys, urls, tids, strict=True)
        ]


def stored_doc_key(segment: SegmentReader, title: bool) -> Callable[[int], str]:
    """A doc's title key (``title``) or URL key as ``segment`` stores it: what a map's
    candidate is confirmed against."""
    if title:
        return segment.title_key_of

    def stored(doc: int) -> str:
        return link_url_key(segment.url_of(doc))

    return stored


def segment_link_maps(segment: SegmentReader) -> SegmentLinkMaps:
    """The :class:`SegmentLinkMaps` of ``segment`` (its maps are read, or for a segment
    written without them built, once per segment: see :func:`.linkmaps.segment_maps`)."""
    return SegmentLinkMaps(segment, segment_maps(segment))


def doc_link_keys(segment: SegmentReader, doc: int) -> tuple[LinkKeys, ...]:
    """The link keys of ``doc`` in ``segment``, in page order."""
    src = segment.link_src
    if not len(src):
        return ()
    at = src.dtype.type(doc)  # a Python int would make numpy convert the whole array
    low, high = (int(src.searchsorted(at, side)) for side in ("left", "right"))
    if low == high:
        return ()
    edges = range(low, high)
    keys, urls, tids = (segment.link_values(part, edges) for part in ("key", "url", "tid"))
    return tuple(
        (key, link_url_key(url), tid) for key, url, tid in zip(keys, urls, tids, strict=True)
    )


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
    graph.update(added=iter_live_link_keys(segments, live=live))
    return graph


def live_link_keys(
    segments: Sequence[SegmentReader], *, live: Sequence[npt.NDArray[np.bool_]] | None = None
) -> list[KeyedArticle]:
    """The :data:`~bnsearch.articles.links.KeyedArticle` of the live docs of ``segments``
    as one list (for a shard's link state sent to another process; a graph takes them
    from :func:`iter_live_link_keys` without the list)."""
    return list(iter_live_link_keys(segments, live=live))


#: Docs of one segment whose keys are decoded at a time by :func:`iter_live_link_keys`.
_KEYS_CHUNK = 1 << 14


def iter_live_link_keys(
    segments: Sequence[SegmentReader],
    *,
    live: Sequence[npt.NDArray[np.bool_]] | None = None,
    chunk: int = _KEYS_CHUNK,
) -> Iterator[KeyedArticle]:
    """The :data:`~bnsearch.articles.links.KeyedArticle` of the live docs of ``segments``
    (``live`` replaces the segments' own live masks), read from segment arrays
    ``chunk`` docs at a time: only that many docs' title keys, URLs and link keys are
    decoded at once, and no segment keeps a decoded copy of its link tables."""
    for ordinal, segment in enumerate(segments):
        ids = segment.article_ids()
        mask = segment.live if live is None else live[ordinal]
        src = np.asarray(segment.link_src)
        for low in range(0, segment.max_doc, chunk):
            high = min(low + chunk, segment.max_doc)
            alive = mask[low:high].tolist()
            if not any(alive):
                continue
            titles = _strings(segment, "strings.titlekeys", low, high)
            urls = _strings(segment, "strings.urls", low, high)
            first, last = (int(v) for v in src.searchsorted([low, high], side="left"))
            keys, edge_urls, tids = (
                _strings(segment, f"strings.links.{part}", first, last)
                for part in ("key", "url", "tid")
            )
            edge_keys = [
                (key, link_url_key(url), tid)
                for key, url, tid in zip(keys, edge_urls, tids, strict=True)
            ]
            ends = src[first:last].searchsorted(np.arange(low, high + 1), side="left").tolist()
            for doc, keep in enumerate(alive):
                if keep:
                    links = tuple(edge_keys[ends[doc] : ends[doc + 1]])
                    yield (ids[low + doc], titles[doc], link_url_key(urls[doc]), links)


def _strings(segment: SegmentReader, stem: str, low: int, high: int) -> list[str]:
    """Strings ``low`` to ``high - 1`` of a segment's string table ``stem``."""
    offsets = segment.array(f"{stem}.off")[low : high + 1]
    return decode_strings(segment.array(f"{stem}.blob"), offsets, f"{segment.name} {stem}")


#: An article in no segment yet (a writer's buffer), as :class:`SnapshotLinks` takes it:
#: (title key, URL key, link keys in page order, link headlines in page order).
Unstored = tuple[str, str, tuple[LinkKeys, ...], tuple[str, ...]]


class _Unstored:
    """Lookups over articles in no segment yet (few: a writer's buffer)."""

    def __init__(self, articles: Mapping[str, Unstored]) -> None:
        self.articles = articles
        self.by_title: dict[str, list[str]] = {}
        self.by_url: dict[str, list[str]] = {}
        # links by the keys they name: (source id, link number)
        self.naming: dict[tuple[int, str], list[LinkRef]] = {}
        for ident, (title, url, links, _) in articles.items():
            if title:
                self.by_title.setdefault(title, []).append(ident)
            if url:
                self.by_url.setdefault(url, []).append(ident)
            for number, keys in enumerate(links):
                for part, key in enumerate(keys):
                    if key:
                        self.naming.setdefault((part, key), []).append((ident, number))

    def links_naming(self, article_id: str, url: str, key: str) -> set[LinkRef]:
        """Links whose target id, URL key or title key is the given one."""
        found = set(self.naming.get((2, article_id), ()))
        if url:
            found.update(self.naming.get((1, url), ()))
        if key:
            found.update(self.naming.get((0, key), ()))
        return found


_NO_UNSTORED = _Unstored({})


class _LiveIds:
    """``get(key, default)``: ids of the snapshot's live articles with this title or URL
    key (a lookup :func:`resolve_link` takes; remembered, the snapshot is fixed)."""

    def __init__(self, links: SnapshotLinks, title: bool) -> None:
        # (a weak reference: the view holds its lookups, and a cycle between them would
        # leave a writer's replaced view, its readers and their tables, to the garbage
        # collector instead of freeing them when the writer lets go)
        self._links = weakref.ref(links)
        self._title = title
        self._found: dict[str, list[str]] = {}

    def get(self, key: str, default: Collection[str], /) -> Collection[str]:
        found = self._found.get(key)
        if found is None:
            self.prefetch((key,))
            found = self._found[key]
        return found or default

    def prefetch(self, keys: Iterable[str]) -> None:
        """Look up every one of ``keys`` not looked up yet, each segment's map asked once
        for all of them (what :meth:`get` then answers)."""
        remembered = self._found
        wanted = [key for key in dict.fromkeys(keys) if key not in remembered]
        if not wanted:
            return
        links, title = self._links(), self._title
        assert links is not None  # (only its view hands it out, and asks it while alive)
        located = links._located
        answers: list[list[str]] = [[] for _ in wanted]
        batch = KeyBatch(wanted)  # each key hashed once for all segments
        joined, joined_ordinals = links.joined
        if joined is not None:  # the big segments' maps: one table searched for them all
            name = "title" if title else "url"
            stored = [stored_doc_key(links.segments[o], title) for o in joined_ordinals]
            for answer, key, pairs in zip(
                answers, wanted, joined.candidates_many(name, batch), strict=True
            ):
                for member, doc in pairs:
                    ordinal = joined_ordinals[member]
                    if links.live[ordinal][doc] and stored[member](doc) == key:
                        ident = links.segments[ordinal].article_id(doc)
                        answer.append(ident)
                        located[ident] = (ordinal, doc)
        skipped = set(joined_ordinals)
        for ordinal, segment in enumerate(links.segments):
            if ordinal in skipped:
                continue
            live = links.live[ordinal]
            for answer, docs in zip(
                answers, links.maps(ordinal).docs_with(title, batch), strict=True
            ):
                for doc in docs:
                    if live[doc]:
                        ident = segment.article_id(doc)
                        answer.append(ident)
                        located[ident] = (ordinal, doc)
        unstored = links.unstored.by_title if title else links.unstored.by_url
        for key, answer in zip(wanted, answers, strict=True):
            answer.extend(unstored.get(key, ()))
            remembered[key] = answer


@attrs.frozen
class _Without:
    """A key lookup (``get(key, default)``) with some ids left out."""

    lookup: _LiveIds
    absent: Collection[str]

    def get(self, key: str, default: Collection[str], /) -> Collection[str]:
        found = [ident for ident in self.lookup.get(key, ()) if ident not in self.absent]
        return found or default


class SnapshotLinks:
    """The links of one fixed state of an index resolved on demand, one article at a time.

    ``out_links(id)`` resolves the article's own links; ``incoming_refs(id)`` and
    ``in_links(id)`` resolve only the links that could point at it (same target id, URL
    key or title key, found through the segments' key maps). All apply
    :func:`resolve_link` to the state's live articles, so they equal what a
    :class:`LinkGraph` over that state gives for that article.

    The state: ``segments`` with their live masks (``live`` replaces them: a writer's
    batch deletes docs), and ``unstored`` articles in no segment yet (a writer's
    buffer), by id. ``find`` locates a live id in the segments as (segment ordinal,
    doc). A writer makes one for each time it reads the links; a reader keeps one.
    """

    def __init__(
        self,
        segments: Sequence[SegmentReader],
        find: Callable[[str], tuple[int, int] | None],
        *,
        live: Sequence[npt.NDArray[np.bool_]] | None = None,
        unstored: Mapping[str, Unstored] | None = None,
        joined: JoinedDocMaps | None = None,
        made: Mapping[object, SegmentLinkMaps] | None = None,
    ) -> None:
        self.segments = tuple(segments)
        self.live = tuple(segment.live for segment in segments) if live is None else tuple(live)
        #: the doc maps of the segments :func:`.linkmaps.joined_members` names, joined
        #: (a writer keeps one across commits), and those segments' ordinals; a table
        #: that does not hold exactly their arrays is not used
        ordinals = joined_members(self.segments) if joined is not None else []
        if joined is None or not joined.holds([self.segments[o] for o in ordinals]):
            joined, ordinals = None, []
        self.joined: tuple[JoinedDocMaps | None, list[int]] = (joined, ordinals)
        self.unstored = _Unstored(unstored) if unstored else _NO_UNSTORED
        self._find = find
        #: live ids by title key and by URL key (``get(key, default)``)
        self.by_title = _LiveIds(self, title=True)
        self.by_url = _LiveIds(self, title=False)
        self._resolved: dict[tuple[str, LinkKeys], Resolution] = {}
        self._out: dict[str, tuple[str, ...]] = {}
        self._in: dict[str, list[LinkRef]] = {}
        #: the source of each segment link :meth:`incoming_refs` found: (ordinal, doc)
        self._found_in: dict[LinkRef, tuple[int, int]] = {}
        #: each segment's lookups (``made``: those an earlier view of the same arrays
        #: made, by :attr:`.SegmentReader.arrays_key`, see :meth:`made_maps`)
        self._maps: list[SegmentLinkMaps | None] = (
            [None] * len(self.segments)
            if not made
            else [made.get(segment.arrays_key) for segment in self.segments]
        )
        #: (segment ordinal, doc) of the live ids a key lookup or :meth:`locate` found
        self._located: dict[str, tuple[int, int] | None] = {}
        #: (id, URL key, title key) triples and the segments with no live link naming
        #: any of them (:meth:`note_pointing`), which :meth:`incoming_refs` skips
        self._quiet: tuple[frozenset[tuple[str, str, str]], frozenset[int]] = (
            frozenset(),
            frozenset(),
        )

    def note_pointing(
        self, keys: Collection[tuple[str, str, str]], pointing: Mapping[int, Collection[int]]
    ) -> None:
        """Note what a caller found already: per segment (ordinal) of ``pointing``, its
        live links naming an id, URL key or title key of the triples ``keys`` (id, URL
        key, title key), all of them. :meth:`incoming_refs` of an article whose triple
        is among ``keys`` then skips the segments where none was found (a commit's
        one new article: no segment link names it, so its flush asks no segment)."""
        quiet = frozenset(ordinal for ordinal, edges in pointing.items() if not edges)
        self._quiet = (frozenset(keys), quiet)

    def maps(self, ordinal: int) -> SegmentLinkMaps:
        """The :class:`SegmentLinkMaps` of segment ``ordinal`` (made once per state)."""
        found = self._maps[ordinal]
        if found is None:
            found = self._maps[ordinal] = segment_link_maps(self.segments[ordinal])
        return found

    def made_maps(self) -> dict[object, SegmentLinkMaps]:
        """The :class:`SegmentLinkMaps` made so far, by their segment's
        :attr:`~.SegmentReader.arrays_key`: a writer's next view of the same segments
        takes them (``made``) instead of making each again (they hold what the arrays
        alone decide: deleted docs included, every view filters by its live masks)."""
        return {
            segment.arrays_key: maps
            for segment, maps in zip(self.segments, self._maps, strict=True)
            if maps is not None
        }

    def is_live(self, article_id: str) -> bool:
        """Whether an article with this id is live in this state."""
        return article_id in self.unstored.articles or self.locate(article_id) is not None

    def locate(self, article_id: str) -> tuple[int, int] | None:
        """(segment ordinal, doc) of a live id in the segments, ``None`` when it is in
        none (deleted, or unstored): as the key lookups found it (:attr:`by_title`,
        :attr:`by_url`), else by ``find`` (remembered either way: the state is fixed)."""
        located = self._located
        if article_id in located:
            return located[article_id]
        where = located[article_id] = self._find(article_id)
        return where

    def prefetch(self, links: Iterable[LinkKeys]) -> None:
        """Look up the URL keys and title keys of ``links`` ahead, all at once
        (:meth:`_LiveIds.prefetch`): the resolutions of these links that follow then
        ask no segment again."""
        keys = list(links)
        self.by_url.prefetch(url for _, url, _ in keys if url)
        self.by_title.prefetch(key for key, _, _ in keys if key)

    def resolve(self, source_id: str, keys: LinkKeys) -> Resolution:
        """Where a link with ``keys`` on ``source_id`` points in this state."""
        found = self._resolved.get((source_id, keys))
        if found is None:
            found = self._resolved[(source_id, keys)] = resolve_link(
                source_id, keys, live=self.is_live, by_url=self.by_url, by_title=self.by_title
            )
        return found

    def resolve_before(self, source_id: str, keys: LinkKeys, absent: Collection[str]) -> Resolution:
        """Where a link with ``keys`` on ``source_id`` pointed in this state without the
        articles ``absent`` (the rule over the same lookups, those ids left out: where a
        published link pointed before a batch added them)."""
        if not absent:
            return self.resolve(source_id, keys)
        return resolve_link(
            source_id,
            keys,
            live=lambda ident: ident not in absent and self.is_live(ident),
            by_url=_Without(self.by_url, absent),
            by_title=_Without(self.by_title, absent),
        )

    def link_keys(self, article_id: str) -> tuple[LinkKeys, ...]:
        """The link keys of a live article, in page order (``()`` when not live)."""
        unstored = self.unstored.articles.get(article_id)
        if unstored is not None:
            return unstored[2]
        where = self.locate(article_id)
        return () if where is None else doc_link_keys(self.segments[where[0]], where[1])

    def out_links(self, article_id: str) -> tuple[str, ...]:
        """Distinct targets of a live article's links, in headline order."""
        cached = self._out.get(article_id)
        if cached is not None:
            return cached
        targets: dict[str, None] = {}
        for keys in self.link_keys(article_id):
            state = self.resolve(article_id, keys)
            if state.status is LinkStatus.RESOLVED and state.target is not None:
                targets[state.target] = None
        result = self._out[article_id] = tuple(targets)
        return result

    def incoming_refs_many(self, article_ids: Sequence[str]) -> list[list[LinkRef]]:
        """:meth:`incoming_refs` of each of ``article_ids`` (the protocol of
        :meth:`LinkGraph.incoming_refs_many`; here one key lookup each)."""
        return [self.incoming_refs(article_id) for article_id in article_ids]

    def incoming_refs(self, article_id: str) -> list[LinkRef]:
        """The live links resolving to a live article as ``(source id, link number)``,
        sorted (like :meth:`LinkGraph.incoming_refs`)."""
        cached = self._in.get(article_id)
        if cached is not None:
            return cached
        refs: list[LinkRef] = []
        unstored = self.unstored.articles.get(article_id)
        where = None if unstored is not None else self.locate(article_id)
        if unstored is not None:
            key, url = unstored[0], unstored[1]
        elif where is not None:
            target = self.segments[where[0]]
            key, url = target.title_key_of(where[1]), link_url_key(target.url_of(where[1]))
        else:
            self._in[article_id] = refs
            return refs
        noted, quiet = self._quiet
        skip = quiet if (article_id, url, key) in noted else frozenset()
        for ordinal, segment in enumerate(self.segments):
            src = segment.link_src
            if not len(src) or ordinal in skip:
                continue
            maps = self.maps(ordinal)
            live = self.live[ordinal]
            edges = sorted(maps.edges_pointing_at(article_id, url, key))
            edges = [edge for edge in edges if live[src[edge]]]
            if not edges:  # (most segments: no link names a new article)
                continue
            for edge, keys in zip(edges, maps.edges_keys(edges), strict=True):
                doc = src[edge]
                source = segment.article_id(int(doc))
                if self.resolve(source, keys).target == article_id:
                    ref = (source, edge - int(src.searchsorted(doc)))
                    refs.append(ref)
                    self._found_in[ref] = (ordinal, int(doc))
        articles = self.unstored.articles
        for source, number in self.unstored.links_naming(article_id, url, key):
            if self.resolve(source, articles[source][2][number]).target == article_id:
                refs.append((source, number))
        refs.sort()
        self._in[article_id] = refs
        return refs

    def in_links(self, article_id: str) -> tuple[str, ...]:
        """Distinct live sources of links resolving to a live article, sorted."""
        return tuple(sorted({source for source, _ in self.incoming_refs(article_id)}))

    def incoming_headlines(self, article_id: str) -> tuple[str, ...]:
        """The headlines of :meth:`incoming_refs` of ``article_id``, in their order (a
        link found in a segment is read by its edge, without finding its source again)."""
        return tuple(self.headline(*ref) for ref in self.incoming_refs(article_id))

    def headline(self, source_id: str, link_no: int) -> str:
        """The headline of link ``link_no`` of a live article."""
        unstored = self.unstored.articles.get(source_id)
        if unstored is not None:
            return unstored[3][link_no]
        where = self._found_in.get((source_id, link_no)) or self.locate(source_id)
        if where is None:
            raise damaged_ids(source_id)
        return self.segments[where[0]].link_headline(where[1], link_no)


# -- the census: every live link without a LinkGraph ------------------------------------
#: A pending link as a report shows it: (source id, link number, headline, URL, target
#: id, candidates); ``""`` where the link has none, candidates only when ambiguous.
PendingRow = tuple[str, int, str, str, str, tuple[str, ...]]


@attrs.frozen
class LinkCensus:
    """Every live link of a snapshot: the resolved ones as (source, target) global doc
    numbers (doc ``d`` of segment ``i`` is ``bases[i] + d``); the unresolved ones and the
    ambiguous ones as (segment ordinal, edge) rows, with each ambiguous link's candidates.
    """

    bases: npt.NDArray[np.int64]
    sources: npt.NDArray[np.int64]
    targets: npt.NDArray[np.int64]
    unresolved: npt.NDArray[np.int64]  # shape (n, 2): segment ordinal, edge
    ambiguous: Mapping[tuple[int, int], tuple[str, ...]]

    def in_link_counts(self, sizes: Sequence[int]) -> list[npt.NDArray[np.int32]]:
        """Per segment (``sizes``: its ``max_doc``), an int32 array of how many distinct
        live articles link to each doc."""
        total = max(int(sum(sizes)), 1)
        pairs = distinct(self.targets * total + self.sources)
        counts = np.bincount(pairs // total, minlength=total).astype(np.int32)
        return [counts[base : base + size] for base, size in zip(self.bases, sizes, strict=True)]

    def pending_rows(
        self, segments: Sequence[SegmentReader], status: LinkStatus
    ) -> list[PendingRow]:
        """The unresolved or ambiguous links (``status``) sorted by source id and link
        number, read from the segments the census was taken of."""
        if status is LinkStatus.AMBIGUOUS:
            rows = np.array(sorted(self.ambiguous), dtype=np.int64).reshape(-1, 2)
        else:
            rows = self.unresolved
        found: list[PendingRow] = []
        for ordinal in distinct(rows[:, 0]).tolist():
            segment = segments[ordinal]
            edges = rows[rows[:, 0] == ordinal, 1]
            src = np.asarray(segment.link_src)
            docs = src[edges]
            numbers = (edges - np.searchsorted(src, docs, side="left")).tolist()
            ids = segment.article_ids()
            headlines = edge_headlines(segment, edges.tolist(), docs.tolist(), numbers)
            urls, tids = (
                _values(segment, f"strings.links.{part}", edges.tolist()) for part in ("url", "tid")
            )
            sources = [ids[doc] for doc in docs.tolist()]
            if status is LinkStatus.AMBIGUOUS:
                candidates = [self.ambiguous[(ordinal, edge)] for edge in edges.tolist()]
            else:
                candidates = [()] * len(sources)
            found.extend(zip(sources, numbers, headlines, urls, tids, candidates, strict=True))
        found.sort(key=lambda row: (row[0], row[1]))
        return found


def edge_headlines(
    segment: SegmentReader, edges: Sequence[int], docs: Sequence[int], numbers: Sequence[int]
) -> list[str]:
    """The headlines of ``edges`` (link ``numbers[i]`` of ``docs[i]``): from the
    segment's headline table, or per link through :meth:`SegmentReader.link_headline`
    in a segment written without it."""
    if not segment.has_array(f"{LINK_HEADLINES}.blob"):
        return [segment.link_headline(d, n) for d, n in zip(docs, numbers, strict=True)]
    return _values(segment, LINK_HEADLINES, edges)


def _values(segment: SegmentReader, stem: str, rows: Sequence[int]) -> list[str]:
    """Strings ``rows`` of the segment's string table ``stem``: one at a time when few,
    else the whole table decoded in one call."""
    blob, offsets = _table(segment, stem)
    where = f"{segment.name} {stem}"
    if len(rows) * 8 < len(offsets):
        return [decode_one(blob, int(offsets[r]), int(offsets[r + 1]), where) for r in rows]
    every = decode_strings(blob, offsets, where)
    return [every[r] for r in rows]


class _LiveKeyHashes:
    """The hashes of one doc map (``"title"`` or ``"url"``) over the live docs of every
    segment: how many live docs have a hash, and which one when it is one."""

    def __init__(
        self,
        segments: Sequence[SegmentReader],
        lives: Sequence[npt.NDArray[np.bool_]],
        bases: npt.NDArray[np.int64],
        name: str,
    ) -> None:
        hashes, docs = [np.zeros(0, np.uint64)], [np.zeros(0, np.int64)]
        for segment, live, base in zip(segments, lives, bases.tolist(), strict=True):
            key_map = segment_maps(segment)[name]
            keep = live[key_map.items]
            hashes.append(np.asarray(key_map.hashes)[keep])
            docs.append(key_map.items[keep].astype(np.int64) + base)
        joined = np.concatenate(hashes)
        order = np.argsort(joined, kind="stable")
        self.hashes, first, self.counts = np.unique(
            joined[order], return_index=True, return_counts=True
        )
        self.first_doc = np.concatenate(docs)[order][first]

    def lookup(
        self, wanted: npt.NDArray[np.uint64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Per hash: how many live docs have it, and the first of them (``-1``: none)."""
        at = np.searchsorted(self.hashes, wanted)
        at = np.minimum(at, max(len(self.hashes) - 1, 0))
        found = self.hashes[at] == wanted if len(self.hashes) else np.zeros(len(wanted), np.bool_)
        count = np.where(found, self.counts[at] if len(self.counts) else 0, 0).astype(np.int64)
        doc = np.where(found, self.first_doc[at] if len(self.first_doc) else -1, -1)
        return count, doc.astype(np.int64)


def _same_strings(
    a: tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]],
    a_rows: npt.NDArray[np.int64],
    b: tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]],
    b_rows: npt.NDArray[np.int64],
) -> npt.NDArray[np.bool_]:
    """Whether string ``a_rows[i]`` of table ``a`` (blob, offsets) equals string
    ``b_rows[i]`` of table ``b``, compared as bytes with numpy: a string of 8 bytes or
    more is read as overlapping 8-byte words (every 8th byte, and the last 8)."""
    (a_blob, a_off), (b_blob, b_off) = a, b
    a_start = a_off[a_rows].astype(np.int64)
    b_start = b_off[b_rows].astype(np.int64)
    length = a_off[a_rows + 1].astype(np.int64) - a_start
    same = length == (b_off[b_rows + 1].astype(np.int64) - b_start)
    words: list[npt.NDArray[Any]] = [_words(a_blob), _words(b_blob)]
    candidates = np.flatnonzero(same)
    candidates = candidates[np.argsort(length[candidates], kind="stable")]
    sizes, starts = np.unique(length[candidates], return_index=True)
    for size, low, high in zip(
        sizes.tolist(), starts.tolist(), [*starts[1:].tolist(), len(candidates)], strict=True
    ):
        if size >= 8:
            columns = np.append(np.arange(0, size - 8, 8), size - 8)
            a_view, b_view = words[0], words[1]
        else:  # short strings: byte by byte
            columns = np.arange(size)
            a_view, b_view = np.asarray(a_blob), np.asarray(b_blob)
        step = max(1, (1 << 20) // max(len(columns), 1))
        for part_low in range(low, high, step):
            part = candidates[part_low : min(part_low + step, high)]
            left = a_view[a_start[part, None] + columns]
            right = b_view[b_start[part, None] + columns]
            same[part] = (left == right).all(axis=1)
    result: npt.NDArray[np.bool_] = same
    return result


def _words(blob: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint64]:
    """``words[i]``: the 8 bytes of ``blob`` from byte ``i`` as one uint64 (a view)."""
    if len(blob) < 8:
        return np.zeros(0, np.uint64)
    data = np.ascontiguousarray(blob, dtype=np.uint8)
    words: npt.NDArray[np.uint64] = np.ndarray(
        shape=(len(data) - 7,), dtype=np.uint64, buffer=data, strides=(1,)
    )
    return words


def _table(
    segment: SegmentReader, stem: str
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    return segment.array(f"{stem}.blob"), segment.array(f"{stem}.off")


def link_census(
    segments: Sequence[SegmentReader],
    find: Callable[[str], tuple[int, int] | None],
    *,
    live: Sequence[npt.NDArray[np.bool_]] | None = None,
) -> LinkCensus:
    """Every live link of ``segments`` resolved, without a :class:`LinkGraph`.

    Most links are settled in bulk from the segments' key maps
    (:func:`~bnsearch.articles.links.settled_by_key`: resolved to the one live article
    with their title key, confirmed byte for byte, or unresolved because no live article
    has any of their keys); every other live link is resolved by :func:`resolve_link`
    through a :class:`SnapshotLinks` over the same state. ``find`` and ``live`` are as
    for :func:`graph_from_segments`."""
    lives = [segment.live for segment in segments] if live is None else list(live)
    sizes = np.array([segment.max_doc for segment in segments], dtype=np.int64)
    bases = (np.cumsum(sizes) - sizes).astype(np.int64)
    titles = _LiveKeyHashes(segments, lives, bases, "title")
    urls = _LiveKeyHashes(segments, lives, bases, "url")
    resolver = SnapshotLinks(segments, find, live=lives)
    sources, targets = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    unresolved = [np.zeros((0, 2), np.int64)]
    ambiguous: dict[tuple[int, int], tuple[str, ...]] = {}
    for ordinal, segment in enumerate(segments):
        src = np.asarray(segment.link_src, dtype=np.int64)
        if not len(src):
            continue
        maps = segment_maps(segment)
        alive = lives[ordinal][src]
        title_count = np.zeros(len(src), np.int64)
        target = np.full(len(src), -1, np.int64)
        title_count[maps["ekey"].items], target[maps["ekey"].items] = titles.lookup(
            np.asarray(maps["ekey"].hashes)
        )
        url_count = np.zeros(len(src), np.int64)
        url_count[maps["eurl"].items] = urls.lookup(np.asarray(maps["eurl"].hashes))[0]
        has_target_id = np.zeros(len(src), np.bool_)
        has_target_id[maps["etid"].items] = True
        resolved, nowhere = settled_by_key(
            has_target_id, url_count, title_count, target == src + bases[ordinal]
        )
        resolved &= alive
        edges = np.flatnonzero(resolved)
        owner = np.searchsorted(bases, target[edges], side="right") - 1
        for other in distinct(owner).tolist():
            rows = edges[owner == other]
            same = _same_strings(
                _table(segment, "strings.links.key"),
                rows,
                _table(segments[other], "strings.titlekeys"),
                target[rows] - bases[other],
            )
            resolved[rows[~same]] = False  # a hash shared by two keys: the rule decides
        nowhere &= alive
        edges = np.flatnonzero(resolved)
        sources.append(src[edges] + bases[ordinal])
        targets.append(target[edges])
        lost = np.flatnonzero(nowhere)
        unresolved.append(np.stack([np.full(len(lost), ordinal, np.int64), lost], axis=1))
        rest = np.flatnonzero(alive & ~resolved & ~nowhere)
        found: list[tuple[int, int]] = []
        lookups = segment_link_maps(segment)
        ids = segment.article_ids()
        for edge in rest.tolist():
            doc = int(src[edge])
            state = resolver.resolve(ids[doc], lookups.edge_keys(edge))
            if state.status is LinkStatus.RESOLVED and state.target is not None:
                where = find(state.target)
                if where is None:
                    raise damaged_ids(state.target)
                found.append((doc + int(bases[ordinal]), int(bases[where[0]]) + where[1]))
            elif state.status is LinkStatus.UNRESOLVED:
                unresolved.append(np.array([[ordinal, edge]], np.int64))
            elif state.status is LinkStatus.AMBIGUOUS:
                ambiguous[(ordinal, edge)] = state.candidates
        pairs = np.array(found, np.int64).reshape(-1, 2)
        sources.append(pairs[:, 0])
        targets.append(pairs[:, 1])
    return LinkCensus(
        bases=bases,
        sources=np.concatenate(sources),
        targets=np.concatenate(targets),
        unresolved=np.concatenate(unresolved),
        ambiguous=ambiguous,
    )
