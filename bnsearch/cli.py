"""The ``bnsearch`` command line: index, delete, search, related, demo, analyze, stats,
verify.

Every command prints one clear line and exits non-zero on an error; ``--debug`` shows the
traceback instead. Error messages suggest command-line fixes (flags that exist), not
Python ones. Output meant for scripts is available as JSON (``search --json``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from bnsearch.analysis import bengali_analyzer
from bnsearch.articles import Article, ReadReport, demo_corpus_path, read_articles, valid_text
from bnsearch.distributed import ShardedIndex, ShardedSearcher, connect, is_sharded
from bnsearch.errors import ArticleError, BnSearchError, IndexLockedError
from bnsearch.index import Index, verify
from bnsearch.search import Results
from bnsearch.search.related import relation

#: Example queries run by ``bnsearch demo`` (what each shows, then the query).
DEMO_QUERIES: tuple[tuple[str, str], ...] = (
    ("an inflected word finds every form", "বৈঠকে"),
    ("পুলিশ (police) is not পুল (bridge)", "পুলিশ"),
    ("Bengali and ASCII digits are one term", "15"),
    ("an exact phrase", '"বাজেট পাস"'),
    ("a half-typed word, as a prefix", "বন্য*"),
    ("a word in the title, within one section (both required)", "+title:ক্রিকেট +section:খেলা"),
)


class _Style:
    """Terminal styling for highlights: ANSI bold on a terminal, «…» elsewhere."""

    def __init__(self, stream: TextIO, color: str) -> None:
        use = color == "always" or (
            color == "auto" and stream.isatty() and "NO_COLOR" not in os.environ
        )
        self.pre, self.post = ("\033[1;33m", "\033[0m") if use else ("«", "»")
        self.dim = ("\033[2m", "\033[0m") if use else ("", "")


def _progress(items: Iterable[Article], stream: TextIO, *, every: int = 500) -> Iterator[Article]:
    """Pass articles through, printing a progress line with articles/s to ``stream``."""
    started = time.perf_counter()
    count = 0
    interactive = stream.isatty()
    for count, item in enumerate(items, 1):
        yield item
        if interactive and count % every == 0:
            rate = count / max(time.perf_counter() - started, 1e-9)
            print(
                f"\r  {count:,} articles, {rate:,.0f} articles/s", end="", file=stream, flush=True
            )
    elapsed = max(time.perf_counter() - started, 1e-9)
    print(
        f"\r  {count:,} articles read and analysed in {elapsed:.1f} s "
        f"({count / elapsed:,.0f} articles/s)",
        file=stream,
        flush=True,
    )


def _open_or_create(path: Path) -> Index:
    """Open the index at ``path``; create it when the folder is missing or empty."""
    if path.is_dir() and any(path.iterdir()):
        if not (path / "meta.json").exists():
            raise BnSearchError(
                f"{path}: the folder is not empty and holds no index; give --index a new "
                "or empty folder"
            )
        return _open_index(path)
    return Index.create(path)


def _open_index(path: Path) -> Index:
    """Open an existing index, with a command-line hint when there is none."""
    if not path.exists():
        raise BnSearchError(
            f"{path}: no such index folder; build one with: bnsearch index FILES --index {path}"
        )
    if path.is_dir() and not (path / "meta.json").exists():
        raise BnSearchError(
            f"{path}: no index here (no meta.json); build one with: "
            f"bnsearch index FILES --index {path}"
        )
    return Index.open(path)


def _message(error: Exception, args: argparse.Namespace) -> str:
    """An error as the command line reports it, with the flag that helps."""
    if isinstance(error, IndexLockedError):
        return _locked_message(error, args)
    if isinstance(error, ArticleError) and args.command == "index" and not args.skip_bad:
        return f"{error} (pass --skip-bad to skip bad records and index the rest)"
    return str(error)


def _locked_message(error: IndexLockedError, args: argparse.Namespace) -> str:
    """The lock error in command-line terms (the library's names ``writer(timeout=...)``)."""
    waited = getattr(args, "timeout", 0.0)
    return (
        f"{getattr(args, 'index', 'the index')}: another process is writing to this index "
        f"(waited {waited:g} s). Run again when it has finished, or wait for it with "
        "--timeout SECONDS."
    )


def _index_articles(
    index: Index,
    sources: Sequence[Path],
    *,
    skip_bad: bool,
    processes: int,
    stream: TextIO,
    timeout: float = 0.0,
) -> dict[str, Any]:
    report = ReadReport()

    def read_all() -> Iterator[Article]:
        for source in sources:
            before = report.articles + len(report.skipped)
            yield from read_articles(source, skip_bad=skip_bad, report=report)
            if report.articles + len(report.skipped) == before:
                print(f"warning: {source}: no articles in it (an empty file?)", file=stream)

    with index.writer(processes=processes, timeout=timeout) as writer:
        for article in _progress(read_all(), stream):
            writer.add(article)
        result = writer.commit()
    reader = index.reader()
    return {
        "added": result.added,
        "replaced": result.replaced,
        "deleted": result.deleted,
        "skipped": len(report.skipped),
        "unresolved_links": len(reader.unresolved_links()),
        "ambiguous_links": len(reader.ambiguous_links()),
        "doc_count": result.doc_count,
        "generation": result.generation,
        "skipped_records": [str(skip) for skip in report.skipped],
    }


def _cmd_index(args: argparse.Namespace) -> int:
    if args.shards is not None or args.scheduler or is_sharded(args.index):
        return _cmd_index_sharded(args)
    path = Path(args.index)
    existed = path.exists()
    fresh = not existed or (path.is_dir() and not any(path.iterdir()))
    index = _open_or_create(path)
    try:
        summary = _index_articles(
            index,
            [Path(p) for p in args.sources],
            skip_bad=args.skip_bad,
            processes=args.processes,
            stream=sys.stderr,
            timeout=args.timeout,
        )
    except BaseException:
        if fresh and index.generation == 0:  # a failed first run leaves no empty index
            _remove_new_index(path, keep_folder=existed)
        raise
    for line in summary.pop("skipped_records"):
        print(f"skipped: {line}", file=sys.stderr)
    print(", ".join(f"{key.replace('_', ' ')}: {value}" for key, value in summary.items()))
    return 0


def _remove_new_index(path: Path, *, keep_folder: bool) -> None:
    """Remove what a failed first ``bnsearch index`` created (nothing was committed)."""
    if not keep_folder:
        shutil.rmtree(path, ignore_errors=True)
        return
    for child in path.iterdir():  # the folder was there, empty: empty it again
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def _cmd_delete(args: argparse.Namespace) -> int:
    index = _open_index(Path(args.index))
    reader = index.reader()
    missing = [ident for ident in args.ids if ident not in reader]
    with index.writer(timeout=args.timeout) as writer:
        for ident in args.ids:
            writer.delete(ident)
        result = writer.commit()
    for ident in missing:
        print(f"warning: no article with id {ident!r} in {args.index}", file=sys.stderr)
    print(f"deleted: {result.deleted}, articles: {result.doc_count}")
    return 0 if not missing else 1


def _matches(total: int) -> str:
    return f"{total} match" if total == 1 else f"{total} matches"


def _print_results(results: Results, style: _Style, *, out: TextIO, related: bool = False) -> None:
    """Print a results page; a ``related`` list shows each hit's relation (own related
    headline, links here, similar) instead of its score, which there is only a rank."""
    shown = f"{results.offset + 1}-{results.offset + len(results)}" if len(results) else "none"
    found = (
        _matches(results.total) if results.total_is_exact else f"at least {results.total} matches"
    )
    print(f"{found} ({shown} shown) in {results.took_ms:.1f} ms", file=out)
    for note in results.notes:
        print(f"note: {note}", file=out)
    for hit in results:
        title_fragment = hit.highlights.get("title")
        title = (
            title_fragment.markup(style.pre, style.post, escape=None)
            if title_fragment
            else str(hit.fields.get("title", ""))
        )
        section = " > ".join(hit.fields.get("section", ()) or ())
        print(f"\n{hit.rank + 1:>3}. {title}", file=out)
        print(
            f"     {style.dim[0]}{hit.id} · {section} · "
            f"{relation(hit.score) if related else f'score {hit.score:.3f}'}{style.dim[1]}",
            file=out,
        )
        snippet = hit.highlights.get("body")
        if snippet is not None:
            text = snippet.markup(style.pre, style.post, escape=None).replace("\n", " ")
            print(f"     {text}", file=out)
    if results.facets.get("section"):
        facets = ", ".join(f"{name} {count}" for name, count in results.facets["section"].items())
        print(f"\nsections: {facets}", file=out)


def _results_json(results: Results, *, related: bool = False) -> dict[str, Any]:
    """The JSON object of a results page; hits of a ``related`` list also say their
    ``relation`` (see :func:`bnsearch.search.related.relation`)."""
    return {
        "total": results.total,
        "total_is_exact": results.total_is_exact,
        "offset": results.offset,
        "limit": results.limit,
        "took_ms": results.took_ms,
        "notes": list(results.notes),
        "facets": {name: dict(counts) for name, counts in results.facets.items()},
        "hits": [
            {
                "id": hit.id,
                "rank": hit.rank + 1,  # 1-based, as the text output numbers hits
                "score": hit.score,
                **({"relation": relation(hit.score)} if related else {}),
                "title": hit.fields.get("title"),
                "section": list(hit.fields.get("section", ()) or ()),
                "url": hit.fields.get("url"),
                "published": hit.fields.get("published"),
                "highlights": {
                    name: {
                        "text": fragment.text,
                        "start": fragment.start,
                        "end": fragment.end,
                        "spans": [list(span) for span in fragment.spans],
                    }
                    for name, fragment in hit.highlights.items()
                },
            }
            for hit in results
        ],
    }


#: --sort names (words, since argparse reads "-date" as an option) -> search() sorts
CLI_SORTS = {"score": "score", "newest": "-date", "oldest": "date"}


def _iso_date(text: str) -> dt.date:
    """A YYYY-MM-DD date for --since/--until (argparse reports the error)."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from None


def _search(index: Index | ShardedSearcher, args: argparse.Namespace) -> Results:
    searcher = index if isinstance(index, ShardedSearcher) else index.searcher()
    filter_: dict[str, Any] = {"section": args.section} if args.section else {}
    since, until = getattr(args, "since", None), getattr(args, "until", None)
    if since or until:
        filter_["published"] = (since, until)
    return searcher.search(
        valid_text(args.query),
        limit=args.limit,
        offset=args.offset,
        fields=args.field or None,
        filter=filter_ or None,
        sort=CLI_SORTS[getattr(args, "sort", None) or "score"],
        romanized=getattr(args, "romanized", False),
    )


def _emit(
    results: Results,
    args: argparse.Namespace,
    extra: dict[str, Any] | None = None,
    *,
    related: bool = False,
) -> int:
    """Print results as JSON (``--json``) or as text for a terminal; ``extra`` adds keys
    to the JSON object (and, for ``did_you_mean``, a line to the text); ``related`` marks
    a list of related articles."""
    if args.json:
        payload = _results_json(results, related=related) | (extra or {})
        json.dump(payload, sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        if extra and extra.get("did_you_mean"):
            print(f"did you mean: {extra['did_you_mean']}", file=sys.stdout)
        _print_results(results, _Style(sys.stdout, args.color), out=sys.stdout, related=related)
    return 0


def _did_you_mean(index: Index, query: str) -> dict[str, Any]:
    """``{"did_you_mean": spelling or None}``: the query with the words the index does not
    know spelled as words it does (:meth:`bnsearch.search.Searcher.suggest`). Offered
    whatever the search found: a slip may still find passages through the folded-spelling
    match (``BM25FParams.spelling``), and those are the few its word could find."""
    if "body" not in index.schema:
        return {"did_you_mean": None}
    return {"did_you_mean": index.searcher().suggest(query)}


def _cmd_search(args: argparse.Namespace) -> int:
    args.query = _query_text(args.query)
    if args.scheduler or is_sharded(args.index):
        return _emit(_search(_sharded_searcher(args), args), args)
    index = _open_index(Path(args.index))
    results = _search(index, args)
    return _emit(results, args, _did_you_mean(index, args.query))


def _query_text(query: str | None) -> str:
    """The query: as given, or read from standard input for ``-`` or when none is given
    and input is piped."""
    if query is None or query == "-":
        if query is None and sys.stdin.isatty():
            raise BnSearchError("no query: give one (bnsearch search QUERY) or pipe it in")
        query = sys.stdin.read().strip()
        if not query:
            raise BnSearchError("no query: standard input was empty")
    return query


def _cmd_related(args: argparse.Namespace) -> int:
    if args.scheduler or is_sharded(args.index):
        found = _sharded_searcher(args).related(args.article_id, limit=args.limit)
        return _emit(found, args, related=True)
    searcher = _open_index(Path(args.index)).searcher()
    if args.article_id not in searcher.reader:
        raise BnSearchError(
            f"{args.index}: no article with id {args.article_id!r} "
            "(ids are listed by bnsearch search QUERY --json)"
        )
    return _emit(searcher.related(args.article_id, limit=args.limit), args, related=True)


def _cmd_demo(args: argparse.Namespace) -> int:
    style = _Style(sys.stdout, args.color)
    with tempfile.TemporaryDirectory(prefix="bnsearch-demo-") as scratch:
        path = Path(args.index) if args.index else Path(scratch) / "index"
        if path.is_dir() and any(path.iterdir()):
            index = Index.open(path)
        else:
            index = Index.create(path)
            print(f"indexing the demo corpus ({demo_corpus_path()}) into {path}", file=sys.stderr)
            summary = _index_articles(
                index, [demo_corpus_path()], skip_bad=False, processes=1, stream=sys.stderr
            )
            summary.pop("skipped_records")
            print(
                ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in summary.items()),
                file=sys.stderr,
            )
        queries = [("your query", args.query)] if args.query else list(DEMO_QUERIES)
        for what, query in queries:
            print(f"\n=== {what}: {query}", file=sys.stdout)
            search_args = argparse.Namespace(
                query=query, limit=args.limit, offset=0, field=None, section=None, romanized=False
            )
            _print_results(_search(index, search_args), style, out=sys.stdout)
        if not args.query:
            searcher = index.searcher()
            first = next(iter(searcher.search("বন্যা", limit=1)), None)
            if first is not None:
                print(f"\n=== related articles of {first.id}", file=sys.stdout)
                related = searcher.related(first.id, limit=args.limit)
                _print_results(related, style, out=sys.stdout, related=True)
    return 0


def _cmd_analyze(args: argparse.Namespace) -> int:
    analyzer = bengali_analyzer(stem=not args.no_stem, loose=args.loose)
    if args.keep_stopwords:
        analyzer = analyzer.without("stop")
    text = args.text
    print(f"analyzer: {analyzer.identity}")
    print(f"{'pos':>4}  {'start':>5}  {'end':>5}  {'surface':<20} term")
    for token in analyzer.iter_tokens(text, keep_dropped=True):
        surface = text[token.start : token.end]
        term = token.term or "(stopword)"
        print(f"{token.position:>4}  {token.start:>5}  {token.end:>5}  {surface:<20} {term}")
    return 0


def _cmd_stats(args: argparse.Namespace) -> int:
    index = _open_index(Path(args.index))
    reader = index.reader()
    print(f"index: {args.index}")
    print(f"generation: {index.generation}")
    print(f"articles: {reader.doc_count}")
    print(f"segments: {len(reader.segments)}")
    for name in reader.schema.names:
        spec = reader.schema[name]
        if spec.is_text:
            average = reader.avg_field_length(name)
            print(f"field {name}: weight {spec.weight}, average length {average:.1f} terms")
    size = sum(f.stat().st_size for f in Path(args.index).rglob("*") if f.is_file())
    print(f"size on disk: {size / 1e6:.2f} MB")
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    if args.index_option and args.index and args.index_option != args.index:
        raise BnSearchError("give the index folder once (bnsearch verify --index DIR)")
    args.index = args.index_option or args.index
    if not args.index:
        raise BnSearchError("which index? bnsearch verify --index DIR")
    sharded = is_sharded(args.index)
    report = ShardedIndex.open(args.index).verify() if sharded else verify(args.index)
    print(report)
    return 0 if report.ok else 2


# -- sharded indexes (bnsearch.distributed) ----------------------------------------------
def _sharded_options(command: argparse.ArgumentParser, *, shards: bool) -> None:
    if shards:
        command.add_argument(
            "--shards", type=int, help="make (or add to) a sharded index of N shard folders"
        )
    command.add_argument(
        "--scheduler", help="Dask scheduler address (tcp://host:8786); default: this process"
    )


def _dask_client(args: argparse.Namespace) -> Any:
    return connect(args.scheduler) if args.scheduler else None


def _cmd_index_sharded(args: argparse.Namespace) -> int:
    root = Path(args.index)
    if is_sharded(root):
        sharded = ShardedIndex.open(root)
        if args.shards is not None and args.shards != sharded.shards:
            raise ValueError(
                f"{root} has {sharded.shards} shards, not {args.shards} (the count is fixed "
                "when the index is made)"
            )
    elif args.shards is None:
        raise ValueError(f"{root} is not a sharded index: give --shards N to make one")
    else:
        sharded = ShardedIndex.create(root, shards=args.shards)
    report = ReadReport()

    def read_all() -> Iterator[Article]:
        for source in args.sources:
            yield from read_articles(Path(source), skip_bad=args.skip_bad, report=report)

    client = _dask_client(args)
    try:
        if client is None:
            sharded.add(_progress(read_all(), sys.stderr))
        else:  # the workers read the sources (at the same paths), no article travels
            report = sharded.add_sources(args.sources, client=client, skip_bad=args.skip_bad)
    finally:
        if client is not None:
            client.close()
    for skip in report.skipped:
        print(f"skipped: {skip}", file=sys.stderr)
    print(
        f"skipped: {len(report.skipped)}, doc count: {sharded.doc_count}, "
        f"shards: {sharded.shards}, commit: {sharded.manifest.commit}"
    )
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    try:
        from bnsearch.web.serve import serve
    except ImportError as error:
        raise BnSearchError(
            f'serve needs the web extra: pip install "bnsearch[web]" ({error})'
        ) from None
    serve(
        args.index,
        host=args.host,
        port=args.port,
        workers=args.workers,
        write_token_file=args.write_token_file,
        log_level=args.log_level,
    )
    return 0


def _sharded_searcher(args: argparse.Namespace) -> ShardedSearcher:
    return ShardedIndex.open(Path(args.index)).searcher(client=_dask_client(args))


def _add_serve(commands: Any) -> None:
    """``bnsearch serve``: the JSON API and search page (see bnsearch.web)."""
    serve = commands.add_parser("serve", help="serve an index over HTTP: JSON API and search page")
    serve.add_argument(
        "--index", "-i", required=True, help="index folder to serve (one index or a sharded one)"
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.add_argument(
        "--write-token-file", help="file holding the bearer token writes need (default: no writes)"
    )
    serve.add_argument(
        "--log-level", default="warning", choices=("critical", "error", "warning", "info", "debug")
    )
    serve.set_defaults(handler=_cmd_serve)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``bnsearch`` command."""
    parser = argparse.ArgumentParser(
        prog="bnsearch", description="Full-text search for Bengali news."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def results_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--limit", type=int, default=10, help="hits per page (default 10)")
        command.add_argument("--json", action="store_true", help="print results as JSON")
        command.add_argument("--color", choices=("auto", "always", "never"), default="auto")

    index = commands.add_parser("index", help="add pages, folders or JSONL files to an index")
    index.add_argument("sources", nargs="+", help="page files, folders, .jsonl or .jsonl.gz")
    index.add_argument("--index", "-i", required=True, help="index folder (created if new)")
    index.add_argument("--skip-bad", action="store_true", help="skip and report bad records")
    index.add_argument("--processes", type=int, default=1, help="analysis processes")
    _timeout_option(index)
    index.set_defaults(handler=_cmd_index)
    _sharded_options(index, shards=True)

    delete = commands.add_parser("delete", help="delete articles from an index by id")
    delete.add_argument("ids", nargs="+", metavar="ID", help="article ids")
    delete.add_argument("--index", "-i", required=True)
    _timeout_option(delete)
    delete.set_defaults(handler=_cmd_delete)

    search = commands.add_parser(
        "search",
        help="search an index",
        description="Search an index. A query may start with '-' (bnsearch search -ঢাকা); "
        "'-' or no query reads it from standard input.",
    )
    search.add_argument("query", nargs="?", help="the query ('-': read standard input)")
    search.add_argument("--index", "-i", required=True)
    results_options(search)
    search.add_argument("--offset", type=int, default=0, help="hits to skip (pagination)")
    search.add_argument("--field", action="append", help="search only this field (repeatable)")
    search.add_argument("--section", help="only articles in this section")
    search.add_argument("--sort", choices=tuple(CLI_SORTS), help="order of hits (default score)")
    search.add_argument("--since", type=_iso_date, help="only articles published on or after")
    search.add_argument("--until", type=_iso_date, help="only articles published before")
    search.add_argument(
        "--romanized", action="store_true", help="read Latin words as romanized Bengali"
    )
    search.set_defaults(handler=_cmd_search)
    _sharded_options(search, shards=False)

    related = commands.add_parser("related", help="articles related to one article")
    related.add_argument("article_id")
    related.add_argument("--index", "-i", required=True)
    results_options(related)
    related.set_defaults(handler=_cmd_related)
    _sharded_options(related, shards=False)

    demo = commands.add_parser("demo", help="index the shipped demo corpus and run example queries")
    demo.add_argument("query", nargs="?", help="search the demo corpus for this instead")
    demo.add_argument("--index", "-i", help="keep the demo index in this folder")
    demo.add_argument("--limit", type=int, default=3)
    demo.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    demo.set_defaults(handler=_cmd_demo)

    analyze = commands.add_parser("analyze", help="show tokens, offsets and terms of a text")
    analyze.add_argument("text")
    analyze.add_argument("--no-stem", action="store_true", help="switch the stemmer off")
    analyze.add_argument("--loose", action="store_true", help="add the loose phonetic folding")
    analyze.add_argument("--keep-stopwords", action="store_true", help="keep stopwords")
    analyze.set_defaults(handler=_cmd_analyze)

    stats = commands.add_parser("stats", help="size and field statistics of an index")
    stats.add_argument("--index", "-i", required=True)
    stats.set_defaults(handler=_cmd_stats)

    check = commands.add_parser("verify", help="check an index's checksums and structure")
    check.add_argument("index", nargs="?", help="index folder (or --index DIR)")
    check.add_argument("--index", "-i", dest="index_option", metavar="INDEX")
    check.set_defaults(handler=_cmd_verify)

    _add_serve(commands)
    return parser


def _timeout_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--timeout",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait this long for another process writing to the index (default 0)",
    )


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse ``argv``; words a search query starts with ``-`` (``-ঢাকা``: must not)
    are taken as part of the query rather than refused as unknown options."""
    args, extra = parser.parse_known_args(argv)
    if extra and getattr(args, "command", None) == "search":
        unknown = [word for word in extra if word.startswith("--")]
        if unknown:
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        args.query = " ".join([*([args.query] if args.query else []), *extra])
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = _parse(parser, argv)
    try:
        return int(args.handler(args))
    except BrokenPipeError:  # the reader went away (``bnsearch ... | head``): stop quietly
        # Python would report the pipe again when it flushes stdout at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # what a shell reports for a process ended by SIGPIPE
    except (BnSearchError, OSError, ValueError) as error:
        if args.debug:
            raise
        print(f"bnsearch: error: {_message(error, args)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bnsearch: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
