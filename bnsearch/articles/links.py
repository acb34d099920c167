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

Everything here is pure Python over ids and keys: no I/O, no analysis beyond
:func:`bnsearch.analysis.normalize_text`.
"""

from __future__ import annotations

import enum
import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from urllib.parse import urlsplit, urlunsplit

import attrs

from bnsearch.analysis import normalize_text
from bnsearch.articles.model import Article, RelatedLink


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
    """What the graph keeps of one article: its keys and its outgoing links."""

    id: str
    title_key: str
    url_key: str | None
    links: tuple[RelatedLink, ...]
    # per link: (title key, url key) computed once
    link_keys: tuple[tuple[str, str | None], ...]


def _add_to(index: dict[str, set[str]], key: str, value: str) -> None:
    bucket = index.get(key)
    if bucket is None:
        index[key] = {value}
    else:
        bucket.add(value)


def _discard_from(index: dict[str, set[str]], key: str, value: str) -> None:
    bucket = index.get(key)
    if bucket is not None:
        bucket.discard(value)
        if not bucket:
            del index[key]


_LinkRef = tuple[str, int]  # (source id, index in source.related)


@attrs.define
class LinkGraph:
    """The related-headline graph over a changing set of articles.

    ``add`` (insert or replace by id) and ``remove`` keep every link resolved against the
    articles currently present (see the module docstring for the rules). Queries return
    plain ids and small frozen values, in a deterministic order.

    >>> graph = LinkGraph()
    >>> graph.add(Article(id="a", title="A", related=["বাজেট ঘোষণা"]))
    >>> graph.unresolved()[0].link.headline
    'বাজেট ঘোষণা'
    >>> graph.add(Article(id="b", title="বাজেট ঘোষণা"))
    >>> graph.out_links("a")
    ('b',)
    """

    _nodes: dict[str, _Node] = attrs.field(factory=dict, init=False)
    _by_title: dict[str, set[str]] = attrs.field(factory=dict, init=False)
    _by_url: dict[str, set[str]] = attrs.field(factory=dict, init=False)
    # links waiting on a key: which links must be re-resolved when that key changes
    _watch_id: dict[str, set[_LinkRef]] = attrs.field(factory=dict, init=False)
    _watch_url: dict[str, set[_LinkRef]] = attrs.field(factory=dict, init=False)
    _watch_title: dict[str, set[_LinkRef]] = attrs.field(factory=dict, init=False)
    _state: dict[_LinkRef, Resolution] = attrs.field(factory=dict, init=False)
    # resolved edges, target -> set of link refs
    _incoming: dict[str, set[_LinkRef]] = attrs.field(factory=dict, init=False)

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
        if article.id in self._nodes:
            self.remove(article.id)
        link_keys = tuple(
            (title_key(link.headline), url_key(link.url) if link.url else None)
            for link in article.related
        )
        node = _Node(
            article.id,
            title_key(article.title),
            url_key(article.url) if article.url else None,
            article.related,
            link_keys,
        )
        self._nodes[node.id] = node
        if node.title_key:
            _add_to(self._by_title, node.title_key, node.id)
        if node.url_key:
            _add_to(self._by_url, node.url_key, node.id)
        for index in range(len(node.links)):
            self._watch(node, index)
        affected = self._watchers_of(node)
        affected.update((node.id, index) for index in range(len(node.links)))
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
        for index in range(len(node.links)):
            ref = (node.id, index)
            self._unwatch(node, index)
            self._set_state(ref, None)
        self._refresh(self._watchers_of(node))
        return True

    # ----------------------------------------------------------------- queries

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._nodes

    def ids(self) -> Iterator[str]:
        """The ids of the articles in the graph, in insertion order."""
        return iter(self._nodes)

    def resolve(self, link: RelatedLink, *, source_id: str) -> Resolution:
        """Where ``link`` on article ``source_id`` points now (read-only; see module rules)."""
        return self._resolve(
            link,
            source_id,
            title_key(link.headline),
            url_key(link.url) if link.url else None,
        )

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
        for index, link in enumerate(node.links):
            state = self._state[(article_id, index)]
            if state.status is LinkStatus.RESOLVED and state.target is not None:
                edges.append(self._edge((article_id, index), link, state))
        return tuple(edges)

    def out_links(self, article_id: str) -> tuple[str, ...]:
        """The distinct target ids of an article's resolved links, in headline order."""
        return tuple(dict.fromkeys(edge.target for edge in self.out_edges(article_id)))

    def in_edges(self, article_id: str) -> tuple[Edge, ...]:
        """The resolved links pointing at an article, sorted by source id and link index."""
        self._require(article_id)
        refs = sorted(self._incoming.get(article_id, ()))
        return tuple(
            self._edge(ref, self._nodes[ref[0]].links[ref[1]], self._state[ref]) for ref in refs
        )

    def in_links(self, article_id: str) -> tuple[str, ...]:
        """The distinct ids of articles linking to this one, sorted."""
        return tuple(sorted({edge.source for edge in self.in_edges(article_id)}))

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

    def _edge(self, ref: _LinkRef, link: RelatedLink, state: Resolution) -> Edge:
        assert state.target is not None and state.rule is not None
        return Edge(
            source=ref[0],
            target=state.target,
            headline=link.headline,
            index=ref[1],
            rule=state.rule,
        )

    def _pending(self, status: LinkStatus) -> tuple[PendingLink, ...]:
        found = []
        for ref in sorted(ref for ref, state in self._state.items() if state.status is status):
            state = self._state[ref]
            found.append(
                PendingLink(
                    source=ref[0],
                    index=ref[1],
                    link=self._nodes[ref[0]].links[ref[1]],
                    status=status,
                    candidates=state.candidates,
                )
            )
        return tuple(found)

    def _resolve(
        self, link: RelatedLink, source_id: str, link_title: str, link_url: str | None
    ) -> Resolution:
        lookups: list[tuple[str, set[str] | None]] = []
        if link.target_id is not None:
            lookups.append(
                ("target_id", {link.target_id} if link.target_id in self._nodes else None)
            )
        if link_url:
            lookups.append(("url", self._by_url.get(link_url)))
        if link_title:
            lookups.append(("title", self._by_title.get(link_title)))
        for rule, found in lookups:
            if not found:
                continue
            candidates = tuple(sorted(found - {source_id}))
            if not candidates:
                return _SELF  # this rule finds only the source itself: a self-link
            if len(candidates) == 1:
                return Resolution(
                    status=LinkStatus.RESOLVED,
                    target=candidates[0],
                    rule=rule,
                    candidates=candidates,
                )
            return Resolution(status=LinkStatus.AMBIGUOUS, rule=rule, candidates=candidates)
        return _UNRESOLVED

    def _watch(self, node: _Node, index: int) -> None:
        ref = (node.id, index)
        link = node.links[index]
        link_title, link_url = node.link_keys[index]
        if link.target_id is not None:
            self._watch_id.setdefault(link.target_id, set()).add(ref)
        if link_url:
            self._watch_url.setdefault(link_url, set()).add(ref)
        if link_title:
            self._watch_title.setdefault(link_title, set()).add(ref)

    def _unwatch(self, node: _Node, index: int) -> None:
        ref = (node.id, index)
        link = node.links[index]
        link_title, link_url = node.link_keys[index]
        for watch, key in (
            (self._watch_id, link.target_id),
            (self._watch_url, link_url),
            (self._watch_title, link_title),
        ):
            if key:
                bucket = watch.get(key)
                if bucket is not None:
                    bucket.discard(ref)
                    if not bucket:
                        del watch[key]

    def _watchers_of(self, node: _Node) -> set[_LinkRef]:
        """Links whose resolution may change when ``node`` comes or goes."""
        refs: set[_LinkRef] = set(self._watch_id.get(node.id, ()))
        if node.url_key:
            refs.update(self._watch_url.get(node.url_key, ()))
        if node.title_key:
            refs.update(self._watch_title.get(node.title_key, ()))
        return refs

    def _refresh(self, refs: Iterable[_LinkRef]) -> None:
        for ref in refs:
            source = self._nodes.get(ref[0])
            if source is None:
                continue
            link_title, link_url = source.link_keys[ref[1]]
            self._set_state(ref, self._resolve(source.links[ref[1]], ref[0], link_title, link_url))

    def _set_state(self, ref: _LinkRef, state: Resolution | None) -> None:
        old = self._state.pop(ref, None)
        if old is not None and old.status is LinkStatus.RESOLVED and old.target is not None:
            bucket = self._incoming.get(old.target)
            if bucket is not None:
                bucket.discard(ref)
                if not bucket:
                    del self._incoming[old.target]
        if state is None:
            return
        self._state[ref] = state
        if state.status is LinkStatus.RESOLVED and state.target is not None:
            self._incoming.setdefault(state.target, set()).add(ref)
