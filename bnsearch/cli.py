"""The ``bnsearch`` command line: analyze (more commands arrive with their rooms)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bnsearch.analysis import bengali_analyzer
from bnsearch.errors import BnSearchError


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bnsearch", description="Full-text search for Bengali news.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True)

    analyze = commands.add_parser("analyze", help="show tokens, offsets and terms of a text")
    analyze.add_argument("text")
    analyze.add_argument("--no-stem", action="store_true", help="switch the stemmer off")
    analyze.add_argument("--loose", action="store_true", help="add the loose phonetic folding")
    analyze.add_argument("--keep-stopwords", action="store_true", help="keep stopwords")
    analyze.set_defaults(handler=_cmd_analyze)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except BnSearchError as error:
        if args.debug:
            raise
        print(f"bnsearch: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
