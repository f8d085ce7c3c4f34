"""Validation scores: the truth scores perfectly, and each score catches what it is meant to."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import healpy as hp
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sparse
import scipy.sparse.linalg as sparse_linalg
import xarray as xr

from eogapfill.fill.common import finish_fill, prepare_fill
from eogapfill.healpix import cell_lonlat, healpix_dataset, neighbours
from eogapfill.validate import (
    COLUMNS,
    PROTOCOLS,
    bias,
    cloud_pattern_from,
    compare_methods,
    crps_ensemble,
    crps_gaussian,
    default_methods,
    error_histogram,
    gradient_histogram_distance,
    gradient_histograms,
    gradient_magnitude,
    hide_pixels,
    large_scale_fit,
    mae,
    masked_spectra,
    neighbour_variance_ratio,
    rmse,
    score_fill,
    shift_longitude,
    skill,
    small_scale_power_ratio,
    spread_skill,
    spread_skill_gaussian,
    validation_experiment,
    zscore_std,
)

NSIDE = 32
NPIX = 12 * NSIDE**2


# ---------------------------------------------------------------------------------------------
# Synthetic scenes
# ---------------------------------------------------------------------------------------------


def _gaussian_field(nside: int, cl: np.ndarray, seed: int) -> np.ndarray:
    """A Gaussian random field with power spectrum ``cl`` (NESTED, zero mean, unit std)."""
    lmax = cl.size - 1
    rng = np.random.default_rng(seed)
    ell, emm = hp.Alm.getlm(lmax)
    alm = (rng.normal(size=ell.size) + 1j * rng.normal(size=ell.size)) * np.sqrt(cl[ell] / 2)
    alm[emm == 0] = rng.normal(size=int((emm == 0).sum())) * np.sqrt(cl[ell[emm == 0]])
    x = hp.reorder(hp.alm2map(alm, nside, lmax=lmax), r2n=True)
    return (x - x.mean()) / x.std()


def red_field(nside: int, slope: float, seed: int) -> np.ndarray:
    """Field with ``C_l ~ l**-slope`` (larger slope: smoother)."""
    ell = np.arange(3 * nside)
    cl = np.where(ell > 0, np.maximum(ell, 1.0) ** -slope, 0.0)
    return _gaussian_field(nside, cl, seed)


def blob_field(nside: int, l0: float, seed: int) -> np.ndarray:
    """Field whose power sits around multipole ``l0``: thresholded, it makes cloud-like blobs."""
    ell = np.arange(3 * nside)
    return _gaussian_field(nside, np.exp(-0.5 * ((ell - l0) / (l0 / 3)) ** 2), seed)


def laplace_fill(values: np.ndarray, gaps: np.ndarray, nside: int) -> np.ndarray:
    """Harmonic fill: every gap cell is the mean of its known or gap neighbours (sparse solve)."""
    nb = neighbours(nside)
    idx = np.flatnonzero(gaps)
    pos = np.full(values.size, -1)
    pos[idx] = np.arange(idx.size)
    safe = np.where(nb[idx] >= 0, nb[idx], 0)
    usable = (nb[idx] >= 0) & (gaps[safe] | np.isfinite(values[safe]))
    count = usable.sum(axis=1)
    rows, cols, data = [np.arange(idx.size)], [np.arange(idx.size)], [np.ones(idx.size)]
    rhs = np.zeros(idx.size)
    for k in range(8):
        in_gap = usable[:, k] & gaps[safe[:, k]]
        known = usable[:, k] & ~gaps[safe[:, k]]
        rows.append(np.flatnonzero(in_gap))
        cols.append(pos[safe[in_gap, k]])
        data.append(-1.0 / count[in_gap])
        rhs[known] += values[safe[known, k]] / count[known]
    matrix = sparse.csc_matrix(
        (np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
        shape=(idx.size, idx.size),
    )
    out = values.copy()
    out[idx] = sparse_linalg.spsolve(matrix, rhs)
    assert np.isfinite(out[idx]).all()
    return out


@dataclass(frozen=True)
class Scene:
    """A full-field truth with land, clouds and hidden cells (all NESTED, nside 32)."""

    truth: np.ndarray  # the field at sea, NaN on land
    full: np.ndarray  # the field everywhere, land included
    sea: np.ndarray
    clouds: np.ndarray  # the day's own clouds (unknown to every fill)
    hidden: np.ndarray  # clear sea cells withheld for scoring
    nside: int = NSIDE

    @property
    def gaps(self) -> np.ndarray:
        return self.clouds | self.hidden

    @property
    def observed(self) -> np.ndarray:
        return np.where(self.gaps, np.nan, self.truth)

    @property
    def large_scale(self) -> np.ndarray:
        """l <= 15 fit of the observed cells: the common map of the spectra."""
        return large_scale_fit(self.observed, nside=self.nside)


def _scene(small_scale: np.ndarray) -> Scene:
    lon, lat = cell_lonlat(NSIDE)
    land = red_field(NSIDE, 3.0, 5) > 1.2
    clouds = (blob_field(NSIDE, 15, 1) > 0.4) & ~land
    pattern = blob_field(NSIDE, 15, 2) > 0.8
    profile = 28.0 - 26.0 * np.sin(np.radians(lat)) ** 2  # warm tropics, cold poles
    full = profile + small_scale
    return Scene(
        truth=np.where(land, np.nan, full),
        full=full,
        sea=~land,
        clouds=clouds,
        hidden=pattern & ~clouds & ~land,
    )


@pytest.fixture(scope="module")
def smooth_scene() -> Scene:
    """Large-scale profile plus a red field (C_l ~ l**-2) of 1 degC."""
    return _scene(red_field(NSIDE, 2.0, 0))


@pytest.fixture(scope="module")
def fronts_scene() -> Scene:
    """Large-scale profile plus sharp fronts: plateaus 4 degC apart, steps of about one cell."""
    return _scene(2.0 * np.tanh(red_field(NSIDE, 3.0, 0) / 0.02))


def _day(scene: Scene) -> xr.Dataset:
    """The scene as a regridded day (SST_L3S observed, SST_L4 the full field)."""
    observed = np.where(scene.clouds, np.nan, scene.truth)
    return healpix_dataset(
        {
            "SST_L3S": observed,
            "SST_L4": scene.truth,
            "sea": scene.sea,
            "gap": scene.sea & ~np.isfinite(observed),
        },
        scene.nside,
    )


# ---------------------------------------------------------------------------------------------
# Hiding pixels
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("nside", [pytest.param(2, id="nside2"), pytest.param(16, id="nside16")])
@pytest.mark.parametrize("degrees", [10.0, 90.0, 200.0, -45.0])
def test_shift_longitude_moves_every_cell_east_along_its_ring(nside, degrees):
    npix = 12 * nside**2
    moved = shift_longitude(np.arange(npix), nside, degrees)
    where = np.empty(npix, dtype=int)
    where[moved] = np.arange(npix)  # where each cell went
    lon0, lat0 = hp.pix2ang(nside, np.arange(npix), nest=True, lonlat=True)
    lon1, lat1 = hp.pix2ang(nside, where, nest=True, lonlat=True)
    np.testing.assert_allclose(lat1, lat0)
    step = (lon1 - lon0 - degrees + 180.0) % 360.0 - 180.0
    ring_cells = hp.pix2ang(nside, np.arange(npix), nest=True)[0]
    n_in_ring = {t: c for t, c in zip(*np.unique(ring_cells, return_counts=True), strict=True)}
    half_cell = np.array([180.0 / n_in_ring[t] for t in ring_cells])
    assert (np.abs(step) <= half_cell + 1e-9).all()
    assert sorted(moved.tolist()) == list(range(npix))


def test_hide_pixels_hides_exactly_the_clear_sea_cells_under_the_pattern(smooth_scene):
    day = _day(smooth_scene)
    pattern = blob_field(NSIDE, 15, 2) > 0.8
    hidden_day, hidden = hide_pixels(day, pattern)
    clear = day.sea.values & ~day.gap.values & np.isfinite(day.SST_L3S.values)
    np.testing.assert_array_equal(hidden.values, pattern & clear)
    assert hidden.dims == ("cells",) and hidden.dtype == bool
    assert hidden.attrs["hidden_cells"] == int((pattern & clear).sum()) > 0
    assert np.isnan(hidden_day.SST_L3S.values[hidden.values]).all()
    np.testing.assert_array_equal(hidden_day.gap.values, day.gap.values | hidden.values)
    # every other observed value and every other variable is untouched
    kept = ~hidden.values
    np.testing.assert_array_equal(hidden_day.SST_L3S.values[kept], day.SST_L3S.values[kept])
    xr.testing.assert_identical(hidden_day.SST_L4, day.SST_L4)
    xr.testing.assert_identical(hidden_day.sea, day.sea)
    # land never becomes a gap
    assert not (hidden_day.gap.values & ~day.sea.values).any()


def test_hide_pixels_moves_the_pattern_in_longitude(smooth_scene):
    day = _day(smooth_scene)
    pattern = blob_field(NSIDE, 15, 2) > 0.8
    _, hidden = hide_pixels(day, pattern, lon_shift=100.0)
    clear = day.sea.values & ~day.gap.values
    np.testing.assert_array_equal(hidden.values, shift_longitude(pattern, NSIDE, 100.0) & clear)
    _, hidden_a = hide_pixels(day, pattern, lon_shift="random", seed=3)
    _, hidden_b = hide_pixels(day, pattern, lon_shift="random", seed=3)
    xr.testing.assert_identical(hidden_a, hidden_b)
    assert not np.array_equal(hidden_a.values, pattern & clear)


def test_hide_pixels_fraction_keeps_whole_cloud_blocks(smooth_scene):
    day = _day(smooth_scene)
    pattern = blob_field(NSIDE, 15, 2) > 0.8
    _, full = hide_pixels(day, pattern)
    clear = int((day.sea.values & ~day.gap.values).sum())
    _, part = hide_pixels(day, pattern, fraction=0.05, seed=1, block_nside=8)
    assert not (part.values & ~full.values).any()
    block = (NSIDE // 8) ** 2
    assert 0.05 * clear <= part.values.sum() < 0.05 * clear + block
    # inside each block the pattern is either kept whole or dropped
    kept, whole = part.values.reshape(-1, block), full.values.reshape(-1, block)
    assert all(k.sum() in (0, w.sum()) for k, w in zip(kept, whole, strict=True))
    assert part.attrs["hidden_fraction"] == pytest.approx(part.values.sum() / clear)


def test_cloud_pattern_from_is_the_gap_of_the_other_day(smooth_scene):
    day = _day(smooth_scene)
    pattern = cloud_pattern_from(day)
    np.testing.assert_array_equal(pattern.values, day.gap.values)
    with pytest.raises(ValueError, match="no 'gap'"):
        cloud_pattern_from(day.drop_vars("gap"))


@pytest.mark.parametrize(
    ("pattern", "kwargs", "error", "match"),
    [
        pytest.param("land", {}, ValueError, "nothing to hide", id="only-land-and-clouds"),
        pytest.param("nside16", {}, ValueError, "same nside", id="other-nside"),
        pytest.param("float", {}, TypeError, "boolean", id="not-boolean"),
        pytest.param("ok", {"fraction": 1.5}, ValueError, "fraction", id="bad-fraction"),
        pytest.param("ok", {"lon_shift": "east"}, ValueError, "lon_shift", id="bad-shift"),
    ],
)
def test_hide_pixels_rejects_bad_inputs(smooth_scene, pattern, kwargs, error, match):
    day = _day(smooth_scene)
    patterns = {
        "land": ~day.sea.values | day.gap.values,
        "nside16": np.ones(12 * 16**2, dtype=bool),
        "float": np.ones(NPIX),
        "ok": blob_field(NSIDE, 15, 2) > 0.8,
    }
    with pytest.raises(error, match=match):
        hide_pixels(day, patterns[pattern], **kwargs)


# ---------------------------------------------------------------------------------------------
# Pointwise scores
# ---------------------------------------------------------------------------------------------


def test_the_truth_scores_perfectly(fronts_scene):
    s = fronts_scene
    t, m = s.truth, s.hidden
    assert rmse(t, t, m) == bias(t, t, m) == mae(t, t, m) == 0.0
    assert skill(t, t, m) == 1.0
    assert small_scale_power_ratio(t, t, m, NSIDE, large_scale=s.large_scale) == 1.0
    assert neighbour_variance_ratio(t, t, m, NSIDE) == 1.0
    assert gradient_histogram_distance(t, t, m, NSIDE) == 0.0
    assert gradient_histogram_distance(t, t, m, NSIDE, metric="l1") == 0.0
    assert crps_ensemble(np.stack([t, t, t]), t, m) == 0.0
    counts, edges = error_histogram(t, t, m)
    assert counts.sum() == m.sum() and counts[counts.size // 2] == m.sum()


def test_pointwise_scores_of_a_known_error(smooth_scene):
    s = smooth_scene
    filled = np.where(s.hidden, s.truth + 0.3, s.truth)
    filled[np.flatnonzero(s.hidden)[::2]] -= 0.6  # half the cells -0.3, half +0.3
    n = s.hidden.sum()
    expected_bias = 0.3 * (n - 2 * len(np.flatnonzero(s.hidden)[::2])) / n
    assert rmse(filled, s.truth, s.hidden) == pytest.approx(0.3)
    assert mae(filled, s.truth, s.hidden) == pytest.approx(0.3)
    assert bias(filled, s.truth, s.hidden) == pytest.approx(expected_bias)
    assert bias(s.truth + 1.0, s.truth, s.hidden) == pytest.approx(1.0)  # too warm: positive
    counts, edges = error_histogram(filled, s.truth, s.hidden, bins=np.array([-1, 0, 1.0]))
    assert counts.tolist() == [len(np.flatnonzero(s.hidden)[::2]), n - counts[0]]


def test_skill_is_zero_for_the_mean_fill_and_one_for_the_truth(smooth_scene):
    s = smooth_scene
    mean_fill = np.where(s.hidden, s.truth[s.hidden].mean(), s.truth)
    assert skill(mean_fill, s.truth, s.hidden) == pytest.approx(0.0, abs=1e-12)
    assert skill(s.truth, s.truth, s.hidden) == 1.0
    worse = np.where(s.hidden, s.truth[s.hidden].mean() + 5.0, s.truth)
    assert skill(worse, s.truth, s.hidden) < 0
    # against a reference map: zero when the fill is that reference
    assert skill(s.large_scale, s.truth, s.hidden, reference=s.large_scale) == pytest.approx(0.0)


def test_error_histogram_is_symmetric_around_zero(smooth_scene):
    s = smooth_scene
    filled = laplace_fill(s.observed, s.gaps, NSIDE)
    counts, edges = error_histogram(filled, s.truth, s.hidden, bins=21)
    err = (filled - s.truth)[s.hidden]
    assert counts.sum() == s.hidden.sum()
    np.testing.assert_allclose(edges, -edges[::-1])
    assert edges[-1] >= np.abs(err).max()
    assert counts.argmax() in (9, 10, 11)  # errors pile up near zero


# ---------------------------------------------------------------------------------------------
# Texture
# ---------------------------------------------------------------------------------------------


def test_laplace_fill_is_smooth_at_the_cell_scale(smooth_scene):
    s = smooth_scene
    filled = laplace_fill(s.observed, s.gaps, NSIDE)
    assert neighbour_variance_ratio(filled, s.truth, s.hidden, NSIDE) < 0.01
    ratio = small_scale_power_ratio(filled, s.truth, s.hidden, NSIDE, large_scale=s.large_scale)
    assert ratio < 0.7


@pytest.mark.parametrize(
    "fill",
    [pytest.param("alm", id="alm-like-fill"), pytest.param("laplace", id="laplace-fill")],
)
def test_small_scale_ratio_avoids_the_masked_anafast_trap(smooth_scene, fill):
    """Masked to the gaps, the edge step makes every fill look right unless a common large-scale
    map is removed first."""
    s = smooth_scene
    large = s.large_scale
    if fill == "alm":  # the l <= 15 fit of the observed cells, in the gaps
        filled = np.where(s.gaps, large, s.observed)
        limit = 0.05
    else:
        filled = laplace_fill(s.observed, s.gaps, NSIDE)
        limit = 0.7
    naive = small_scale_power_ratio(filled, s.truth, s.hidden, NSIDE, large_scale=0.0)
    honest = small_scale_power_ratio(filled, s.truth, s.hidden, NSIDE, large_scale=large)
    assert naive > 0.9  # the trap: looks as rough as the truth
    assert honest < limit
    # the default common map (fit of the truth off the mask) separates them too
    assert small_scale_power_ratio(filled, s.truth, s.hidden, NSIDE) < 0.75


def test_masked_spectra_never_see_unseen_or_nan(smooth_scene):
    s = smooth_scene
    x = np.where(s.sea, s.truth, hp.UNSEEN)  # UNSEEN and NaN off the mask are ignored
    ell, cl_x, cl_t = masked_spectra(x, s.truth, s.hidden, NSIDE, large_scale=s.large_scale)
    assert ell.tolist() == list(range(3 * NSIDE))
    assert np.isfinite(cl_x).all() and cl_x.max() < 1e3
    np.testing.assert_allclose(cl_x, cl_t)


def test_white_noise_matches_the_neighbour_variance_but_not_the_gradients(fronts_scene):
    s = fronts_scene
    cells = np.flatnonzero(s.hidden)
    smooth = laplace_fill(s.observed, s.gaps, NSIDE)
    nb = neighbours(NSIDE)[cells]
    residual = s.truth[cells] - np.nanmean(np.where(nb >= 0, s.truth[nb], np.nan), axis=1)
    # white noise e: e - mean of 8 neighbours has variance sigma**2 * (1 + 1/8)
    sigma = np.sqrt(np.var(residual) / (1 + 1 / 8))
    noise = np.where(s.gaps, smooth + sigma * np.random.default_rng(3).normal(size=NPIX), smooth)
    # the truth's own texture one cell to the east: the right gradients in the wrong place
    displaced_field = shift_longitude(s.full, NSIDE, 360 / (4 * NSIDE))
    displaced = np.where(s.gaps, displaced_field, s.observed)

    assert 0.85 < neighbour_variance_ratio(noise, s.truth, s.hidden, NSIDE) < 1.2
    assert 0.8 < neighbour_variance_ratio(displaced, s.truth, s.hidden, NSIDE) < 1.3
    d_noise = gradient_histogram_distance(noise, s.truth, s.hidden, NSIDE)
    d_displaced = gradient_histogram_distance(displaced, s.truth, s.hidden, NSIDE)
    assert d_noise > 0.3
    assert d_noise > 5 * d_displaced
    l1_noise = gradient_histogram_distance(noise, s.truth, s.hidden, NSIDE, metric="l1")
    l1_displaced = gradient_histogram_distance(displaced, s.truth, s.hidden, NSIDE, metric="l1")
    assert 2.0 >= l1_noise > 5 * l1_displaced
    counts_x, counts_t, edges = gradient_histograms(noise, s.truth, s.hidden, NSIDE)
    assert counts_x.sum() == counts_t.sum() <= s.hidden.sum()


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        pytest.param(
            lambda lon, lat: 10.0 * np.sin(lat),
            lambda lon, lat: 10.0 * np.cos(lat),
            id="meridional-ramp",
        ),
        pytest.param(
            lambda lon, lat: 10.0 * np.cos(lat) * np.sin(lon),
            lambda lon, lat: 10.0 * np.hypot(np.sin(lat) * np.sin(lon), np.cos(lon)),
            id="tilted-ramp",
        ),
    ],
)
def test_gradient_magnitude_of_smooth_fields(field, expected):
    lon, lat = np.radians(cell_lonlat(NSIDE)[0]), np.radians(cell_lonlat(NSIDE)[1])
    grad = gradient_magnitude(field(lon, lat), NSIDE)
    truth = expected(lon, lat) / 6371.0  # degC per km
    keep = (np.abs(lat) < np.radians(60)) & (truth > 3.0 / 6371.0)
    ratio = grad[keep] / truth[keep]
    assert 0.85 < ratio.min() and ratio.max() < 1.15  # HEALPix neighbours are not isotropic
    assert ratio.mean() == pytest.approx(1.0, abs=0.03)


def test_gradient_magnitude_leaves_out_unknown_neighbours():
    lon, lat = cell_lonlat(8)
    values = np.where(lat > 0, lat, np.nan)
    grad = gradient_magnitude(values, 8)
    assert np.isnan(grad[lat < 0]).all()
    assert np.isfinite(grad[lat > 20]).all()


# ---------------------------------------------------------------------------------------------
# Ensembles
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def forecast(smooth_scene):
    """A predictive mean whose error has std 0.5 on the hidden cells, and the truth."""
    rng = np.random.default_rng(11)
    s = smooth_scene
    mean = np.where(s.hidden, s.truth + 0.5 * rng.normal(size=NPIX), s.truth)
    return s, mean, rng


def test_calibrated_ensemble_beats_an_overconfident_one(forecast):
    s, mean, rng = forecast
    calibrated = mean + 0.5 * rng.normal(size=(4, NPIX))
    overconfident = mean + 0.1 * rng.normal(size=(4, NPIX))
    assert crps_ensemble(calibrated, s.truth, s.hidden) < crps_ensemble(
        overconfident, s.truth, s.hidden
    )
    assert spread_skill(calibrated, s.truth, s.hidden) == pytest.approx(1.0, abs=0.1)
    assert spread_skill(overconfident, s.truth, s.hidden) == pytest.approx(0.2, abs=0.05)
    members = xr.DataArray(calibrated.T, dims=("cells", "member"))  # any dim order
    assert crps_ensemble(members, s.truth, s.hidden) == crps_ensemble(calibrated, s.truth, s.hidden)


def test_calibrated_gaussian_beats_an_overconfident_one(forecast):
    s, mean, _ = forecast
    good, narrow = np.full(NPIX, 0.5), np.full(NPIX, 0.1)
    assert crps_gaussian(mean, good, s.truth, s.hidden) < crps_gaussian(
        mean, narrow, s.truth, s.hidden
    )
    assert zscore_std(mean, good, s.truth, s.hidden) == pytest.approx(1.0, abs=0.1)
    assert zscore_std(mean, narrow, s.truth, s.hidden) == pytest.approx(5.0, abs=0.5)
    assert spread_skill_gaussian(mean, good, s.truth, s.hidden) == pytest.approx(1.0, abs=0.1)
    # zero std: the CRPS of a point forecast, the mean absolute error
    assert crps_gaussian(mean, np.zeros(NPIX), s.truth, s.hidden) == pytest.approx(
        mae(mean, s.truth, s.hidden)
    )


def test_large_ensemble_crps_approaches_the_gaussian_crps(forecast):
    s, mean, rng = forecast
    members = mean + 0.5 * rng.normal(size=(200, NPIX))
    assert crps_ensemble(members, s.truth, s.hidden) == pytest.approx(
        crps_gaussian(mean, np.full(NPIX, 0.5), s.truth, s.hidden), rel=0.03
    )


# ---------------------------------------------------------------------------------------------
# The large-scale fit
# ---------------------------------------------------------------------------------------------


def _band_limited(nside: int) -> np.ndarray:
    """A map made of harmonics l <= 15 only (about 5 degC peak to peak around 20)."""
    rng = np.random.default_rng(4)
    ell, emm = hp.Alm.getlm(15)
    alm = (rng.normal(size=ell.size) + 1j * rng.normal(size=ell.size)) / (1.0 + ell)
    alm[emm == 0] = alm[emm == 0].real
    return hp.reorder(hp.alm2map(alm, nside, lmax=15), r2n=True) + 20.0


@pytest.mark.parametrize("nside", [16, 32])
def test_large_scale_fit_recovers_a_band_limited_map_exactly(nside):
    truth = _band_limited(nside)
    observed = red_field(nside, 3.0, 8) > -0.3  # about 60 % of the sphere, in blobs
    fit = large_scale_fit(np.where(observed, truth, np.nan), nside=nside, ridge=0.0)
    np.testing.assert_allclose(fit, truth, atol=1e-6)
    also = large_scale_fit(truth, observed, nside=nside, ridge=0.0)  # mask given explicitly
    np.testing.assert_allclose(also, fit)


def test_large_scale_fit_stays_bounded_in_large_holes():
    """Hemisphere-sized holes leave harmonics free: the plain fit swings by tens of degrees
    there, the default ridge keeps it near the field."""
    lat = np.radians(cell_lonlat(NSIDE)[1])
    field = 28.0 - 26.0 * np.sin(lat) ** 2 + red_field(NSIDE, 2.5, 0)
    holes = (red_field(NSIDE, 3.0, 1) > 0.5) | (red_field(NSIDE, 3.0, 5) > 1.2)
    values = np.where(holes, np.nan, field)
    damped = large_scale_fit(values, nside=NSIDE) - field
    plain = large_scale_fit(values, nside=NSIDE, ridge=0.0) - field
    rms = lambda e: np.sqrt(np.mean(e[holes] ** 2))  # noqa: E731
    assert rms(damped) < rms(plain) / 5
    assert np.abs(damped[~holes]).max() < 1.2 * np.abs(plain[~holes]).max()


# ---------------------------------------------------------------------------------------------
# Bad inputs
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "error", "match"),
    [
        pytest.param("empty-mask", ValueError, "empty", id="empty-mask"),
        pytest.param("int-mask", TypeError, "boolean", id="mask-not-boolean"),
        pytest.param("nan-truth", ValueError, "truth has 1 non-finite", id="nan-truth-on-mask"),
        pytest.param("nan-fill", ValueError, "fill left", id="nan-fill-on-mask"),
        pytest.param("short-map", ValueError, "same nside", id="maps-of-other-nside"),
        pytest.param("wrong-nside", ValueError, "nside=16 needs", id="wrong-nside-argument"),
        pytest.param("nside-not-power", ValueError, "power of two", id="nside-not-power-of-two"),
        pytest.param("members-shape", ValueError, "n_members", id="members-bad-shape"),
        pytest.param("negative-std", ValueError, ">= 0", id="negative-std"),
    ],
)
def test_bad_inputs_raise_clear_errors(smooth_scene, case, error, match):
    s = smooth_scene
    t, m = s.truth, s.hidden
    calls = {
        "empty-mask": lambda: rmse(t, t, np.zeros(NPIX, bool)),
        "int-mask": lambda: rmse(t, t, m.astype(int)),
        "nan-truth": lambda: rmse(
            t, np.where(np.arange(NPIX) == np.flatnonzero(m)[0], np.nan, t), m
        ),
        "nan-fill": lambda: mae(np.where(m, np.nan, t), t, m),
        "short-map": lambda: rmse(np.zeros(12 * 16**2), t, m),
        "wrong-nside": lambda: neighbour_variance_ratio(t, t, m, 16),
        "nside-not-power": lambda: small_scale_power_ratio(t, t, m, 33),
        "members-shape": lambda: crps_ensemble(np.zeros((NPIX, 3)), t, m),
        "negative-std": lambda: crps_gaussian(t, np.full(NPIX, -1.0), t, m),
    }
    with pytest.raises(error, match=match):
        calls[case]()


# ---------------------------------------------------------------------------------------------
# One table for several fills
# ---------------------------------------------------------------------------------------------


def _fill_mean(sst, gaps):
    inputs = prepare_fill(sst, gaps, method="mean")
    value = np.nanmean(inputs.values[inputs.observed])
    return finish_fill(inputs, np.full(inputs.values.shape, value), method="mean")


def _fill_laplace(sst, gaps):
    inputs = prepare_fill(sst, gaps, method="laplace-test")
    values = np.where(inputs.observed, inputs.values, np.nan)
    filled = laplace_fill(values, inputs.gaps, NSIDE)
    return finish_fill(inputs, filled, method="laplace-test")


def _fill_gaussian(sst, gaps):
    inputs = prepare_fill(sst, gaps, method="gaussian")
    filled = _fill_laplace(sst, gaps)["filled"].values
    return finish_fill(inputs, filled, method="gaussian", std=np.full(filled.shape, 0.5))


def _fill_ensemble(sst, gaps):
    inputs = prepare_fill(sst, gaps, method="ensemble")
    filled = _fill_laplace(sst, gaps)["filled"].values
    noise = 0.5 * np.random.default_rng(0).normal(size=(4, filled.size))
    return finish_fill(inputs, filled, method="ensemble", members=filled + noise)


@pytest.fixture(scope="module")
def hidden_day(smooth_scene):
    day = _day(smooth_scene)
    hidden, mask = hide_pixels(day, blob_field(NSIDE, 15, 2) > 0.8)
    return day, hidden, mask


def test_compare_methods_returns_a_tidy_table(hidden_day):
    day, hidden, mask = hidden_day
    methods = {
        "mean": _fill_mean,
        "laplace": _fill_laplace,
        "gaussian": _fill_gaussian,
        "ensemble": _fill_ensemble,
    }
    table = compare_methods(
        hidden,
        day.SST_L3S,
        mask,
        methods,
        protocol_of={"ensemble": "previous-day"},
        include_truth=True,
        progress=False,
    )
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns) == list(COLUMNS)
    assert table.method.tolist() == ["truth", "mean", "laplace", "gaussian", "ensemble"]
    assert set(table.protocol) <= set(PROTOCOLS)
    rows = table.set_index("method")
    assert rows.loc["ensemble", "protocol"] == "previous-day"
    assert rows.loc["laplace", "protocol"] == "honest"
    assert rows.loc["truth", "protocol"] == "oracle"
    truth = rows.loc["truth"]
    assert truth.rmse == truth.mae == truth.crps == 0.0 and truth.mu == 1.0
    assert truth.small_scale_ratio == truth.neighbour_var_ratio == 1.0
    assert truth.grad_hist_distance == 0.0
    assert rows.loc["laplace", "rmse"] < rows.loc["mean", "rmse"]
    assert rows.loc["laplace", "neighbour_var_ratio"] < 0.01
    assert rows.loc["laplace", "crps_from"] == "point"
    assert rows.loc["laplace", "crps"] == rows.loc["laplace", "mae"]
    assert rows.loc["gaussian", "crps_from"] == "gaussian"
    assert rows.loc["gaussian", "crps"] < rows.loc["gaussian", "mae"]
    assert np.isfinite(rows.loc["gaussian", "zscore_std"])
    assert rows.loc["ensemble", "crps_from"] == "members"
    assert rows.loc["ensemble", "member_crps"] == rows.loc["ensemble", "crps"]
    assert rows.loc["ensemble", "member_spread_skill"] == rows.loc["ensemble", "spread_skill"]
    assert np.isnan(rows.loc["gaussian", "member_crps"])  # a std, no members
    assert rows.loc["ensemble", "member_neighbour_var_ratio"] > 0.5  # members carry noise
    assert np.isnan(rows.loc["laplace", "member_rmse"])
    assert (table.n_hidden == mask.values.sum()).all()
    assert (rows.drop(index="truth").seconds >= 0).all()


def test_score_fill_matches_the_single_scores(hidden_day):
    day, hidden, mask = hidden_day
    result = _fill_laplace(hidden.SST_L3S, hidden.gap)
    row = score_fill(result, day.SST_L3S, mask, nside=NSIDE, method="laplace", seconds=1.5)
    filled, truth = result.filled.values, day.SST_L3S.values
    assert row["rmse"] == pytest.approx(rmse(filled, truth, mask))
    assert row["mu"] == pytest.approx(skill(filled, truth, mask))
    assert row["neighbour_var_ratio"] == pytest.approx(
        neighbour_variance_ratio(filled, truth, mask, NSIDE)
    )
    assert row["seconds"] == 1.5 and row["protocol"] == "honest"
    with pytest.raises(ValueError, match="protocol must be one of"):
        score_fill(result, truth, mask, nside=NSIDE, protocol="l4")
    with pytest.raises(ValueError, match="nside=16 needs"):
        score_fill(result, truth, mask, nside=16)


def test_the_protocol_a_fill_records_is_the_protocol_of_its_row(hidden_day):
    day, hidden, mask = hidden_day

    def oracle(sst, gaps):
        return _fill_laplace(sst, gaps).assign_attrs(protocol="oracle")

    table = compare_methods(hidden, day.SST_L3S, mask, {"oracle": oracle}, progress=False)
    assert table.protocol.tolist() == ["oracle"]
    with pytest.raises(ValueError, match="records protocol 'oracle'"):
        compare_methods(
            hidden,
            day.SST_L3S,
            mask,
            {"oracle": oracle},
            protocol_of={"oracle": "honest"},
            progress=False,
        )


def test_compare_methods_returns_the_fills_it_scored(hidden_day):
    day, hidden, mask = hidden_day
    methods = {"laplace": _fill_laplace, "mean": _fill_mean}
    table, fills = compare_methods(
        hidden, day.SST_L3S, mask, methods, progress=False, include_truth=True, return_fills=True
    )
    assert list(fills) == ["laplace", "mean"]  # no fill for the truth row
    for name, result in fills.items():
        row = score_fill(result, day.SST_L3S, mask, nside=NSIDE, method=name)
        assert row["rmse"] == table.set_index("method").loc[name, "rmse"]
    alone = compare_methods(hidden, day.SST_L3S, mask, methods, progress=False)
    pd.testing.assert_frame_equal(
        alone.drop(columns="seconds"), table.iloc[1:].reset_index(drop=True).drop(columns="seconds")
    )


def test_compare_methods_refuses_a_day_whose_pixels_are_not_hidden(hidden_day):
    day, _, mask = hidden_day
    with pytest.raises(ValueError, match="pass the dataset returned by hide_pixels"):
        compare_methods(day, day.SST_L3S, mask, {"mean": _fill_mean}, progress=False)


def test_compare_methods_names_the_fill_that_failed(hidden_day):
    day, hidden, mask = hidden_day

    def broken(sst, gaps):
        raise ZeroDivisionError("boom")

    with pytest.raises(RuntimeError, match="fill 'broken' failed: boom"):
        compare_methods(hidden, day.SST_L3S, mask, {"broken": broken}, progress=False)


def test_default_methods_are_the_package_fills_present(hidden_day):
    modules = {
        "laplace": "eogapfill.fill.laplace",
        "noise": "eogapfill.fill.noise",
        "alm": "eogapfill.fill.alm",
        "oi": "eogapfill.fill.oi",
    }
    methods = default_methods(n_members=2, seed=1)
    for name, module in modules.items():
        assert (name in methods) == (importlib.util.find_spec(module) is not None)
    assert "foscat" not in methods  # slow: only when asked
    if "noise" in methods:  # n_members reaches the fills that take it
        _, hidden, _ = hidden_day
        assert methods["noise"](hidden.SST_L3S, hidden.gap).sizes["member"] == 2


def test_default_methods_read_the_registry(hidden_day):
    from eogapfill.fill import METHODS, register_method

    register_method("mean_test", _fill_mean, grid="healpix", description="observed mean")
    try:
        methods = default_methods()
    finally:
        del METHODS["mean_test"]
    assert list(methods)[-1] == "mean_test"  # a registered method is compared for free
    _, hidden, _ = hidden_day
    assert np.isfinite(methods["mean_test"](hidden.SST_L3S, hidden.gap).filled).any()


def test_validate_imports_no_fill_module():
    import subprocess
    import sys

    code = (
        "import sys, eogapfill.validate; print(sorted(m for m in sys.modules "
        "if m.startswith('eogapfill.fill.') and m != 'eogapfill.fill.registry'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_validation_experiment_on_healpix_days(smooth_scene):
    day = _day(smooth_scene)
    other = day.assign(gap=day.sea & xr.DataArray(blob_field(NSIDE, 15, 2) > 0.8, dims="cells"))
    case = validation_experiment(day, other, NSIDE, seed=0)
    np.testing.assert_array_equal(
        case.hidden_mask.values,
        other.gap.values & ~day.gap.values & np.isfinite(day.SST_L3S.values),
    )
    assert np.isfinite(case.truth.values[case.hidden_mask.values]).all()
    assert case.truth_l4 is not None and np.isfinite(case.truth_l4.values[day.sea.values]).all()
    table = case.compare({"laplace": _fill_laplace}, progress=False)
    assert table.method.tolist() == ["laplace"] and table.protocol.tolist() == ["honest"]
    row = case.score(_fill_mean(case.hidden.SST_L3S, case.hidden.gap), method="mean")
    assert row["rmse"] > table.rmse.iloc[0]
    with pytest.raises(ValueError, match="already on nside 32"):
        validation_experiment(day, other, 16)


def _latlon_day(clouds_seed: int) -> xr.Dataset:
    """A 2-degree lat/lon day: warm tropics, one continent, blobs of cloud (degC)."""
    lat = np.arange(-89.0, 90.0, 2.0)
    lon = np.arange(-179.0, 180.0, 2.0)
    la, lo = np.meshgrid(np.radians(lat), np.radians(lon), indexing="ij")
    l4 = 28.0 - 26.0 * np.sin(la) ** 2 + np.sin(3 * lo) * np.cos(la)
    sea = ~((np.abs(lat)[:, None] < 40) & (np.abs(lon)[None, :] < 30))
    clouds = np.sin(5 * lo + clouds_seed) * np.cos(4 * la + clouds_seed) > 0.4
    coords = {"latitude": lat, "longitude": lon}
    dims = ("latitude", "longitude")
    return xr.Dataset(
        {
            "SST_L3S": (dims, np.where(sea & ~clouds, l4, np.nan), {"units": "degC"}),
            "SST_L4": (dims, np.where(sea, l4, np.nan), {"units": "degC"}),
            "sea": (dims, sea),
        },
        coords=coords,
    )


def test_validation_experiment_regrids_latlon_days():
    case = validation_experiment(_latlon_day(0), _latlon_day(2), 16)
    assert case.nside == 16 and case.hidden.sizes["cells"] == 12 * 16**2
    hidden = case.hidden_mask.values
    assert hidden.any()
    assert np.isfinite(case.truth.values[hidden]).all()
    assert np.isnan(case.hidden.SST_L3S.values[hidden]).all()
    assert (case.hidden.gap.values[hidden]).all()
    table = case.compare({"mean": _fill_mean}, progress=False)
    assert table.rmse.iloc[0] > 0 and table.protocol.iloc[0] == "honest"


def test_the_package_laplace_fill_is_smooth(smooth_scene):
    from eogapfill.fill.laplace import fill_laplace

    day = _day(smooth_scene)
    hidden, mask = hide_pixels(day, blob_field(NSIDE, 15, 2) > 0.8)
    filled = fill_laplace(hidden.SST_L3S, hidden.gap)["filled"]
    large = large_scale_fit(hidden.SST_L3S, nside=NSIDE)
    assert neighbour_variance_ratio(filled, day.SST_L3S, mask, NSIDE) < 0.05
    assert small_scale_power_ratio(filled, day.SST_L3S, mask, NSIDE, large_scale=large) < 0.8


def test_default_methods_take_per_method_options_checked_before_any_work():
    from eogapfill.validate import default_methods

    methods = default_methods(options={"oi": {"lmax": 8}})
    nside = 8
    values = 20 + np.random.default_rng(3).normal(size=12 * nside**2)
    gaps = np.zeros(values.size, bool)
    gaps[::6] = True
    ds = healpix_dataset({"SST_L3S": np.where(gaps, np.nan, values), "gap": gaps}, nside)
    ds["SST_L3S"].attrs["units"] = "degC"
    assert methods["oi"](ds.SST_L3S, ds.gap).attrs["lmax"] == 8
    with pytest.raises(ValueError, match="lmaxx"):
        default_methods(options={"oi": {"lmaxx": 8}})
    with pytest.raises(ValueError, match="not among the methods compared"):
        default_methods(options={"foscat": {"n_epochs": 2}})
