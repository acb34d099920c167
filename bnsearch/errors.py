"""The one error hierarchy of bnsearch.

Every error the library raises on purpose derives from :class:`BnSearchError`, so an
application can catch one class. Messages say what was wrong, where (file, line, query
position) and, where it helps, what to do. Kept free of imports so every room can use it.
"""

from __future__ import annotations


class BnSearchError(Exception):
    """Base class of every error bnsearch raises on purpose.

    Every one pickles as itself, its attributes included (a shard task's or a shard
    host's error is raised where the call was made): it is remade without calling its
    ``__init__``, whose arguments (keyword-only ones, several) its ``args`` lack.
    """

    def __reduce__(self) -> tuple[object, ...]:
        return (_remade, (type(self), self.args, self.__dict__))


def _remade(
    kind: type[BnSearchError], args: tuple[object, ...], state: dict[str, object]
) -> BnSearchError:
    """An unpickled :class:`BnSearchError`: ``kind`` with these ``args`` and attributes."""
    error = kind.__new__(kind, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class AnalysisError(BnSearchError):
    """Text analysis was configured or called wrongly (bad filter chain, bad option)."""


class ArticleError(BnSearchError):
    """An article is invalid or could not be read.

    ``path``, ``line`` and ``offset`` say where the bad input was, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        offset: int | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.offset = offset
        where = []
        if path is not None:
            where.append(str(path))
        if line is not None:
            where.append(f"line {line}")
        if offset is not None:
            where.append(f"byte {offset}")
        self.reason = message
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class SchemaError(BnSearchError):
    """A schema or field definition is invalid, or a field name is unknown."""


class IndexError_(BnSearchError):
    """Base class of index problems (kept with a trailing underscore: not the builtin)."""


class IndexFormatError(IndexError_):
    """An index on disk is damaged, foreign, or written by an incompatible version."""


def posting_outside_segment() -> IndexFormatError:
    """What the compiled modules raise for a posting that names a document outside its
    segment (they check every doc they read: a damaged index, never a write out of
    bounds)."""
    return IndexFormatError("a posting names a document outside its segment (damaged index)")


class IndexLockedError(IndexError_):
    """Another writer holds the index lock."""


class AnalyzerMismatchError(IndexError_):
    """The index was built with a different analyzer than the one offered now."""


class QuerySyntaxError(BnSearchError):
    """A query string is malformed; ``position`` is the 0-based character offset."""

    def __init__(self, message: str, *, query: str, position: int) -> None:
        self.query = query
        self.position = position
        self.reason = message
        super().__init__(f"{message} at position {position} in query {query!r}")
