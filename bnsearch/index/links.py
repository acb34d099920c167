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
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from bnsearch.articles.links import LinkStatus, Resolution, title_key, url_key

if TYPE_CHECKING:
    from bnsearch.index.segment import SegmentReader

__all__ = [
    "LinkIndex",
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


def resolve_link(
    source_id: str,
    *,
    key: str,
    url: str,
    target_id: str,
    live: Callable[[str], bool],
    by_url: Mapping[str, Collection[str]],
    by_title: Mapping[str, Collection[str]],
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
