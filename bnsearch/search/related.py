"""Articles related to one article: ``Searcher.related`` lives here.

The order is the editors' first, then the graph's, then the blend's:

1. **Out-links**: the article's own related headlines that resolve, in page order (the
   editors chose and ordered them);
2. **In-links**: articles whose related headlines point at this one, best blend score
   first (ties by id);
3. **The blend**: every other candidate, by blend score (ties by id). The blend score is
   1 per shared neighbour (an article that an out- or in-link neighbour links to or is
   linked from: co-linked) plus a content similarity in [0, 2] (BM25F of the article's
   most distinctive words, scaled by the best such score).

``Hit.score`` is the rank's score on one scale: an out-link scores
``OUT_LINK_BASE + (links after it)``, an in-link ``IN_LINK_BASE + blend``, the rest
``blend``, so scores never rise down the list. A blend score is below
:data:`IN_LINK_BASE` for any article with fewer than 998 neighbours' links; the scale
saturates gracefully beyond (the tiers still decide the order).
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from bnsearch.search.query import Bool, Term
from bnsearch.search.results import Hit, Results
from bnsearch.search.scoring import idf

if TYPE_CHECKING:
    from bnsearch.search.searcher import Searcher

#: Score of the last out-link (earlier ones score one more per link after them).
OUT_LINK_BASE = 2000.0
#: Score added to an in-link's blend score.
IN_LINK_BASE = 1000.0

#: What :func:`relation` calls each tier.
RELATIONS = ("similar", "links here", "linked from this page")


def relation(score: float) -> str:
    """Why a hit of :func:`related` is there, read from its score's tier: ``"linked from
    this page"`` (one of the article's own related headlines), ``"links here"`` (its page
    links to the article) or ``"similar"`` (co-linked or similar words). The score itself
    is a rank on one scale, not a relevance figure worth showing."""
    if score >= OUT_LINK_BASE:
        return RELATIONS[2]
    if score >= IN_LINK_BASE:
        return RELATIONS[1]
    return RELATIONS[0]


def related(
    searcher: Searcher, article_id: str, *, limit: int = 10, content_terms: int = 24
) -> Results:
    """Articles related to ``article_id`` in the order of the module docstring.

    Raises ``KeyError`` when no live article has this id.
    """
    started = time.perf_counter()
    reader = searcher.reader
    where = reader.find(article_id)
    if where is None:
        raise KeyError(f"no live article with id {article_id!r}")
    out_links = [target for target in reader.out_links(article_id) if target != article_id]
    in_links = [source for source in reader.in_links(article_id) if source != article_id]
    blend: dict[str, float] = {}
    for neighbour in dict.fromkeys((*out_links, *in_links)):
        for second in (*reader.out_links(neighbour), *reader.in_links(neighbour)):
            blend[second] = blend.get(second, 0.0) + 1.0
    words = distinctive_terms(searcher, *where, content_terms)
    if words:
        query = Bool(should=[Term(text=word) for word in words])
        content = searcher.search(query, limit=max(limit * 3, 30), highlight=False, stored=False)
        best = max((hit.score for hit in content if hit.id != article_id), default=0.0)
        if best > 0:
            for hit in content:
                blend[hit.id] = blend.get(hit.id, 0.0) + 2.0 * hit.score / best
    blend.pop(article_id, None)

    scores: dict[str, float] = {}
    for position, target in enumerate(out_links):
        scores.setdefault(target, OUT_LINK_BASE + len(out_links) - 1 - position)
    linking = sorted(
        (source for source in in_links if source not in scores),
        key=lambda source: (-blend.get(source, 0.0), source),
    )
    for source in linking:
        scores[source] = IN_LINK_BASE + min(blend.get(source, 0.0), IN_LINK_BASE - 1)
    rest = sorted(
        (ident for ident in blend if ident not in scores),
        key=lambda ident: (-blend[ident], ident),
    )
    for ident in rest:
        scores[ident] = min(blend[ident], IN_LINK_BASE - 1)
    ranked = list(scores.items())  # in tier order already
    hits: list[Hit] = []
    for ident, score in ranked:
        if len(hits) >= limit:
            break
        found = reader.find(ident)
        if found is None:
            continue
        hits.append(Hit(id=ident, score=score, rank=len(hits), fields=reader.stored(*found)))
    return Results(
        hits=tuple(hits),
        total=len(scores),
        offset=0,
        limit=limit,
        took_ms=(time.perf_counter() - started) * 1000,
    )


def distinctive_terms(searcher: Searcher, ordinal: int, doc: int, count: int) -> list[str]:
    """The ``count`` body terms of a document with the highest ``(1 + log tf) * idf``
    (its title counted twice)."""
    schema = searcher.schema
    if "body" not in schema:
        return []
    row = searcher.reader.stored(ordinal, doc)
    text = " ".join(str(row.get(key) or "") for key in ("title", "title", "body"))
    analyzer = schema.analyzer("body")
    tally: dict[str, int] = {}
    for term in analyzer.terms(text):
        tally[term] = tally.get(term, 0) + 1
    n = searcher.reader.doc_count
    context = searcher._ctx  # the snapshot's cached document frequencies
    return sorted(
        tally,
        key=lambda term: (
            -(1 + math.log(tally[term])) * float(idf(n, context.doc_freq("body", term)))
        ),
    )[:count]


__all__ = [
    "IN_LINK_BASE",
    "OUT_LINK_BASE",
    "RELATIONS",
    "distinctive_terms",
    "related",
    "relation",
]
