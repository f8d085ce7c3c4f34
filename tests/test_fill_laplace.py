"""Laplace fill on the HEALPix neighbour graph, and the neighbour mean."""

from __future__ import annotations

import healpy as hp
import numpy as np
import pytest
import xarray as xr

from eogapfill.fill.laplace import N_NEAREST_ISOLATED, fill_laplace, neighbour_mean
from eogapfill.healpix import healpix_dataset, neighbours


def unit_vectors(nside: int) -> np.ndarray:
    return np.column_stack(hp.pix2vec(nside, np.arange(12 * nside**2), nest=True))


def disc(nside: int, lon: float, lat: float, radius_deg: float) -> np.ndarray:
    mask = np.zeros(12 * nside**2, dtype=bool)
    vec = hp.ang2vec(lon, lat, lonlat=True)
    mask[hp.query_disc(nside, vec, np.radians(radius_deg), nest=True)] = True
    return mask


def make_day(
    nside: int, field: np.ndarray, *, gap_fraction: float = 0.3, seed: int = 0, land: bool = True
) -> tuple[xr.Dataset, np.ndarray]:
    """A regridded-day-like dataset: two continents, random cloud discs over the sea."""
    npix = 12 * nside**2
    is_land = np.zeros(npix, dtype=bool)
    if land:
        is_land = disc(nside, 20.0, 10.0, 30.0) | disc(nside, -100.0, 45.0, 20.0)
    sea = ~is_land
    rng = np.random.default_rng(seed)
    gap = np.zeros(npix, dtype=bool)
    while (gap & sea).sum() < gap_fraction * sea.sum():
        lon = rng.uniform(-180.0, 180.0)
        lat = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0)))
        gap |= disc(nside, lon, lat, rng.uniform(5.0, 20.0))
    gap &= sea
    sst = np.where(sea & ~gap, field, np.nan)
    ds = healpix_dataset({"SST_L3S": sst, "sea": sea, "gap": gap}, nside)
    return ds, is_land


def smooth_field(nside: int) -> np.ndarray:
    x, y, z = unit_vectors(nside).T
    return 20.0 + 5.0 * z + 3.0 * x * y + 2.0 * np.sin(3.0 * x)


SOLVERS = [
    pytest.param({}, id="direct"),
    pytest.param({"direct_below": 50}, id="multigrid"),
]


@pytest.mark.parametrize("options", SOLVERS)
@pytest.mark.parametrize("nside", [8, 16, 32])
def test_constant_field_is_filled_exactly(nside, options):
    ds, _ = make_day(nside, np.full(12 * nside**2, 17.25))
    out = fill_laplace(ds, **options)
    atol = 1e-6 if options else 1e-9  # tol of the iterative solve (degC), or LU round-off
    np.testing.assert_allclose(out.filled.values[ds.gap.values], 17.25, rtol=0, atol=atol)


@pytest.mark.parametrize("options", SOLVERS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_observed_cells_bit_identical_and_land_untouched(seed, options):
    nside = 32
    ds, is_land = make_day(nside, smooth_field(nside), seed=seed)
    out = fill_laplace(ds, **options)
    filled = out.filled.values
    gap = ds.gap.values
    assert np.array_equal(filled[~gap], ds.SST_L3S.values[~gap], equal_nan=True)
    assert np.isnan(filled[is_land]).all()
    assert np.isfinite(filled[gap]).all()
    assert out.filled.dims == ("cells",)
    assert out.attrs["fill_method"] == "laplace"


@pytest.mark.parametrize("options", SOLVERS)
def test_every_gap_cell_is_the_mean_of_its_sea_neighbours(options):
    """The discrete Laplace equation itself; land (NaN) neighbours must not count."""
    nside = 32
    ds, _ = make_day(nside, smooth_field(nside), seed=3)
    out = fill_laplace(ds, **options)
    filled = out.filled.values
    gap = ds.gap.values
    residual = filled - neighbour_mean(filled, nside)
    np.testing.assert_allclose(residual[gap], 0.0, atol=1e-5)


def test_multigrid_agrees_with_the_direct_solve():
    nside = 32
    ds, _ = make_day(nside, smooth_field(nside), seed=4)
    direct = fill_laplace(ds)
    iterative = fill_laplace(ds, direct_below=50, tol=1e-8)
    assert direct.attrs["laplace_solver"] == "sparse LU"
    assert iterative.attrs["laplace_solver"].startswith("multigrid")
    assert iterative.attrs["laplace_iterations"] > 0
    np.testing.assert_allclose(iterative.filled.values, direct.filled.values, atol=1e-7)


def test_maximum_principle_on_a_single_cloud():
    """Inside one cloud the fill stays within the range of the observed cells around it."""
    nside = 32
    x, y, z = unit_vectors(nside).T
    rng = np.random.default_rng(5)
    field = 30.0 * z + rng.normal(0.0, 0.5, z.size)
    gap = disc(nside, 60.0, 20.0, 15.0)
    ds = healpix_dataset({"SST_L3S": np.where(gap, np.nan, field), "gap": gap}, nside)
    filled = fill_laplace(ds).filled.values
    nb = neighbours(nside)[gap]
    boundary = np.unique(nb[(nb >= 0)])
    boundary = boundary[~gap[boundary]]
    low, high = field[boundary].min(), field[boundary].max()
    assert high - low < field.max() - field.min() - 10.0  # the boundary range is a real bound
    assert (filled[gap] >= low - 1e-9).all()
    assert (filled[gap] <= high + 1e-9).all()


def test_error_on_a_smooth_field_decreases_with_nside():
    """Scattered small gaps: the neighbour mean is second-order accurate, error ~ cell size**2."""
    errors = []
    for nside in (8, 16, 32):
        field = smooth_field(nside)
        gap = np.random.default_rng(0).random(field.size) < 0.3
        ds = healpix_dataset({"SST_L3S": np.where(gap, np.nan, field), "gap": gap}, nside)
        filled = fill_laplace(ds).filled.values
        errors.append(np.sqrt(np.mean((filled[gap] - field[gap]) ** 2)))
    assert errors[0] / errors[1] > 2.5
    assert errors[1] / errors[2] > 2.5


def test_dataarray_and_numpy_gaps_give_the_same_fill():
    nside = 16
    ds, _ = make_day(nside, smooth_field(nside))
    a = fill_laplace(ds)
    b = fill_laplace(ds.SST_L3S, ds.gap.values)
    assert np.array_equal(a.filled.values, b.filled.values, equal_nan=True)


def enclosed_sea(nside: int) -> tuple[xr.Dataset, np.ndarray, np.ndarray]:
    """A sea basin ringed by land, entirely under cloud, and the open ocean around it."""
    field = smooth_field(nside)
    inner = disc(nside, -30.0, -20.0, 8.0)
    ring = disc(nside, -30.0, -20.0, 20.0) & ~inner
    other_gap = disc(nside, 100.0, 0.0, 10.0)
    gap = inner | other_gap
    sst = np.where(gap | ring, np.nan, field)
    ds = healpix_dataset({"SST_L3S": sst, "gap": gap}, nside)
    return ds, inner, ring


@pytest.mark.parametrize("nside", [16, 32])
def test_gap_component_without_observation_gets_the_nearest_observed_mean(nside):
    ds, inner, ring = enclosed_sea(nside)
    out = fill_laplace(ds)
    filled = out.filled.values
    assert out.attrs["isolated_components"] == 1
    assert out.attrs["isolated_cells"] == inner.sum()
    assert np.isnan(filled[ring]).all()
    # brute force: the observed cells closest (great circle) to any cell of the basin
    vec = unit_vectors(nside)
    observed = np.flatnonzero(np.isfinite(ds.SST_L3S.values) & ~ds.gap.values)
    angle = np.arccos(np.clip(vec[observed] @ vec[inner].T, -1, 1)).min(axis=1)
    nearest = observed[np.argsort(angle, kind="stable")[:N_NEAREST_ISOLATED]]
    expected = ds.SST_L3S.values[nearest].mean()
    np.testing.assert_allclose(filled[inner], expected, rtol=0, atol=1e-12)


def test_single_sea_cell_surrounded_by_land():
    nside = 8
    field = smooth_field(nside)
    cell = 300
    land = np.zeros(field.size, dtype=bool)
    land[neighbours(nside)[cell]] = True
    gap = np.zeros(field.size, dtype=bool)
    gap[cell] = True
    gap[disc(nside, 150.0, -40.0, 15.0)] = True
    sst = np.where(land | gap, np.nan, field)
    out = fill_laplace(healpix_dataset({"SST_L3S": sst, "gap": gap}, nside))
    assert out.attrs["isolated_cells"] == 1
    assert np.isfinite(out.filled.values[cell])
    assert np.isnan(out.filled.values[land]).all()


def test_progress_bar_runs(capsys):
    nside = 16
    ds, _ = make_day(nside, smooth_field(nside))
    out = fill_laplace(ds, direct_below=20, progress=True)
    assert out.attrs["laplace_iterations"] > 0
    assert "laplace" in capsys.readouterr().err


def test_no_convergence_raises():
    nside = 32
    ds, _ = make_day(nside, smooth_field(nside))
    with pytest.raises(RuntimeError, match="max_iter"):
        fill_laplace(ds, direct_below=20, max_iter=1, tol=1e-14)


def test_neighbour_mean_by_hand():
    nside = 2
    nb = neighbours(nside)
    x = np.full(48, np.nan)
    x[nb[0, [0, 3, 5]]] = [1.0, 2.0, 6.0]
    mean = neighbour_mean(x, nside)
    assert mean[0] == 3.0
    lonely = [c for c in range(48) if not np.isin(nb[c], nb[0, [0, 3, 5]]).any()]
    assert np.isnan(mean[lonely]).all()


def test_neighbour_mean_skips_missing_neighbours():
    """A cell with 7 neighbours must not read index -1 (the last cell) as its 8th."""
    nside = 4
    nb = neighbours(nside)
    last = nb.shape[0] - 1
    seven = [c for c in np.flatnonzero((nb < 0).any(axis=1)) if last not in nb[c]]
    assert seven
    x = np.ones(nb.shape[0])
    x[last] = 100.0
    np.testing.assert_array_equal(neighbour_mean(x, nside)[seven], 1.0)


def test_neighbour_mean_leading_dims_and_errors():
    nside = 4
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 12 * nside**2))
    stacked = neighbour_mean(x, nside)
    for row in range(3):
        np.testing.assert_allclose(stacked[row], neighbour_mean(x[row], nside), rtol=1e-12)
    with pytest.raises(ValueError, match="cells of the grid"):
        neighbour_mean(x[:, :-1], nside)
    with pytest.raises(ValueError, match="power of two"):
        neighbour_mean(x, 3)


@pytest.mark.parametrize(
    ("mutate", "error", "match"),
    [
        pytest.param(lambda ds: ds.assign(gap=ds.gap & False), ValueError, "empty", id="no-gaps"),
        pytest.param(
            lambda ds: ds.assign(gap=ds.sea, SST_L3S=ds.SST_L3S * np.nan),
            ValueError,
            "all cloud",
            id="all-cloud",
        ),
        pytest.param(
            lambda ds: (ds.SST_L3S, make_day(4, smooth_field(4))[0].gap),
            ValueError,
            "does not match",
            id="shape",
        ),
        pytest.param(
            lambda ds: ds.assign(gap=ds.gap.astype(int)), TypeError, "boolean", id="int-gaps"
        ),
        pytest.param(
            lambda ds: ds.assign_coords(
                cell_ids=("cells", ds.cell_ids.values[::-1], ds.cell_ids.attrs)
            ),
            ValueError,
            "NESTED order",
            id="reordered",
        ),
        pytest.param(
            lambda ds: ds.expand_dims(time=2),
            ValueError,
            "single day",
            id="two-days",
        ),
        pytest.param(lambda ds: ds.drop_vars("gap"), ValueError, "'gap'", id="no-gap-var"),
    ],
)
def test_bad_inputs_raise_clear_errors(mutate, error, match):
    nside = 8
    ds, _ = make_day(nside, smooth_field(nside))
    bad = mutate(ds)
    with pytest.raises(error, match=match):
        if isinstance(bad, tuple):
            fill_laplace(*bad)
        else:
            fill_laplace(bad)


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"tol": 0.0}, id="tol"),
        pytest.param({"max_iter": 0}, id="max_iter"),
        pytest.param({"direct_below": 0}, id="direct_below"),
    ],
)
def test_bad_options_raise(options):
    ds, _ = make_day(8, smooth_field(8))
    with pytest.raises(ValueError, match=next(iter(options))):
        fill_laplace(ds, **options)
