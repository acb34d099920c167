"""News page text <-> :class:`Article`: :func:`parse_page` and its inverse :func:`format_page`.

A page is plain text as copied from a Bengali news site (see ``examples/article-page.txt``)::

    হোম > জাতীয়                                   <- breadcrumb (optional)

    প্রিন্সিপাল স্টাফ অফিসারের পাকিস্তান সফর, …       <- headline

    রাওয়ালপিন্ডিতে বৈঠকে …। ছবি: রেডিও পাকিস্তান     <- caption and photo credit (optional)

    বাংলাদেশ সশস্ত্র বাহিনী বিভাগের …।               <- body paragraphs
    …
    অনুসন্ধান ও তদন্তের জট কাটাতে দুদকে …            <- related headlines (optional)
    উত্তরায় গ্যাস সরবরাহ বন্ধ, কারণ জানাল তিতাস

The rules, in order:

* **Clean-up.** A leading BOM is dropped; CRLF, CR and the other Unicode line breaks end a
  line; spaces at both ends of a line are dropped; a line of only spaces is blank. Blocks are
  runs of non-blank lines between blank lines (any number of blank lines separates two
  blocks). A page with no blank line at all is read with one block per line.
* **Breadcrumb.** The first line is a breadcrumb when it contains ``>`` (or ``›``, ``»``):
  it is split into crumbs and a first crumb ``হোম``/``প্রচ্ছদ``/``Home`` is dropped.
* **Headline.** The first line after the breadcrumb. More lines in its block start the body.
* **Caption.** Among the first :data:`CAPTION_WINDOW` blocks after the headline, the first
  one that ends with a photo credit: a marker ``ছবি:``, ``ছবি :``, ``ছবিঃ`` (visarga),
  ``ছবি-`` (also en/em dash) or ``Photo:`` (any case), optionally in parentheses, then a
  credit of at most :data:`CREDIT_MAX_CHARS` characters with no danda inside (one final
  danda or full stop is dropped). The text before the marker is the caption, the text after
  it the credit (either may be empty, which gives ``None``).
* **Related headlines.** Either everything after a final label line (``আরও পড়ুন``,
  ``আরো পড়ুন``, ``সম্পর্কিত খবর``, ``Related``, … see :data:`RELATED_LABELS`; a trailing
  ``:`` is allowed) when every line after it is short, or else the run of *headline lines*
  at the end of the page. A headline line is at most :data:`RELATED_MAX_CHARS` characters
  and :data:`RELATED_MIN_WORDS` to :data:`RELATED_MAX_WORDS` words (at most
  :data:`STATEMENT_MAX_WORDS` unless it holds a ``?``), holds no danda, and
  does not end like a sentence: ``। ॥ . ; ,`` last, checked after closing quotes and
  brackets, invisible marks and one final bracketed group are set aside (so ``…করে।’`` and
  ``…করেন। (বুখারি, হাদিস : ১৪২৪)`` end sentences, while ``… কী করণীয়?``, ``…শিশুর:``,
  ``… ‘ষড়যন্ত্র’``, ``… দাউদ (আ.)`` and ``… অতঃপর...`` are headlines). Lines that close a
  body are never headline lines: a wholly bracketed citation (``(সুনানে আবু দাউদ: ১১৭৬)``),
  a byline or source line (``লেখক: …``, ``সূত্র: …``, see :data:`BODY_TAIL_LABELS`),
  a line opening with ``/`` or a dash (``/এএইচ``, ``— নাম``), a line ending a quotation of
  reported speech after its ``?``/``!`` (``… বলেন, ‘… লাশ?’``, or ``… চাঁদ!’`` whose quote
  opened on an earlier line). A *sentence title* (headline sized, exactly one danda:
  ``… জানতে চাই।``, ``… আছে। … যাবে?``; or a reader's question of at most
  :data:`QUESTION_MAX_SENTENCES` sentences holding a ``?``, as question-and-answer pages
  title their questions: ``… দেয়। … মাকরুহ। কি কারণে মাকরুহ? … করনীয় কি?``; several
  sentences without a question are a paragraph) joins the run between two headline
  lines, and last on the page when it ends in ``?``/``!``; a last line ending in a danda
  closes the body. The run never starts right after a line that ends in a comma: that
  line goes on in the next one (a verse, a sentence split over lines). Each line is one
  headline; a leading bullet (``•``, ``-``, ``*``, ``▪``, ``►``) is dropped.
  A line ``headline<TAB>URL`` (any URL without spaces) or ``headline | https://…`` (an
  absolute http(s) URL) carries the target URL; a bare ``https://…`` line is a link with a
  URL and no headline (it resolves by URL or is reported unresolved), as is ``| https://…``.
  The body always keeps at least one paragraph, so the first line of a run that would eat the
  whole body stays in the body. Measured on BeliN articles rendered as pages with other
  articles' titles as related headlines (``tests/page_render.py``), see the guide.
* **Body.** What is left: its blocks are the paragraphs, joined with one blank line; the
  lines inside a block keep their single line breaks.

Errors are :class:`bnsearch.errors.ArticleError` with the line number: an empty page, a
page with no headline, a page with no body.
"""

from __future__ import annotations

import hashlib
import re

from bnsearch.articles.links import title_key
from bnsearch.articles.model import Article, RelatedLink, valid_text
from bnsearch.errors import ArticleError

#: How many blocks after the headline are searched for the photo caption.
CAPTION_WINDOW = 3
#: Longest photo credit (characters); a longer "credit" is ordinary text.
CREDIT_MAX_CHARS = 80
#: A related headline is at most this many characters (headline part, without the URL).
#: Bengali news headlines run 40-90 characters; body paragraphs are rarely this short and
#: almost always end in a danda.
RELATED_MAX_CHARS = 200
#: A related headline has at least this many words (keeps a lone byline tag in the body).
RELATED_MIN_WORDS = 2
#: A related headline has at most this many words.
RELATED_MAX_WORDS = 36
#: A related headline that does not ask (no ``?``) has at most this many words: news
#: headlines run 5-15 words, a longer line without a danda is a sentence that lost it.
#: Questions run longer (question-and-answer pages title a reader's whole question).
STATEMENT_MAX_WORDS = 24
#: A related title of several sentences (a reader's question) has at most this many.
QUESTION_MAX_SENTENCES = 5
#: Labels that open a byline, source or credit line at the end of a body (before ``:``).
BODY_TAIL_LABELS = frozenset(
    {
        "লেখক",
        "লেখিকা",
        "লেখকদ্বয়",
        "সূত্র",
        "সুত্র",
        "তথ্যসূত্র",
        "তথ্যসুত্র",
        "তথ্যঋণ",
        "অনুবাদ",
        "ভাষান্তর",
        "অনুলিখন",
        "গ্রন্থনা",
        "সংকলন",
        "সম্পাদনা",
        "প্রতিবেদক",
        "উত্তর",  # the answer of a question-and-answer page
        "উত্তর দিয়েছেন",
        "উত্তর দিচ্ছেন",
        "source",
        "writer",
        "author",
    }
)
#: Lines that announce the related headlines; compared case-folded, without a final colon.
RELATED_LABELS = frozenset(
    {
        "আরও পড়ুন",
        "আরো পড়ুন",
        "আরও খবর",
        "আরো খবর",
        "সম্পর্কিত খবর",
        "সম্পর্কিত সংবাদ",
        "এ বিভাগের আরও খবর",
        "এই বিভাগের আরও খবর",
        "এ বিভাগের আরো খবর",
        "এই বিভাগের আরো খবর",
        "related",
        "related news",
        "read more",
    }
)
#: The label :func:`format_page` writes before the related headlines.
RELATED_LABEL = "আরও পড়ুন"

_BREADCRUMB_SEPARATORS = re.compile(r"\s*[>›»]\s*")
_SENTENCE_FINAL = frozenset("।॥.;,")
_DANDA = re.compile("[।॥]")
#: A sentence end inside a line: a danda anywhere, or ``?``/``!`` followed by more text.
_SENTENCE_END = re.compile(r"[।॥]|[?!](?=[’”\"')\]]*\s+\S)")
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
_TRAILING_GROUP = re.compile(r"(?:\s*[(\[][^()\[\]]*[)\]][\s" + _INVISIBLE + "]*)+$")
_BODY_TAIL = re.compile(r"^(?P<label>[^:：ঃ]{1,24}?)\s*[:：ঃ]")
_BRACKETED = re.compile(r"^[(\[{].*[)\]}][।.]?$")
_CLOSERS = "’”\"')]}»›"
_QUOTE_CLOSES_QUESTION = re.compile(r"[?!][’”]+$")
_QUOTE_OPENS = re.compile(r"[‘“]")
_QUOTE_AFTER_COMMA = re.compile(r",\s*[‘“][^‘“]*$")
_BULLET = re.compile(r"^[-•*·▪►]\s+")
_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)
_CREDIT = re.compile(
    r"^(?P<caption>.*?)"
    r"(?:^|(?<=[\s(\[।.,;]))[(\[]?\s*(?:ছবি|photo)\s*[:：ঃ\-–—]\s*"
    r"(?P<credit>[^।]*?)\s*[)\]]?\s*[।.]?$",
    re.IGNORECASE | re.DOTALL,
)


def parse_page(text: str, *, id: str | None = None) -> Article:
    """Read one news page (rules in the module docstring) into an :class:`Article`.

    ``id`` defaults to :func:`page_id` of the headline, so the same page always gets the
    same id. ``published``, ``url`` and ``source`` are not read from page text.
    """
    if not isinstance(text, str):
        raise ArticleError(f"page text must be str, got {type(text).__name__}")
    text = valid_text(text)  # lone surrogates become U+FFFD: the id and parts encode
    blocks = _blocks(text)
    if not blocks:
        raise ArticleError("empty page: no text at all")

    section: tuple[str, ...] = ()
    first_line, first_text = blocks[0][0]
    if _BREADCRUMB_SEPARATORS.search(first_text):
        section = tuple(_BREADCRUMB_SEPARATORS.split(first_text))
        _pop_first_line(blocks)
        if not blocks:
            raise ArticleError("page has a breadcrumb but no headline", line=first_line)

    headline_line, title = blocks[0][0]
    _pop_first_line(blocks)
    if not blocks:
        raise ArticleError("page has no body: nothing follows the headline", line=headline_line)

    caption: str | None = None
    photo_credit: str | None = None
    for index, block in enumerate(blocks[:CAPTION_WINDOW]):
        found = _split_credit(" ".join(line for _, line in block))
        if found is not None:
            caption, photo_credit = found
            del blocks[index]
            break
    if not blocks:
        raise ArticleError(
            "page has no body: only a photo caption follows the headline", line=headline_line
        )

    lines = [(block_no, line) for block_no, block in enumerate(blocks) for _, line in block]
    body_lines, related = _split_related(lines)
    paragraphs: dict[int, list[str]] = {}
    for block_no, line in body_lines:
        paragraphs.setdefault(block_no, []).append(line)
    body = "\n\n".join("\n".join(part) for part in paragraphs.values())

    return Article(
        id=page_id(title) if id is None else id,
        title=title,
        body=body,
        section=section,
        caption=caption,
        photo_credit=photo_credit,
        related=related,
    )


def page_id(title: str) -> str:
    """The id a page gets when none is given: ``page-`` + 16 hex digits of a SHA-1.

    The hash is taken over :func:`bnsearch.articles.links.title_key` of the title, so the
    same headline typed with another encoding or spacing gets the same id (and two pages
    with the same headline share an id: the later one replaces the earlier one in an index).
    """
    key = title_key(title) or " ".join(title.split())
    return "page-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def format_page(article: Article) -> str:
    """Write ``article`` as page text that :func:`parse_page` reads back.

    ``parse_page(format_page(a), id=a.id)`` gives ``a`` back for an article with a one-line
    title and a non-empty body, apart from what a page cannot carry: ``url``, ``published``,
    ``source`` and the related links' ``target_id``. The related headlines follow a
    :data:`RELATED_LABEL` line, which also ends a body whose last lines
    :func:`parse_page` would read as related headlines.
    """
    blocks: list[str] = []
    title = " ".join(article.title.split())
    if article.section or _BREADCRUMB_SEPARATORS.search(title):
        # "হোম >" alone still reads as an (empty) breadcrumb, so a title with ">" stays a title
        blocks.append(" > ".join(("হোম", *article.section)) if article.section else "হোম >")
    blocks.append(title)
    if article.caption is not None or article.photo_credit is not None:
        caption = article.caption or ""
        credit = article.photo_credit or ""
        blocks.append(f"{caption} ছবি: {credit}".strip())
    paragraphs = [part.strip() for part in re.split(r"\n\s*\n", article.body) if part.strip()]
    blocks.extend(paragraphs)
    if article.related:
        blocks.append(RELATED_LABEL)
        blocks.append("\n".join(_format_related(link) for link in article.related))
    elif _split_related(
        [(number, line) for number, part in enumerate(paragraphs) for line in part.splitlines()]
    )[1]:
        # the body's last lines would read as related headlines: the label ends the body
        blocks.append(RELATED_LABEL)
    return "\n\n".join(blocks) + "\n"


# ----------------------------------------------------------------- internals

_Line = tuple[int, str]  # (1-based line number, stripped text)


def _blocks(text: str) -> list[list[_Line]]:
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = [line.strip() for line in text.splitlines()]
    blocks: list[list[_Line]] = []
    current: list[_Line] = []
    for number, line in enumerate(lines, start=1):
        if line:
            current.append((number, line))
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    if len(blocks) == 1:
        # no blank line anywhere: a single-spaced page, one block per line
        blocks = [[line] for line in blocks[0]]
    return blocks


def _pop_first_line(blocks: list[list[_Line]]) -> None:
    del blocks[0][0]
    if not blocks[0]:
        del blocks[0]


def _split_credit(block: str) -> tuple[str | None, str | None] | None:
    match = _CREDIT.match(block)
    if match is None:
        return None
    credit = match["credit"].strip()
    if len(credit) > CREDIT_MAX_CHARS:
        return None
    caption = match["caption"].strip()
    return caption or None, credit or None


def _ends_sentence(text: str) -> bool:
    """Whether ``text`` ends like a sentence: a danda, full stop, ``;`` or ``,`` last, once
    closing quotes, brackets, invisible marks and a final bracketed group (a citation such
    as ``(বুখারি, হাদিস : ১৪২৪)`` or an honorific such as ``(সা.)``) are set aside. An
    ellipsis does not end a sentence (``… অতঃপর...``)."""
    stripped = _TRAILING_GROUP.sub("", text)
    stripped = stripped.rstrip(_CLOSERS + _INVISIBLE + " ")
    if stripped.endswith(("...", "…")):
        return False
    return not stripped or stripped[-1] in _SENTENCE_FINAL


def _ends_quotation(text: str) -> bool:
    """Whether ``text`` ends a quotation of reported speech: a ``?`` or ``!`` and then the
    closing quote, where the quotation opens after a comma (``… বলেন, ‘… লাশ?’``) or on an
    earlier line (the last line of a quoted poem or speech, ``… চাঁদ!’``). A headline quote
    stands alone (``‘…’ প্রশ্ন মন্ত্রীর``): a line like these continues a body's text."""
    if not _QUOTE_CLOSES_QUESTION.search(text):
        return False
    return not _QUOTE_OPENS.search(text) or bool(_QUOTE_AFTER_COMMA.search(text))


def _split_url(line: str) -> tuple[str, str | None]:
    if "\t" in line:
        headline, _, url = line.rpartition("\t")
        url = url.strip()
        if url and not any(char.isspace() for char in url):
            return headline.strip(), url
    # "headline | https://…", or "| https://…" (the separator with no headline before it)
    bar = " | " if " | " in line else "| " if line.startswith("| ") else None
    if bar is not None:
        headline, _, url = line.rpartition(bar)
        url = url.strip()
        if _URL.match(url):
            return headline.strip(), url
    return line, None


def _format_related(link: RelatedLink) -> str:
    headline = " ".join(link.headline.split())
    if link.url is None:
        return headline
    if not headline and _URL.match(link.url):
        return link.url
    separator = " | " if _URL.match(link.url) else "\t"
    return f"{headline}{separator}{link.url}"


def _headline_part(line: str) -> str:
    headline, _ = _split_url(_BULLET.sub("", line))
    return headline


def _headline_sized(headline: str) -> bool:
    return (
        len(headline) <= RELATED_MAX_CHARS
        and RELATED_MIN_WORDS <= len(headline.split()) <= RELATED_MAX_WORDS
    )


def _is_body_tail(line: str) -> bool:
    """A citation, byline or source line that closes a body: ``(বুখারি, হাদিস : ১৪২৪)``,
    ``লেখক: গবেষক``, ``সূত্র: আল জাজিরা``, ``/এএইচ``, ``— নাম``."""
    if _BRACKETED.match(line) or line[:1] in "/—–":
        return True
    match = _BODY_TAIL.match(line)
    if match is None:
        return False
    label = " ".join(match["label"].split()).casefold()
    return label in BODY_TAIL_LABELS or label in RELATED_LABELS


def _looks_like_headline(line: str) -> bool:
    """A headline line: headline-sized, no danda anywhere, not ending like a sentence, not
    a label, byline or citation; or a bare http(s) URL (a link without a headline)."""
    headline, url = _split_url(_BULLET.sub("", line))
    if _URL.match(headline) or (not headline and url is not None):
        return True  # a bare URL, or "| URL": a link without a headline
    asks = "?" in headline
    return (
        _headline_sized(headline)
        and (asks or len(headline.split()) <= STATEMENT_MAX_WORDS)
        and not _DANDA.search(headline)
        and not _ends_sentence(headline)
        and not _ends_quotation(headline)
        and not _is_label(line)
        and not _is_body_tail(headline)
    )


def _is_sentence_title(line: str) -> bool:
    """A headline-sized line with one danda (some titles are one sentence, or a question
    after one), or a reader's question of at most :data:`QUESTION_MAX_SENTENCES` sentences
    holding a ``?`` (the titles of question-and-answer pages: ``… আছে। … কি করণীয়?``).
    Several sentences without a question are a body paragraph. It joins a run only next
    to headline lines."""
    headline = _headline_part(line)
    if not _headline_sized(headline) or _is_label(line) or _is_body_tail(headline):
        return False
    dandas = len(_DANDA.findall(headline))
    if dandas == 1:
        return True
    sentences = len(_SENTENCE_END.findall(headline)) + 1 - _ends_sentence(headline)
    return "?" in headline and dandas >= 1 and sentences <= QUESTION_MAX_SENTENCES


def _is_label(line: str) -> bool:
    return " ".join(line.rstrip(":： ").split()).casefold() in RELATED_LABELS


def _to_link(line: str) -> RelatedLink:
    headline, url = _split_url(_BULLET.sub("", line))
    if url is None and _URL.match(headline):
        return RelatedLink(headline="", url=headline)  # a bare URL: no headline
    return RelatedLink(headline=headline, url=url)


def _split_related(
    lines: list[tuple[int, str]],
) -> tuple[list[tuple[int, str]], tuple[RelatedLink, ...]]:
    """Split the lines after the headline into body lines and related links."""
    for position in range(len(lines) - 1, 0, -1):
        if _is_label(lines[position][1]):
            after = lines[position + 1 :]
            if all(len(_headline_part(line)) <= RELATED_MAX_CHARS for _, line in after):
                return lines[:position], tuple(_to_link(line) for _, line in after)
            break
    start = _run_start(lines)
    return lines[:start], tuple(_to_link(line) for _, line in lines[start:])


def _run_start(lines: list[tuple[int, str]]) -> int:
    """Where the trailing run of headline lines starts (``len(lines)`` for no run).

    Line 0 always stays in the body. A sentence title (a headline-sized line with a danda)
    joins the run between two headline lines: a related title that is itself a sentence
    (or a question after one). Last on the page it joins only when it does not end like a
    sentence (``… আছে। … যাবে?``): a last line that ends in a danda closes the body. The
    run never starts right after a line that ends in a comma.
    """
    start = len(lines)
    position = start - 1
    while position >= 1:
        line = lines[position][1]
        if _looks_like_headline(line):
            start = position
            position -= 1
        elif (
            start == position + 1
            and position >= 2
            and _is_sentence_title(line)
            and (start < len(lines) or not _ends_sentence(_headline_part(line)))
            and _looks_like_headline(lines[position - 1][1])
        ):
            start = position - 1
            position -= 2
        else:
            break
    # a body line ending in a comma goes on in the next line (a verse, a list): that line
    # is body, not the first related headline
    while start < len(lines) and _continues(lines[start - 1][1]):
        start += 1
    return start


def _continues(line: str) -> bool:
    """Whether ``line`` stops mid-sentence on a comma, so the next line continues it."""
    return line.rstrip(_CLOSERS + _INVISIBLE + " ").endswith((",", "،"))


__all__ = [
    "BODY_TAIL_LABELS",
    "CAPTION_WINDOW",
    "CREDIT_MAX_CHARS",
    "QUESTION_MAX_SENTENCES",
    "RELATED_LABEL",
    "RELATED_LABELS",
    "RELATED_MAX_CHARS",
    "RELATED_MAX_WORDS",
    "RELATED_MIN_WORDS",
    "STATEMENT_MAX_WORDS",
    "format_page",
    "page_id",
    "parse_page",
]
