"""What a search returns: :class:`Hit`, :class:`Results` and :class:`Explanation`.

A :class:`Results` is one page of hits plus facts about *all* matches: ``total`` (every
matching live article, not the page), ``facets`` (counts by section over every match)
and the time taken. Stored text is read only for the hits on the page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any, TypeVar

import attrs

from bnsearch.articles import Article
from bnsearch.index.store import row_article
from bnsearch.search.highlight import Fragment
from bnsearch.search.query import Query

K = TypeVar("K")
V = TypeVar("V")

#: The ``fields`` and ``highlights`` of a hit searched with ``stored=False``: one shared,
#: read-only empty mapping (two new dicts a hit cost a tenth of a one-word query).
NOTHING_STORED: Mapping[str, Any] = MappingProxyType({})


@attrs.frozen(kw_only=True)
class Hit:
    """One matching article.

    Attributes:
        id: the article id.
        score: its BM25F score (0.0 for filter-only or match-all queries).
        rank: 0-based position in the whole result list (``offset`` + index on the page).
        fields: the stored row: ``title``, ``body``, ``section``, ``caption``, ``url``, ...
            exactly as indexed.
        highlights: per text field (``title``, ``body``, ``caption``), a fragment of the
            original text with the matching words marked; empty for fields with no match
            (``body`` always has a snippet when it has text).
    """

    id: str
    score: float
    rank: int
    fields: Mapping[str, Any] = attrs.field(default=NOTHING_STORED, repr=False)
    highlights: Mapping[str, Fragment] = attrs.field(default=NOTHING_STORED, repr=False)

    @property
    def title(self) -> str:
        return str(self.fields.get("title") or "")

    @property
    def snippet(self) -> Fragment | None:
        """The body snippet (the best passage for the query), if the article has a body."""
        return self.highlights.get("body")

    @property
    def article(self) -> Article:
        """The stored article as an :class:`Article`."""
        return row_article(dict(self.fields))


class IdHits(Sequence[Hit]):
    """The hits of a page searched with ``stored=False``: the ids and scores as lists,
    each :class:`Hit` made when first read (:attr:`Results.ids` reads the ids without
    making any: ten attrs objects were a quarter of a one-word ids search). It compares
    equal to the tuple of its hits and pickles as that tuple."""

    __slots__ = ("_hits", "_offset", "_scores", "ids")

    def __init__(self, ids: list[str], scores: list[float], offset: int) -> None:
        #: the article ids, in rank order (do not change them)
        self.ids = ids
        self._scores = scores
        self._offset = offset
        self._hits: tuple[Hit, ...] | None = None

    def _made(self) -> tuple[Hit, ...]:
        if self._hits is None:
            self._hits = tuple(
                Hit(id=ident, score=score, rank=rank)
                for rank, (ident, score) in enumerate(
                    zip(self.ids, self._scores, strict=True), start=self._offset
                )
            )
        return self._hits

    def __getitem__(self, index: Any) -> Any:
        return self._made()[index]

    def __iter__(self) -> Iterator[Hit]:
        return iter(self._made())

    def __len__(self) -> int:
        return len(self.ids)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, IdHits):
            other = other._made()
        return isinstance(other, tuple) and self._made() == other

    def __hash__(self) -> int:
        return hash(self._made())

    def __repr__(self) -> str:
        return repr(self._made())

    def __reduce__(self) -> tuple[type[tuple[Hit, ...]], tuple[tuple[Hit, ...]]]:
        return tuple, (self._made(),)


class LazyMapping(Mapping[K, V]):
    """A read-only mapping whose items are made when first needed: a subclass gives
    ``_all()`` (every item, made on the first call) and may read single keys sooner."""

    def _all(self) -> dict[K, V]:
        raise NotImplementedError

    def __getitem__(self, key: K) -> V:
        return self._all()[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def __repr__(self) -> str:
        return repr(self._all())


class LazyFacets(LazyMapping[str, Mapping[str, int]]):
    """Facet counts computed on first access (a search that never reads them pays nothing).

    The counts are over the searcher's fixed snapshot, so computing them later gives the
    same answer as computing them during the search. ``count(*args)`` counts them (the
    arguments apart: a search makes no partial nor closure for them).
    """

    def __init__(
        self, count: Callable[..., dict[str, Mapping[str, int]]], args: tuple[Any, ...] = ()
    ) -> None:
        self._count: Callable[..., dict[str, Mapping[str, int]]] | None = count
        self._args = args
        self._counts: dict[str, Mapping[str, int]] = {}

    def _all(self) -> dict[str, Mapping[str, int]]:
        if self._count is not None:
            self._counts, self._count = self._count(*self._args), None
            self._args = ()  # (the matches and masks let go once counted)
        return self._counts


@attrs.frozen(slots=False)
class Results:
    """One page of search results.

    Iterate it for the :class:`Hit` objects of the page; ``len(results)`` is the page
    size. ``total`` counts every match (see ``total_is_exact``), ``facets`` maps a facet
    field (``"section"``) to ``{value: count}`` over every match, most frequent first
    (counted when first read). ``query`` is the parsed
    query tree (``None`` for a plain-words query, which skips the parser); ``notes`` say
    what was done to the query (words cut from a very long query, nothing searchable).
    (Not keyword-only: a search makes one by place, as keywords cost a dict a call; a
    dict class, not slotted: a frozen slotted class sets each field through
    ``object.__setattr__``, a third of a microsecond a search more.)
    """

    #: a tuple, or :class:`IdHits` (``stored=False``: hits made when read)
    hits: tuple[Hit, ...] | IdHits
    total: int
    offset: int
    limit: int
    facets: Mapping[str, Mapping[str, int]] = attrs.field(factory=dict)
    took_ms: float = 0.0
    query: Query | None = None
    notes: tuple[str, ...] = ()
    #: ``total`` counts every match; False when the search stopped counting past
    #: ``TRACK_TOTAL_HITS`` matches (``total`` is then a lower bound; ask
    #: ``search(..., exact_total=True)`` for the exact count)
    total_is_exact: bool = True

    def __iter__(self) -> Iterator[Hit]:
        return iter(self.hits)

    def __len__(self) -> int:
        return len(self.hits)

    def __getitem__(self, index: int) -> Hit:
        return self.hits[index]

    @property
    def ids(self) -> list[str]:
        if isinstance(self.hits, IdHits):
            return list(self.hits.ids)
        return [hit.id for hit in self.hits]

    @property
    def has_more(self) -> bool:
        """True when more matches follow this page."""
        return self.offset + len(self.hits) < self.total


@attrs.frozen(kw_only=True)
class Explanation:
    """How a score came about: a value, what it is, and the parts it is made of."""

    value: float
    description: str
    details: tuple[Explanation, ...] = ()

    def __str__(self) -> str:
        return self.render()

    def render(self, indent: int = 0) -> str:
        """The tree as indented text."""
        lines = [f"{'  ' * indent}{self.value:.4f}  {self.description}"]
        lines.extend(detail.render(indent + 1) for detail in self.details)
        return "\n".join(lines)
