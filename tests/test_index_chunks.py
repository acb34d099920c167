"""The builder's chunk encoding gives exactly the analyzer's terms at the analyzer's positions.

The segment builder numbers whitespace chunks and analyzes new chunks together in one call
(``Analyzer.chunk_terms``); these tests rebuild every document's (position, term) list
from the postings and compare it with ``analyzer.term_sequence`` of the same text,
including multi-valued fields (gaps between values), chunks that are several words or
none, stopwords, and the table starting over when it is full.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bnsearch.analysis import default_analyzer
from bnsearch.articles import Article, RelatedLink
from bnsearch.errors import BnSearchError
from bnsearch.index import Index, valuechunks, verify
from bnsearch.index import builder as builder_module
from bnsearch.index import writer as writer_module
from bnsearch.index.schema import POSITION_GAP
from bnsearch.index.segment import SegmentReader

# chunks of every shape: plain words, inflected forms, stopwords, punctuation-only,
# several words in one chunk, digits, Latin (and the marker word an older builder used)
PIECES = [
    "বাংলাদেশ", "বাংলাদেশের", "সরকার", "সরকারের", "মামলাটি", "মামলা", "এবং", "ও", "না",
    "।", ",", "—", "(ঢাকা)", "ঢাকা-চট্টগ্রাম", "২০২৪-এর", "১২৩", "COVID-19", "e-mail",
    "শিক্ষার্থীরা", "খেলা,খেলা", "\u200c", "x", "bnsearchchunkmarkerzq", "a.b.c", "\"উদ্ধৃতি\"",
]  # fmt: skip


def _text(rng: random.Random, words: int) -> str:
    spaces = [" ", "  ", "\n", "\t", " \u00a0"]
    return "".join(rng.choice(PIECES) + rng.choice(spaces) for _ in range(words)).strip()


def _doc_sequences(segment: SegmentReader, field: str) -> dict[int, dict[int, str]]:
    """doc -> {position: term} rebuilt from the field's postings."""
    found: dict[int, dict[int, str]] = {}
    for term in segment.terms(field):
        positions = segment.term_positions(field, term)
        assert positions is not None
        docs, offsets, all_positions = positions
        for j, doc in enumerate(docs.tolist()):
            for position in all_positions[offsets[j] : offsets[j + 1]].tolist():
                found.setdefault(doc, {})[position] = term
    return found


def _expected(values: list[str]) -> dict[int, str]:
    analyzer = default_analyzer()
    expected: dict[int, str] = {}
    position = 0
    for index, value in enumerate(values):
        if index:
            position += POSITION_GAP
        for term in analyzer.term_sequence(value):
            if term is not None:
                expected[position] = term
            position += 1
    return expected


def _articles(seed: int, count: int) -> list[Article]:
    rng = random.Random(seed)
    articles = []
    for number in range(count):
        related = tuple(
            RelatedLink(headline=_text(rng, rng.randint(0, 4)), url=f"https://example.com/{k}")
            for k in range(rng.randint(0, 3))
        )
        articles.append(
            Article(
                id=f"a{number}",
                title=_text(rng, rng.randint(1, 6)),
                body=_text(rng, rng.randint(0, 40)),
                caption=_text(rng, rng.randint(0, 3)) or None,
                related=related,
            )
        )
    return articles


def _check(articles: list[Article]) -> None:
    index = Index.in_memory()
    with index.writer() as writer:
        writer.add_many(articles)
    by_id = {article.id: article for article in articles}
    fields = {
        "title": lambda a: [a.title] if a.title else [],
        "body": lambda a: [a.body] if a.body else [],
        "caption": lambda a: [a.caption] if a.caption else [],
        "related_headlines": lambda a: [link.headline for link in a.related],
    }
    checked = 0
    for segment in index.reader().segments:  # anchors found at commit re-index a few
        for field, values_of in fields.items():
            got = _doc_sequences(segment, field)
            lengths = segment.field_lengths(field)
            for doc in map(int, segment.live.nonzero()[0]):
                article = by_id[segment.article_id(doc)]
                checked += 1
                _check_doc(got.get(doc, {}), int(lengths[doc]), values_of(article), field)
    assert checked == len(articles) * len(fields)


def _check_doc(got: dict[int, str], length: int, values: list[str], field: str) -> None:
    expected = _expected(values)
    assert got == expected, (field, values)
    assert length == len(expected), (field, values)  # the field length counts terms


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_postings_match_the_analyzer(seed: int) -> None:
    _check(_articles(seed, 60))


def test_table_starting_over_keeps_the_terms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(builder_module, "_MAX_CHUNKS", 50)  # below one batch's chunks
    monkeypatch.setattr(writer_module, "_CHUNK_ARTICLES", 7)  # many batches per segment
    _check(_articles(4, 40))


def test_an_analysis_failure_rolls_the_batch_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = Index.create(tmp_path / "idx")
    committed = _articles(5, 10)
    with index.writer() as writer:
        writer.add_many(committed)
    real = builder_module.ChunkTable._learn

    def fragile(self: builder_module.ChunkTable, chunks: list[str]) -> None:
        if "বিস্ফোরণ" in chunks:
            raise RuntimeError("analysis failed")
        real(self, chunks)

    monkeypatch.setattr(builder_module.ChunkTable, "_learn", fragile)
    monkeypatch.setattr(writer_module, "_CHUNK_ARTICLES", 4)
    writer = index.writer()
    batch = _articles(6, 12)
    batch[5] = Article(id="boom", title="শিরোনাম", body="বাংলা বিস্ফোরণ ভাষা")
    with pytest.raises(RuntimeError, match="analysis failed"):
        writer.add_many(batch)  # fails when its chunk of articles is analyzed
    writer.add(Article(id="later", title="পরে", body="আরও লেখা"))  # ignored by the builder
    with pytest.raises(BnSearchError, match="analysis failed earlier"):
        writer.commit()
    # the commit rolled the batch back; the writer goes on with a clean builder
    writer.add(Article(id="after", title="তারপর", body="নতুন লেখা"))
    result = writer.commit()
    writer.close()
    assert result.added == 1
    reader = index.reader()
    assert reader.doc_count == len(committed) + 1
    assert reader.find("boom") is None and reader.find("later") is None
    assert verify(tmp_path / "idx").ok


def test_the_collector_is_paused_only_during_a_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    from bnsearch.index.builder import SegmentBuilder
    from bnsearch.index.schema import news_schema

    seen: list[bool] = []
    real = builder_module.ChunkTable.add_docs

    def spy(self: builder_module.ChunkTable, docs: list[list[str]], out: object) -> None:
        seen.append(gc.isenabled())
        real(self, docs, out)  # type: ignore[arg-type]

    monkeypatch.setattr(builder_module.ChunkTable, "add_docs", spy)
    builder = SegmentBuilder(news_schema())
    assert gc.isenabled()
    builder.add_articles([(article, ()) for article in _articles(8, 5)])
    assert gc.isenabled() and seen and not any(seen)  # off inside, back on after
    gc.disable()
    try:  # a caller that turned it off keeps it off
        builder.add_articles([(article, ()) for article in _articles(9, 5)])
        assert not gc.isenabled()
    finally:
        gc.enable()

    def broken(self: builder_module.ChunkTable, docs: list[list[str]], out: object) -> None:
        raise RuntimeError("analysis failed")

    monkeypatch.setattr(builder_module.ChunkTable, "add_docs", broken)
    with pytest.raises(RuntimeError):
        SegmentBuilder(news_schema()).add_articles([(_articles(10, 1)[0], ())])
    assert gc.isenabled()  # back on after an error too


def test_vocabulary_add_all_numbers_like_one_lookup_at_a_time() -> None:
    """The batch numbering of new terms gives the ids that looking each term up (the
    ``__missing__`` path) gives, None staying -1, with terms already known kept."""
    rng = random.Random(9)
    words: list[str | None] = [*"abcdefgh", None]
    one_by_one = builder_module._Vocabulary()
    batched = builder_module._Vocabulary()
    for _ in range(20):
        batch = [rng.choice(words) for _ in range(rng.randint(0, 12))]
        expected = [one_by_one[term] for term in batch]
        batched.add_all(batch)
        assert dict(batched) == dict(one_by_one)  # before any lookup could add a term
        assert [batched[term] for term in batch] == expected
    assert batched[None] == -1 and batched.terms() == one_by_one.terms()


def test_repeated_headlines_keep_their_terms(monkeypatch: pytest.MonkeyPatch) -> None:
    """Related headlines drawn from a small pool (a headline is another page's title,
    listed by many): the process's table keeps each headline's chunks once split; the
    terms and positions stay the analyzer's across batches, when the chunk table starts
    over and when the process's kept headlines start over."""
    monkeypatch.setattr(builder_module, "_MAX_CHUNKS", 40)
    monkeypatch.setattr(valuechunks, "VALUE_CHUNKS", valuechunks.ValueChunks())
    monkeypatch.setattr(builder_module, "VALUE_CHUNKS", valuechunks.VALUE_CHUNKS)
    monkeypatch.setattr(valuechunks, "MAX_VALUES", 9)
    monkeypatch.setattr(writer_module, "_CHUNK_ARTICLES", 5)
    rng = random.Random(8)
    pool = ["", "  ", *(_text(rng, rng.randint(1, 5)) for _ in range(12))]
    articles = [
        Article(
            id=f"r{number}",
            title=_text(rng, 2),
            related=[
                RelatedLink(headline=rng.choice(pool), url=f"https://example.com/{k}")
                for k in range(rng.randint(0, 6))
            ],
        )
        for number in range(50)
    ]
    _check(articles)


@pytest.mark.parametrize("bound", [10_000, 7])
def test_values_number_their_chunks_as_add_docs_does(
    monkeypatch: pytest.MonkeyPatch, bound: int
) -> None:
    """``add_values`` takes each headline's chunks from the process's table
    (``valuechunks.VALUE_CHUNKS``, shared by every segment's table) and numbers the
    chunks new to its table itself: the chunk numbers, counts and terms it gives are
    what ``add_docs`` gives for the same docs (each value's chunks, the gap chunk between
    two values), for two tables in turn (the second finds the values split already) and
    when the process's table starts over (``bound`` values) between and within calls."""
    from array import array

    import numpy as np

    monkeypatch.setattr(valuechunks, "VALUE_CHUNKS", valuechunks.ValueChunks())
    monkeypatch.setattr(builder_module, "VALUE_CHUNKS", valuechunks.VALUE_CHUNKS)
    monkeypatch.setattr(valuechunks, "MAX_VALUES", bound)
    rng = random.Random(11)
    pool = ["", "  ", *(_text(rng, rng.randint(1, 5)) for _ in range(15))]
    analyzer = default_analyzer()
    generations = set()
    for _ in range(2):  # a second segment's table
        by_values = builder_module.ChunkTable(analyzer, builder_module._Vocabulary())
        by_docs = builder_module.ChunkTable(analyzer, builder_module._Vocabulary())
        got, want = array("i"), array("i")
        sizes: list[int] = []
        for _ in range(6):
            docs = [
                [rng.choice(pool) for _ in range(rng.randint(0, 5))]
                for _ in range(rng.randint(1, 6))
            ]
            counts = by_values.add_values(docs, got)
            chunked = [
                [c for n, value in enumerate(doc) for c in ([" "] if n else []) + value.split()]
                for doc in docs
            ]
            by_docs.add_docs(chunked, want)
            assert counts == [len(doc) for doc in chunked]
            sizes += counts
            generations.add(valuechunks.VALUE_CHUNKS.generation)
        # the same term ids at the same positions; the same numbers unless the process's
        # table started over (then a chunk seen before may get a second number, as when
        # a table's own chunk dict starts over)
        expanded = [
            table.expand(np.frombuffer(numbers, dtype=np.int32), np.array(sizes, dtype=np.int32))
            for table, numbers in ((by_values, got), (by_docs, want))
        ]
        assert np.array_equal(expanded[0][0], expanded[1][0])
        assert np.array_equal(expanded[0][1], expanded[1][1])
        assert by_values._vocab.terms() == by_docs._vocab.terms()
        if bound > len(pool):
            assert got == want
            assert by_values.ptr == by_docs.ptr and by_values.terms == by_docs.terms
    assert (len(generations) > 1) == (bound < len(pool))


@pytest.mark.parametrize("bound", [10_000, 7])
def test_values_of_two_analyzers_share_the_chunks_not_the_terms(
    monkeypatch: pytest.MonkeyPatch, bound: int
) -> None:
    """The process's table keeps each chunk's entries per analyzer (by identity): tables
    of two analyzers that analyse the same chunks differently (one drops stopwords, one
    keeps them and folds spellings), fed the same values in turn, each give the term ids,
    positions and vocabulary ``add_docs`` gives under its own analyzer, for a second
    segment's tables (the entries known already) and when the process's table starts
    over (``bound`` values)."""
    from array import array

    import numpy as np

    from bnsearch.analysis.presets import bengali_analyzer

    monkeypatch.setattr(valuechunks, "VALUE_CHUNKS", valuechunks.ValueChunks())
    monkeypatch.setattr(builder_module, "VALUE_CHUNKS", valuechunks.VALUE_CHUNKS)
    monkeypatch.setattr(valuechunks, "MAX_VALUES", bound)
    rng = random.Random(12)
    pool = ["", *(_text(rng, rng.randint(1, 5)) for _ in range(15))]
    analyzers = [
        bengali_analyzer(stem=False),
        bengali_analyzer(stopwords=None, stem=False, loose=True),
    ]
    assert analyzers[0].identity != analyzers[1].identity
    for _ in range(2):  # a second segment's tables
        tables = {
            (number, how): builder_module.ChunkTable(analyzer, builder_module._Vocabulary())
            for number, analyzer in enumerate(analyzers)
            for how in ("values", "docs")
        }
        out = {key: array("i") for key in tables}
        sizes: list[int] = []
        for _ in range(6):
            docs = [
                [rng.choice(pool) for _ in range(rng.randint(0, 5))]
                for _ in range(rng.randint(1, 6))
            ]
            chunked = [
                [c for n, value in enumerate(doc) for c in ([" "] if n else []) + value.split()]
                for doc in docs
            ]
            for number in range(len(analyzers)):
                counts = tables[(number, "values")].add_values(docs, out[(number, "values")])
                tables[(number, "docs")].add_docs(chunked, out[(number, "docs")])
                assert counts == [len(doc) for doc in chunked]
            sizes += [len(doc) for doc in chunked]
        terms = []
        for number in range(len(analyzers)):
            by_values, by_docs = tables[(number, "values")], tables[(number, "docs")]
            got, want = (
                table.expand(
                    np.frombuffer(out[(number, how)], dtype=np.int32),
                    np.array(sizes, dtype=np.int32),
                )
                for how, table in (("values", by_values), ("docs", by_docs))
            )
            assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
            assert by_values._vocab.terms() == by_docs._vocab.terms()
            terms.append(by_docs._vocab.terms())
        assert terms[0] != terms[1]  # the two analyzers did differ on these values


def test_headline_values_waiting_for_a_run_keep_the_terms(monkeypatch: pytest.MonkeyPatch) -> None:
    """A headline field's values wait for ``VALUE_RUN_DOCS`` docs before one
    ``value_run`` call (and the rest are added when the segment is built): with runs
    that end inside a chunk of articles and a last run cut short by the flush, every
    doc's related headlines still have the analyzer's terms at their positions."""
    monkeypatch.setattr(builder_module, "VALUE_RUN_DOCS", 3)
    monkeypatch.setattr(writer_module, "_CHUNK_ARTICLES", 5)
    calls: list[int] = []
    value_run = builder_module.ChunkTable.value_run

    def counted(self: builder_module.ChunkTable, docs: list[list[str]]) -> object:
        calls.append(len(docs))
        return value_run(self, docs)

    monkeypatch.setattr(builder_module.ChunkTable, "value_run", counted)
    _check(_articles(5, 37))
    assert 5 in calls and sum(calls) >= 37  # a run of one chunk of 5, the rest at build


def test_headline_runs_write_the_same_segment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The segment files are the same byte for byte whatever the run of docs a headline
    field's ``add_values`` takes (first-seen numbering either way), anchor updates too
    (every segment above ``FEW_VALUE_DOCS``: its fields of values go by the chunk
    tables, not the few-values path)."""
    rng = random.Random(3)
    titles = [_text(rng, rng.randint(1, 5)) for _ in range(40)]
    articles = [
        Article(
            id=f"h{number}",
            title=titles[number],
            body=_text(rng, 10),
            related=[RelatedLink(headline=rng.choice(titles)) for _ in range(rng.randint(0, 6))],
        )
        for number in range(40)
    ]
    files = []
    for run in (1, 4, 10_000):
        monkeypatch.setattr(builder_module, "VALUE_RUN_DOCS", run)
        monkeypatch.setattr(builder_module, "FEW_VALUE_DOCS", 1)
        monkeypatch.setattr(writer_module, "_CHUNK_ARTICLES", 3)
        folder = tmp_path / f"run{run}"
        with Index.create(folder).writer(buffer_mb=0.002) as writer:
            writer.add_many(articles)
        files.append(
            {
                path.name: path.read_bytes()
                for path in sorted(folder.iterdir())
                if path.name not in ("meta.json", "write.lock")
            }
        )
    assert len(files[0]) > 2  # several segments (and the commit's anchor updates)
    assert files[0] == files[1] == files[2]


@pytest.mark.parametrize("by_sort", [4096, 0])
@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.integers(min_value=0, max_value=60), max_size=400))
def test_first_seen_is_the_order_of_first_occurrence(by_sort: int, values: list[int]) -> None:
    """Both ways of :func:`builder._first_seen` (a sort of every value; a table of first
    places, taken whenever the values are not spread thin) give the distinct values in
    the order they first occur, in the values' dtype."""
    old = builder_module._FIRST_SEEN_BY_SORT
    builder_module._FIRST_SEEN_BY_SORT = by_sort
    try:
        for dtype in (np.int32, np.int64):
            found = builder_module._first_seen(np.array(values, dtype=dtype))
            assert found.tolist() == list(dict.fromkeys(values))
            assert found.dtype == dtype
    finally:
        builder_module._FIRST_SEEN_BY_SORT = old
