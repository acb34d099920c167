"""BM25F: the ranking function, its parameters, and its vectorized pieces.

For a query term t and a document d::

    x(d)     = sum over fields f of  w_f * tf_f(d) / (1 - b_f + b_f * len_f(d) / avglen_f)
    score(d) = idf(t) * x(d) / (k1 + x(d))
    idf(t)   = ln(1 + (N - df + 0.5) / (df + 0.5))      (never negative)

where df counts documents containing t in *any* of the fields searched, and N, df and
avglen_f are global over the whole index (never per segment). The field-weighted,
length-normalized frequencies are summed *before* saturation, which is what makes this
BM25F rather than a sum of per-field BM25 scores.

Vectorized form (Tantivy's trick): per (field, query) a 256-entry table
``w_f / (1 - b_f + b_f * NORM_DECODE[code] / avglen_f)`` turns the one-byte length norms
into multipliers, so a posting slice costs one gather of norms, one gather in the table
and a multiply: ``x = tfs * table[norms[doc_ids]]``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]


def _check_range(low: float, high: float) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
        if not (isinstance(value, (int, float)) and low <= value <= high):
            raise ValueError(f"{attribute.name} must be in [{low}, {high}], got {value!r}")

    return check


def _check_field_b(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Mapping):
        raise ValueError("field_b must map field names to b values")
    for name, b in value.items():
        if not (isinstance(b, (int, float)) and 0.0 <= b <= 1.0):
            raise ValueError(f"field_b[{name!r}] must be in [0, 1], got {b!r}")


def _frozen_mapping(value: Mapping[str, float] | None) -> Mapping[str, float]:
    return dict(value or {})


@attrs.frozen(kw_only=True)
class BM25FParams:
    """Ranking parameters.

    The defaults (``k1=0.3``, ``b=0.75``, ``proximity=1.0``, ``exact_forms=1.0``,
    ``spelling=0.5``) were chosen by 2-fold cross-validation on the BQA development
    questions (see ``docs/relevance.md``): ``k1=1.2`` ranks them about 0.02 MRR@10 lower,
    proximity adds about 0.026 and exact forms about 0.01; ``exact_forms=1.0`` beat 0.5 on
    each half of the split.

    Attributes:
        k1: term-frequency saturation (0 = presence only).
        b: default length normalization of every field (0 = none, 1 = full).
        field_b: per-field ``b`` overriding ``b`` (short fields such as titles often
            want less length normalization).
        link_prior: weight of the optional in-link prior, ``link_prior * ln(1 + in_links)``
            added to the score of every matching document; 0 turns it off.
        proximity: weight of word pairs of a plain-words query found next to each other
            (in the query's order) in a document; each such pair scores as a BM25F phrase
            times this weight. 0 turns it off.
        exact_forms: weight of a query word typed in an inflected form (মামলাটি) that the
            document uses in that same form, not only another form of its stem; each such
            word adds its idf times this weight to every match. 0 turns it off.
        rerank_depth: proximity is added to this many best documents (at least the page).
        spelling: weight of the folded-spelling match of a plain-words query: a word
            also matches the index's spellings of it that differ only in confusable
            letters (ি/ী, ু/ূ, শ/স/ষ, ন/ণ, জ/য, র/ড়, ং/ঙ; see
            :mod:`bnsearch.search.spelling`), each scored as its own word times this
            weight, with the idf of the word as typed when the index has it. So a slip
            (নির্বাচণ) still finds নির্বাচন. 0 turns it off.
    """

    k1: float = attrs.field(default=0.3, validator=_check_range(0.0, 100.0))
    b: float = attrs.field(default=0.75, validator=_check_range(0.0, 1.0))
    field_b: Mapping[str, float] = attrs.field(
        factory=dict, converter=_frozen_mapping, validator=_check_field_b, hash=False
    )
    link_prior: float = attrs.field(default=0.0, validator=_check_range(0.0, 100.0))
    proximity: float = attrs.field(default=1.0, validator=_check_range(0.0, 100.0))
    exact_forms: float = attrs.field(default=1.0, validator=_check_range(0.0, 100.0))
    rerank_depth: int = attrs.field(default=50, validator=_check_range(1, 100_000))
    spelling: float = attrs.field(default=0.5, validator=_check_range(0.0, 100.0))

    def b_of(self, field: str) -> float:
        """The length normalization of ``field``."""
        return float(self.field_b.get(field, self.b))


def idf(total_docs: int, doc_freq: int | npt.NDArray[Any]) -> Any:
    """Lucene's non-negative BM25 idf: ``ln(1 + (N - df + 0.5) / (df + 0.5))``."""
    if isinstance(doc_freq, np.ndarray):
        n = max(int(total_docs), 0)
        df = np.minimum(doc_freq.astype(np.float64), n)
        return np.log1p((n - df + 0.5) / (df + 0.5))
    return scalar_idf(int(total_docs), int(doc_freq))


def scalar_idf(total_docs: int, doc_freq: int) -> float:
    """:func:`idf` of one ``doc_freq`` (both ints): the same float, without the array
    test and conversions (0.46 us a call there; a new word's idf and the rerank's)."""
    n = total_docs if total_docs > 0 else 0
    df = float(doc_freq if doc_freq < n else n)
    return math.log1p((n - df + 0.5) / (df + 0.5))


def norm_table(
    decode: npt.NDArray[np.float64], *, avg_length: float, b: float, weight: float
) -> FloatArray:
    """Per-code multiplier ``weight / (1 - b + b * length / avg_length)`` (256 entries)."""
    if avg_length <= 0.0 or b == 0.0:
        flat: FloatArray = np.full(decode.shape, weight, dtype=np.float32)
        return flat
    # length 0 with b = 1 would divide by zero; such a doc has no postings in the field
    denominator = np.maximum((1.0 - b) + b * (decode / avg_length), 1e-9)
    table: FloatArray = (weight / denominator).astype(np.float32)
    return table


def saturate(x: FloatArray, *, k1: float, weight: float) -> FloatArray:
    """``weight * x / (k1 + x)``: the BM25 saturation, scaled by idf times boost."""
    if k1 == 0.0:
        present: FloatArray = np.where(x > 0, np.float32(weight), np.float32(0.0)).astype(
            np.float32
        )
        return present
    out: FloatArray = x / (x + np.float32(k1))
    out *= np.float32(weight)
    return out


def top_k(scores: FloatArray, k: int, ties: npt.NDArray[Any] | None = None) -> npt.NDArray[np.intp]:
    """Indices of the ``k`` largest scores, best first; ties go to the lower index, or
    to the lower value of ``ties`` (same length as ``scores``) when given."""
    n = scores.shape[0]
    if k <= 0 or n == 0:
        return np.empty(0, dtype=np.intp)
    if k < n:
        part = np.argpartition(-scores, k - 1)[:k]
        kth = scores[part].min()
        tied = np.flatnonzero(scores == kth)
        if len(tied) > 1:  # argpartition keeps any of the ties at the k-th place
            above = np.flatnonzero(scores > kth)
            if ties is not None:
                tied = tied[np.argsort(ties[tied], kind="stable")]
            part = np.concatenate([above, tied[: k - len(above)]])
    else:
        part = np.arange(n)
    order = np.lexsort((part if ties is None else ties[part], -scores[part]))
    return part[order]
