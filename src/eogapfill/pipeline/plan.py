"""The days of a run: the range asked, the days the source holds, the source resolution,
and which days a store still needs (kept in time order)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from eogapfill.data import open_l3s
from eogapfill.healpix import check_nside
from eogapfill.pipeline.store import _is_new, _new_days, _store_attrs, stored_days

__all__ = ["day_range", "default_resolution", "source_days"]

#: The finest nside filled from the 0.25 degree sample by default; finer ones read 0.1 degree.
_COARSE_SOURCE_MAX_NSIDE = 128


def day_range(
    start: str | np.datetime64 | pd.Timestamp, end: str | np.datetime64 | pd.Timestamp
) -> list[pd.Timestamp]:
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


def default_resolution(nside: int) -> float:
    """The sample's grid spacing, degrees, that gives several points per cell at ``nside``.

    0.25 degree up to nside 128 (cells of 0.46 degree and more), 0.1 degree (the products'
    own grid) from nside 256 (0.23 degree cells, finer than 0.25 degree).

    >>> default_resolution(128), default_resolution(512)
    (0.25, 0.1)
    """
    check_nside(nside)
    return 0.25 if nside <= _COARSE_SOURCE_MAX_NSIDE else 0.1


def _store_resolution(out: Path) -> float | None:
    """The source resolution recorded by an existing store (None when there is none)."""
    if _is_new(out):
        return None
    value = _store_attrs(out).get("resolution_deg")
    return None if value is None else float(value)


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
        hint = (
            " or the real products (source 'cmems', needs the network)"
            if source == "sample"
            else ""
        )
        raise ValueError(
            f"the {source!r} source has no data for {len(missing)} of the days asked "
            f"(first: {missing[0].date()}); it holds {span}: pick days in that range{hint}"
        )


def _plan(days: list[pd.Timestamp], out: Path) -> tuple[list[pd.Timestamp], list[pd.Timestamp]]:
    done = stored_days(out)
    done_set = set(done)
    todo = [d for d in days if d not in done_set]
    new = _new_days(todo, out)  # damaged days are recomputed in place, wherever they lie
    if done and new and new[0] < done[-1]:
        raise ValueError(
            f"{out} already ends on {done[-1].date()}; missing earlier days (first "
            f"{new[0].date()}) cannot be appended after it (time must stay in order): ask for "
            f"days after {done[-1].date()} or write to another output path"
        )
    return todo, [d for d in days if d in done_set]
