"""Fill many days at once on a Dask cluster, into one resumable Zarr store.

:func:`run` takes a range of days and, for each one, opens the L3S and L4 products,
prepares the day (:func:`eogapfill.preprocess.prepare_day`), regrids it to HEALPix
(:func:`eogapfill.regrid.to_healpix`) and fills its gaps with the chosen method. Days are
computed in parallel, one task per day, on a ``dask.distributed`` client (a local cluster of
two single-threaded worker processes by default; any client works, a Dask Gateway cluster
too). Each task returns a small in-memory dataset (nside 128 is 196 608 cells), and the
process that called :func:`run` writes the finished days to **one** Zarr store (format 2,
consolidated), appended along ``time`` in date order, one day per chunk.

Variables of the store, dims ``(time, cells)``, SST in degC stored as float32:

================  ==========================================================
``SST_L3S``       observed SST, NaN where there is no observation
``SST_filled``    SST with the gaps filled (observed cells equal ``SST_L3S``)
``SST_L4``        the L4 analysis, for reference (NaN off the sea)
``gap``           bool, the sea cells that were filled
``sea``           bool, the sea cells
``filled_std``    the method's uncertainty, when it gives one (0 outside the gaps)
================  ==========================================================

``cell_ids`` carries the xdggs attributes; open the store with :func:`open_output`, which
decodes it (decode *after* opening: a decoded dataset loses the attributes when written).

How a crash is survived
-----------------------
Appending with xarray (``to_zarr(append_dim="time")``, zarr 3, format 2) writes, variable by
variable, the array's new shape then its new chunk, and the consolidated metadata
(``.zmetadata``) **last**; zarr's local store writes every file atomically (temporary file,
then rename). The consolidated metadata is therefore the commit record of the store:

- readers open the store through ``.zmetadata`` (``xr.open_zarr`` does by default), so they
  see the committed days only, never a half-written one;
- the first day creates the store in a hidden temporary folder next to ``out`` that is then
  renamed to ``out``: a store either exists with a complete first day, or not at all;
- at the start of every run, any array whose own shape runs ahead of the committed one (a run
  killed in the middle of an append) is cut back to it, which also deletes its uncommitted
  chunk, and left-over temporary folders are removed;
- days already in the store are skipped, so running the same command again resumes.

A crash thus loses at most the days not yet written. Days are written in date order: when a
day fails, the days before it are kept, later ones are discarded and the error is raised.

One writer at a time
--------------------
A run holds a lock on the store from its first look at it to its last write: the file
``.<name>.lock`` next to the store, locked with ``flock`` and holding the writer's pid, host,
start time and command. A second run into the same store refuses at once with a
:class:`StoreBusyError` that names the holder (or, with ``wait=``, waits for it, then skips
the days it wrote). The operating system releases the lock when the holder ends, however it
ends (even ``kill -9``), so a crashed run never blocks the next one; a lock file left behind
is harmless. The store must be on a local file system (``flock`` is not reliable over every
network file system).

Examples
--------
>>> from eogapfill.pipeline import run, open_output
>>> ds = run("2024-06-01", "2024-06-03", method="laplace", nside=64,
...          out="filled.zarr")  # doctest: +SKIP
>>> open_output("filled.zarr").SST_filled.sizes  # doctest: +SKIP
Frozen({'time': 3, 'cells': 49152})
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import importlib.util
import inspect
import json
import logging
import os
import shutil
import signal
import socket
import sys
import threading
import time
import types
import typing
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

import numpy as np
import pandas as pd
import xarray as xr

from eogapfill.data import open_l3s, open_l4
from eogapfill.healpix import check_nside
from eogapfill.preprocess import prepare_day
from eogapfill.regrid import to_healpix

__all__ = [
    "METHODS",
    "OUTPUT_VARIABLES",
    "StoreBusyError",
    "available_methods",
    "check_method_options",
    "connect_scheduler",
    "day_range",
    "open_output",
    "process_day",
    "register_method",
    "resolve_method",
    "run",
    "source_days",
    "stored_days",
]

logger = logging.getLogger(__name__)

#: Fill methods the pipeline knows: name -> ``"module:function"`` (imported on first use, on
#: the worker, so that torch is loaded only when ``foscat`` is asked for) or a function.
METHODS: dict[str, str | Callable[..., xr.Dataset]] = {
    "laplace": "eogapfill.fill.laplace:fill_laplace",
    "alm": "eogapfill.fill.alm:fill_alm",
    "oi": "eogapfill.fill.oi:fill_oi",
    "foscat": "eogapfill.fill.foscat:fill_foscat",
}
#: Variables of every stored day (``filled_std`` too when the method gives one).
OUTPUT_VARIABLES = ("SST_L3S", "SST_filled", "SST_L4", "gap", "sea")
_FLOAT_VARIABLES = ("SST_L3S", "SST_filled", "SST_L4", "filled_std")
_STORE_KIND = "eogapfill.pipeline"
_TIME_ENCODING = {"units": "seconds since 1970-01-01 00:00:00", "calendar": "proleptic_gregorian",
                  "dtype": "int64"}


# --------------------------------------------------------------------------------------------
# methods
# --------------------------------------------------------------------------------------------
def register_method(name: str, fill: str | Callable[..., xr.Dataset]) -> None:
    """Make a fill function available to :func:`run` under ``name``.

    ``fill`` is a function with the fill signature ``fill(day, **options) -> Dataset`` (see
    :mod:`eogapfill.fill.common`) or a ``"module:function"`` string imported when first used.
    With worker processes, the function must be importable or picklable.

    >>> register_method("laplace_again", "eogapfill.fill.laplace:fill_laplace")
    >>> "laplace_again" in METHODS
    True
    >>> del METHODS["laplace_again"]
    """
    if not isinstance(name, str) or not name or ":" in name:
        raise ValueError(f"a method name must be a non-empty string without ':', got {name!r}")
    if isinstance(fill, str):
        if fill.count(":") != 1:
            raise ValueError(f"give the fill as 'module:function', got {fill!r}")
    elif not callable(fill):
        raise TypeError(f"fill must be a function or a 'module:function' string, got {fill!r}")
    METHODS[name] = fill


def _method_target(method: str) -> str | Callable[..., xr.Dataset]:
    try:
        return METHODS[method]
    except KeyError:
        raise ValueError(
            f"unknown fill method {method!r}; choose one of {', '.join(sorted(METHODS))}"
        ) from None


def _module_available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def available_methods() -> list[str]:
    """Names of the registered methods whose module is installed (nothing is imported).

    >>> "laplace" in available_methods() or "laplace" not in METHODS
    True
    """
    return [
        name
        for name, target in METHODS.items()
        if callable(target) or _module_available(target.split(":")[0])
    ]


def resolve_method(method: str | Callable[..., xr.Dataset]) -> Callable[..., xr.Dataset]:
    """The fill function registered as ``method`` (imports its module now).

    ``method`` is a name of :data:`METHODS`, a ``"module:function"`` string or a function.
    Raises ``ValueError`` for an unknown name and ``ImportError`` (saying what to install) when
    the module is missing.

    >>> resolve_method("eogapfill.fill.alm:fill_alm").__name__
    'fill_alm'
    """
    if callable(method) or ":" in method:
        target = method
    else:
        target = _method_target(method)
    if callable(target):
        return target
    module, attr = target.split(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except ImportError as err:
        hint = " (pip install 'eogapfill[foscat]')" if "foscat" in module else ""
        raise ImportError(f"the fill method {method!r} needs {module}, which cannot be "
                          f"imported: {err}{hint}") from err


def _check_method_available(method: str) -> str | Callable[..., xr.Dataset]:
    target = _method_target(method)
    if isinstance(target, str) and not _module_available(target.split(":")[0]):
        raise ValueError(
            f"the fill method {method!r} is not available in this installation "
            f"({target.split(':')[0]} is missing); available: {', '.join(available_methods())}"
        )
    return target


#: Options the pipeline sets itself, or that cannot travel to a worker as data.
_PIPELINE_OPTIONS = ("sst", "gaps", "client")
#: Integer options that count something, checked like the fills check them.
_COUNT_OPTIONS = ("n_members", "threads")


def _describe(hint: Any) -> str:
    """A type hint in words: ``int | None`` -> ``'int or None'``."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(hint))
    if hint is type(None):
        return "None"
    if typing.get_origin(hint) is typing.Literal:
        return " or ".join(repr(a) for a in typing.get_args(hint))
    return getattr(hint, "__name__", str(hint))


def _accepts(hint: Any, value: Any) -> bool:
    """Whether ``value`` fits the type hint ``hint`` (lenient where a hint cannot be checked)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_accepts(a, value) for a in typing.get_args(hint))
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    if hint is Any:
        return True
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool | np.bool_)
    if isinstance(value, bool | np.bool_):  # a bool is no number, whatever Python says
        return False
    if hint is int:
        return isinstance(value, int | np.integer)
    if hint is float:
        return isinstance(value, int | float | np.integer | np.floating)
    if hint is np.ndarray:
        return isinstance(value, np.ndarray | list | tuple)
    if origin is not None:
        hint = origin
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True


def check_method_options(method: str | Callable[..., xr.Dataset],
                         options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check a fill's options against its signature, before any day is computed.

    Refuses (``ValueError``) an option the fill does not take, a value of the wrong type (as
    its type hints say; a bool is not a number), and a count (``n_members``, ``threads``) or
    ``seed`` out of range. A fill that takes ``**options`` accepts any name. The fill's own
    checks still run on every day: this catches the mistakes that need no data.

    >>> check_method_options("laplace", {})
    {}
    >>> check_method_options("oi", {"n_members": True})
    Traceback (most recent call last):
    ...
    ValueError: the oi fill's option n_members must be int, got True (bool); e.g. n_members=0
    """
    from eogapfill.fill.common import check_count, check_seed

    options = dict(options or {})
    name = method if isinstance(method, str) else getattr(method, "__name__", "custom")
    fill = resolve_method(method)
    try:
        parameters = inspect.signature(fill).parameters
    except (TypeError, ValueError):  # pragma: no cover - a builtin without a signature
        return options
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    allowed = {key: p for key, p in parameters.items()
               if key not in _PIPELINE_OPTIONS
               and p.kind in (inspect.Parameter.KEYWORD_ONLY,
                              inspect.Parameter.POSITIONAL_OR_KEYWORD)}
    try:
        hints = typing.get_type_hints(fill)
    except Exception:  # hints that do not resolve at run time: check the names only
        hints = {}
    for key, value in options.items():
        if key not in allowed:
            if takes_any and key not in _PIPELINE_OPTIONS:
                continue
            known = ", ".join(sorted(allowed)) or "none"
            raise ValueError(f"the {name} fill has no option {key!r}; its options: {known}")
        hint = hints.get(key)
        default = allowed[key].default
        example = "" if default is inspect.Parameter.empty else f"; e.g. {key}={default!r}"
        if hint is not None and not _accepts(hint, value):
            raise ValueError(
                f"the {name} fill's option {key} must be {_describe(hint)}, got {value!r} "
                f"({type(value).__name__}){example}"
            )
        if value is None:
            continue
        if key in _COUNT_OPTIONS:
            check_count(value, key, minimum=0 if default == 0 else 1, method=f"the {name} fill")
        elif key == "seed":
            check_seed(value, method=f"the {name} fill")
    return options


# --------------------------------------------------------------------------------------------
# days
# --------------------------------------------------------------------------------------------
def day_range(start: str | np.datetime64 | pd.Timestamp,
              end: str | np.datetime64 | pd.Timestamp) -> list[pd.Timestamp]:
    """The days from ``start`` to ``end``, both included, as midnight timestamps.

    >>> [d.strftime("%m-%d") for d in day_range("2024-06-01", "2024-06-03")]
    ['06-01', '06-02', '06-03']
    """
    first, last = _as_day(start, "start"), _as_day(end, "end")
    if last < first:
        raise ValueError(
            f"the end {last.date()} is before the start {first.date()}: give the first day as "
            "start and the last as end"
        )
    return list(pd.date_range(first, last, freq="D"))


def _as_day(value: object, what: str) -> pd.Timestamp:
    """One day as a midnight timestamp; ``ValueError`` saying how to write it otherwise."""
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError) as err:
        raise ValueError(
            f"cannot read the {what} {value!r} as a day: write it as YYYY-MM-DD, e.g. 2024-06-01"
        ) from err
    if stamp is pd.NaT or pd.isna(stamp):
        raise ValueError(f"the {what} is missing ({value!r}): give a day as YYYY-MM-DD")
    if stamp.tzinfo is not None:
        raise ValueError(
            f"the {what} {value!r} has a time zone: the products' days are UTC days, give the "
            f"day alone as YYYY-MM-DD (e.g. {stamp.tz_convert('UTC').date()} in UTC)"
        )
    return stamp.floor("D")


def _thread_share() -> int:
    """Threads this task may use: its Dask worker's threads, else this process's cores."""
    try:
        from distributed import get_worker

        return max(1, int(get_worker().state.nthreads))
    except (ImportError, ValueError):
        try:
            return len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not on Linux
            return os.cpu_count() or 1


def process_day(
    date: str | pd.Timestamp,
    *,
    method: str | Callable[..., xr.Dataset] = "laplace",
    nside: int = 128,
    source: str = "sample",
    resolution: float = 0.25,
    method_options: Mapping[str, Any] | None = None,
    threads: int | None = None,
    fill: str | Callable[..., xr.Dataset] | None = None,
) -> xr.Dataset:
    """Open, prepare, regrid and fill one day; return it ready to be appended to the store.

    A pure function of its arguments (it reads the source, writes nothing): the task that
    :func:`run` sends to a Dask worker, and the way to look at one day without a store.

    Parameters
    ----------
    date
        The day, e.g. ``"2024-06-01"``.
    method
        A name of :data:`METHODS` (``"laplace"``, ``"alm"``, ``"oi"``, ``"foscat"``), or a
        fill function.
    nside
        HEALPix resolution (a power of two; 128: cells of about 50 km).
    source, resolution
        Where the products come from, as in :func:`eogapfill.data.open_l3s`.
    method_options
        Keyword arguments of the fill function (e.g. ``{"lmax": 20}`` for ``alm``).
    threads
        Threads the task may use (torch, dask); default: its worker's share.
    fill
        The fill function, or its ``"module:function"``, when it is not the one registered
        as ``method`` (how :func:`run` hands a method registered in its process to workers).

    Returns
    -------
    xarray.Dataset
        Dims ``(time: 1, cells: 12 * nside**2)``: ``SST_L3S``, ``SST_filled``, ``SST_L4``
        (float32, degC), ``gap``, ``sea`` (bool) and ``filled_std`` when the method gives one;
        undecoded ``cell_ids`` with the xdggs attributes.

    Examples
    --------
    >>> day = process_day("2024-06-01", nside=16, resolution=1.0)  # doctest: +SKIP
    >>> day.SST_filled.where(day.sea).isnull().sum().item()  # doctest: +SKIP
    0
    """
    import dask

    check_nside(nside)
    threads = threads or _thread_share()
    fill_function = resolve_method(method if fill is None else fill)
    name = method if isinstance(method, str) else getattr(method, "__name__", "custom")
    options = dict(method_options or {})
    if name == "foscat":
        options.setdefault("threads", threads)
        options.setdefault("progress", False)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)

    day_stamp = pd.Timestamp(date).floor("D")
    label = day_stamp.strftime("%Y-%m-%d")
    scheduler = {"scheduler": "synchronous"} if threads == 1 else {
        "scheduler": "threads", "num_workers": threads}
    with dask.config.set(**scheduler):
        l3s = open_l3s(label, source=source, resolution=resolution)
        l4 = open_l4(label, source=source, resolution=resolution)
        day = prepare_day(l3s, l4).load()
    hp_day = to_healpix(day, nside)
    result = fill_function(hp_day, **options)
    return _day_output(hp_day, result, day_stamp, name)


def _day_output(hp_day: xr.Dataset, result: xr.Dataset, day_stamp: pd.Timestamp,
                method: str) -> xr.Dataset:
    """Assemble the stored variables of one day, with a length-1 ``time`` dim."""
    if "filled" not in result:
        raise ValueError(f"the fill {method!r} returned no 'filled' variable: it must follow "
                         "the fill contract of eogapfill.fill.common")
    time = hp_day["time"].values if "time" in hp_day.coords else np.datetime64(day_stamp, "ns")
    variables = {
        "SST_L3S": hp_day["SST_L3S"],
        "SST_filled": result["filled"].assign_attrs(
            units="degC", long_name=f"SST with gaps filled by {method}", fill_method=method),
        "SST_L4": hp_day["SST_L4"],
        "gap": hp_day["gap"],
        "sea": hp_day["sea"],
    }
    if "filled_std" in result:  # 0 on observed cells, NaN off the sea like SST_filled
        variables["filled_std"] = result["filled_std"].where(hp_day["sea"]).assign_attrs(
            units="degC", long_name=f"{method} uncertainty (standard deviation)")
    out = xr.Dataset(
        {name: da.reset_coords(drop=True).astype("float32") if name in _FLOAT_VARIABLES
         else da.reset_coords(drop=True) for name, da in variables.items()},
        coords={"cell_ids": hp_day["cell_ids"]},
    )
    for name in ("SST_L3S", "SST_L4"):
        out[name].attrs = dict(hp_day[name].attrs)
    out = out.expand_dims(time=[np.datetime64(pd.Timestamp(time).to_datetime64(), "ns")])
    out["time"].attrs = {"standard_name": "time", "long_name": "day"}
    for key in ("protocol", "protocol_note"):
        if key in result.attrs:
            out.attrs[f"fill_{key}"] = str(result.attrs[key])
    return out


# --------------------------------------------------------------------------------------------
# the store
# --------------------------------------------------------------------------------------------
def _zmetadata(out: Path) -> dict[str, Any]:
    path = out / ".zmetadata"
    if not path.is_file():
        raise ValueError(
            f"{out} exists but is not an eogapfill pipeline store (no consolidated metadata): "
            "choose another output path, or delete it"
        )
    return json.loads(path.read_text())["metadata"]


def _store_attrs(out: Path) -> dict[str, Any]:
    attrs = _zmetadata(out).get(".zattrs", {})
    if attrs.get("store_kind") != _STORE_KIND:
        raise ValueError(
            f"{out} is a Zarr store but was not written by eogapfill.pipeline.run: choose "
            "another output path"
        )
    return attrs


def _is_new(out: Path) -> bool:
    """No store yet: nothing at ``out``, or an empty folder."""
    return not out.exists() or (out.is_dir() and not any(out.iterdir()))


def stored_days(out: str | Path) -> list[pd.Timestamp]:
    """The days committed to a pipeline store (empty when it does not exist yet)."""
    out = Path(out)
    if _is_new(out):
        return []
    _store_attrs(out)
    with xr.open_zarr(out, consolidated=True) as ds:
        return [pd.Timestamp(t).floor("D") for t in ds["time"].values]


def _rollback_uncommitted(out: Path) -> list[str]:
    """Cut every array back to its committed shape; return the names of those cut."""
    import zarr

    meta = _zmetadata(out)
    cut = []
    for key, committed in meta.items():
        if not key.endswith("/.zarray"):
            continue
        name = key[: -len("/.zarray")]
        on_disk = json.loads((out / key).read_text())
        if on_disk["shape"] != committed["shape"]:
            array = zarr.open_array(store=str(out), path=name, mode="r+", zarr_format=2,
                                    use_consolidated=False)
            array.resize(tuple(committed["shape"]))
            cut.append(name)
    if cut:
        logger.warning("%s: cut back %s to the last committed day (an earlier run stopped "
                       "while writing)", out, ", ".join(sorted(cut)))
    return cut


def _remove_stale_partials(out: Path) -> None:
    for partial in out.parent.glob(f".{out.name}.partial-*"):
        if partial.is_dir():
            logger.warning("removing %s, left by a run that stopped while creating the store",
                           partial)
            shutil.rmtree(partial)


def _run_attrs(method: str, nside: int, source: str, resolution: float,
               method_options: Mapping[str, Any] | None) -> dict[str, Any]:
    from eogapfill import __version__

    return {
        "title": f"SST gaps filled by {method} on HEALPix nside {nside}",
        "store_kind": _STORE_KIND,
        "fill_method": method,
        "nside": int(nside),
        "source": source,
        "resolution_deg": float(resolution),
        "method_options": json.dumps(dict(method_options or {}), sort_keys=True, default=str),
        "eogapfill_version": __version__,
        "Conventions": "CF-1.8",
    }


def _check_compatible(out: Path, attrs: Mapping[str, Any]) -> None:
    stored = _store_attrs(out)
    for key in ("fill_method", "nside", "source", "resolution_deg", "method_options"):
        if stored.get(key) != attrs[key]:
            raise ValueError(
                f"{out} holds {key}={stored.get(key)!r} but this run asks for {attrs[key]!r}: "
                "a store holds one configuration; write to another output path"
            )


def _encoding(ds: xr.Dataset) -> dict[str, dict[str, Any]]:
    enc: dict[str, dict[str, Any]] = {"time": dict(_TIME_ENCODING)}
    for name, var in ds.data_vars.items():
        enc[name] = {"chunks": (1, var.sizes["cells"])}
    return enc


def _create_store(ds: xr.Dataset, out: Path) -> None:
    """Write the first day to a hidden temporary store, then rename it to ``out``."""
    partial = out.parent / f".{out.name}.partial-{uuid.uuid4().hex}"
    try:
        ds.to_zarr(partial, mode="w-", zarr_format=2, consolidated=True, encoding=_encoding(ds))
        os.rename(partial, out)  # atomic; replaces an empty folder, fails on anything else
    finally:
        if partial.exists():
            shutil.rmtree(partial)


def _append_day(ds: xr.Dataset, out: Path) -> None:
    if not _is_new(out):
        ds.to_zarr(out, mode="a-", append_dim="time", zarr_format=2, consolidated=True)
    else:
        _create_store(ds, out)
    logger.info("wrote %s to %s", pd.Timestamp(ds["time"].values[0]).date(), out)


def open_output(out: str | Path, *, decode: bool = True) -> xr.Dataset:
    """Open a store written by :func:`run` lazily; decode its HEALPix grid with xdggs.

    Only committed days are seen (the store is opened through its consolidated metadata).
    """
    out = Path(out)
    if not out.exists():
        raise FileNotFoundError(f"no pipeline output at {out}: write one with "
                                "eogapfill.pipeline.run(...) or `eogapfill fill`")
    _store_attrs(out)
    ds = xr.open_zarr(out, consolidated=True)
    if decode:
        from eogapfill.healpix import decode as decode_grid

        ds = decode_grid(ds)
    return ds


# --------------------------------------------------------------------------------------------
# one writer at a time
# --------------------------------------------------------------------------------------------
class StoreBusyError(RuntimeError):
    """Another run is writing the same store (it holds the store's lock)."""


def _lock_path(out: Path) -> Path:
    real = Path(os.path.realpath(out))
    return real.parent / f".{real.name}.lock"


def _lock_fd(fd: int) -> bool:
    """Lock an open file without waiting; False when another process holds it."""
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True
    import msvcrt  # pragma: no cover - Windows: lock one byte far past the holder's note

    os.lseek(fd, 1 << 20, os.SEEK_SET)  # pragma: no cover
    try:  # pragma: no cover
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:  # pragma: no cover
        return False
    return True  # pragma: no cover


def _try_lock(path: Path) -> int | None:
    """The locked lock file's descriptor, or None when another run holds it."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            locked = _lock_fd(fd)
        except BaseException:
            os.close(fd)
            raise
        if not locked:
            os.close(fd)
            return None
        # The holder removes the file as it finishes: a lock on a removed file is no lock.
        try:
            on_disk = os.stat(path)
        except FileNotFoundError:
            on_disk = None
        mine = os.fstat(fd)
        if on_disk is not None and (on_disk.st_ino, on_disk.st_dev) == (mine.st_ino, mine.st_dev):
            return fd
        os.close(fd)


def _try_lock_or_explain(path: Path, out: Path) -> int | None:
    try:
        return _try_lock(path)
    except OSError as err:
        raise ValueError(
            f"cannot lock the store {out} ({err.strerror}: {path}): choose an output path on a "
            "local file system, in a folder you can write to"
        ) from err


def _holder(path: Path) -> str:
    """Who holds the lock, in words, from the note the holder wrote in it."""
    try:
        note = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        note = {}
    if "pid" not in note:
        return "another run (it is starting)"
    return (f"another run (pid {note['pid']} on host {note.get('host', '?')}, since "
            f"{note.get('started', '?')}: {note.get('command', '?')})")


@contextlib.contextmanager
def _store_lock(out: Path, wait: float = 0.0) -> Iterator[Path]:
    """Hold the lock of the store ``out`` for the block; wait up to ``wait`` seconds for it."""
    path = _lock_path(out)
    deadline = time.monotonic() + wait
    told = False
    while (fd := _try_lock_or_explain(path, out)) is None:
        holder = _holder(path)
        left = deadline - time.monotonic()
        if left <= 0:
            raise StoreBusyError(
                f"{out} is being written by {holder}. A store takes one writer at a time: "
                "let that run finish (its days are then skipped), wait for it (wait=SECONDS; "
                "--wait on the command line), or write to another output path. The lock is "
                f"released when that process ends, even if it is killed ({path})"
            )
        if not told:
            logger.warning("%s is being written by %s: waiting for it to finish", out, holder)
            told = True
        time.sleep(min(0.5, left))
    try:
        note = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "command": _command_line(),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(note).encode(), 0)
        yield path
    finally:
        with contextlib.suppress(OSError):
            if fcntl is not None:
                os.unlink(path)  # before the lock goes: see _try_lock
        os.close(fd)


def _command_line() -> str:
    """This process's command, as its user typed it (``python -m eogapfill`` is eogapfill)."""
    argv = [a for a in sys.argv if a] or ["python"]
    program = Path(argv[0])
    name = program.parent.name if program.name == "__main__.py" else program.name
    return " ".join([name, *argv[1:]])[:300]


def _committed_length(out: Path) -> int:
    """Days committed to the store (0 when it does not exist yet), from its metadata only."""
    if _is_new(out):
        return 0
    return int(_zmetadata(out)["time/.zarray"]["shape"][0])


# --------------------------------------------------------------------------------------------
# the cluster
# --------------------------------------------------------------------------------------------
def _connect_timeout(timeout: float | str | None) -> float:
    import dask
    from dask.utils import parse_timedelta

    if timeout is None:
        timeout = dask.config.get("distributed.comm.timeouts.connect")
    try:
        seconds = float(parse_timedelta(timeout, default="seconds"))
    except (TypeError, ValueError, KeyError) as err:
        raise ValueError(f"cannot read the timeout {timeout!r}: give seconds, e.g. 30") from err
    if not seconds > 0:
        raise ValueError(f"the timeout must be positive, got {timeout!r}")
    return seconds


def _check_scheduler_address(address: str) -> None:
    from distributed.comm import parse_address

    try:
        parse_address(address, strict=True)
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"{address!r} is not a Dask scheduler address: give it as tcp://HOST:PORT "
            "(the scheduler prints it when it starts)"
        ) from err


def connect_scheduler(address: str, timeout: float | str | None = None) -> Any:
    """A ``dask.distributed.Client`` of the scheduler at ``address``, or a clear error in time.

    The connection and the scheduler's handshake must both come within ``timeout`` seconds
    (default: the Dask config ``distributed.comm.timeouts.connect``, 30 s unless changed): a
    port that accepts the connection and never answers fails like a closed one.

    Raises
    ------
    TimeoutError
        No Dask scheduler answered in time; the message says what to check.
    ValueError
        ``address`` is not an address (``tcp://host:8786``).
    """
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from distributed import Client
    from distributed.comm import connect
    from distributed.security import Security

    seconds = _connect_timeout(timeout)
    _check_scheduler_address(address)
    connection_args = Security().get_connection_args("client")

    async def probe() -> None:
        # distributed's connect() bounds the TCP connection but not the handshake after it
        comm = await asyncio.wait_for(connect(address, timeout=seconds, **connection_args),
                                      seconds)
        await comm.close()

    with ThreadPoolExecutor(1) as pool:  # its own event loop, even inside a notebook's
        try:
            pool.submit(asyncio.run, probe()).result()
        except OSError as err:  # TimeoutError too
            raise TimeoutError(
                f"no Dask scheduler answered at {address} within {seconds:g} s: check the "
                "address and that the scheduler runs and is reachable from here, or raise "
                "the limit: --scheduler-timeout SECONDS, or the Dask config "
                "distributed.comm.timeouts.connect"
            ) from err
    return Client(address, timeout=seconds)


# --------------------------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------------------------
def source_days(source: str = "sample", resolution: float = 0.25) -> list[pd.Timestamp]:
    """The days the L3S product of ``source`` holds (reads its time axis only).

    >>> source_days("sample", 1.0)[0]  # doctest: +SKIP
    Timestamp('2024-06-01 00:00:00')
    """
    ds = open_l3s(None, source=source, resolution=resolution)  # lazy: reads the time axis
    return sorted({pd.Timestamp(t).floor("D") for t in ds["time"].values})


def _check_source_has(days: list[pd.Timestamp], source: str, resolution: float) -> None:
    """Fail early, on the driver, when the source lacks one of the days."""
    have = source_days(source, resolution)
    have_set = set(have)
    missing = [d for d in days if d not in have_set]
    if missing:
        span = f"{have[0].date()} to {have[-1].date()}" if have else "no day"
        hint = (" or the real products (source 'cmems', needs the network)"
                if source == "sample" else "")
        raise ValueError(
            f"the {source!r} source has no data for {len(missing)} of the days asked "
            f"(first: {missing[0].date()}); it holds {span}: pick days in that range{hint}"
        )


def _plan(days: list[pd.Timestamp], out: Path) -> tuple[list[pd.Timestamp], list[pd.Timestamp]]:
    done = stored_days(out)
    done_set = set(done)
    todo = [d for d in days if d not in done_set]
    if done and todo and todo[0] < done[-1]:
        raise ValueError(
            f"{out} already ends on {done[-1].date()}; missing earlier days (first "
            f"{todo[0].date()}) cannot be appended after it (time must stay in order): ask for "
            f"days after {done[-1].date()} or write to another output path"
        )
    return todo, [d for d in days if d in done_set]


@contextlib.contextmanager
def _children_ignore_ctrl_c() -> Iterator[None]:
    """Processes started in the block ignore Ctrl-C (SIGINT), which reaches the whole group.

    The run stops its worker processes itself when it is interrupted; left to themselves they
    would each print a traceback. (An ignored signal stays ignored in a child process.)
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _default_cluster(n_workers: int, threads_per_worker: int) -> Any:
    from distributed import Client, LocalCluster

    threads = str(threads_per_worker)
    env = {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
           "OPENBLAS_NUM_THREADS": threads}
    with _children_ignore_ctrl_c():
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker,
                               processes=True, env=env)
    return Client(cluster)


def run(
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    *,
    method: str = "laplace",
    nside: int = 128,
    source: str = "sample",
    out: str | Path,
    client: Any = None,
    resolution: float = 0.25,
    method_options: Mapping[str, Any] | None = None,
    progress: bool = True,
    n_workers: int = 2,
    scheduler: str | None = None,
    connect_timeout: float | str | None = None,
    wait: float = 0.0,
) -> xr.Dataset:
    """Fill every day from ``start`` to ``end`` and append them to the Zarr store ``out``.

    Parameters
    ----------
    start, end
        First and last day, both included (``"2024-06-01"``).
    method
        Fill method, a name of :data:`METHODS`: ``"laplace"`` (default), ``"alm"``, ``"oi"``,
        ``"foscat"``.
    nside
        HEALPix resolution, a power of two (128: 196 608 cells of about 50 km).
    source
        ``"sample"`` (the embedded sample, offline) or ``"cmems"`` (the Copernicus Marine
        ARCO stores), as in :func:`eogapfill.data.open_l3s`.
    out
        Path of the output store (local file system). Days already in it are skipped; its
        method, nside, source, resolution and options must match this run's. One run at a
        time writes to it (see the module's notes).
    client
        A ``dask.distributed.Client``. Default: a local cluster of ``n_workers`` processes
        of one thread each, closed at the end.
    resolution
        Grid spacing of the sample, degrees (ignored by ``"cmems"``).
    method_options
        Keyword arguments of the fill function (e.g. ``{"lmax": 20}``), checked against its
        signature before anything starts (:func:`check_method_options`).
    progress
        Show a progress bar (tqdm) over the days.
    n_workers
        Workers of the default local cluster. In a script, call :func:`run` under
        ``if __name__ == "__main__":``: the worker processes import the script.
    scheduler
        Address of a running Dask scheduler (``"tcp://host:8786"``) to use instead of a local
        cluster (see :func:`connect_scheduler`); ignored when ``client`` is given.
    connect_timeout
        Seconds to wait for that scheduler (default: the Dask config
        ``distributed.comm.timeouts.connect``, 30 s).
    wait
        Seconds to wait when another run is writing ``out`` (``math.inf``: as long as it
        takes); 0 (default) refuses at once.

    Returns
    -------
    xarray.Dataset
        The whole store, opened lazily and decoded (:func:`open_output`).

    Raises
    ------
    ValueError
        Bad dates, nside or options, unknown or unavailable method, an output path that
        cannot be written, a store of another configuration, days the source does not have.
    StoreBusyError
        Another run is writing ``out`` (after ``wait`` seconds).
    TimeoutError
        No Dask scheduler answered at ``scheduler``.
    RuntimeError
        When a day fails; the days before it are kept, and running again resumes.
    """
    return _run(start, end, method=method, nside=nside, source=source, out=out, client=client,
                resolution=resolution, method_options=method_options, progress=progress,
                n_workers=n_workers, scheduler=scheduler, connect_timeout=connect_timeout,
                wait=wait)[0]


def _check_output_path(out: Path) -> None:
    """Refuse an output path that is a file or cannot be written, before any work."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} is a file, not a Zarr store: choose another output path")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(
            f"cannot create the folder {out.parent} for the store ({err.strerror}: "
            f"{err.filename}): choose an output path in a folder you can write to"
        ) from err
    for folder in (out.parent, out) if out.exists() else (out.parent,):
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ValueError(
                f"cannot write to {folder} (permission denied): choose an output path in a "
                "folder you can write to"
            )


def _run(start: str | pd.Timestamp, end: str | pd.Timestamp, *, method: str, nside: int,
         source: str, out: str | Path, client: Any, resolution: float,
         method_options: Mapping[str, Any] | None, progress: bool, n_workers: int,
         scheduler: str | None, connect_timeout: float | str | None,
         wait: float) -> tuple[xr.Dataset, int]:
    """:func:`run`; also returns the number of days this run wrote."""
    days = day_range(start, end)
    check_nside(nside)
    target = _check_method_available(method)
    method_options = check_method_options(method, method_options)
    if isinstance(wait, bool) or not isinstance(wait, int | float) or not wait >= 0:
        raise ValueError(
            f"wait must be a number of seconds >= 0 (math.inf: no limit), got {wait!r}"
        )
    if client is None and scheduler is not None:  # a bad address fails now, not later
        _check_scheduler_address(scheduler)
        _connect_timeout(connect_timeout)
    out = Path(out)
    _check_output_path(out)
    attrs = _run_attrs(method, nside, source, resolution, method_options)
    with _store_lock(out, wait):
        _remove_stale_partials(out)
        if not _is_new(out):
            _check_compatible(out, attrs)
            _rollback_uncommitted(out)
        todo, skipped = _plan(days, out)
        committed = _committed_length(out)
        if skipped:
            logger.info("%d day(s) already in %s: skipped", len(skipped), out)
        if not todo:
            logger.info("nothing to do: every day from %s to %s is in %s", days[0].date(),
                        days[-1].date(), out)
            return open_output(out), 0
        _check_source_has(todo, source, resolution)

        own_client = client is None
        if own_client:
            client = (connect_scheduler(scheduler, connect_timeout) if scheduler is not None
                      else _default_cluster(n_workers, 1))
        try:
            written = _compute_and_write(client, todo, out, attrs, progress, dict(
                method=method, fill=target, nside=nside, source=source,
                resolution=resolution, method_options=method_options), committed)
        except KeyboardInterrupt:
            if own_client and scheduler is None:
                _quiet_cancelled_tasks(client)
                with _quiet_logger("distributed"):  # workers that stop late are killed: fine
                    _close_client(client, own_cluster=True)
                own_client = False
            raise
        finally:
            if own_client:
                _close_client(client, own_cluster=scheduler is None)
    return open_output(out), written


def _silence_task_cancellations() -> None:
    logging.getLogger("distributed.worker.state_machine").setLevel(logging.ERROR)


def _quiet_cancelled_tasks(client: Any) -> None:
    """Stop the run's own workers from logging each task that closing them cancels."""
    with contextlib.suppress(Exception):
        client.run(_silence_task_cancellations)


@contextlib.contextmanager
def _quiet_logger(name: str) -> Iterator[None]:
    """Only errors of the logger ``name`` in the block."""
    log = logging.getLogger(name)
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def _close_client(client: Any, *, own_cluster: bool) -> None:
    cluster = client.cluster if own_cluster else None
    client.close()
    if cluster is not None:
        cluster.close()


def _window(client: Any) -> int:
    try:
        threads = sum(client.nthreads().values())
    except Exception:  # a client that cannot tell (e.g. still scaling): a small window
        threads = 2
    return max(2, 2 * threads)


def _compute_and_write(client: Any, todo: list[pd.Timestamp], out: Path, attrs: dict,
                       progress: bool, task: dict, committed: int) -> int:
    """Run one task per day, at most a window ahead, and write the days in date order.

    Returns the number of days written. Before each write, checks that the store still holds
    the ``committed`` days it held when this run planned its days, plus the ones it wrote (the
    lock makes it so; this is the last line of defence against a writer that ignores it).
    """
    from distributed import as_completed
    from tqdm.auto import tqdm

    pending: Iterable[pd.Timestamp] = iter(todo)
    key_of: dict[str, pd.Timestamp] = {}
    finished: dict[pd.Timestamp, xr.Dataset] = {}
    next_to_write = 0

    def submit() -> Any:
        day = next(pending, None)
        if day is None:
            return None
        future = client.submit(process_day, day, pure=False,
                               key=f"eogapfill-day-{day:%Y-%m-%d}-{uuid.uuid4().hex[:8]}",
                               **task)
        key_of[future.key] = day
        return future

    first = [f for f in (submit() for _ in range(min(_window(client), len(todo)))) if f]
    stream = as_completed(first)
    bar = tqdm(total=len(todo), unit="day", desc=f"{attrs['fill_method']} nside {attrs['nside']}",
               disable=not progress)
    failed: tuple[pd.Timestamp, BaseException] | None = None
    try:
        for future in stream:
            day = key_of.pop(future.key)
            if failed is not None and day > failed[0]:
                continue  # cancelled, or finished after an earlier day failed: not written
            try:
                result = future.result()
            except Exception as err:
                # Keep the days before this one (still running): cancel only the later ones.
                failed = (day, err)
                for other in list(stream.futures):
                    if key_of.get(other.key, day) > day:
                        other.cancel()
                continue
            finished[day] = result.assign_attrs(attrs)
            bar.update(1)
            while next_to_write < len(todo) and todo[next_to_write] in finished:
                if (now := _committed_length(out)) != committed + next_to_write:
                    raise RuntimeError(
                        f"{out} was changed by another writer while this run was writing it "
                        f"(it holds {now} day(s), this run expected {committed + next_to_write}"
                        "); nothing more is written: check the store with "
                        "eogapfill.pipeline.open_output, and run one writer at a time"
                    )
                _append_day(finished.pop(todo[next_to_write]), out)
                next_to_write += 1
                bar.set_postfix(written=next_to_write)
            if failed is None:
                new = submit()
                if new is not None:
                    stream.add(new)
    finally:
        bar.close()
    if failed is not None:
        day, err = failed
        raise RuntimeError(
            f"filling {day.date()} failed ({type(err).__name__}: {err}); the {next_to_write} "
            f"day(s) of this run before it are safe in {out}: fix the cause and run the same "
            "command again to resume"
        ) from err
    return next_to_write
