"""The writing side of a run: the finished days appended to the store in date order
(:class:`_Writer`), and the message of a run stopped by a failed day (:func:`_failure`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from eogapfill.pipeline.day import _NOTHING_TO_FILL
from eogapfill.pipeline.store import (
    _append_day,
    _committed_length,
    _is_new,
    _store_attrs,
    _zmetadata,
)

#: The run's log (the days written), under the name of the run's module.
logger = logging.getLogger("eogapfill.pipeline.runner")

#: Attributes of a day that come from its fill, carried over to a day with nothing to fill.
_FILL_ATTRS = ("fill_protocol", "fill_protocol_note")
#: Errors of a task that running again may get past: faults of the network, the machines or
#: a store, not of the inputs (distributed's own are named, not imported).
_TRANSIENT_NAMES = ("KilledWorker", "CommClosedError", "CancelledError", "FutureCancelledError")


class _Writer:
    """Writes the finished days to the store in date order, one at a time.

    A day with nothing to fill gets ``filled_std`` 0 (NaN off the sea) when the other days
    have one, and their fill attributes. Whether they have one comes from the store, else
    from the registry (``gives_std``), else from the first day with gaps of this run: until
    then such a day waits (at the end of the run it is written as it is). ``written`` counts
    the days written, ``clear`` those with nothing to fill.

    Before each write, checks that the store still holds the ``committed`` days it held when
    this run planned its days, plus the ones it wrote (the lock makes it so; this is the last
    line of defence against a writer that ignores it), and that the day has the store's
    variables.
    """

    def __init__(
        self,
        out: Path,
        todo: list[pd.Timestamp],
        attrs: dict,
        committed: int,
        gives_std: bool | None = None,
    ):
        self.out, self.todo, self.attrs, self.committed = out, todo, attrs, committed
        self.finished: dict[pd.Timestamp, xr.Dataset] = {}
        self.written = 0
        self.clear = 0
        self.variables = _store_variables(out)
        self.std = gives_std if self.variables is None else "filled_std" in self.variables
        self.fill_attrs = {} if self.variables is None else _fill_attrs(_store_attrs(out))

    def add(self, day: pd.Timestamp, result: xr.Dataset) -> None:
        """Take the result of ``day`` and write every day that is now next in line."""
        if not result.attrs.get(_NOTHING_TO_FILL):
            if self.std is None:
                self.std = "filled_std" in result
            self.fill_attrs = self.fill_attrs or _fill_attrs(result.attrs)
        self.finished[day] = result
        self.flush()

    def flush(self, final: bool = False) -> None:
        """Write the days next in line; ``final``: the days with nothing to fill too, as they are."""
        while self.written < len(self.todo) and self.todo[self.written] in self.finished:
            day = self.todo[self.written]
            result = self.finished[day]
            clear = bool(result.attrs.get(_NOTHING_TO_FILL))
            if clear and self.std is None and not final:
                return
            if clear:
                result = _as_filled_day(result, bool(self.std), self.fill_attrs)
            result = result.assign_attrs(self.attrs)
            result.attrs.pop(_NOTHING_TO_FILL, None)
            self._write(day, result)
            del self.finished[day]
            self.written += 1
            if clear:
                self.clear += 1
                why = (
                    "no gap (every sea cell observed)"
                    if "sea" not in result or bool(result["sea"].any())
                    else "no open sea in the region (sea ice covers its water)"
                )
                logger.info(
                    "%s: %s: stored as observed%s",
                    day.date(),
                    why,
                    ", filled_std 0" if self.std else "",
                )

    def _write(self, day: pd.Timestamp, ds: xr.Dataset) -> None:
        if (now := _committed_length(self.out)) != self.committed + self.written:
            raise RuntimeError(
                f"{self.out} was changed by another writer while this run was writing it (it "
                f"holds {now} day(s), this run expected {self.committed + self.written}); "
                "nothing more is written: check the store with "
                "eogapfill.pipeline.open_output, and run one writer at a time"
            )
        have = _store_variables(self.out)
        if have is not None and have != set(ds.data_vars):
            raise ValueError(
                f"{day.date()} holds the variables {', '.join(sorted(ds.data_vars))} but "
                f"{self.out} holds {', '.join(sorted(have))}: a store holds one set of "
                f"variables; {self.kept()}. Write these days to another output path"
            )
        try:
            _append_day(ds, self.out)
        except OSError as err:
            reason = f"{err.strerror}: {err.filename}" if err.strerror else str(err)
            raise RuntimeError(
                f"writing {day.date()} to {self.out} failed ({reason}); {self.kept()}: free "
                "disk space or fix the cause, then run the same command again to resume (the "
                "half-written day is rolled back)"
            ) from err

    def kept(self) -> str:
        """What the store keeps, in words (for a message after a failure)."""
        if _is_new(self.out):
            return f"nothing was written ({self.out} was not created)"
        if not self.written:
            return f"this run wrote no day; the {self.committed} day(s) in {self.out} are safe"
        return f"the {self.written} day(s) of this run before it are safe in {self.out}"


def _store_variables(out: Path) -> set[str] | None:
    """The data variables of an existing store (None: no store yet)."""
    if _is_new(out):
        return None
    names = {key.split("/")[0] for key in _zmetadata(out) if key.endswith("/.zarray")}
    return names - {"time", "cell_ids"}


def _fill_attrs(attrs: Mapping[str, Any]) -> dict[str, str]:
    return {key: str(attrs[key]) for key in _FILL_ATTRS if key in attrs}


def _as_filled_day(ds: xr.Dataset, std: bool, fill_attrs: Mapping[str, str]) -> xr.Dataset:
    """A day with nothing to fill as the filled days are stored: ``filled_std`` 0 on the sea
    (NaN off it) when ``std``, and their fill attributes."""
    ds = ds.assign_attrs(fill_attrs)
    if std and "filled_std" not in ds:
        method = ds["SST_filled"].attrs.get("fill_method", "fill")
        zero = xr.zeros_like(ds["SST_filled"]).where(ds["sea"]).astype("float32")
        ds["filled_std"] = zero.assign_attrs(
            units="degC", long_name=f"{method} uncertainty (standard deviation)"
        )
    return ds


def _is_transient(err: BaseException) -> bool:
    """Whether running again may get past ``err``: a fault of the network, a store or the
    machines (``OSError``, ``MemoryError``, a lost worker), not of the inputs."""
    return isinstance(err, OSError | MemoryError) or type(err).__name__ in _TRANSIENT_NAMES


def _failure(day: pd.Timestamp, err: BaseException, writer: _Writer) -> RuntimeError:
    """The error of a run stopped by the failure of ``day``: what is kept, what to do."""
    what = f"filling {day.date()} failed ({type(err).__name__}: {err}); {writer.kept()}"
    if _is_transient(err):
        return RuntimeError(
            f"{what}. If the cause is gone (network, disk, memory), run the same command "
            "again to resume: the finished days are skipped"
        )
    before = (day - pd.Timedelta(days=1)).date()
    return RuntimeError(
        f"{what}. Running the same command again would stop on {day.date()} again: change "
        f"what the message names, or end the run on {before}"
    )
