"""Score fills on the SOURCE pixels: hide lat/lon pixels under another day's clouds, fill on
HEALPix, read the fill back at each hidden pixel.

The cell-level protocol (:func:`~eogapfill.validate.hide_pixels`) hides whole HEALPix cells.
Real L3 products are finer than most grids a learner can afford, and their clouds cut cells in
parts: here the clouds of another day hide the source pixels themselves, the day is regridded
as it would be with those clouds, and every hidden pixel is scored against the value the
HEALPix map gives at its position (:func:`eogapfill.regrid.to_latlon`). A cell that keeps some
clear pixels stays observed: its hidden pixels are predicted by the mean of the clear ones,
and count as such (``in_observed_cells``), never as filled.

Inputs are lat/lon datasets with ``SST_L3S`` (degC, NaN = no observation) and ``sea`` (bool),
as :func:`eogapfill.preprocess.prepare_l3` and :func:`~eogapfill.preprocess.prepare_day`
give; every score is in degC, on the hidden pixels.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
import xarray as xr

from eogapfill.healpix import Region, with_positions
from eogapfill.regrid import to_healpix, to_latlon
from eogapfill.validate.experiment import default_methods
from eogapfill.validate.probabilistic import crps_ensemble, crps_gaussian, zscore_std

__all__ = [
    "PIXEL_COLUMNS",
    "hide_source_pixels",
    "pixel_scores",
    "pixel_validation",
    "within_cell_variance",
]

#: Columns of :func:`pixel_validation`.
PIXEL_COLUMNS = (
    "method",
    "protocol",
    "pixel_rmse",
    "pixel_bias",
    "pixel_mae",
    "pixel_crps",
    "pixel_zscore_std",
    "pixel_z_above_3",
    "n_pixels",
    "in_observed_cells",
    "cell_rmse",
    "n_cells",
    "seconds",
)


def _cloud_mask(pattern: xr.Dataset | xr.DataArray) -> xr.DataArray:
    if isinstance(pattern, xr.Dataset):
        missing = [v for v in ("SST_L3S", "sea") if v not in pattern]
        if missing:
            raise ValueError(f"the pattern day has no {missing}: pass a prepared day")
        return pattern["sea"] & pattern["SST_L3S"].isnull()
    if pattern.dtype != bool:
        raise ValueError("a cloud pattern DataArray must be boolean (True = cloud)")
    return pattern


def hide_source_pixels(
    day: xr.Dataset, pattern: xr.Dataset | xr.DataArray
) -> tuple[xr.Dataset, xr.DataArray]:
    """Hide the clear sea pixels of ``day`` that are cloudy in ``pattern``.

    Parameters
    ----------
    day : xr.Dataset
        One lat/lon day: ``SST_L3S`` (degC) and ``sea`` on ``(latitude, longitude)``.
    pattern : xr.Dataset or bool xr.DataArray
        Another day on the same grid (its cloudy sea pixels are the clouds), or a cloud mask.

    Returns
    -------
    hidden_day : xr.Dataset
        ``day`` with the hidden pixels set to NaN in ``SST_L3S``.
    hidden : xr.DataArray of bool, ``(latitude, longitude)``
        The hidden pixels; their truth is ``day.SST_L3S`` there.
    """
    if "time" in day["SST_L3S"].dims:
        raise ValueError("pass one day: day.isel(time=i)")
    clouds = _cloud_mask(pattern)
    if "time" in clouds.dims:
        raise ValueError("pass one pattern day: pattern.isel(time=j)")
    try:
        clouds = clouds.reindex_like(day["sea"], method="nearest", tolerance=1e-6)
    except KeyError as err:
        raise ValueError("the pattern is not on the day's lat/lon grid") from err
    clouds = clouds.fillna(False).astype(bool)
    hidden = day["sea"] & day["SST_L3S"].notnull() & clouds
    hidden = hidden.drop_vars([c for c in hidden.coords if c not in hidden.dims]).rename("hidden")
    if not bool(hidden.any()):
        raise ValueError(
            "the pattern hides no clear sea pixel of the day: take a cloudier pattern day"
        )
    return day.assign(SST_L3S=day["SST_L3S"].where(~hidden)), hidden


def _at_pixels(values: xr.DataArray, day: xr.Dataset) -> np.ndarray:
    """A HEALPix map (cells) read at every pixel of ``day`` (nearest cell): ``(lat, lon)``."""
    grid = to_latlon(values, latitude=day["latitude"].values, longitude=day["longitude"].values)
    return np.asarray(grid.values, dtype="float64")


def within_cell_variance(day: xr.Dataset, hp: xr.Dataset) -> float:
    """Variance of the observed pixels about their cell's mean, pooled over the cells (degC**2).

    ``day``: the lat/lon day that was regridded (``SST_L3S``, the pixels a fill sees);
    ``hp``: its HEALPix map. A fill predicts cell means; a pixel differs from its cell's mean
    by this much on average, whatever the fill. Pooled as ``sum(r**2) / (n_pixels -
    n_cells)``; 0 when no cell holds two observed pixels.
    """
    pixels = np.asarray(day["SST_L3S"].values, dtype="float64")
    means = _at_pixels(hp["SST_L3S"], day)
    seen = np.isfinite(pixels) & np.isfinite(means)
    n_cells = int(np.isfinite(np.asarray(hp["SST_L3S"].values, dtype="float64")).sum())
    dof = int(seen.sum()) - n_cells
    if dof <= 0:
        return 0.0
    return float(np.sum((pixels[seen] - means[seen]) ** 2) / dof)


def pixel_scores(
    result: xr.Dataset,
    truth: xr.DataArray,
    hidden: xr.DataArray,
    observed_cells: np.ndarray | None = None,
    within_variance: float = 0.0,
) -> dict[str, float]:
    """Score one fill (a HEALPix result) at the hidden source pixels.

    Parameters
    ----------
    result : xr.Dataset
        A fill's output on ``cells`` with ``cell_ids``: ``filled``, optional ``filled_std``
        and ``members`` (``member``, ``cells``).
    truth : xr.DataArray ``(latitude, longitude)``
        The observed SST before hiding (degC).
    hidden : bool xr.DataArray ``(latitude, longitude)``
        The hidden pixels (:func:`hide_source_pixels`).
    observed_cells : bool array ``(lat, lon)``, optional
        Pixels whose cell kept clear pixels: their count is reported as
        ``in_observed_cells``.
    within_variance : float
        The pixels' variance about their cell's mean (degC**2,
        :func:`within_cell_variance`): a fill gives cell means, and a pixel's predictive
        variance adds this spread to the cell mean's.

    Returns
    -------
    dict
        ``pixel_rmse``, ``pixel_bias``, ``pixel_mae`` (degC); ``pixel_crps`` from the
        members when there are two or more, else from ``(filled, filled_std)``, else the MAE;
        the predictive std of a filled pixel adds the observation noise the fill states
        (``attrs["covariance_nugget"]``, degC**2) and ``within_variance`` to ``filled_std``
        (the noise-free error of the cell mean);
        ``pixel_zscore_std`` and ``pixel_z_above_3``, the share of ``|z| > 3`` (0.27 % for
        a Gaussian; NaN without a std); ``n_pixels`` scored (hidden pixels whose
        cell has a value) and ``n_unscored`` (hidden pixels on cells the grid leaves off the
        sea, e.g. a coastal cell under the sea threshold).
    """
    day = truth.to_dataset(name="SST_L3S")
    mean = _at_pixels(result["filled"], day)
    m = np.asarray(hidden.values, dtype=bool) & np.isfinite(mean)
    if not m.any():
        raise ValueError("no hidden pixel falls on a filled cell: check the grid and the mask")
    t = np.asarray(truth.values, dtype="float64")
    err = mean[m] - t[m]
    out = {
        "pixel_rmse": float(np.sqrt(np.mean(err**2))),
        "pixel_bias": float(np.mean(err)),
        "pixel_mae": float(np.mean(np.abs(err))),
        "pixel_crps": float(np.mean(np.abs(err))),
        "pixel_zscore_std": float("nan"),
        "pixel_z_above_3": float("nan"),
        "n_pixels": int(m.sum()),
        "n_unscored": int(np.asarray(hidden.values).sum() - m.sum()),
        "in_observed_cells": int((m & observed_cells).sum()) if observed_cells is not None else 0,
    }
    flat_m, flat_t = m.ravel(), t.ravel()
    if "filled_std" in result:
        std = _at_pixels(result["filled_std"], day).ravel()
        keep = flat_m & (std > 0)
        # a hidden pixel is an observation: its own noise (the fill's nugget) adds to the
        # error, and so does its spread about its cell's mean
        nugget = float(result.attrs.get("covariance_nugget", 0.0))
        std = np.sqrt(std**2 + nugget + within_variance)
        if keep.any():
            out["pixel_zscore_std"] = zscore_std(mean.ravel(), std, flat_t, keep)
            z = (mean.ravel()[keep] - flat_t[keep]) / std[keep]
            out["pixel_z_above_3"] = float(np.mean(np.abs(z) > 3))
            out["pixel_crps"] = float(
                (
                    crps_gaussian(mean.ravel(), np.where(keep, std, 1.0), flat_t, keep) * keep.sum()
                    + np.abs(mean.ravel() - flat_t)[flat_m & ~keep].sum()
                )
                / flat_m.sum()
            )
    if "members" in result and result.sizes.get("member", 0) >= 2:
        members = np.stack(
            [
                _at_pixels(result["members"].isel(member=k), day).ravel()
                for k in range(result.sizes["member"])
            ]
        )
        out["pixel_crps"] = crps_ensemble(members, flat_t, flat_m)
    return out


def pixel_validation(
    day: xr.Dataset,
    pattern: xr.Dataset | xr.DataArray,
    nside: int,
    methods: Mapping[str, Callable[..., xr.Dataset]] | None = None,
    *,
    region: Region | None = None,
    n_members: int = 4,
    seed: int = 0,
    sea_threshold: float = 0.5,
    progress: bool = True,
) -> pd.DataFrame:
    """Hide a day's source pixels under another day's clouds, fill on HEALPix, score per pixel.

    Parameters
    ----------
    day, pattern : xr.Dataset
        The day to fill and the day whose clouds are borrowed (or a bool cloud mask), on one
        lat/lon grid (:func:`hide_source_pixels`).
    nside : int
        HEALPix resolution of the fills.
    methods : mapping name -> fill(sst, gaps), optional
        Default: the package's HEALPix fills (:func:`~eogapfill.validate.default_methods`,
        the regional ones with a ``region``), ``n_members`` members for the stochastic ones.
    region : (lon0, lon1, lat0, lat1), optional
        Fill on the cells of this box only (a partial grid); its cost scales with the box.
    sea_threshold : float
        Passed to :func:`~eogapfill.regrid.to_healpix`.

    Returns
    -------
    pandas.DataFrame
        One row per method, columns :data:`PIXEL_COLUMNS`; ``cell_rmse`` and ``n_cells`` are
        the cell-level scores of the same fill on the cells that became gaps (all their
        pixels hidden), against the cell means of the clear day; ``protocol`` is what the fill
        records (``"honest"`` for the package's default fills). ``attrs
        ["within_cell_variance"]``: the pixels' spread about their cell means (degC**2,
        :func:`within_cell_variance`), part of every pixel's predictive std.
    """
    from tqdm.auto import tqdm

    hidden_day, hidden = hide_source_pixels(day, pattern)
    kwargs = {"sea_threshold": sea_threshold, "variables": ("SST_L3S",), "region": region}
    clear = to_healpix(day, nside, **kwargs)
    hp = to_healpix(hidden_day, nside, **kwargs)
    gaps = np.asarray(hp["gap"].values, dtype=bool)
    new_gaps = gaps & ~np.asarray(clear["gap"].values, dtype=bool)
    observed = _at_pixels(hp["SST_L3S"], day)
    observed_cells = np.isfinite(observed)
    within = within_cell_variance(hidden_day, hp)
    if methods is None:
        methods = default_methods(n_members, seed, regional=region is not None)
    rows = []
    for name, fill in tqdm(list(methods.items()), desc="fills", disable=not progress):
        start = time.perf_counter()
        result = fill(with_positions(hp), hp["gap"])
        seconds = time.perf_counter() - start
        if "cell_ids" not in result.coords:
            result = result.assign_coords(cell_ids=hp["cell_ids"])
        row = {"method": name, "protocol": result.attrs.get("protocol", "honest")}
        row.update(pixel_scores(result, day["SST_L3S"], hidden, observed_cells, within))
        filled = np.asarray(result["filled"].values, dtype="float64")
        truth = np.asarray(clear["SST_L3S"].values, dtype="float64")
        ok = new_gaps & np.isfinite(truth)
        row["cell_rmse"] = (
            float(np.sqrt(np.mean((filled[ok] - truth[ok]) ** 2))) if ok.any() else np.nan
        )
        row["n_cells"] = int(ok.sum())
        row["seconds"] = seconds
        rows.append(row)
    table = pd.DataFrame(rows, columns=[*PIXEL_COLUMNS, "n_unscored"])
    table.attrs["within_cell_variance"] = within
    return table
