"""The index schema: which fields exist, how each is analyzed and weighted.

A :class:`FieldSpec` names a field, its kind (``"text"``: analyzed, with positions and a
length norm; ``"keyword"``: exact normalized values for filters and facets), the article
attribute that feeds it, its default weight for BM25F, and the analyzer preset used for
text fields. :func:`news_schema` is the default. A schema serializes to JSON together with
each analyzer's identity; the manifest records it so that an index opened by code whose
analyzers produce different terms fails loudly (:class:`AnalyzerMismatchError`).

Analyzers are named presets (see :data:`ANALYZER_PRESETS`) so that ``Index.open(path)``
can rebuild the schema from disk without the caller repeating it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from bnsearch.analysis import Analyzer, bengali_analyzer, default_analyzer, normalize_text
from bnsearch.errors import AnalyzerMismatchError, SchemaError

TEXT = "text"
KEYWORD = "keyword"

#: Article attributes a field can be fed from. ``related`` gives the related headlines of
#: the page; ``anchors`` gives the headlines of other articles' links that point here.
SOURCES = frozenset(
    {"title", "body", "caption", "photo_credit", "related", "anchors", "section", "source", "url"}
)

#: Positions skipped between two values of a multi-valued field (related headlines,
#: anchors), so that a phrase never matches across two headlines.
POSITION_GAP = 16


def _bengali_nostem() -> Analyzer:
    return bengali_analyzer(stem=False)


def _bengali_keep_stopwords() -> Analyzer:
    return bengali_analyzer(stopwords=None)


def _bengali_loose() -> Analyzer:
    return bengali_analyzer(loose=True)


#: Named analyzers a text field may use. ``"bengali"`` is the shared default instance.
ANALYZER_PRESETS: Mapping[str, Callable[[], Analyzer]] = {
    "bengali": default_analyzer,
    "bengali-nostem": _bengali_nostem,
    "bengali-keep-stopwords": _bengali_keep_stopwords,
    "bengali-loose": _bengali_loose,
}


def _check_kind(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in (TEXT, KEYWORD):
        raise SchemaError(f"field kind must be 'text' or 'keyword', got {value!r}")


def _check_source(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in SOURCES:
        raise SchemaError(f"field source must be one of {sorted(SOURCES)}, got {value!r}")


def _stored_flag(value: Any, name: str) -> bool:
    """A true/false attribute of a stored schema: a JSON boolean, nothing else (a crafted
    ``""`` or ``0`` would otherwise turn phrase positions off without a word)."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return value


#: A field weight is 0 (the field is not searched) or from MIN_WEIGHT to MAX_WEIGHT: scores
#: are float32 sums of weighted term frequencies, where a larger weight overflows (inf,
#: then NaN, and hits the compiled path drops) and a smaller one vanishes (a match
#: scoring 0). The same range bounds query boosts (:mod:`bnsearch.search.query`).
MIN_WEIGHT = 1e-6
MAX_WEIGHT = 1e6


def valid_weight(value: object) -> bool:
    """Whether ``value`` is a field weight: a number, 0 or from MIN_WEIGHT to MAX_WEIGHT."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    return value == 0 or MIN_WEIGHT <= value <= MAX_WEIGHT


def _check_weight(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not valid_weight(value):
        raise SchemaError(
            f"field weight must be 0 or from {MIN_WEIGHT:g} to {MAX_WEIGHT:g}, got {value!r}"
        )


def _check_name(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value.isidentifier():
        raise SchemaError(f"field name must be an identifier, got {value!r}")


@attrs.frozen(kw_only=True)
class FieldSpec:
    """One field of the schema.

    Attributes:
        name: the field name used in queries (``title:ঢাকা``).
        kind: ``"text"`` (analyzed, positions, norms) or ``"keyword"`` (exact values).
        source: the :class:`~bnsearch.articles.Article` attribute that feeds the field.
        weight: default BM25F weight (a query may override it).
        analyzer: preset name from :data:`ANALYZER_PRESETS` (text fields only).
        positions: keep word positions (phrase queries); text fields only.
    """

    name: str = attrs.field(validator=_check_name)
    kind: str = attrs.field(default=TEXT, validator=_check_kind)
    source: str = attrs.field(validator=_check_source)
    weight: float = attrs.field(default=1.0, converter=float, validator=_check_weight)
    analyzer: str | None = attrs.field(default="bengali")
    positions: bool = attrs.field(default=True)

    @source.default
    def _source_default(self) -> str:
        return self.name

    @analyzer.validator
    def _check_analyzer(self, attribute: attrs.Attribute[Any], value: str | None) -> None:
        if self.kind == TEXT and value not in ANALYZER_PRESETS:
            raise SchemaError(
                f"field {self.name!r}: analyzer must be one of {sorted(ANALYZER_PRESETS)}, "
                f"got {value!r}"
            )

    @property
    def is_text(self) -> bool:
        return self.kind == TEXT

    def build_analyzer(self) -> Analyzer | None:
        """The analyzer of a text field (``None`` for keyword fields)."""
        if self.kind != TEXT or self.analyzer is None:
            return None
        return ANALYZER_PRESETS[self.analyzer]()


def _to_fields(value: Iterable[FieldSpec]) -> tuple[FieldSpec, ...]:
    fields = tuple(value)
    seen: set[str] = set()
    for spec in fields:
        if not isinstance(spec, FieldSpec):
            raise SchemaError(f"schema fields must be FieldSpec, got {type(spec).__name__}")
        if spec.name in seen:
            raise SchemaError(f"field {spec.name!r} is defined twice")
        seen.add(spec.name)
    if not fields:
        raise SchemaError("a schema needs at least one field")
    return fields


@attrs.frozen(kw_only=True)
class Schema:
    """An ordered set of fields. Look a field up with ``schema[name]``."""

    fields: tuple[FieldSpec, ...] = attrs.field(converter=_to_fields)
    _analyzers: dict[str, Analyzer] = attrs.field(
        init=False, factory=dict, eq=False, repr=False, hash=False
    )

    def __getitem__(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise SchemaError(f"unknown field {name!r}; fields are {self.names}")

    def __contains__(self, name: object) -> bool:
        return any(spec.name == name for spec in self.fields)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.fields)

    @property
    def text_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(spec for spec in self.fields if spec.kind == TEXT)

    @property
    def keyword_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(spec for spec in self.fields if spec.kind == KEYWORD)

    @property
    def weights(self) -> dict[str, float]:
        """Default BM25F weight of every text field."""
        return {spec.name: spec.weight for spec in self.text_fields}

    def analyzer(self, name: str) -> Analyzer:
        """The analyzer of text field ``name`` (one instance per schema, cached)."""
        cached = self._analyzers.get(name)
        if cached is None:
            built = self[name].build_analyzer()
            if built is None:
                raise SchemaError(f"field {name!r} is a keyword field and has no analyzer")
            self._analyzers[name] = cached = built
        return cached

    def identities(self) -> dict[str, str]:
        """Analyzer identity of every text field."""
        return {spec.name: self.analyzer(spec.name).identity for spec in self.text_fields}

    def to_json(self) -> dict[str, Any]:
        """JSON-ready description, with each text field's analyzer identity."""
        identities = self.identities()
        return {
            "fields": [
                {
                    "name": spec.name,
                    "kind": spec.kind,
                    "source": spec.source,
                    "weight": spec.weight,
                    "analyzer": spec.analyzer if spec.kind == TEXT else None,
                    "analyzer_identity": identities.get(spec.name),
                    "positions": spec.positions,
                }
                for spec in self.fields
            ]
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, check_identities: bool = True) -> Schema:
        """Rebuild a schema written by :meth:`to_json`.

        With ``check_identities``, every text field's analyzer must produce the identity
        recorded on disk, else :class:`AnalyzerMismatchError` names both.
        """
        try:
            entries = list(data["fields"])
            fields = [
                FieldSpec(
                    name=entry["name"],
                    kind=entry["kind"],
                    source=entry["source"],
                    weight=entry["weight"],
                    analyzer=entry.get("analyzer"),
                    positions=_stored_flag(entry.get("positions", True), "positions"),
                )
                for entry in entries
            ]
        except (KeyError, TypeError, ValueError) as error:
            raise SchemaError(f"schema description is malformed: {error!r}") from None
        schema = cls(fields=fields)
        if check_identities:
            recorded = {e["name"]: e.get("analyzer_identity") for e in entries}
            schema.check_identities(recorded)
        return schema

    def check_identities(self, recorded: Mapping[str, str | None]) -> None:
        """Raise :class:`AnalyzerMismatchError` if an analyzer differs from ``recorded``."""
        for name, identity in self.identities().items():
            if recorded.get(name) != identity:
                raise AnalyzerMismatchError(
                    f"field {name!r} was indexed with analyzer {recorded.get(name)!r} but this "
                    f"code's analyzer is {identity!r}; rebuild the index (bnsearch index ...) "
                    "or install the bnsearch/ICU version that wrote it"
                )

    def same_layout(self, other: Schema) -> bool:
        """True if both schemas define the same fields (names, kinds, sources, analyzers)."""

        def layout(schema: Schema) -> list[tuple[str, str, str, str | None, bool]]:
            return [(s.name, s.kind, s.source, s.analyzer, s.positions) for s in schema.fields]

        return layout(self) == layout(other)


def news_schema(
    *,
    title: float = 2.5,
    body: float = 1.0,
    caption: float = 0.8,
    related_headlines: float = 0.5,
    anchors: float = 1.5,
) -> Schema:
    """The default news schema; the keyword arguments are the default field weights.

    Text fields: ``title``, ``body``, ``caption``, ``related_headlines`` (headlines listed
    on this page), ``anchors`` (headlines on other pages that link here). Keyword field:
    ``section`` (each normalized breadcrumb element and the full path, joined by ``>``).
    """
    return Schema(
        fields=(
            FieldSpec(name="title", source="title", weight=title),
            FieldSpec(name="body", source="body", weight=body),
            FieldSpec(name="caption", source="caption", weight=caption),
            FieldSpec(name="related_headlines", source="related", weight=related_headlines),
            FieldSpec(name="anchors", source="anchors", weight=anchors),
            FieldSpec(
                name="section",
                kind=KEYWORD,
                source="section",
                weight=0.0,
                analyzer=None,
                positions=False,
            ),
        )
    )


def keyword_values(section: Sequence[str]) -> list[str]:
    """Keyword terms of a section path: each normalized element, then the full path."""
    parts = [normalize_text(part) for part in section]
    parts = [part for part in parts if part]
    if not parts:
        return []
    values = list(dict.fromkeys(parts))
    full = ">".join(parts)
    if full not in values:
        values.append(full)
    else:  # single element: keep the full path last, it is the facet value
        values.remove(full)
        values.append(full)
    return values
