"""Hidden source pixels on a series: single-day and space-time fills scored on one set."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy.ndimage import gaussian_filter

from eogapfill.validate.series import pattern_day, series_summary, series_validation


def persistent_cube(n_days: int = 5, rho: float = 0.9, seed: int = 0) -> xr.Dataset:
    """A 1-degree lat/lon series: eddies (smoothed noise, 3 degrees) that persist from day to
    day with correlation ``rho`` on a latitudinal gradient, 0.05 degC of noise, clouds as
    random discs each day, land in one box."""
    rng = np.random.default_rng(seed)
    lat = np.arange(-59.5, 60.0, 1.0)
    lon = np.arange(-179.5, 180.0, 1.0)
    glon, glat = np.meshgrid(lon, lat)
    land = (np.abs(glon) < 16) & (np.abs(glat) < 16)

    def eddies() -> np.ndarray:
        field = gaussian_filter(rng.standard_normal(glon.shape), 3.0, mode="wrap")
        return field / field.std()

    anomaly = eddies()
    days = []
    for t in range(n_days):
        if t:
            anomaly = rho * anomaly + np.sqrt(1 - rho**2) * eddies()
        sst = 18 + 8 * np.cos(np.radians(glat)) + anomaly + 0.05 * rng.standard_normal(glat.shape)
        clouds = np.zeros(sst.shape, bool)
        for cx, cy in rng.uniform([-180, -60], [180, 60], size=(40, 2)):
            clouds |= np.hypot(((glon - cx + 180) % 360) - 180, glat - cy) < 12
        days.append(np.where(land | clouds, np.nan, sst))
    time = np.datetime64("2024-06-01") + np.arange(n_days) * np.timedelta64(1, "D")
    return xr.Dataset(
        {
            "SST_L3S": (("time", "latitude", "longitude"), np.stack(days), {"units": "degC"}),
            "sea": (("latitude", "longitude"), ~land),
        },
        coords={"time": time, "latitude": lat, "longitude": lon},
    )


@pytest.fixture(scope="module")
def table():
    return series_validation(persistent_cube(), 32, window=2, targets=[2, 3])


def test_every_method_scored_on_the_same_pixels(table) -> None:
    assert set(table["method"]) == {"laplace", "oi", "spacetime_oi", "eof"}
    assert set(table["protocol"]) == {"honest"}
    assert (table.groupby("day")["n_pixels"].nunique() == 1).all()
    assert (table["n_pixels"] > 100).all()
    assert set(table["kind"]) == {"single-day", "space-time"}


def test_window_beats_the_single_day_oi_on_persistent_eddies(table) -> None:
    summary = series_summary(table).set_index("method")
    assert summary.loc["spacetime_oi", "pixel_rmse"] < 0.85 * summary.loc["oi", "pixel_rmse"]
    assert summary["n_days"].eq(2).all()
    assert summary["wins"].sum() == 2


def test_pattern_day_prefers_days_outside_the_window() -> None:
    clear = np.ones((7, 4, 10), bool)
    for d in range(7):
        clear[d, :, d] = False  # each day hides one column of ten: 10 %
    assert pattern_day(clear, 3, window=2) == 0  # 0 and 6 lie outside; 0 comes first
    assert pattern_day(clear, 3, window=3) == 2  # none outside: the nearest inside
    assert pattern_day(clear, 3, window=2, min_hidden=0.5) is None


def test_a_single_day_is_refused() -> None:
    with pytest.raises(ValueError, match="no 'time' dimension"):
        series_validation(persistent_cube(3).isel(time=0), 16)
