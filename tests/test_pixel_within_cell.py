"""Pixel scores of a cell-mean fill: the pixels' spread about their cell's mean is part of a
pixel's predictive std."""

from __future__ import annotations

import healpy as hp
import numpy as np
import xarray as xr

from eogapfill.regrid import to_healpix
from eogapfill.validate import pixel_scores, within_cell_variance


def _day(spread: float, seed: int = 0) -> xr.Dataset:
    """A 0.5 degree day whose pixels scatter by ``spread`` degC about a smooth field."""
    lat = np.arange(-59.75, 60, 0.5)
    lon = np.arange(-179.75, 180, 0.5)
    rng = np.random.default_rng(seed)
    smooth = 15 + 10 * np.cos(np.deg2rad(lat))[:, None] + 0 * lon[None, :]
    sst = (smooth + spread * rng.standard_normal(smooth.shape)).astype("float32")
    dims = ("latitude", "longitude")
    return xr.Dataset(
        {
            "SST_L3S": (dims, sst, {"units": "degC"}),
            "sea": (dims, np.ones(sst.shape, bool)),
        },
        coords={"latitude": lat, "longitude": lon},
    )


def test_within_cell_variance_recovers_the_pixels_scatter() -> None:
    def within(spread: float) -> float:
        day = _day(spread)
        return within_cell_variance(day, to_healpix(day, 16, variables=("SST_L3S",)))

    # without scatter: the smooth field's own change across a 3.7 degree cell
    base = within(0.0)
    assert 0.05 < np.sqrt(base) < 0.2
    for spread in (0.2, 0.5):
        assert abs(np.sqrt(within(spread)) - np.sqrt(spread**2 + base)) < 0.01


def test_a_perfect_cell_mean_is_calibrated_on_pixels_only_with_the_within_spread() -> None:
    day = _day(0.4, seed=1)
    hp_day = to_healpix(day, 16, variables=("SST_L3S",))
    lon2, lat2 = np.meshgrid(day.longitude.values, day.latitude.values)
    cells = hp.ang2pix(16, lon2, lat2, nest=True, lonlat=True)
    hidden = xr.zeros_like(day.SST_L3S, dtype=bool).copy(data=(cells % 7) == 0)
    # a fill that knows every cell mean exactly (its own error 1e-3 degC)
    result = xr.Dataset(
        {
            "filled": hp_day.SST_L3S,
            "filled_std": hp_day.SST_L3S.copy(data=np.full(hp_day.sizes["cells"], 1e-3)),
        }
    )
    alone = pixel_scores(result, day.SST_L3S, hidden)
    within = within_cell_variance(day, hp_day)
    spread = pixel_scores(result, day.SST_L3S, hidden, within_variance=within)
    assert alone["pixel_zscore_std"] > 100  # the cell mean's error alone: far too narrow
    assert 0.9 < spread["pixel_zscore_std"] < 1.1
    assert spread["pixel_crps"] < alone["pixel_crps"]
