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

Everything here works over ids and keys: no I/O, no analysis beyond
:func:`bnsearch.analysis.normalize_text`. The graph keeps them in numpy columns and an
interned-string arena (:mod:`bnsearch.articles.linkstore`), about 70 bytes a link with
its article's share, so a million articles with six links each fit in a few hundred MB.
"""

from __future__ import annotations

import enum
import functools
import itertools
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import attrs
import numpy as np
import numpy.typing as npt

from bnsearch.analysis import normalize_text
from bnsearch.arrays import distinct
from bnsearch.articles.linkstore import Atoms, Column, Multimap
from bnsearch.articles.model import Article, RelatedLink
from bnsearch.heap import give_back_memory


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


#: Headlines whose :func:`title_key` is remembered: a links build computes each title's key
#: for the article and again for every link naming it, at random distances; a cache
#: smaller than the titles (the 65,536 it was) computed 275,000 keys for a 100k build's
#: 100,000 titles. About 250 bytes an entry (60 MB when full).
TITLE_KEYS_REMEMBERED = 1 << 18


@functools.lru_cache(maxsize=TITLE_KEYS_REMEMBERED)
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


#: Links with a headline only (a build's, mostly) whose :data:`LinkKeys` are remembered,
#: by headline: a 100k links build takes the keys of 600,000 links naming 100,000
#: titles, and one dict lookup a link costs less than a title key's cache lookup and a
#: new tuple. About 100 bytes an entry beyond the headline (which the title keys' cache
#: holds too); past the bound it starts over.
HEADLINE_KEYS_REMEMBERED = 1 << 17
_headline_keys: dict[str, LinkKeys] = {}


def link_keys(link: RelatedLink) -> LinkKeys:
    """The :data:`LinkKeys` of a related link."""
    if link.url or link.target_id:
        return (
            title_key(link.headline),
            url_key(link.url) if link.url else "",
            link.target_id or "",
        )
    headline = link.headline
    found = _headline_keys.get(headline)
    if found is None:
        if len(_headline_keys) >= HEADLINE_KEYS_REMEMBERED:
            _headline_keys.clear()
        found = _headline_keys[headline] = (title_key(headline), "", "")
    return found


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


def settled_by_key(
    has_target_id: npt.NDArray[np.bool_],
    url_matches: npt.NDArray[np.int64],
    title_matches: npt.NDArray[np.int64],
    title_match_is_source: npt.NDArray[np.bool_],
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Per link, whether :func:`resolve_link` surely resolves it to the one article with
    its title key, and whether it surely finds nothing, read from counts alone (numpy,
    for every link of an index at once).

    Resolved: no target id (rule 1 does not apply), a URL that matches no article
    (``url_matches`` 0: rule 2 finds nothing, or there is no URL) and exactly one article
    with its title key (``title_matches`` 1) that is not the source (that would be a
    self-link). Unresolved: no target id and nothing matches its URL or title key (or it
    has neither). Counts may be upper bounds (by hash) when 0 stays exact; a count of 1
    must then be confirmed against the key by the caller. Every other link needs
    :func:`resolve_link`.
    """
    open_keys = ~has_target_id & (url_matches == 0)
    resolved: npt.NDArray[np.bool_] = open_keys & (title_matches == 1) & ~title_match_is_source
    nowhere: npt.NDArray[np.bool_] = open_keys & (title_matches == 0)
    return resolved, nowhere


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


LinkRef = tuple[str, int]  # (source id, index in source.related)


@attrs.frozen(slots=True, kw_only=True)
class RefRuns:
    """The in-links of several articles as arrays (:meth:`LinkGraph.incoming_ref_runs`):
    ref ``k`` is link number ``number[k]`` of article ``sources[source[k]]``; the refs of
    the ``i``-th article asked are ``bounds[i]:bounds[i + 1]``, sorted as
    :data:`LinkRef` tuples are (source id, then link number). ``sources`` are the
    distinct sources, in string order."""

    sources: list[str]
    source: npt.NDArray[np.int64]
    number: npt.NDArray[np.int64]
    bounds: npt.NDArray[np.int64]


#: Gives the :class:`RelatedLink` of a link number of an article put by keys only.
LinkSource = Callable[[str, int], RelatedLink]
#: One article for :meth:`LinkGraph.update`: (id, title key, URL key, link keys).
KeyedArticle = tuple[str, str, str, Sequence[LinkKeys]]

# link states as stored (one byte a link); _DEAD: the link's article is gone
_DEAD, _UNRESOLVED_CODE, _RESOLVED_CODE, _AMBIGUOUS_CODE, _SELF_CODE = -1, 0, 1, 2, 3
_STATUS_CODES = {
    LinkStatus.UNRESOLVED: _UNRESOLVED_CODE,
    LinkStatus.RESOLVED: _RESOLVED_CODE,
    LinkStatus.AMBIGUOUS: _AMBIGUOUS_CODE,
    LinkStatus.SELF: _SELF_CODE,
}
_RULES = (None, "target_id", "url", "title")
_RULE_CODES = {rule: code for code, rule in enumerate(_RULES)}
_CHUNK = 1 << 14  # articles interned and appended at a time by update()
_GIVE_BACK = 1 << 16  # a bulk update adding this many links gives free heap pages back
_BULK = 64  # a batch touching more keys than this finds its affected links by one scan


class _Live:
    """``get(key, default)``: ids of the graph's live articles with this title or URL key
    (the lookup :func:`resolve_link` takes)."""

    def __init__(self, graph: LinkGraph, index: Multimap) -> None:
        self._graph = graph
        self._index = index

    def get(self, key: str, default: Collection[str], /) -> Collection[str]:
        graph = self._graph
        atom = graph._atom_of(key)
        if atom < 0:
            return default
        alive = graph._alive.data
        ids = graph._node_id.data
        text = graph._text
        found = [text(int(ids[n])) for n in self._index.get(atom) if alive[n]]
        return found or default


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

    The graph holds no Python object per article or link: ids and keys are interned
    strings (:class:`~bnsearch.articles.linkstore.Atoms`), articles and links are rows of
    numpy columns (a link: its three key atoms, its state, rule and target), and the maps
    from a key to the articles and links that carry it are
    :class:`~bnsearch.articles.linkstore.Multimap` s. Links into an article are found
    through its keys (a link can only resolve to an article whose id, URL or title it
    names), so no reverse edge list is kept. Replacing or removing an article leaves a
    dead row; the rows are compacted when the dead outnumber the live.

    >>> graph = LinkGraph()
    >>> graph.add(Article(id="a", title="A", related=["বাজেট ঘোষণা"]))
    >>> graph.unresolved()[0].link.headline
    'বাজেট ঘোষণা'
    >>> graph.add(Article(id="b", title="বাজেট ঘোষণা"))
    >>> graph.out_links("a")
    ('b',)
    """

    link_source: LinkSource | None = attrs.field(default=None, kw_only=True)
    _atoms: Atoms = attrs.field(factory=Atoms, init=False)
    _atom_node: Column = attrs.field(factory=lambda: Column(np.int32), init=False)
    # articles (nodes), in insertion order; a replaced or removed one stays, not alive
    _node_id: Column = attrs.field(factory=lambda: Column(np.int32), init=False)
    _node_title: Column = attrs.field(factory=lambda: Column(np.int32), init=False)
    _node_url: Column = attrs.field(factory=lambda: Column(np.int32), init=False)
    _node_first: Column = attrs.field(factory=lambda: Column(np.int64), init=False)
    _node_count: Column = attrs.field(factory=lambda: Column(np.int32), init=False)
    _alive: Column = attrs.field(factory=lambda: Column(np.bool_), init=False)
    # links (slots), node by node in page order
    _link_title: Column = attrs.field(factory=lambda: Column(np.int32), init=False)
    _link_url: Column = attrs.field(factory=lambda: Column(np.int32), init=False)
    _link_tid: Column = attrs.field(factory=lambda: Column(np.int32), init=False)
    _link_status: Column = attrs.field(factory=lambda: Column(np.int8), init=False)
    _link_rule: Column = attrs.field(factory=lambda: Column(np.int8), init=False)
    _link_target: Column = attrs.field(factory=lambda: Column(np.int32), init=False)
    # the links of articles given as Article values (by node)
    _links: dict[int, tuple[RelatedLink, ...]] = attrs.field(factory=dict, init=False)
    _by_title: Multimap = attrs.field(init=False)
    _by_url: Multimap = attrs.field(init=False)
    _watch_title: Multimap = attrs.field(init=False)
    _watch_url: Multimap = attrs.field(init=False)
    _watch_id: Multimap = attrs.field(init=False)
    _live_count: int = attrs.field(default=0, init=False)
    # a big update told to keep the heap's free pages kept them (see pages_kept)
    _kept_pages: bool = attrs.field(default=False, init=False)
    # while links are re-resolved: strings decoded from atoms, so the rule's lookups of
    # them need no hashing (None: not re-resolving)
    _known: dict[str, int] | None = attrs.field(default=None, init=False)
    _spelled: dict[int, str] = attrs.field(factory=dict, init=False)  # the memo backwards
    _link_live: int = attrs.field(default=0, init=False)

    def __attrs_post_init__(self) -> None:
        def alive_nodes(nodes: npt.NDArray[np.int32]) -> npt.NDArray[np.bool_]:
            return self._alive.view()[nodes]

        def alive_links(slots: npt.NDArray[np.int32]) -> npt.NDArray[np.bool_]:
            alive: npt.NDArray[np.bool_] = self._link_status.view()[slots] != _DEAD
            return alive

        self._by_title = Multimap(valid=alive_nodes)
        self._by_url = Multimap(valid=alive_nodes)
        self._watch_title = Multimap(valid=alive_links)
        self._watch_url = Multimap(valid=alive_links)
        self._watch_id = Multimap(valid=alive_links)

    @classmethod
    def from_articles(cls, articles: Iterable[Article]) -> LinkGraph:
        """A graph over ``articles`` (a later article with the same id replaces an earlier one)."""
        graph = cls()
        graph._apply((), (_article_row(article) for article in articles), set())
        return graph

    # ----------------------------------------------------------------- changes

    def add(self, article: Article) -> None:
        """Insert ``article``, or replace the article with the same id.

        Its links are resolved, and every link elsewhere that its id, URL or title matches
        is re-resolved (an unresolved link may resolve; a resolved one may become ambiguous).
        """
        self._apply((), [_article_row(article)], set())

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
        self._apply((), [(article_id, title_key, url_key, link_keys, links)], set())

    def remove(self, article_id: str) -> bool:
        """Remove the article with this id; returns False when there was none.

        Its own links disappear; links elsewhere that pointed at it are re-resolved (usually
        they become unresolved again, and are kept).
        """
        if self._node(article_id) < 0:
            return False
        self._apply((article_id,), (), set())
        return True

    def update(
        self,
        *,
        removed: Iterable[str] = (),
        added: Iterable[KeyedArticle] = (),
        give_back: bool = True,
    ) -> set[str]:
        """Apply a batch: ``removed`` ids, then ``added`` ``(id, title key, URL key, link
        keys)`` (an id already present is replaced). Returns every article whose incoming
        links may have changed: the old and new targets of every link whose resolution
        differs after the batch from before it (and of the links that left with their
        articles).

        A big batch (building the graph of an index) is applied in bulk: its articles are
        interned and appended a chunk at a time, then every link it may affect is
        resolved once. A big batch gives the heap's free pages back after it
        (:func:`~bnsearch.heap.give_back_memory`) unless ``give_back`` is False: a
        caller that allocates as much again next (an index writer's segment build)
        reuses them instead of faulting fresh ones in, and gives back when it is done
        (when :meth:`pages_kept` says an update kept some)."""
        changed: set[str] = set()
        self._apply(
            removed,
            ((ident, key, url, keys, None) for ident, key, url, keys in added),
            changed,
            give_back=give_back,
        )
        return changed

    def pages_kept(self) -> bool:
        """Whether an update told not to give the heap's free pages back (``give_back``
        False) kept some since the last ask: a batch big enough that it would have
        given them back. The caller then gives them back when it is done with them."""
        kept, self._kept_pages = self._kept_pages, False
        return kept

    # ----------------------------------------------------------------- queries

    def __len__(self) -> int:
        return self._live_count

    def __contains__(self, article_id: object) -> bool:
        return isinstance(article_id, str) and self._node(article_id) >= 0

    def ids(self) -> Iterator[str]:
        """The ids of the articles in the graph, in insertion order."""
        atoms = self._node_id.view()[self._alive.view()].tolist()
        return map(self._atoms.text, atoms)

    @property
    def link_count(self) -> int:
        """How many links the articles in the graph carry (resolved or not)."""
        return self._link_live

    def keys_of(self, article_id: str) -> tuple[str, str]:
        """``(title key, URL key)`` of an article in the graph."""
        node = self._require(article_id)
        return (
            self._atoms.text(int(self._node_title.view()[node])),
            self._atoms.text(int(self._node_url.view()[node])),
        )

    def resolve(self, link: RelatedLink, *, source_id: str) -> Resolution:
        """Where ``link`` on article ``source_id`` points now (read-only; see module rules)."""
        return self._resolve(source_id, link_keys(link))

    def resolution(self, source_id: str, index: int) -> Resolution:
        """The current resolution of the ``index``-th related link of ``source_id``."""
        node = self._require(source_id)
        if not 0 <= index < int(self._node_count.view()[node]):
            raise IndexError(f"article {source_id!r} has no related link number {index}")
        return self._state(int(self._node_first.view()[node]) + index)

    def out_edges(self, article_id: str) -> tuple[Edge, ...]:
        """The resolved links of an article, in the order of its related headlines."""
        node = self._require(article_id)
        first = int(self._node_first.view()[node])
        status = self._link_status.view()
        return tuple(
            self._edge(article_id, slot - first, slot)
            for slot in range(first, first + int(self._node_count.view()[node]))
            if status[slot] == _RESOLVED_CODE
        )

    def out_links(self, article_id: str) -> tuple[str, ...]:
        """The distinct target ids of an article's resolved links, in headline order."""
        node = self._require(article_id)
        first = int(self._node_first.view()[node])
        end = first + int(self._node_count.view()[node])
        status = self._link_status.view()[first:end]
        targets = self._link_target.view()[first:end][status == _RESOLVED_CODE].tolist()
        return tuple(dict.fromkeys(map(self._atoms.text, targets)))

    def incoming_refs(self, article_id: str) -> list[LinkRef]:
        """The resolved links pointing at an article as ``(source id, link number)``,
        sorted (empty for an article nobody links to, or one not in the graph)."""
        atom = self._atoms.find(article_id)
        if atom < 0 or atom >= len(self._atom_node) or self._atom_node.view()[atom] < 0:
            return []
        node = int(self._atom_node.view()[atom])
        found = self._watchers(atom, self._node_url_of(node), self._node_title_of(node))
        if not found:
            return []
        slots = distinct(np.array(found, dtype=np.int64))
        slots = slots[
            (self._link_status.view()[slots] == _RESOLVED_CODE)
            & (self._link_target.view()[slots] == atom)
        ]
        return self._refs_of(slots)

    def incoming_refs_many(self, article_ids: Sequence[str]) -> list[list[LinkRef]]:
        """:meth:`incoming_refs` of each of ``article_ids``, in one pass over the arrays
        (a writer's flush asks for the anchors of thousands of articles at once)."""
        runs = self.incoming_ref_runs(article_ids)
        refs = list(
            zip(
                map(runs.sources.__getitem__, runs.source.tolist()),
                runs.number.tolist(),
                strict=True,
            )
        )
        bounds = runs.bounds.tolist()
        return [refs[low:high] for low, high in itertools.pairwise(bounds)]

    def incoming_ref_runs(self, article_ids: Sequence[str]) -> RefRuns:
        """:meth:`incoming_refs_many` as arrays (:class:`RefRuns`): no tuple a ref, no
        sort a target; a bulk build's commit asks for the in-links of every article."""
        owners, slots = self._incoming_pairs(article_ids)
        if not len(owners):
            return RefRuns(
                sources=[],
                source=np.zeros(0, dtype=np.int64),
                number=np.zeros(0, dtype=np.int64),
                bounds=np.zeros(len(article_ids) + 1, dtype=np.int64),
            )
        nodes = self._source_nodes(slots)
        numbers = slots - self._node_first.view()[nodes]
        spelled, inverse = _distinct_inverse(self._node_id.view()[nodes])
        names = self._atoms.texts(spelled.tolist())
        # the sources in string order (a ref list is sorted as (source id, link number))
        order = sorted(range(len(names)), key=names.__getitem__)
        rank = np.empty(len(names), dtype=np.int64)
        rank[order] = np.arange(len(names), dtype=np.int64)
        source = rank[inverse]
        ordered = _runs_order(owners, source, numbers)
        bounds = np.searchsorted(owners[ordered], np.arange(len(article_ids) + 1), "left")
        return RefRuns(
            sources=[names[at] for at in order],
            source=source[ordered],
            number=numbers[ordered],
            bounds=bounds.astype(np.int64),
        )

    def _incoming_pairs(
        self, article_ids: Sequence[str]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(position in ``article_ids``, link slot) of every resolved link pointing at
        one of them, each pair once."""
        none = np.zeros(0, dtype=np.int64)
        atoms = self._atoms.find_many(article_ids).astype(np.int64)
        known = np.flatnonzero((atoms >= 0) & (atoms < len(self._atom_node)))
        nodes = self._atom_node.view()[atoms[known]].astype(np.int64)
        present, nodes = known[nodes >= 0], nodes[nodes >= 0]
        if not len(present):
            return none, none
        slot_parts: list[npt.NDArray[Any]] = []
        owner_parts: list[npt.NDArray[np.int64]] = []
        for index, keys in (
            (self._watch_id, atoms[present].astype(np.int32)),
            (self._watch_url, self._node_url.view()[nodes]),
            (self._watch_title, self._node_title.view()[nodes]),
        ):
            has = keys >= 0
            slots, owner = index.get_many(keys[has])
            slot_parts.append(slots.astype(np.int64))
            owner_parts.append(present[has][owner])
        slots, owners = np.concatenate(slot_parts), np.concatenate(owner_parts)
        keep = (self._link_status.view()[slots] == _RESOLVED_CODE) & (
            self._link_target.view()[slots] == atoms[owners]
        )
        # each (article, link) once: a link may name its target by id, URL and title
        pairs = distinct((owners[keep] << 32) | slots[keep])
        return pairs >> 32, pairs & 0xFFFFFFFF

    def in_edges(self, article_id: str) -> tuple[Edge, ...]:
        """The resolved links pointing at an article, sorted by source id and link index."""
        self._require(article_id)
        return tuple(
            self._edge(source, index, self._slot(source, index))
            for source, index in self.incoming_refs(article_id)
        )

    def in_links(self, article_id: str) -> tuple[str, ...]:
        """The distinct ids of articles linking to this one, sorted."""
        self._require(article_id)
        return tuple(sorted({source for source, _ in self.incoming_refs(article_id)}))

    def in_link_count(self, article_id: str) -> int:
        """How many distinct articles link to this one (0 for an article nobody links to)."""
        return len(self.in_links(article_id))

    def in_link_counts(self) -> Mapping[str, int]:
        """Distinct linking articles per target, for targets with at least one in-link."""
        resolved = np.flatnonzero(self._link_status.view() == _RESOLVED_CODE)
        if not len(resolved):
            return {}
        targets = self._link_target.view()[resolved].astype(np.int64)
        sources = self._source_nodes(resolved).astype(np.int64)
        pairs = distinct((targets << 32) | sources)
        atoms, counts = np.unique(pairs >> 32, return_counts=True)
        found = dict(zip(self._atoms.texts(atoms.tolist()), counts.tolist(), strict=True))
        return {target: found[target] for target in sorted(found)}

    def edges(self) -> Iterator[Edge]:
        """Every resolved link, by source in insertion order, then headline order."""
        for article_id in self.ids():
            yield from self.out_edges(article_id)

    def unresolved_refs(self) -> list[LinkRef]:
        """Links that match no article (yet), sorted by source id and link number."""
        return self._refs(_UNRESOLVED_CODE)

    def ambiguous_refs(self) -> list[tuple[LinkRef, tuple[str, ...]]]:
        """Links that match several articles, with their candidates, sorted."""
        return [
            (ref, self._state(self._slot(*ref)).candidates) for ref in self._refs(_AMBIGUOUS_CODE)
        ]

    def unresolved(self) -> tuple[PendingLink, ...]:
        """Links that match no article (yet), sorted by source id and link index."""
        return self._pending(_UNRESOLVED_CODE)

    def ambiguous(self) -> tuple[PendingLink, ...]:
        """Links that match several articles (not guessed), sorted by source id and index."""
        return self._pending(_AMBIGUOUS_CODE)

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

    @property
    def nbytes(self) -> int:
        """Bytes held by the graph's arrays and arena (not counting links kept as
        :class:`RelatedLink` values for articles given whole, nor ambiguous candidates)."""
        return (
            self._atoms.nbytes
            + sum(column.nbytes for column in self._columns())
            + sum(multimap.nbytes for multimap in self._maps())
        )

    def _columns(self) -> tuple[Column, ...]:
        return (
            self._atom_node,
            self._node_id,
            self._node_title,
            self._node_url,
            self._node_first,
            self._node_count,
            self._alive,
            *self._link_columns(),
        )

    def _link_columns(self) -> tuple[Column, ...]:
        return (
            self._link_title,
            self._link_url,
            self._link_tid,
            self._link_status,
            self._link_rule,
            self._link_target,
        )

    def _maps(self) -> tuple[Multimap, ...]:
        return (self._by_title, self._by_url, self._watch_title, self._watch_url, self._watch_id)

    # ----------------------------------------------------------------- internals

    def _atom_of(self, text: str) -> int:
        if self._known is not None:
            atom = self._known.get(text)
            if atom is not None:
                return atom
        return self._atoms.find(text)

    def _text(self, atom: int) -> str:
        if self._known is None:
            return self._atoms.text(atom)
        text = self._spelled.get(atom)
        if text is None:
            text = self._spelled[atom] = self._atoms.text(atom)
            self._known[text] = atom
        return text

    def _remember(self, text: str) -> int:
        """:meth:`Atoms.intern` of ``text``, kept in the memo."""
        atom = self._atoms.intern(text)
        if atom >= 0 and self._known is not None:
            self._known[text] = atom
            self._spelled[atom] = text
        return atom

    def _forget(self) -> None:
        """Empty the memo (``None``: no memo, outside :meth:`_apply`)."""
        self._known = None
        self._spelled = {}

    def _node(self, article_id: str) -> int:
        atom = self._atom_of(article_id)
        if atom < 0 or atom >= len(self._atom_node):
            return -1
        return int(self._atom_node.view()[atom])

    def _require(self, article_id: str) -> int:
        node = self._node(article_id)
        if node < 0:
            raise KeyError(f"no article with id {article_id!r} in the link graph")
        return node

    def _node_url_of(self, node: int) -> int:
        return int(self._node_url.view()[node])

    def _node_title_of(self, node: int) -> int:
        return int(self._node_title.view()[node])

    def _source_nodes(self, slots: npt.NDArray[np.integer[Any]]) -> npt.NDArray[np.int64]:
        """The node owning each link slot (nodes hold consecutive slots, in node order)."""
        found: npt.NDArray[np.int64] = (
            self._node_first.view().searchsorted(slots, "right").astype(np.int64) - 1
        )
        return found

    def _slot(self, source_id: str, index: int) -> int:
        return int(self._node_first.view()[self._require(source_id)]) + index

    def _state(self, slot: int) -> Resolution:
        code = int(self._link_status.view()[slot])
        if code == _RESOLVED_CODE:
            target = self._atoms.text(int(self._link_target.view()[slot]))
            rule = _RULES[int(self._link_rule.view()[slot])]
            return Resolution(
                status=LinkStatus.RESOLVED, target=target, rule=rule, candidates=(target,)
            )
        if code == _AMBIGUOUS_CODE:  # its candidates are not kept: the rule gives them again
            return self._resolve_slot(slot)
        return _SELF if code == _SELF_CODE else _UNRESOLVED

    def _link(self, source_id: str, index: int) -> RelatedLink:
        links = self._links.get(self._require(source_id))
        if links is not None:
            return links[index]
        if self.link_source is None:
            raise LookupError(
                f"article {source_id!r} was put by keys only and the graph has no link_source"
            )
        return self.link_source(source_id, index)

    def _edge(self, source_id: str, index: int, slot: int) -> Edge:
        return Edge(
            source=source_id,
            target=self._atoms.text(int(self._link_target.view()[slot])),
            headline=self._link(source_id, index).headline,
            index=index,
            rule=_RULES[int(self._link_rule.view()[slot])] or "",
        )

    def _refs(self, code: int) -> list[LinkRef]:
        return self._refs_of(np.flatnonzero(self._link_status.view() == code))

    def _refs_of(self, slots: npt.NDArray[np.int64]) -> list[LinkRef]:
        """``(source id, link number)`` of each link slot, sorted."""
        nodes = self._source_nodes(slots)
        sources = self._atoms.texts(self._node_id.view()[nodes].tolist())
        indexes = (slots - self._node_first.view()[nodes]).tolist()
        return sorted(zip(sources, indexes, strict=True))

    def _pending(self, code: int) -> tuple[PendingLink, ...]:
        status = LinkStatus.UNRESOLVED if code == _UNRESOLVED_CODE else LinkStatus.AMBIGUOUS
        return tuple(
            PendingLink(
                source=source,
                index=index,
                link=self._link(source, index),
                status=status,
                candidates=self._state(self._slot(source, index)).candidates,
            )
            for source, index in self._refs(code)
        )

    def _resolve(self, source_id: str, keys: LinkKeys) -> Resolution:
        return resolve_link(
            source_id,
            keys,
            live=self.__contains__,
            by_url=_Live(self, self._by_url),
            by_title=_Live(self, self._by_title),
        )

    def _watchers(self, id_atom: int, url_atom: int, title_atom: int) -> list[int]:
        """Link slots (live or dead) whose keys name this id, URL key or title key."""
        found = self._watch_id.get(id_atom) if id_atom >= 0 else []
        if url_atom >= 0:
            found.extend(self._watch_url.get(url_atom))
        if title_atom >= 0:
            found.extend(self._watch_title.get(title_atom))
        return found

    # -- applying a batch ---------------------------------------------------------------

    def _apply(
        self,
        removed: Iterable[str],
        added: Iterable[tuple[str, str, str, Sequence[LinkKeys], tuple[RelatedLink, ...] | None]],
        changed: set[str],
        *,
        give_back: bool = True,
    ) -> None:
        """Remove, then add (chunk by chunk), then re-resolve every link whose keys name an
        id, URL or title that came or went, and the new links (see :meth:`update` for
        ``give_back``)."""
        touched: list[npt.NDArray[np.int32]] = []  # (id, url, title) atoms that came or went
        new_slots: list[tuple[int, int]] = []
        bulk = False
        links_before = len(self._link_status)
        self._known = {}
        try:
            gone = [node for node in map(self._node, removed) if node >= 0]
            if gone:
                touched.append(self._kill(distinct(np.array(gone, dtype=np.int64)), changed))
            chunk: list[tuple[str, str, str, Sequence[LinkKeys], tuple[RelatedLink, ...] | None]]
            rows = iter(added)
            while chunk := list(itertools.islice(rows, _CHUNK)):
                first = len(self._link_status)
                if len(chunk) <= 4:  # the writer's one article: no array work for so little
                    for row in chunk:
                        touched.append(self._append_one(row, changed))
                else:
                    self._known, self._spelled = {}, {}
                    touched.append(self._append(chunk, changed))
                    bulk = True
                new_slots.append((first, len(self._link_status)))
            if touched:
                keys = np.concatenate(touched).reshape(-1, 3)
                self._refresh(self._affected(keys, new_slots), changed)
        finally:
            self._forget()
        if bulk:
            # no Python object per recent add outlives a bulk load; the columns keep their
            # spare room (an eighth at most, never written, so not resident), where the
            # next articles go without copying a column
            self._atoms.settle()
            for multimap in self._maps():
                multimap.fold()
            if len(self._link_status) - links_before >= _GIVE_BACK:
                if give_back:
                    give_back_memory()
                else:
                    self._kept_pages = True
        if len(self._alive) - self._live_count > max(1024, self._live_count):
            self._compact()

    def _kill(self, nodes: npt.NDArray[np.int64], changed: set[str]) -> npt.NDArray[np.int32]:
        """Mark ``nodes`` (live, distinct) gone; returns their (id, url, title) atoms."""
        alive = self._alive.view()
        alive[nodes] = False
        ids = self._node_id.view()[nodes]
        self._atom_node.view()[ids] = -1
        self._live_count -= len(nodes)
        first = self._node_first.view()[nodes]
        count = self._node_count.view()[nodes].astype(np.int64)
        if count.sum():
            slots = np.repeat(first - np.cumsum(count) + count, count) + np.arange(count.sum())
            status = self._link_status.view()
            resolved = slots[status[slots] == _RESOLVED_CODE]
            changed.update(self._atoms.texts(distinct(self._link_target.view()[resolved])))
            status[slots] = _DEAD
            self._link_live -= len(slots)
        for node in nodes.tolist():
            self._links.pop(node, None)
        keys = np.stack([ids, self._node_url.view()[nodes], self._node_title.view()[nodes]], 1)
        return keys.astype(np.int32).ravel()

    def _append_one(
        self,
        row: tuple[str, str, str, Sequence[LinkKeys], tuple[RelatedLink, ...] | None],
        changed: set[str],
    ) -> npt.NDArray[np.int32]:
        """:meth:`_append` of one article, value by value."""
        ident, key, url, keys, links = row
        intern = self._remember
        id_atom, url_atom, title_atom = intern(ident), intern(url), intern(key)
        link_atoms = [(intern(t), intern(u), intern(d)) for t, u, d in keys]
        if len(self._atom_node) < len(self._atoms):
            self._atom_node.extend(np.full(len(self._atoms) - len(self._atom_node), -1))
        touched = [id_atom, url_atom, title_atom]
        old = int(self._atom_node.view()[id_atom])
        if old >= 0:
            touched.extend(self._kill(np.array([old]), changed).tolist())
        node = self._node_id.append(id_atom)
        self._node_url.append(url_atom)
        self._node_title.append(title_atom)
        first = len(self._link_status)
        self._node_first.append(first)
        self._node_count.append(len(link_atoms))
        self._alive.append(True)
        self._atom_node.view()[id_atom] = node
        self._live_count += 1
        if title_atom >= 0:
            self._by_title.add(title_atom, node)
        if url_atom >= 0:
            self._by_url.add(url_atom, node)
        for slot, (link_title, link_url, link_tid) in enumerate(link_atoms, first):
            self._link_title.append(link_title)
            self._link_url.append(link_url)
            self._link_tid.append(link_tid)
            self._link_status.append(_UNRESOLVED_CODE)
            self._link_rule.append(0)
            self._link_target.append(-1)
            for index, atom in (
                (self._watch_title, link_title),
                (self._watch_url, link_url),
                (self._watch_id, link_tid),
            ):
                if atom >= 0:
                    index.add(atom, slot)
        self._link_live += len(link_atoms)
        if links is not None:
            self._links[node] = links
        return np.array(touched, dtype=np.int32)

    def _append(
        self,
        chunk: list[tuple[str, str, str, Sequence[LinkKeys], tuple[RelatedLink, ...] | None]],
        changed: set[str],
    ) -> npt.NDArray[np.int32]:
        """Add a chunk of articles (replacing live ones with their ids); returns the
        (id, url, title) atoms that came or went."""
        counts = np.fromiter((len(row[3]) for row in chunk), dtype=np.int64, count=len(chunk))
        texts: list[str] = [row[0] for row in chunk]
        texts += [row[2] for row in chunk]
        texts += [row[1] for row in chunk]
        # the links' title keys, URL keys and target ids, a column each; a column with no
        # string (a build's URLs and ids, mostly) is not interned
        parts = [part for row in chunk for keys in row[3] for part in keys]
        columns = [parts[0::3], parts[1::3], parts[2::3]]
        named = [any(strings) for strings in columns]
        for strings, present in zip(columns, named, strict=True):
            if present:
                texts += strings
        atoms = self._atoms.intern_many(texts)
        if len(self._atom_node) < len(self._atoms):
            self._atom_node.extend(np.full(len(self._atoms) - len(self._atom_node), -1))
        size = len(chunk)
        ids, urls, titles = atoms[:size], atoms[size : 2 * size], atoms[2 * size : 3 * size]
        # (title, url, target id) per link
        link_atoms = np.full((int(counts.sum()), 3), -1, dtype=np.int32)
        at = 3 * size
        for place, present in enumerate(named):
            if present:
                link_atoms[:, place] = atoms[at : at + len(link_atoms)]
                at += len(link_atoms)
        # a live article with the same id goes first (so does an earlier copy in the chunk)
        atom_node = self._atom_node.view()
        replaced = atom_node[ids]
        gone_keys: list[npt.NDArray[np.int32]] = []
        if (replaced >= 0).any():
            gone_keys.append(self._kill(distinct(replaced[replaced >= 0]), changed))
        # keep the last occurrence of each id in the chunk: position p survives when no later
        # position has the same id
        seen: dict[int, int] = {}
        for position, atom in enumerate(ids.tolist()):
            seen[atom] = position
        survivors = np.zeros(size, dtype=np.bool_)
        survivors[list(seen.values())] = True
        first_node = len(self._alive)
        nodes = np.arange(first_node, first_node + size, dtype=np.int64)
        first_slot = len(self._link_status)
        firsts = first_slot + np.cumsum(counts) - counts
        self._node_id.extend(ids)
        self._node_url.extend(urls)
        self._node_title.extend(titles)
        self._node_first.extend(firsts)
        self._node_count.extend(counts)
        self._alive.extend(survivors)
        atom_node[ids[survivors]] = nodes[survivors]
        self._live_count += int(survivors.sum())
        total = int(counts.sum())
        self._link_title.extend(link_atoms[:, 0])
        self._link_url.extend(link_atoms[:, 1])
        self._link_tid.extend(link_atoms[:, 2])
        link_alive = np.repeat(survivors, counts)
        self._link_status.extend(np.where(link_alive, _UNRESOLVED_CODE, _DEAD).astype(np.int8))
        self._link_rule.extend(np.zeros(total, dtype=np.int8))
        self._link_target.extend(np.full(total, -1, dtype=np.int32))
        self._link_live += int(link_alive.sum())
        for position, row in enumerate(chunk):
            if row[4] is not None and survivors[position]:
                self._links[first_node + position] = row[4]
        # the key maps: articles by title and URL, links by target id, URL and title
        live_nodes = nodes[survivors].astype(np.int32)
        for index, keys in ((self._by_title, titles), (self._by_url, urls)):
            keys = keys[survivors]
            has = keys >= 0
            index.add_many(keys[has], live_nodes[has])
        slots = np.arange(first_slot, first_slot + total, dtype=np.int32)[link_alive]
        for index, column in (
            (self._watch_title, 0),
            (self._watch_url, 1),
            (self._watch_id, 2),
        ):
            keys = link_atoms[link_alive, column]
            has = keys >= 0
            index.add_many(keys[has], slots[has])
        came = np.stack([ids, urls, titles], 1).astype(np.int32).ravel()
        return np.concatenate([*gone_keys, came])

    def _affected(
        self, keys: npt.NDArray[np.int32], new_slots: list[tuple[int, int]]
    ) -> npt.NDArray[np.int64]:
        """Live link slots that name one of ``keys`` (rows of id, url, title atoms), and
        the new slots."""
        status = self._link_status.view()
        if len(keys) <= _BULK:
            parts = [np.arange(first, end, dtype=np.int64) for first, end in new_slots]
            found: set[int] = set()
            for ident, url, title in set(map(tuple, keys.tolist())):
                found.update(self._watchers(ident, url, title))
            parts.append(np.fromiter(found, dtype=np.int64, count=len(found)))
            slots: npt.NDArray[np.int64] = distinct(np.concatenate(parts))
            live: npt.NDArray[np.int64] = slots[status[slots] != _DEAD]
            return live
        # a flag per link: the new ones, and those whose atoms are flagged in a table with
        # one byte an atom (np.isin would sort the columns, eight bytes a link, each time)
        hit = np.zeros(len(status), dtype=np.bool_)
        for first, end in new_slots:
            hit[first:end] = True
        for column, values in (
            (self._link_tid, keys[:, 0]),
            (self._link_url, keys[:, 1]),
            (self._link_title, keys[:, 2]),
        ):
            named = np.zeros(len(self._atoms) + 1, dtype=np.bool_)  # [-1]: no key
            named[values[values >= 0]] = True
            if named[:-1].any():
                hit |= named[column.view()]
        hit &= status != _DEAD
        return np.flatnonzero(hit).astype(np.int64, copy=False)

    def _refresh(self, slots: npt.NDArray[np.int64], changed: set[str]) -> None:
        """Resolve ``slots`` again with :func:`resolve_link` and store what changed.

        Links are grouped by their keys: a group whose sources none of the keys can name
        (the source's own id, URL and title are not among the link's keys) resolves the
        same for every source in it, so the rule runs once per group; a link that could
        name its own source is resolved on its own. The groups the live articles' key
        counts settle (:meth:`_settle`: most of a bulk build's) are decided in bulk; the
        rule runs for the others."""
        if len(slots) <= _BULK:  # few links: each on its own, value by value
            for slot in slots.tolist():
                self._refresh_one(slot, changed)
            return
        if len(slots) > _CHUNK * 4:  # keep the temporary arrays small
            for start in range(0, len(slots), _CHUNK * 4):
                self._refresh(slots[start : start + _CHUNK * 4], changed)
            return
        nodes = self._source_nodes(slots)
        title = self._link_title.view()[slots]
        url = self._link_url.view()[slots]
        tid = self._link_tid.view()[slots]
        own = (
            (tid == self._node_id.view()[nodes])
            | ((url >= 0) & (url == self._node_url.view()[nodes]))
            | ((title >= 0) & (title == self._node_title.view()[nodes]))
        )
        # group key: the link's three atoms, or the slot itself for a link naming its source
        # one int64 per link: (URL, target id) pair number and title atom; a link that
        # could name its own source gets a group of its own (a negative key)
        pairs = ((url.astype(np.int64) + 1) << 32) | (tid.astype(np.int64) + 1)
        pair = np.unique(pairs, return_inverse=True)[1].ravel().astype(np.int64)
        keys = np.where(own, -1 - slots.astype(np.int64), (pair << 32) | (title + 1))
        first, inverse = np.unique(keys, return_index=True, return_inverse=True)[1:]
        inverse = inverse.ravel()
        status, rule, target, rest = self._settle(
            title[first], url[first], tid[first], nodes[first]
        )
        texts = self._text
        rest_sources = self._node_id.view()[nodes[first[rest]]].tolist()
        rest_keys = zip(
            title[first[rest]].tolist(),
            url[first[rest]].tolist(),
            tid[first[rest]].tolist(),
            strict=True,
        )
        for count, (group, source, (key, link_url, link_tid)) in enumerate(
            zip(rest.tolist(), rest_sources, rest_keys, strict=True)
        ):
            if count % 4096 == 4095:
                self._known, self._spelled = {}, {}  # a big batch: keep the memo small
            state = self._resolve(texts(source), (texts(key), texts(link_url), texts(link_tid)))
            status[group] = _STATUS_CODES[state.status]
            rule[group] = _RULE_CODES[state.rule]
            target[group] = -1 if state.target is None else self._atom_of(state.target)
        new_status, new_rule, new_target = status[inverse], rule[inverse], target[inverse]
        old_status = self._link_status.view()[slots]
        old_rule = self._link_rule.view()[slots]
        old_target = self._link_target.view()[slots]
        differ = (old_status != new_status) | (old_rule != new_rule) | (old_target != new_target)
        reported = np.concatenate(
            [
                old_target[differ & (old_status == _RESOLVED_CODE)],
                new_target[differ & (new_status == _RESOLVED_CODE)],
            ]
        )
        changed.update(self._atoms.texts(distinct(reported).tolist()))
        self._link_status.view()[slots] = new_status
        self._link_rule.view()[slots] = new_rule
        self._link_target.view()[slots] = new_target

    def _settle(
        self,
        title: npt.NDArray[np.int32],
        url: npt.NDArray[np.int32],
        tid: npt.NDArray[np.int32],
        sources: npt.NDArray[np.int64],
    ) -> tuple[
        npt.NDArray[np.int8], npt.NDArray[np.int8], npt.NDArray[np.int32], npt.NDArray[np.int64]
    ]:
        """The state (status, rule and target codes) of links given by their key atoms and
        source nodes, for those the live articles' key counts settle
        (:func:`settled_by_key`: resolved to the one live article with the title key, or
        unresolved because nothing has any of their keys), in bulk; and the positions of
        the others, which :func:`resolve_link` must decide (their codes are left unset)."""
        url_count, _ = self._live_matches(self._by_url, url)
        title_count, title_node = self._live_matches(self._by_title, title)
        resolved, nowhere = settled_by_key(tid >= 0, url_count, title_count, title_node == sources)
        status = np.full(len(title), _UNRESOLVED_CODE, dtype=np.int8)
        rule = np.full(len(title), _RULE_CODES[None], dtype=np.int8)
        target = np.full(len(title), -1, dtype=np.int32)
        status[resolved] = _RESOLVED_CODE
        rule[resolved] = _RULE_CODES["title"]
        target[resolved] = self._node_id.view()[title_node[resolved]]
        rest: npt.NDArray[np.int64] = np.flatnonzero(~(resolved | nowhere))
        return status, rule, target, rest

    def _live_matches(
        self, index: Multimap, atoms: npt.NDArray[np.int32]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Per key atom (``-1``: none), how many live articles ``index`` gives it (an upper
        bound: exact when 0 or 1) and one of them (``-1`` when none)."""
        count = np.zeros(len(atoms), dtype=np.int64)
        node = np.full(len(atoms), -1, dtype=np.int64)
        has = np.flatnonzero(atoms >= 0)
        if len(has):
            values, owner = index.get_many(atoms[has])
            alive = self._alive.view()[values]
            values, owner = values[alive], has[owner[alive]]
            count += np.bincount(owner, minlength=len(atoms))
            node[owner] = values
        return count, node

    def _resolve_slot(self, slot: int) -> Resolution:
        """Where the link in ``slot`` points now, by the rule."""
        node = int(self._node_first.view().searchsorted(np.int64(slot), "right")) - 1
        text = self._text
        return self._resolve(
            text(int(self._node_id.data[node])),
            (
                text(int(self._link_title.data[slot])),
                text(int(self._link_url.data[slot])),
                text(int(self._link_tid.data[slot])),
            ),
        )

    def _refresh_one(self, slot: int, changed: set[str]) -> None:
        """:meth:`_refresh` of one link."""
        state = self._resolve_slot(slot)
        text = self._text
        status, rule, target = (
            self._link_status.data,
            self._link_rule.data,
            self._link_target.data,
        )
        old = (int(status[slot]), int(rule[slot]), int(target[slot]))
        new = (
            _STATUS_CODES[state.status],
            _RULE_CODES[state.rule],
            -1 if state.target is None else self._atom_of(state.target),
        )
        if old != new:
            if old[0] == _RESOLVED_CODE:
                changed.add(text(old[2]))
            if state.target is not None:
                changed.add(state.target)
            status[slot], rule[slot], target[slot] = new

    def _compact(self) -> None:
        """Drop the rows of replaced and removed articles and their links (renumbering)."""
        for multimap in self._maps():
            multimap.fold()  # while the old rows still say what is valid
        alive = self._alive.view()
        keep_nodes = np.flatnonzero(alive)
        node_map = np.full(len(alive), -1, dtype=np.int32)
        node_map[keep_nodes] = np.arange(len(keep_nodes), dtype=np.int32)
        status = self._link_status.view()
        keep_slots = np.flatnonzero(status != _DEAD)
        slot_map = np.full(len(status), -1, dtype=np.int32)
        slot_map[keep_slots] = np.arange(len(keep_slots), dtype=np.int32)
        counts = self._node_count.view()[keep_nodes].astype(np.int64)
        for column in (self._node_id, self._node_url, self._node_title):
            column.replace(column.view()[keep_nodes])
        self._node_count.replace(counts)
        self._node_first.replace(np.cumsum(counts) - counts)
        self._alive.replace(np.ones(len(keep_nodes), dtype=np.bool_))
        for column in self._link_columns():
            column.replace(column.view()[keep_slots])
        ids = self._node_id.view()
        atom_node = self._atom_node.view()
        atom_node[:] = -1
        atom_node[ids] = np.arange(len(ids), dtype=np.int32)
        self._by_title.remap(node_map)
        self._by_url.remap(node_map)
        for index in (self._watch_title, self._watch_url, self._watch_id):
            index.remap(slot_map)
        self._links = {int(node_map[n]): links for n, links in self._links.items()}


def _distinct_inverse(
    values: npt.NDArray[Any],
) -> tuple[npt.NDArray[Any], npt.NDArray[np.int64]]:
    """``np.unique(values, return_inverse=True)`` of non-negative integers (the atoms of
    in-link sources: 600,000 refs at a 100k build's commit), by a table as long as the
    largest value where that is at most four times the count (0.02 CPU-s against 0.10
    for the sort of every occurrence), else by ``np.unique``."""
    size = int(values.max()) + 1 if len(values) else 0
    if len(values) * 4 < size:
        spelled, where = np.unique(values, return_inverse=True)
        return spelled, where.ravel().astype(np.int64, copy=False)
    seen = np.zeros(size, dtype=np.bool_)
    seen[values] = True
    spelled = np.flatnonzero(seen).astype(values.dtype, copy=False)
    place = np.cumsum(seen, dtype=np.int64) - 1
    inverse: npt.NDArray[np.int64] = place[values]
    return spelled, inverse


def _runs_order(
    owners: npt.NDArray[np.int64], source: npt.NDArray[np.int64], numbers: npt.NDArray[np.int64]
) -> npt.NDArray[np.intp]:
    """``np.lexsort((numbers, source, owners))`` of non-negative numbers: by one stable
    sort of the three packed in an int64 where their bits fit (the refs of a 100k
    build's commit: 0.07 CPU-s against 0.18), else by ``np.lexsort``."""
    if not len(owners):
        return np.zeros(0, dtype=np.intp)
    number_bits = int(numbers.max()).bit_length()
    source_bits = int(source.max()).bit_length()
    if int(owners.max()).bit_length() + source_bits + number_bits > 63:
        return np.lexsort((numbers, source, owners))
    key = (owners << (source_bits + number_bits)) | (source << number_bits) | numbers
    ordered: npt.NDArray[np.intp] = np.argsort(key, kind="stable")
    return ordered


def article_keys(article: Article) -> KeyedArticle:
    """What :meth:`LinkGraph.update` takes of an article: (id, title key, URL key, link
    keys). All tuples of strings: a writer queues them by the thousand for its graph,
    and the cyclic garbage collector leaves such tuples alone after one look (a list a
    queued article, kept through several collections, was scanned by each)."""
    return (
        article.id,
        title_key(article.title),
        url_key(article.url) if article.url else "",
        tuple(map(link_keys, article.related)),
    )


def _article_row(
    article: Article,
) -> tuple[str, str, str, Sequence[LinkKeys], tuple[RelatedLink, ...]]:
    return (*article_keys(article), article.related)
