"""Optimal interpolation: covariance model, random fields, known-covariance recovery, members."""

from __future__ import annotations

import healpy as hp
import numpy as np
import pytest
import xarray as xr

from eogapfill.fill.oi import (
    EARTH_RADIUS_KM,
    CovarianceModel,
    fill_oi,
    fit_covariance,
    gaussian_random_field,
)
from eogapfill.healpix import HealpixGrid, cell_lonlat, healpix_dataset


def _map(values: np.ndarray, nside: int) -> xr.DataArray:
    return healpix_dataset({"sst": values}, nside).sst.assign_attrs(units="degC")


def _clouds(nside: int, n: int, radius_km: tuple[float, float], seed: int) -> np.ndarray:
    """Discs of random centres and radii: a cloud-like gap pattern."""
    rng = np.random.default_rng(seed)
    xyz = np.stack(hp.pix2vec(nside, np.arange(12 * nside**2), nest=True), axis=1)
    centres = rng.normal(size=(n, 3))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    radius = rng.uniform(*radius_km, n) / EARTH_RADIUS_KM
    return (np.arccos(np.clip(xyz @ centres.T, -1, 1)) < radius).any(axis=1)


def _land(nside: int) -> np.ndarray:
    lon, lat = cell_lonlat(nside)
    return ((lon > -40) & (lon < 20) & (np.abs(lat) < 45)) | (lat < -75)


@pytest.fixture(scope="module")
def known() -> dict:
    """A Gaussian field of known Matérn covariance at nside 64, with land and clouds."""
    nside = 64
    model = CovarianceModel(sill=1.0, length_scale_km=500.0, nugget=0.01, nu=1.5)
    field = gaussian_random_field(model, nside, seed=11)[0]
    lat = cell_lonlat(nside)[1]
    truth = 18 + 6 * np.cos(np.radians(lat)) + field
    land = _land(nside)
    gaps = _clouds(nside, 150, (200, 700), seed=11) & ~land
    sst = _map(np.where(land | gaps, np.nan, truth), nside)
    return {"nside": nside, "model": model, "truth": truth, "land": land, "gaps": gaps, "sst": sst}


@pytest.fixture(scope="module")
def small() -> dict:
    """A small scene at nside 32 for the contract, the members and the errors."""
    nside = 32
    model = CovarianceModel(sill=0.5, length_scale_km=800.0, nugget=0.005, nu=0.5)
    lat = cell_lonlat(nside)[1]
    truth = 15 + 8 * np.cos(np.radians(lat)) + gaussian_random_field(model, nside, seed=3)[0]
    land = _land(nside)
    gaps = _clouds(nside, 60, (300, 900), seed=3) & ~land
    values = np.where(land, np.nan, truth)  # gap cells hold values that the fill must ignore
    return {
        "nside": nside,
        "model": model,
        "truth": truth,
        "land": land,
        "gaps": gaps,
        "sst": _map(values, nside),
    }


def test_known_covariance_is_recovered(known: dict) -> None:
    model, info = fit_covariance(known["sst"], known["gaps"], nu=1.5, lmax=4)
    assert model.length_scale_km == pytest.approx(known["model"].length_scale_km, rel=0.2)
    assert model.variance == pytest.approx(known["model"].variance, rel=0.25)
    assert 0.8 < info["cv_mean_z2"] < 1.2


def test_gap_errors_match_the_predicted_std(known: dict) -> None:
    out = fill_oi(known["sst"], known["gaps"], covariance=known["model"], lmax=4)
    gaps = known["gaps"]
    error = out.filled.values[gaps] - known["truth"][gaps]
    rmse = np.sqrt(np.mean(error**2))
    predicted = np.sqrt(np.mean(out.filled_std.values[gaps] ** 2))
    assert 0.8 < rmse / predicted < 1.2
    # and kriging beats the large-scale fit alone by far
    from eogapfill.fill.alm import fill_alm

    smooth = fill_alm(known["sst"], gaps, lmax=4).filled.values[gaps]
    assert rmse < 0.7 * np.sqrt(np.mean((smooth - known["truth"][gaps]) ** 2))


def test_fitted_fill_is_calibrated(small: dict) -> None:
    out = fill_oi(small["sst"], small["gaps"], lmax=4)
    gaps = small["gaps"]
    z = (out.filled.values[gaps] - small["truth"][gaps]) / out.filled_std.values[gaps]
    assert 0.7 < np.std(z) < 1.3
    assert out.attrs["covariance"] == "fitted"
    assert out.attrs["covariance_length_scale_km"] > 0


def test_observed_bit_identical_and_land_untouched(small: dict) -> None:
    out = fill_oi(small["sst"], small["gaps"], covariance=small["model"])
    observed = ~small["land"] & ~small["gaps"]
    np.testing.assert_array_equal(out.filled.values[observed], small["sst"].values[observed])
    assert np.isnan(out.filled.values[small["land"]]).all()
    assert np.isfinite(out.filled.values[small["gaps"]]).all()
    assert (out.filled_std.values[small["gaps"]] > 0).all()
    assert (out.filled_std.values[~small["gaps"]] == 0).all()
    assert out.attrs["fill_method"] == "oi"


def test_members_reproduce_observations_and_spread_like_the_std(small: dict) -> None:
    out = fill_oi(small["sst"], small["gaps"], covariance=small["model"], n_members=12, seed=1)
    members = out.members.values
    observed = ~small["land"] & ~small["gaps"]
    np.testing.assert_array_equal(
        members[:, observed], np.broadcast_to(small["sst"].values[observed], (12, observed.sum()))
    )
    assert np.isnan(members[:, small["land"]]).all()
    gaps = small["gaps"]
    spread = np.sqrt(np.mean(np.var(members[:, gaps], axis=0, ddof=1)))
    predicted = np.sqrt(np.mean(out.filled_std.values[gaps] ** 2))
    assert 0.8 < spread / predicted < 1.2
    # members scatter around the kriging mean, not around something else
    assert abs(np.mean(members[:, gaps] - out.filled.values[gaps])) < 0.1 * predicted


def test_members_are_seeded_and_leave_the_mean_alone(small: dict) -> None:
    kw = {"covariance": small["model"], "n_members": 2}
    a = fill_oi(small["sst"], small["gaps"], seed=7, **kw)
    b = fill_oi(small["sst"], small["gaps"], seed=7, **kw)
    c = fill_oi(small["sst"], small["gaps"], seed=8, **kw)
    np.testing.assert_array_equal(a.members.values, b.members.values)
    assert not np.allclose(a.members.values[:, small["gaps"]], c.members.values[:, small["gaps"]])
    np.testing.assert_array_equal(a.filled.values, c.filled.values)


def test_radius_limits_the_neighbours(small: dict) -> None:
    wide = fill_oi(small["sst"], small["gaps"], covariance=small["model"])
    near = fill_oi(small["sst"], small["gaps"], covariance=small["model"], radius_km=300.0)
    assert np.isfinite(near.filled.values[small["gaps"]]).all()
    # cells with no observation within 300 km fall back to the prior std (of the noise-free
    # field: the nugget is measurement noise)
    at_prior = np.isclose(near.filled_std.values, np.sqrt(small["model"].sill))
    assert at_prior[small["gaps"]].any()
    assert (near.filled_std.values >= wide.filled_std.values - 1e-12).all()


def test_accepts_a_regridded_day(small: dict) -> None:
    day = healpix_dataset(
        {"SST_L3S": np.where(small["gaps"], np.nan, small["sst"].values), "gap": small["gaps"]},
        small["nside"],
    )
    out = fill_oi(day, covariance=small["model"])
    ref = fill_oi(small["sst"], small["gaps"], covariance=small["model"])
    np.testing.assert_allclose(out.filled.values, ref.filled.values, equal_nan=True)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        pytest.param({"radius_km": 50.0}, ValueError, "smaller than a cell", id="radius"),
        pytest.param(
            {"covariance": "gaussian"},
            ValueError,
            "covariance must be one of 'fit' \\(or a CovarianceModel\\)",
            id="covariance-name",
        ),
        pytest.param(
            {"covariance": 3.0}, ValueError, "must be str or CovarianceModel", id="covariance-type"
        ),
        pytest.param({"n_neighbours": 0}, ValueError, "n_neighbours", id="neighbours"),
        pytest.param({"n_members": -1}, ValueError, "n_members", id="members"),
        pytest.param({"nu": 1.0}, ValueError, "nu must be", id="nu"),
    ],
)
def test_bad_options_raise(small: dict, kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        fill_oi(small["sst"], small["gaps"], **kwargs)


def test_no_observation_raises() -> None:
    nside = 8
    gaps = np.ones(12 * nside**2, bool)
    with pytest.raises(ValueError, match="observed"):
        fill_oi(_map(np.full(gaps.size, np.nan), nside), gaps)


def test_too_few_observations_for_the_fit_warn_in_the_fill_and_raise_in_the_fit() -> None:
    nside = 8
    observed = np.zeros(12 * nside**2, bool)
    observed[:30] = True
    sst = _map(np.where(observed, 20.0 + 0.1 * np.arange(observed.size), np.nan), nside)
    with pytest.raises(ValueError, match="too few to fit a covariance"):
        fit_covariance(sst, ~observed, lmax=2)
    with pytest.warns(UserWarning, match="too few to fit a covariance.*default covariance"):
        out = fill_oi(sst, ~observed, lmax=2)
    assert np.isfinite(out.filled.values).all() and out.attrs["covariance_default"] == 1


def test_nside_mismatch_raises(small: dict) -> None:
    other = np.zeros(HealpixGrid(16).npix, bool)
    with pytest.raises(ValueError, match="gap mask"):
        fill_oi(small["sst"], other)
