"""The fill method of a run: the registry's HEALPix fills (single-day, or space-time ones that
fill a day from a window of days), or any function with the fill signature, and its options,
checked before any day is computed."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import xarray as xr

from eogapfill.fill.registry import FillMethod, method_info, method_names, regional_methods

__all__ = [
    "available_methods",
    "check_method_options",
    "regional_methods",
    "resolve_method",
]

FillFunction = Callable[..., xr.Dataset]
#: Options the pipeline sets itself, or that cannot travel to a worker as data.
_PIPELINE_OPTIONS = ("client",)


def _entry(method: str | FillFunction) -> FillMethod:
    """The registry entry of a method name, or an entry made for a function or its path."""
    if callable(method):
        return FillMethod(getattr(method, "__name__", "custom"), method, grid="healpix")
    if ":" in method:
        return FillMethod(method.split(":")[1], method, grid="healpix")
    entry = method_info(method)
    if entry.grid == "latlon":
        raise ValueError(
            f"the fill method {method!r} works on a lat/lon grid, and the pipeline fills "
            f"HEALPix maps: choose one of {', '.join(_pipeline_methods())}"
        )
    return entry


def _pipeline_methods() -> tuple[str, ...]:
    """The registry's methods that the pipeline runs: single-day HEALPix, then space-time."""
    return method_names("healpix") + method_names("healpix-stack")


def available_methods() -> list[str]:
    """Names of the registry's single-day HEALPix methods whose modules are installed (none
    imported); the space-time ones are :func:`eogapfill.fill.registry.spacetime_methods`.

    >>> "laplace" in available_methods()
    True
    """
    return list(method_names("healpix", available=True))


def _fills_regions(method: str | FillFunction) -> bool:
    """Whether a method fills a regional (partial) map: the registry's ``regional`` flag; a
    function or ``"module:function"`` is trusted (its own checks run on the first day)."""
    if callable(method) or ":" in method:
        return True
    return _entry(method).regional


def resolve_method(method: str | FillFunction) -> FillFunction:
    """The fill function of ``method`` (imports its module now).

    ``method`` is a name of the registry (:data:`eogapfill.fill.METHODS`), a
    ``"module:function"`` string or a function. Raises ``ValueError`` for an unknown name and
    ``ImportError`` (saying what to install) when the module is missing.

    >>> resolve_method("eogapfill.fill.alm:fill_alm").__name__
    'fill_alm'
    """
    return _entry(method).load()


def _check_method_available(method: str) -> str | FillFunction:
    entry = _entry(method)
    if missing := entry.missing():
        raise ValueError(
            f"the fill method {method!r} is not available in this installation "
            f"({', '.join(missing)} is missing); available: {', '.join(available_methods())}"
        )
    return entry.target


def check_method_options(
    method: str | FillFunction, options: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Check a fill's options against its signature, before any day is computed.

    As :meth:`eogapfill.fill.FillMethod.check_options`; ``client`` is refused too (a Dask
    client cannot travel to a worker), and so is ``window`` for a space-time method (the
    run's own window sets it). The fill's own checks still run on every day: this catches the
    mistakes that need no data.

    >>> check_method_options("laplace", {})
    {}
    >>> check_method_options("oi", {"n_members": True})
    Traceback (most recent call last):
    ...
    ValueError: the oi fill's option n_members must be int, got True (bool); e.g. n_members=0
    """
    entry = _entry(method)
    if entry.spacetime and "window" in dict(options or {}):
        raise ValueError(
            f"the {entry.name} fill's window is the run's window (days on each side of the "
            "day filled): give it as window= of eogapfill.pipeline.run (--window on the "
            "command line), not as an option"
        )
    window = ("window",) if entry.spacetime else ()
    return entry.check_options(options, exclude=_PIPELINE_OPTIONS + window)


def _run_options(
    fill: FillFunction, options: Mapping[str, Any] | None, threads: int
) -> dict[str, Any]:
    """The options of one task: a fill that takes ``threads`` gets the task's share, and one
    that shows ``progress`` is quiet, unless the options say otherwise."""
    options = dict(options or {})
    try:
        takes = inspect.signature(fill).parameters
    except (TypeError, ValueError):  # pragma: no cover - a builtin without a signature
        return options
    if "threads" in takes:
        options.setdefault("threads", threads)
    if "progress" in takes:
        options.setdefault("progress", False)
    return options


def _gives_std(method: str | FillFunction, options: Mapping[str, Any]) -> bool | None:
    """Whether the method's days hold ``filled_std``, as the registry says (None: unknown)."""
    if callable(method) or ":" in method:
        return None
    return _entry(method).gives_std(options)
