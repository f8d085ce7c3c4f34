"""OI error bars: the nugget from the variogram's intercept, calibrated z-scores, the local
variance, and the default covariance when too few cells are observed to fit one."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from eogapfill.fill.kriging import DEFAULT_COVARIANCE, MIN_OBSERVED_FOR_FIT
from eogapfill.fill.oi import (
    EARTH_RADIUS_KM,
    CovarianceModel,
    fill_oi,
    fit_covariance,
    gaussian_random_field,
)
from eogapfill.healpix import HealpixGrid, cell_lonlat, healpix_dataset, region_cells

NSIDE = 64


def _map(values: np.ndarray, nside: int) -> xr.DataArray:
    return healpix_dataset({"sst": values}, nside).sst.assign_attrs(units="degC")


def _clouds(nside: int, n: int, seed: int) -> np.ndarray:
    """Discs of 200 - 700 km at random places: a cloud-like gap pattern."""
    rng = np.random.default_rng(seed)
    xyz = HealpixGrid(nside).vectors()
    centres = rng.normal(size=(n, 3))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    radius = rng.uniform(200.0, 700.0, n) / EARTH_RADIUS_KM
    return (np.arccos(np.clip(xyz @ centres.T, -1, 1)) < radius).any(axis=1)


def _land(nside: int) -> np.ndarray:
    lon, lat = cell_lonlat(nside)
    return ((lon > -40) & (lon < 20) & (np.abs(lat) < 45)) | (lat < -75)


def _scene(amplitude: np.ndarray | float, noise_var: float, nu: float, seed: int) -> dict:
    """A Matérn field (sill 1, 700 km) times ``amplitude`` around a zonal large scale, seen
    with white measurement noise of variance ``noise_var`` (degC**2) outside land and clouds.
    ``truth`` is the noise-free field."""
    model = CovarianceModel(sill=1.0, length_scale_km=700.0, nugget=0.0, nu=nu)
    lat = cell_lonlat(NSIDE)[1]
    truth = (
        18
        + 6 * np.cos(np.radians(lat))
        + amplitude * gaussian_random_field(model, NSIDE, seed=seed)[0]
    )
    noise = np.random.default_rng(seed).normal(0.0, np.sqrt(noise_var), truth.size)
    land = _land(NSIDE)
    gaps = _clouds(NSIDE, 100, seed) & ~land
    sst = _map(np.where(land | gaps, np.nan, truth + noise), NSIDE)
    return {"truth": truth, "gaps": gaps, "sst": sst, "lat": lat}


def _z(out: xr.Dataset, truth: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return (out.filled.values[mask] - truth[mask]) / out.filled_std.values[mask]


@pytest.mark.parametrize("nu", [0.5, 1.5])
def test_the_nugget_is_the_noise_variance(nu: float) -> None:
    noise_var = 0.2
    scene = _scene(1.0, noise_var, nu, seed=5)
    model, info = fit_covariance(scene["sst"], scene["gaps"], nu=nu, lmax=4)
    assert model.nugget == pytest.approx(noise_var, rel=0.3)
    assert info["variogram_nugget"] == model.nugget
    # without noise the intercept is small: the field's own variance finer than a cell
    clean, _ = fit_covariance(_scene(1.0, 0.0, nu, seed=5)["sst"], scene["gaps"], nu=nu, lmax=4)
    assert clean.nugget < 0.2 * noise_var
    assert model.nugget - clean.nugget == pytest.approx(noise_var, rel=0.3)


@pytest.mark.parametrize(("nu", "noise_var"), [(0.5, 0.0), (0.5, 0.1), (1.5, 0.1)])
def test_zscores_of_a_gaussian_field_are_calibrated(nu: float, noise_var: float) -> None:
    scene = _scene(1.0, noise_var, nu, seed=3)
    out = fill_oi(scene["sst"], scene["gaps"], nu=nu, lmax=4)
    z = _z(out, scene["truth"], scene["gaps"])
    assert 0.85 <= np.std(z) <= 1.15
    assert np.mean(np.abs(z) > 3) < 0.02
    assert out.attrs["calibrated"] == 1 and out.attrs["error_n_hidden"] >= 100
    # the observed cells keep their (noisy) values: the nugget only shapes the weights
    observed = np.isfinite(scene["sst"].values)
    np.testing.assert_array_equal(out.filled.values[observed], scene["sst"].values[observed])


def test_the_local_variance_calibrates_a_field_calm_in_one_hemisphere() -> None:
    """Variance 16 times larger south of the equator: one stationary covariance gives error
    bars 3 times too wide in the north and too narrow in the south; the local variance of the
    observed anomalies puts both right."""
    lat = _map(np.zeros(12 * NSIDE**2), NSIDE)
    lat = cell_lonlat(NSIDE)[1]
    scene = _scene(np.where(lat > 0, 0.4, 1.6), 0.0, 0.5, seed=7)
    north, south = scene["gaps"] & (lat > 10), scene["gaps"] & (lat < -10)
    plain = fill_oi(scene["sst"], scene["gaps"], lmax=4, calibrate=False)
    assert np.std(_z(plain, scene["truth"], north)) < 0.5
    assert np.std(_z(plain, scene["truth"], south)) > 1.25
    out = fill_oi(scene["sst"], scene["gaps"], lmax=4)
    for mask in (north, south):
        assert 0.85 <= np.std(_z(out, scene["truth"], mask)) <= 1.15
    # the mean is the same kriging: calibration only changes the error bars
    np.testing.assert_array_equal(out.filled.values, plain.filled.values)


def test_the_calibration_never_reads_the_gap_cells() -> None:
    scene = _scene(1.0, 0.05, 0.5, seed=2)
    gaps = scene["gaps"]
    seen = fill_oi(scene["sst"], gaps, lmax=4, n_members=2, seed=0)
    values = np.where(gaps, scene["truth"], scene["sst"].values)  # the truth under the clouds
    told = fill_oi(_map(values, NSIDE), gaps, lmax=4, n_members=2, seed=0)
    for var in ("filled", "filled_std", "members"):
        np.testing.assert_array_equal(told[var].values, seen[var].values)


def test_members_spread_like_the_calibrated_std() -> None:
    scene = _scene(np.where(cell_lonlat(NSIDE)[1] > 0, 0.5, 1.5), 0.05, 0.5, seed=4)
    gaps = scene["gaps"]
    out = fill_oi(scene["sst"], gaps, lmax=4, n_members=24, seed=1)
    spread = np.sqrt(np.mean(np.var(out.members.values[:, gaps], axis=0, ddof=1)))
    predicted = np.sqrt(np.mean(out.filled_std.values[gaps] ** 2))
    assert 0.85 < spread / predicted < 1.15


def test_too_few_observations_fall_back_to_the_default_covariance_with_a_warning() -> None:
    """A small box at nside 64 with a few clear cells (the regional case of 2024-06-10)."""
    nside = 64
    grid = HealpixGrid(nside, cell_ids=region_cells(nside, (-65.0, -60.0, 25.0, 30.0)))
    lon, lat = grid.lonlat()
    truth = 24.0 - 0.3 * (lat - 27.5) + 0.2 * np.sin(np.radians(lon) * 40)
    observed = np.zeros(grid.npix, bool)
    observed[np.random.default_rng(0).choice(grid.npix, 12, replace=False)] = True
    assert observed.sum() < MIN_OBSERVED_FOR_FIT
    day = healpix_dataset({"SST_L3S": np.where(observed, truth, np.nan), "gap": ~observed}, grid)
    day["SST_L3S"].attrs["units"] = "degC"
    with pytest.warns(UserWarning, match=r"12 observed cell\(s\) are too few.*default covariance"):
        out = fill_oi(day, n_members=3, seed=0)
    assert out.attrs["covariance_default"] == 1
    assert out.attrs["covariance_sill"] == DEFAULT_COVARIANCE.sill
    filled, std = out.filled.values, out.filled_std.values
    np.testing.assert_array_equal(filled[observed], truth[observed])
    gaps = ~observed
    seen = truth[observed]
    assert np.isfinite(filled[gaps]).all() and (std[gaps] > 0).all()
    assert seen.min() - 0.5 <= filled[gaps].min() and filled[gaps].max() <= seen.max() + 0.5
    members = out.members.values[:, gaps]
    assert np.isfinite(members).all()
    assert seen.min() - 6.0 < members.min() and members.max() < seen.max() + 6.0
