"""Related-headline links as index data: the resolution rule and the resolved graph.

An edge is one related link on a source page: its headline key, optional URL and optional
target id (segments store the raw URL; keys are computed here when lookups are built).
:func:`resolve_link` is THE rule, the same as :class:`bnsearch.articles.links.LinkGraph`
applies; for a link on article ``S``, the first step that finds anything decides:

1. ``target_id``: the live article with that id;
2. the URL: live articles whose URL has the same :func:`url_key`;
3. the headline: live articles whose title has the same :func:`title_key`.

``S`` is never a candidate: a step that finds only ``S`` makes a self-link (ignored).
Several candidates make the link ambiguous (no edge, reported); nothing found leaves it
unresolved (reported; it resolves when a matching article is added).

:func:`resolve_segments` applies the rule to every live edge of a snapshot and returns a
:class:`ResolvedLinks`: graph edges (out-links, in-links) and anchors (the headlines of
edges resolving to an article) both come from it, so they always agree.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import attrs
import numpy as np
import numpy.typing as npt

from bnsearch.articles.links import LinkStatus, Resolution, title_key, url_key

if TYPE_CHECKING:
    from bnsearch.index.segment import SegmentReader

__all__ = [
    "LinkIndex",
    "LinkResolver",
    "LinkStatus",
    "Resolution",
    "ResolvedLinks",
    "link_url_key",
    "resolve_link",
    "resolve_segments",
    "title_key",
    "url_key",
]

_UNRESOLVED = Resolution(status=LinkStatus.UNRESOLVED)
_SELF = Resolution(status=LinkStatus.SELF)
_NONE: tuple[str, ...] = ()


@functools.lru_cache(maxsize=1 << 16)
def link_url_key(url: str) -> str:
    """:func:`url_key` of a stored URL, ``""`` for no URL (cached: URLs repeat)."""
    return url_key(url) if url else ""


class KeyLookup(Protocol):
    """Live article ids by key: a dict of lists or sets, or :class:`LinkResolver`'s view."""

    def get(self, key: str, default: Collection[str], /) -> Collection[str]: ...


def resolve_link(
    source_id: str,
    *,
    key: str,
    url: str,
    target_id: str,
    live: Callable[[str], bool],
    by_url: KeyLookup,
    by_title: KeyLookup,
) -> Resolution:
    """Where one link on ``source_id`` points (the rule of this module).

    ``key`` is the headline's title key, ``url`` the link's URL *key* and ``target_id`` its
    target id (``""`` when absent). ``live(id)`` says whether an article is live;
    ``by_url`` and ``by_title`` map URL keys and title keys to live article ids.
    """
    steps: list[tuple[str, Collection[str]]] = []
    if target_id:
        steps.append(("target_id", (target_id,) if live(target_id) else _NONE))
    if url:
        steps.append(("url", by_url.get(url, _NONE)))
    if key:
        steps.append(("title", by_title.get(key, _NONE)))
    for rule, found in steps:
        if not found:
            continue
        candidates = tuple(sorted({ident for ident in found if ident != source_id}))
        if not candidates:
            return _SELF
        if len(candidates) == 1:
            return Resolution(
                status=LinkStatus.RESOLVED, target=candidates[0], rule=rule, candidates=candidates
            )
        return Resolution(status=LinkStatus.AMBIGUOUS, rule=rule, candidates=candidates)
    return _UNRESOLVED


# per segment (segments never change): URL keys of docs and of edges, computed once
_DOC_URL_KEYS: weakref.WeakKeyDictionary[Any, list[str]] = weakref.WeakKeyDictionary()
_EDGE_URL_KEYS: weakref.WeakKeyDictionary[Any, list[str]] = weakref.WeakKeyDictionary()


def doc_url_keys(segment: SegmentReader) -> list[str]:
    """Per doc of ``segment``, the :func:`url_key` of its URL (``""`` when none)."""
    keys = _DOC_URL_KEYS.get(segment)
    if keys is None:
        keys = [link_url_key(url) for url in segment.urls()]
        _DOC_URL_KEYS[segment] = keys
    return keys


def edge_url_keys(segment: SegmentReader) -> list[str]:
    """Per edge of ``segment``, the :func:`url_key` of the link's URL (``""`` when none)."""
    keys = _EDGE_URL_KEYS.get(segment)
    if keys is None:
        keys = [link_url_key(url) for url in segment.edges().url]
        _EDGE_URL_KEYS[segment] = keys
    return keys


_EDGE_URL_INDEX: weakref.WeakKeyDictionary[Any, dict[str, list[int]]] = weakref.WeakKeyDictionary()


def edge_url_index(segment: SegmentReader) -> dict[str, list[int]]:
    """URL key -> edges of ``segment`` whose link has that URL key."""
    index = _EDGE_URL_INDEX.get(segment)
    if index is None:
        index = {}
        for edge, key in enumerate(edge_url_keys(segment)):
            if key:
                index.setdefault(key, []).append(edge)
        _EDGE_URL_INDEX[segment] = index
    return index


LinkRef = tuple[str, int]  # (source id, link number in the source's related headlines)


@attrs.frozen(kw_only=True)
class SegmentLinkLookup:
    """One segment's lookups for resolving links, deleted docs included (filtered by the
    snapshot's live masks when used): docs by title key and by URL key, edges by target
    id, URL key and title key."""

    docs_by_title: dict[str, list[int]]
    docs_by_url: dict[str, list[int]]
    edges_by_tid: dict[str, list[int]]
    edges_by_url: dict[str, list[int]]
    edges_by_key: dict[str, list[int]]


_LOOKUPS: weakref.WeakKeyDictionary[Any, SegmentLinkLookup] = weakref.WeakKeyDictionary()


def _group(values: Iterable[str]) -> dict[str, list[int]]:
    grouped: dict[str, list[int]] = {}
    for number, value in enumerate(values):
        if value:
            grouped.setdefault(value, []).append(number)
    return grouped


def segment_lookup(segment: SegmentReader) -> SegmentLinkLookup:
    """The :class:`SegmentLinkLookup` of ``segment``, built on first use and kept with it
    (a refreshed reader reuses unchanged segments, so only new segments pay)."""
    found = _LOOKUPS.get(segment)
    if found is None:
        has_links = bool(len(segment.link_src))
        table = segment.edges() if has_links else None
        found = SegmentLinkLookup(
            docs_by_title=_group(segment.title_keys()),
            docs_by_url=_group(doc_url_keys(segment)),
            edges_by_tid=_group(table.tid) if table else {},
            edges_by_url=_group(edge_url_keys(segment)) if has_links else {},
            edges_by_key=_group(table.key) if table else {},
        )
        _LOOKUPS[segment] = found
    return found


class _LiveIds:
    """``get(key, default)``: ids of the snapshot's live articles with this title or URL
    key (the lookups :func:`resolve_link` takes)."""

    def __init__(self, segments: Sequence[SegmentReader], attribute: str) -> None:
        self._segments = segments
        self._attribute = attribute

    def get(self, key: str, default: Collection[str], /) -> Collection[str]:
        found: list[str] = []
        for segment in self._segments:
            docs = getattr(segment_lookup(segment), self._attribute).get(key)
            if docs:
                ids, live = segment.article_ids(), segment.live
                found.extend(ids[doc] for doc in docs if live[doc])
        return found or default


class LinkResolver:
    """The links of one snapshot resolved on demand, one article at a time.

    ``out_links(id)`` resolves the article's own links; ``in_links(id)`` resolves only
    the links that could point at it (same target id, URL key or title key). Both follow
    :func:`resolve_link` with the snapshot's live articles, so they equal what
    :func:`resolve_segments` gives for that article, without resolving every link.
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
        self._in: dict[str, list[str]] = {}

    def _is_live(self, article_id: str) -> bool:
        return self._find(article_id) is not None

    def _resolve(self, segment: SegmentReader, edge: int, source: str) -> Resolution:
        table = segment.edges()
        return resolve_link(
            source,
            key=table.key[edge],
            url=edge_url_keys(segment)[edge],
            target_id=table.tid[edge],
            live=self._is_live,
            by_url=self._by_url,
            by_title=self._by_title,
        )

    def out_links(self, article_id: str) -> tuple[str, ...]:
        """Distinct targets of a live article's links, in headline order."""
        cached = self._out.get(article_id)
        if cached is not None:
            return cached
        targets: list[str] = []
        where = self._find(article_id)
        if where is not None:
            segment = self._segments[where[0]]
            if len(segment.link_src):
                for edge in segment.edges().of_source(where[1]):
                    state = self._resolve(segment, edge, article_id)
                    if state.status is LinkStatus.RESOLVED and state.target not in targets:
                        assert state.target is not None
                        targets.append(state.target)
        result = self._out[article_id] = tuple(targets)
        return result

    def in_links(self, article_id: str) -> list[str]:
        """Distinct live sources of links resolving to a live article, sorted."""
        cached = self._in.get(article_id)
        if cached is not None:
            return list(cached)
        sources: set[str] = set()
        where = self._find(article_id)
        if where is not None:
            target = self._segments[where[0]]
            key = target.title_key_of(where[1])
            url = link_url_key(target.url_of(where[1]))
            for segment in self._segments:
                if not len(segment.link_src):
                    continue
                lookup = segment_lookup(segment)
                edges = set(lookup.edges_by_tid.get(article_id, ()))
                if url:
                    edges.update(lookup.edges_by_url.get(url, ()))
                if key:
                    edges.update(lookup.edges_by_key.get(key, ()))
                src, ids, live = segment.edges().src, segment.article_ids(), segment.live
                for edge in edges:
                    doc = src[edge]
                    if not live[doc] or ids[doc] in sources:
                        continue
                    if self._resolve(segment, edge, ids[doc]).target == article_id:
                        sources.add(ids[doc])
        result = self._in[article_id] = sorted(sources)
        return list(result)


@attrs.frozen(kw_only=True)
class ResolvedLinks:
    """Every live link of a snapshot, resolved.

    ``location``: id -> (segment ordinal, doc) of live articles (filled only when the
    snapshot has links). ``out``: source -> distinct targets in headline order.
    ``incoming``: target -> its resolved link refs sorted by (source id, link number).
    ``unresolved`` and ``ambiguous`` (with the sorted candidates) are sorted the same way.
    """

    location: dict[str, tuple[int, int]] = attrs.field(factory=dict)
    out: dict[str, tuple[str, ...]] = attrs.field(factory=dict)
    incoming: dict[str, tuple[LinkRef, ...]] = attrs.field(factory=dict)
    unresolved: tuple[LinkRef, ...] = ()
    ambiguous: tuple[tuple[LinkRef, tuple[str, ...]], ...] = ()

    def in_links(self, target: str) -> list[str]:
        """Distinct sources of links resolving to ``target``, sorted."""
        return sorted({source for source, _ in self.incoming.get(target, ())})


def resolve_segments(
    segments: Sequence[tuple[SegmentReader, npt.NDArray[np.bool_]]],
) -> ResolvedLinks:
    """Resolve every live edge of ``(segment, live mask)`` pairs (in segment order)."""
    if not any(len(segment.link_src) for segment, _ in segments):
        return ResolvedLinks()
    location: dict[str, tuple[int, int]] = {}
    by_url: dict[str, list[str]] = {}
    by_title: dict[str, list[str]] = {}
    for ordinal, (segment, live) in enumerate(segments):
        ids = segment.article_ids()
        urls = doc_url_keys(segment)
        keys = segment.title_keys()
        for doc in np.flatnonzero(live).tolist():
            ident = ids[doc]
            location[ident] = (ordinal, doc)
            if urls[doc]:
                by_url.setdefault(urls[doc], []).append(ident)
            if keys[doc]:
                by_title.setdefault(keys[doc], []).append(ident)
    out: dict[str, list[str]] = {}
    incoming: dict[str, list[LinkRef]] = {}
    unresolved: list[LinkRef] = []
    ambiguous: list[tuple[LinkRef, tuple[str, ...]]] = []
    live_id = location.__contains__
    for segment, live in segments:
        if not len(segment.link_src):
            continue
        ids = segment.article_ids()
        table = segment.edges()
        urls = edge_url_keys(segment)
        live_list = live.tolist()
        for edge, src in enumerate(table.src):
            if not live_list[src]:
                continue
            source = ids[src]
            state = resolve_link(
                source,
                key=table.key[edge],
                url=urls[edge],
                target_id=table.tid[edge],
                live=live_id,
                by_url=by_url,
                by_title=by_title,
            )
            ref = (source, table.link_no[edge])
            if state.status is LinkStatus.RESOLVED and state.target is not None:
                targets = out.setdefault(source, [])
                if state.target not in targets:
                    targets.append(state.target)
                incoming.setdefault(state.target, []).append(ref)
            elif state.status is LinkStatus.UNRESOLVED:
                unresolved.append(ref)
            elif state.status is LinkStatus.AMBIGUOUS:
                ambiguous.append((ref, state.candidates))
    return ResolvedLinks(
        location=location,
        out={source: tuple(targets) for source, targets in out.items()},
        incoming={target: tuple(sorted(refs)) for target, refs in incoming.items()},
        unresolved=tuple(sorted(unresolved)),
        ambiguous=tuple(sorted(ambiguous)),
    )


#: A link as resolution sees it: (headline title key, URL key, target id), "" when absent.
LinkKeys = tuple[str, str, str]


def segment_links(segment: SegmentReader, doc: int) -> tuple[LinkKeys, ...]:
    """The links of ``doc`` in ``segment``, in page order."""
    if not len(segment.link_src):
        return ()
    table = segment.edges()
    urls = edge_url_keys(segment)
    return tuple((table.key[e], urls[e], table.tid[e]) for e in table.of_source(doc))


class LinkIndex:
    """Every live link of a snapshot resolved, kept up to date batch by batch.

    The writer builds it once from the committed segments (:meth:`from_segments`) and
    then, per commit, :meth:`update` re-resolves only the links whose inputs the batch
    changed: the links of added articles, and links whose target id, URL key or title key
    is one of a removed or added article's. A link's resolution depends on nothing else
    (:func:`resolve_link`), so the result equals a resolution from scratch.
    """

    def __init__(self) -> None:
        self.keys: dict[str, tuple[str, str]] = {}  # live id -> (title key, URL key)
        self._by_title: dict[str, set[str]] = {}
        self._by_url: dict[str, set[str]] = {}
        self._links: dict[str, tuple[LinkKeys, ...]] = {}  # sources with links only
        self._refs_by_tid: dict[str, set[LinkRef]] = {}
        self._refs_by_url: dict[str, set[LinkRef]] = {}
        self._refs_by_key: dict[str, set[LinkRef]] = {}
        self.state: dict[LinkRef, Resolution] = {}
        self.incoming: dict[str, set[LinkRef]] = {}

    @classmethod
    def from_segments(
        cls, segments: Sequence[tuple[SegmentReader, npt.NDArray[np.bool_]]]
    ) -> LinkIndex:
        """Resolve every live link of ``(segment, live mask)`` pairs."""
        index = cls()
        refs: list[LinkRef] = []
        for segment, live in segments:
            ids = segment.article_ids()
            titles = segment.title_keys()
            urls = doc_url_keys(segment)
            for doc in np.flatnonzero(live).tolist():
                refs.extend(
                    index._add(ids[doc], titles[doc], urls[doc], segment_links(segment, doc))
                )
        for ref in refs:
            index._set(ref, index._resolve(ref))
        return index

    @property
    def link_count(self) -> int:
        return len(self.state)

    def _add(self, ident: str, key: str, url: str, links: tuple[LinkKeys, ...]) -> list[LinkRef]:
        self.keys[ident] = (key, url)
        if key:
            self._by_title.setdefault(key, set()).add(ident)
        if url:
            self._by_url.setdefault(url, set()).add(ident)
        if not links:
            return []
        self._links[ident] = links
        refs = []
        for number, (link_key, link_url, tid) in enumerate(links):
            ref = (ident, number)
            refs.append(ref)
            for table, value in (
                (self._refs_by_tid, tid),
                (self._refs_by_url, link_url),
                (self._refs_by_key, link_key),
            ):
                if value:
                    table.setdefault(value, set()).add(ref)
        return refs

    def _remove(self, ident: str) -> set[str]:
        """Forget a live article and its links; returns targets that lost a link."""
        key, url = self.keys.pop(ident)
        _discard(self._by_title, key, ident)
        _discard(self._by_url, url, ident)
        lost: set[str] = set()
        for number, (link_key, link_url, tid) in enumerate(self._links.pop(ident, ())):
            ref = (ident, number)
            _discard(self._refs_by_tid, tid, ref)
            _discard(self._refs_by_url, link_url, ref)
            _discard(self._refs_by_key, link_key, ref)
            old = self.state.pop(ref)
            if old.target is not None:
                _discard(self.incoming, old.target, ref)
                lost.add(old.target)
        return lost

    def _resolve(self, ref: LinkRef) -> Resolution:
        source, number = ref
        key, url, tid = self._links[source][number]
        return resolve_link(
            source,
            key=key,
            url=url,
            target_id=tid,
            live=self.keys.__contains__,
            by_url=self._by_url,
            by_title=self._by_title,
        )

    def _set(self, ref: LinkRef, state: Resolution) -> None:
        self.state[ref] = state
        if state.target is not None:
            self.incoming.setdefault(state.target, set()).add(ref)

    def update(
        self,
        *,
        removed: Iterable[str],
        added: Iterable[tuple[str, str, str, tuple[LinkKeys, ...]]],
    ) -> set[str]:
        """Apply a batch: ``removed`` ids (deleted, or replaced: their old version), then
        ``added`` ``(id, title key, URL key, links)``. Returns every article whose
        incoming links may have changed (old and new targets of re-resolved links)."""
        changed: set[str] = set()
        ids: set[str] = set()
        urls: set[str] = set()
        keys: set[str] = set()
        for ident in removed:
            if ident in self.keys:
                key, url = self.keys[ident]
                ids.add(ident)
                urls.add(url)
                keys.add(key)
                changed |= self._remove(ident)
        affected: set[LinkRef] = set()
        for ident, key, url, links in added:
            if ident in self.keys:
                changed |= self._remove(ident)
            ids.add(ident)
            urls.add(url)
            keys.add(key)
            affected.update(self._add(ident, key, url, links))
        for values, table in (
            (ids, self._refs_by_tid),
            (urls, self._refs_by_url),
            (keys, self._refs_by_key),
        ):
            for value in values:
                if value:
                    affected.update(table.get(value, ()))
        for ref in affected:
            old = self.state.get(ref)
            new = self._resolve(ref)
            if old == new:
                continue
            if old is not None and old.target is not None:
                _discard(self.incoming, old.target, ref)
                changed.add(old.target)
            self._set(ref, new)
            if new.target is not None:
                changed.add(new.target)
        return changed

    def incoming_refs(self, target: str) -> list[LinkRef]:
        """Links resolving to ``target``, sorted by (source id, link number)."""
        return sorted(self.incoming.get(target, ()))

    def resolved(self) -> ResolvedLinks:
        """The same graph as :func:`resolve_segments` gives (``location`` left empty)."""
        out: dict[str, tuple[str, ...]] = {}
        unresolved: list[LinkRef] = []
        ambiguous: list[tuple[LinkRef, tuple[str, ...]]] = []
        for source in sorted(self._links):
            targets: list[str] = []
            for number in range(len(self._links[source])):
                state = self.state[(source, number)]
                if state.status is LinkStatus.RESOLVED and state.target is not None:
                    if state.target not in targets:
                        targets.append(state.target)
                elif state.status is LinkStatus.UNRESOLVED:
                    unresolved.append((source, number))
                elif state.status is LinkStatus.AMBIGUOUS:
                    ambiguous.append(((source, number), state.candidates))
            if targets:
                out[source] = tuple(targets)
        return ResolvedLinks(
            out=out,
            incoming={t: tuple(sorted(refs)) for t, refs in self.incoming.items() if refs},
            unresolved=tuple(unresolved),
            ambiguous=tuple(ambiguous),
        )


def _discard(table: dict[str, set[Any]], key: str, value: Any) -> None:
    found = table.get(key)
    if found is not None:
        found.discard(value)
        if not found:
            del table[key]
