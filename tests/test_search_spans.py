"""Highlights from the segments' word spans against re-analysis, on the real corpora.

A segment keeps, per document of its title, body and caption fields, where each word
stands (:mod:`bnsearch.index.wordspans`); a hit's snippet and marks are read from those
and the postings instead of analysing its text again. Re-analysis (the code that ran
before, still used for segments written without spans) is the reference: every hit of
every kind of query must get exactly its fragments (text, edges, marks). Merges carry the
spans; a segment without them falls back. Skipped without ../shared.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from bnsearch.articles import Article, read_articles
from bnsearch.errors import IndexFormatError
from bnsearch.index import Index, builder, wordspans
from bnsearch.search import Searcher, spans
from bnsearch.search import hits as hits_module
from bnsearch.search.highlight import (
    BLANK_EDGES,
    TermMatcher,
    best_kept_fragment,
    highlight_all_kept,
)
from bnsearch.search.hits import LazyHighlights, highlight_row

from .conftest import index_of, shared_file

SECTION = "ধর্ম"


def _corpora() -> tuple[list[Article], list[Article]]:
    bqa = list(read_articles(shared_file("corpus/bqa_passages.jsonl")))
    belin = list(read_articles(shared_file("corpus/belin_religious_news.jsonl")))
    return bqa, belin


@pytest.fixture(scope="module")
def corpus_index() -> Index:
    """BQA, BeliN, then 300 BeliN articles again and 100 BQA passages with a section
    (deletes in the first two segments); merges off, so three segments."""
    bqa, belin = _corpora()
    again = belin[::8][:300] + [
        Article(id=a.id, title=a.title, body=a.body, section=(SECTION,)) for a in bqa[::15][:100]
    ]
    return index_of(bqa, belin, again, keep_deletes=True)


def _words() -> list[str]:
    """Common, middling and rare body words, as typed in the text (punctuation and all)."""
    path = shared_file("corpus/belin_religious_news.jsonl")
    with path.open(encoding="utf-8") as lines:
        texts = [json.loads(line)["body"] for _, line in zip(range(60), lines, strict=False)]
    words = [w for text in texts for w in text.split()[3:300:29] if len(w) > 2]
    return list(dict.fromkeys(words))[:60]


def _queries() -> Iterator[tuple[str, dict[str, Any]]]:
    words = _words()
    assert len(words) >= 40
    for number, word in enumerate(words):
        other = words[(number * 7 + 3) % len(words)]
        third = words[(number + 11) % len(words)]
        yield word, {}
        yield f"{word} {other} {third}", {}
        yield f'"{word} {other}"', {}
        yield f"{re.sub(r'[^ঀ-৿]', '', word)[:2]}*", {}
        yield f"{re.sub(r'[^ঀ-৿]', '', word)[:4]}* {other}", {}
        yield f"{word}~1", {}
        yield f"{word} {other}", {"filter": {"section": SECTION}}
        yield f"+{word} {other} -{third}", {}
        yield f'title:{word} "{other} {third}"', {}
    yield "dhaka shohor", {}  # romanized words
    path = shared_file("corpus/bqa_passages.jsonl")
    with path.open(encoding="utf-8") as lines:
        texts = [json.loads(line)["body"] for _, line in zip(range(40), lines, strict=False)]
    for text in texts:  # two words side by side in a text: a phrase that is found
        pair = text.split()[7:9]
        yield f'"{" ".join(pair)}"', {}


def _reference(hit: Any) -> dict[str, Any]:
    """The hit's highlights by re-analysis of its stored text (the reference)."""
    marks = hit.highlights
    assert isinstance(marks, LazyHighlights)
    return highlight_row(marks._ctx, marks._row, marks.matchers)


def test_segments_keep_word_spans(corpus_index: Index) -> None:
    reader = corpus_index.reader()
    for segment in reader.segments:
        for field in ("title", "body", "caption"):
            assert segment.word_spans(field) is not None
        assert segment.word_spans("related_headlines") is None  # multi-valued: none kept
        starts, ends, dropped = wordspans.decode(*segment.word_spans("body"), 0)  # type: ignore[misc]
        body = segment.stored(0)["body"]
        kept = [body[s:e] for s, e, d in zip(starts, ends, dropped, strict=True) if not d]
        analyzer = corpus_index.schema.analyzer("body")
        surfaces = [body[t.start : t.end] for t in analyzer.tokens(body)]
        assert kept == surfaces


@pytest.fixture(params=["compiled", "numpy"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways a hit's kept words are read: the compiled code and the numpy code."""
    if request.param == "compiled":
        if spans.core is None:
            pytest.skip("the compiled highlight code is not built (or the numpy path is forced)")
    else:
        monkeypatch.setattr(spans, "core", None)
    return str(request.param)


def test_every_query_kind_gives_the_reference_marks(corpus_index: Index, path: str) -> None:
    searcher = Searcher(corpus_index.reader())
    compared = marked = phrases = 0
    for query, options in _queries():
        for hit in searcher.search(query, limit=10, **options):
            mine = dict(hit.highlights)
            assert mine == _reference(hit), (query, hit.id)
            compared += 1
            marked += sum(len(f.spans) for f in mine.values())
            body = mine.get("body")
            phrases += bool(body and any(" " in body.text[s:e] for s, e in body.spans))
    assert compared > 2000  # not a vacuous comparison
    assert marked > 5000
    assert phrases > 40  # phrases are marked whole, as phrases


def test_compiled_and_numpy_words_are_the_same(corpus_index: Index) -> None:
    if spans.core is None:
        pytest.skip("the compiled highlight code is not built (or the numpy path is forced)")
    reader = corpus_index.reader()
    words = _words()
    checked = deep = 0
    for number, segment in enumerate(reader.segments):
        matcher = TermMatcher(
            terms=frozenset(
                t for w in words[number::3] for t in segment.schema.analyzer("body").terms(w)
            ),
            prefixes=("প্র", "বা"),
            phrases=(((0, "ঢাকা"), (1, "শহর")),),
        )
        for field in ("title", "body"):
            lookup = spans.SpanLookup(segment, field, matcher)
            for doc in range(0, segment.max_doc, 7):
                text = segment.stored(doc)[field] or ""
                compiled, reference = lookup.words(doc, text), lookup._words(doc, text)
                assert list(compiled.starts) == reference.starts, (segment.name, field, doc)
                assert list(compiled.ends) == reference.ends
                assert list(map(bool, compiled.dropped)) == reference.dropped
                assert compiled.positions == reference.positions
                checked += len(compiled.positions)
            # long lists were read from their checkpoints (sums every CHECK_EVERY postings)
            deep += sum(table is not None for table in lookup._checkpoints)
    assert checked > 1000
    assert deep > 10


def test_a_segment_without_spans_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """Segments written before word spans (none kept) give the same highlights, and a
    merge with one of them keeps none (its highlights fall back too)."""
    bqa, belin = _corpora()
    with monkeypatch.context() as patch:
        patch.setattr(builder, "keeps_spans", lambda spec: False)
        old = index_of(bqa[:300], keep_deletes=True)
    assert old.reader().segments[0].word_spans("body") is None
    with old.writer() as writer:  # a new segment with spans beside the old one
        for article in belin[:200]:
            writer.add(article)
    reader = old.reader()
    assert [s.word_spans("body") is not None for s in reader.segments] == [False, True]
    searcher = Searcher(reader)
    words = _words()[:15]
    for query in [*words, f'"{words[0]} {words[1]}"', f"{words[2][:2]}*"]:
        for hit in searcher.search(query, limit=10):
            assert dict(hit.highlights) == _reference(hit), query
    with old.writer() as writer:
        writer.optimize()
    merged = old.reader()
    assert len(merged.segments) == 1
    assert merged.segments[0].word_spans("body") is None


def test_merges_carry_the_spans(corpus_index: Index) -> None:
    reader = corpus_index.reader()
    first, second = reader.segments[0], reader.segments[1]
    docs = [[0, 5, 17, first.max_doc - 1], [2, 3, second.max_doc - 1]]
    picked = wordspans.select(
        [first.word_spans("body"), second.word_spans("body")],
        [np.array(docs[0]), np.array(docs[1])],
    )
    copied = tuple(picked[s] for s in wordspans.SUFFIXES)
    sources = [(first, d) for d in docs[0]] + [(second, d) for d in docs[1]]
    for new_doc, (segment, doc) in enumerate(sources):
        spans = segment.word_spans("body")
        assert spans is not None
        for mine, theirs in zip(
            wordspans.decode(*copied, new_doc), wordspans.decode(*spans, doc), strict=True
        ):
            assert np.array_equal(mine, theirs)
    # a merge of everything (deletes dropped): the same highlights as re-analysis
    merged_index = index_of(*_corpora(), keep_deletes=True)
    with merged_index.writer() as writer:
        writer.optimize()
    merged = merged_index.reader()
    assert len(merged.segments) == 1 and merged.segments[0].word_spans("body") is not None
    searcher = Searcher(merged)
    for query in _words()[:20]:
        for hit in searcher.search(query, limit=10):
            assert dict(hit.highlights) == _reference(hit), query


def test_chunk_starts_are_where_split_cuts() -> None:
    bqa, belin = _corpora()
    texts = [a.body for a in belin[:200]] + [a.title for a in bqa[:200]]
    texts += ["", "  ", " a\u3000b\u2028c \u00a0 d\n", "\u0985 \u0986\t"]
    starts = wordspans.chunk_starts(texts).tolist()
    expected = [m.start() for text in texts for m in re.finditer(r"\S+", text)]
    assert starts == expected
    above = [c for c in range(0x3001, 0x110000) if chr(c).isspace()]
    assert above == []  # the table of whitespace stops at U+3001


def test_wide_words_and_gaps_take_wider_numbers() -> None:
    starts = np.array([0, 4, 10, 70_000, 70_010], dtype=np.int64)
    ends = np.array([3, 300, 20, 70_005, 70_011], dtype=np.int64)
    dropped = np.array([False, True, False, False, True])
    arrays = wordspans.encode(starts, ends, dropped, np.array([2, 1, 0, 2]))
    assert arrays[wordspans.SPANWIDTH].tolist() == [2, 1, 1, 4]
    decoded = [wordspans.decode(*arrays.values(), doc) for doc in range(4)]
    assert decoded[0][0].tolist() == [0, 4] and decoded[0][1].tolist() == [3, 300]
    assert decoded[0][2].tolist() == [False, True]
    assert decoded[1][0].tolist() == [10] and decoded[2][0].tolist() == []
    assert decoded[3][0].tolist() == [70_000, 70_010]
    assert decoded[3][2].tolist() == [False, True]
    problems: list[str] = []
    wordspans.check(*arrays.values(), 4, problems.append)
    assert problems == []
    wordspans.check(arrays[wordspans.SPANS][:-1], *list(arrays.values())[1:], 4, problems.append)
    assert problems  # a cut array is found


@pytest.mark.parametrize("damage", ["fewer words", "odd bytes"])
def test_damaged_spans_are_an_index_format_error(
    damage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = index_of([Article(id="a", title="ঢাকা শহর", body="ঢাকা শহরে আজ বৃষ্টি হয়েছে। ঢাকা ভিজেছে।")])
    segment = index.reader().segments[0]
    analyzer = index.schema.analyzer("body")
    matcher = TermMatcher(terms=frozenset(analyzer.terms("ঢাকা বৃষ্টি")))
    lookup = spans.SpanLookup(segment, "body", matcher)
    assert lookup.words(0, segment.stored(0)["body"]).positions  # healthy: found
    data, ptr, width = segment.word_spans("body")  # type: ignore[misc]
    cut = np.asarray(ptr, dtype=np.int64).copy()
    cut[1] = 4 if damage == "fewer words" else 3  # two words left, or half a word
    monkeypatch.setattr(segment, "word_spans", lambda field: (data, cut, width))
    lookup = spans.SpanLookup(segment, "body", matcher)  # over the damaged spans
    for path in (spans.core, None):
        monkeypatch.setattr(spans, "core", path)
        with pytest.raises(IndexFormatError, match="damaged"):
            lookup.words(0, segment.stored(0)["body"])


def test_flat_spans_are_the_tokenizers_spans() -> None:
    """The builder's flat spans (plain words read in C, ICU segmentations remembered
    from the analysis) are the tokenizer's spans, whether ICU ran for the terms first
    or not."""
    from bnsearch.analysis import pipeline

    bqa, belin = _corpora()
    chunks = list(dict.fromkeys(c for a in belin[:300] + bqa[:300] for c in a.body.split()))
    chunks += ["\u09bcক", "abc,", "#x#y", "১২,৫০০", "র\u200d্যাব", "ঢাকা-ঢাকা", "(পুলিশ)।"]
    tokenizer = pipeline.IcuWordTokenizer()
    expected = [tuple(c for span in spans for c in span) for spans in tokenizer.batch_spans(chunks)]
    pipeline._ICU_SPANS.clear()
    assert tokenizer.batch_flat_spans(chunks) == expected  # ICU here
    tokenizer.batch_words(chunks)  # the analysis segments them (and remembers)
    assert len(pipeline._ICU_SPANS) > 100
    assert tokenizer.batch_flat_spans(chunks) == expected  # remembered spans


def test_a_kept_query_reuses_its_matchers_and_lookups(corpus_index: Index, path: str) -> None:
    """The same query again (its plan kept) finds its matchers and span lookups made on
    the compiled path, and gives the same marks either way; another snapshot does not
    share them."""
    reader = corpus_index.reader()
    searcher = Searcher(reader)
    word = _words()[4]
    first = [dict(hit.highlights) for hit in searcher.search(f"{word} {_words()[9]}")]
    plan = searcher._prepare(f"{word} {_words()[9]}", None, romanized=False)
    assert plan.compiled is not None
    kept = hits_module.page_marks(searcher._ctx, plan.compiled)
    again = [dict(hit.highlights) for hit in searcher.search(f"{word} {_words()[9]}")]
    assert again == first and len(first) > 0
    if path == "compiled":
        assert hits_module.page_marks(searcher._ctx, plan.compiled)[1] is kept[1]
        assert kept[1]  # the page made its lookups in the kept dict
    else:  # the numpy path's lookups live for one page
        assert hits_module.page_marks(searcher._ctx, plan.compiled)[1] is not kept[1]
    other = Searcher(reader)
    assert hits_module.page_marks(other._ctx, plan.compiled)[1] is not kept[1]


def test_page_marks_keep_the_queries_used_last(
    corpus_index: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page marks a snapshot keeps are those of the queries it used last: a query
    used again between many others keeps its marks (the same objects), and the least
    recently used one is let go first, never more than the bound."""
    if hits_module.spans.core is None:
        pytest.skip("the numpy path keeps a query's lookups for one page only")
    monkeypatch.setattr(hits_module, "KEPT_QUERIES", 4)
    searcher = Searcher(corpus_index.reader())
    words = _words()
    plans = [
        searcher._prepare(f"{words[i]} {words[i + 1]}", None, romanized=False) for i in range(8)
    ]
    compiled = [plan.compiled for plan in plans]
    assert all(c is not None for c in compiled)
    hot = hits_module.page_marks(searcher._ctx, compiled[0])
    for other in compiled[1:]:
        hits_module.page_marks(searcher._ctx, other)
        assert hits_module.page_marks(searcher._ctx, compiled[0])[1] is hot[1]  # used again
        assert len(searcher._ctx.page_marks) <= 4
    cold = hits_module.page_marks(searcher._ctx, compiled[1])  # let go since
    assert [entry[0] for entry in searcher._ctx.page_marks.values()][-1] is compiled[1]
    assert cold[1] is not None and len(searcher._ctx.page_marks) == 4
    kept_ids = {id(entry[0]) for entry in searcher._ctx.page_marks.values()}
    assert kept_ids == {id(compiled[i]) for i in (6, 7, 0, 1)}


def test_compiled_fragments_are_the_reference_at_every_width(corpus_index: Index) -> None:
    """The compiled snippets and marks (words, positions, matches, phrases, window and
    stretch in one call) give what the Python code gives from the numpy path's kept
    words, for windows narrower than a word up to longer than a text."""
    if spans.core is None:
        pytest.skip("the compiled highlight code is not built (or the numpy path is forced)")
    reader = corpus_index.reader()
    words = _words()
    analyzer = corpus_index.schema.analyzer("body")
    checked = cut = phrases = titles = 0
    for number, segment in enumerate(reader.segments):
        terms = [t for w in words[number::2] for t in analyzer.terms(w)]
        weights = {t: 1.0 + (len(t) % 5) / 3 for t in terms}  # unequal weights
        # phrases that stand in the texts: word pairs, and pairs two words apart, of a
        # few of the segment's bodies (a pair that a dropped word splits stands nowhere)
        said = [analyzer.terms(segment.stored(doc)["body"] or "") for doc in range(0, 60, 6)]
        pairs = [((0, t[5]), (1, t[6])) for t in said if len(t) > 8]
        pairs += [((0, t[7]), (2, t[9])) for t in said if len(t) > 10]
        matcher = TermMatcher(
            terms=frozenset(terms),
            prefixes=("প্র",),
            phrases=(((0, "ঢাকা"), (1, "শহর")), ((0, terms[0]), (1, terms[1])), *pairs),
            weights=weights,
        )
        for field in ("body", "title"):
            lookup = spans.SpanLookup(segment, field, matcher)
            for doc in range(0, segment.max_doc, 5):
                text = segment.stored(doc)[field] or ""
                reference = lookup._words(doc, text)
                for chars in (1, 12, 60, 200, 5000):
                    mine = lookup.fragment(doc, text, fragment_chars=chars)
                    theirs = best_kept_fragment(reference, matcher, fragment_chars=chars)
                    assert mine == theirs, (segment.name, field, doc, chars)
                    checked += bool(mine.spans)
                    cut += mine.truncated_before
                    phrases += any(" " in mine.text[s:e] for s, e in mine.spans)
                marked = lookup.marks(doc, text)
                assert marked == highlight_all_kept(reference, matcher), (segment.name, doc)
                titles += field == "title" and bool(marked.spans)
    assert checked > 1000 and cut > 100 and phrases > 10 and titles > 10


@pytest.mark.parametrize("path", ["compiled", "python"])
def test_invisible_characters_at_a_texts_edges_are_no_cut(
    path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A text that begins or ends with format characters that render as nothing (a
    byte order mark, zero-width joiners and spaces, a soft hyphen) around its words: a
    snippet holding every word cut nothing visible, so it has no ellipsis at either
    edge (the flags counted those characters as cut text), with or without a match."""
    if path == "compiled" and spans.core is None:
        pytest.skip("the compiled highlight code is not built (or the numpy path is forced)")
    if path == "python":
        monkeypatch.setattr(spans, "core", None)
    body = "\ufeff\u200c \u200bবাজেট ঘাটতি বেড়েছে\u00ad \u200d\u200b\n"
    index = index_of([Article(id="a", title="\u200cসংসদ\u2060", body=body)])
    searcher = Searcher(index.reader())
    for query in ("বাজেট", "সংসদ"):
        hit = searcher.search(query)[0]
        snippet = hit.snippet
        assert snippet is not None and "বাজেট ঘাটতি বেড়েছে" in snippet.text
        assert not snippet.truncated_before and not snippet.truncated_after, (query, snippet)
        assert "…" not in snippet.markup()
    title = searcher.search("সংসদ")[0].highlights["title"]
    assert not title.truncated_before and not title.truncated_after
    spaces = {chr(c) for c in range(0x110000) if chr(c).isspace()}
    assert spaces <= set(BLANK_EDGES)  # whitespace is blank as str.strip() had it
