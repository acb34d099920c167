# cython: language_level=3, boundscheck=False, wraparound=False
"""The compiled confirmation of interned strings (:class:`bnsearch.articles.linkstore.Atoms`).

An :class:`~bnsearch.articles.linkstore.Atoms` lookup finds its candidates by a string's
hash and confirms each hash hit against the stored bytes (two strings may share a
hash). The Python code decodes every hit's bytes into a new string (gathered by numpy,
one int64 index a byte) and compares the strings: 0.29 of a 100k links build's 1.8
CPU-s of graph updates. :func:`same_texts` compares the arena's bytes with the asked
strings' code points in place, touching each byte once and making no object.

The arena's layout is :mod:`~bnsearch.articles.linkstore`'s: a string's first byte is
its tag, ``0`` for the packed form (one byte a character: ``0-127`` are ASCII, ``128-255``
the Bengali block U+0980-U+09FF) and ``1`` for UTF-8 (compared by decoding, as the
Python code does).
"""

import numpy as np

from cpython.unicode cimport PyUnicode_Check


cdef extern from "Python.h":
    Py_ssize_t PyUnicode_GET_LENGTH(object text)
    int PyUnicode_KIND(object text)
    void* PyUnicode_DATA(object text)
    Py_UCS4 PyUnicode_READ(int kind, void* data, Py_ssize_t index)


def same_texts(
    const unsigned char[::1] arena,
    const long long[::1] starts,
    const long long[::1] atoms,
    list texts,
):
    """Per pair, whether atom ``atoms[i]``'s string (``arena[starts[a]:starts[a + 1]]``,
    tag byte first) is ``texts[i]``: a numpy bool array. Every atom must be a stored
    one (``0 <= atom < len(starts) - 1``); ``texts`` holds strings."""
    cdef Py_ssize_t count = atoms.shape[0]
    if len(texts) != count:
        raise ValueError("same_texts: as many texts as atoms")
    result = np.zeros(count, dtype=np.bool_)
    cdef unsigned char[::1] same = result.view(np.uint8)
    cdef Py_ssize_t i, j, length, start, end
    cdef long long atom
    cdef int kind
    cdef void* data
    cdef unsigned char byte
    cdef Py_UCS4 expected
    cdef bint equal
    cdef object text
    for i in range(count):
        text = texts[i]
        if not PyUnicode_Check(text):
            raise TypeError("same_texts: texts must be strings")
        atom = atoms[i]
        if atom < 0 or atom + 1 >= starts.shape[0]:
            raise IndexError("same_texts: an atom out of range")
        start = starts[atom]
        end = starts[atom + 1]
        if start >= end or end > arena.shape[0]:
            raise IndexError("same_texts: an atom's bytes out of the arena")
        if arena[start] != 0:  # stored as UTF-8: decoded and compared, as in Python
            same[i] = bytes(arena[start + 1 : end]).decode("utf-8", "surrogatepass") == text
            continue
        length = end - start - 1
        if PyUnicode_GET_LENGTH(text) != length:
            continue
        kind = PyUnicode_KIND(text)
        data = PyUnicode_DATA(text)
        equal = True
        for j in range(length):
            byte = arena[start + 1 + j]
            expected = byte if byte < 128 else 0x980 + (byte - 128)
            if PyUnicode_READ(kind, data, j) != expected:
                equal = False
                break
        same[i] = equal
    return result
