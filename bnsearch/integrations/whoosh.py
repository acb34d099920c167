"""Bengali analysis for whoosh: correct matching in an existing whoosh application.

Whoosh's default ``StandardAnalyzer`` splits words on Python's ``\\w``, which excludes
Bengali vowel signs and the virama, so it cuts বাংলাদেশের into ব, ল, দ, শ, র and matches
unrelated words that share letters. Changing one line of the schema fixes it::

    from bnsearch.integrations.whoosh import BengaliWhooshAnalyzer

    schema = Schema(id=ID(stored=True),
                    body=TEXT(stored=True, analyzer=BengaliWhooshAnalyzer()))   # the one line

Re-index afterwards: the terms change. Any bnsearch analyzer can be wrapped
(``BengaliWhooshAnalyzer(lucene_bengali_analyzer())``, ``bengali_analyzer(loose=True)``);
the default is :func:`~bnsearch.analysis.default_analyzer`.

How whoosh's call options are honoured:

* ``positions``/``chars``/``start_pos``/``start_char``: token ``pos`` and
  ``startchar``/``endchar`` are set; offsets are ``str`` indices into the original text,
  so highlights never split a letter from its vowel sign.
* ``mode``: ``"index"`` and ``"query"`` analyse alike (identical analysis at index and
  query time is how bnsearch matches inflected forms).
* ``removestops``: when false, stopwords are yielded with ``stopped=True`` and their
  surface text (whoosh's highlighter asks for them).
* ``tokenize=False``: whoosh passes this for prefix, wildcard and range terms. The value is
  one token and only the normalize stage runs (no stopwords, no stemming: a prefix such
  as ``বাংলাদে`` must not be stemmed).
* ``no_morph=True`` (whoosh's spelling support): the stem stage is skipped.
* ``keeporiginal``: ``original`` holds the surface text.

Positions follow whoosh's ``StopFilter``: with ``renumber=True`` (the default) stopwords
take no position, so whoosh phrase queries that contain a stopword still match. Tokens
are fresh objects, so collecting them in a list is safe.

The analyzer pickles (whoosh stores the schema in the index) and, once unpickled, needs
bnsearch importable. Whoosh is imported by this module only.
"""

from __future__ import annotations

from collections.abc import Iterator

from whoosh.analysis import Token, Tokenizer

from bnsearch.analysis import Analyzer, default_analyzer

__all__ = ["BengaliWhooshAnalyzer"]


class BengaliWhooshAnalyzer(Tokenizer):  # type: ignore[misc]  # whoosh is untyped
    """A whoosh tokenizer/analyzer running a bnsearch :class:`Analyzer`.

    Usable as ``whoosh.fields.TEXT(analyzer=BengaliWhooshAnalyzer())`` and composable with
    whoosh filters (``BengaliWhooshAnalyzer() | SomeWhooshFilter()``).
    """

    def __init__(self, analyzer: Analyzer | None = None, *, renumber: bool = True) -> None:
        chosen = analyzer if analyzer is not None else default_analyzer()
        if not isinstance(chosen, Analyzer):
            raise TypeError(f"analyzer must be a bnsearch Analyzer, got {type(chosen).__name__}")
        self.analyzer = chosen
        self.renumber = renumber
        self.is_morph = any(f.stage == "stem" for f in chosen.filters)
        self._no_morph = chosen.without("stem") if self.is_morph else chosen

    def __getstate__(self) -> dict[str, object]:
        # the shared default analyzer is stored as None, so unpickling shares it again
        shared = self.analyzer is default_analyzer()
        return {"analyzer": None if shared else self.analyzer, "renumber": self.renumber}

    def __setstate__(self, state: dict[str, object]) -> None:
        analyzer = state["analyzer"]
        self.__init__(  # type: ignore[misc]
            analyzer if isinstance(analyzer, Analyzer) else None, renumber=bool(state["renumber"])
        )

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, BengaliWhooshAnalyzer)
            and other.renumber == self.renumber
            and other.analyzer.identity == self.analyzer.identity
        )

    def __hash__(self) -> int:
        return hash((self.analyzer.identity, self.renumber))

    def __repr__(self) -> str:
        return f"BengaliWhooshAnalyzer({self.analyzer.identity!r}, renumber={self.renumber})"

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        no_morph: bool = False,
        **whoosh_options: object,
    ) -> Iterator[Token]:
        """Yield whoosh tokens for ``value``.

        ``whoosh_options`` are the other keywords whoosh passes through every analyzer; they
        are copied onto each token, as whoosh's own tokenizers do.
        """
        if not isinstance(value, str):
            raise TypeError(f"whoosh analyzer expects str, got {type(value).__name__}")
        analyzer = self._no_morph if no_morph else self.analyzer

        def make(text: str, pos: int, start: int, end: int, stopped: bool) -> Token:
            token = Token(positions, chars, removestops=removestops, mode=mode, **whoosh_options)
            token.text = text
            token.boost = 1.0
            token.stopped = stopped
            if keeporiginal:
                token.original = value[start:end]
            if positions:
                token.pos = pos
            if chars:
                token.startchar = start_char + start
                token.endchar = start_char + end
            return token

        if not tokenize:
            term = analyzer.normalize(value)
            if term:
                yield make(term, start_pos, 0, len(value), stopped=False)
            return

        position = start_pos
        for tok in analyzer.iter_tokens(value, keep_dropped=not removestops):
            pos = position if self.renumber else start_pos + tok.position
            if tok.term:
                yield make(tok.term, pos, tok.start, tok.end, stopped=False)
                position += 1
            else:  # a stopword, kept because removestops is false
                yield make(value[tok.start : tok.end], pos, tok.start, tok.end, stopped=True)
