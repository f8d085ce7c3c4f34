"""The harmonic layer: the array-level fit that alm, oi and validate share, and the ring helpers."""

from __future__ import annotations

import healpy as hp
import numpy as np
import pytest

from eogapfill.fill.alm import fit_alm
from eogapfill.harmonics import (
    MIN_RCOND,
    constrained_lmax,
    evaluate_alm,
    fit_harmonics,
    harmonic_degrees,
    normal_equations,
    real_ylm_basis,
)
from eogapfill.healpix import cell_lonlat, healpix_dataset, nest_to_ring, ring_to_nest, rings


def _band_limited(nside: int, lmax: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    coeffs = np.random.default_rng(seed).normal(size=(lmax + 1) ** 2)
    coeffs[0] = 20.0 * np.sqrt(4 * np.pi)
    return coeffs, real_ylm_basis(nside, lmax) @ coeffs


def test_fit_recovers_a_band_limited_field_through_gaps() -> None:
    nside, lmax = 16, 6
    coeffs, truth = _band_limited(nside, lmax)
    lat = cell_lonlat(nside)[1]
    observed = np.abs(lat) < 60
    values = np.where(observed, truth, np.nan)
    fitted_coeffs, fitted = fit_harmonics(values, observed, nside, lmax)
    np.testing.assert_allclose(fitted_coeffs, coeffs, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(fitted, truth, rtol=1e-10)
    np.testing.assert_allclose(evaluate_alm(fitted_coeffs, nside), fitted, rtol=1e-12)


def test_fit_alm_is_the_harmonics_fit() -> None:
    nside, lmax = 8, 4
    _, truth = _band_limited(nside, lmax, seed=1)
    observed = np.arange(truth.size) % 3 != 0
    sst = healpix_dataset({"sst": np.where(observed, truth, np.nan)}, nside).sst
    for ridge in (0.0, 1e-3):
        coeffs, large = fit_alm(sst, lmax=lmax, ridge=ridge)
        expected = fit_harmonics(truth, observed, nside, lmax, ridge=ridge)
        np.testing.assert_array_equal(coeffs.values, expected[0])
        np.testing.assert_array_equal(large.values, expected[1])
    assert coeffs.l.values.tolist() == harmonic_degrees(lmax)[0].tolist()


@pytest.mark.parametrize(
    ("values", "observed", "match"),
    [
        pytest.param(np.zeros(100), np.ones(100, bool), "full-sphere", id="wrong-length"),
        pytest.param(np.zeros(768), np.ones(192, bool), "full-sphere", id="mask-length"),
        pytest.param(np.full(768, np.nan), np.ones(768, bool), "not finite", id="nan-observed"),
    ],
)
def test_fit_refuses_bad_arrays(values, observed, match) -> None:
    with pytest.raises(ValueError, match=match):
        fit_harmonics(values, observed, 8, 2)


def test_check_refuses_an_unconstrained_fit_and_names_a_degree_that_works() -> None:
    nside, lmax = 16, 12
    lat = cell_lonlat(nside)[1]
    observed = lat > 60  # a polar cap only
    values = np.where(observed, 20.0 + np.cos(np.radians(lat)), np.nan)
    normal, _ = normal_equations(values, observed, nside, lmax)
    working = constrained_lmax(normal, lmax)
    assert 0 <= working < lmax
    with pytest.raises(ValueError, match=rf"Use lmax={working} or lower"):
        fit_harmonics(values, observed, nside, lmax, check=True)
    fit_harmonics(values, observed, nside, working, check=True)  # the named degree works
    assert MIN_RCOND > 0


@pytest.mark.parametrize("nside", [1, 2, 8])
def test_ring_helpers_match_healpy(nside: int) -> None:
    npix = 12 * nside**2
    np.testing.assert_array_equal(ring_to_nest(nside), hp.ring2nest(nside, np.arange(npix)))
    np.testing.assert_array_equal(nest_to_ring(nside), hp.nest2ring(nside, np.arange(npix)))
    r = rings(nside)
    assert r.start.size == 4 * nside - 1 and int(r.length.sum()) == npix
    np.testing.assert_array_equal(r.start[1:], np.cumsum(r.length)[:-1])
    theta, phi = hp.pix2ang(nside, r.start)
    np.testing.assert_array_equal(r.theta, theta)
    np.testing.assert_array_equal(r.phi0, phi)
    assert not r.start.flags.writeable and not ring_to_nest(nside).flags.writeable
