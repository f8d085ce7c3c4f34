"""The scattering-transform fill on a regional (partial) HEALPix grid.

foscat builds its wavelets, down-grading and masked means on a subset of cells
(``scat_cov.funct.eval(..., cell_ids=, nside=)``): the synthesis runs on the region's cells
only, and the fill keeps the contract of every fill there.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

from eogapfill.healpix import HealpixGrid, healpix_dataset, region_cells
from tests.markers import requires_foscat

pytestmark = [*requires_foscat, pytest.mark.slow]

NSIDE = 32
BOX = (-80.0, -50.0, 25.0, 45.0)  # lon0, lon1, lat0, lat1, degrees
FAST = {"n_epochs": 2, "threads": 1, "progress": False, "start": "laplace"}


def regional_day(nside: int = NSIDE, seed: int = 0) -> xr.Dataset:
    """A regridded regional day look-alike: a gradient with eddies, a coast, clouds."""
    ids = np.asarray(region_cells(nside, BOX))
    grid = HealpixGrid(nside, cell_ids=ids)
    lon, lat = grid.lonlat()
    rng = np.random.default_rng(seed)
    truth = 28.0 - 20.0 * np.sin(np.radians(lat)) ** 2 + np.sin(np.radians(4 * lon)) * 1.5
    truth += 0.3 * rng.normal(size=ids.size)
    land = lon < -75.0
    gap = (np.hypot(lon + 62.0, lat - 35.0) < 5.0) & ~land
    ds = healpix_dataset(
        {"SST_L3S": np.where(gap | land, np.nan, truth), "gap": gap, "sea": ~land}, grid
    )
    ds["SST_L3S"].attrs["units"] = "degC"
    return ds


@pytest.fixture(scope="module")
def day() -> xr.Dataset:
    return regional_day()


@pytest.fixture(scope="module")
def filled(day: xr.Dataset) -> xr.Dataset:
    from eogapfill.fill.foscat import fill_foscat

    return fill_foscat(day, n_members=2, seed=0, **FAST)


def test_region_contract(day: xr.Dataset, filled: xr.Dataset) -> None:
    values = day["SST_L3S"].values
    gap = day["gap"].values
    observed = np.isfinite(values) & ~gap
    out = filled["filled"].values
    assert out.shape == values.shape
    np.testing.assert_array_equal(filled["cell_ids"].values, day["cell_ids"].values)
    assert np.array_equal(out[observed], values[observed])  # bit-identical
    assert np.isnan(out[~observed & ~gap]).all()  # land
    assert np.isfinite(out[gap]).all()
    assert filled["members"].shape == (2, values.size)
    assert np.isfinite(filled["loss"].values).all()
    assert "reaching the region" in filled.attrs["masks"]


def test_region_members_differ_and_stay_in_range(day: xr.Dataset, filled: xr.Dataset) -> None:
    gap = day["gap"].values
    members = filled["members"].values[:, gap]
    assert not np.array_equal(members[0], members[1])
    seen = day["SST_L3S"].values[np.isfinite(day["SST_L3S"].values)]
    assert members.min() >= seen.min() and members.max() <= seen.max()  # clipped


def test_region_anchor_texture_and_near_gaps(day: xr.Dataset) -> None:
    """Anchor blocks, texture pairs and near-gap weights on the region's own cells."""
    from eogapfill.fill.foscat import fill_foscat

    out = fill_foscat(
        day, anchor=10.0, texture_weight=1.0, near_gaps_km=500.0, masks="global", **FAST
    )
    gap = day["gap"].values
    assert np.isfinite(out["filled"].values[gap]).all()
    assert out.attrs["masks"] == "global"


def test_region_anchor_blocks_match_full_sphere() -> None:
    """A region's block means equal the full sphere's on blocks wholly inside the region."""
    from eogapfill.fill.foscat.problem import anchor_blocks

    ids = np.asarray(region_cells(NSIDE, BOX))
    rng = np.random.default_rng(1)
    full = rng.normal(size=12 * NSIDE**2)
    gaps_full = np.zeros(full.size, bool)
    gaps_full[ids[::7]] = True
    for (size, touched, means), (zero, block, rmeans) in zip(
        anchor_blocks(full, gaps_full, NSIDE),
        anchor_blocks(full[ids], gaps_full[ids], NSIDE, ids),
        strict=True,
    ):
        assert zero == 0
        np.testing.assert_array_equal(np.unique(ids[gaps_full[ids]] // size), touched)
        counts = np.bincount(block[block < rmeans.size], minlength=rmeans.size)
        whole = counts == size
        np.testing.assert_allclose(rmeans[whole], means[whole])


def test_region_oi_start_falls_back_or_runs(day: xr.Dataset) -> None:
    """The default start ('oi') either runs on the region or gives way to 'laplace' with a
    warning that says so."""
    from eogapfill.fill.foscat import fill_foscat

    options = {k: v for k, v in FAST.items() if k != "start"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fill_foscat(day, **options)
    assert out.attrs["start"] in ("oi", "laplace")
    if out.attrs["start"] == "laplace":
        assert any("regional grid" in str(w.message) for w in caught)
    assert np.isfinite(out["filled"].values[day["gap"].values]).all()


def test_region_coarse_levels(day: xr.Dataset) -> None:
    """Coarse-to-fine on a region: each level on the coarse cells of the region's cells."""
    from eogapfill.fill.foscat import fill_foscat

    big = regional_day(64)
    out = fill_foscat(big, coarse_epochs=(2,), texture_weight=1.0, anchor=10.0, **FAST)
    values, gap = big["SST_L3S"].values, big["gap"].values
    observed = np.isfinite(values) & ~gap
    assert np.array_equal(out["filled"].values[observed], values[observed])
    assert np.isfinite(out["filled"].values[gap]).all()
    assert np.isnan(out["filled"].values[~observed & ~gap]).all()
    with pytest.raises(ValueError, match="cells at nside 16"):
        fill_foscat(day, coarse_epochs=(2,), **FAST)  # 57 cells at nside 16


def test_region_down_and_up_match_the_full_sphere() -> None:
    """Group means and the interpolation back on a region equal the full sphere's away from
    the region's edge."""
    from eogapfill.fill.foscat.problem import coarse_ids, down, up

    ids = np.asarray(region_cells(NSIDE, BOX))
    full = np.random.default_rng(2).normal(size=12 * NSIDE**2)
    coarse = coarse_ids(ids, 4)
    regional = down(full[ids], 4, ids)
    whole = np.bincount(np.searchsorted(coarse, ids // 4)) == 4
    np.testing.assert_allclose(regional[whole], down(full, 4)[coarse][whole])
    back = up(regional, NSIDE // 2, NSIDE, coarse, ids)
    assert back.shape == ids.shape and np.isfinite(back).all()
    import healpy as hp

    theta, phi = hp.pix2ang(NSIDE, ids, nest=True)
    cells, _ = hp.get_interp_weights(NSIDE // 2, theta, phi, nest=True)
    pos = np.minimum(np.searchsorted(coarse, cells), coarse.size - 1)
    exact = ((coarse[pos] == cells) & whole[pos]).all(axis=0)  # every source cell whole
    assert exact.sum() > ids.size // 2
    expected = up(down(full, 4), NSIDE // 2, NSIDE)[ids]
    np.testing.assert_allclose(back[exact], expected[exact])


def test_region_reference_on_another_region_is_refused(day: xr.Dataset) -> None:
    from eogapfill.fill.foscat import fill_foscat

    other = regional_day().isel(cells=slice(1, None))
    with pytest.raises(ValueError, match="another grid"):
        fill_foscat(day, reference=other["SST_L3S"], **FAST)


def test_region_statistics_with_cached_products_equal_foscats_own() -> None:
    """foscat's statistics on a region's cells, with and without the package's products."""
    import foscat.scat_cov as scat_cov
    import torch

    from eogapfill.fill.foscat import ops

    ids = np.asarray(region_cells(NSIDE, BOX))
    x0 = np.random.default_rng(0).normal(size=ids.size).astype("float32")
    mask = torch.ones((1, ids.size))
    results = []
    for fast in (False, True):
        op = scat_cov.funct(silent=True)
        (ops.install if fast else ops.uninstall)(op)
        x = torch.tensor(x0, requires_grad=True)
        stats = op.eval(x, mask=mask, cell_ids=ids, nside=NSIDE)
        loss = op.reduce_mean(op.square(stats))
        loss.backward()
        results.append((float(loss.detach()), x.grad.numpy().copy()))
    assert results[0][0] == pytest.approx(results[1][0], rel=1e-4)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-3, atol=1e-9)


def test_region_dask_members_equal_sequential_members(day: xr.Dataset, filled: xr.Dataset) -> None:
    """The members of a region run as Dask tasks (two threads of one worker, each with its
    own regional operator) equal those run one after another."""
    from eogapfill.fill.foscat import fill_foscat

    distributed = pytest.importorskip("dask.distributed")
    with distributed.Client(
        processes=False, n_workers=1, threads_per_worker=2, dashboard_address=":0"
    ) as client:
        out = fill_foscat(day, n_members=2, seed=0, client=client, **FAST)
    np.testing.assert_array_equal(out["members"].values, filled["members"].values)
