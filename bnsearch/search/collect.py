"""Collection: from every segment's matches to the page, the totals and the facets.

The evaluator gives, per segment, the matching docs and their scores
(:data:`~bnsearch.search.engine.DocScores`); this module picks the best ``k`` over all
segments by score (ties: segment, then doc), by publication date or by index order, adds
the in-link prior, and counts facets over every match. Everything is numpy over the
per-segment arrays: one partial sort per segment, one merge of the few survivors.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from itertools import repeat
from typing import Any

import numpy as np
import numpy.typing as npt

from bnsearch.index.segment import NO_DATE, SegmentReader
from bnsearch.search import kernel
from bnsearch.search.engine import DocScores
from bnsearch.search.scoring import top_k

#: Sort orders: by score; by publication date (``"date"`` oldest first, ``"-date"`` newest
#: first; articles without a date come last either way; ties by score); or by index order
#: (the order articles were written; an article updated later, also by a new link to it,
#: moves to the end).
SORTS = ("score", "date", "-date", "index", "-index")

#: ``(segment ordinal, doc, score)`` of a chosen match.
Chosen = tuple[int, int, float]


def add_prior(
    matched: list[DocScores], in_links: Sequence[npt.NDArray[np.int32]], weight: float
) -> list[DocScores]:
    """``matched`` with ``weight * ln(1 + in-links)`` added to every score."""
    factor = np.float32(weight)
    out = []
    for (docs, scores), links in zip(matched, in_links, strict=True):
        if len(docs):
            scores = scores + factor * np.log1p(links[docs].astype(np.float32))
        out.append((docs, scores))
    return out


def facet_counts(
    segments: Sequence[SegmentReader], name: str, matched: list[DocScores]
) -> dict[str, int]:
    """How many matches have each value of keyword field ``name`` (most first)."""
    counts: dict[str, int] = {}
    for segment, (docs, _) in zip(segments, matched, strict=True):
        if not len(docs):
            continue
        values, ords = segment.facet(name)
        chosen = ords[docs]
        chosen = chosen[chosen >= 0]
        if not len(chosen):
            continue
        tally = np.bincount(chosen, minlength=len(values))
        for ordinal in np.flatnonzero(tally).tolist():
            value = values[ordinal]
            counts[value] = counts.get(value, 0) + int(tally[ordinal])
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def top(
    segments: Sequence[SegmentReader],
    matched: list[DocScores],
    k: int,
    sort: str,
    within: list[npt.NDArray[np.intp]] | None = None,
) -> list[Chosen]:
    """The first ``k`` matches over all segments in ``sort`` order (by score: only among
    the per-segment indices ``within`` when given)."""
    if k <= 0:
        return []
    if sort in ("date", "-date"):
        return top_by_date(segments, matched, k, newest_first=sort == "-date")
    if sort != "score":
        picked: list[Chosen] = []
        order = range(len(matched)) if sort == "index" else range(len(matched) - 1, -1, -1)
        for ordinal in order:
            docs, scores = matched[ordinal]
            # the smallest (or largest) doc ids, ordered (a multi-field union is unsorted)
            key = docs.astype(np.int64) if sort == "index" else -docs.astype(np.int64)
            take = smallest(key, k - len(picked), scores)
            picked.extend(
                (ordinal, int(d), float(s))
                for d, s in zip(docs[take].tolist(), scores[take].tolist(), strict=True)
            )
            if len(picked) >= k:
                break
        return picked
    if within is None:
        count = 0
        for docs, _ in matched:  # (a loop: no generator made a query)
            count += len(docs)
    else:
        count = sum(map(len, within))
    if count <= SMALL:  # (the compiled core's best few of each segment: sorted in C or Python)
        if kernel.core is not None:  # (picked from ``within`` in C too)
            sorted_few: list[Chosen] | None = kernel.core.best_few(matched, k, within)
            if sorted_few is not None:
                return sorted_few
        selected = matched
        if within is not None:
            selected = [(d[at], v[at]) for (d, v), at in zip(matched, within, strict=True)]
        # (-score, segment, doc) tuples (made in C: zip, map) sort in rank order
        few: list[tuple[float, int, int]] = []
        for ordinal, (docs, scores) in enumerate(selected):
            negated = map(operator.neg, scores.tolist())
            few.extend(zip(negated, repeat(ordinal, len(docs)), docs.tolist(), strict=True))
        few.sort()
        return [(ordinal, doc, -negated) for negated, ordinal, doc in few[:k]]
    if within is None and len(matched) == 1:  # one segment: one partial sort
        docs, scores = matched[0]
        chosen = top_k(scores, k, ties=docs)  # score, then doc
        return [
            (0, doc, score)
            for doc, score in zip(docs[chosen].tolist(), scores[chosen].tolist(), strict=True)
        ]
    where = best(matched, k) if within is None else within
    owners = [o for o, found in enumerate(where) if len(found)]
    if not owners:
        return []
    if len(owners) == 1:  # one segment: no concatenation
        ordinal = owners[0]
        docs, scores = (array[where[ordinal]] for array in matched[ordinal])
        ranked = np.lexsort((docs, -scores))[:k]  # score, then doc
        return [
            (ordinal, doc, score)
            for doc, score in zip(docs[ranked].tolist(), scores[ranked].tolist(), strict=True)
        ]
    docs = np.concatenate([matched[o][0][where[o]] for o in owners])
    scores = np.concatenate([matched[o][1][where[o]] for o in owners])
    owner = np.repeat(owners, [len(where[o]) for o in owners])
    ranked = np.lexsort((docs, owner, -scores))[:k]  # score, then segment, then doc
    return list(
        zip(owner[ranked].tolist(), docs[ranked].tolist(), scores[ranked].tolist(), strict=True)
    )


#: Up to this many matches, the page is ranked by a Python sort (numpy's calls cost more).
SMALL = 64


def best(matched: list[DocScores], k: int) -> list[npt.NDArray[np.intp]]:
    """Per segment, the indices (into its arrays, ascending) of its matches among the
    best ``k`` over all segments (score, then segment, then doc). The compiled core
    chooses a few matches (the rerank's) by one sort in C (the same set)."""
    if kernel.core is not None:
        found: list[npt.NDArray[np.intp]] | None = kernel.core.best_indices(matched, k)
        if found is not None:
            return found
    per_segment = [top_k(scores, k, ties=docs) for docs, scores in matched]  # (unsorted docs)
    if sum(len(found) for found in per_segment) <= k:
        return [np.sort(found) for found in per_segment]
    scores = np.concatenate([m[1][found] for m, found in zip(matched, per_segment, strict=True)])
    docs = np.concatenate([m[0][found] for m, found in zip(matched, per_segment, strict=True)])
    owner = np.repeat(np.arange(len(matched)), [len(found) for found in per_segment])
    keep = np.zeros(len(scores), dtype=bool)
    keep[np.lexsort((docs, owner, -scores))[:k]] = True
    bounds = np.cumsum([0, *(len(found) for found in per_segment)])
    return [
        np.sort(found[keep[start:end]])
        for found, start, end in zip(per_segment, bounds[:-1], bounds[1:], strict=True)
    ]


def top_by_date(
    segments: Sequence[SegmentReader], matched: list[DocScores], k: int, *, newest_first: bool
) -> list[Chosen]:
    """The first ``k`` matches by publication date (undated last; ties by score)."""
    candidates: list[tuple[int, int, int, float]] = []
    for ordinal, (segment, (docs, scores)) in enumerate(zip(segments, matched, strict=True)):
        if not len(docs):
            continue
        published = segment.published()[docs]
        # one ascending key: newest first negates; undated sorts after every date
        key = np.where(
            published == NO_DATE,
            np.iinfo(np.int64).max,
            -published if newest_first else published,
        )
        chosen = smallest(key, k, scores, docs)
        candidates.extend(
            (int(t), ordinal, int(d), float(v))
            for t, d, v in zip(
                key[chosen].tolist(), docs[chosen].tolist(), scores[chosen].tolist(), strict=True
            )
        )
    candidates.sort(key=lambda item: (item[0], -item[3], item[1], item[2]))
    return [(ordinal, doc, score) for _, ordinal, doc, score in candidates[:k]]


def smallest(
    key: npt.NDArray[np.int64],
    k: int,
    scores: npt.NDArray[Any],
    docs: npt.NDArray[Any] | None = None,
) -> npt.NDArray[Any]:
    """Indices of the ``k`` smallest ``key`` values, in order (ties: higher score first,
    then the lower of ``docs`` when given: a union of fields leaves them unsorted).

    Linear in ``len(key)`` (a partition, not a sort), also when most keys tie (an index
    whose articles have no dates).
    """
    if k <= 0 or not len(key):
        return np.empty(0, dtype=np.intp)
    if len(key) > k:
        kth = np.partition(key, k - 1)[k - 1]
        below = np.flatnonzero(key < kth)
        tied = np.flatnonzero(key == kth)
        ties = None if docs is None else docs[tied]
        chosen = np.concatenate([below, tied[top_k(scores[tied], k - len(below), ties)]])
    else:
        chosen = np.arange(len(key))
    last = chosen if docs is None else docs[chosen]
    order: npt.NDArray[Any] = chosen[np.lexsort((last, -scores[chosen], key[chosen]))]
    return order
