"""Build of the compiled core: ``bnsearch/search/_kernel.pyx`` (Cython, numpy's C API).

Everything else about the package is declared in ``pyproject.toml``. The extension is
optional: where it cannot be compiled (no C compiler, no Python headers) the build goes
on without it and bnsearch runs its numpy path (``bnsearch.accelerated`` is False).
"""

from __future__ import annotations

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

#: -O2 and no floating-point contraction: the kernel's float32 arithmetic must round
#: exactly as numpy's does (an FMA would round once where numpy rounds twice).
COMPILE_ARGS = ["-O2", "-ffp-contract=off", "-fno-fast-math"]

extensions = [
    Extension(
        "bnsearch.search._kernel",
        ["bnsearch/search/_kernel.pyx"],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=COMPILE_ARGS,
        optional=True,
    ),
    Extension(  # term offsets and phrase frequencies (bnsearch/search/phrases.py)
        "bnsearch.search._positions",
        ["bnsearch/search/_positions.pyx"],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=COMPILE_ARGS,
        optional=True,
    ),
    Extension(  # a new unit's live document frequency (bnsearch/search/unitstats.py)
        "bnsearch.search._units",
        ["bnsearch/search/_units.pyx"],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=COMPILE_ARGS,
        optional=True,
    ),
    Extension(  # a field's term dictionary searched (bnsearch/index/segment.py)
        "bnsearch.index._terms",
        ["bnsearch/index/_terms.pyx"],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=COMPILE_ARGS,
        optional=True,
    ),
    Extension(  # a handful of docs' fields of values (bnsearch/index/builder.py)
        "bnsearch.index._values",
        ["bnsearch/index/_values.pyx"],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=COMPILE_ARGS,
        optional=True,
    ),
    Extension(  # a stored block made into its rows (bnsearch/index/store.py)
        "bnsearch.index._rows",
        ["bnsearch/index/_rows.pyx"],
        libraries=["z"],  # zlib's crc32, the CRC of an LZ4 stored block
        # (no floating point; -O3 vectorizes the scan of a block's code units)
        extra_compile_args=["-O3"],
        optional=True,
    ),
    Extension(  # interned strings confirmed (bnsearch/articles/linkstore.py)
        "bnsearch.articles._atoms", ["bnsearch/articles/_atoms.pyx"], optional=True
    ),
    Extension(  # highlights from word spans (bnsearch/search/spans.py)
        "bnsearch.search._snippets",
        ["bnsearch/search/_snippets.pyx"],
        extra_compile_args=COMPILE_ARGS,
        optional=True,
    ),
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives={
            "language_level": "3",
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    )
)
