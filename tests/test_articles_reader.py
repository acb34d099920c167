"""read_articles: page files, folders, JSONL and gzipped JSONL; errors that say where."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bnsearch.articles import (
    Article,
    LinkGraph,
    ReadReport,
    RelatedLink,
    SkippedRecordWarning,
    article_to_record,
    format_page,
    read_articles,
    write_jsonl,
)
from bnsearch.errors import ArticleError

SHARED = Path(__file__).resolve().parents[1].parent / "shared"

PAGE = "হোম > জাতীয়\n\nশিরোনাম এখানে\n\nপ্রথম অনুচ্ছেদ।\n\nদ্বিতীয় অনুচ্ছেদ।\n\nঅন্য খবরের শিরোনাম\n"


def record(id: str, title: str = "শিরোনাম", body: str = "লেখা।") -> str:
    return json.dumps({"id": id, "title": title, "body": body}, ensure_ascii=False)


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


# ----------------------------------------------------------------- what a path can be


def test_page_file_takes_its_file_name_as_id(tmp_path: Path) -> None:
    file = tmp_path / "2024.05-dudok.txt"
    file.write_text(PAGE, encoding="utf-8")
    (article,) = read_articles(file)
    assert article.id == "2024.05-dudok"
    assert article.title == "শিরোনাম এখানে"
    assert article.section == ("জাতীয়",)
    assert article.related == (RelatedLink(headline="অন্য খবরের শিরোনাম"),)


def test_folder_reads_pages_and_jsonl_recursively_in_sorted_order(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z-page.txt").write_text(PAGE, encoding="utf-8")
    (tmp_path / "a-page.txt").write_text(PAGE.replace("শিরোনাম এখানে", "আরেক"), encoding="utf-8")
    write_lines(tmp_path / "c.jsonl", [record("j1"), record("j2")])
    with gzip.open(tmp_path / "d.jsonl.gz", "wt", encoding="utf-8") as stream:
        stream.write(record("g1") + "\n")
    (tmp_path / "README.md").write_text("not an article", encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text("not read", encoding="utf-8")
    report = ReadReport()
    ids = [article.id for article in read_articles(tmp_path, report=report)]
    assert ids == ["a-page", "z-page", "j1", "j2", "g1"]  # a-page.txt, b/, c.jsonl, d.jsonl.gz
    assert (report.articles, report.files, report.ok) == (5, 4, True)
    assert report.ignored_files == [str(tmp_path / "README.md")]


def test_repeated_ids_are_yielded_and_reported(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "same.txt").write_text(PAGE, encoding="utf-8")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "same.txt").write_text(PAGE, encoding="utf-8")
    write_lines(tmp_path / "c.jsonl", [record("x"), record("same"), record("x")])
    report = ReadReport()
    ids = [article.id for article in read_articles(tmp_path, report=report)]
    assert ids == ["same", "same", "x", "same", "x"]
    assert [(Path(d.path).name, d.line) for d in report.duplicates] == [
        ("same.txt", None),
        ("c.jsonl", 2),
        ("c.jsonl", 3),
    ]
    assert str(tmp_path / "a" / "same.txt") in report.duplicates[0].reason
    assert "c.jsonl, line 1" in report.duplicates[2].reason
    assert report.ok  # repeated ids are not errors
    assert "3 repeated ids" in report.summary()


def test_symlink_loop_in_a_folder_is_read_once(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "p.txt").write_text(PAGE, encoding="utf-8")
    (tmp_path / "sub" / "loop").symlink_to(tmp_path, target_is_directory=True)
    assert [article.id for article in read_articles(tmp_path)] == ["p"]


def test_jsonl_and_gzip_round_trip(tmp_path: Path) -> None:
    articles = [
        Article(id="a", title="এক", body="লেখা।", section=("জাতীয়",), related=["দুই খবর"]),
        Article(id="b", title="", body="শিরোনামহীন অনুচ্ছেদ।", source="উৎস"),
    ]
    for name in ("out.jsonl", "out.jsonl.gz"):
        assert write_jsonl(articles, tmp_path / name) == 2
        assert list(read_articles(tmp_path / name)) == articles


def test_page_round_trip_through_a_file(tmp_path: Path) -> None:
    article = Article(
        id="x",
        title="শিরোনাম",
        body="অনুচ্ছেদ।",
        caption="ছবির বর্ণনা।",
        photo_credit="সংগৃহীত",
        related=[RelatedLink(headline="অন্য খবর", url="https://x.test/1")],
    )
    (tmp_path / "x.txt").write_text(format_page(article), encoding="utf-8")
    assert list(read_articles(tmp_path / "x.txt")) == [article]


def test_blank_lines_crlf_and_bom_in_jsonl(tmp_path: Path) -> None:
    file = tmp_path / "x.jsonl"
    file.write_bytes(
        b"\xef\xbb\xbf" + (record("a") + "\r\n\r\n   \r\n" + record("b") + "\r\n").encode()
    )
    assert [article.id for article in read_articles(file)] == ["a", "b"]


# ----------------------------------------------------------------- errors say where


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ArticleError, match="no such file or folder") as caught:
        list(read_articles(tmp_path / "nope.jsonl"))
    assert caught.value.path == str(tmp_path / "nope.jsonl")


def test_broken_json_line_names_file_line_and_byte(tmp_path: Path) -> None:
    first = record("a", title="বাংলা শিরোনাম")
    file = write_lines(tmp_path / "x.jsonl", [first, '{"id": "b", "title": "ভাঙা'])
    with pytest.raises(ArticleError, match="not valid JSON") as caught:
        list(read_articles(file))
    error = caught.value
    assert (error.path, error.line) == (str(file), 2)
    line_start = len(first.encode()) + 1
    # the decoder stops at the opening quote of the unterminated string
    assert error.offset == line_start + len(b'{"id": "b", "title": ')
    assert str(file) in str(error) and "line 2" in str(error)


def test_a_number_too_long_to_read_is_a_bad_json_line(tmp_path: Path) -> None:
    """Python refuses ints of more than 4,300 digits with a bare ValueError: the line is
    bad JSON (file, line, byte of the number), skipped with skip_bad, never a crash."""
    bad = '{"id": ' + "9" * 5000 + ', "title": "t"}'
    file = write_lines(tmp_path / "x.jsonl", [record("a"), bad, record("b")])
    with pytest.raises(ArticleError, match="not valid JSON: a number of 5000 digits") as caught:
        list(read_articles(file))
    assert caught.value.line == 2
    assert caught.value.offset == len(record("a").encode()) + 1 + len('{"id": ')
    report = ReadReport()
    assert [a.id for a in read_articles(file, skip_bad=True, report=report)] == ["a", "b"]
    assert [s.line for s in report.skipped] == [2]


def test_non_utf8_byte_offset_in_jsonl(tmp_path: Path) -> None:
    good = record("a").encode()
    bad = b'{"id": "b", "title": "\xe0\xa6\xac\xff"}'
    file = tmp_path / "x.jsonl"
    file.write_bytes(good + b"\n" + bad + b"\n")
    with pytest.raises(ArticleError, match="not UTF-8: byte 0xff") as caught:
        list(read_articles(file))
    assert caught.value.line == 2
    assert caught.value.offset == len(good) + 1 + bad.index(b"\xff")


def test_offsets_after_a_bom_and_in_a_crlf_file(tmp_path: Path) -> None:
    """A line is decoded in place in its read block: the byte offsets of its errors
    count the BOM and the CRLF line ends before it, as the file's bytes do."""
    good = record("a").encode() + b"\r\n"
    bad_utf8 = b'{"id": "b", "title": "\xe0\xa6\xac\xff"}\r\n'
    file = tmp_path / "x.jsonl"
    file.write_bytes(b"\xef\xbb\xbf" + bad_utf8 + good)
    with pytest.raises(ArticleError, match="not UTF-8: byte 0xff") as caught:
        list(read_articles(file))
    assert (caught.value.line, caught.value.offset) == (1, 3 + bad_utf8.index(b"\xff"))
    bad_json = b'{"id": "c", "title": }\r\n'
    file.write_bytes(b"\xef\xbb\xbf" + good + bad_json)
    for keep in (None, lambda article_id: True):
        with pytest.raises(ArticleError, match="not valid JSON") as caught:
            list(read_articles(file, keep=keep))
        assert (caught.value.line, caught.value.offset) == (2, 3 + len(good) + 21)
    file.write_bytes(good + b'{"id": "d", "title": "\x00"}\r\n')
    with pytest.raises(ArticleError, match="NUL byte") as caught:
        list(read_articles(file))
    assert (caught.value.line, caught.value.offset) == (2, len(good) + 22)


def test_bad_record_names_the_line(tmp_path: Path) -> None:
    file = write_lines(tmp_path / "x.jsonl", [record("a"), '{"title": "t"}'])
    with pytest.raises(ArticleError, match="no 'id'") as caught:
        list(read_articles(file))
    assert (caught.value.line, caught.value.offset) == (2, len(record("a").encode()) + 1)


def test_binary_and_non_utf8_page_files(tmp_path: Path) -> None:
    binary = tmp_path / "image.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(ArticleError, match="binary file") as caught:
        list(read_articles(binary))
    assert (caught.value.path, caught.value.offset) == (str(binary), 8)

    latin = tmp_path / "latin.txt"
    data = PAGE.encode() + "café\n".encode("latin-1")
    latin.write_bytes(data)
    with pytest.raises(ArticleError, match="not UTF-8") as caught:
        list(read_articles(latin))
    assert caught.value.offset == len(PAGE.encode()) + 3
    assert caught.value.line == PAGE.count("\n") + 1

    utf16 = tmp_path / "utf16.txt"
    utf16.write_bytes(PAGE.encode("utf-16"))
    with pytest.raises(ArticleError, match="UTF-16"):
        list(read_articles(utf16))


@pytest.mark.parametrize(
    ("name", "message"), [("x.json", "use JSONL"), ("x.html", "HTML"), ("x.tar.gz", "gzipped")]
)
def test_refused_file_kinds(tmp_path: Path, name: str, message: str) -> None:
    file = tmp_path / name
    file.write_text("[]", encoding="utf-8")
    with pytest.raises(ArticleError, match=message) as caught:
        list(read_articles(file))
    assert caught.value.path == str(file)


def test_page_without_body_names_the_file(tmp_path: Path) -> None:
    file = tmp_path / "empty-body.txt"
    file.write_text("হোম > জাতীয়\n\nশুধু শিরোনাম\n", encoding="utf-8")
    with pytest.raises(ArticleError, match="no body") as caught:
        list(read_articles(file))
    assert (caught.value.path, caught.value.line) == (str(file), 3)


def test_corrupt_gzip_is_an_article_error(tmp_path: Path) -> None:
    file = tmp_path / "x.jsonl.gz"
    data = gzip.compress(("\n".join(record(f"r{n}") for n in range(2000)) + "\n").encode())
    file.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArticleError, match="truncated or corrupt") as caught:
        list(read_articles(file))
    assert caught.value.path == str(file)


# ----------------------------------------------------------------- skip_bad


def test_skip_bad_reports_every_skipped_record(tmp_path: Path) -> None:
    lines = [
        record("a"),
        "not json",
        record("c"),
        '{"id": "d", "title": null, "body": ""}',
        "",
        "[1]",
        record("g"),
    ]
    file = write_lines(tmp_path / "x.jsonl", lines)
    report = ReadReport()
    ids = [article.id for article in read_articles(file, skip_bad=True, report=report)]
    assert ids == ["a", "c", "g"]
    assert [(item.line, item.path) for item in report.skipped] == [
        (2, str(file)),
        (4, str(file)),
        (6, str(file)),
    ]
    assert "neither a title nor a body" in report.skipped[1].reason
    # nothing dropped silently: every non-blank line is read or reported
    assert len(ids) + len(report.skipped) == sum(1 for line in lines if line.strip())
    assert report.articles == 3 and not report.ok
    assert "3 articles from 1 files, 3 skipped" in report.summary()


def test_skip_bad_without_report_warns(tmp_path: Path) -> None:
    file = write_lines(tmp_path / "x.jsonl", [record("a"), "{oops"])
    with pytest.warns(SkippedRecordWarning, match="line 2"):
        ids = [article.id for article in read_articles(file, skip_bad=True)]
    assert ids == ["a"]


def test_skip_bad_in_a_folder_skips_bad_files_and_keeps_going(tmp_path: Path) -> None:
    (tmp_path / "1-good.txt").write_text(PAGE, encoding="utf-8")
    (tmp_path / "2-binary.txt").write_bytes(b"abc\x00def")
    (tmp_path / "3-nobody.txt").write_text("শুধু শিরোনাম\n", encoding="utf-8")
    write_lines(tmp_path / "4-binary.jsonl", [record("x"), "\x00\x00", record("y")])
    write_lines(tmp_path / "5.jsonl", [record("z")])
    report = ReadReport()
    ids = [a.id for a in read_articles(tmp_path, skip_bad=True, report=report)]
    assert ids == ["1-good", "x", "z"]
    assert [Path(item.path).name for item in report.skipped] == [
        "2-binary.txt",
        "3-nobody.txt",
        "4-binary.jsonl",
    ]
    assert report.skipped[2].line == 2  # the rest of a binary JSONL file is not read


def test_corrupt_gzip_with_skip_bad_keeps_what_was_read(tmp_path: Path) -> None:
    file = tmp_path / "x.jsonl.gz"
    data = gzip.compress(("\n".join(record(f"r{n}") for n in range(2000)) + "\n").encode())
    file.write_bytes(data[: len(data) // 2])
    report = ReadReport()
    articles = list(read_articles(file, skip_bad=True, report=report))
    assert 0 < len(articles) < 2000
    assert [a.id for a in articles] == [f"r{n}" for n in range(len(articles))]
    assert len(report.skipped) == 1 and "truncated or corrupt" in report.skipped[0].reason


# ----------------------------------------------------------------- the shared corpora


def shared(name: str) -> Path:
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"shared data not found at {path}")
    return path


def test_belin_corpus_reads_completely() -> None:
    path = shared("corpus/belin_religious_news.jsonl")
    report = ReadReport()
    articles = list(read_articles(path, report=report))
    lines = path.read_bytes().count(b"\n")
    assert len(articles) == lines and report.ok
    assert len({a.id for a in articles}) == len(articles)
    labels = {a.section for a in articles}
    assert ("ইসলাম ধর্ম",) in labels and all(len(label) == 1 for label in labels)
    assert all(a.title and a.body and a.source for a in articles)
    # the corpus records, written back, are the same records
    first = json.loads(path.open(encoding="utf-8").readline())
    assert {k: v for k, v in article_to_record(articles[0]).items() if v} == {
        k: [v] if k == "section" else v
        for k, v in first.items()
        if v and k not in {"aspect", "sentiment"}
    }


def test_bqa_passages_have_no_titles_but_read() -> None:
    path = shared("corpus/bqa_passages.jsonl")
    articles = list(read_articles(path))
    assert len(articles) == path.read_bytes().count(b"\n")
    assert all(a.title == "" and a.body for a in articles)


def test_seed_page_as_a_folder_with_related_links(tmp_path: Path) -> None:
    seed = shared("examples/article-page.txt")
    (page,) = read_articles(seed.parent)
    assert page.id == "article-page"
    # give two of its related headlines a target article each, one with other spacing
    targets = [
        Article(id=f"t{n}", title="  ".join(link.headline.split()), body="লেখা।")
        for n, link in enumerate(page.related[:2])
    ]
    graph = LinkGraph.from_articles([page, *targets])
    assert graph.out_links(page.id) == ("t0", "t1")
    assert len(graph.unresolved()) == len(page.related) - 2


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=200), lines=st.lists(st.binary(max_size=40), max_size=5))
def test_any_bytes_give_articles_or_an_article_error(
    tmp_path: Path, data: bytes, lines: list[bytes]
) -> None:
    page = tmp_path / "fuzz.txt"
    page.write_bytes(data)
    jsonl = tmp_path / "fuzz.jsonl"
    jsonl.write_bytes(b"\n".join([*lines, b'{"id": "a", "title": "t"}']))
    for path in (page, jsonl):
        try:
            list(read_articles(path))
        except ArticleError as error:
            assert error.path == str(path)
        report = ReadReport()
        read = list(read_articles(path, skip_bad=True, report=report))
        assert all(isinstance(article, Article) for article in read)


# ----------------------------------------------------------------- keep: a shard's share


def test_line_id_reads_only_plain_ids() -> None:
    from bnsearch.articles.reader import line_id

    assert line_id(b'{"id": "x-1", "title": "t"}\n') == "x-1"
    assert line_id('{"title": "ক", "id" :\t"খবর-১"}'.encode()) == "খবর-১"
    assert line_id(b'{"id": 17, "title": "t"}') is None  # a number: decode it
    assert line_id(b'{"id": "a\\"b"}') is None  # an escape in the id
    assert line_id(b'{"title": "id", "id": "x"}') is None  # "id" twice
    assert line_id(b'{"title": "t", "id": "y"}') == "y"  # not first, but alone
    assert line_id(b'{"title": "t"}') is None
    assert line_id(b'{"id": "  "}') is None  # empty: the decoder's error
    # the one "id" nested, the key escaped: seen as "y"; its reader finds "x" and says so
    assert line_id(b'{"\\u0069d": "x", "related": [{"id": "y"}]}') == "y"


def test_keep_gives_each_reader_its_share_with_errors_reported_once(tmp_path: Path) -> None:
    """Readers with complementary ``keep`` tests yield, together, the articles of one full
    read in the same order; a bad line is reported by exactly one of them (the one its id
    routes to, or all when its id cannot be seen), at the same line."""
    lines = [
        record("a"),
        record("b"),
        json.dumps({"id": 7, "title": "সংখ্যা", "body": "লেখা"}, ensure_ascii=False),
        json.dumps({"title": "id", "id": "c", "body": "দুবার"}, ensure_ascii=False),
        json.dumps({"id": "d\\e", "title": "বাঁকা"}, ensure_ascii=False),
        json.dumps({"title": "ঢাকা", "id": "e", "body": "শেষে"}, ensure_ascii=False),
        "",
        record("g"),
    ]
    source = write_lines(tmp_path / "a.jsonl", lines)
    whole = [a.id for a in read_articles(source)]
    assert whole == ["a", "b", "7", "c", "d\\e", "e", "g"]
    for parts in (2, 3):
        shares = [
            [a.id for a in read_articles(source, keep=lambda i, n=n, k=parts: hash(i) % k == n)]
            for n in range(parts)
        ]
        assert sorted(i for share in shares for i in share) == sorted(whole)
        for share in shares:
            assert share == [i for i in whole if i in share]
    # a broken record whose id can be seen: only its reader fails, naming line 2
    broken = write_lines(tmp_path / "b.jsonl", [record("a"), '{"id": "z", "title": 5}'])
    failures = 0
    for keep in (lambda i: i == "z", lambda i: i != "z"):
        try:
            list(read_articles(broken, keep=keep))
        except ArticleError as error:
            failures += 1
            assert error.line == 2 and "title" in str(error)
    assert failures == 1
    # an id seen on the line that is not the record's: its one reader says so
    nested = '{"\\u0069d": "x", "title": "ঢাকা", "related": [{"headline": "h", "id": "y"}]}'
    twice = write_lines(tmp_path / "d.jsonl", [record("a"), nested])
    assert [a.id for a in read_articles(twice)] == ["a", "x"]  # one reader: no question
    with pytest.raises(ArticleError, match=r"line 2.*written twice"):
        list(read_articles(twice, keep=lambda i: i == "y"))
    assert [a.id for a in read_articles(twice, keep=lambda i: i != "y")] == ["a"]
    # a line that is not JSON: every reader decodes it, and fails alike
    for keep in (lambda i: i == "a", lambda i: i != "a"):
        with pytest.raises(ArticleError, match="line 2"):
            list(read_articles(write_lines(tmp_path / "c.jsonl", [record("a"), "{"]), keep=keep))


def test_keep_on_real_corpora_and_page_files(tmp_path: Path) -> None:
    source = shared("corpus/bqa_passages.jsonl")
    whole = list(read_articles(source))
    for n in range(3):
        mine = list(read_articles(source, keep=lambda i, n=n: len(i) % 3 == n))
        assert mine == [a for a in whole if len(a.id) % 3 == n]
    (tmp_path / "pages").mkdir()
    for name in ("one", "two", "three"):
        (tmp_path / "pages" / f"{name}.txt").write_text(PAGE, encoding="utf-8")
    (tmp_path / "pages" / "bad.txt").write_bytes(b"\x00")  # never read by a reader of "one"
    assert [a.id for a in read_articles(tmp_path / "pages", keep=lambda i: i == "one")] == ["one"]


TRUNCATED_WHILE_READ = """
import json, os, sys
from bnsearch.articles import read_articles
from bnsearch.errors import ArticleError
path = sys.argv[1]
articles = read_articles(path)
first = next(iter(articles))
os.truncate(path, 1000)  # another process cuts the file while it is being read
try:
    count = 1 + sum(1 for _ in articles)
    print(json.dumps({"read": count}))
except ArticleError as error:
    print(json.dumps({"error": str(error)}))
"""


def test_a_file_truncated_while_it_is_read_is_an_error_not_a_crash(tmp_path: Path) -> None:
    """A plain JSONL file cut short by another process during the read: the reader ends
    early or raises ArticleError; it never dies of a signal (a memory-mapped file read
    past its new end kills the process with SIGBUS)."""
    import subprocess
    import sys

    path = tmp_path / "growing.jsonl"
    body = "বাংলা সংবাদ " * 200
    with path.open("w", encoding="utf-8") as handle:
        for number in range(4000):  # about 10 MB: far past the reader's first block
            handle.write(json.dumps({"id": f"a{number}", "title": "শিরোনাম", "body": body}) + "\n")
    done = subprocess.run(
        [sys.executable, "-c", TRUNCATED_WHILE_READ, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"reader died (rc {done.returncode}): {done.stderr[-500:]}"
    outcome = json.loads(done.stdout)
    assert outcome.get("read", 0) < 4000 or "error" in outcome
