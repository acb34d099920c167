"""Which evaluation path runs: the compiled core or numpy.

The compiled core (:mod:`bnsearch.search._kernel`, Cython, built by ``pip install``)
scores a bag of words over one segment in one call. Where it was not built, or when the
environment variable ``BNSEARCH_PURE_PYTHON`` is set (to anything but ``0`` or empty),
:class:`~bnsearch.search.engine.Evaluator` runs its numpy code instead: the reference the
compiled path is tested against, giving the same ids, scores and order. A missing
extension is said once, with one warning, at import; ``bnsearch.accelerated`` tells which
path runs.
"""

from __future__ import annotations

import warnings
from types import ModuleType

from bnsearch.compiled import PURE_PYTHON_ENV, optional_module, pure_python_requested


def _load() -> ModuleType | None:
    if pure_python_requested():
        return None
    try:
        from bnsearch.search import _kernel  # type: ignore[attr-defined]
    except ImportError as error:
        warnings.warn(
            f"bnsearch: the compiled core is not built ({error}); searching with numpy "
            "(slower; reinstall with a C compiler and Python headers to build it)",
            RuntimeWarning,
            stacklevel=2,
        )
        return None
    module: ModuleType = _kernel
    return module


#: The compiled core, or None where the numpy path runs. Tests swap it for ``None`` to
#: compare both paths in one process.
core: ModuleType | None = _load()
#: True where searches run on the compiled core.
accelerated: bool = core is not None


def companion(name: str) -> ModuleType | None:
    """A compiled module built beside the core (``_snippets``, ``_positions``), or None
    where the numpy path runs (:data:`core` is None) or the module was not built (an
    older build: the numpy code beside it serves)."""
    if core is None:
        return None
    return optional_module(f"bnsearch.search.{name}")


__all__ = ["PURE_PYTHON_ENV", "accelerated", "companion", "core"]
