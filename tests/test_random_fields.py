"""Gaussian random fields: the Matérn covariance model, its angular spectrum, the fields."""

from __future__ import annotations

import healpy as hp
import numpy as np
import pytest
from scipy.special import eval_legendre

from eogapfill.fill import oi
from eogapfill.healpix import EARTH_RADIUS_KM, region_cells
from eogapfill.random_fields import (
    PLANE_MAX_RADIUS_DEG,
    CovarianceModel,
    angular_power_spectrum,
    gaussian_random_field,
    plane_grid,
    tangent_plane,
)


def test_oi_reexports_the_random_fields() -> None:
    assert oi.CovarianceModel is CovarianceModel
    assert oi.gaussian_random_field is gaussian_random_field
    assert oi.angular_power_spectrum is angular_power_spectrum


@pytest.mark.parametrize("nu", [pytest.param(nu, id=f"nu={nu}") for nu in (0.5, 1.5, 2.5)])
def test_covariance_matches_gstools(nu: float) -> None:
    gs = pytest.importorskip("gstools")
    model = CovarianceModel(sill=2.0, length_scale_km=300.0, nugget=0.1, nu=nu)
    reference = gs.Matern(dim=3, var=2.0, len_scale=300.0 / np.sqrt(2), nu=nu)
    chord = np.array([1.0, 50.0, 300.0, 1000.0])
    np.testing.assert_allclose(
        2.0 * model.correlation_chord(chord), reference.covariance(chord), rtol=1e-6
    )
    distance = np.array([0.0, 500.0])
    expected_chord = 2 * EARTH_RADIUS_KM * np.sin(500.0 / (2 * EARTH_RADIUS_KM))
    np.testing.assert_allclose(
        model(distance), [2.1, float(reference.covariance(expected_chord))], rtol=1e-6
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"nu": 1.0}, id="nu"),
        pytest.param({"sill": 0.0}, id="zero-sill"),
        pytest.param({"nugget": -1.0}, id="negative-nugget"),
        pytest.param({"length_scale_km": np.nan}, id="nan-length"),
    ],
)
def test_bad_covariance_raises(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        CovarianceModel(**{"sill": 1.0, "length_scale_km": 100.0, **kwargs})


def test_angular_power_spectrum_resums_to_the_covariance() -> None:
    model = CovarianceModel(sill=1.0, length_scale_km=1000.0, nu=1.5)
    lmax = 300
    cl = angular_power_spectrum(model, lmax)
    ell = np.arange(lmax + 1)
    for distance in (0.0, 500.0, 1500.0, 4000.0):
        x = np.cos(distance / EARTH_RADIUS_KM)
        resummed = np.sum((2 * ell + 1) / (4 * np.pi) * cl * eval_legendre(ell, x))
        assert resummed == pytest.approx(float(model(np.array(distance))), abs=2e-3)


def test_random_fields_have_the_model_variance_and_are_seeded() -> None:
    model = CovarianceModel(sill=0.8, length_scale_km=400.0, nugget=0.2, nu=0.5)
    fields = gaussian_random_field(model, 32, n_fields=4, seed=5)
    assert fields.shape == (4, 12 * 32**2)
    assert np.var(fields) == pytest.approx(model.variance, rel=0.15)
    np.testing.assert_array_equal(fields, gaussian_random_field(model, 32, n_fields=4, seed=5))
    assert not np.allclose(fields, gaussian_random_field(model, 32, n_fields=4, seed=6))


# --- regional draws on a tangent plane ----------------------------------------------------

SMALL_BOX = (-45.0, -25.0, 20.0, 35.0)  # lon0, lon1, lat0, lat1 (degrees): 12 deg from its centre
LARGE_BOX = (-80.0, -20.0, 10.0, 50.0)  # 60 x 40 degrees: beyond the tangent plane
LAGS_KM = (0.0, 150.0, 400.0, 800.0, 1400.0)


def _lag_pairs(nside: int, ids: np.ndarray, seed: int = 0) -> list[tuple[np.ndarray, ...]]:
    """For each lag of LAGS_KM, up to 3000 cell pairs (positions in ids) within 8 % of it (the
    lag 0: each cell with itself) and their great-circle distances (km)."""
    vec = np.stack(hp.pix2vec(nside, ids, nest=True), axis=1)
    rng = np.random.default_rng(seed)
    i = rng.integers(0, ids.size, 400_000)
    j = rng.integers(0, ids.size, 400_000)
    dist = EARTH_RADIUS_KM * np.arccos(np.clip(np.sum(vec[i] * vec[j], axis=1), -1.0, 1.0))
    out = [(np.arange(ids.size), np.arange(ids.size), np.zeros(ids.size))]
    for lag in LAGS_KM[1:]:
        near = np.flatnonzero(np.abs(dist - lag) < 0.08 * lag)[:3000]
        assert near.size > 200
        out.append((i[near], j[near], dist[near]))
    return out


def _lag_statistics(fields: np.ndarray, pairs: list[tuple[np.ndarray, ...]]) -> np.ndarray:
    """Per field and lag, the mean over the lag's pairs of f_i f_j: shape (n_fields, n_lags).
    The fields are independent, so the rows are independent samples of each lag's mean."""
    return np.stack([np.mean(fields[:, i] * fields[:, j], axis=1) for i, j, _ in pairs], axis=1)


def _z_scores(stats: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(mean - target) in standard errors of the mean over independent fields."""
    return (stats.mean(axis=0) - target) / (stats.std(axis=0, ddof=1) / np.sqrt(len(stats)))


@pytest.mark.parametrize("nu", [pytest.param(nu, id=f"nu={nu}") for nu in (0.5, 2.5)])
def test_regional_draws_have_the_model_covariance(nu: float) -> None:
    """The empirical covariance of 600 plane draws, at lags 0 to 1400 km, is the model's
    within 4.5 standard errors (estimated from the independent draws; about 0.01 degC**2
    here), and the same test tells apart a length scale 30 % longer (by more than 6)."""
    nside = 64
    ids = region_cells(nside, SMALL_BOX)
    model = CovarianceModel(sill=1.0, length_scale_km=300.0, nugget=0.1, nu=nu)
    fields = gaussian_random_field(model, nside, n_fields=600, seed=11, cells=ids, method="plane")
    assert fields.shape == (600, ids.size)
    pairs = _lag_pairs(nside, ids)
    stats = _lag_statistics(fields, pairs)
    target = np.array([np.mean(model(d)) for *_, d in pairs])
    z = _z_scores(stats, target)
    assert np.all(np.abs(z) < 4.5), z
    assert stats[:, 0].mean() == pytest.approx(model.variance, abs=0.05)  # variance ~ sill + nugget
    longer = CovarianceModel(1.0, 390.0, 0.1, nu=nu)
    wrong = _z_scores(stats, np.array([np.mean(longer(d)) for *_, d in pairs]))
    assert np.max(np.abs(wrong)) > 6.0


def test_regional_draws_match_the_sphere_draws() -> None:
    """Same model, same cells: the plane's and the sphere's draws have the same covariance at
    every lag (two-sample test over independent draws)."""
    nside = 64
    ids = region_cells(nside, SMALL_BOX)
    model = CovarianceModel(sill=0.8, length_scale_km=600.0, nugget=0.05, nu=1.5)
    pairs = _lag_pairs(nside, ids, seed=1)
    stats = {}
    for method in ("plane", "sphere"):
        fields = gaussian_random_field(model, nside, n_fields=200, seed=3, cells=ids, method=method)
        stats[method] = _lag_statistics(fields, pairs)
    a, b = stats["plane"], stats["sphere"]
    se = np.sqrt(a.var(axis=0, ddof=1) / len(a) + b.var(axis=0, ddof=1) / len(b))
    z = (a.mean(axis=0) - b.mean(axis=0)) / se
    assert np.all(np.abs(z) < 4.5), z
    assert np.all(se < 0.05)  # precise enough to mean something


@pytest.mark.parametrize("nu", [pytest.param(nu, id=f"nu={nu}") for nu in (0.5, 1.5, 2.5)])
def test_plane_grid_covariance_is_the_model_at_node_lags(nu: float) -> None:
    """The grid field's exact covariance (the inverse FFT of its eigenvalues) equals the model
    at node lags across the region, within 0.01 sill (the periodic wrap adds at most 1e-3);
    at lag 0 it lacks only the scales under the spacing, which the cells get as noise."""
    nside = 128
    ids = region_cells(nside, SMALL_BOX)
    model = CovarianceModel(sill=1.0, length_scale_km=300.0, nu=nu)
    xy, radius = tangent_plane(nside, ids)
    assert radius < PLANE_MAX_RADIUS_DEG
    grid = plane_grid(model, nside, xy)
    assert grid.spacing_km <= 0.5 * hp.nside2resol(nside) * EARTH_RADIUS_KM + 1e-9
    covariance = np.fft.ifft2(grid.amplitude.astype(np.float64) ** 2).real
    extent = np.ptp(xy, axis=0) / grid.spacing_km
    kx, ky = np.meshgrid(np.arange(int(extent[0])), np.arange(int(extent[1])), indexing="ij")
    lag_km = np.hypot(kx, ky) * grid.spacing_km
    # the model on the plane: the correlation of the distance, which the plane takes for the chord
    target = model.sill * model.correlation_chord(lag_km)
    error = covariance[kx, ky] - target
    assert np.abs(error[lag_km > 0]).max() < 0.01
    assert 0.9 * model.sill < covariance[0, 0] <= model.sill + 2e-3
    assert grid.lag_covariance[0] == pytest.approx(covariance[0, 0], rel=1e-4)
    assert grid.lag_covariance[3] == pytest.approx(covariance[1, 1], rel=1e-4)


def test_method_auto_draws_small_regions_on_the_plane_and_large_ones_on_the_sphere() -> None:
    model = CovarianceModel(1.0, 800.0, 0.1)
    nside = 32
    small = region_cells(nside, SMALL_BOX)
    auto = gaussian_random_field(model, nside, n_fields=3, seed=2, cells=small)
    np.testing.assert_array_equal(
        auto, gaussian_random_field(model, nside, n_fields=3, seed=2, cells=small, method="plane")
    )
    large = region_cells(nside, LARGE_BOX)
    assert tangent_plane(nside, large)[1] > PLANE_MAX_RADIUS_DEG
    full = gaussian_random_field(model, nside, n_fields=2, seed=4)
    np.testing.assert_array_equal(
        gaussian_random_field(model, nside, n_fields=2, seed=4, cells=large), full[:, large]
    )
    np.testing.assert_array_equal(
        gaussian_random_field(model, nside, n_fields=2, seed=4, cells=small, method="sphere"),
        full[:, small],
    )


def test_regional_draws_are_seeded_and_independent() -> None:
    model = CovarianceModel(0.5, 300.0, 0.02, nu=2.5)
    ids = region_cells(32, SMALL_BOX)
    first = gaussian_random_field(model, 32, n_fields=3, seed=7, cells=ids)
    assert first.shape == (3, ids.size)
    np.testing.assert_array_equal(
        first, gaussian_random_field(model, 32, n_fields=3, seed=7, cells=ids)
    )
    again = gaussian_random_field(model, 32, n_fields=3, seed=np.random.default_rng(7), cells=ids)
    np.testing.assert_array_equal(first, again)
    other = gaussian_random_field(model, 32, n_fields=3, seed=8, cells=ids)
    assert not np.allclose(first, other)
    # the two fields of one FFT (its real and imaginary parts) are uncorrelated
    assert abs(np.corrcoef(first[0], first[1])[0, 1]) < 0.5
    assert gaussian_random_field(model, 32, n_fields=0, cells=ids).shape == (0, ids.size)
    no_cells = np.array([], dtype=np.int64)
    assert gaussian_random_field(model, 8192, n_fields=2, cells=no_cells).shape == (2, 0)


@pytest.mark.parametrize(
    "box",
    [
        pytest.param((-180.0, 180.0, 76.0, 90.0), id="pole"),
        pytest.param((170.0, -170.0, -10.0, 5.0), id="antimeridian"),
    ],
)
def test_regional_draws_at_the_pole_and_across_the_antimeridian(box) -> None:
    """Regions that a lat/lon plane would cut in two: the tangent plane holds them whole, and
    neighbouring cells stay correlated as the model says."""
    nside = 64
    ids = region_cells(nside, box)
    model = CovarianceModel(1.0, 400.0, 0.0, nu=1.5)
    fields = gaussian_random_field(model, nside, n_fields=200, seed=5, cells=ids, method="plane")
    pairs = _lag_pairs(nside, ids, seed=2)[:3]
    z = _z_scores(_lag_statistics(fields, pairs), np.array([np.mean(model(d)) for *_, d in pairs]))
    assert np.all(np.abs(z) < 4.5), z


def test_regional_draw_at_high_nside_costs_the_region() -> None:
    """A 1 x 1 degree box at nside 4096 (about 3000 cells of a 200 million cell sphere): the
    plane grid holds a few times the region's cells, and the fields have the model's variance."""
    nside = 4096
    ids = region_cells(nside, (10.0, 11.0, 40.0, 41.0))
    model = CovarianceModel(1.0, 30.0, 0.1, nu=0.5)
    grid = plane_grid(model, nside, tangent_plane(nside, ids)[0])
    assert grid.shape[0] * grid.shape[1] < 100 * ids.size
    fields = gaussian_random_field(model, nside, n_fields=40, seed=0, cells=ids)
    assert fields.shape == (40, ids.size)
    assert np.var(fields) == pytest.approx(model.variance, rel=0.2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"method": "plane"}, "give its NESTED ids as cells", id="plane-without-cells"),
        pytest.param(
            {"method": "plane", "cells": "large"}, "beyond the 20.0 degrees", id="plane-too-large"
        ),
        pytest.param({"cells": np.array([0, 12 * 32**2])}, "NESTED ids of nside 32", id="bad-id"),
        pytest.param({"cells": np.array([[1, 2]])}, "1-D array", id="2d-cells"),
        pytest.param({"method": "fft"}, "method must be", id="bad-method"),
        pytest.param({"n_fields": -1}, "n_fields must be", id="negative-fields"),
    ],
)
def test_bad_random_field_arguments_raise(kwargs: dict, message: str) -> None:
    if isinstance(kwargs.get("cells"), str):
        kwargs = {**kwargs, "cells": region_cells(32, LARGE_BOX)}
    with pytest.raises(ValueError, match=message):
        gaussian_random_field(CovarianceModel(1.0, 500.0), 32, **kwargs)
