"""One row of scores per fill (:func:`score_fill`) and the tables made of them."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from eogapfill.healpix import HealpixGrid, grid_of
from eogapfill.validate.inputs import ArrayLike, GridLike, checked_grid, checked_pair, map_of
from eogapfill.validate.probabilistic import (
    crps_ensemble,
    crps_gaussian,
    members_array,
    spread_skill,
    spread_skill_gaussian,
    zscore_std,
)
from eogapfill.validate.scores import rmse, skill
from eogapfill.validate.texture import (
    common_large_scale,
    gradient_histogram_distance,
    neighbour_variance_ratio,
    small_scale_power_ratio,
)

__all__ = ["COLUMNS", "PROTOCOLS", "markdown_table", "score_fill"]

#: Where a fill's reference information came from (the ``protocol`` column of every score).
PROTOCOLS = ("honest", "previous-day", "oracle")

#: The columns of :func:`compare_methods`, in order.
COLUMNS = (
    "method",
    "protocol",
    "n_hidden",
    "rmse",
    "bias",
    "mae",
    "mu",
    "small_scale_ratio",
    "neighbour_var_ratio",
    "grad_hist_distance",
    "crps",
    "crps_from",
    "spread_skill",
    "zscore_std",
    "member_rmse",
    "member_small_scale_ratio",
    "member_neighbour_var_ratio",
    "member_grad_hist_distance",
    "member_crps",
    "member_spread_skill",
    "seconds",
)


def _texture(
    x: np.ndarray, truth: np.ndarray, mask: np.ndarray, nside: HealpixGrid, large: np.ndarray
) -> tuple[float, float, float]:
    return (
        small_scale_power_ratio(x, truth, mask, nside, large_scale=large),
        neighbour_variance_ratio(x, truth, mask, nside),
        gradient_histogram_distance(x, truth, mask, nside),
    )


def score_fill(
    result: xr.Dataset,
    truth: ArrayLike,
    hidden_mask: ArrayLike,
    *,
    nside: GridLike,
    large_scale: ArrayLike | float | None = None,
    method: str = "fill",
    protocol: Literal["honest", "previous-day", "oracle"] | None = None,
    seconds: float | None = None,
) -> dict[str, object]:
    """Score one fill on the hidden cells: one row of :func:`compare_methods`.

    Parameters
    ----------
    result : xr.Dataset
        A fill's output: ``filled`` (cells), optionally ``filled_std`` and ``members``.
    truth : array or DataArray (npix,)
        The truth, finite on the hidden cells: the day's observed SST before hiding.
    hidden_mask : bool array or DataArray (npix,)
        The withheld cells (from :func:`hide_pixels`).
    nside : int or HealpixGrid
        HEALPix nside of the maps (checked), or their grid. A regional map needs its grid
        (:func:`eogapfill.healpix.grid_of`) unless ``result`` carries its ``cell_ids``; on a
        region ``small_scale_ratio`` is the ratio of structure functions (see
        :func:`small_scale_power_ratio`) and the texture uses only in-region neighbours.
    large_scale : array (npix,), optional
        Common large-scale map for the spectra; None: the ``l <= 15`` fit of the truth's
        finite cells off the mask (with the observed SST as truth: exactly the cells the fill
        saw).
    method : str
        Label of the row.
    protocol : {"honest", "previous-day", "oracle"}, optional
        Where the fill's reference information came from (:data:`PROTOCOLS`). None: the
        protocol the fill recorded in ``result.attrs["protocol"]`` (foscat does), else
        ``"honest"``. A label may say that the fill saw more than it records (an
        ``"honest"`` fill given another day's statistics by its caller is ``"previous-day"``),
        never less: labelling an ``"oracle"`` fill ``"honest"`` raises.
    seconds : float, optional
        Wall time of the fill.

    Returns
    -------
    dict
        Keys :data:`COLUMNS`. ``rmse``, ``bias``, ``mae`` in degC; ``mu`` (:func:`skill`);
        texture ratios of ``filled`` (1 = like the truth; distance 0 = like the truth).
        ``crps`` (degC) is from the Gaussian ``(filled, filled_std)`` when the fill gives a
        std (``crps_from="gaussian"``), else from ``members`` (``"members"``), else the CRPS
        of a point forecast, which equals the MAE (``"point"``); ``spread_skill`` likewise
        (NaN for a point forecast, which states no uncertainty); ``zscore_std`` needs a std.
        ``member_*`` columns are means over the members (NaN without members): a stochastic
        fill's texture is judged on its members, not on their mean. ``member_crps`` and
        ``member_spread_skill`` come from the members alone (two or more), even when the fill
        also gives a std: the fair comparison of ensembles of the same size.
    """
    if not isinstance(result, xr.Dataset) or "filled" not in result:
        raise ValueError(f"{method}: the result must be a fill's Dataset with a 'filled' variable")
    recorded = result.attrs.get("protocol")
    if protocol is None:
        protocol = recorded or "honest"
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    rank = {name: i for i, name in enumerate(PROTOCOLS)}
    if recorded is not None and rank[protocol] < rank.get(recorded, len(PROTOCOLS)):
        raise ValueError(
            f"{method}: labelled {protocol!r} but the fill records protocol {recorded!r} "
            "(attrs['protocol']): a score must carry the protocol its fill used"
        )
    filled, t, m = checked_pair(result["filled"], truth, hidden_mask)
    grid = checked_grid(nside, t.size, result["filled"], truth)
    if "cell_ids" in result.coords:
        theirs = grid_of(result)
        if theirs.nside != grid.nside:
            raise ValueError(f"{method}: the result is on nside {theirs.nside}, not {grid.nside}")
        if theirs != grid:
            raise ValueError(
                f"{method}: the result's cells are not those of the grid scored on (another "
                "region?): score a fill of the same day"
            )
    large = common_large_scale(large_scale, t, m, grid)
    err = filled[m] - t[m]
    nan = float("nan")
    row: dict[str, object] = {
        "method": method,
        "protocol": protocol,
        "n_hidden": int(m.sum()),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "bias": float(np.mean(err)),
        "mae": float(np.mean(np.abs(err))),
        "mu": skill(filled, t, m),
    }
    (row["small_scale_ratio"], row["neighbour_var_ratio"], row["grad_hist_distance"]) = _texture(
        filled, t, m, grid, large
    )
    row.update(
        crps=row["mae"],
        crps_from="point",
        spread_skill=nan,
        zscore_std=nan,
        member_rmse=nan,
        member_small_scale_ratio=nan,
        member_neighbour_var_ratio=nan,
        member_grad_hist_distance=nan,
        member_crps=nan,
        member_spread_skill=nan,
    )
    if "members" in result:
        ens = members_array(result["members"], t.size)
        row["member_rmse"] = float(np.mean([rmse(e, t, m) for e in ens]))
        textures = np.array([_texture(e, t, m, grid, large) for e in ens])
        (
            row["member_small_scale_ratio"],
            row["member_neighbour_var_ratio"],
            row["member_grad_hist_distance"],
        ) = (float(v) for v in textures.mean(axis=0))
        if ens.shape[0] >= 2:
            row["crps"] = row["member_crps"] = crps_ensemble(ens, t, m)
            row["crps_from"] = "members"
            row["spread_skill"] = row["member_spread_skill"] = spread_skill(ens, t, m)
    if "filled_std" in result:
        std = result["filled_std"]
        row["crps"] = crps_gaussian(filled, std, t, m)
        row["crps_from"] = "gaussian"
        row["spread_skill"] = spread_skill_gaussian(filled, std, t, m)
        if (map_of(std, "filled_std", t.size)[m] > 0).all():
            row["zscore_std"] = zscore_std(filled, std, t, m)
    row["seconds"] = nan if seconds is None else float(seconds)
    return {name: row[name] for name in COLUMNS}


def markdown_table(table: pd.DataFrame, digits: int = 3) -> str:
    """A pipe table (GitHub markdown) of a data frame, floats rounded to ``digits``.

    >>> print(markdown_table(pd.DataFrame({"method": ["alm"], "rmse": [0.81234]})), end="")
    | method | rmse |
    | --- | --- |
    | alm | 0.812 |
    """

    def cell(value: Any) -> str:
        if isinstance(value, float | np.floating):
            return "" if np.isnan(value) else f"{value:.{digits}f}"
        return str(value).replace("|", "\\|")

    lines = [
        "| " + " | ".join(map(str, table.columns)) + " |",
        "| " + " | ".join("---" for _ in table.columns) + " |",
    ]
    lines += [
        "| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)
    ]
    return "\n".join(lines) + "\n"
