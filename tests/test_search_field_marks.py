"""The compiled marks of a segment field (``_snippets.FieldMarks``) read postings,
positions and span pointers of any integer width alike, and a damaged doc's spans are
the index's error on the snippet path too."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from bnsearch.articles import Article
from bnsearch.errors import IndexFormatError
from bnsearch.index import Index
from bnsearch.search import spans
from bnsearch.search.highlight import BLANK_EDGES, MAX_MATCHES, TermMatcher

BODIES = [
    "ঢাকা শহরে আজ বৃষ্টি হয়েছে। ঢাকা ভিজেছে, শহর থেমে ছিল। প্রধানমন্ত্রী বললেন প্রস্তুতি চলছে।",
    "চট্টগ্রামে রোদ। ঢাকা শহর থেকে খবর এল: প্রকল্প শুরু হবে।",
    "কোনো মিল নেই এখানে।",
]


def _lookup() -> tuple[Index, spans.SpanLookup, Any]:
    if spans.core is None:
        pytest.skip("the compiled highlight code is not built (or the numpy path is forced)")
    index = Index.in_memory()
    with index.writer() as writer:
        for number, body in enumerate(BODIES * 4):
            writer.add(Article(id=f"a{number}", title=f"ঢাকা শহর {number}", body=body))
    segment = index.reader().segments[0]
    analyzer = index.schema.analyzer("body")
    first, second = analyzer.terms("ঢাকা শহর")
    matcher = TermMatcher(
        terms=frozenset(analyzer.terms("বৃষ্টি খবর")),
        prefixes=("প্র",),
        phrases=(((0, first), (1, second)),),
        weights={first: 2.0},
    )
    return index, spans.SpanLookup(segment, "body", matcher), segment


def _marks(lookup: spans.SpanLookup, cast: dict[str, Any]) -> Any:
    """A FieldMarks over the lookup's arrays, those named in ``cast`` as that dtype."""
    data, pointers, widths = lookup._spans
    arrays = {
        "pointers": pointers,
        "widths": widths,
        "docs": lookup._docs,
        "tfs": lookup._tfs_all,
        "pos": lookup._pos,
    }
    arrays.update({name: np.asarray(arrays[name]).astype(dtype) for name, dtype in cast.items()})
    assert spans.core is not None
    return spans.core.FieldMarks(
        data,
        arrays["pointers"],
        arrays["widths"],
        arrays["docs"],
        arrays["tfs"],
        arrays["pos"],
        lookup._begins,
        lookup._ends,
        lookup._firsts,
        [None] * len(lookup._begins),
        lookup._word_keys,
        lookup._weights,
        lookup._phrases,
        spans._SENTENCE_ENDS,
        BLANK_EDGES,
        MAX_MATCHES,
    )


@pytest.mark.parametrize(
    "cast",
    [
        {"docs": np.int64, "tfs": np.int64, "pos": np.int64, "pointers": np.int64},
        {"docs": np.int32, "tfs": np.uint16, "pos": np.uint32, "pointers": np.uint32},
        {"docs": np.uint16, "tfs": np.uint8, "pos": np.uint8, "widths": np.uint16},
    ],
)
def test_columns_of_any_width_give_the_same_marks(
    monkeypatch: pytest.MonkeyPatch, cast: dict[str, Any]
) -> None:
    _index, lookup, segment = _lookup()
    other = _marks(lookup, cast)
    marked = 0
    for doc in range(segment.max_doc):
        text = segment.stored(doc)["body"]
        for chars in (0, 30, 200):
            expected = lookup._compiled(doc, text, chars)
            assert other.marks(doc, text, chars) == expected
            marked += bool(expected[2] if chars else expected)
    assert marked > 10  # the matches (words, prefixes, the phrase) were found


def test_arrays_that_are_not_integer_columns_are_refused() -> None:
    _index, lookup, _ = _lookup()
    for cast in ({"docs": np.float64}, {"pos": np.dtype(">u2")}):
        with pytest.raises(ValueError, match="column"):
            _marks(lookup, cast)
    with pytest.raises(ValueError, match="column"):
        spans.core.FieldMarks(  # type: ignore[union-attr]
            *lookup._spans[:2],
            np.zeros((2, 2), dtype=np.uint8),
            *(np.zeros(0, dtype=np.int64) for _ in range(6)),
            [],
            np.zeros(0, dtype=np.int64),
            np.zeros(0),
            [],
            "।",
            BLANK_EDGES,
            8,
        )


def test_a_damaged_docs_spans_are_an_index_format_error_on_the_snippet_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _index, lookup, segment = _lookup()
    text = segment.stored(0)["body"]
    assert lookup.fragment(0, text).spans  # healthy
    data, pointers, widths = lookup._spans
    for cut in (3, 4):  # half a word; fewer words than the positions need
        damaged = np.asarray(pointers, dtype=np.int64).copy()
        damaged[1] = cut
        monkeypatch.setattr(lookup, "_spans", (data, damaged, widths))
        monkeypatch.setattr(lookup, "_field_marks", _marks(lookup, {}))
        with pytest.raises(IndexFormatError, match="damaged"):
            lookup.fragment(0, text)
    with pytest.raises(IndexFormatError, match="damaged"):
        lookup.fragment(segment.max_doc + 5, text)  # a doc past the segment's spans


#: Words of the hostile texts, and what stands between and inside them: astral letters
#: and emoji, joiners, a byte-order mark, marks that combine with nothing, Unicode line and
#: paragraph separators, NEL, CRLF, ideographic space, sentence ends, a bidi override.
_WORDS = ["ঢাকা", "শহর", "বৃষ্টি", "প্রধানমন্ত্রী", "খবর", "নদী", "সেতু", "কৃষক"]
_ODD = [
    "😀", "𝔸", "\u200d", "\u200c", "\u00a0", "\u2028", "\u2029", "\x85", "\u0301", "\u09bc",
    "\u09cd", "\ufeff", "\u202e", "\t", "\n", "\r\n", "।", "?", "!", "\u3000", "৳", "𝒳𝒴",
]  # fmt: skip


def _hostile_text(rng: Any, words: int) -> str:
    parts: list[str] = []
    for _ in range(words):
        draw = rng.random()
        if draw < 0.55:
            parts.append(rng.choice(_WORDS))
        elif draw < 0.8:
            parts.append(rng.choice(_ODD))
        elif draw < 0.85:  # a very long word (longer than most windows)
            parts.append(rng.choice(_WORDS) * rng.randrange(20, 120))
        else:  # a word glued to odd characters
            parts.append(rng.choice(_WORDS) + rng.choice(_ODD) + rng.choice(_WORDS))
        parts.append(rng.choice([" ", " ", "  ", "\n", "। ", "", rng.choice(_ODD)]))
    return "".join(parts)


def test_hostile_texts_give_the_reference_snippets_and_marks() -> None:
    """Texts of odd (surrogate-free) Unicode, very long words, empty fields, a match at
    offset 0 or at a field's end, windows of 1 character to longer than the text: the
    compiled snippets and marks are what the Python code makes of the numpy path's kept
    words, and a search's highlights are those of re-analysis on both paths."""
    import random

    from bnsearch.search import Searcher
    from bnsearch.search.highlight import best_kept_fragment, highlight_all_kept
    from bnsearch.search.hits import LazyHighlights, highlight_row

    if spans.core is None:
        pytest.skip("the compiled highlight code is not built (or the numpy path is forced)")
    rng = random.Random(606)
    index = Index.in_memory()
    with index.writer() as writer:
        for number in range(90):
            body = "" if number % 11 == 0 else _hostile_text(rng, rng.randrange(0, 50))
            body = rng.choice(_WORDS) + body if number % 7 == 0 else body  # a match at 0
            title = _hostile_text(rng, rng.randrange(0, 5)) or rng.choice(_WORDS)
            writer.add(Article(id=f"h{number}", title=title, body=body))
    segment = index.reader().segments[0]
    analyzer = index.schema.analyzer("body")
    compared = marked = 0
    for _ in range(12):
        terms = [t for w in rng.sample(_WORDS, rng.randrange(1, 4)) for t in analyzer.terms(w)]
        first, second, third = (analyzer.terms(w)[0] for w in rng.sample(_WORDS, 3))
        matcher = TermMatcher(
            terms=frozenset(terms),
            prefixes=tuple(rng.sample(["প্র", "ঢা", "ক"], rng.randrange(0, 3))),
            phrases=(((0, first), (1, second)), ((0, second), (2, third))),
            weights={t: rng.choice([0.5, 1.0, 3.0]) for t in terms},
        )
        for field in ("body", "title"):
            lookup = spans.SpanLookup(segment, field, matcher)
            for doc in range(segment.max_doc):
                text = segment.stored(doc)[field] or ""
                reference = lookup._words(doc, text)
                for chars in (1, 5, 40, 100_000):
                    mine = lookup.fragment(doc, text, fragment_chars=chars)
                    assert mine == best_kept_fragment(reference, matcher, fragment_chars=chars)
                    compared += 1
                    marked += bool(mine.spans)
                assert lookup.marks(doc, text) == highlight_all_kept(reference, matcher)
    assert compared > 8000 and marked > 2000
    highlighted = 0
    for compiled in (True, False):
        searcher = Searcher(index.reader())
        with pytest.MonkeyPatch.context() as patch:
            if not compiled:
                patch.setattr(spans, "core", None)
            for query in [*_WORDS, "ঢাকা শহর", '"ঢাকা শহর"', "প্র*", "নদী~1", "😀 𝔸 ঢাকা"]:
                for hit in searcher.search(query, limit=40):
                    marks = hit.highlights
                    assert isinstance(marks, LazyHighlights)
                    assert dict(marks) == highlight_row(marks._ctx, marks._row, marks.matchers)
                    highlighted += any(f.spans for f in dict(marks).values())
    assert highlighted > 300


@pytest.mark.parametrize("docs_dtype", [np.uint16, np.int32])
def test_every_candidates_postings_found_wherever_their_docs_crowd(docs_dtype: Any) -> None:
    """A doc's postings among candidates of 0 to 5,000 postings whose docs crowd at the
    ends of a segment, in one cluster, or spread evenly: the even-spread guess of where
    a doc stands is far off in most, and a list of one, or of just over the guessing
    size, has its own steps. Every doc of the segment is asked for, and ``positions``
    gives what a plain search of each candidate's postings gives (a guess's range that
    missed its doc's place, or a wrong first or last doc, fails it)."""
    if spans.core is None:
        pytest.skip("the compiled highlight code is not built (or the numpy path is forced)")
    import bisect
    import random

    rng = random.Random(1313)
    max_doc = 20_000 if docs_dtype is np.uint16 else 70_000
    lists: list[list[int]] = []
    for size in (0, 1, 2, 31, 32, 33, 34, 100, 700, 5000):
        edges = [rng.randrange(0, 40) for _ in range(size // 2)]
        edges += [max_doc - 1 - rng.randrange(0, 40) for _ in range(size - size // 2)]
        cluster = [max_doc // 3 + rng.randrange(0, 3 * size + 1) for _ in range(size)]
        even = rng.sample(range(max_doc), size)
        lists += [sorted(set(edges)), sorted(set(cluster)), sorted(even)]
    docs = np.array([d for ds in lists for d in ds], dtype=docs_dtype)
    tfs = np.array([rng.randrange(1, 4) for _ in range(len(docs))], dtype=np.uint8)
    pos = np.arange(int(tfs.sum()), dtype=np.uint32)
    sizes = np.array([len(ds) for ds in lists], dtype=np.int64)
    begins = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    ends = begins + sizes
    tf_sums = np.concatenate([[0], np.cumsum(tfs, dtype=np.int64)])
    firsts = tf_sums[begins].astype(np.int64)
    count = len(lists)
    marks = spans.core.FieldMarks(
        np.zeros(0, dtype=np.uint8),
        np.zeros(max_doc + 1, dtype=np.int64),
        np.ones(max_doc, dtype=np.uint8),
        docs,
        tfs,
        pos,
        begins,
        ends,
        firsts,
        [None] * count,
        np.zeros(count, dtype=np.int64),
        np.ones(1),
        [],
        spans._SENTENCE_ENDS,
        BLANK_EDGES,
        MAX_MATCHES,
    )
    asked = sorted({d for ds in lists for d in ds} | set(range(0, max_doc, 97)) | {max_doc - 1})
    found = 0
    for doc in asked:
        expected = []
        for number, ds in enumerate(lists):
            at = bisect.bisect_left(ds, doc)
            if at < len(ds) and ds[at] == doc:
                start = int(tf_sums[begins[number] + at])
                expected.append((number, list(range(start, start + int(tfs[begins[number] + at])))))
        assert marks.positions(doc) == expected, doc
        found += len(expected)
    assert found == len(docs)  # every posting found once
