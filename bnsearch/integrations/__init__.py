"""integrations/: bnsearch's Bengali analysis inside other search libraries.

One module per library (:mod:`bnsearch.integrations.whoosh`). Each imports its library
itself, so ``import bnsearch`` never needs them: they stay optional dependencies. These
modules use :mod:`bnsearch.analysis` only.
"""
