"""Query compilation: a query tree turned, against one snapshot, into *units*.

A unit is a leaf to score: per field, the index terms to read (one term, a group of
expansions for prefix/fuzzy/romanized words, or the terms of a phrase with their relative
positions), with its boost and field weights. Every word goes through its field's own
analyzer, so query-time and index-time analysis agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

import attrs

from bnsearch.analysis import Analyzer
from bnsearch.analysis.forms import InflectionSplit, inflection_split
from bnsearch.errors import SchemaError
from bnsearch.index.schema import keyword_values
from bnsearch.search.context import INTERNED_ENTRIES, PER_WEIGHTS, Context
from bnsearch.search.query import Bool, Fuzzy, MatchAll, Phrase, Prefix, Query, Term
from bnsearch.search.romanize import is_romanized
from bnsearch.search.scoring import idf
from bnsearch.search.spelling import SpellingIndex, confusable_variants

#: Terms a prefix may expand to (the most frequent are kept).
PREFIX_EXPANSIONS = 64
#: Terms a fuzzy word may expand to (the closest, then the most frequent).
FUZZY_EXPANSIONS = 32
#: Queries of more distinct words than this get no folded-spelling match (a pasted text
#: is not a typed query, and MAX_CLAUSES counts units).
SPELLING_WORDS = 64
#: What one letter edit leaves of a fuzzy expansion's score (two edits: its square).
FUZZY_FALLOFF = 0.4
#: Bengali terms a romanized word may stand for.
ROMAN_EXPANSIONS = 3


#: The default of a unit's mappings: one shared read-only empty mapping (a plain-words
#: query builds a unit a word; fresh dicts were a tenth of that cost).
_NOTHING: Mapping[str, Any] = MappingProxyType({})


class Unit:
    """A compiled leaf: what to read in each field, and how to score it.

    ``kind`` is ``"terms"`` (one term or a group scored as one pseudo-term: its
    frequencies add up), ``"phrase"`` (``phrases[field]`` = ``((offset, term), ...)``) or
    ``"all"`` (every document, score 0). (Not keyword-only: a word's unit is made by
    place, :func:`_word_unit`, as keywords cost a dict a call.)

    Immutable by convention, not enforced: a plain slotted class with a hand
    ``__init__``, as a frozen attrs class set each field through
    ``object.__setattr__`` (about 1 us a unit, a new word's unit every search). The
    engine keeps what it reads of a unit by the unit object (:meth:`Context.intern`),
    so a unit must never change once made: :meth:`Compiler.unit` makes another from
    :meth:`fields` (a test checks that searches leave every unit as it was made).
    Compared, hashed and shown by its fields, as the attrs class was.
    """

    __slots__ = ("boost", "form_flag", "kind", "label", "phrases", "prefixes", "terms", "weights")

    kind: str
    label: str
    boost: float
    terms: Mapping[str, tuple[str, ...]]
    phrases: Mapping[str, tuple[tuple[int, str], ...]]
    weights: Mapping[str, float]
    #: prefixes to highlight, per field
    prefixes: Mapping[str, tuple[str, ...]]
    #: the ending kinds of the word as typed (plain-words queries, see
    #: :mod:`bnsearch.analysis.forms`): a document whose posting has all of them gets
    #: ``BM25FParams.exact_forms`` times the unit's idf on top of its BM25F score
    form_flag: int

    def __init__(
        self,
        kind: str,
        label: str,
        boost: float = 1.0,
        terms: Mapping[str, tuple[str, ...]] = _NOTHING,
        phrases: Mapping[str, tuple[tuple[int, str], ...]] = _NOTHING,
        weights: Mapping[str, float] = _NOTHING,
        prefixes: Mapping[str, tuple[str, ...]] = _NOTHING,
        form_flag: int = 0,
    ) -> None:
        self.kind = kind
        self.label = label
        self.boost = boost
        self.terms = terms
        self.phrases = phrases
        self.weights = weights
        self.prefixes = prefixes
        self.form_flag = form_flag

    def fields(self) -> dict[str, Any]:
        """The unit's fields by name, in :meth:`__init__`'s order."""
        return {name: getattr(self, name) for name in _UNIT_FIELDS}

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _UNIT_FIELDS)

    def __eq__(self, other: object) -> bool:
        if type(other) is not Unit:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in _UNIT_FIELDS)
        return f"Unit({shown})"


#: :class:`Unit`'s fields, in its ``__init__``'s order.
_UNIT_FIELDS = ("kind", "label", "boost", "terms", "phrases", "weights", "prefixes", "form_flag")


@attrs.frozen(kw_only=True)
class Node:
    """A compiled boolean node.

    ``best_of``: a document scores what its best ``should`` clause gives, not the sum
    (the expansions of a fuzzy word: a document with several near spellings is no
    better a match than one with the word itself).
    """

    must: tuple[Compiled, ...] = ()
    should: tuple[Compiled, ...] = ()
    must_not: tuple[Compiled, ...] = ()
    boost: float = 1.0
    best_of: bool = False


Compiled = Unit | Node
#: Per field, its spelling index (:meth:`Context.spelling`).
_Spellings = tuple[tuple[str, SpellingIndex], ...]
#: The weighted fields of one analyzer (:meth:`Compiler._analyzer_groups`): the
#: analyzer, the fields, its inflection split (None: no exact-form bonus), their
#: spelling indexes.
_Group = tuple[Analyzer, tuple[str, ...], InflectionSplit | None, _Spellings]


class Compiler:
    """Turns a query tree into units for one search (field weights fixed). A plain
    slotted class, not attrs: every new query makes one."""

    __slots__ = ("ctx", "notes", "romanized", "terms_read", "weights", "weights_key")

    def __init__(
        self,
        ctx: Context,
        weights: Mapping[str, float],
        romanized: bool = False,
        weights_key: str | None = None,
    ) -> None:
        self.ctx = ctx
        self.weights = weights
        self.romanized = romanized
        self.notes: list[str] = []
        #: ``weights`` as a key of what :meth:`Context.intern` keeps (``weights_key``:
        #: the caller's :meth:`Context.weights_key`: a searcher keeps its default's)
        self.weights_key: str = ctx.weights_key(weights) if weights_key is None else weights_key
        #: the terms :meth:`words` read, repeats counted (None: not counted; every field
        #: analyzed alike counts them)
        self.terms_read: int | None = None

    def fresh(self) -> Compiler:
        """A compiler of the same snapshot, weights and romanization, without notes."""
        return Compiler(self.ctx, self.weights, self.romanized, self.weights_key)

    def fields_of(self, field: str | None) -> dict[str, float]:
        if field is None:
            return dict(self.weights)
        if field not in self.ctx.schema:
            raise SchemaError(f"unknown field {field!r}; fields are {self.ctx.schema.names}")
        weight = self.weights.get(field) or self.ctx.schema[field].weight or 1.0
        return {field: weight}

    def unit(self, **fields: Any) -> Unit:
        """A :class:`Unit` of these fields: the one this snapshot's queries already
        compiled, if any (:meth:`Context.intern`; the engine keeps its posting slices,
        live document frequency and the core's arguments per unit object)."""
        made = Unit(**fields)
        unit: Unit = self.ctx.intern(_unit_key(made), made)
        return unit

    def compile(self, query: Query) -> Compiled | None:
        """The compiled ``query``. A leaf (a word, phrase, prefix, fuzzy word) is
        compiled once per snapshot, field weights and romanization (:meth:`Context.intern`,
        with the notes it adds): a new query of leaves met before reads them back."""
        if isinstance(query, Bool):
            return self._bool(query)
        key = ("leaf", query, self.weights_key, self.romanized)
        known: tuple[Compiled | None, tuple[str, ...]] | None = self.ctx.interned.get(key)
        if known is None:
            before = len(self.notes)
            compiled = self._leaf(query)
            known = self.ctx.intern(key, (compiled, tuple(self.notes[before:])))
        else:
            self.notes.extend(known[1])
        return known[0]

    def _leaf(self, query: Query) -> Compiled | None:
        if isinstance(query, Term):
            return self._term(query)
        if isinstance(query, Phrase):
            return self._phrase(query.text, query.field, query.boost, str(query))
        if isinstance(query, Prefix):
            return self._prefix(query)
        if isinstance(query, Fuzzy):
            return self._fuzzy(query)
        if isinstance(query, MatchAll):
            return self.unit(kind="all", label="*:*", boost=query.boost)
        raise TypeError(f"not a query node: {type(query).__name__}")

    def words(self, text: str) -> list[Unit]:
        """Units of a plain-words query: one per distinct term (repeats raise the boost).

        When every field shares one analyzer (the usual case) each unit also carries the
        form flag of the word as typed (:attr:`Unit.form_flag`, for the exact-form bonus);
        fields analyzed differently get no such bonus.
        """
        weights_key = self.weights_key
        by_analyzer = self._analyzer_groups(weights_key)
        if len(by_analyzer) == 1:  # the usual case: every field analyzed alike
            analyzer, fields, split, spellings = by_analyzer[0]
            # the terms, with the form each word was typed in (0: no form flags)
            typed = split.query_terms(text) if split is not None else _unflagged(analyzer, text)
            flags = dict(typed)
            counts: dict[str, int] = {}  # (only where a term repeats: else each once)
            if len(flags) < len(typed):
                flags = {}
                for term, flag in typed:
                    counts[term] = counts.get(term, 0) + 1
                    flags[term] = flags.get(term, 0) | flag
            self.terms_read = len(typed)
            known = self._known_words(weights_key)
            spelled = self.ctx.params.spelling > 0 and len(flags) <= SPELLING_WORDS
            units: list[Unit] = []
            more: list[Unit] = []
            for term, flag in flags.items():
                count = counts.get(term, 1) if counts else 1
                word_key = (term, count, flag)
                entry = known.get(word_key)
                if entry is None:  # the word's unit (its spelling units: when first asked)
                    unit = _word_unit(term, float(count), fields, (term,), self.weights, flag)
                    entry = known[word_key] = [unit, None]
                units.append(entry[0])
                if spelled:
                    variants = entry[1]
                    if variants is None:  # (shared by the word's forms)
                        variants = known.get((term, count))
                        if variants is None:
                            # (units made only for a word with other spellings: most
                            # have none, and a frame less a new word)
                            others = self._variants(term, fields, spellings)
                            variants = known[(term, count)] = (
                                self._spellings(term, count, others) if others else ()
                            )
                        entry[1] = variants
                    for variant, unit in variants:  # (a loop: no closure on flags)
                        if variant not in flags:
                            more.append(unit)
            return units + more
        per_position: dict[int, dict[str, str]] = {}
        for analyzer, fields, _, _ in by_analyzer:
            for position, found in enumerate(analyzer.term_sequence(text)):
                if found is not None:
                    slot = per_position.setdefault(position, {})
                    for field in fields:
                        slot[field] = found
        grouped: dict[tuple[tuple[str, str], ...], int] = {}
        for slot in per_position.values():
            key = tuple(sorted(slot.items()))
            grouped[key] = grouped.get(key, 0) + 1
        return [
            self.unit(
                kind="terms",
                label=" ".join(dict.fromkeys(term for _, term in key)),
                boost=float(count),
                terms={field: (term,) for field, term in key},
                weights=self.weights,
            )
            for key, count in grouped.items()
        ]

    def _analyzer_groups(self, weights_key: str) -> list[_Group]:
        """The weighted fields with postings, grouped by analyzer, each group with its
        analyzer's :func:`~bnsearch.analysis.forms.inflection_split` when the exact-form
        bonus is on and its fields' spelling indexes (:meth:`_variants` reads them for
        every new word; kept per snapshot and weights)."""
        key = (PER_WEIGHTS, weights_key)
        groups: list[_Group] | None = self.ctx.interned.get(key)
        if groups is None:
            by_analyzer: dict[int, tuple[Analyzer, list[str]]] = {}
            for field in self.weights:
                if self.ctx.has_postings(field):
                    analyzer = self.ctx.analyzer(field)
                    by_analyzer.setdefault(id(analyzer), (analyzer, []))[1].append(field)
            forms = self.ctx.params.exact_forms > 0
            spelling = self.ctx.spelling
            groups = [
                (
                    analyzer,
                    tuple(fields),
                    inflection_split(analyzer) if forms else None,
                    tuple((field, spelling(field)) for field in fields),
                )
                for analyzer, fields in by_analyzer.values()
            ]
            self.ctx.intern(key, groups)
        return groups

    def _known_words(self, weights_key: str) -> dict[Any, Any]:
        """What :meth:`words` keeps per word at these weights: ``(term, count, form flag)
        -> [unit, its spelling units or None]`` and ``(term, count) -> spelling units``
        (shared by the word's forms): one lookup a word for a new query of words met
        before. Bounded by :data:`~.context.INTERNED_ENTRIES`, and dropped with the words
        by :meth:`Context.forget_queries`."""
        key = ("words", weights_key)
        known: dict[Any, Any] | None = self.ctx.interned.get(key)
        if known is None or len(known) >= INTERNED_ENTRIES:
            known = {}
            self.ctx.interned[key] = known
        return known

    def _spellings(
        self, term: str, count: int, found: tuple[tuple[str, tuple[str, ...], float], ...]
    ) -> tuple[tuple[str, Unit], ...]:
        """The folded-spelling units of a word of a plain-words query, each with its
        variant: each other spelling of it the index holds (``found``: :meth:`_variants`),
        as its own unit weighted ``BM25FParams.spelling`` and scaled to the word's idf.
        (:meth:`words` skips the variants that are themselves query words.)"""
        weight = self.ctx.params.spelling
        return tuple(
            (
                variant,
                _word_unit(
                    f"{term} ~ {variant}",
                    count * weight * scale,
                    variant_fields,
                    (variant,),
                    self.weights,
                    0,
                ),
            )
            for variant, variant_fields, scale in found
        )

    def _variants(
        self, term: str, fields: tuple[str, ...], spellings: _Spellings
    ) -> tuple[tuple[str, tuple[str, ...], float], ...]:
        """Each other spelling of ``term`` the index holds in ``fields``
        (:meth:`.spelling.SpellingIndex.variants`; ``spellings``: each field's index),
        with the fields that hold it and its scale: the word's idf over the variant's
        (when the index has the word: a common word's rare variant is no stronger
        evidence than the word), else 1. Not kept here: :meth:`words` keeps the units
        made of them per word and weights (:meth:`_known_words`), and the lookups it
        makes are remembered where they are made (the spelling index's variants, the
        reader's document frequencies); an entry of its own cost a new word more than
        those lookups again cost a weights or repeat count met anew."""
        ctx = self.ctx
        df = ctx.max_doc_freq(fields, term)
        found: dict[str, list[str]] = {}
        for field, spelling in spellings:
            variants = spelling.variants(term)
            if not df:  # a slip may hide an ending from the stemmer: করেছেণ
                analyzer = ctx.analyzer(field)
                swapped = analyzer.filter_words(confusable_variants(term))
                variants += tuple(t for t in swapped if t is not None and spelling.has(t))
            for variant in variants:  # (distinct: a field's spellings, then its slips)
                if variant != term:
                    held = found.get(variant)
                    if held is None:
                        found[variant] = [field]
                    elif held[-1] != field:
                        held.append(field)
        if not found:  # (most words have no other spelling: no idf to figure)
            return ()
        out = []
        typed_idf = ctx.idf(df) if df else 0.0
        for variant, variant_fields in found.items():
            scale = 1.0
            if typed_idf:
                variant_df = ctx.max_doc_freq(variant_fields, variant)
                scale = typed_idf / ctx.idf(variant_df)
            out.append((variant, tuple(variant_fields), scale))
        return tuple(out)

    def _bool(self, query: Bool) -> Compiled | None:
        must = self._fold(query.must, add=True)
        should = self._fold(query.should, add=True)
        must_not = self._fold(query.must_not, add=False)
        if not must and not should:
            return None
        only = None
        if not must and not must_not and len(should) == 1:
            only = should[0]
        elif len(must) == 1 and not should and not must_not:
            only = must[0]
        if isinstance(only, Unit):
            return self.unit(**{**only.fields(), "boost": only.boost * query.boost})
        if only is not None:
            return attrs.evolve(only, boost=only.boost * query.boost)
        return Node(must=must, should=should, must_not=must_not, boost=query.boost)

    def _fold(self, clauses: tuple[Query, ...], *, add: bool) -> tuple[Compiled, ...]:
        """The compiled ``clauses``, those that read the same folded into the first:
        with their boosts added (``add``: a clause's score is its boost times what it
        reads, so ``প্র* প্র*`` scores what ``প্র*^2`` does and ``নামাজ^2 নামাজ`` what
        ``নামাজ^3`` does, evaluated once) or kept once (a ``must_not`` clause has no
        score). The same means the same kind, terms, phrases, prefixes and field weights
        whatever the boost (:func:`_shape_key` without the labels); a folded unit's label
        (which explain shows) is its clauses' labels as typed, joined: ``নামাজ^2 নামাজ``.
        A unit with an exact-form bonus is not folded (the bonus does not scale with the
        boost; plain words are folded by :meth:`words`): each such unit keeps a key of
        its own, numbered by the entries before it (which only grow), so two never meet."""
        #: key -> (the first clause, the boosts added, the clauses' unit labels)
        folded: dict[tuple[Any, ...], tuple[Compiled, list[float], list[str]]] = {}
        for clause in map(self.compile, clauses):
            if clause is None:
                continue
            label = [clause.label] if isinstance(clause, Unit) else []
            if isinstance(clause, Unit) and clause.form_flag:
                folded[("apart", len(folded))] = (clause, [clause.boost], label)
                continue
            key = _shape_key(clause, labels=False)
            first = folded.get(key)
            if first is None:
                folded[key] = (clause, [clause.boost], label)
            elif add:
                first[1][0] += clause.boost
                first[2].extend(label)
        return tuple(
            self._boosted(clause, boost, labels) for clause, (boost,), labels in folded.values()
        )

    def _boosted(self, clause: Compiled, boost: float, labels: list[str]) -> Compiled:
        """``clause`` with ``boost`` (a unit: the interned one, :meth:`unit`, labelled
        with the distinct ``labels`` of the clauses folded into it)."""
        label = " ".join(dict.fromkeys(labels))
        if boost == clause.boost and (not isinstance(clause, Unit) or label == clause.label):
            return clause
        if isinstance(clause, Unit):
            return self.unit(**{**clause.fields(), "boost": boost, "label": label or clause.label})
        return attrs.evolve(clause, boost=boost)

    def keyword_key(self, text: str) -> str | None:
        """The keyword-field term of ``text`` (a section name or ``a > b`` path)."""
        values = keyword_values([part for part in text.split(">")])
        return values[-1] if values else None

    def _term(self, query: Term) -> Compiled | None:
        fields = self.fields_of(query.field)
        terms: dict[str, tuple[str, ...]] = {}
        phrase_needed = False
        for field in fields:
            if not self.ctx.is_text(field):
                key = self.keyword_key(query.text)
                if key is not None:
                    terms[field] = (key,)
                continue
            sequence = self.ctx.analyzer(field).term_sequence(query.text)
            found = [t for t in sequence if t is not None]
            if len(found) > 1:
                phrase_needed = True
            elif found:
                terms[field] = (found[0],)
        if phrase_needed:
            return self._phrase(query.text, query.field, query.boost, str(query))
        if self.romanized and is_romanized(query.text):
            for field in fields:
                if not self.ctx.is_text(field) or not self.ctx.has_postings(field):
                    continue
                analyzer = self.ctx.analyzer(field)
                found_terms = self.ctx.roman(field).candidates(
                    query.text, normalize=analyzer.term, limit=ROMAN_EXPANSIONS
                )
                if found_terms:
                    terms[field] = tuple(dict.fromkeys((*terms.get(field, ()), *found_terms)))
        if not terms:
            return None
        return self.unit(
            kind="terms", label=str(query), boost=query.boost, terms=terms, weights=fields
        )

    def _phrase_fields(
        self, field: str | None
    ) -> tuple[dict[str, float], tuple[tuple[str, Analyzer | None, bool], ...]]:
        """The fields a phrase searches (:meth:`fields_of`) and, per one of them holding
        postings (nothing to read elsewhere: as words() and prefixes skip them), its
        analyzer (None: a keyword field) and whether it keeps positions; kept per
        snapshot, weights and field (a new phrase asks nothing of the schema)."""
        key = (PER_WEIGHTS, "phrase fields", self.weights_key, field)
        found: tuple[dict[str, float], tuple[tuple[str, Analyzer | None, bool], ...]] | None
        found = self.ctx.interned.get(key)
        if found is None:
            ctx = self.ctx
            fields = self.fields_of(field)
            searched = []
            for name in fields:
                if ctx.has_postings(name):
                    text = ctx.is_text(name)
                    analyzer = ctx.analyzer(name) if text else None
                    searched.append((name, analyzer, text and ctx.schema[name].positions))
            found = ctx.intern(key, (fields, tuple(searched)))
        return found

    def _phrase(self, text: str, field: str | None, boost: float, label: str) -> Compiled | None:
        fields, searched = self._phrase_fields(field)
        phrases: dict[str, tuple[tuple[int, str], ...]] = {}
        singles: dict[str, tuple[str, ...]] = {}
        analyzed: dict[int, tuple[tuple[int, str], ...]] = {}  # fields sharing an analyzer
        for name, analyzer, positions in searched:
            if analyzer is None:  # (a keyword field)
                key = self.keyword_key(text)
                if key is not None:
                    singles[name] = (key,)
                continue
            words = analyzed.get(id(analyzer))
            if words is None:  # (one tuple for the fields sharing the analyzer)
                words = analyzed[id(analyzer)] = _phrase_words(analyzer.term_sequence(text))
            if len(words) == 1:
                singles[name] = (words[0][1],)
            elif words:
                if not positions:
                    # a phrase cannot be checked there: search the other fields
                    self.notes.append(
                        f"field {name!r} keeps no positions: phrase not searched there"
                    )
                    continue
                phrases[name] = words
        if phrases:
            return self._phrase_unit(text, field, boost, label, phrases, fields)
        if singles:
            return self.unit(kind="terms", label=label, boost=boost, terms=singles, weights=fields)
        if not searched:
            self.notes.append(f"{label}: no document holds the fields it searches")
        return None

    def _phrase_unit(
        self,
        text: str,
        field: str | None,
        boost: float,
        label: str,
        phrases: dict[str, tuple[tuple[int, str], ...]],
        fields: dict[str, float],
    ) -> Unit:
        """The phrase unit :meth:`_phrase` made of ``phrases``, one object per snapshot
        as :meth:`unit` keeps one, but interned by what :meth:`_phrase` made it of (its
        text, field, boost and label, and the weights' key: the snapshot's analysis
        gives the rest) rather than by the unit's fields: strings and a float, where
        :func:`_unit_key`'s nested tuples of words per field were made and hashed twice
        (1.8 us of a new phrase's preparation; this key about 0.1 us)."""
        key = ("phrase unit", text, field, boost, label, self.weights_key)
        found: Unit | None = self.ctx.interned.get(key)
        if found is None:  # (by place: no keywords' dict)
            made = Unit("phrase", label, boost, _NOTHING, phrases, fields)
            found = self.ctx.intern(key, made)
        return found

    def _prefix(self, query: Prefix) -> Compiled | None:
        fields = self.fields_of(query.field)
        terms: dict[str, tuple[str, ...]] = {}
        prefixes: dict[str, tuple[str, ...]] = {}
        for field in fields:
            if not self.ctx.has_postings(field):
                continue
            if self.ctx.is_text(field):
                prefix = self.ctx.analyzer(field).normalize(query.text)
            else:
                prefix = self.keyword_key(query.text) or ""
            if not prefix:
                continue
            prefixes[field] = (prefix,)
            found = self.ctx.dictionary(field).top_prefixed(prefix, PREFIX_EXPANSIONS)
            if found:
                terms[field] = tuple(found)
        if not prefixes:
            return None
        return self.unit(
            kind="terms",
            label=str(query),
            boost=query.boost,
            terms=terms,
            weights=fields,
            prefixes=prefixes,
        )

    def _fuzzy(self, query: Fuzzy) -> Compiled | None:
        """One unit per expansion, so each is scored on its own: a document's score
        from an expansion ``d`` letter edits away is at most ``FUZZY_FALLOFF ** d`` of
        what the word as typed (its stem: 0 edits) can give. Every expansion is scored
        with the idf of the most common one (a rare misspelling is no stronger evidence
        than the word), so the exact form ranks first and scores fall with distance."""
        fields = self.fields_of(query.field)
        found: dict[str, tuple[int, list[str]]] = {}  # term -> (edits, fields)
        for field in fields:
            if not self.ctx.is_text(field) or not self.ctx.has_postings(field):
                continue
            analyzer = self.ctx.analyzer(field)
            word = analyzer.normalize(query.text)
            if not word:
                continue
            dictionary = self.ctx.dictionary(field)
            expansions = dictionary.fuzzy(word, query.distance, limit=FUZZY_EXPANSIONS)
            stem = analyzer.term(query.text)
            if stem is not None and stem in dictionary:
                expansions.insert(0, (stem, 0))
            for term, edits in expansions:
                known = found.get(term)
                if known is None:
                    found[term] = (edits, [field])
                else:
                    found[term] = (min(known[0], edits), [*known[1], field])
        if not found:
            return None
        n = self.ctx.total_docs
        dfs = {t: max(self.ctx.doc_freq(f, t) for f in fs) for t, (_, fs) in found.items()}
        shared_idf = float(idf(n, max(dfs.values())))
        units = tuple(
            self.unit(
                kind="terms",
                label=f"{query} ({term})",
                boost=query.boost * FUZZY_FALLOFF**edits * shared_idf / float(idf(n, dfs[term])),
                terms={field: (term,) for field in term_fields},
                weights=fields,
            )
            for term, (edits, term_fields) in sorted(found.items(), key=lambda kv: kv[1][0])
        )
        return units[0] if len(units) == 1 else Node(should=units, best_of=True)


def _phrase_words(sequence: list[str | None]) -> tuple[tuple[int, str], ...]:
    """The words a phrase's analysis kept, each with its place after the first kept
    word's (a dropped stopword keeps its place), as a phrase unit holds them: made once
    for the fields sharing an analyzer, by one loop."""
    words: list[tuple[int, str]] = []
    first = -1
    for place, term in enumerate(sequence):
        if term is not None:
            if first < 0:
                first = place
            words.append((place - first, term))
    return tuple(words)


def _word_unit(
    label: str,
    boost: float,
    fields: Iterable[str],
    term: tuple[str],
    weights: Mapping[str, float],
    flag: int,
) -> Unit:
    """The unit of one term in ``fields`` (a plain word's, a spelling variant's), made
    by place (a keywords' dict was a third of making it)."""
    return Unit(
        "terms", label, boost, dict.fromkeys(fields, term), _NOTHING, weights, _NOTHING, flag
    )


def _unflagged(analyzer: Analyzer, text: str) -> list[tuple[str, int]]:
    """The terms of ``text`` with no form flag (the exact-form bonus is off)."""
    return [(term, 0) for term in analyzer.terms(text)]


def _unit_key(unit: Unit) -> tuple[Any, ...]:
    """What makes two units the same (every field; mappings by their items)."""
    return (*_shape_key(unit), unit.boost)


def _shape_key(clause: Compiled, *, labels: bool = True) -> tuple[Any, ...]:
    """What makes two compiled clauses the same but for their own boost (a node: its
    clauses with theirs); ``labels=False``: also whatever their units' labels (what
    they read and how it scores, not how it was typed)."""
    if isinstance(clause, Node):
        return (
            "node",
            clause.best_of,
            *(
                tuple((*_shape_key(c, labels=labels), c.boost) for c in part)
                for part in (clause.must, clause.should, clause.must_not)
            ),
        )
    unit = clause
    return (
        "unit",
        unit.kind,
        unit.label if labels else None,
        tuple(unit.terms.items()),
        tuple(unit.phrases.items()),
        tuple(unit.weights.items()),
        tuple(unit.prefixes.items()),
        unit.form_flag,
    )
