"""DINEOF: a low-rank series with holes is recovered, with the right number of modes."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from eogapfill.fill.eof import dineof, fill_eof
from eogapfill.healpix import HealpixGrid, healpix_dataset

NSIDE = 16


def low_rank_stack(n_modes: int, n_days: int = 20, seed: int = 0) -> tuple[xr.Dataset, np.ndarray]:
    """A mean map plus ``n_modes`` space-time modes of decreasing amplitude, 0.01 degC of
    noise, 30 % of the sea missing each day (random cells and one moving band), land in a box."""
    rng = np.random.default_rng(seed)
    lon, lat = HealpixGrid(NSIDE).lonlat()
    npix = lon.size
    mean = 18 + 6 * np.cos(np.radians(lat))
    spatial = [
        np.cos(np.radians(lat)) * np.sin(np.radians(lon)),
        np.sin(np.radians(2 * lat)),
        np.cos(np.radians(3 * lon)) * np.cos(np.radians(lat)) ** 2,
    ][:n_modes]
    amplitude = [2.0, 1.2, 0.8][:n_modes]
    temporal = rng.standard_normal((n_modes, n_days))
    truth = mean[None] + sum(
        a * np.outer(c, s) for a, c, s in zip(amplitude, temporal, spatial, strict=True)
    )
    truth = truth + 0.01 * rng.standard_normal(truth.shape)
    land = (lon > 100) & (lon < 140) & (np.abs(lat) < 20)
    band = np.abs(((lon[None] + 180 + 18 * np.arange(n_days)[:, None]) % 360) - 180) < 30
    gaps = ((rng.random((n_days, npix)) < 0.2) | band) & ~land[None]
    sst = np.where(gaps | land[None], np.nan, truth)
    stack = xr.Dataset(
        {
            "SST_L3S": (("time", "cells"), sst, {"units": "degC"}),
            "gap": (("time", "cells"), gaps),
            "sea": (("time", "cells"), np.broadcast_to(~land, gaps.shape).copy()),
        },
        coords={"cell_ids": healpix_dataset({}, NSIDE).cell_ids, "time": np.arange(n_days)},
    )
    return stack, truth


@pytest.mark.parametrize("n_modes", [1, 3])
def test_recovers_low_rank_field_and_its_modes(n_modes: int) -> None:
    stack, truth = low_rank_stack(n_modes)
    out = fill_eof(stack, max_modes=8)
    assert out.attrs["n_modes"] == n_modes
    gaps = stack["gap"].values
    err = out["filled"].values[gaps] - truth[gaps]
    signal = np.std(truth - truth.mean(axis=0), axis=0).mean()
    assert np.sqrt(np.mean(err**2)) < 0.05 * signal
    assert out.attrs["cv_rmse"] < 0.05 * signal


def test_observed_cells_and_land_never_change() -> None:
    stack, _ = low_rank_stack(2)
    out = fill_eof(stack, max_modes=4)
    sst = stack["SST_L3S"].values
    observed = np.isfinite(sst)
    np.testing.assert_array_equal(out["filled"].values[observed], sst[observed])
    land = ~stack["sea"].values
    assert np.isnan(out["filled"].values[land]).all()
    assert np.isfinite(out["filled"].values[stack["gap"].values]).all()
    assert out["filled"].dims == ("time", "cells")


def test_cell_never_observed_is_continued_from_its_neighbours() -> None:
    stack, truth = low_rank_stack(1)
    gaps = stack["gap"].values.copy()
    gaps[:, 100] = True
    stack = stack.assign(gap=stack["gap"].copy(data=gaps), SST_L3S=stack["SST_L3S"].where(~gaps))
    out = fill_eof(stack, max_modes=3)
    assert out.attrs["n_never_observed"] == stack.sizes["time"]
    assert np.isfinite(out["filled"].values[:, 100]).all()


def test_dineof_refuses_bad_input() -> None:
    values = np.ones((2, 10))
    with pytest.raises(ValueError, match="at least 3 days"):
        dineof(values, np.zeros_like(values, bool))
    values = np.ones((5, 10))
    missing = np.zeros_like(values, bool)
    missing[:, 0] = True
    with pytest.raises(ValueError, match="observed on no day"):
        dineof(values, missing)


@pytest.mark.parametrize("shape", [(6, 40), (40, 6)])
def test_truncation_equals_the_svd(shape: tuple[int, int]) -> None:
    from eogapfill.fill.eof import _truncate

    a = np.random.default_rng(1).standard_normal(shape)
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    np.testing.assert_allclose(_truncate(a, 2), (u[:, :2] * s[:2]) @ vt[:2], atol=1e-10)


def test_a_target_day_is_that_day_of_the_whole_fill() -> None:
    """The registry's contract, fill(stack, target): the day of the DINEOF of the stack."""
    stack, _ = low_rank_stack(2, n_days=8)
    whole = fill_eof(stack, max_modes=4)
    day = fill_eof(stack, 3, max_modes=4)
    assert day["filled"].dims == ("cells",) and int(day["time"]) == 3
    np.testing.assert_array_equal(day["filled"].values, whole["filled"].values[3])
    assert day.attrs["n_modes"] == whole.attrs["n_modes"]
    with pytest.raises(ValueError, match=r"target must be a day index in 0\.\.7, got 8"):
        fill_eof(stack, 8)
