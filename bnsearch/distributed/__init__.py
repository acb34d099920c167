"""A sharded index on Dask: shards are ordinary index folders, Dask moves work to them.

``ShardedIndex.create(path, shards=N)`` makes N index folders and a small manifest;
``add``/``delete`` route articles by a hash of their id and build each shard in a task;
``searcher()`` gives a :class:`ShardedSearcher` that ranks exactly as one index holding
every shard's articles (global statistics gathered from the shards). Pass a Dask
``Client`` to run the tasks on a cluster; without one they run in this process, and
Dask need not be installed (``pip install "bnsearch[distributed]"`` adds it). Guide:
``docs/distributed.md``.
"""

from bnsearch.distributed.index import ShardedIndex
from bnsearch.distributed.manifest import is_sharded, shard_of
from bnsearch.distributed.runner import connect
from bnsearch.distributed.searcher import ShardedSearcher
from bnsearch.distributed.shard import ShardError, StaleShardError

__all__ = [
    "ShardError",
    "ShardedIndex",
    "ShardedSearcher",
    "StaleShardError",
    "connect",
    "is_sharded",
    "shard_of",
]
