"""The pipeline's Zarr store: created, appended a day at a time, rolled back, locked.

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
A regional store holds the cells of a lat/lon box only (``cell_ids`` a sorted subset of the
sphere's NESTED ids) and says so: ``healpix_partial=1``, ``healpix_region`` (the box in
words), ``region_box`` (``[lon0, lon1, lat0, lat1]``, degrees) and ``region_cells``. Every
run into a store must ask for its nside and region.

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

Lost chunk files
----------------
Every chunk is written, fill values too (the store says so: ``every_chunk_written``), so a
committed day that lacks a chunk file (deleted, lost to a disk fault) is damaged, not empty:
:func:`open_output` refuses the store naming the days, :func:`stored_days` does not count them
as finished, and a run over them recomputes them in place (:func:`damaged_days` lists them;
found from listings of the store's folders, without reading data). A lost chunk of ``time``
or ``cell_ids``, or damaged metadata, cannot be recomputed: the error says to start a new
store.

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
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import shutil
import socket
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

import pandas as pd
import xarray as xr

from eogapfill.healpix import box_label

__all__ = [
    "OUTPUT_VARIABLES",
    "DamagedStoreError",
    "StoreBusyError",
    "damaged_days",
    "open_output",
    "stored_days",
]

logger = logging.getLogger(__name__)

#: Variables of every stored day (``filled_std`` too when the method gives one).
OUTPUT_VARIABLES = ("SST_L3S", "SST_filled", "SST_L4", "gap", "sea")
_FLOAT_VARIABLES = ("SST_L3S", "SST_filled", "SST_L4", "filled_std")
_STORE_KIND = "eogapfill.pipeline"
#: Attribute of a store whose every chunk was written, fill values too (a missing one is lost).
_DENSE_ATTR = "every_chunk_written"
#: Variables that are never all fill values on a day: checked in older stores too.
_NEVER_EMPTY = ("SST_filled", "SST_L4", "sea")
_TIME_ENCODING = {
    "units": "seconds since 1970-01-01 00:00:00",
    "calendar": "proleptic_gregorian",
    "dtype": "int64",
}


class DamagedStoreError(ValueError):
    """A pipeline store lacks files it should hold (a chunk, or its metadata)."""


def _damaged_metadata(out: Path, path: Path, err: Exception) -> DamagedStoreError:
    return DamagedStoreError(
        f"the store {out} is damaged: its metadata file {path.name} ({path}) cannot be read "
        f"({type(err).__name__}: {err}). The store's record of its finished days is lost: "
        "delete the store and run the same command again (every day is recomputed), or write "
        "to another output path"
    )


def _read_json(out: Path, path: Path) -> dict[str, Any]:
    """A metadata file of the store ``out``, parsed; a damaged one names the store."""
    try:
        value = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as err:
        raise _damaged_metadata(out, path, err) from err
    if not isinstance(value, dict):
        raise _damaged_metadata(out, path, TypeError(f"a JSON {type(value).__name__}"))
    return value


def _zmetadata(out: Path) -> dict[str, Any]:
    path = out / ".zmetadata"
    if not path.is_file():
        raise ValueError(
            f"{out} exists but is not an eogapfill pipeline store (no consolidated metadata): "
            "choose another output path, or delete it"
        )
    meta = _read_json(out, path).get("metadata")
    if not isinstance(meta, dict):
        raise _damaged_metadata(out, path, KeyError("no 'metadata' mapping"))
    return meta


def _n_committed(out: Path, meta: Mapping[str, Any]) -> int:
    """Days committed to the store ``out``, from its consolidated metadata ``meta``."""
    try:
        return int(meta["time/.zarray"]["shape"][0])
    except (KeyError, IndexError, TypeError, ValueError) as err:
        raise _damaged_metadata(out, out / ".zmetadata", KeyError("no 'time' array")) from err


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
    """The finished days of a pipeline store: committed, with every chunk file on disk.

    Empty when the store does not exist yet. A committed day with a missing chunk file (see
    :func:`damaged_days`) is not finished: a run over it recomputes it in place.
    """
    out = Path(out)
    if _is_new(out):
        return []
    _store_attrs(out)
    damaged = _damaged_days(out)
    return [day for i, day in enumerate(_store_times(out)) if i not in damaged]


def _store_times(out: Path) -> list[pd.Timestamp]:
    """Every committed day of the store ``out``, finished or damaged, in store order."""
    with xr.open_zarr(out, consolidated=True) as ds:
        return [pd.Timestamp(t).floor("D") for t in ds["time"].values]


# --------------------------------------------------------------------------------------------
# chunk files: a day is finished when all of its chunk files are on disk
# --------------------------------------------------------------------------------------------
def _chunk_keys(meta: Mapping[str, Any], name: str) -> dict[int, list[str]]:
    """The chunk keys an array must hold, by chunk index along its first dimension."""
    zarray = meta[f"{name}/.zarray"]
    shape, chunks = zarray["shape"], zarray["chunks"]
    sep = zarray.get("dimension_separator") or "."
    counts = [-(-n // c) for n, c in zip(shape, chunks, strict=True)]
    if not counts:  # a scalar: one chunk, key "0"
        return {0: ["0"]}
    rest: list[str] = [""]
    for count in counts[1:]:
        rest = [f"{r}{sep}{j}" for r in rest for j in range(count)]
    return {i: [f"{i}{r}" for r in rest] for i in range(counts[0])}


def _present(folder: Path, keys: list[str]) -> set[str]:
    """The keys among ``keys`` that are files in ``folder`` (one listing when not nested)."""
    if all("/" not in k for k in keys):
        try:
            names = set(os.listdir(folder))
        except FileNotFoundError:
            return set()
        return {k for k in keys if k in names}
    return {k for k in keys if (folder / k).is_file()}


def _missing_chunks(out: Path) -> tuple[dict[int, list[str]], list[str]]:
    """Chunk files the committed metadata lists but the disk lacks, from listings only.

    Returns ``({day index: [missing keys]}, [missing keys of arrays not along time])``; keys
    are ``"VARIABLE/KEY"``. A store written with every chunk (the ``every_chunk_written``
    attribute) is checked in full; an older one, whose writer skipped chunks of fill values
    (an all-NaN or all-False day), only in the variables that cannot be empty.
    """
    meta = _zmetadata(out)
    dense = bool(meta.get(".zattrs", {}).get(_DENSE_ATTR))
    days: dict[int, list[str]] = {}
    other: list[str] = []
    n_days = _n_committed(out, meta)
    for key in meta:
        if not key.endswith("/.zarray"):
            continue
        name = key[: -len("/.zarray")]
        dims = meta.get(f"{name}/.zattrs", {}).get("_ARRAY_DIMENSIONS", [])
        along_time = bool(dims) and dims[0] == "time" and name != "time"
        if along_time and not dense and name not in _NEVER_EMPTY:
            continue
        by_index = _chunk_keys(meta, name)
        wanted = [k for keys in by_index.values() for k in keys]
        present = _present(out / name, wanted)
        step = int(meta[key]["chunks"][0]) if dims else 1
        for index, keys in by_index.items():
            lost = [f"{name}/{k}" for k in keys if k not in present]
            if not lost:
                continue
            if along_time:
                for day in range(index * step, min((index + 1) * step, n_days)):
                    days.setdefault(day, []).extend(lost)
            else:
                other.extend(lost)
    return days, other


def _new_days(days: Sequence[pd.Timestamp], out: Path) -> list[pd.Timestamp]:
    """The days of ``days`` not committed to the store: those a run appends (in order).

    A committed day that lost a chunk file is not finished (:func:`stored_days`) but is not
    new either: it is recomputed in place, wherever it lies in the store.
    """
    if _is_new(out):
        return list(days)
    committed = set(_store_times(out))
    return [day for day in days if day not in committed]


def _damaged_days(out: Path) -> dict[int, list[str]]:
    """``{day index: missing chunk keys}``; raises when the time axis or the grid is damaged."""
    try:
        days, other = _missing_chunks(out)
    except DamagedStoreError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, ZeroDivisionError) as err:
        raise _damaged_metadata(out, out / ".zmetadata", err) from err
    if other:
        raise DamagedStoreError(
            f"the store {out} is damaged: the chunk file(s) {', '.join(other[:5])} are missing "
            "(its time axis or its grid, which a run cannot recompute). Delete the store and "
            "run the same command again (every day is recomputed), or write to another output "
            "path"
        )
    return days


def damaged_days(out: str | Path) -> list[pd.Timestamp]:
    """The committed days of a pipeline store that lack a chunk file (empty when none).

    Such a day reads as NaN where its data should be: :func:`open_output` refuses the store,
    and a run over the day recomputes it in place. Found from listings of the store's folders,
    without reading data.
    """
    out = Path(out)
    if _is_new(out):
        return []
    _store_attrs(out)
    damaged = _damaged_days(out)
    return [day for i, day in enumerate(_store_times(out)) if i in damaged]


def _check_no_damage(out: Path) -> None:
    """Refuse a store with a committed day that lacks a chunk file, naming days and files."""
    damaged = _damaged_days(out)
    if not damaged:
        return
    times = _store_times(out)
    days = sorted(damaged)
    files = [k for i in days for k in damaged[i]]
    first, last = times[days[0]].date(), times[days[-1]].date()
    raise DamagedStoreError(
        f"the store {out} is damaged: {len(days)} day(s) lack chunk files and would read as "
        f"NaN: {', '.join(str(times[i].date()) for i in days[:10])} (missing: "
        f"{', '.join(files[:5])}{' ...' if len(files) > 5 else ''}). Run the same fill again "
        f"over these days (`eogapfill fill --start {first} --end {last}` with this store's "
        "method, nside and options, or eogapfill.pipeline.run): it recomputes them in place "
        "and keeps the others. Or delete the store and run again"
    )


def _rollback_uncommitted(out: Path) -> list[str]:
    """Cut every array back to its committed shape; return the names of those cut."""
    import zarr

    meta = _zmetadata(out)
    cut = []
    for key, committed in meta.items():
        if not key.endswith("/.zarray"):
            continue
        name = key[: -len("/.zarray")]
        on_disk = _read_json(out, out / key)
        if on_disk["shape"] != committed["shape"]:
            array = zarr.open_array(
                store=str(out), path=name, mode="r+", zarr_format=2, use_consolidated=False
            )
            array.resize(tuple(committed["shape"]))
            cut.append(name)
    if cut:
        logger.warning(
            "%s: cut back %s to the last committed day (an earlier run stopped while writing)",
            out,
            ", ".join(sorted(cut)),
        )
    return cut


def _remove_stale_partials(out: Path) -> None:
    for partial in out.parent.glob(f".{out.name}.partial-*"):
        if partial.is_dir():
            logger.warning(
                "removing %s, left by a run that stopped while creating the store", partial
            )
            shutil.rmtree(partial)


def _run_attrs(
    method: str,
    nside: int,
    source: str,
    resolution: float,
    method_options: Mapping[str, Any] | None,
    window: int | None = None,
) -> dict[str, Any]:
    from eogapfill import __version__

    spacetime = {}
    if window is not None:  # a space-time run: the window of every day, recorded
        spacetime = {
            "window": int(window),
            "window_note": (
                f"each day filled with the observations of the days within {int(window)} "
                f"days of it ({2 * int(window) + 1} days) that the source holds"
            ),
        }
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
        _DENSE_ATTR: 1,
        **spacetime,
    }


def _region_attrs(box: Sequence[float] | None, ids: Any) -> dict[str, Any]:
    """The store attributes of a region (none for the full sphere)."""
    if box is None:
        return {}
    lon0, lon1, lat0, lat1 = (float(x) for x in box)
    return {
        "healpix_partial": 1,
        "healpix_region": box_label((lon0, lon1, lat0, lat1)),
        "region_box": [lon0, lon1, lat0, lat1],
        "region_cells": int(len(ids)),
    }


def _describe_region(attrs: Mapping[str, Any]) -> str:
    box = attrs.get("region_box")
    if box is None:
        return "the full sphere"
    return "the region (lon0, lon1, lat0, lat1) = ({:g}, {:g}, {:g}, {:g})".format(*box)


def _check_region_compatible(out: Path, attrs: Mapping[str, Any]) -> None:
    """Refuse a run whose region (or full sphere) is not the store's."""
    stored = _store_attrs(out)
    have = stored.get("region_box")
    want = attrs.get("region_box")
    if (have is None) != (want is None) or (
        have is not None and [float(x) for x in have] != [float(x) for x in want]
    ):
        raise ValueError(
            f"{out} holds {_describe_region(stored)} at nside {stored.get('nside')}, but this "
            f"run asks for {_describe_region(attrs)}: a store holds one grid; ask for the "
            "store's region, or write to another output path"
        )


def _check_compatible(out: Path, attrs: Mapping[str, Any]) -> None:
    stored = _store_attrs(out)
    if stored.get("fill_method") == attrs["fill_method"] and stored.get("window") != attrs.get(
        "window"
    ):
        raise ValueError(
            f"{out} was filled with a window of {stored.get('window')} day(s) on each side but "
            f"this run asks for {attrs.get('window')}: a store holds one window; ask for "
            f"window={stored.get('window')} (--window {stored.get('window')}), or write to "
            "another output path"
        )
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
        ds.to_zarr(
            partial,
            mode="w-",
            zarr_format=2,
            consolidated=True,
            encoding=_encoding(ds),
            write_empty_chunks=True,  # every chunk on disk: a missing one is a fault
        )
        os.rename(partial, out)  # atomic; replaces an empty folder, fails on anything else
    finally:
        if partial.exists():
            shutil.rmtree(partial)


def _append_day(ds: xr.Dataset, out: Path) -> None:
    """Write one day (``ds``, time of length 1) to the store.

    A new day is appended after the last one; a committed day that lacks a chunk file is
    rewritten in place (its chunk files only: each is written atomically, so a crash leaves
    the day damaged, to be recomputed again, never half-old half-new and unnoticed).
    """
    day = pd.Timestamp(ds["time"].values[0]).floor("D")
    if _is_new(out):
        _create_store(ds, out)
    elif day in (times := _store_times(out)):
        index = times.index(day)
        if index not in _damaged_days(out):
            raise RuntimeError(
                f"{day.date()} is already finished in {out}: not written again (a run skips "
                "the finished days; this is a fault of the caller)"
            )
        _rewrite_day(ds, out, index)
    elif times and day < times[-1]:
        raise ValueError(
            f"{out} ends on {times[-1].date()}: {day.date()} cannot be appended after it "
            "(time must stay in order); write to another output path"
        )
    else:
        if not _store_attrs(out).get(_DENSE_ATTR):  # an older store keeps saying what it is
            ds = ds.copy()
            ds.attrs.pop(_DENSE_ATTR, None)
        ds.to_zarr(
            out,
            mode="a-",
            append_dim="time",
            zarr_format=2,
            consolidated=True,
            write_empty_chunks=True,
        )
    logger.info("wrote %s to %s", day.date(), out)


def _rewrite_day(ds: xr.Dataset, out: Path, index: int) -> None:
    """Write the day-dependent variables of ``ds`` at time ``index`` of the store, in place."""
    per_day = [name for name, var in ds.data_vars.items() if var.dims[:1] == ("time",)]
    ds[per_day].drop_vars(list(ds.coords)).to_zarr(
        out,
        region={"time": slice(index, index + 1)},
        mode="r+",
        zarr_format=2,
        consolidated=False,  # no metadata changes: the commit record stays as it is
        write_empty_chunks=True,
    )
    logger.warning(
        "%s: recomputed %s, which had lost chunk files",
        out,
        pd.Timestamp(ds["time"].values[0]).date(),
    )


def open_output(out: str | Path, *, decode: bool = True) -> xr.Dataset:
    """Open a store written by :func:`run` lazily; decode its HEALPix grid with xdggs.

    Only committed days are seen (the store is opened through its consolidated metadata).
    Raises :class:`DamagedStoreError` when a committed day lacks a chunk file (it would read
    as NaN), naming the days and how to recompute them, or when the metadata is damaged.
    """
    out = Path(out)
    if not out.exists():
        raise FileNotFoundError(
            f"no pipeline output at {out}: write one with "
            "eogapfill.pipeline.run(...) or `eogapfill fill`"
        )
    _store_attrs(out)
    _check_no_damage(out)
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
    return (
        f"another run (pid {note['pid']} on host {note.get('host', '?')}, since "
        f"{note.get('started', '?')}: {note.get('command', '?')})"
    )


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
    """Finished days of the store (0 when it does not exist yet), from metadata and listings.

    The committed days less those that lack a chunk file: appending a day and recomputing a
    damaged one in place each add one.
    """
    if _is_new(out):
        return 0
    return _n_committed(out, _zmetadata(out)) - len(_damaged_days(out))


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
