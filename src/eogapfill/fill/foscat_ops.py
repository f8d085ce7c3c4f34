"""Former home of :mod:`eogapfill.fill.foscat.ops`; its public names, re-exported."""

from __future__ import annotations

from eogapfill.fill.foscat.ops import (
    CsrPair,
    SparseRightMatmul,
    configure,
    install,
    installed,
    set_enabled,
    uninstall,
)

__all__ = [
    "CsrPair",
    "SparseRightMatmul",
    "configure",
    "install",
    "installed",
    "set_enabled",
    "uninstall",
]
