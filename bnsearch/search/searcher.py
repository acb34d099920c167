"""The searcher: ``search``, ``explain``, ``related``, ``suggest`` and ``complete``.

A :class:`Searcher` wraps one :class:`~bnsearch.index.reader.IndexReader` snapshot and
keeps per-snapshot caches (norm tables, term dictionaries); make a new one (or call
:meth:`Searcher.refresh`) to see later commits. ``search()`` takes query syntax (see
:mod:`.parser`) or a query tree; a user string never raises, whatever it contains.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from bnsearch.errors import QuerySyntaxError, SchemaError
from bnsearch.index.norms import NORM_DECODE
from bnsearch.index.reader import IndexReader
from bnsearch.index.segment import NO_DATE, epoch_seconds
from bnsearch.search.compiler import Compiled, Compiler, Node, Unit
from bnsearch.search.context import Context
from bnsearch.search.engine import DocScores, Evaluator
from bnsearch.search.highlight import TermMatcher, best_fragment, highlight_all
from bnsearch.search.parser import has_syntax, parse_query, words_query
from bnsearch.search.phrases import phrase_frequencies
from bnsearch.search.query import Bool, Query, Term
from bnsearch.search.related import related as related_articles
from bnsearch.search.rerank import RerankPlan, plan_rerank, proximity_bonus
from bnsearch.search.results import Explanation, Hit, LazyFacets, Results
from bnsearch.search.scoring import BM25FParams, idf, top_k
from bnsearch.search.suggest import complete_query, did_you_mean

#: Most distinct leaves a query may have; a longer user string is cut (and a note says so).
MAX_CLAUSES = 1024
#: Largest page size.
MAX_LIMIT = 10_000
#: Fields highlighted in hits, in order; ``body`` gets a snippet, the others whole text.
HIGHLIGHT_FIELDS = ("title", "body", "caption")
#: Sort orders: by score; by publication date (``"date"`` oldest first, ``"-date"`` newest
#: first; articles without a date come last either way; ties by score); or by index order
#: (the order articles were written; an article updated later, also by a new link to it,
#: moves to the end).
SORTS = ("score", "date", "-date", "index", "-index")
#: The filter key of the publication-date range.
PUBLISHED = "published"

DateBound = dt.date | dt.datetime | None
FieldsArg = Sequence[str] | Mapping[str, float] | None
FilterArg = Mapping[str, str | Sequence[str] | tuple[DateBound, DateBound]] | Query | None


class Searcher:
    """Search one index snapshot.

    Args:
        reader: the snapshot (``index.reader()``).
        params: BM25F parameters (``k1``, ``b``, per-field ``b``, link prior).
        default_fields: field weights used when a query names no field; defaults to the
            schema's text fields and weights.
    """

    def __init__(
        self,
        reader: IndexReader,
        *,
        params: BM25FParams | None = None,
        default_fields: Mapping[str, float] | None = None,
    ) -> None:
        self.reader = reader
        self.params = params or BM25FParams()
        self.schema = reader.schema
        if default_fields is None:
            default_fields = {name: w for name, w in self.schema.weights.items() if w > 0}
        self.default_fields = self._check_weights(default_fields)
        self._ctx = Context(reader, self.params)
        self._field_names = frozenset(self.schema.names)
        self._default_facets = tuple(
            s.name for s in self.schema.keyword_fields if s.name == "section"
        )
        self._filter_cache: dict[tuple[str, tuple[str, ...]], list[npt.NDArray[np.bool_]]] = {}

    def refresh(self) -> Searcher:
        """A searcher on the newest commit (``self`` if nothing changed)."""
        reader = self.reader.refresh()
        if reader is self.reader:
            return self
        return Searcher(reader, params=self.params, default_fields=self.default_fields)

    @property
    def doc_count(self) -> int:
        return self.reader.doc_count

    # -- arguments --------------------------------------------------------------------------
    def _check_weights(self, weights: Mapping[str, float]) -> dict[str, float]:
        checked: dict[str, float] = {}
        for name, weight in weights.items():
            if name not in self.schema:
                raise SchemaError(f"unknown field {name!r}; fields are {self.schema.names}")
            if not self.schema[name].is_text:
                raise SchemaError(f"field {name!r} is a keyword field: use it in filter=")
            if not (isinstance(weight, (int, float)) and math.isfinite(weight) and weight >= 0):
                raise ValueError(f"weight of field {name!r} must be a number >= 0, got {weight!r}")
            if weight > 0:
                checked[name] = float(weight)
        if not checked:
            raise ValueError("at least one field needs a weight > 0")
        return checked

    def _weights(self, fields: FieldsArg) -> dict[str, float]:
        if fields is None:
            return self.default_fields
        if isinstance(fields, str):
            fields = [fields]
        if isinstance(fields, Mapping):
            return self._check_weights(fields)
        return self._check_weights({name: self.schema[name].weight or 1.0 for name in fields})

    def _query(self, query: str | Query, strict: bool, notes: list[str]) -> Query:
        if not isinstance(query, str):
            if isinstance(query, bytes):
                raise TypeError("query must be str or a Query, got bytes (decode it first)")
            return query
        if strict:
            return parse_query(query, strict=True, fields=self._field_names)
        if not has_syntax(query):
            return words_query(query)
        parsed = parse_query(query, fields=self._field_names)
        return parsed

    @staticmethod
    def _page(limit: int, offset: int) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be an int from 0 to {MAX_LIMIT}, got {limit!r}")
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ValueError(f"offset must be an int >= 0, got {offset!r}")

    # -- search -----------------------------------------------------------------------------
    def search(
        self,
        query: str | Query,
        *,
        limit: int = 10,
        offset: int = 0,
        fields: FieldsArg = None,
        filter: FilterArg = None,
        sort: str | None = None,
        romanized: bool = False,
        highlight: bool = True,
        stored: bool = True,
        facets: Collection[str] | None = None,
        strict: bool = False,
    ) -> Results:
        """Run a query and return one page of :class:`Results`.

        Args:
            query: query syntax (a user string never raises: malformed syntax degrades
                to words) or a :class:`~bnsearch.search.query.Query` tree.
            limit, offset: the page (``limit`` 0..10000; an offset past the end gives an
                empty page with the right ``total``).
            fields: fields to search when the query names none: a list (schema weights)
                or ``{field: weight}`` (per-query BM25F weights).
            filter: ``{"section": "খেলা"}`` (or a list of values: any of them), and/or
                ``{"published": (since, until)}`` (dates or datetimes, ``since`` included,
                ``until`` excluded, ``None`` for an open end; a date means its midnight
                UTC; articles without a date never pass), or a query that must match
                without adding to the score.
            sort: ``"score"`` (default), ``"-date"`` (newest first), ``"date"``,
                ``"index"`` (order written) or ``"-index"``.
            romanized: also look Latin-letter words up as romanized Bengali.
            highlight: add highlights and the body snippet to each hit.
            stored: load stored fields of the hits (False: ids and scores only).
            facets: keyword fields to count over all matches (default: ``section``).
            strict: parse ``query`` strictly (raise :class:`QuerySyntaxError`).
        """
        started = time.perf_counter()
        self._page(limit, offset)
        if sort not in (None, *SORTS):
            raise ValueError(f"sort must be one of {SORTS}, got {sort!r}")
        notes: list[str] = []
        fast = isinstance(query, str) and not strict and not romanized and not has_syntax(query)
        # a plain-words query skips the parser (its Results.query is None)
        parsed = None if fast else self._query(query, strict, notes)
        weights = self._weights(fields)
        facet_fields = self._facet_fields(facets)
        compiler = Compiler(ctx=self._ctx, weights=weights, romanized=romanized)
        compiled: Compiled | None
        if fast:
            compiled = self._plain_words(compiler, query, notes)  # type: ignore[arg-type]
        else:
            assert parsed is not None
            parsed = self._limit_clauses(parsed, notes, strict_input=not isinstance(query, str))
            compiled = compiler.compile(parsed)
        notes.extend(compiler.notes)
        segments = self.reader.segments
        if compiled is None:
            if isinstance(query, str) and query.strip():
                notes.append("no searchable words in the query (only stopwords or punctuation)")
            return Results(
                hits=(),
                total=0,
                offset=offset,
                limit=limit,
                query=parsed,
                notes=tuple(notes),
                facets={name: {} for name in facet_fields},
                took_ms=(time.perf_counter() - started) * 1000,
            )
        evaluator = Evaluator(self._ctx)
        masks = self._masks(filter, compiler, evaluator)
        matched = evaluator.evaluate(compiled, [s.max_doc for s in segments], masks)
        if self.params.link_prior > 0:
            matched = self._add_prior(matched)
        candidates = None  # after a rerank, the page is among the reranked matches
        # one word typed once has no pair for the proximity rerank to look for
        one_word = isinstance(compiled, Unit) and compiled.boost == 1
        if fast and not one_word and (sort or "score") == "score":
            matched, candidates = self._rerank(matched, query, weights, offset + limit)  # type: ignore[arg-type]
        total = sum(len(docs) for docs, _ in matched)
        facet_counts = LazyFacets(
            lambda: {name: self._facet(name, matched) for name in facet_fields}
        )
        chosen = self._top(matched, offset + limit, sort or "score", within=candidates)[offset:]
        hits = self._hits(chosen, offset, compiled, highlight=highlight, stored=stored)
        return Results(
            hits=tuple(hits),
            total=total,
            offset=offset,
            limit=limit,
            facets=facet_counts,
            took_ms=(time.perf_counter() - started) * 1000,
            query=parsed,
            notes=tuple(notes),
        )

    def _plain_words(self, compiler: Compiler, text: str, notes: list[str]) -> Compiled | None:
        """The bag-of-words path: a unit per distinct word, any may match (no parser)."""
        units = compiler.words(text)
        if len(units) > MAX_CLAUSES:  # keep words the index knows, then cut
            units = [u for u in units if self._known(u)]
        if len(units) > MAX_CLAUSES:
            notes.append(
                f"the query has {len(units)} distinct words; only the first {MAX_CLAUSES} were used"
            )
            units = units[:MAX_CLAUSES]
        return Node(should=tuple(units)) if len(units) > 1 else (units[0] if units else None)

    def _rerank_plan(self, text: str, weights: Mapping[str, float]) -> RerankPlan:
        fields = [f for f in weights if self._ctx.has_postings(f)]
        if not fields:
            return RerankPlan()
        return plan_rerank(self.schema.analyzer(fields[0]), text, self.params)

    def _rerank(
        self, matched: list[DocScores], text: str, weights: Mapping[str, float], page_end: int
    ) -> tuple[list[DocScores], list[npt.NDArray[np.intp]] | None]:
        """Add the proximity bonus to the best ``rerank_depth`` matches (plain-words
        queries; see :mod:`.rerank`). Also returns those matches' indices per segment:
        the bonus only raises scores, so the best ``page_end`` are among them."""
        plan = self._rerank_plan(text, weights)
        if plan.empty:
            return matched, None
        best = self._best(matched, max(self.params.rerank_depth, page_end))
        out = []
        for segment, (docs, scores), where in zip(self.reader.segments, matched, best, strict=True):
            if len(where):
                where = where[np.argsort(docs[where])]  # the bonuses want sorted docs
                scores = scores.copy()
                scores[where] += proximity_bonus(self._ctx, segment, docs[where], plan, weights)
            out.append((docs, scores))
        return out, best

    def _known(self, unit: Unit) -> bool:
        return any(
            self._ctx.doc_freq(field, term) > 0
            for field, terms in unit.terms.items()
            for term in terms
        )

    def _limit_clauses(self, query: Query, notes: list[str], *, strict_input: bool) -> Query:
        if not isinstance(query, Bool):
            return query
        count = _count_leaves(query)
        if count <= MAX_CLAUSES:
            return query
        if query.must or query.must_not or not all(isinstance(q, Term) for q in query.should):
            if strict_input:
                raise ValueError(f"query has {count} clauses; the limit is {MAX_CLAUSES}")
            query = words_query(
                " ".join(str(leaf) for leaf in query.should if isinstance(leaf, Term))
            )
        merged: dict[tuple[str, str | None], float] = {}
        for leaf in query.should:
            assert isinstance(leaf, Term)
            key = (leaf.text, leaf.field)
            merged[key] = merged.get(key, 0.0) + leaf.boost
        terms = [Term(text=t, field=f, boost=b) for (t, f), b in merged.items()]
        if len(terms) > MAX_CLAUSES:
            notes.append(
                f"the query has {len(terms)} distinct words; only the first {MAX_CLAUSES} were used"
            )
            terms = terms[:MAX_CLAUSES]
        return Bool(should=terms, boost=query.boost)

    def _facet_fields(self, facets: Collection[str] | None) -> tuple[str, ...]:
        if facets is None:
            return self._default_facets
        names = (facets,) if isinstance(facets, str) else tuple(facets)
        for name in names:
            if name not in self.schema or self.schema[name].is_text:
                raise SchemaError(f"facets need keyword fields; {name!r} is not one")
        return names

    def _masks(
        self, filter_: FilterArg, compiler: Compiler, evaluator: Evaluator
    ) -> list[npt.NDArray[np.bool_] | None]:
        """Per segment, the docs a search may return: live, and passing ``filter_``."""
        segments = self.reader.segments
        masks: list[npt.NDArray[np.bool_] | None] = [
            None if s.del_count == 0 else s.live for s in segments
        ]
        if filter_ is not None:
            filter_masks = self._filter_masks(filter_, compiler, evaluator)
            masks = [f if m is None else (m & f) for m, f in zip(masks, filter_masks, strict=True)]
        return masks

    def _filter_masks(
        self, filter_: Mapping[str, Any] | Query, compiler: Compiler, evaluator: Evaluator
    ) -> list[npt.NDArray[np.bool_]]:
        segments = self.reader.segments
        masks = [np.ones(s.max_doc, dtype=bool) for s in segments]
        if not isinstance(filter_, Mapping):
            compiled = compiler.compile(filter_)
            if compiled is None:
                return [np.zeros(s.max_doc, dtype=bool) for s in segments]
            for mask, (docs, _) in zip(
                masks, evaluator.evaluate(compiled, [s.max_doc for s in segments]), strict=True
            ):
                keep = np.zeros(len(mask), dtype=bool)
                keep[docs] = True
                mask &= keep
            return masks
        for name, wanted in filter_.items():
            if name == PUBLISHED and name not in self.schema:
                since, until = _date_range(wanted)
                for mask, segment in zip(masks, segments, strict=True):
                    published = segment.published()
                    mask &= (published >= since) & (published < until) & (published != NO_DATE)
                continue
            if name not in self.schema:
                raise SchemaError(f"unknown filter field {name!r}; fields are {self.schema.names}")
            if self.schema[name].is_text:
                raise SchemaError(
                    f"filter field {name!r} is a text field; filters use keyword fields"
                )
            values = [wanted] if isinstance(wanted, str) else list(wanted)
            keys = tuple(sorted({k for v in values if (k := compiler.keyword_key(str(v)))}))
            for mask, keep in zip(masks, self._keyword_masks(name, keys), strict=True):
                mask &= keep
        return masks

    def _keyword_masks(self, name: str, keys: tuple[str, ...]) -> list[npt.NDArray[np.bool_]]:
        """Per segment, the docs having any of ``keys`` in keyword field ``name`` (cached)."""
        cache_key = (name, keys)
        found = self._filter_cache.get(cache_key)
        if found is None:
            found = []
            for segment in self.reader.segments:
                keep = np.zeros(segment.max_doc, dtype=bool)
                for key in keys:
                    postings = segment.postings(name, key)
                    if postings is not None:
                        keep[postings[0]] = True
                keep.setflags(write=False)
                found.append(keep)
            if len(self._filter_cache) >= 256:
                self._filter_cache.clear()
            self._filter_cache[cache_key] = found
        return found

    def _add_prior(self, matched: list[DocScores]) -> list[DocScores]:
        counts = self._ctx.link_counts()
        weight = np.float32(self.params.link_prior)
        out = []
        for (docs, scores), links in zip(matched, counts, strict=True):
            if len(docs):
                scores = scores + weight * np.log1p(links[docs].astype(np.float32))
            out.append((docs, scores))
        return out

    def _facet(self, name: str, matched: list[DocScores]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for segment, (docs, _) in zip(self.reader.segments, matched, strict=True):
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

    def _top(
        self,
        matched: list[DocScores],
        k: int,
        sort: str,
        *,
        within: list[npt.NDArray[np.intp]] | None = None,
    ) -> list[tuple[int, int, float]]:
        """``(segment, doc, score)`` of the first ``k`` matches over all segments
        (by score: only among the per-segment indices ``within`` when given)."""
        if k <= 0:
            return []
        if sort in ("date", "-date"):
            return self._top_by_date(matched, k, newest_first=sort == "-date")
        if sort != "score":
            picked: list[tuple[int, int, float]] = []
            order = range(len(matched)) if sort == "index" else range(len(matched) - 1, -1, -1)
            for ordinal in order:
                docs, scores = matched[ordinal]
                # the smallest (or largest) doc ids, ordered (a multi-field union is unsorted)
                key = docs.astype(np.int64) if sort == "index" else -docs.astype(np.int64)
                take = _smallest(key, k - len(picked), scores)
                picked.extend(
                    (ordinal, int(d), float(s))
                    for d, s in zip(docs[take].tolist(), scores[take].tolist(), strict=True)
                )
                if len(picked) >= k:
                    break
            return picked
        if within is None and len(matched) == 1:  # one segment: one partial sort
            docs, scores = matched[0]
            best = top_k(scores, k, ties=docs)  # score, then doc
            return [
                (0, doc, score)
                for doc, score in zip(docs[best].tolist(), scores[best].tolist(), strict=True)
            ]
        chosen = self._best(matched, k) if within is None else within
        owners = [o for o, best in enumerate(chosen) if len(best)]
        if not owners:
            return []
        if len(owners) == 1:  # one segment: no concatenation
            ordinal = owners[0]
            docs, scores = (array[chosen[ordinal]] for array in matched[ordinal])
            best = np.lexsort((docs, -scores))[:k]  # score, then doc
            return [
                (ordinal, doc, score)
                for doc, score in zip(docs[best].tolist(), scores[best].tolist(), strict=True)
            ]
        docs = np.concatenate([matched[o][0][chosen[o]] for o in owners])
        scores = np.concatenate([matched[o][1][chosen[o]] for o in owners])
        owner = np.repeat(owners, [len(chosen[o]) for o in owners])
        best = np.lexsort((docs, owner, -scores))[:k]  # score, then segment, then doc
        return list(
            zip(owner[best].tolist(), docs[best].tolist(), scores[best].tolist(), strict=True)
        )

    @staticmethod
    def _best(matched: list[DocScores], k: int) -> list[npt.NDArray[np.intp]]:
        """Per segment, the indices (into its arrays) of its matches among the best ``k``
        over all segments (score, then segment, then doc)."""
        per_segment = [top_k(scores, k) for _, scores in matched]
        if sum(len(best) for best in per_segment) <= k:
            return per_segment
        scores = np.concatenate([m[1][best] for m, best in zip(matched, per_segment, strict=True)])
        docs = np.concatenate([m[0][best] for m, best in zip(matched, per_segment, strict=True)])
        owner = np.repeat(np.arange(len(matched)), [len(best) for best in per_segment])
        keep = np.zeros(len(scores), dtype=bool)
        keep[np.lexsort((docs, owner, -scores))[:k]] = True
        bounds = np.cumsum([0, *(len(best) for best in per_segment)])
        return [
            best[keep[start:end]]
            for best, start, end in zip(per_segment, bounds[:-1], bounds[1:], strict=True)
        ]

    def _top_by_date(
        self, matched: list[DocScores], k: int, *, newest_first: bool
    ) -> list[tuple[int, int, float]]:
        """The first ``k`` matches by publication date (undated last; ties by score)."""
        candidates: list[tuple[int, int, int, float]] = []
        for ordinal, (segment, (docs, scores)) in enumerate(
            zip(self.reader.segments, matched, strict=True)
        ):
            if not len(docs):
                continue
            published = segment.published()[docs]
            # one ascending key: newest first negates; undated sorts after every date
            key = np.where(
                published == NO_DATE,
                np.iinfo(np.int64).max,
                -published if newest_first else published,
            )
            best = _smallest(key, k, scores)
            candidates.extend(
                (int(t), ordinal, int(d), float(v))
                for t, d, v in zip(
                    key[best].tolist(), docs[best].tolist(), scores[best].tolist(), strict=True
                )
            )
        candidates.sort(key=lambda item: (item[0], -item[3], item[1], item[2]))
        return [(ordinal, doc, score) for _, ordinal, doc, score in candidates[:k]]

    # -- hits -------------------------------------------------------------------------------
    def _hits(
        self,
        chosen: list[tuple[int, int, float]],
        offset: int,
        compiled: Compiled,
        *,
        highlight: bool,
        stored: bool,
    ) -> list[Hit]:
        segments = self.reader.segments
        if not stored:
            return [
                Hit(id=segments[ordinal].article_ids()[doc], score=score, rank=rank)
                for rank, (ordinal, doc, score) in enumerate(chosen, start=offset)
            ]
        matchers = self._matchers(compiled) if highlight else {}
        hits = []
        for rank, (ordinal, doc, score) in enumerate(chosen, start=offset):
            row = segments[ordinal].stored(doc)
            marks = self._highlight(row, matchers) if highlight else {}
            hits.append(Hit(id=row["id"], score=score, rank=rank, fields=row, highlights=marks))
        return hits

    def _matchers(self, compiled: Compiled) -> dict[str, TermMatcher]:
        terms: dict[str, set[str]] = {}
        prefixes: dict[str, set[str]] = {}
        n = self.reader.doc_count
        for unit in _units(compiled):
            for field, group in unit.terms.items():
                terms.setdefault(field, set()).update(group)
            for field, phrase in unit.phrases.items():
                terms.setdefault(field, set()).update(t for _, t in phrase)
            for field, group in unit.prefixes.items():
                prefixes.setdefault(field, set()).update(group)
        matchers = {}
        for field in HIGHLIGHT_FIELDS:
            if field not in self.schema or not self.schema[field].is_text:
                continue
            field_terms = terms.get(field, set())
            weights = {t: float(idf(n, self._ctx.doc_freq(field, t))) for t in field_terms}
            matchers[field] = TermMatcher(
                terms=frozenset(field_terms),
                prefixes=tuple(sorted(prefixes.get(field, ()))),
                weights=weights,
            )
        return matchers

    def _highlight(
        self, row: Mapping[str, Any], matchers: Mapping[str, TermMatcher]
    ) -> dict[str, Any]:
        marks = {}
        for field, matcher in matchers.items():
            spec = self.schema[field]
            text = row.get(spec.source)
            if not isinstance(text, str) or not text:
                continue
            analyzer = self.schema.analyzer(field)
            if spec.source == "body":
                marks[field] = best_fragment(text, analyzer, matcher)
            elif not matcher.is_empty:
                fragment = highlight_all(text, analyzer, matcher)
                if fragment.spans:
                    marks[field] = fragment
        return marks

    # -- explain ----------------------------------------------------------------------------
    def explain(
        self,
        query: str | Query,
        article_id: str,
        *,
        fields: FieldsArg = None,
        romanized: bool = False,
    ) -> Explanation:
        """How ``article_id`` scores for ``query``: the BM25F breakdown per clause and field.

        The top value equals the score ``search()`` gives the article (0 when it does not
        match, with the reason).
        """
        where = self.reader.find(article_id)
        if where is None:
            raise KeyError(f"no live article with id {article_id!r}")
        ordinal, doc = where
        compiler = Compiler(ctx=self._ctx, weights=self._weights(fields), romanized=romanized)
        plain = query if isinstance(query, str) and not romanized else None
        if plain is not None and has_syntax(plain):
            plain = None
        compiled: Compiled | None
        if plain is not None:  # the path search() takes for plain words
            compiled = self._plain_words(compiler, plain, [])
        else:
            parsed = self._query(query, False, [])
            compiled = compiler.compile(self._limit_clauses(parsed, [], strict_input=False))
        if compiled is None:
            return Explanation(value=0.0, description="no searchable words in the query")
        evaluator = Evaluator(self._ctx)
        node_value, explanation = self._explain(compiled, evaluator, ordinal, doc)
        if node_value is None:
            return Explanation(value=0.0, description="no match", details=(explanation,))
        extras: list[Explanation] = []
        weights = self._weights(fields)
        if plain is not None:
            extras.extend(self._explain_rerank(plain, weights, ordinal, doc))
        if self.params.link_prior > 0:
            links = int(self._ctx.link_counts()[ordinal][doc])
            prior = self.params.link_prior * math.log1p(links)
            extras.append(Explanation(value=prior, description=f"in-link prior, {links} in-links"))
        if not extras:
            return explanation
        total = float(np.float32(node_value) + np.float32(sum(e.value for e in extras)))
        return Explanation(value=total, description="sum of:", details=(explanation, *extras))

    def _explain_rerank(
        self, text: str, weights: Mapping[str, float], ordinal: int, doc: int
    ) -> list[Explanation]:
        plan = self._rerank_plan(text, weights)
        if plan.empty:
            return []
        segment = self.reader.segments[ordinal]
        docs = np.array([doc], dtype=np.int32)
        value = float(proximity_bonus(self._ctx, segment, docs, plan, weights)[0])
        if not value:
            return []
        description = (
            f"proximity: query word pairs side by side, weight {self.params.proximity:g} "
            f"(added within the best {self.params.rerank_depth} matches)"
        )
        return [Explanation(value=value, description=description)]

    def _explain(
        self, node: Compiled, evaluator: Evaluator, ordinal: int, doc: int
    ) -> tuple[float | None, Explanation]:
        if isinstance(node, Unit):
            return self._explain_unit(node, evaluator, ordinal, doc)
        parts = []
        total = 0.0
        missing = []
        for clause in node.must:
            value, detail = self._explain(clause, evaluator, ordinal, doc)
            if value is None:
                missing.append(detail)
            else:
                total += value
                parts.append(detail)
        any_should = False
        for clause in node.should:
            value, detail = self._explain(clause, evaluator, ordinal, doc)
            if value is not None:
                any_should = True
                total += value
                parts.append(detail)
        for clause in node.must_not:
            value, detail = self._explain(clause, evaluator, ordinal, doc)
            if value is not None:
                return None, Explanation(
                    value=0.0, description="excluded by a must-not clause", details=(detail,)
                )
        if missing:
            return None, Explanation(
                value=0.0, description="a required clause does not match", details=tuple(missing)
            )
        if not node.must and not any_should:
            return None, Explanation(value=0.0, description="no clause matches")
        total = float(np.float32(total) * np.float32(node.boost))
        label = "sum of:" if node.boost == 1 else f"sum of (times boost {node.boost:g}):"
        return total, Explanation(value=total, description=label, details=tuple(parts))

    def _explain_unit(
        self, unit: Unit, evaluator: Evaluator, ordinal: int, doc: int
    ) -> tuple[float | None, Explanation]:
        scored = evaluator.unit_scores(unit)
        docs, scores = scored[ordinal]
        at = np.flatnonzero(docs == doc)
        if unit.kind == "all":
            return 0.0, Explanation(value=0.0, description="matches every article (*:*)")
        if not len(at):
            return None, Explanation(value=0.0, description=f"{unit.label}: no match")
        value = float(scores[at[0]])
        df = sum(
            int(np.count_nonzero(s.live[d]))
            for s, (d, _) in zip(self.reader.segments, scored, strict=True)
        )
        unit_idf = evaluator.unit_idf(unit, df)
        segment = self.reader.segments[ordinal]
        field_parts = []
        x_total = 0.0
        for field, weight in unit.weights.items():
            tf = self._field_tf(unit, segment, field, doc)
            if not tf:
                continue
            if self._ctx.is_text(field):
                code = int(segment.norms(field)[doc])
                length = float(NORM_DECODE[code])
                avg = self._ctx.avg_length(field)
                b = self.params.b_of(field)
                x = float(self._ctx.table(field, weight)[code]) * tf
                text = (
                    f"field {field}: x = w {weight:g} * tf {tf:g} / (1 - b {b:g} + b * len "
                    f"{length:g} / avg {avg:.2f})"
                )
            else:
                x = weight * tf
                text = f"field {field}: x = w {weight:g} * tf {tf:g} (keyword)"
            x_total += x
            field_parts.append(Explanation(value=x, description=text))
        k1 = self.params.k1
        description = (
            f"{unit.label}: boost {unit.boost:g} * idf {unit_idf:.4f} (N {self.reader.doc_count}, "
            f"df {df}) * x {x_total:.4f} / (k1 {k1:g} + x)"
        )
        bonus = evaluator.form_bonus(unit, unit_idf)
        if bonus and doc in evaluator.form_docs(unit, segment, evaluator.parts(unit, segment)):
            description += " + exact forms"
            field_parts.append(
                Explanation(
                    value=bonus,
                    description=(
                        f"exact forms: the word found in the form typed, weight "
                        f"{self.params.exact_forms:g} * idf {unit_idf:.4f}"
                    ),
                )
            )
        return value, Explanation(value=value, description=description, details=tuple(field_parts))

    def _field_tf(self, unit: Unit, segment: Any, field: str, doc: int) -> float:
        tf = 0.0
        if field in unit.phrases:
            docs, freqs = phrase_frequencies(
                segment, field, unit.phrases[field], cache=self._ctx.positions
            )
            hit = np.flatnonzero(docs == doc)
            return float(freqs[hit[0]]) if len(hit) else 0.0
        for term in unit.terms.get(field, ()):
            found = segment.postings(field, term)
            if found is None:
                continue
            index = int(np.searchsorted(found[0], doc))
            if index < len(found[0]) and int(found[0][index]) == doc:
                tf += float(found[1][index])
        return tf

    # -- related, suggestions ---------------------------------------------------------------
    def related(self, article_id: str, *, limit: int = 10, content_terms: int = 24) -> Results:
        """Articles related to ``article_id``: first the article's own resolved links in
        page order, then the articles that link to it, then the blend of co-linked
        articles and content similarity (see :mod:`bnsearch.search.related`).

        Raises ``KeyError`` when no live article has this id.
        """
        self._page(limit, 0)
        return related_articles(self, article_id, limit=limit, content_terms=content_terms)

    def suggest(self, query: str, *, field: str = "body") -> str | None:
        """A "did you mean" spelling of ``query`` from the index's own terms, or None."""
        if field not in self.schema or not self.schema[field].is_text:
            raise SchemaError(f"suggestions need a text field; {field!r} is not one")
        return did_you_mean(query, self._ctx.dictionary(field), self.schema.analyzer(field))

    def complete(self, prefix: str, *, limit: int = 8, field: str = "body") -> list[str]:
        """Completions of a half-typed query: its last word completed from the index terms."""
        if field not in self.schema or not self.schema[field].is_text:
            raise SchemaError(f"completion needs a text field; {field!r} is not one")
        return complete_query(
            prefix, self._ctx.dictionary(field), self.schema.analyzer(field), limit=limit
        )


def _units(node: Compiled) -> list[Unit]:
    if isinstance(node, Unit):
        return [node]
    assert isinstance(node, Node)
    return [u for child in (*node.must, *node.should) for u in _units(child)]


def _count_leaves(query: Query) -> int:
    if isinstance(query, Bool):
        return sum(_count_leaves(q) for q in (*query.must, *query.should, *query.must_not))
    return 1


__all__ = ["MAX_CLAUSES", "MAX_LIMIT", "QuerySyntaxError", "Searcher"]


def _date_bound(value: object, *, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return epoch_seconds(value)
    if isinstance(value, dt.date):
        return epoch_seconds(dt.datetime(value.year, value.month, value.day))
    raise ValueError(
        f"filter {PUBLISHED!r}: {where} must be a date, a datetime or None, "
        f"got {type(value).__name__}"
    )


def _date_range(wanted: object) -> tuple[int, int]:
    """``(since, until)`` of a ``published`` filter as epoch seconds (open ends widened)."""
    if not isinstance(wanted, tuple) or len(wanted) != 2:
        raise ValueError(
            f"filter {PUBLISHED!r} takes a (since, until) pair of dates, got {wanted!r}"
        )
    since = _date_bound(wanted[0], where="since")
    until = _date_bound(wanted[1], where="until")
    return (
        NO_DATE + 1 if since is None else since,
        int(np.iinfo(np.int64).max) if until is None else until,
    )


def _smallest(key: npt.NDArray[np.int64], k: int, scores: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Indices of the ``k`` smallest ``key`` values, in order (ties: higher score first).

    Linear in ``len(key)`` (a partition, not a sort), also when most keys tie (an index
    whose articles have no dates).
    """
    if k <= 0 or not len(key):
        return np.empty(0, dtype=np.intp)
    if len(key) > k:
        kth = np.partition(key, k - 1)[k - 1]
        below = np.flatnonzero(key < kth)
        tied = np.flatnonzero(key == kth)
        chosen = np.concatenate([below, tied[top_k(scores[tied], k - len(below))]])
    else:
        chosen = np.arange(len(key))
    order: npt.NDArray[Any] = chosen[np.lexsort((-scores[chosen], key[chosen]))]
    return order
