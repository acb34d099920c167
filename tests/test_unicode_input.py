"""Text is valid Unicode everywhere: lone surrogates (JSON ``"\\ud800"``) become U+FFFD when
an article is made, so no commit fails on them; queries and page text holding them never
raise; deeply nested JSON is a reported bad record."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import shared_file
from hypothesis import given, settings
from hypothesis import strategies as st

from bnsearch.articles import Article, ReadReport, parse_page, read_articles, valid_text
from bnsearch.index import Index, verify


def _belin_records(count: int) -> list[dict[str, object]]:
    path = shared_file("corpus/belin_religious_news.jsonl")
    with path.open(encoding="utf-8") as lines:
        return [json.loads(next(lines)) for _ in range(count)]


def test_valid_text_replaces_only_lone_surrogates() -> None:
    assert valid_text("ধর্ম") == "ধর্ম"
    assert valid_text("ধর্ম\ud800") == "ধর্ম\ufffd"
    assert valid_text("\udfff a \ud83d") == "\ufffd a \ufffd"
    assert valid_text("😀 ধর্ম") == "😀 ধর্ম"  # a real astral character is kept
    assert Article(id="x\udc80", title="t", body="\ud800").body == "\ufffd"
    assert Article(id="x", title="t", section="খেলা > \ud800").section == ("খেলা", "\ufffd")


def test_surrogates_in_jsonl_never_cost_a_commit(tmp_path: Path) -> None:
    records = _belin_records(30)
    lines = [json.dumps(r, ensure_ascii=True) for r in records]  # \\uXXXX escapes
    # lone surrogates as JSON escapes, as a broken exporter writes them
    lines[3] = lines[3].replace('"title": "', '"title": "\\ud800', 1)
    lines[7] = lines[7].replace('"body": "', '"body": "\\udfff\\ud83d', 1)
    lines[11] = "[" * 100_000  # nested too deeply for the JSON parser's recursion
    (tmp_path / "news.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = ReadReport()
    articles = list(read_articles(tmp_path / "news.jsonl", skip_bad=True, report=report))
    assert len(articles) == 29
    assert [(s.line, "nested too deeply" in s.reason) for s in report.skipped] == [(12, True)]
    with pytest.raises(Exception, match="nested too deeply") as raised:
        list(read_articles(tmp_path / "news.jsonl"))
    assert type(raised.value).__name__ == "ArticleError"
    assert articles[3].title.startswith("\ufffd")
    assert articles[7].body.startswith("\ufffd\ufffd")
    index = Index.create(tmp_path / "idx")
    with index.writer() as writer:
        writer.add_many(articles)
    reader = index.reader()
    assert reader.doc_count == 29  # the whole batch committed
    stored = reader.article(articles[3].id)
    assert stored is not None and stored.title == articles[3].title
    assert verify(tmp_path / "idx").ok


@pytest.mark.parametrize(
    "query",
    ["ধর্ম\ud800", "\ud800", "ধর্ম\ud800কথা", '"ধর্ম \udfff কথা"', "title:ধর্ম\ud800*", "ধর্ম~1\udc80"],
)
def test_search_never_raises_on_lone_surrogates(query: str) -> None:
    index = Index.in_memory()
    with index.writer() as writer:
        writer.add(Article(id="a", title="ধর্ম", body="ধর্ম কথা বলা হলো"))
    hits = index.searcher().search(query)  # no UnicodeEncodeError
    if query.startswith("ধর্ম\ud800") or query.startswith('"'):
        assert [hit.id for hit in hits] == ["a"]


def test_parse_page_never_raises_on_lone_surrogates() -> None:
    page = parse_page("হোম > জাতীয়\n\nশিরোনাম\ud800 এখানে\n\nপ্রথম অনুচ্ছেদ\udfff।")
    assert page.title == "শিরোনাম\ufffd এখানে"
    assert page.section == ("জাতীয়",)
    assert page.id.startswith("page-")
    assert "\ufffd" in page.body


_SURROGATES = st.integers(0xD800, 0xDFFF).map(chr)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.one_of(st.characters(), _SURROGATES, st.sampled_from("ধর্ম"))))
def test_valid_text_is_the_surrogate_rule(text: str) -> None:
    """valid_text checks with a strict UTF-16 encoding: it must replace exactly what
    the rule's regex names (every surrogate code point), in text of every width."""
    for sample in (text, text + "ধর্ম", text + "😀", "a" + text):
        assert valid_text(sample) == re.sub("[\ud800-\udfff]", "\ufffd", sample)
