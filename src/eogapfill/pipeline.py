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
The store must have one writer at a time, on a local file system.

Examples
--------
>>> from eogapfill.pipeline import run, open_output
>>> ds = run("2024-06-01", "2024-06-03", method="laplace", nside=64,
...          out="filled.zarr")  # doctest: +SKIP
>>> open_output("filled.zarr").SST_filled.sizes  # doctest: +SKIP
Frozen({'time': 3, 'cells': 49152})
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import os
import shutil
import sys
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

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
    "available_methods",
    "day_range",
    "open_output",
    "process_day",
    "register_method",
    "resolve_method",
    "run",
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


# --------------------------------------------------------------------------------------------
# days
# --------------------------------------------------------------------------------------------
def day_range(start: str | np.datetime64 | pd.Timestamp,
              end: str | np.datetime64 | pd.Timestamp) -> list[pd.Timestamp]:
    """The days from ``start`` to ``end``, both included, as midnight timestamps.

    >>> [d.strftime("%m-%d") for d in day_range("2024-06-01", "2024-06-03")]
    ['06-01', '06-02', '06-03']
    """
    try:
        first, last = pd.Timestamp(start).floor("D"), pd.Timestamp(end).floor("D")
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"cannot read the dates {start!r} to {end!r} ({err}): use YYYY-MM-DD"
        ) from err
    if last < first:
        raise ValueError(f"the end {last.date()} is before the start {first.date()}")
    return list(pd.date_range(first, last, freq="D"))


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
# the run
# --------------------------------------------------------------------------------------------
def _check_source_has(days: list[pd.Timestamp], source: str, resolution: float) -> None:
    """Fail early, on the driver, when the source lacks one of the days."""
    ds = open_l3s(None, source=source, resolution=resolution)  # lazy: reads the time axis
    have = {pd.Timestamp(t).floor("D") for t in ds["time"].values}
    missing = [d for d in days if d not in have]
    if missing:
        span = f"{min(have).date()} to {max(have).date()}" if have else "no day"
        raise ValueError(
            f"the {source!r} source has no data for {len(missing)} of the days asked "
            f"(first: {missing[0].date()}); it holds {span}. Pick days in its range"
            + (" or generate more with `eogapfill sample --start ... --days ...`"
               if source == "sample" else "")
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


def _default_cluster(n_workers: int, threads_per_worker: int) -> Any:
    from distributed import Client, LocalCluster

    threads = str(threads_per_worker)
    env = {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
           "OPENBLAS_NUM_THREADS": threads}
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
        method, nside, source, resolution and options must match this run's.
    client
        A ``dask.distributed.Client``. Default: a local cluster of ``n_workers`` processes
        of one thread each, closed at the end.
    resolution
        Grid spacing of the sample, degrees (ignored by ``"cmems"``).
    method_options
        Keyword arguments of the fill function (e.g. ``{"lmax": 20}``).
    progress
        Show a progress bar (tqdm) over the days.
    n_workers
        Workers of the default local cluster. In a script, call :func:`run` under
        ``if __name__ == "__main__":``: the worker processes import the script.

    Returns
    -------
    xarray.Dataset
        The whole store, opened lazily and decoded (:func:`open_output`).

    Raises
    ------
    ValueError
        Bad dates or nside, unknown or unavailable method, a store of another configuration,
        days the source does not have.
    RuntimeError
        When a day fails; the days before it are kept, and running again resumes.
    """
    days = day_range(start, end)
    check_nside(nside)
    target = _check_method_available(method)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} is a file, not a Zarr store: choose another output path")
    out.parent.mkdir(parents=True, exist_ok=True)
    attrs = _run_attrs(method, nside, source, resolution, method_options)
    _remove_stale_partials(out)
    if not _is_new(out):
        _check_compatible(out, attrs)
        _rollback_uncommitted(out)
    todo, skipped = _plan(days, out)
    if skipped:
        logger.info("%d day(s) already in %s: skipped", len(skipped), out)
    if not todo:
        logger.info("nothing to do: every day from %s to %s is in %s", days[0].date(),
                    days[-1].date(), out)
        return open_output(out)
    _check_source_has(todo, source, resolution)

    own_client = client is None
    if own_client:
        client = _default_cluster(n_workers, 1)
    try:
        _compute_and_write(client, todo, out, attrs, progress, dict(
            method=method, fill=target, nside=nside, source=source, resolution=resolution,
            method_options=dict(method_options or {})))
    finally:
        if own_client:
            cluster = client.cluster
            client.close()
            cluster.close()
    return open_output(out)


def _window(client: Any) -> int:
    try:
        threads = sum(client.nthreads().values())
    except Exception:  # a client that cannot tell (e.g. still scaling): a small window
        threads = 2
    return max(2, 2 * threads)


def _compute_and_write(client: Any, todo: list[pd.Timestamp], out: Path, attrs: dict,
                       progress: bool, task: dict) -> None:
    """Run one task per day, at most a window ahead, and write the days in date order."""
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

