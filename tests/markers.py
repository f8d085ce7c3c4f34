"""Per-test markers for the optional extras: a missing extra skips only the tests that need it.

``requires_foscat`` and ``requires_pyinterp`` are lists of marks (the named marker, so that
``pytest -m "not requires_foscat"`` selects, plus the skip when a module of the extra is
missing); pass them as ``pytest.param(..., marks=requires_foscat)``. :func:`marks_of` gives a
fill method's marks from its registry entry. An import error of the package itself is never
a skip: only the extra's own modules are looked for.
"""

from __future__ import annotations

import importlib.util

import pytest

from eogapfill.fill import EXTRAS, FillMethod

__all__ = ["marks_of", "requires_foscat", "requires_pyinterp"]


def _missing(extra: str) -> list[str]:
    return [module for module in EXTRAS[extra] if importlib.util.find_spec(module) is None]


def requires(extra: str) -> list[pytest.MarkDecorator]:
    """The marks of a test that needs the optional extra ``extra`` (a key of ``EXTRAS``)."""
    missing = _missing(extra)
    return [
        getattr(pytest.mark, f"requires_{extra}"),
        pytest.mark.skipif(
            bool(missing), reason=f"needs {', '.join(missing)} (pip install 'eogapfill[{extra}]')"
        ),
    ]


requires_foscat = requires("foscat")
requires_pyinterp = requires("pyinterp")


def marks_of(entry: FillMethod) -> list[pytest.MarkDecorator]:
    """The marks of a test of one registered fill: its extra's, and ``slow`` for foscat."""
    if entry.extra is None:
        return []
    marks = requires(entry.extra)
    if entry.extra == "foscat":  # a synthesis takes seconds even with 2 iterations
        marks.append(pytest.mark.slow)
    return marks
