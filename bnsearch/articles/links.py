"""Related-headline links between articles: matching keys and the incremental link graph.

A news page ends with headlines of other articles. Each one is a :class:`RelatedLink`; this
module decides which article it points at and keeps the resulting graph up to date as
articles arrive, change and leave.

Resolution of one link from article ``S``, first rule that finds something wins:

1. ``target_id``: the article with that id;
2. ``url``: the article whose ``url`` has the same :func:`url_key`;
3. the headline: the article whose title has the same :func:`title_key`.

A rule that finds nothing passes the link on to the next rule. A rule that finds several
articles makes the link *ambiguous*: it is kept and reported, never guessed. ``S`` itself is
never a candidate, and a link whose deciding rule matches only ``S`` is a self-link and is
ignored (a page listing its own headline or URL). A link nothing matches is *unresolved*:
kept, reported, and resolved as soon as a matching article is added. Adding, replacing or
removing an article re-resolves exactly the links whose keys it touches, so the graph never
depends on the order articles arrive in.

This module is the one home of the rule (:func:`resolve_link`) and of the one incremental
graph (:class:`LinkGraph`). The index room adapts both to its segments
(:mod:`bnsearch.index.links`): it feeds the graph ids and keys read from segment arrays
(:meth:`LinkGraph.put`) instead of whole articles, and resolves one article's links on
demand with the same rule over its segments' key maps.

Everything here is pure Python over ids and keys: no I/O, no analysis beyond
:func:`bnsearch.analysis.normalize_text`.
"""

from __future__ import annotations

import enum
import functools
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import Protocol, TypeVar
from urllib.parse import urlsplit, urlunsplit

import attrs

from bnsearch.analysis import normalize_text
from bnsearch.articles.model import Article, RelatedLink

_T = TypeVar("_T")


@functools.cache
def _punctuation_pattern() -> re.Pattern[str]:
    # the Basic Multilingual Plane holds every punctuation mark a news headline uses; the
    # other planes add only historic scripts and would cost 0.3 s of import time to scan
    marks = "".join(
        re.escape(chr(code))
        for code in range(0x10000)
        if unicodedata.category(chr(code)).startswith("P") and chr(code) not in ".,"
    )
    # "." and "," are kept between two digits (1.5, 1,000) and are separators elsewhere
    return re.compile(f"[{marks}]+|(?<!\\d)[.,]|[.,](?!\\d)")


@functools.lru_cache(maxsize=1 << 16)
def title_key(headline: str) -> str:
    """The matching key of a headline or title: equal keys mean "the same headline".

    Built on :func:`bnsearch.analysis.normalize_text` (canonical spelling, invisible characters
    dropped, digits folded to ASCII, Latin case-folded, whitespace collapsed), after every
    punctuation mark becomes a space, except ``.`` and ``,`` between two digits. So
    ``ইউনূস-টুর্ক ফোনালাপ: …`` and ``ইউনূস টুর্ক ফোনালাপ …`` share a key, and so do
    ``‘…’`` and ``'…'`` quoting. Returns ``""`` for a headline with no words.

    >>> title_key("২০২৫ সালে  সড়ক দুর্ঘটনা:") == title_key("2025 সালে সড়ক দুর্ঘটনা")
    True
    """
    return normalize_text(_punctuation_pattern().sub(" ", headline))


def url_key(url: str) -> str:
    """The matching key of a URL: equal keys mean "the same page".

    Surrounding whitespace and the ``#fragment`` are dropped, the scheme (``http`` and
    ``https`` are treated alike) and host are lower-cased, a leading ``www.`` and a trailing
    ``/`` are dropped. The query string is kept. A relative URL keeps its path as is.
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return text
    scheme = parts.scheme.lower()
    if scheme == "https":
        scheme = "http"
    host = parts.netloc.lower()
    if host.startswith("www."):
        host = host[4:]
    path = parts.path.rstrip("/")
    return urlunsplit((scheme, host, path, parts.query, ""))


class LinkStatus(enum.Enum):
    """The state of one related link in a :class:`LinkGraph`."""

    RESOLVED = "resolved"
    UNRESOLVED = "unresolved"
    AMBIGUOUS = "ambiguous"
    SELF = "self"  # the only match is the source article itself: ignored


@attrs.frozen(slots=True, kw_only=True)
class Resolution:
    """Where one related link points, given the articles known now.

    ``rule`` names the rule that decided (``"target_id"``, ``"url"``, ``"title"``) or is
    ``None`` when nothing matched. ``candidates`` holds the matching ids, sorted: one for a
    resolved link, several for an ambiguous one, none otherwise.
    """

    status: LinkStatus
    target: str | None = None
    rule: str | None = None
    candidates: tuple[str, ...] = ()


_UNRESOLVED = Resolution(status=LinkStatus.UNRESOLVED)
_SELF = Resolution(status=LinkStatus.SELF)
_NONE: tuple[str, ...] = ()

#: A link as resolution sees it: (headline title key, URL key, target id), ``""`` when absent.
LinkKeys = tuple[str, str, str]


def link_keys(link: RelatedLink) -> LinkKeys:
    """The :data:`LinkKeys` of a related link."""
    return (title_key(link.headline), url_key(link.url) if link.url else "", link.target_id or "")


#: An article as the link graph sees it: (id, title key, URL key, its links' keys in page order).
ArticleKeys = tuple[str, str, str, tuple[LinkKeys, ...]]


def article_keys(article: Article) -> ArticleKeys:
    """The :data:`ArticleKeys` of an article (what :meth:`LinkGraph.put` takes)."""
    return (
        article.id,
        title_key(article.title),
        url_key(article.url) if article.url else "",
        tuple(link_keys(link) for link in article.related),
    )


class KeyLookup(Protocol):
    """Live article ids by key: a dict of sets or lists, or a view over segments."""

    def get(self, key: str, default: Collection[str], /) -> Collection[str] | None: ...


def resolve_link(
    source_id: str,
    keys: LinkKeys,
    *,
    live: Callable[[str], bool],
    by_url: KeyLookup,
    by_title: KeyLookup,
) -> Resolution:
    """Where one link on ``source_id`` points: THE rule (module docstring).

    ``keys`` are the link's :data:`LinkKeys`; ``live(id)`` says whether an article is
    present; ``by_url`` and ``by_title`` map URL keys and title keys to present ids.
    """
    key, url, target_id = keys
    steps: list[tuple[str, Collection[str] | None]] = []
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
            return _SELF  # this rule finds only the source itself: a self-link
        if len(candidates) == 1:
            return Resolution(
                status=LinkStatus.RESOLVED, target=candidates[0], rule=rule, candidates=candidates
            )
        return Resolution(status=LinkStatus.AMBIGUOUS, rule=rule, candidates=candidates)
    return _UNRESOLVED


@attrs.frozen(slots=True, kw_only=True)
class Edge:
    """A resolved link: ``source`` lists ``headline`` (related link ``index``) -> ``target``."""

    source: str
    target: str
    headline: str
    index: int
    rule: str


@attrs.frozen(slots=True, kw_only=True)
class PendingLink:
    """A link that is kept but points nowhere yet: unresolved, or ambiguous between candidates."""

    source: str
    index: int
    link: RelatedLink
    status: LinkStatus
    candidates: tuple[str, ...] = ()


@attrs.frozen(slots=True)
class _Node:
    """What the graph keeps of one article: its keys and its outgoing links' keys (and the
    links themselves when it was given an :class:`Article`)."""

    id: str
    title_key: str
    url_key: str
    link_keys: tuple[LinkKeys, ...]
    links: tuple[RelatedLink, ...] | None


def _add_to(index: dict[str, set[str]], key: str, value: str) -> None:
    bucket = index.get(key)
    if bucket is None:
        index[key] = {value}
    else:
        bucket.add(value)


def _discard_from(index: dict[str, set[_T]], key: str, value: _T) -> None:
    bucket = index.get(key)
    if bucket is not None:
        bucket.discard(value)
        if not bucket:
            del index[key]


LinkRef = tuple[str, int]  # (source id, index in source.related)
#: Gives the :class:`RelatedLink` of a link number of an article put by keys only.
LinkSource = Callable[[str, int], RelatedLink]


@attrs.define
class LinkGraph:
    """The related-headline graph over a changing set of articles: the one incremental
    graph of bnsearch (the article room's checks and the index writer both use it).

    ``add`` (insert or replace by id), ``put`` (the same from ids and keys) and ``remove``
    keep every link resolved against the articles currently present (see the module
    docstring for the rules): each re-resolves exactly the links whose keys it touches.
    :meth:`update` applies a batch and returns the articles whose incoming links changed.
    Queries return plain ids and small frozen values, in a deterministic order.

    ``link_source`` gives the related link of an article that was put by keys only (the
    index reads it from its stored rows); it is needed only for headlines in
    :meth:`out_edges`, :meth:`in_edges`, :meth:`unresolved` and :meth:`ambiguous`.

    >>> graph = LinkGraph()
    >>> graph.add(Article(id="a", title="A", related=["বাজেট ঘোষণা"]))
    >>> graph.unresolved()[0].link.headline
    'বাজেট ঘোষণা'
    >>> graph.add(Article(id="b", title="বাজেট ঘোষণা"))
    >>> graph.out_links("a")
    ('b',)
    """

    link_source: LinkSource | None = attrs.field(default=None, kw_only=True)
    _nodes: dict[str, _Node] = attrs.field(factory=dict, init=False)
    _by_title: dict[str, set[str]] = attrs.field(factory=dict, init=False)
    _by_url: dict[str, set[str]] = attrs.field(factory=dict, init=False)
    # links waiting on a key: which links must be re-resolved when that key changes
    _watch_id: dict[str, set[LinkRef]] = attrs.field(factory=dict, init=False)
    _watch_url: dict[str, set[LinkRef]] = attrs.field(factory=dict, init=False)
    _watch_title: dict[str, set[LinkRef]] = attrs.field(factory=dict, init=False)
    _state: dict[LinkRef, Resolution] = attrs.field(factory=dict, init=False)
    # resolved edges, target -> set of link refs
    _incoming: dict[str, set[LinkRef]] = attrs.field(factory=dict, init=False)
    # during update(): targets whose incoming links changed (None: not collecting)
    _changed: set[str] | None = attrs.field(default=None, init=False)

    @classmethod
    def from_articles(cls, articles: Iterable[Article]) -> LinkGraph:
        """A graph over ``articles`` (a later article with the same id replaces an earlier one)."""
        graph = cls()
        for article in articles:
            graph.add(article)
        return graph

    # ----------------------------------------------------------------- changes

    def add(self, article: Article) -> None:
        """Insert ``article``, or replace the article with the same id.

        Its links are resolved, and every link elsewhere that its id, URL or title matches
        is re-resolved (an unresolved link may resolve; a resolved one may become ambiguous).
        """
        ident, key, url, keys = article_keys(article)
        self.put(ident, title_key=key, url_key=url, link_keys=keys, links=article.related)

    def put(
        self,
        article_id: str,
        *,
        title_key: str,
        url_key: str = "",
        link_keys: Sequence[LinkKeys] = (),
        links: tuple[RelatedLink, ...] | None = None,
    ) -> None:
        """:meth:`add` from an id and keys: the article's :func:`title_key`, :func:`url_key`
        (``""`` for none) and its links' :data:`LinkKeys` in page order."""
        if article_id in self._nodes:
            self.remove(article_id)
        node = _Node(article_id, title_key, url_key, tuple(link_keys), links)
        self._nodes[article_id] = node
        if title_key:
            _add_to(self._by_title, title_key, article_id)
        if url_key:
            _add_to(self._by_url, url_key, article_id)
        for index in range(len(node.link_keys)):
            self._watch(node, index)
        affected = self._watchers_of(node)
        affected.update((article_id, index) for index in range(len(node.link_keys)))
        self._refresh(affected)

    def remove(self, article_id: str) -> bool:
        """Remove the article with this id; returns False when there was none.

        Its own links disappear; links elsewhere that pointed at it are re-resolved (usually
        they become unresolved again, and are kept).
        """
        node = self._nodes.pop(article_id, None)
        if node is None:
            return False
        if node.title_key:
            _discard_from(self._by_title, node.title_key, node.id)
        if node.url_key:
            _discard_from(self._by_url, node.url_key, node.id)
        for index in range(len(node.link_keys)):
            self._unwatch(node, index)
            self._set_state((node.id, index), None)
        self._refresh(self._watchers_of(node))
        return True

    def update(
        self,
        *,
        removed: Iterable[str] = (),
        added: Iterable[tuple[str, str, str, Sequence[LinkKeys]]] = (),
    ) -> set[str]:
        """Apply a batch: ``removed`` ids, then ``added`` ``(id, title key, URL key, link
        keys)`` (an id already present is replaced). Returns every article whose incoming
        links may have changed (old and new targets of re-resolved links)."""
        changed: set[str] = set()
        self._changed = changed
        try:
            for article_id in removed:
                self.remove(article_id)
            for article_id, key, url, keys in added:
                self.put(article_id, title_key=key, url_key=url, link_keys=keys)
        finally:
            self._changed = None
        return changed

    # ----------------------------------------------------------------- queries

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._nodes

    def ids(self) -> Iterator[str]:
        """The ids of the articles in the graph, in insertion order."""
        return iter(self._nodes)

    @property
    def link_count(self) -> int:
        """How many links the articles in the graph carry (resolved or not)."""
        return len(self._state)

    def keys_of(self, article_id: str) -> tuple[str, str]:
        """``(title key, URL key)`` of an article in the graph."""
        node = self._require(article_id)
        return node.title_key, node.url_key

    def resolve(self, link: RelatedLink, *, source_id: str) -> Resolution:
        """Where ``link`` on article ``source_id`` points now (read-only; see module rules)."""
        return self._resolve(source_id, link_keys(link))

    def resolution(self, source_id: str, index: int) -> Resolution:
        """The current resolution of the ``index``-th related link of ``source_id``."""
        self._require(source_id)
        state = self._state.get((source_id, index))
        if state is None:
            raise IndexError(f"article {source_id!r} has no related link number {index}")
        return state

    def out_edges(self, article_id: str) -> tuple[Edge, ...]:
        """The resolved links of an article, in the order of its related headlines."""
        node = self._require(article_id)
        edges = []
        for index in range(len(node.link_keys)):
            state = self._state[(article_id, index)]
            if state.status is LinkStatus.RESOLVED and state.target is not None:
                edges.append(self._edge((article_id, index), state))
        return tuple(edges)

    def out_links(self, article_id: str) -> tuple[str, ...]:
        """The distinct target ids of an article's resolved links, in headline order."""
        node = self._require(article_id)
        targets: dict[str, None] = {}
        for index in range(len(node.link_keys)):
            state = self._state[(article_id, index)]
            if state.status is LinkStatus.RESOLVED and state.target is not None:
                targets[state.target] = None
        return tuple(targets)

    def incoming_refs(self, article_id: str) -> list[LinkRef]:
        """The resolved links pointing at an article as ``(source id, link number)``,
        sorted (empty for an article nobody links to, or one not in the graph)."""
        return sorted(self._incoming.get(article_id, ()))

    def in_edges(self, article_id: str) -> tuple[Edge, ...]:
        """The resolved links pointing at an article, sorted by source id and link index."""
        self._require(article_id)
        return tuple(self._edge(ref, self._state[ref]) for ref in self.incoming_refs(article_id))

    def in_links(self, article_id: str) -> tuple[str, ...]:
        """The distinct ids of articles linking to this one, sorted."""
        self._require(article_id)
        return tuple(sorted({source for source, _ in self._incoming.get(article_id, ())}))

    def in_link_count(self, article_id: str) -> int:
        """How many distinct articles link to this one (0 for an article nobody links to)."""
        self._require(article_id)
        return len({source for source, _ in self._incoming.get(article_id, ())})

    def in_link_counts(self) -> Mapping[str, int]:
        """Distinct linking articles per target, for targets with at least one in-link."""
        return {
            target: len({source for source, _ in refs})
            for target, refs in sorted(self._incoming.items())
            if refs
        }

    def edges(self) -> Iterator[Edge]:
        """Every resolved link, by source in insertion order, then headline order."""
        for article_id in self._nodes:
            yield from self.out_edges(article_id)

    def unresolved_refs(self) -> list[LinkRef]:
        """Links that match no article (yet), sorted by source id and link number."""
        return self._refs(LinkStatus.UNRESOLVED)

    def ambiguous_refs(self) -> list[tuple[LinkRef, tuple[str, ...]]]:
        """Links that match several articles, with their candidates, sorted."""
        return [(ref, self._state[ref].candidates) for ref in self._refs(LinkStatus.AMBIGUOUS)]

    def unresolved(self) -> tuple[PendingLink, ...]:
        """Links that match no article (yet), sorted by source id and link index."""
        return self._pending(LinkStatus.UNRESOLVED)

    def ambiguous(self) -> tuple[PendingLink, ...]:
        """Links that match several articles (not guessed), sorted by source id and index."""
        return self._pending(LinkStatus.AMBIGUOUS)

    def with_targets(self, article: Article) -> Article:
        """``article`` with ``target_id`` filled in on each related link that resolves now.

        Links that are unresolved or ambiguous keep the ``target_id`` they came with.
        ``article`` need not be in the graph (its own id is excluded as a target).
        """
        links = []
        changed = False
        for link in article.related:
            state = self.resolve(link, source_id=article.id)
            if state.status is LinkStatus.RESOLVED and state.target != link.target_id:
                links.append(attrs.evolve(link, target_id=state.target))
                changed = True
            else:
                links.append(link)
        return attrs.evolve(article, related=tuple(links)) if changed else article

    # ----------------------------------------------------------------- internals

    def _require(self, article_id: str) -> _Node:
        node = self._nodes.get(article_id)
        if node is None:
            raise KeyError(f"no article with id {article_id!r} in the link graph")
        return node

    def _link(self, ref: LinkRef) -> RelatedLink:
        node = self._nodes[ref[0]]
        if node.links is not None:
            return node.links[ref[1]]
        if self.link_source is None:
            raise LookupError(
                f"article {ref[0]!r} was put by keys only and the graph has no link_source"
            )
        return self.link_source(*ref)

    def _edge(self, ref: LinkRef, state: Resolution) -> Edge:
        assert state.target is not None and state.rule is not None
        return Edge(
            source=ref[0],
            target=state.target,
            headline=self._link(ref).headline,
            index=ref[1],
            rule=state.rule,
        )

    def _refs(self, status: LinkStatus) -> list[LinkRef]:
        return sorted(ref for ref, state in self._state.items() if state.status is status)

    def _pending(self, status: LinkStatus) -> tuple[PendingLink, ...]:
        return tuple(
            PendingLink(
                source=ref[0],
                index=ref[1],
                link=self._link(ref),
                status=status,
                candidates=self._state[ref].candidates,
            )
            for ref in self._refs(status)
        )

    def _resolve(self, source_id: str, keys: LinkKeys) -> Resolution:
        return resolve_link(
            source_id,
            keys,
            live=self._nodes.__contains__,
            by_url=self._by_url,
            by_title=self._by_title,
        )

    def _watch(self, node: _Node, index: int) -> None:
        ref = (node.id, index)
        key, url, target_id = node.link_keys[index]
        for watch, value in (
            (self._watch_id, target_id),
            (self._watch_url, url),
            (self._watch_title, key),
        ):
            if value:
                bucket = watch.get(value)
                if bucket is None:
                    watch[value] = {ref}
                else:
                    bucket.add(ref)

    def _unwatch(self, node: _Node, index: int) -> None:
        ref = (node.id, index)
        key, url, target_id = node.link_keys[index]
        for watch, value in (
            (self._watch_id, target_id),
            (self._watch_url, url),
            (self._watch_title, key),
        ):
            if value:
                _discard_from(watch, value, ref)

    def _watchers_of(self, node: _Node) -> set[LinkRef]:
        """Links whose resolution may change when ``node`` comes or goes."""
        refs: set[LinkRef] = set(self._watch_id.get(node.id, ()))
        if node.url_key:
            refs.update(self._watch_url.get(node.url_key, ()))
        if node.title_key:
            refs.update(self._watch_title.get(node.title_key, ()))
        return refs

    def _refresh(self, refs: Iterable[LinkRef]) -> None:
        for ref in refs:
            source = self._nodes.get(ref[0])
            if source is None:
                continue
            state = self._resolve(ref[0], source.link_keys[ref[1]])
            if self._state.get(ref) != state:
                self._set_state(ref, state)

    def _set_state(self, ref: LinkRef, state: Resolution | None) -> None:
        old = self._state.pop(ref, None)
        if old is not None and old.status is LinkStatus.RESOLVED and old.target is not None:
            _discard_from(self._incoming, old.target, ref)
            if self._changed is not None:
                self._changed.add(old.target)
        if state is None:
            return
        self._state[ref] = state
        if state.status is LinkStatus.RESOLVED and state.target is not None:
            bucket = self._incoming.get(state.target)
            if bucket is None:
                self._incoming[state.target] = {ref}
            else:
                bucket.add(ref)
            if self._changed is not None:
                self._changed.add(state.target)
