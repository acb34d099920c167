"""Anchors across shards: each article's ``anchors`` as one index holding every shard's
articles would store them.

An article's anchors are the headlines of the live links that resolve to it under the
rule of :mod:`bnsearch.articles.links`, over the whole index. A shard alone sees only its
own articles: it would miss links from other shards, and could resolve a link to one of
its articles where, over every shard, the link resolves elsewhere or is ambiguous. So a
shard's writer is opened with ``external_anchors=True`` (it resolves nothing) and every
change computes the anchors here, before the shard tasks run:

1. if neither the change's articles nor any shard holds a related link, nothing more
   (an archive without links pays one small task per shard);
2. the shards' copies of the ids the change deletes or replaces give their keys (id,
   title key, URL key, their links' keys: one task per shard holding some);
3. every shard answers, for the keys the change touches (those ids, title keys and URL
   keys, old and new), which of its live articles carry them and which of its live
   links point at them (:func:`shard_lookup`: segment key maps, no stored rows);
4. those links and the change's own are resolved before and after the change with the
   one rule (:func:`~bnsearch.articles.links.resolve_link`, the change's articles put
   over the shards' answers; one more round of lookups for the links' own keys): the
   articles a link leaves or reaches, and the change's articles, get their anchors;
5. for each of them, the links at its keys are asked for and resolved after the change
   (a round of links and a round of lookups, all of them at once): the links resolving
   to it, sorted by source id and link number, as one index's graph gives them;
6. the headlines of those links come from the change's articles, or from one task per
   shard holding their sources;
7. each shard's task gets its articles' anchors with its articles and gives them to its
   writer (:meth:`~bnsearch.index.writer.IndexWriter.set_anchors`), so a change still
   commits each shard once.

So a change costs what it touches: a few fan-outs carrying its keys, not the link graph
of the whole index (the first build of a linked archive touches every key, and costs
about what that graph would). This relies on every earlier change of the sharded index
having gone this way (a shard written by ``Index.open(shard).writer()`` resolves its own
anchors; re-add its articles through the sharded index to repair).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import attrs

from bnsearch.articles import Article
from bnsearch.articles.links import (
    KeyedArticle,
    LinkGraph,
    LinkKeys,
    LinkStatus,
    article_keys,
    resolve_link,
)
from bnsearch.distributed.manifest import shard_of
from bnsearch.distributed.runner import Runner
from bnsearch.distributed.shard import open_shard
from bnsearch.index import Index
from bnsearch.index.links import doc_link_keys, link_url_key, live_link_keys, segment_link_maps
from bnsearch.index.verify import (
    LinkRows,
    VerifyReport,
    anchor_differences,
    anchor_problems,
    link_rows,
    verify,
)

#: Per shard: article id -> its anchors (headlines, by source id then link number).
ShardAnchors = dict[str, tuple[str, ...]]


@attrs.frozen
class BatchLinks:
    """What the anchors need of a change's new articles (id, title, URL, related links;
    no body), in the change's order (a later copy of an id replaces an earlier one, as in
    the shard's writer). Their link keys are computed only when some link exists."""

    articles: tuple[Article, ...] = ()

    @property
    def linked(self) -> bool:
        """True if some article of the change has related links."""
        return any(article.related for article in self.articles)


# -- on the shards -------------------------------------------------------------------
def shard_has_links(path: str) -> bool:
    """True if some segment of the shard's newest commit holds a related link."""
    return any(len(segment.link_src) for segment in Index.open(path).reader().segments)


def shard_keys_of(path: str, ids: Sequence[str]) -> dict[str, KeyedArticle]:
    """The link keys of those of ``ids`` live on the shard's newest commit."""
    reader, _ = open_shard(path, None)
    found: dict[str, KeyedArticle] = {}
    for article_id in ids:
        where = reader.find(article_id)
        if where is not None:
            segment, doc = reader.segments[where[0]], where[1]
            url = link_url_key(segment.url_of(doc))
            links = doc_link_keys(segment, doc)
            found[article_id] = (article_id, segment.title_key_of(doc), url, links)
    return found


def shard_lookup(
    path: str, ids: Sequence[str], urls: Sequence[str], titles: Sequence[str], links: bool
) -> tuple[set[str], dict[str, list[str]], dict[str, list[str]], dict[tuple[str, str], list[Any]]]:
    """Over the live articles of the shard's newest commit: those of ``ids`` present,
    the ids with each URL key of ``urls`` and title key of ``titles``, and (``links``)
    the links whose target id, URL key or title key is one of these, by
    ``(kind, key)``, as ``(source id, link number, keys)``."""
    reader, _ = open_shard(path, None)
    live = {ident for ident in ids if reader.find(ident) is not None}
    by_url: dict[str, list[str]] = {}
    by_title: dict[str, list[str]] = {}
    found: dict[tuple[str, str], list[Any]] = {}
    for segment in reader.segments:
        maps = segment_link_maps(segment)
        names, alive = segment.article_ids(), segment.live
        for wanted, lookup, out in (
            (urls, maps.docs_with_url, by_url),
            (titles, maps.docs_with_title, by_title),
        ):
            for key in wanted:
                docs = [names[doc] for doc in lookup(key) if alive[doc]]
                if docs:
                    out.setdefault(key, []).extend(docs)
        if not links or not len(segment.link_src):
            continue
        edges = segment.edges()
        for kind, wanted in (("id", ids), ("url", urls), ("title", titles)):
            for key in wanted:
                for edge in maps.edges_with(kind, key):
                    doc = edges.src[edge]
                    if alive[doc]:
                        link = (names[doc], edges.link_no[edge], maps.edge_keys(edge))
                        found.setdefault((kind, key), []).append(link)
    return live, by_url, by_title, found


def shard_headlines(path: str, ids: Sequence[str]) -> dict[str, list[str]]:
    """The related headlines, in page order, of those of ``ids`` live on the shard."""
    reader = Index.open(path).reader()
    found = {}
    for article_id in ids:
        where = reader.find(article_id)
        if where is not None:
            found[article_id] = reader.segments[where[0]].related_headlines(where[1])
    return found


# -- on the client ---------------------------------------------------------------------
def plan_anchors(
    runner: Runner, paths: Sequence[str], batch: BatchLinks | None, deletes: Iterable[str]
) -> list[ShardAnchors] | None:
    """Per shard, the anchors to give its writer for this change (see the module).
    ``batch=None``: the change's articles are not read yet; ``None`` is returned when
    some shard holds a link (read them, and call again)."""
    shards = len(paths)
    plans: list[ShardAnchors] = [{} for _ in range(shards)]
    linked = batch is not None and batch.linked
    if not linked and not any(runner.map(shard_has_links, [(path,) for path in paths])):
        return plans  # no link anywhere: every anchor is empty and stays so
    if batch is None:
        return None
    latest = {article.id: article for article in batch.articles}
    change = _Change(runner, paths, {ident: article_keys(a) for ident, a in latest.items()})
    refs = change.refs(set(deletes))
    sources = sorted({source for found in refs.values() for source, _ in found} - latest.keys())
    headlines: dict[str, Sequence[str]] = {
        ident: [link.headline for link in article.related] for ident, article in latest.items()
    }
    headlines.update(_stored_headlines(runner, paths, sources))
    for target, found in refs.items():
        anchors = tuple(headlines[source][number] for source, number in found)
        plans[shard_of(target, shards)][target] = anchors
    return plans


#: A link as the plan sees it: (source id, link number, its keys).
Link = tuple[str, int, LinkKeys]


class _Change:
    """The links a change touches, resolved over every shard by key lookups on the
    shards (:func:`shard_lookup`) before and after it: the one rule
    (:func:`~bnsearch.articles.links.resolve_link`), with the change's articles put
    over the shards' answers, and only the keys the change touches asked for."""

    def __init__(self, runner: Runner, paths: Sequence[str], added: dict[str, KeyedArticle]):
        self._runner = runner
        self._paths = paths
        self._added = added
        self._removed: set[str] = set()
        self._live: dict[str, bool] = {}
        self._by: dict[str, dict[str, list[str]]] = {"url": {}, "title": {}}
        self._links_at: dict[tuple[str, str], list[Link]] = {}
        # the change's articles by URL key and title key
        self._added_by: dict[str, dict[str, list[str]]] = {"url": {}, "title": {}}
        for ident, title, url, _ in added.values():
            for kind, key in (("url", url), ("title", title)):
                if key:
                    self._added_by[kind].setdefault(key, []).append(ident)

    # -- what the shards hold (before the change), fetched for many keys at once
    def _known(self, kind: str, value: str, links: bool) -> bool:
        if links:
            return (kind, value) in self._links_at
        return value in (self._live if kind == "id" else self._by[kind])

    def _fetch(
        self, ids: Iterable[str], urls: Iterable[str], titles: Iterable[str], links: bool
    ) -> None:
        """Ask every shard about the keys not known yet (and, ``links``, the links at
        them), in one fan-out."""
        asked = tuple(
            sorted({v for v in values if v and not self._known(kind, v, links)})
            for kind, values in (("id", ids), ("url", urls), ("title", titles))
        )
        if not any(asked):
            return
        calls = [(path, *asked, links) for path in self._paths]
        for live, by_url, by_title, found in self._runner.map(shard_lookup, calls):
            for ident in asked[0]:
                self._live[ident] = self._live.get(ident, False) or ident in live
            for key, table in (("url", by_url), ("title", by_title)):
                known = self._by[key]
                for value in asked[1 if key == "url" else 2]:
                    known.setdefault(value, []).extend(table.get(value, ()))
            for where, part in found.items():
                self._links_at.setdefault(where, []).extend(part)
        if links:
            for kind, values in zip(("id", "url", "title"), asked, strict=True):
                for value in values:
                    self._links_at.setdefault((kind, value), [])

    def _links_pointing_at(self, articles: Sequence[KeyedArticle]) -> list[set[Link]]:
        """Per article, the shards' live links at its id, URL key or title key (one
        fan-out for them all)."""
        self._fetch(
            [a[0] for a in articles], [a[2] for a in articles], [a[1] for a in articles], True
        )
        found: list[set[Link]] = []
        for ident, title, url, _ in articles:
            links: set[Link] = set()
            for where in (("id", ident), ("url", url), ("title", title)):
                links.update(self._links_at.get(where, ()))
            found.append(links)
        return found

    def _keys_of(self, ids: Iterable[str]) -> dict[str, KeyedArticle]:
        """The shards' link keys of these ids (one task per shard holding some)."""
        by_shard: dict[int, list[str]] = {}
        for ident in sorted(set(ids)):
            by_shard.setdefault(shard_of(ident, len(self._paths)), []).append(ident)
        numbers = sorted(by_shard)
        calls = [(self._paths[n], by_shard[n]) for n in numbers]
        found: dict[str, KeyedArticle] = {}
        for part in self._runner.map(shard_keys_of, calls, numbers):
            found.update(part)
        return found

    # -- resolution before (the shards as they are) and after the change
    def _resolve(self, link: Link, after: bool) -> str | None:
        source, _, keys = link
        removed, added = self._removed, self._added
        if after:
            found = resolve_link(
                source,
                keys,
                live=lambda i: (self._live.get(i, False) and i not in removed) or i in added,
                by_url=_After(self._by["url"], removed, self._added_by["url"]),
                by_title=_After(self._by["title"], removed, self._added_by["title"]),
            )
        else:
            found = resolve_link(
                source,
                keys,
                live=lambda i: self._live.get(i, False),
                by_url=self._by["url"],
                by_title=self._by["title"],
            )
        return found.target if found.status is LinkStatus.RESOLVED else None

    def _prepare(self, links: Iterable[Link]) -> None:
        listed = list(links)
        self._fetch(
            [keys[2] for _, _, keys in listed],
            [keys[1] for _, _, keys in listed],
            [keys[0] for _, _, keys in listed],
            links=False,
        )

    def refs(self, deletes: set[str]) -> dict[str, list[tuple[str, int]]]:
        """The articles whose anchors the change may change (its own, and those whose
        incoming links it changes), each with the links resolving to it after the change
        as ``(source id, link number)``, sorted (as one index's graph gives them)."""
        added = self._added
        gone = deletes | added.keys()
        # what the change removes: the shards' copies of deleted and re-added ids
        old = self._keys_of(gone)
        self._removed = set(old)
        # links whose resolution the change may move: those at a touched key, and the
        # links of the removed and added articles themselves
        touched = [*old.values(), *added.values()]
        before: set[Link] = set().union(*self._links_pointing_at(touched))
        before |= {(i, n, k) for i, _, _, links in old.values() for n, k in enumerate(links)}
        after = {(i, n, k) for i, _, _, links in added.values() for n, k in enumerate(links)}
        after |= {link for link in before if link[0] not in self._removed}
        self._prepare(before | after)
        targets = set(added)
        for link in before | after:
            was = self._resolve(link, False) if link in before else None
            now = self._resolve(link, True) if link in after else None
            if was != now:
                targets.update(t for t in (was, now) if t is not None)
        # each target's links after the change: the links at its keys, resolved
        keys_of = {**self._keys_of(t for t in targets if t not in gone), **added}
        live_after = sorted(keys_of)  # the targets live after the change
        new_at: dict[tuple[int, str], list[Link]] = {}  # the change's links by key
        for link in after:
            for field, key in enumerate(link[2]):
                if key:
                    new_at.setdefault((field, key), []).append(link)
        candidates: dict[str, set[Link]] = {}
        pointing = self._links_pointing_at([keys_of[t] for t in live_after])
        for target, at in zip(live_after, pointing, strict=True):
            ident, title, url, _ = keys_of[target]
            found = {link for link in at if link[0] not in self._removed}
            for field, key in ((2, ident), (1, url), (0, title)):
                if key:
                    found.update(new_at.get((field, key), ()))
            candidates[target] = found
        self._prepare(link for found in candidates.values() for link in found)
        return {
            target: sorted((s, n) for s, n, k in found if self._resolve((s, n, k), True) == target)
            for target, found in candidates.items()
        }


class _After:
    """Live ids by a key after the change: the shards' answers without the removed
    articles, with the change's own (``added``: ids by the same key)."""

    def __init__(
        self, before: Mapping[str, list[str]], removed: set[str], added: Mapping[str, list[str]]
    ) -> None:
        self._before, self._removed, self._added = before, removed, added

    def get(self, key: str, default: Collection[str], /) -> Collection[str]:
        found = [i for i in self._before.get(key, ()) if i not in self._removed]
        found.extend(self._added.get(key, ()))
        return found or default


def _stored_headlines(
    runner: Runner, paths: Sequence[str], sources: Sequence[str]
) -> Mapping[str, Sequence[str]]:
    by_shard: dict[int, list[str]] = {}
    for source in sources:
        by_shard.setdefault(shard_of(source, len(paths)), []).append(source)
    numbers = sorted(by_shard)
    found: dict[str, Sequence[str]] = {}
    parts = runner.map(shard_headlines, [(paths[n], by_shard[n]) for n in numbers], numbers)
    for part in parts:
        found.update(part)
    missing = [source for source in sources if source not in found]
    if missing:
        from bnsearch.distributed.shard import ShardError

        raise ShardError(
            f"{len(missing)} linking articles (e.g. {missing[0]!r}) are in no shard's newest "
            "commit: a shard changed during the change (another writer?); run it again"
        )
    return found


# -- checking and repairing ---------------------------------------------------------
def shard_link_state(path: str) -> tuple[LinkRows, list[KeyedArticle]]:
    """A shard's live articles' related headlines and stored anchors, and their link keys."""
    segments = Index.open(path).reader().segments
    return link_rows(segments), live_link_keys(segments)


def shard_verify(path: str) -> tuple[VerifyReport, LinkRows, list[KeyedArticle]]:
    """A shard's own checks (all but anchors) and its :func:`shard_link_state`."""
    report = verify(path, anchors=False)
    rows, keys = shard_link_state(path) if report.ok else (LinkRows(), [])
    return report, rows, keys


def _whole(parts: Iterable[tuple[LinkRows, list[KeyedArticle]]]) -> tuple[LinkGraph, LinkRows]:
    """The link graph and stored rows of every shard (a check of the whole index)."""
    graph = LinkGraph()
    rows = LinkRows()
    for found, keys in parts:
        rows.headlines.update(found.headlines)
        rows.anchors.update(found.anchors)
        graph.update(added=keys)
    return graph, rows


def verify_sharded(runner: Runner, root: str, paths: Sequence[str]) -> VerifyReport:
    """Every shard's checks, then every live article's stored anchors against the links
    resolving to it over every shard (what ``verify`` checks in one index)."""
    problems: list[str] = []
    warnings: list[str] = []
    reports = runner.map(shard_verify, [(path,) for path in paths])
    for report, _, _ in reports:
        problems.extend(f"{report.location}: {problem}" for problem in report.problems)
        warnings.extend(f"{report.location}: {warning}" for warning in report.warnings)
    if not problems:
        problems.extend(anchor_problems(*_whole((rows, keys) for _, rows, keys in reports)))
    return VerifyReport(
        location=root,
        generation=None,
        segments=sum(report.segments for report, _, _ in reports),
        doc_count=sum(report.doc_count for report, _, _ in reports),
        files_checked=sum(report.files_checked for report, _, _ in reports),
        problems=tuple(problems),
        warnings=tuple(warnings),
    )


def repair_plan(runner: Runner, paths: Sequence[str]) -> list[ShardAnchors]:
    """Per shard, the articles whose stored anchors differ from the links resolving to
    them over every shard (shards written before anchors were decided over every shard
    hold their own links' anchors), with the anchors they should have. Reads every
    shard's link state and builds the whole graph: a one-time repair, O(index)."""
    graph, rows = _whole(runner.map(shard_link_state, [(path,) for path in paths]))
    plans: list[ShardAnchors] = [{} for _ in paths]
    for ident, expected in anchor_differences(graph, rows).items():
        plans[shard_of(ident, len(paths))][ident] = tuple(expected)
    return plans
