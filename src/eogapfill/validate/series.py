"""Hidden source pixels on a series of days: single-day and space-time fills scored alike.

For each target day of a prepared lat/lon cube, the clear sea pixels under another day's
clouds are hidden (:func:`~eogapfill.validate.hide_source_pixels`); every other day keeps its
own clouds and its own clear sky. The cube is regridded once, day by day
(:func:`eogapfill.stack.healpix_stack`), the target day again with its pixels hidden. The
single-day fills see the target day only; the space-time fills see the stack (the window of
days around the target, or the whole series for the EOF fill). Each hidden pixel is scored
against the value the filled map gives at its position (:func:`~eogapfill.validate.
pixel_scores`), so every method is judged on the same pixels, in degC, honestly: no fill sees
a hidden pixel.

The pattern day is taken outside the space-time window where it can be (the nearest such
day whose clouds hide between ``min_hidden`` and ``max_hidden`` of the target's clear
pixels), then inside it. Inside the window the pattern day is cloudy on every hidden pixel by
construction, which would hide from the space-time fills the day that would have helped most.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial

import numpy as np
import pandas as pd
import xarray as xr

from eogapfill.healpix import Region
from eogapfill.regrid import to_healpix
from eogapfill.stack import healpix_stack
from eogapfill.validate.pixels import hide_source_pixels, pixel_scores

__all__ = [
    "SERIES_COLUMNS",
    "default_series_methods",
    "pattern_day",
    "series_summary",
    "series_validation",
]

#: Columns of :func:`series_validation`.
SERIES_COLUMNS = (
    "day",
    "pattern_day",
    "method",
    "kind",
    "protocol",
    "pixel_rmse",
    "pixel_bias",
    "pixel_crps",
    "n_pixels",
    "seconds",
)

SingleDayFill = Callable[[xr.DataArray, xr.DataArray], xr.Dataset]
SpaceTimeFill = Callable[[xr.Dataset, int], xr.Dataset]


def _eof_day(stack: xr.Dataset, target: int, **options: object) -> xr.Dataset:
    """The target day of the EOF fill of the whole stack."""
    from eogapfill.fill.eof import fill_eof

    return fill_eof(stack, **options).isel(time=target)  # type: ignore[arg-type]


def default_series_methods(
    window: int = 3,
) -> tuple[dict[str, SingleDayFill], dict[str, SpaceTimeFill]]:
    """The fills compared by :func:`series_validation`.

    Single-day: ``laplace`` and ``oi`` (:func:`~eogapfill.fill.laplace.fill_laplace`,
    :func:`~eogapfill.fill.oi.fill_oi`). Space-time: ``spacetime_oi``
    (:func:`~eogapfill.fill.spacetime.fill_spacetime_oi` with ``window``) and ``eof``
    (:func:`~eogapfill.fill.eof.fill_eof` of the whole series).
    """
    from eogapfill.fill.laplace import fill_laplace
    from eogapfill.fill.oi import fill_oi
    from eogapfill.fill.spacetime import fill_spacetime_oi

    single: dict[str, SingleDayFill] = {"laplace": fill_laplace, "oi": fill_oi}
    spacetime: dict[str, SpaceTimeFill] = {
        "spacetime_oi": partial(fill_spacetime_oi, window=window),
        "eof": _eof_day,
    }
    return single, spacetime


def pattern_day(
    clear: np.ndarray,
    target: int,
    window: int,
    min_hidden: float = 0.10,
    max_hidden: float = 0.60,
) -> int | None:
    """The day whose clouds hide the target's clear pixels (module docstring).

    Parameters
    ----------
    clear : numpy.ndarray of bool, shape ``(time, lat, lon)``
        Clear sea pixels of each day.
    target, window : int
        The target day and the half-width of the space-time window (days).
    min_hidden, max_hidden : float
        Bounds of the fraction of the target's clear pixels that the pattern may hide.

    Returns
    -------
    int or None
        The pattern day's index; None when no day hides a fraction within the bounds.
    """
    n_days = clear.shape[0]
    n_clear = clear[target].sum()
    if n_clear == 0:
        return None
    others = sorted((d for d in range(n_days) if d != target), key=lambda d: abs(d - target))
    outside = [d for d in others if abs(d - target) > window]
    inside = [d for d in others if abs(d - target) <= window]
    for day in outside + inside:
        hidden = (clear[target] & ~clear[day]).sum() / n_clear
        if min_hidden <= hidden <= max_hidden:
            return day
    return None


def _with_day(stack: xr.Dataset, target: int, day: xr.Dataset) -> xr.Dataset:
    """The stack with the target day replaced by a regridded ``day``."""
    out = stack.copy(deep=False)
    for name in ("SST_L3S", "gap", "sea"):
        values = stack[name].values.copy()
        values[target] = day[name].values
        out[name] = stack[name].copy(data=values)
    return out


def _score(
    result: xr.Dataset, hp_day: xr.Dataset, truth: xr.DataArray, hidden: xr.DataArray
) -> dict[str, float]:
    if "cell_ids" not in result.coords:
        result = result.assign_coords(cell_ids=hp_day["cell_ids"])
    return pixel_scores(result, truth, hidden)


def series_validation(
    cube: xr.Dataset,
    nside: int,
    *,
    region: Region | None = None,
    window: int = 3,
    targets: Sequence[int] | None = None,
    single_day: Mapping[str, SingleDayFill] | None = None,
    spacetime: Mapping[str, SpaceTimeFill] | None = None,
    min_hidden: float = 0.10,
    max_hidden: float = 0.60,
    sea_threshold: float = 0.5,
    progress: bool = False,
) -> pd.DataFrame:
    """Score single-day and space-time fills on hidden source pixels, day by day.

    Parameters
    ----------
    cube : xarray.Dataset
        ``SST_L3S`` (degC) on ``(time, latitude, longitude)`` and ``sea``, as
        :func:`eogapfill.preprocess.prepare_l3` gives; loaded in memory.
    nside : int
        HEALPix resolution of the fills.
    region : (lon0, lon1, lat0, lat1), optional
        Fill on the cells of this box only.
    window : int
        Half-width (days) of the window of the default space-time OI and of the choice of
        the pattern day (module docstring).
    targets : sequence of int, optional
        The days to fill (default: every day with a pattern day).
    single_day, spacetime : mapping, optional
        ``name -> fill(sst, gaps)`` and ``name -> fill(stack, target)`` (the target day's
        result on ``cells``); default :func:`default_series_methods`.
    min_hidden, max_hidden : float
        Bounds of the fraction of a target's clear pixels that its pattern day hides.
    sea_threshold : float
        Passed to the regridding.

    Returns
    -------
    pandas.DataFrame
        One row per (day, method), columns :data:`SERIES_COLUMNS`: ``day`` and
        ``pattern_day`` (dates, or indices without a time coordinate), ``kind``
        (``"single-day"`` or ``"space-time"``), ``protocol`` (what the fill records), the
        pixel scores (degC) and the fill's ``seconds``. :func:`series_summary` pools the days.
    """
    if "time" not in cube["SST_L3S"].dims:
        raise ValueError("series_validation: the cube has no 'time' dimension; pass a series")
    defaults = default_series_methods(window)
    single_day = defaults[0] if single_day is None else dict(single_day)
    spacetime = defaults[1] if spacetime is None else dict(spacetime)
    kwargs = {"sea_threshold": sea_threshold, "region": region}
    stack = healpix_stack(cube, nside, **kwargs)  # type: ignore[arg-type]
    clear = np.asarray(cube["SST_L3S"].notnull() & cube["sea"], dtype=bool)
    names = np.asarray(cube["time"].values) if "time" in cube.coords else None
    days = range(cube.sizes["time"]) if targets is None else targets
    rows = []
    for target in days:
        pattern = pattern_day(clear, target, window, min_hidden, max_hidden)
        if pattern is None:
            continue
        day = cube.isel(time=target)
        hidden_day, hidden = hide_source_pixels(day, cube.isel(time=pattern))
        hp_day = to_healpix(hidden_day, nside, variables=("SST_L3S",), **kwargs)  # type: ignore[arg-type]
        if not hp_day["gap"].values.any():
            continue
        hidden_stack = _with_day(stack, target, hp_day)
        label = str(names[target])[:10] if names is not None else target
        label_pattern = str(names[pattern])[:10] if names is not None else pattern
        runs: list[tuple[str, str, Callable[[], xr.Dataset]]] = [
            (name, "single-day", partial(fill, hp_day["SST_L3S"], hp_day["gap"]))
            for name, fill in single_day.items()
        ]
        runs += [
            (name, "space-time", partial(fill, hidden_stack, target))
            for name, fill in spacetime.items()
        ]
        for name, kind, run in runs:
            if progress:
                print(f"{label} {name}", flush=True)
            start = time.perf_counter()
            result = run()
            seconds = time.perf_counter() - start
            scores = _score(result, hp_day, day["SST_L3S"], hidden)
            rows.append(
                {
                    "day": label,
                    "pattern_day": label_pattern,
                    "method": name,
                    "kind": kind,
                    "protocol": result.attrs.get("protocol", "honest"),
                    **{k: scores[k] for k in ("pixel_rmse", "pixel_bias", "pixel_crps")},
                    "n_pixels": int(scores["n_pixels"]),
                    "seconds": seconds,
                }
            )
    if not rows:
        raise ValueError(
            "series_validation: no target day has a pattern day that hides between "
            f"{min_hidden:.0%} and {max_hidden:.0%} of its clear pixels; widen the bounds"
        )
    return pd.DataFrame(rows, columns=list(SERIES_COLUMNS))


def series_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Pool the days of :func:`series_validation` per method.

    Returns one row per method: ``pixel_rmse`` (the root of the pixel-weighted mean squared
    error over all days), ``pixel_bias`` and ``pixel_crps`` (pixel-weighted means), ``n_pixels``
    and ``n_days`` (totals), ``seconds_per_day``, and ``wins`` (days on which the method has
    the smallest RMSE).
    """
    best = table.loc[table.groupby("day")["pixel_rmse"].idxmin(), "method"].value_counts()
    rows = []
    for (method, kind), part in table.groupby(["method", "kind"], sort=False):
        w = part["n_pixels"].to_numpy(dtype="float64")
        rows.append(
            {
                "method": method,
                "kind": kind,
                "pixel_rmse": float(np.sqrt(np.sum(w * part["pixel_rmse"] ** 2) / w.sum())),
                "pixel_bias": float(np.sum(w * part["pixel_bias"]) / w.sum()),
                "pixel_crps": float(np.sum(w * part["pixel_crps"]) / w.sum()),
                "n_pixels": int(w.sum()),
                "n_days": int(part["day"].nunique()),
                "seconds_per_day": float(part["seconds"].mean()),
                "wins": int(best.get(method, 0)),
            }
        )
    return pd.DataFrame(rows)
