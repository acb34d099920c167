"""The shipped demo corpus: file layout, page shape, related-headline links, vocabulary.

Most checks read the page files with the small reader below, written from the page format
itself, so a bug in :func:`bnsearch.articles.parse_page` cannot hide a bad demo file (and a
bad demo file cannot hide behind a lenient parser). The last tests then check that the real
parser and link graph agree with it.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest

import bnsearch.articles
from bnsearch.analysis import default_analyzer, normalize_text
from bnsearch.articles.demo import demo_article_files, demo_corpus_path
from bnsearch.articles.model import Article

FILE_NAME = re.compile(r"^demo-[a-z]+-\d{2}\.txt$")
HOME = "হোম"
BREADCRUMB = re.compile(rf"^{HOME}( > [^>\s][^>]*[^>\s])+$")
CAPTION = re.compile(r"^(?P<caption>.+[।.])\s+ছবি: (?P<credit>[^।:]+)$")
# a sentence ends in danda, ? or ! (a full stop only in Latin text), maybe followed by a
# closing quote or bracket: ``…বলেন।`` and ``…মনে করে।’`` both end a paragraph.
SENTENCE_END = re.compile(r"[।?!.][’”)]*$")
INVISIBLE = frozenset("\u200c\u200d")


@attrs.frozen
class Page:
    """One demo page as the local reader sees it."""

    id: str
    crumbs: tuple[str, ...]
    headline: str
    caption: str | None
    credit: str | None
    paragraphs: tuple[str, ...]
    related: tuple[str, ...]


def read_page(path: Path) -> Page:
    """Split a demo page into its parts, asserting the page format on the way."""
    text = path.read_bytes().decode("utf-8")
    assert "\r" not in text, f"{path.name}: line ends must be LF"
    assert text.endswith("\n") and not text.endswith("\n\n"), f"{path.name}: one final LF"
    blocks = text[:-1].split("\n\n")
    assert all(block and block.strip() == block for block in blocks), (
        f"{path.name}: blocks are separated by exactly one blank line, no stray spaces"
    )
    crumb_line, headline, *rest = blocks
    assert BREADCRUMB.match(crumb_line), f"{path.name}: bad breadcrumb {crumb_line!r}"
    assert "\n" not in headline and not SENTENCE_END.search(headline), path.name
    caption = credit = None
    if rest and (found := CAPTION.match(rest[0])):
        caption, credit = found["caption"], found["credit"]
        rest = rest[1:]
    paragraphs = []
    while rest and SENTENCE_END.search(rest[0]):
        paragraphs.append(rest.pop(0))
    for line in rest:
        assert "\n" not in line and not SENTENCE_END.search(line), (
            f"{path.name}: {line!r} is neither a body paragraph nor a related headline"
        )
    return Page(
        id=path.stem,
        crumbs=tuple(crumb_line.split(" > ")[1:]),
        headline=headline,
        caption=caption,
        credit=credit,
        paragraphs=tuple(paragraphs),
        related=tuple(rest),
    )


@pytest.fixture(scope="module")
def files() -> list[Path]:
    return demo_article_files()


@pytest.fixture(scope="module")
def pages(files: list[Path]) -> list[Page]:
    return [read_page(path) for path in files]


@pytest.fixture(scope="module")
def by_key(pages: list[Page]) -> dict[str, Page]:
    """Article of each normalized headline."""
    return {normalize_text(page.headline): page for page in pages}


def test_corpus_folder_is_package_data() -> None:
    folder = demo_corpus_path()
    assert folder.is_dir()
    assert folder.parent == Path(bnsearch.__file__).resolve().parent / "data"


def test_files_are_sorted_page_files_with_demo_ids(files: list[Path]) -> None:
    assert 48 <= len(files) <= 60
    assert files == sorted(demo_corpus_path().glob("*.txt"))
    assert [path.name for path in files] == sorted(path.name for path in files)
    bad = [path.name for path in files if not FILE_NAME.match(path.name)]
    assert not bad, f"file names must look like demo-<section>-NN.txt: {bad}"


def test_every_page_has_breadcrumb_headline_and_body(pages: list[Page]) -> None:
    for page in pages:
        assert page.crumbs and page.crumbs[0], page.id
        assert len(page.crumbs) <= 2, page.id
        assert page.headline, page.id
        assert 3 <= len(page.paragraphs) <= 5, f"{page.id}: {len(page.paragraphs)} paragraphs"
        words = sum(len(paragraph.split()) for paragraph in page.paragraphs)
        assert 120 <= words <= 300, f"{page.id}: body has {words} words"


def test_sections(pages: list[Page]) -> None:
    sections = Counter(page.crumbs[0] for page in pages)
    for required in ("জাতীয়", "রাজনীতি", "অর্থনীতি", "আন্তর্জাতিক", "খেলা", "শিক্ষা"):
        assert sections[unicodedata.normalize("NFC", required)] >= 2, required
    assert len(sections) >= 6
    assert any(len(page.crumbs) == 2 for page in pages), "some two-level breadcrumbs"


def test_headlines_are_unique_after_normalization(
    pages: list[Page], by_key: dict[str, Page]
) -> None:
    assert len(by_key) == len(pages)


def test_captions_and_related_lists_are_mostly_present(pages: list[Page]) -> None:
    without_caption = [page.id for page in pages if page.caption is None]
    without_related = [page.id for page in pages if not page.related]
    assert 2 <= len(without_caption) <= 4, without_caption
    assert 2 <= len(without_related) <= 3, without_related
    for page in pages:
        if page.caption is not None:
            assert page.credit and page.credit.strip() == page.credit, page.id
        if page.related:
            assert 3 <= len(page.related) <= 6, f"{page.id}: {len(page.related)} related"
        assert len(set(map(normalize_text, page.related))) == len(page.related), page.id


def test_text_is_nfc_except_deliberate_variants_in_related_lines(pages: list[Page]) -> None:
    for page in pages:
        stored = [*page.crumbs, page.headline, *page.paragraphs, page.caption or ""]
        for text in stored:
            assert unicodedata.is_normalized("NFC", text), f"{page.id}: not NFC: {text[:40]!r}"
            # joiners only where standard spelling needs them: র‍্য (ra + ZWJ + virama + ya)
            # and an explicit hasanta (virama + ZWNJ, as in উদ্‌যাপন)
            rest = text.replace("র\u200d\u09cdয", "").replace("\u09cd\u200c", "")
            assert not INVISIBLE & set(rest), f"{page.id}: stray joiner in {text[:40]!r}"


def test_related_headlines_resolve(pages: list[Page], by_key: dict[str, Page]) -> None:
    lines = [(page, line) for page in pages for line in page.related]
    resolved = [
        (page, line, by_key[normalize_text(line)])
        for page, line in lines
        if normalize_text(line) in by_key
    ]
    dangling = [line for page, line in lines if normalize_text(line) not in by_key]
    variants = [line for _, line, target in resolved if line != target.headline]

    assert len(resolved) >= 0.8 * len(lines), f"{len(resolved)} of {len(lines)} resolve"
    assert 3 <= len(dangling) <= 12, dangling
    assert 3 <= len(variants) <= 8, variants
    assert all(target.id != page.id for page, _, target in resolved), "self links"


def test_encoding_variants_differ_only_in_encoding(
    pages: list[Page], by_key: dict[str, Page]
) -> None:
    kinds: set[str] = set()
    for page in pages:
        for line in page.related:
            target = by_key.get(normalize_text(line))
            if target is None or line == target.headline:
                continue
            if INVISIBLE & set(line):
                kinds.add("joiner")
            if "\u09df" in line:
                kinds.add("precomposed ya")
            if any(char.isascii() and char.isdigit() for char in line) != any(
                char.isascii() and char.isdigit() for char in target.headline
            ):
                kinds.add("digits")
    assert kinds == {"joiner", "precomposed ya", "digits"}


def test_every_article_is_linked(pages: list[Page], by_key: dict[str, Page]) -> None:
    linked: set[str] = set()
    for page in pages:
        for line in page.related:
            target = by_key.get(normalize_text(line))
            if target is not None:
                linked.update((page.id, target.id))
    assert linked == {page.id for page in pages}
    in_links = Counter(
        by_key[normalize_text(line)].id
        for page in pages
        for line in page.related
        if normalize_text(line) in by_key
    )
    clusters = [article for article, count in in_links.items() if count >= 4]
    assert len(clusters) >= 5, "several story clusters with well-linked articles"


def test_vocabulary_for_demo_queries(pages: list[Page]) -> None:
    analyzer = default_analyzer()
    terms = {
        page.id: set(analyzer.terms(" ".join((page.headline, *page.paragraphs)))) for page in pages
    }
    police = {page_id for page_id, found in terms.items() if "পুলিশ" in found}
    bridge = {page_id for page_id, found in terms.items() if "পুল" in found}
    assert police and bridge and bridge - police, "পুল (bridge) and পুলিশ in other articles"
    everything = set().union(*terms.values())
    for term in ("icc", "imf", "15", "328"):
        assert term in everything, term
    raw = "\n".join(paragraph for page in pages for paragraph in page.paragraphs)
    for word in (
        "ঢাকায়",
        "চট্টগ্রামের",
        "বাংলাদেশের",
        "বৈঠক",
        "বৈঠকে",
        "১৫টি",
        "৩২৮টি",
        "বলেছেন",
        "জানিয়েছেন",
        "‘",
        "’",
        "(",
    ):
        assert unicodedata.normalize("NFC", word) in raw, word


def _real_parser_or_skip() -> Callable[..., Article]:
    parse_page: Callable[..., Article] | None = getattr(bnsearch.articles, "parse_page", None)
    if parse_page is None:
        pytest.skip("bnsearch.articles.parse_page is not available")
    return parse_page


def test_real_parser_reads_every_demo_page_as_expected(files: list[Path]) -> None:
    parse_page = _real_parser_or_skip()
    for path in files:
        expected = read_page(path)
        article = parse_page(path.read_text(encoding="utf-8"), id=path.stem)
        assert article.id == expected.id
        assert article.title == expected.headline
        assert article.section == expected.crumbs
        assert article.body == "\n\n".join(expected.paragraphs), path.name
        assert article.photo_credit == expected.credit, path.name
        assert (article.caption is None) == (expected.caption is None), path.name
        assert tuple(link.headline for link in article.related) == expected.related, path.name


def test_real_reader_and_link_graph_on_the_demo_folder(
    pages: list[Page], by_key: dict[str, Page]
) -> None:
    _real_parser_or_skip()
    read_articles = getattr(bnsearch.articles, "read_articles", None)
    link_graph = getattr(bnsearch.articles, "LinkGraph", None)
    if read_articles is None or link_graph is None:
        pytest.skip("bnsearch.articles.read_articles / LinkGraph are not available")
    articles = list(read_articles(demo_corpus_path()))
    assert sorted(article.id for article in articles) == sorted(page.id for page in pages)

    graph = link_graph.from_articles(articles)
    expected_edges = {
        (page.id, by_key[normalize_text(line)].id)
        for page in pages
        for line in page.related
        if normalize_text(line) in by_key
    }
    actual_edges = {(page.id, target) for page in pages for target in graph.out_links(page.id)}
    assert actual_edges == expected_edges
    dangling = sum(
        1 for page in pages for line in page.related if normalize_text(line) not in by_key
    )
    assert len(graph.unresolved()) == dangling
    assert not graph.ambiguous()
