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
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from bnsearch.articles.links import LinkStatus, Resolution, title_key, url_key

if TYPE_CHECKING:
    from bnsearch.index.segment import SegmentReader

__all__ = [
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
    by_url: Mapping[str, Sequence[str]],
    by_title: Mapping[str, Sequence[str]],
) -> Resolution:
    """Where one link on ``source_id`` points (the rule of this module).

    ``key`` is the headline's title key, ``url`` the link's URL *key* and ``target_id`` its
    target id (``""`` when absent). ``live(id)`` says whether an article is live;
    ``by_url`` and ``by_title`` map URL keys and title keys to live article ids.
    """
    steps: list[tuple[str, Sequence[str]]] = []
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
