"""index/: articles -> immutable segments on disk, one atomic manifest, readers and writers.

Public entry points: :class:`Index` (create/open/in_memory), :class:`IndexWriter`,
:class:`IndexReader`, :class:`SegmentReader`, :func:`news_schema`, :func:`verify`.
"""

from bnsearch.index.index import Index
from bnsearch.index.merge import MergePolicy
from bnsearch.index.norms import NORM_DECODE
from bnsearch.index.reader import IndexReader
from bnsearch.index.schema import FieldSpec, Schema, news_schema
from bnsearch.index.segment import SegmentReader
from bnsearch.index.verify import VerifyReport, verify
from bnsearch.index.writer import CommitResult, IndexWriter

__all__ = [
    "NORM_DECODE",
    "CommitResult",
    "FieldSpec",
    "Index",
    "IndexReader",
    "IndexWriter",
    "MergePolicy",
    "Schema",
    "SegmentReader",
    "VerifyReport",
    "news_schema",
    "verify",
]
