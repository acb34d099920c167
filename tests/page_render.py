"""Real news pages for the page parser: BeliN articles rendered in the shared page format.

Each BeliN article (``../shared/corpus/belin_religious_news.jsonl``) is written the way
``examples/article-page.txt`` is laid out: breadcrumb, headline, a photo caption on every
other page, one body paragraph per block, then related headlines, one per block, that are
the real titles of OTHER articles of the corpus, each named once (as a site lists each
related article once). Every article is rendered in each of
:data:`VARIANTS`, so the parser is measured on the shapes real pages take:

* ``plain``: 2-8 related headlines drawn from all titles;
* ``questions``: at least two related headlines end in ``?`` or ``!``;
* ``colons_quotes``: at least two related headlines hold a ``:`` or quotes;
* ``citation_tail``: the body ends in a short citation line (``(সুনানে আবু দাউদ: ১১৭৬)``);
* ``byline_tail``: the body ends in a byline or source line (``লেখক: …``, ``সূত্র: …``);
* ``one_related``: a single related headline;
* ``trailing_spaces``, ``extra_blank_lines``, ``crlf_bom``: the same page, mangled;
* ``no_related``: no related block at all (the last paragraphs must stay in the body).

:func:`measure` parses every page and counts the pages whose related list and whose
paragraph count come back exactly. :func:`render_passages` makes held-out pages from the
BQA passages. ``python -m tests.page_render`` prints the figures.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs

from bnsearch.articles import parse_page

VARIANTS = (
    "plain",
    "questions",
    "colons_quotes",
    "citation_tail",
    "byline_tail",
    "one_related",
    "trailing_spaces",
    "extra_blank_lines",
    "crlf_bom",
    "no_related",
)

_CITATIONS = (
    "(সুনানে আবু দাউদ: {n})",
    "(বুখারি, হাদিস : {n})",
    "(সুরা : বাকারা, আয়াত : {n})",
    "(তিরমিজি, হাদিস: {n})",
    "(মুসলিম: {n})",
    "[সূত্র: ইবনে মাজাহ, হাদিস: {n}]",
)
_BYLINES = (
    "লেখক: ইসলামবিষয়ক গবেষক",
    "লেখক : শিক্ষক, জামিয়া ইসলামিয়া, ঢাকা",
    "লেখক: প্রাবন্ধিক ও কলাম লেখক",
    "সূত্র: আল জাজিরা",
    "তথ্যসূত্র : আরব নিউজ",
    "অনুবাদ: মুহাম্মদ আবদুল্লাহ",
    "গ্রন্থনা: মাওলানা আবদুর রহমান",
)
_QUOTES = "‘’“”\"'"


@attrs.frozen(kw_only=True)
class RenderedPage:
    """One rendered page and what a correct parse gives back."""

    variant: str
    source_id: str
    text: str
    title: str
    paragraphs: int
    related: tuple[str, ...]


def _clean(text: str) -> str:
    return " ".join(text.split())


def render_pages(
    records: Sequence[dict[str, Any]],
    *,
    variants: Iterable[str] = VARIANTS,
    seed: int = 12,
) -> list[RenderedPage]:
    """Every record rendered in every variant (deterministic for a given ``seed``)."""
    rng = random.Random(seed)
    titles = [_clean(record["title"]) for record in records]
    questions = [t for t in titles if t.rstrip(_QUOTES)[-1:] in ("?", "!")]
    colons = [t for t in titles if ":" in t or any(q in t for q in _QUOTES)]
    pages = []
    wanted = tuple(variants)
    for number, record in enumerate(records):
        title = titles[number]
        body = [_clean(line) for line in record["body"].splitlines() if line.strip()]
        if not title or not body:
            continue
        section = _clean(record.get("section") or "") or "খবর"
        for variant in wanted:
            pages.append(
                _render(
                    rng,
                    variant,
                    record["id"],
                    title,
                    section,
                    body,
                    number,
                    titles,
                    questions,
                    colons,
                )
            )
    return pages


def render_passages(
    passages: Sequence[dict[str, Any]], titles: Sequence[str], *, seed: int = 7
) -> list[RenderedPage]:
    """Held-out pages from text the rules were not tuned on: each BQA passage that ends a
    sentence (the others are chunks cut mid-sentence, which no page is) split into
    paragraphs of 1-3 sentences, once with 2-8 of ``titles`` as related headlines
    (variant ``passage_related``) and once with none (``passage_no_related``)."""
    rng = random.Random(seed)
    pages = []
    for record in passages:
        body = _clean(record["body"])
        if not body.rstrip(_QUOTES + ") ").endswith(("।", "?", "!")):
            continue
        sentences = [part for part in re.split(r"(?<=[।?!])\s+", body) if part]
        paragraphs = []
        while sentences:
            take = rng.randint(1, 3)
            paragraphs.append(" ".join(sentences[:take]))
            del sentences[:take]
        if len(paragraphs) < 2:
            continue
        title = " ".join(body.split()[:6])
        for variant in ("passage_related", "passage_no_related"):
            related = (
                rng.sample(list(titles), rng.randint(2, 8)) if variant == "passage_related" else []
            )
            text = "\n\n".join(["হোম > খবর", title, *paragraphs, *related]) + "\n"
            pages.append(
                RenderedPage(
                    variant=variant,
                    source_id=record["id"],
                    text=text,
                    title=title,
                    paragraphs=len(paragraphs),
                    related=tuple(related),
                )
            )
    return pages


def _pick(rng: random.Random, pool: Sequence[str], count: int, exclude: Iterable[str]) -> list[str]:
    """``count`` distinct titles of ``pool``, none of them in ``exclude``: a related list
    names another article once and never the page itself."""
    taken = set(exclude)
    chosen: list[str] = []
    while len(chosen) < count:
        title = rng.choice(pool)
        if title not in taken:
            taken.add(title)
            chosen.append(title)
    return chosen


def _render(
    rng: random.Random,
    variant: str,
    source_id: str,
    title: str,
    section: str,
    body: list[str],
    number: int,
    titles: Sequence[str],
    questions: Sequence[str],
    colons: Sequence[str],
) -> RenderedPage:
    paragraphs = list(body)
    count = 1 if variant == "one_related" else rng.randint(2, 8)
    related = _pick(rng, titles, count, (title,))
    if variant == "questions":
        related[:2] = _pick(rng, questions, 2, (title, *related[2:]))
        rng.shuffle(related)
    elif variant == "colons_quotes":
        related[:2] = _pick(rng, colons, 2, (title, *related[2:]))
        rng.shuffle(related)
    elif variant == "citation_tail":
        digits = str(rng.randint(1, 7000)).translate(str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯"))
        paragraphs.append(rng.choice(_CITATIONS).format(n=digits))
    elif variant == "byline_tail":
        paragraphs.append(rng.choice(_BYLINES))
    elif variant == "no_related":
        related = []
    blocks = [f"হোম > {section}", title]
    if number % 2 == 0:
        blocks.append("অনুষ্ঠানে উপস্থিত অতিথিরা। ছবি: সংগৃহীত")
    blocks += paragraphs + related
    separator = "\n\n\n\n" if variant == "extra_blank_lines" else "\n\n"
    text = separator.join(blocks) + "\n"
    if variant == "trailing_spaces":
        text = "\n".join(line + " " * rng.randint(1, 3) for line in text.split("\n"))
    elif variant == "crlf_bom":
        text = "\ufeff" + text.replace("\n", "\r\n")
    return RenderedPage(
        variant=variant,
        source_id=source_id,
        text=text,
        title=title,
        paragraphs=len(paragraphs),
        related=tuple(related),
    )


@attrs.frozen(kw_only=True)
class Score:
    """Pages whose related list / paragraph count came back exactly, out of ``pages``."""

    pages: int
    exact_related: int
    exact_paragraphs: int

    @property
    def related_rate(self) -> float:
        return self.exact_related / self.pages if self.pages else 1.0

    @property
    def paragraph_rate(self) -> float:
        return self.exact_paragraphs / self.pages if self.pages else 1.0


def check(page: RenderedPage) -> tuple[bool, bool]:
    """(related list exact, paragraph count exact) for one page."""
    article = parse_page(page.text)
    related = tuple(link.headline for link in article.related) == page.related
    paragraphs = len(article.body.split("\n\n")) == page.paragraphs
    return related, paragraphs


def measure(pages: Iterable[RenderedPage]) -> dict[str, Score]:
    """Scores per variant, and over all pages under ``"all"``."""
    counts: dict[str, list[int]] = {}
    for page in pages:
        related, paragraphs = check(page)
        for key in (page.variant, "all"):
            row = counts.setdefault(key, [0, 0, 0])
            row[0] += 1
            row[1] += related
            row[2] += paragraphs
    return {
        key: Score(pages=row[0], exact_related=row[1], exact_paragraphs=row[2])
        for key, row in counts.items()
    }


def load_belin(path: Path) -> list[dict[str, Any]]:
    """The BeliN records of ``path``."""
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def main() -> None:  # pragma: no cover - a report for people
    corpus = Path(__file__).resolve().parents[1].parent / "shared/corpus"
    records = load_belin(corpus / "belin_religious_news.jsonl")
    scores = measure(render_pages(records))
    titles = [_clean(record["title"]) for record in records]
    held_out = measure(render_passages(load_belin(corpus / "bqa_passages.jsonl"), titles))
    del held_out["all"]  # "all" stays the BeliN figure
    scores.update(held_out)
    for key, score in scores.items():
        print(
            f"{key:18} pages {score.pages:6}  related {score.related_rate:7.2%}"
            f"  paragraphs {score.paragraph_rate:7.2%}"
        )


if __name__ == "__main__":  # pragma: no cover
    main()
