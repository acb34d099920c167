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
2. one task per shard gives the link keys of its live articles (segment arrays only);
3. the one incremental :class:`~bnsearch.articles.links.LinkGraph` over them takes the
   change (deletes, then the new articles) and reports the articles whose incoming links
   changed: those, and the new articles, get their anchors given;
4. the headlines of the links into them come from the change's articles, or from the
   shards holding their sources (one task per such shard);
5. each shard's task gets its articles' anchors with its articles and gives them to its
   writer (:meth:`~bnsearch.index.writer.IndexWriter.set_anchors`), so a change still
   commits each shard once.

This relies on every earlier change of the sharded index having gone this way (a shard
written by ``Index.open(shard).writer()`` resolves its own anchors; re-add its articles
through the sharded index to repair). The link graph of the whole index is built on the
client, from keys: about what one index's writer holds (see ``docs/distributed.md``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import attrs

from bnsearch.articles import Article
from bnsearch.articles.links import KeyedArticle, LinkGraph, article_keys
from bnsearch.distributed.manifest import shard_of
from bnsearch.distributed.runner import Runner
from bnsearch.index import Index
from bnsearch.index.links import live_link_keys
from bnsearch.index.verify import LinkRows, VerifyReport, anchor_problems, link_rows, verify

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


def shard_link_keys(path: str) -> list[KeyedArticle]:
    """The link keys of every live article of the shard's newest commit."""
    return live_link_keys(Index.open(path).reader().segments)


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
    runner: Runner,
    paths: Sequence[str],
    batch: BatchLinks | None,
    deletes: Iterable[str],
    graph: LinkGraph | None = None,
) -> tuple[list[ShardAnchors], LinkGraph | None] | None:
    """Per shard, the anchors to give its writer for this change (see the module), and
    the link graph after the change (``None`` when no link exists anywhere). ``graph``,
    when given, is the graph of the shards as they are (kept from the last change made
    here): the shards' link keys are then not read again, and it is updated in place.
    ``batch=None``: the change's articles are not read yet; ``None`` is returned when
    some shard holds a link (read them, and call again)."""
    shards = len(paths)
    plans: list[ShardAnchors] = [{} for _ in range(shards)]
    calls = [(path,) for path in paths]
    if graph is None:
        linked = batch is not None and batch.linked
        if not linked and not any(runner.map(shard_has_links, calls)):
            return plans, None  # no link anywhere: every anchor is empty and stays so
    if batch is None:
        return None
    if graph is None:
        graph = LinkGraph()
        for part in runner.map(shard_link_keys, calls):
            graph.update(added=part)
    latest = {article.id: article for article in batch.articles}
    changed = graph.update(removed=deletes, added=[article_keys(a) for a in latest.values()])
    targets = sorted(t for t in changed | latest.keys() if t in graph)
    refs = {target: graph.incoming_refs(target) for target in targets}
    sources = sorted({source for found in refs.values() for source, _ in found} - latest.keys())
    headlines: dict[str, Sequence[str]] = {
        ident: [link.headline for link in article.related] for ident, article in latest.items()
    }
    headlines.update(_stored_headlines(runner, paths, sources))
    for target, found in refs.items():
        anchors = tuple(headlines[source][number] for source, number in found)
        plans[shard_of(target, shards)][target] = anchors
    return plans, graph


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


# -- checking ------------------------------------------------------------------------
def shard_verify(path: str) -> tuple[VerifyReport, LinkRows, list[KeyedArticle]]:
    """A shard's own checks (all but anchors), its live articles' related headlines and
    stored anchors, and their link keys."""
    report = verify(path, anchors=False)
    segments = Index.open(path).reader().segments if report.ok else []
    return report, link_rows(segments), live_link_keys(segments)


def verify_sharded(runner: Runner, root: str, paths: Sequence[str]) -> VerifyReport:
    """Every shard's checks, then every live article's stored anchors against the links
    resolving to it over every shard (what ``verify`` checks in one index)."""
    problems: list[str] = []
    graph = LinkGraph()
    rows = LinkRows()
    reports = runner.map(shard_verify, [(path,) for path in paths])
    for report, found, keys in reports:
        problems.extend(f"{report.location}: {problem}" for problem in report.problems)
        rows.headlines.update(found.headlines)
        rows.anchors.update(found.anchors)
        graph.update(added=keys)
    if not problems:
        problems.extend(anchor_problems(graph, rows))
    return VerifyReport(
        location=root,
        generation=None,
        segments=sum(report.segments for report, _, _ in reports),
        doc_count=sum(report.doc_count for report, _, _ in reports),
        files_checked=sum(report.files_checked for report, _, _ in reports),
        problems=tuple(problems),
    )
