"""Spherical-harmonic fill: the basis against healpy, exact recovery, contract and errors."""

from __future__ import annotations

import healpy as hp
import numpy as np
import pytest
import xarray as xr

from eogapfill.fill.alm import (
    evaluate_alm,
    fill_alm,
    fit_alm,
    harmonic_degrees,
    real_ylm_basis,
)
from eogapfill.healpix import cell_lonlat, healpix_dataset


def _healpy_unit_map(nside: int, lmax: int, ell: int, m: int) -> np.ndarray:
    """The real harmonic (l, m) from healpy: one unit coefficient, NESTED order."""
    alm = np.zeros(hp.Alm.getsize(lmax), dtype=np.complex128)
    if m == 0:
        alm[hp.Alm.getidx(lmax, ell, 0)] = 1.0
    elif m > 0:
        alm[hp.Alm.getidx(lmax, ell, m)] = 1 / np.sqrt(2)
    else:
        alm[hp.Alm.getidx(lmax, ell, -m)] = -1j / np.sqrt(2)
    return hp.reorder(hp.alm2map(alm, nside, lmax=lmax), r2n=True)


def _map(values: np.ndarray, nside: int) -> xr.DataArray:
    return healpix_dataset({"sst": values}, nside).sst.assign_attrs(units="degC")


def _scene(nside: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Land (a block of longitudes and the south polar cap) and random gaps over the sea."""
    lon, lat = cell_lonlat(nside)
    land = ((lon > -40) & (lon < 30) & (np.abs(lat) < 50)) | (lat < -70)
    rng = np.random.default_rng(seed)
    gaps = ~land & (rng.random(lon.size) < 0.3)
    return land, gaps


@pytest.mark.parametrize(
    ("nside", "lmax", "ell", "m"),
    [
        pytest.param(8, 4, 0, 0, id="monopole"),
        pytest.param(8, 4, 3, 0, id="zonal"),
        pytest.param(16, 10, 7, 5, id="cos"),
        pytest.param(16, 10, 7, -5, id="sin"),
        pytest.param(16, 10, 10, 10, id="sectoral"),
        pytest.param(32, 40, 40, -31, id="high-degree"),
    ],
)
def test_basis_matches_healpy(nside: int, lmax: int, ell: int, m: int) -> None:
    ref = _healpy_unit_map(nside, lmax, ell, m)
    basis = real_ylm_basis(nside, lmax)
    col = basis[:, ell * ell + ell + m]
    assert np.max(np.abs(col - ref)) <= 1e-10 * np.max(np.abs(ref))


def test_basis_on_a_subset_of_cells_matches_the_full_basis() -> None:
    cells = np.array([0, 5, 100, 3071, 1536, 7])
    np.testing.assert_allclose(real_ylm_basis(16, 6, cells), real_ylm_basis(16, 6)[cells])


def test_basis_is_orthonormal_on_a_fine_grid() -> None:
    basis = real_ylm_basis(64, 8)
    gram = basis.T @ basis * 4 * np.pi / basis.shape[0]
    # HEALPix cell sums are not an exact quadrature: ~1e-4 error at nside 64, l <= 8
    np.testing.assert_allclose(gram, np.eye(81), atol=1e-3)


def test_harmonic_degrees_follow_the_column_order() -> None:
    ell, m = harmonic_degrees(3)
    assert ell.size == 16
    np.testing.assert_array_equal(ell * ell + ell + m, np.arange(16))


def test_fit_matches_dense_least_squares() -> None:
    nside, lmax = 16, 7
    land, gaps = _scene(nside)
    rng = np.random.default_rng(3)
    values = 15 + rng.normal(size=land.size)  # not band-limited: a real least-squares problem
    observed = ~land & ~gaps
    coeffs, fitted = fit_alm(_map(np.where(observed, values, np.nan), nside), lmax=lmax)
    basis = real_ylm_basis(nside, lmax)
    ref, *_ = np.linalg.lstsq(basis[observed], values[observed], rcond=None)
    np.testing.assert_allclose(coeffs.values, ref, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(fitted.values, basis @ ref, atol=1e-9)
    np.testing.assert_array_equal(coeffs.l.values, harmonic_degrees(lmax)[0])


def test_fill_recovers_a_band_limited_field_in_the_gaps() -> None:
    nside, lmax = 32, 10
    land, gaps = _scene(nside, seed=1)
    rng = np.random.default_rng(1)
    truth = real_ylm_basis(nside, lmax) @ rng.normal(size=(lmax + 1) ** 2) + 18
    sst = _map(np.where(land | gaps, np.nan, truth), nside)
    out = fill_alm(sst, gaps, lmax=lmax, ridge=0.0, clip=False)  # the plain least squares
    np.testing.assert_allclose(out.filled.values[gaps], truth[gaps], atol=1e-8)


def test_evaluate_alm_matches_the_basis() -> None:
    coeffs = np.random.default_rng(2).normal(size=36)
    np.testing.assert_allclose(evaluate_alm(coeffs, 16), real_ylm_basis(16, 5) @ coeffs, atol=1e-12)


def test_observed_cells_bit_identical_and_land_untouched() -> None:
    nside = 32
    land, gaps = _scene(nside, seed=4)
    rng = np.random.default_rng(4)
    values = 20 + rng.normal(size=land.size).astype("float32").astype("float64")
    sst = _map(np.where(land, np.nan, values), nside)  # gap cells hold values to be ignored
    out = fill_alm(sst, gaps)
    observed = ~land & ~gaps
    np.testing.assert_array_equal(out.filled.values[observed], sst.values[observed])
    assert np.isnan(out.filled.values[land]).all()
    assert np.isfinite(out.filled.values[gaps]).all()
    assert "land_filled" not in out
    assert out.attrs["fill_method"] == "alm" and out.attrs["lmax"] == 15
    assert out.filled.dims == ("cells",) and out.filled.attrs["units"] == "degC"


def test_fill_land_writes_and_lists_the_land_cells() -> None:
    nside = 16
    land, gaps = _scene(nside, seed=5)
    values = 20 + np.cos(np.radians(cell_lonlat(nside)[1]))
    sst = _map(np.where(land | gaps, np.nan, values), nside)
    out = fill_alm(sst, gaps, lmax=4, fill_land=True)
    np.testing.assert_array_equal(out.land_filled.values, land)
    assert np.isfinite(out.filled.values).all()
    assert out.attrs["fill_land"] == 1
    observed = ~land & ~gaps
    np.testing.assert_array_equal(out.filled.values[observed], values[observed])


def test_accepts_a_regridded_day() -> None:
    nside = 16
    land, gaps = _scene(nside, seed=6)
    values = 10 + real_ylm_basis(nside, 3)[:, 13]
    day = healpix_dataset(
        {"SST_L3S": np.where(land | gaps, np.nan, values), "gap": gaps, "sea": ~land}, nside
    )
    out = fill_alm(day, lmax=3, ridge=0.0)
    np.testing.assert_allclose(out.filled.values[gaps], values[gaps], atol=1e-8)


def test_ridge_shrinks_the_non_constant_part() -> None:
    nside = 16
    land, gaps = _scene(nside)
    values = 20 + 3 * real_ylm_basis(nside, 2)[:, 5]
    sst = _map(np.where(land | gaps, np.nan, values), nside)
    plain, _ = fit_alm(sst, lmax=2)
    shrunk, _ = fit_alm(sst, lmax=2, ridge=10.0)
    assert abs(float(shrunk[5])) < 0.5 * abs(float(plain[5]))
    assert float(shrunk[0]) == pytest.approx(float(plain[0]), rel=0.1)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        pytest.param({"lmax": 30}, ValueError, "use lmax <=", id="lmax-too-high"),
        pytest.param({"lmax": -1}, ValueError, "lmax must be >= 0, got -1", id="negative-lmax"),
        pytest.param({"ridge": -1.0}, ValueError, "ridge", id="negative-ridge"),
    ],
)
def test_bad_options_raise(kwargs: dict, error: type, match: str) -> None:
    nside = 8
    lon, lat = cell_lonlat(nside)
    gaps = lat < 0
    sst = _map(np.where(gaps, np.nan, 20.0 + lat / 90), nside)
    with pytest.raises(error, match=match):
        fill_alm(sst, gaps, **kwargs)


def test_gaps_too_large_for_the_degree_raise_or_warn() -> None:
    nside = 16
    lat = cell_lonlat(nside)[1]
    gaps = lat < 60  # only a polar cap is observed
    sst = _map(np.where(gaps, np.nan, 20 + np.cos(np.radians(lat))), nside)
    with pytest.raises(ValueError, match=r"cannot constrain a fit up to lmax=12.*Use lmax=\d"):
        fill_alm(sst, gaps, lmax=12, ridge=0.0)
    out = fill_alm(sst, gaps, lmax=12, ridge=1e-3)  # the ridge makes it solvable
    assert np.isfinite(out.filled.values[gaps]).all()


def test_not_a_healpix_map_raises() -> None:
    sst = xr.DataArray(np.ones(768), dims="cells")
    with pytest.raises(ValueError, match="not a HEALPix object"):
        fill_alm(sst, np.zeros(768, bool) | (np.arange(768) < 10))


def test_mismatched_gaps_raise() -> None:
    sst = _map(np.full(768, 20.0), 8)
    with pytest.raises(ValueError, match="gap mask"):
        fill_alm(sst, np.zeros(3072, bool))
