"""Reading articles from disk: :func:`read_articles` over page files, folders and JSONL.

What a path can be:

* a file ending in ``.jsonl`` or ``.ndjson``: one JSON record per line (see
  :mod:`bnsearch.articles.jsonl`); with ``.gz`` after it, the same, gzip-compressed;
* any other file: one news page (see :mod:`bnsearch.articles.page`); the article's id is the
  file name without its extension (``2024/dudok-taskforce.txt`` -> ``dudok-taskforce``);
  ``.json``, other ``.gz``, ``.html`` and ``.htm`` files are refused with a clear error;
* a folder: every ``.txt`` page and every JSONL file in it and its subfolders, in sorted
  path order. Hidden entries (a name starting with ``.``) and other files are passed over;
  a :class:`ReadReport` lists the other files in ``ignored_files``.

Bad input raises :class:`bnsearch.errors.ArticleError` naming the file and, where it
applies, the line and the byte offset: a NUL byte (a binary file), bytes that are not UTF-8
(the offset of the first bad byte; in a gzipped file, the offset in the decompressed
stream), a line that is not JSON, a record or page that is not an article. Blank lines in
JSONL are not records and are passed over.

With ``skip_bad=True`` a bad record or page is skipped instead, and recorded in the
``report`` (a :class:`ReadReport` the caller passes in); without a report, every skip is
a :class:`SkippedRecordWarning`, so nothing is dropped silently. A file that cannot be read
(unreadable, binary, UTF-16, corrupt gzip) is one skipped entry; the records read from it
before the damage are kept.

An id read twice (two page files with the same name in different folders, a repeated
JSONL record) is not an error: both articles are yielded, and a report lists the repeat
in ``duplicates`` with where the id was first seen (an index keeps the last one).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import warnings
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs

from bnsearch.articles.jsonl import article_from_record, decode_json
from bnsearch.articles.model import Article
from bnsearch.articles.page import parse_page
from bnsearch.errors import ArticleError

#: What a line is found in: a block of bytes read from the file.
Buffer = bytes

#: File name endings read as JSONL.
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
#: File name endings read as pages inside a folder (a page file named directly may have any).
PAGE_SUFFIXES = (".txt",)

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
#: The bytes stripped from a JSONL line's end before it is decoded.
_LINE_ENDS = b"\r\n"


class _UnreadableFileError(ArticleError):
    """The rest of a file cannot be read (binary data, corrupt gzip): skip the whole file."""


class SkippedRecordWarning(UserWarning):
    """A bad record or page was skipped (``skip_bad=True`` and no report to record it in)."""


@attrs.frozen(slots=True, kw_only=True)
class SkippedRecord:
    """One record or file left out by ``skip_bad=True``, and why."""

    path: str
    line: int | None = None
    offset: int | None = None
    reason: str

    def __str__(self) -> str:
        where = [self.path]
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.offset is not None:
            where.append(f"byte {self.offset}")
        return f"{', '.join(where)}: {self.reason}"


@attrs.define
class ReadReport:
    """What a :func:`read_articles` run read, skipped and passed over (filled as it goes)."""

    articles: int = 0
    files: int = 0
    skipped: list[SkippedRecord] = attrs.field(factory=list)
    ignored_files: list[str] = attrs.field(factory=list)
    #: Articles whose id was already read earlier in this run (they are still yielded; an
    #: index keeps the last one). ``reason`` names where the id was first seen. Tracking
    #: keeps each id and its first place: roughly 150 bytes per article read.
    duplicates: list[SkippedRecord] = attrs.field(factory=list)
    _first_seen: dict[str, tuple[str, int | None]] = attrs.field(
        factory=dict, init=False, repr=False
    )

    def _note(self, article: Article, path: str, line: int | None) -> None:
        self.articles += 1
        first = self._first_seen.get(article.id)
        if first is None:
            self._first_seen[article.id] = (path, line)
            return
        where = first[0] if first[1] is None else f"{first[0]}, line {first[1]}"
        self.duplicates.append(
            SkippedRecord(
                path=path, line=line, reason=f"id {article.id!r} was already read at {where}"
            )
        )

    @property
    def ok(self) -> bool:
        """True when nothing was skipped."""
        return not self.skipped

    def summary(self) -> str:
        """One line for logs: counts, then the first few skipped records."""
        text = f"{self.articles} articles from {self.files} files, {len(self.skipped)} skipped"
        if self.ignored_files:
            text += f", {len(self.ignored_files)} other files passed over"
        if self.duplicates:
            text += f", {len(self.duplicates)} repeated ids"
        if self.skipped:
            shown = "; ".join(str(item) for item in self.skipped[:3])
            more = f"; and {len(self.skipped) - 3} more" if len(self.skipped) > 3 else ""
            text += f" ({shown}{more})"
        return text


def read_articles(
    path: str | os.PathLike[str],
    *,
    skip_bad: bool = False,
    report: ReadReport | None = None,
    keep: Callable[[str], bool] | None = None,
) -> Iterator[Article]:
    """Yield the articles in a page file, a folder, or a (gzipped) JSONL file.

    See the module docstring for the formats, the errors and what ``skip_bad`` does.
    ``report``, when given, is filled as the iterator is consumed.

    ``keep``, when given, is a test of article ids: only the articles it accepts are
    yielded (a shard of a sharded index reads its own articles from shared sources). What
    it refuses is passed over before it costs a decoding where the id can be seen
    without one: a page file by its name, a JSONL line by its plain-string ``"id"``
    (:func:`line_id`). Those passed-over lines are not checked (the reader that keeps
    them reports their errors), except for a NUL byte, which stops every reader of the
    file alike. Other lines are decoded and checked as usual, then tested. A kept line
    whose decoded id is not the one seen (the key written twice, or the one ``"id"``
    not the record's own) is a bad record, reported by the one reader that kept it.
    """
    return _Run(skip_bad=skip_bad, report=report, keep=keep).read(Path(path))


#: File endings that are refused as pages, with what to do instead.
REFUSED_SUFFIXES = {
    ".json": "a .json file is not read: use JSONL (one JSON object per line, named .jsonl)",
    ".gz": "only .jsonl.gz and .ndjson.gz are read gzipped",
    ".html": "HTML is not read: save the page as plain text (.txt)",
    ".htm": "HTML is not read: save the page as plain text (.txt)",
}


def read_page_file(path: str | os.PathLike[str]) -> Article:
    """Read one page file; the id is the file name without its extension."""
    file = Path(path)
    refused = REFUSED_SUFFIXES.get(file.suffix.lower())
    if refused is not None:
        raise ArticleError(refused, path=str(file))
    text = _decode_page(_read_bytes(file), str(file))
    try:
        return parse_page(text, id=file.stem or file.name)
    except ArticleError as error:
        raise ArticleError(error.reason, path=str(file), line=error.line) from None


#: A JSONL line whose first key is ``"id"`` with a plain string value (no escapes).
_FIRST_ID = re.compile(rb'(?:\xef\xbb\xbf)?[ \t\r]*\{[ \t\r]*"id"[ \t\r]*:[ \t\r]*"([^"\\\n]*)"')
#: The ``"id"`` key anywhere, with a plain string value.
_PLAIN_ID = re.compile(rb'"id"[ \t\r]*:[ \t\r]*"([^"\\\n]*)"')


def line_id(raw: Buffer, start: int = 0, end: int | None = None) -> str | None:
    """The article id of the JSONL line ``raw[start:end]``, seen without decoding the
    record, or ``None`` when it cannot be seen (then decode the line): the value of a
    first key ``"id"``, or of the one ``"id"`` of the line (inside a JSON string a quote
    is escaped, so the bytes ``"id"`` are a key or a whole string value), when it is a
    string without escapes (so the decoded id is these bytes as UTF-8). A reader that
    decodes the line checks that it is the record's id."""
    end = len(raw) if end is None else end
    found = _FIRST_ID.match(raw, start, end)
    if found is None:
        first = raw.find(b'"id"', start, end)
        if first < 0 or raw.find(b'"id"', first + 4, end) >= 0:
            return None  # none, or twice
        found = _PLAIN_ID.match(raw, first, end)
        if found is None:
            return None
    try:
        ident = found.group(1).decode("utf-8")
    except UnicodeDecodeError:
        return None
    return ident if ident.strip() else None


def is_jsonl_name(name: str) -> bool:
    """Whether a file name is read as JSONL (by its ending, case-insensitive)."""
    return name.lower().endswith(JSONL_SUFFIXES)


# ----------------------------------------------------------------- internals


def _read_bytes(file: Path) -> bytes:
    try:
        return file.read_bytes()
    except OSError as error:
        raise ArticleError(f"cannot read: {error.strerror or error}", path=str(file)) from None


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _decode_page(data: bytes, name: str) -> str:
    if data.startswith(_UTF16_BOMS):
        raise ArticleError(
            "file is UTF-16 (byte order mark at byte 0); save it as UTF-8", path=name, offset=0
        )
    nul = data.find(b"\x00")
    if nul >= 0:
        raise ArticleError(
            "binary file: NUL byte; a page must be UTF-8 text",
            path=name,
            line=_line_of(data, nul),
            offset=nul,
        )
    start = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    try:
        return data[start:].decode("utf-8")
    except UnicodeDecodeError as error:
        offset = start + error.start
        raise ArticleError(
            f"not UTF-8: byte 0x{data[offset]:02x} cannot be decoded ({error.reason})",
            path=name,
            line=_line_of(data, offset),
            offset=offset,
        ) from None


@attrs.define
class _Run:
    """One read: the skip policy and the report, shared by every file it visits."""

    skip_bad: bool
    report: ReadReport | None
    #: a test of article ids: only the articles it accepts are read (see read_articles)
    keep: Callable[[str], bool] | None = None

    def skip(self, error: ArticleError, path: str) -> None:
        item = SkippedRecord(
            path=error.path or path, line=error.line, offset=error.offset, reason=error.reason
        )
        if self.report is not None:
            self.report.skipped.append(item)
        else:
            warnings.warn(f"skipped {item}", SkippedRecordWarning, stacklevel=4)

    def count_file(self) -> None:
        if self.report is not None:
            self.report.files += 1

    def note(self, article: Article, path: str, line: int | None = None) -> None:
        if self.report is not None:
            self.report._note(article, path, line)

    def read(self, root: Path) -> Iterator[Article]:
        if root.is_dir():
            yield from self.folder(root)
        elif root.exists():
            yield from self.file(root)
        else:
            raise ArticleError("no such file or folder", path=str(root))

    def folder(self, root: Path) -> Iterator[Article]:
        for file in _walk(root):
            name = file.name.lower()
            if is_jsonl_name(name) or name.endswith(PAGE_SUFFIXES):
                yield from self.file(file)
            elif self.report is not None:
                self.report.ignored_files.append(str(file))

    def file(self, file: Path) -> Iterator[Article]:
        self.count_file()
        if is_jsonl_name(file.name):
            yield from self.jsonl(file)
            return
        if self.keep is not None and not self.keep(file.stem or file.name):
            return  # a page's id is its file name
        try:
            article = read_page_file(file)
        except ArticleError as error:
            if not self.skip_bad:
                raise
            self.skip(error, str(file))
            return
        self.note(article, str(file))
        yield article

    def jsonl(self, file: Path) -> Iterator[Article]:
        name = str(file)
        try:
            stream = _open_binary(file)
        except ArticleError as error:
            if not self.skip_bad:
                raise
            self.skip(error, name)
            return
        with stream:
            try:
                yield from self._records(stream, name)
            except ArticleError as error:
                if not self.skip_bad:
                    raise
                self.skip(error, name)  # the file itself is unreadable from here on

    def _records(self, stream: io.BufferedIOBase, name: str) -> Iterator[Article]:
        number = 0
        keep = self.keep
        for block, start, end, offset, clean in _lines(stream, name):
            number += 1
            seen = None
            if keep is not None and clean:
                seen = line_id(block, start, end)
                if seen is not None and not keep(seen):
                    continue  # another reader's line: its reader checks it
            try:
                article = _record(block, start, end, name, number, offset, clean)
                if article is None or keep is None:
                    pass
                elif seen is not None and article.id != seen:
                    raise ArticleError(
                        f"the record's id {article.id!r} is not the one its line shows "
                        f"first ({seen!r}): key 'id' written twice?",
                        path=name,
                        line=number,
                        offset=offset,
                    )
                elif not keep(article.id):
                    article = None
            except _UnreadableFileError:
                raise
            except ArticleError as error:
                if not self.skip_bad:
                    raise
                self.skip(error, name)
                continue
            if article is not None:
                self.note(article, name, number)
                yield article


def _walk(root: Path, seen: set[str] | None = None) -> Iterator[Path]:
    """Files under ``root`` in sorted order; a symlinked folder is visited once (no loops)."""
    seen = set() if seen is None else seen
    real = os.path.realpath(root)
    if real in seen:
        return
    seen.add(real)
    try:
        with os.scandir(root) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError as error:
        raise ArticleError(
            f"cannot list folder: {error.strerror or error}", path=str(root)
        ) from None
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            yield from _walk(Path(entry.path), seen)
        elif entry.is_file():
            yield Path(entry.path)


def _open_binary(file: Path) -> io.BufferedIOBase:
    try:
        if file.name.lower().endswith(".gz"):
            return gzip.GzipFile(file, "rb")
        return open(file, "rb")
    except OSError as error:
        raise ArticleError(f"cannot open: {error.strerror or error}", path=str(file)) from None


#: Bytes read at a time from a JSONL file (plain or gzipped).
_BLOCK = 1 << 20


def _lines(stream: io.BufferedIOBase, name: str) -> Iterator[tuple[Buffer, int, int, int, bool]]:
    """Each line of a (possibly gzipped) stream as ``(block, start, end, offset,
    clean)``: the line is ``block[start:end]`` (newline included), ``offset`` its byte
    offset in the stream, ``clean`` whether it comes before any NUL byte of its block.
    Plain and gzipped files alike are read in blocks, never memory-mapped: a mapped file
    cut short by another process while it is read kills the reader with SIGBUS, where a
    read just ends (measured: no slower on a 212 MB file). Decompression errors become
    ArticleError."""
    number = 0
    rest = b""
    base = 0  # stream offset of the block's first byte
    while True:
        try:
            data = stream.read1(_BLOCK)
        except (OSError, EOFError, zlib.error) as error:
            raise _UnreadableFileError(
                f"cannot read past line {number}: {error} (truncated or corrupt file?)",
                path=name,
            ) from None
        if not data:
            if rest:
                number += 1
                yield rest, 0, len(rest), base, b"\x00" not in rest
            return
        block = rest + data if rest else data
        clean = b"\x00" not in block
        start = 0
        find = block.find
        while (newline := find(b"\n", start)) >= 0:
            number += 1
            yield block, start, newline + 1, base + start, clean
            start = newline + 1
        rest = block[start:]
        base += start


def _record(
    block: Buffer, start: int, end: int, name: str, number: int, offset: int, clean: bool
) -> Article | None:
    """Decode one JSONL line, ``block[start:end]`` (``offset`` is its byte offset in the
    file; ``clean``: its block holds no NUL byte); None for a blank line. The line is
    decoded in place (no copy of its bytes: a line is 7 KB of article on average)."""
    if number == 1 and block.startswith(_UTF8_BOM, start, end):
        start += len(_UTF8_BOM)
        offset += len(_UTF8_BOM)
    if number == 1 and block.startswith(_UTF16_BOMS, start, end):
        raise _UnreadableFileError(
            "file is UTF-16 (byte order mark at byte 0); save it as UTF-8",
            path=name,
            line=1,
            offset=0,
        )
    nul = -1 if clean else block.find(b"\x00", start, end)
    if nul >= 0:
        raise _UnreadableFileError(
            "binary data: NUL byte; JSONL must be UTF-8 text (file not read further)",
            path=name,
            line=number,
            offset=offset + nul - start,
        )
    stop = end
    while stop > start and block[stop - 1] in _LINE_ENDS:
        stop -= 1
    try:
        text = str(memoryview(block)[start:stop], "utf-8")
    except UnicodeDecodeError as error:
        raise ArticleError(
            f"not UTF-8: byte 0x{block[start + error.start]:02x} cannot be decoded "
            f"({error.reason})",
            path=name,
            line=number,
            offset=offset + error.start,
        ) from None
    if not text.strip():
        return None
    try:
        record = decode_json(text)
    except json.JSONDecodeError as error:
        raise ArticleError(
            f"not valid JSON: {error.msg} (column {error.colno})",
            path=name,
            line=number,
            offset=offset + len(text[: error.pos].encode("utf-8")),
        ) from None
    try:
        return article_from_record(record)
    except ArticleError as error:
        raise ArticleError(error.reason, path=name, line=number, offset=offset) from None
