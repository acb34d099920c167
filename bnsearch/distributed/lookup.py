"""Shard tasks for look-ups that are not a query: a stored article, a field's terms, facts.

Each is one task on one shard (or on every shard), run by the searcher's
:class:`~bnsearch.distributed.runner.Runner` at the searcher's pinned generation, like the
query tasks of :mod:`.shard`: ``ShardedSearcher.article``, ``suggest``, ``complete`` and
``segment_count`` use them.
"""

from __future__ import annotations

from bnsearch.articles import Article
from bnsearch.distributed.shard import open_shard
from bnsearch.search.statistics import DictionaryData


def shard_article(path: str, generation: int, article_id: str) -> Article | None:
    """The shard's stored live article ``article_id``, or None."""
    reader, _ = open_shard(path, generation)
    return reader.article(article_id)


def shard_terms(path: str, generation: int, field: str) -> DictionaryData:
    """Every term of ``field`` in the shard with its document frequency (the shard's own
    term dictionary, as its searcher's did-you-mean and autocomplete read it)."""
    _, ctx = open_shard(path, generation)
    dictionary = ctx.dictionary(field)
    return tuple(dictionary.terms), tuple(int(v) for v in dictionary.doc_freqs.tolist())


def shard_segment_count(path: str, generation: int) -> int:
    """How many segments the shard's commit has."""
    reader, _ = open_shard(path, generation)
    return len(reader.segments)
