"""Whether the compiled modules may be used: one rule for every room.

The compiled modules (the query core and its companions in :mod:`bnsearch.search`, the
term tables, stored rows and a few docs' fields of values in :mod:`bnsearch.index`, the
link graph's string confirmation in
:mod:`bnsearch.articles`) are optional: where one was not built, or when the
environment variable ``BNSEARCH_PURE_PYTHON`` is set (to anything but ``0`` or empty),
the numpy/Python code beside it runs, the reference the compiled code is tested against.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

#: Set (to anything but ``0`` or empty) to run the numpy path even where the compiled
#: modules are built: tests and CI run both.
PURE_PYTHON_ENV = "BNSEARCH_PURE_PYTHON"


def pure_python_requested() -> bool:
    """True when the environment asks for the numpy/Python path."""
    return os.environ.get(PURE_PYTHON_ENV, "") not in ("", "0")


def optional_module(name: str) -> ModuleType | None:
    """The compiled module ``name`` (dotted), or None where the numpy/Python path runs:
    asked for by the environment, or the module was not built."""
    if pure_python_requested():
        return None
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


__all__ = ["PURE_PYTHON_ENV", "optional_module", "pure_python_requested"]
