"""The moving window of a space-time run: each day filled from the days around it.

A space-time method of the registry (grid ``"healpix-stack"``, :func:`eogapfill.fill.
registry.spacetime_methods`) fills a day from a stack of days (:mod:`eogapfill.stack`).
``run(..., window=K)`` (``eogapfill fill --window K``) gives each day of the range the days
within ``K`` days of it, ``K`` on each side, ``2K + 1`` in all: those the source holds,
beyond the requested range too (the first day of a range reads the ``K`` days before it when
the source has them), fewer where the source starts or ends (:func:`window_days`,
:func:`window_summary`).

The window moves one day at a time. Each day of it is opened, prepared and regridded once
(:func:`eogapfill.pipeline.day.regrid_day`, one Dask task per day) and dropped when no later
day of the run reads it: the run holds the regridded maps of at most ``2K + 1`` days (its
cluster holds those, plus the maps that the fills still running read). Each day is then
filled by one task that stacks its window (:func:`fill_window_day`) and written by the run's
one writer, in date order, with the same variables as a single-day run. A re-run resumes at
the first missing day; its window reads its neighbours again from the source, so that the
store holds the same bytes as an uninterrupted run. The store records ``K`` (attribute
``window``) and refuses a run with another one.
"""

from __future__ import annotations

import bisect
import logging
import math
import numbers
import sys
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd
import xarray as xr

from eogapfill.fill.registry import spacetime_methods
from eogapfill.pipeline.day import _as_observed, _day_output, _thread_share, regrid_day
from eogapfill.pipeline.methods import FillFunction, _entry, _run_options, resolve_method
from eogapfill.stack import stack_days

__all__ = ["check_window", "fill_window_day", "window_days", "window_summary"]

logger = logging.getLogger("eogapfill.pipeline.runner")


def check_window(method: str | FillFunction, window: int | None) -> int | None:
    """The window of a run with ``method``, checked before any work: days on each side.

    A space-time method (:func:`eogapfill.fill.registry.spacetime_methods`) takes an integer
    ``window >= 0``; None gives its registry default (``window`` of its entry, 3 for
    ``spacetime_oi`` and ``eof``); a window of fewer days than the method needs
    (``min_days``: 3 for ``eof``) is refused. A single-day method takes no window (None).

    >>> check_window("spacetime_oi", None), check_window("eof", 2), check_window("laplace", None)
    (3, 2, None)
    >>> check_window("laplace", 3)
    Traceback (most recent call last):
    ...
    ValueError: a window is for the space-time methods (spacetime_oi, eof, foscat_crossday): the laplace fill fills each day on its own; drop the window, or choose one of them
    """
    entry = _entry(method)
    if not entry.spacetime:
        if window is None:
            return None
        raise ValueError(
            f"a window is for the space-time methods ({', '.join(spacetime_methods())}): the "
            f"{entry.name} fill fills each day on its own; drop the window, or choose one of them"
        )
    if window is None:
        return entry.window
    if isinstance(window, bool) or not isinstance(window, numbers.Integral) or window < 0:
        raise ValueError(
            f"the window must be an integer >= 0 (days on each side of the day filled, "
            f"2 * window + 1 days in all), got {window!r}"
        )
    if 2 * window + 1 < entry.min_days:
        least = math.ceil((entry.min_days - 1) / 2)
        raise ValueError(
            f"the {entry.name} fill needs at least {entry.min_days} days in a window, and a "
            f"window of {window} reads {2 * window + 1}: use a window of {least} or more"
        )
    return int(window)


def window_days(day: pd.Timestamp, window: int, have: Sequence[pd.Timestamp]) -> list[pd.Timestamp]:
    """The days of ``day``'s window that the source holds (``have``, sorted), in order.

    >>> have = list(pd.date_range("2024-06-01", "2024-06-10"))
    >>> [d.day for d in window_days(pd.Timestamp("2024-06-02"), 3, have)]
    [1, 2, 3, 4, 5]
    """
    first, last = day - pd.Timedelta(days=window), day + pd.Timedelta(days=window)
    return list(have[bisect.bisect_left(have, first) : bisect.bisect_right(have, last)])


def window_summary(days: Sequence[pd.Timestamp], window: int, have: Sequence[pd.Timestamp]) -> str:
    """What a window of ``window`` days on each side reads for ``days``, in one line: the
    days read outside the range, and where the source cuts the windows short.

    >>> have = list(pd.date_range("2024-06-01", "2024-06-10"))
    >>> window_summary(list(pd.date_range("2024-06-02", "2024-06-04")), 2, have)
    'window 2: each day is filled with the days within 2 days of it (5 days); the windows also read 2024-06-01 and 2024-06-05 to 2024-06-06, outside the range; the source starts on 2024-06-01: 2024-06-02 reads 4 days'
    """
    read = sorted({d for day in days for d in window_days(day, window, have)})
    before = [d for d in read if d < days[0]]
    after = [d for d in read if d > days[-1]]
    words = [
        f"window {window}: each day is filled with the days within {window} "
        f"day{'s' if window != 1 else ''} of it "
        f"({2 * window + 1} days)"
    ]
    outside = [_span(part) for part in (before, after) if part]
    if outside:
        words.append(f"the windows also read {' and '.join(outside)}, outside the range")
    short = [(day, len(window_days(day, window, have))) for day in days]
    short = [(day, n) for day, n in short if n < 2 * window + 1]
    if short:
        ends = []
        if have and days[0] - pd.Timedelta(days=window) < have[0]:
            ends.append(f"starts on {have[0].date()}")
        if have and days[-1] + pd.Timedelta(days=window) > have[-1]:
            ends.append(f"ends on {have[-1].date()}")
        what = " and ".join(ends) or "lacks days"
        listed = ", ".join(f"{day.date()} reads {n} days" for day, n in short[:4])
        more = f" (and {len(short) - 4} more days)" if len(short) > 4 else ""
        words.append(f"the source {what}: {listed}{more}")
    return "; ".join(words)


def _span(days: Sequence[pd.Timestamp]) -> str:
    return str(days[0].date()) if len(days) == 1 else f"{days[0].date()} to {days[-1].date()}"


def _check_windows(
    todo: Sequence[pd.Timestamp],
    window: int,
    have: Sequence[pd.Timestamp],
    method: str | FillFunction,
) -> None:
    """Refuse, before any work, a day whose window holds fewer days than the method needs."""
    entry = _entry(method)
    for day in todo:
        n = len(window_days(day, window, have))
        if n < entry.min_days:
            span = f"{have[0].date()} to {have[-1].date()}" if have else "no day"
            raise ValueError(
                f"the {entry.name} fill needs at least {entry.min_days} days in each window, "
                f"but the window of {day.date()} holds {n} (the source holds {span}): use a "
                "larger window, or start or end the run further from the ends of the source"
            )


class _WindowTasks:
    """Submits each day's fill with its window, each day of a window regridded once.

    ``held`` maps the days whose regridded maps (Dask futures) a later day of the run still
    reads; a day is dropped once the day submitted next does not read it. ``most_held``
    records the most days held at once (never more than ``2 * window + 1``), ``regridded``
    the days regridded.
    """

    def __init__(
        self,
        client: Any,
        todo: Sequence[pd.Timestamp],
        window: int,
        have: Sequence[pd.Timestamp],
        regrid: Mapping[str, Any],
        fill: Mapping[str, Any],
    ):
        self.client, self.todo, self.window, self.have = client, list(todo), window, have
        self.regrid, self.fill = dict(regrid), dict(fill)
        self.held: dict[pd.Timestamp, Any] = {}
        self.most_held = 0
        self.regridded = 0

    def __call__(self, day: pd.Timestamp) -> Any:
        days = window_days(day, self.window, self.have)
        for other in days:
            if other not in self.held:
                self.held[other] = self.client.submit(
                    regrid_day,
                    other,
                    pure=False,
                    key=f"eogapfill-regrid-{other:%Y-%m-%d}-{uuid.uuid4().hex[:8]}",
                    **self.regrid,
                )
                self.regridded += 1
        self.most_held = max(self.most_held, len(self.held))
        if self.most_held > 2 * self.window + 1:  # pragma: no cover - a fault of this class
            raise RuntimeError(f"the window holds {self.most_held} days, more than 2K + 1")
        future = self.client.submit(
            fill_window_day,
            day,
            [self.held[other] for other in days],
            pure=False,
            key=f"eogapfill-day-{day:%Y-%m-%d}-{uuid.uuid4().hex[:8]}",
            **self.fill,
        )
        later = self.todo[bisect.bisect_right(self.todo, day) :]
        first_read = later[0] - pd.Timedelta(days=self.window) if later else None
        for other in list(self.held):  # the fills submitted keep what they read themselves
            if first_read is None or other < first_read:
                del self.held[other]
        return future

    def report(self) -> None:
        logger.info(
            "window %d: %d day(s) regridded, each once; at most %d regridded day(s) held at a "
            "time (2K + 1 = %d)",
            self.window,
            self.regridded,
            self.most_held,
            2 * self.window + 1,
        )


def fill_window_day(
    date: str | pd.Timestamp,
    maps: Sequence[xr.Dataset],
    *,
    method: str | Callable[..., xr.Dataset],
    window: int,
    method_options: Mapping[str, Any] | None = None,
    threads: int | None = None,
    fill: str | Callable[..., xr.Dataset] | None = None,
) -> xr.Dataset:
    """Fill one day from its window; return it ready to be appended to the store.

    The task of a space-time run: a pure function of its arguments.

    Parameters
    ----------
    date
        The day to fill; one of the ``maps``.
    maps
        The regridded days of its window, in time order
        (:func:`eogapfill.pipeline.day.regrid_day`).
    method
        A space-time method of the registry (``"spacetime_oi"``, ``"eof"``) or a function
        ``fill(stack, target, **options)``.
    window
        Days on each side of the day (given to a fill that takes ``window``).
    method_options, threads, fill
        As in :func:`eogapfill.pipeline.day.process_day`.

    Returns
    -------
    xarray.Dataset
        As :func:`eogapfill.pipeline.day.process_day`: the day with a length-1 ``time``; a
        day without gap as observed, without calling the fill.
    """
    threads = threads or _thread_share()
    fill_function = resolve_method(method if fill is None else fill)
    name = method if isinstance(method, str) else getattr(method, "__name__", "custom")
    options = _run_options(fill_function, method_options, threads)
    if "window" in options or _takes(fill_function, "window"):
        options["window"] = window
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    day_stamp = pd.Timestamp(date).floor("D")
    times = [pd.Timestamp(m["time"].values).floor("D") for m in maps]
    if day_stamp not in times:
        raise ValueError(f"{day_stamp.date()} is not one of the days of its window")
    target = times.index(day_stamp)
    hp_day = maps[target]
    if not bool(hp_day["gap"].any()):  # nothing to fill: the day is complete as observed
        return _day_output(hp_day, _as_observed(hp_day, name), day_stamp, name)
    result = fill_function(stack_days(maps), target, **options)
    return _day_output(hp_day, result, day_stamp, name)


def _takes(fill: Callable[..., Any], name: str) -> bool:
    import inspect

    try:
        return name in inspect.signature(fill).parameters
    except (TypeError, ValueError):  # pragma: no cover - a builtin without a signature
        return False
