"""Validation on a regional (partial) HEALPix grid: hiding, scores and texture use the region's
cells and neighbours only, and agree with the same computation done by hand."""

from __future__ import annotations

import healpy as hp
import numpy as np
import pytest
import scoringrules as sr
import xarray as xr

from eogapfill.healpix import HealpixGrid, healpix_dataset, region_cells
from eogapfill.validate import (
    bias,
    cloud_pattern_from,
    compare_methods,
    crps_ensemble,
    crps_gaussian,
    default_methods,
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
    structure_functions,
    validation_experiment,
)

NSIDE = 32
BOX = (-80.0, -50.0, 25.0, 45.0)


def _full_scene(seed: int) -> dict[str, np.ndarray]:
    """A full-sphere day: smooth SST with noise, land west of a slanted coast, blob clouds."""
    npix = 12 * NSIDE**2
    lon, lat = hp.pix2ang(NSIDE, np.arange(npix), nest=True, lonlat=True)
    lon = np.where(lon >= 180, lon - 360, lon)
    rng = np.random.default_rng(seed)
    land = lon < -76.0 + 0.4 * (lat - 25.0)
    sst = 28.0 - 0.4 * (lat - 25.0) + 0.3 * rng.normal(size=npix)
    clouds = np.sin(np.radians(lon) * 9 + seed) * np.cos(np.radians(lat) * 11 + seed) > 0.3
    observed = np.where(land | clouds, np.nan, sst)
    return {
        "SST_L3S": observed,
        "SST_L4": np.where(land, np.nan, sst),
        "sea": ~land,
        "gap": ~land & clouds,
    }


def _day(seed: int, ids: np.ndarray | None = None) -> xr.Dataset:
    full = _full_scene(seed)
    if ids is None:
        return healpix_dataset(full, NSIDE)
    return healpix_dataset({k: v[ids] for k, v in full.items()}, HealpixGrid(NSIDE, cell_ids=ids))


@pytest.fixture(scope="module")
def ids() -> np.ndarray:
    return region_cells(NSIDE, BOX)


@pytest.fixture(scope="module")
def region_day(ids) -> xr.Dataset:
    return _day(0, ids)


@pytest.fixture(scope="module")
def other_region_day(ids) -> xr.Dataset:
    return _day(1, ids)


@pytest.fixture(scope="module")
def hidden_case(region_day, other_region_day):
    return hide_pixels(region_day, cloud_pattern_from(other_region_day))


# ---------------------------------------------------------------------------------------------
# Hiding pixels
# ---------------------------------------------------------------------------------------------


def test_hide_pixels_on_a_region_hides_only_region_sea_cells_with_observations(
    region_day, other_region_day, hidden_case
):
    hidden_ds, hidden = hidden_case
    assert hidden.sizes["cells"] == region_day.sizes["cells"] < 12 * NSIDE**2
    np.testing.assert_array_equal(hidden["cell_ids"].values, region_day["cell_ids"].values)
    sst = region_day.SST_L3S.values
    clear = region_day.sea.values & ~region_day.gap.values & np.isfinite(sst)
    expected = other_region_day.gap.values & clear
    assert expected.sum() > 10
    np.testing.assert_array_equal(hidden.values, expected)
    assert np.isnan(hidden_ds.SST_L3S.values[hidden.values]).all()
    np.testing.assert_array_equal(hidden_ds.gap.values, region_day.gap.values | expected)
    untouched = ~hidden.values
    np.testing.assert_array_equal(hidden_ds.SST_L3S.values[untouched], sst[untouched])


def test_a_full_sphere_pattern_is_read_on_the_region_cells(ids, region_day):
    """A full-sphere cloud pattern hides on a region what it hides there on the sphere."""
    full_day, full_other = _day(0), _day(1)
    _, hidden_full = hide_pixels(full_day, cloud_pattern_from(full_other))
    _, hidden_region = hide_pixels(region_day, cloud_pattern_from(full_other))
    np.testing.assert_array_equal(hidden_region.values, hidden_full.values[ids])


def test_shift_longitude_keeps_a_regional_pattern_in_the_region(ids):
    grid = HealpixGrid(NSIDE, cell_ids=ids)
    lon, lat = grid.lonlat()
    rng = np.random.default_rng(4)
    pattern = rng.random(ids.size) < 0.3
    for degrees in (5.0, 12.0, 200.0):
        moved = shift_longitude(pattern, grid, degrees)
        assert moved.shape == pattern.shape and moved.sum() == pattern.sum()
    # one interior cell moves east along its ring exactly as on the sphere
    interior = int(np.argmin(np.hypot(lon + 65.0, lat - 35.0)))
    single = np.zeros(ids.size, bool)
    single[interior] = True
    sphere = np.zeros(12 * NSIDE**2, bool)
    sphere[ids[interior]] = True
    target = np.flatnonzero(shift_longitude(sphere, NSIDE, 6.0))
    moved = shift_longitude(single, grid, 6.0)
    assert ids[np.flatnonzero(moved)].tolist() == target.tolist()
    assert lon[moved][0] > lon[interior]
    # a cell at the east edge of its ring wraps to the west edge of the same ring
    row = np.isclose(lat, lat[interior])
    east, west = np.flatnonzero(row)[np.argmax(lon[row])], np.flatnonzero(row)[np.argmin(lon[row])]
    edge = np.zeros(ids.size, bool)
    edge[east] = True
    step = 360.0 / (4 * NSIDE)  # one cell of an equatorial-belt ring
    assert np.flatnonzero(shift_longitude(edge, grid, step)).tolist() == [west]


def test_hide_pixels_moves_and_thins_the_pattern_within_the_region(region_day, other_region_day):
    sst = region_day.SST_L3S.values
    clear = region_day.sea.values & ~region_day.gap.values & np.isfinite(sst)
    pattern = cloud_pattern_from(other_region_day)
    _, moved = hide_pixels(region_day, pattern, lon_shift="random", seed=3)
    assert moved.values.any() and not (moved.values & ~clear).any()
    _, some = hide_pixels(region_day, pattern, fraction=0.05, block_nside=8, seed=1)
    _, every = hide_pixels(region_day, pattern)
    assert 0 < some.values.sum() < every.values.sum()
    assert not (some.values & ~every.values).any()
    blocks = region_day.cell_ids.values // (NSIDE // 8) ** 2
    for b in np.unique(blocks[some.values]):  # whole blocks of the pattern are kept
        np.testing.assert_array_equal(some.values[blocks == b], every.values[blocks == b])


def test_hide_pixels_refuses_a_pattern_of_other_cells(region_day):
    elsewhere = region_cells(NSIDE, (100.0, 120.0, -10.0, 10.0))
    other = _day(1, elsewhere)
    with pytest.raises(ValueError, match="covers none of the day's cells"):
        hide_pixels(region_day, cloud_pattern_from(other))
    with pytest.raises(ValueError, match="cells"):
        hide_pixels(region_day, np.zeros(12 * NSIDE**2, bool))


# ---------------------------------------------------------------------------------------------
# Scores
# ---------------------------------------------------------------------------------------------


def test_scores_on_a_region_equal_the_scores_by_hand(region_day, hidden_case):
    _, hidden = hidden_case
    m = hidden.values
    truth = region_day.SST_L3S.values.astype(float)
    rng = np.random.default_rng(7)
    filled = truth + 0.2 + 0.5 * rng.normal(size=truth.size)
    err = filled[m] - truth[m]
    assert rmse(filled, truth, m) == pytest.approx(np.sqrt(np.mean(err**2)))
    assert bias(filled, truth, m) == pytest.approx(err.mean())
    assert mae(filled, truth, m) == pytest.approx(np.abs(err).mean())
    anomaly = truth[m] - truth[m].mean()
    assert skill(filled, truth, m) == pytest.approx(
        1 - np.sqrt(np.mean(err**2)) / np.sqrt(np.mean(anomaly**2))
    )
    std = np.full(truth.size, 0.5)
    assert crps_gaussian(filled, std, truth, m) == pytest.approx(
        np.mean(sr.crps_normal(truth[m], filled[m], std[m]))
    )
    members = filled + 0.5 * rng.normal(size=(4, truth.size))
    assert crps_ensemble(members, truth, m) == pytest.approx(
        np.mean(sr.crps_ensemble(truth[m], members[:, m].T, estimator="fair"))
    )
    # score_fill reads the region from the result's cell_ids
    cells = region_day.SST_L3S
    result = xr.Dataset({"filled": cells.copy(data=filled)})
    row = score_fill(result, cells, hidden, nside=NSIDE)
    assert row["n_hidden"] == int(m.sum())
    assert row["rmse"] == pytest.approx(np.sqrt(np.mean(err**2)))
    assert row["bias"] == pytest.approx(err.mean())
    assert np.isfinite([row["small_scale_ratio"], row["neighbour_var_ratio"]]).all()


def test_scores_on_a_region_need_its_grid_and_its_cells(region_day, hidden_case):
    _, hidden = hidden_case
    truth = region_day.SST_L3S.values.astype(float)
    with pytest.raises(ValueError, match="grid"):
        neighbour_variance_ratio(truth, truth, hidden.values, NSIDE)  # plain arrays, int nside
    shifted = region_day.SST_L3S.assign_coords(cell_ids=region_day.cell_ids + 1)
    with pytest.raises(ValueError, match="different cells"):
        rmse(shifted, region_day.SST_L3S, hidden)


# ---------------------------------------------------------------------------------------------
# Texture
# ---------------------------------------------------------------------------------------------


def _in_region_neighbours(ids: np.ndarray) -> list[list[int]]:
    """Brute force: each cell's healpy neighbours that are cells of the region (local index)."""
    where = {int(c): i for i, c in enumerate(ids)}
    out = []
    for c in ids:
        nb = hp.get_all_neighbours(NSIDE, int(c), nest=True)
        out.append([where[int(n)] for n in nb if n >= 0 and int(n) in where])
    return out


def test_neighbour_statistics_on_a_region_use_only_in_region_neighbours(ids, region_day):
    grid = HealpixGrid(NSIDE, cell_ids=ids)
    truth = region_day.SST_L4.values.astype(float)
    rng = np.random.default_rng(2)
    x = truth + rng.normal(size=truth.size)
    mask = np.isfinite(truth)
    neighbours = _in_region_neighbours(ids)
    assert any(len(n) < 7 for n in neighbours)  # the region's edge cuts neighbours off

    def residual(values: np.ndarray) -> np.ndarray:
        out = np.full(values.size, np.nan)
        for i, nb in enumerate(neighbours):
            finite = [values[j] for j in nb if np.isfinite(values[j])]
            if finite:
                out[i] = values[i] - np.mean(finite)
        return out

    rx, rt = residual(x)[mask], residual(truth)[mask]
    ok = np.isfinite(rx) & np.isfinite(rt)
    expected = np.var(rx[ok]) / np.var(rt[ok])
    assert neighbour_variance_ratio(x, truth, mask, grid) == pytest.approx(expected)
    # the same from DataArrays that carry the region's cell_ids and an int nside
    da = region_day.SST_L4
    assert neighbour_variance_ratio(da.copy(data=x), da, mask, NSIDE) == pytest.approx(expected)

    vectors = np.stack(hp.pix2vec(NSIDE, ids, nest=True), axis=1)
    gradient = np.full(ids.size, np.nan)
    for i, nb in enumerate(neighbours):
        slopes = [
            (x[j] - x[i]) / (np.arccos(np.clip(vectors[i] @ vectors[j], -1, 1)) * 6371.0)
            for j in nb
            if np.isfinite(x[j]) and np.isfinite(x[i])
        ]
        if len(slopes) >= 2:
            gradient[i] = np.sqrt(2 * np.mean(np.square(slopes)))
    np.testing.assert_allclose(gradient_magnitude(x, grid), gradient, rtol=1e-10)


def test_small_scale_ratio_on_a_region_compares_structure_functions(ids, region_day):
    grid = HealpixGrid(NSIDE, cell_ids=ids)
    truth = region_day.SST_L4.values.astype(float)
    mask = np.isfinite(truth) & (grid.lonlat()[1] < 38.0)  # the fit sees the cells north
    with pytest.raises(ValueError, match="angular power spectrum"):
        masked_spectra(truth, truth, mask, grid)
    assert small_scale_power_ratio(truth, truth, mask, grid) == pytest.approx(1.0)
    large = large_scale_fit(truth, nside=grid)
    assert np.isfinite(large).all() and np.std(truth[mask] - large[mask]) < 0.4
    damped = large + 0.3 * (truth - large)  # a fill with 0.3 of the small-scale amplitude
    ratio = small_scale_power_ratio(damped, truth, mask, grid, large_scale=large)
    assert ratio == pytest.approx(0.09)

    # structure functions against a brute force over every pair of masked cells
    rng = np.random.default_rng(5)
    x = truth + rng.normal(size=truth.size)
    lag, d_x, d_t, count = structure_functions(x, truth, mask, grid, max_lag=2.0, large_scale=0.0)
    vectors = np.stack(hp.pix2vec(NSIDE, ids, nest=True), axis=1)
    cells = np.flatnonzero(mask)
    dist = np.arccos(np.clip(vectors[cells] @ vectors[cells].T, -1, 1)) * 6371.0
    i, j = np.triu_indices(cells.size, k=1)
    near = dist[i, j] <= 2.0 * grid.resolution_km
    assert count.sum() == near.sum()
    diffs = (x[cells[i[near]]] - x[cells[j[near]]]) ** 2
    assert np.nansum(d_x * count) == pytest.approx(diffs.sum())
    assert (lag[np.isfinite(lag)] <= 2.0 * grid.resolution_km + 1e-9).all()
    ratio = small_scale_power_ratio(x, truth, mask, grid, large_scale=0.0, max_lag=2.0)
    assert ratio == pytest.approx(np.nansum(d_x * count) / np.nansum(d_t * count))


# ---------------------------------------------------------------------------------------------
# The experiment
# ---------------------------------------------------------------------------------------------


def _mean_fill(sst: xr.DataArray, gaps: xr.DataArray) -> xr.Dataset:
    return xr.Dataset({"filled": sst.fillna(float(sst.mean()))})


def test_compare_methods_on_a_regional_day(region_day, hidden_case):
    hidden_ds, hidden = hidden_case
    table = compare_methods(
        hidden_ds,
        region_day.SST_L3S,
        hidden,
        {"mean": _mean_fill},
        progress=False,
        include_truth=True,
    )
    assert table.method.tolist() == ["truth", "mean"]
    truth_row, mean_row = table.iloc[0], table.iloc[1]
    assert truth_row.rmse == 0.0 and truth_row.small_scale_ratio == pytest.approx(1.0)
    m = hidden.values
    t = region_day.SST_L3S.values.astype(float)
    filled = _mean_fill(hidden_ds.SST_L3S, hidden_ds.gap).filled.values
    assert mean_row.rmse == pytest.approx(np.sqrt(np.mean((filled[m] - t[m]) ** 2)), rel=1e-6)
    grid = HealpixGrid(NSIDE, cell_ids=region_day.cell_ids.values)
    assert mean_row.neighbour_var_ratio == pytest.approx(
        neighbour_variance_ratio(filled, t, m, grid)
    )
    assert mean_row.grad_hist_distance > 0


def test_default_methods_on_a_region_are_the_regional_ones():
    from eogapfill.fill import METHODS

    names = default_methods(regional=True)
    assert names and all(METHODS[n].regional for n in names)


def test_validation_experiment_on_a_region_of_healpix_days(ids):
    case = validation_experiment(_day(0), _day(1), NSIDE, region=BOX)
    assert case.grid is not None and case.grid.is_partial
    np.testing.assert_array_equal(case.hidden["cell_ids"].values, ids)
    assert case.hidden_mask.values.any()
    row = case.score(_mean_fill(case.hidden.SST_L3S, case.hidden.gap), method="mean")
    assert row["n_hidden"] == int(case.hidden_mask.values.sum())
    with pytest.raises(ValueError, match="lacks"):
        validation_experiment(_day(0, ids), _day(1, ids), NSIDE, region=(-90, -40, 20, 50))
