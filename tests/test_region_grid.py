"""Partial (regional) HEALPix grids: the cells of a region, their neighbours, regridding a
day onto them, the xdggs index and a Zarr round trip, and a Laplace fill on a region."""

from __future__ import annotations

import warnings

import healpy as hp
import numpy as np
import pytest
import xarray as xr

from eogapfill.fill.laplace import fill_laplace
from eogapfill.healpix import (
    HealpixGrid,
    decode,
    grid_of,
    healpix_dataset,
    neighbour_mean,
    region_cells,
)
from eogapfill.regrid import to_healpix, to_latlon
from tests.test_regrid import make_day

GULF_STREAM = (-80.0, -50.0, 25.0, 45.0)


def _centres(nside: int, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = hp.pix2ang(nside, ids, nest=True, lonlat=True)
    return (lon + 180.0) % 360.0 - 180.0, lat


@pytest.mark.parametrize("nside", [16, 64])
def test_box_region_holds_every_cell_centred_in_the_box_and_little_else(nside):
    ids = region_cells(nside, GULF_STREAM)
    lon, lat = hp.pix2ang(nside, np.arange(12 * nside**2), nest=True, lonlat=True)
    lon = (lon + 180.0) % 360.0 - 180.0
    centred = np.flatnonzero((lon >= -80) & (lon <= -50) & (lat >= 25) & (lat <= 45))
    assert np.isin(centred, ids).all()
    # the extra cells only touch the box: their centres lie within one cell of its edges
    extra = np.setdiff1d(ids, centred)
    elon, elat = _centres(nside, extra)
    step = np.degrees(hp.nside2resol(nside)) * 1.5
    assert ((elon > -80 - step) & (elon < -50 + step)).all()
    assert ((elat > 25 - step) & (elat < 45 + step)).all()
    assert (np.diff(ids) > 0).all()


def test_box_across_the_antimeridian_and_coarse_cells():
    ids = region_cells(32, (170.0, -170.0, -10.0, 10.0))
    lon, lat = _centres(32, ids)
    assert ((lon >= 168) | (lon <= -168)).all() and (np.abs(lat) <= 12).all()
    assert ids.size > 0
    children = region_cells(8, cells=[5, 7], level=1)
    assert children.tolist() == list(range(5 * 16, 6 * 16)) + list(range(7 * 16, 8 * 16))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"region": (0.0, 10.0, 20.0, 10.0)}, "lat0 < lat1"),
        ({"region": (0.0, 10.0, -95.0, 10.0)}, "lat0 < lat1"),
        ({"region": (5.0, 5.0, 0.0, 10.0)}, "two different"),
        ({"region": (1.0, 2.0)}, "box"),
        ({"cells": [1]}, "level"),
        ({"cells": [1], "level": 9}, "level 9"),
        ({"cells": [100], "level": 1}, "NESTED ids"),
        ({}, "give one region"),
    ],
)
def test_bad_regions_are_refused_with_what_to_do(kwargs, match):
    with pytest.raises(ValueError, match=match):
        region_cells(8, **kwargs)


def test_partial_grid_neighbours_are_local_and_absent_outside():
    nside = 16
    ids = region_cells(nside, (0.0, 30.0, 0.0, 30.0))
    grid = HealpixGrid(nside, cell_ids=ids)
    assert grid.is_partial and grid.npix == ids.size and grid.sphere_npix == 12 * nside**2
    local = grid.neighbours()
    full = hp.get_all_neighbours(nside, ids, nest=True).T
    inside = np.isin(full, ids)
    assert ((local >= 0) == inside).all()
    assert (ids[local[inside]] == full[inside]).all()
    # the mean of in-region neighbours, against a brute force
    rng = np.random.default_rng(1)
    values = rng.normal(size=ids.size)
    by_id = dict(zip(ids.tolist(), values, strict=True))
    expected = [np.mean([by_id[n] for n in row if n in by_id]) for row in full]
    np.testing.assert_allclose(neighbour_mean(values, grid), expected)


def test_grid_equality_and_full_sphere_ids_make_a_full_grid():
    a = HealpixGrid(4, cell_ids=np.array([1, 2, 3]))
    assert a == HealpixGrid(4, cell_ids=np.array([1, 2, 3])) and a != HealpixGrid(4)
    assert len({a, HealpixGrid(4, cell_ids=np.array([1, 2, 3]))}) == 1
    assert not HealpixGrid(2, cell_ids=np.arange(48)).is_partial
    with pytest.raises(ValueError, match="increasing"):
        HealpixGrid(4, cell_ids=np.array([3, 1]))


@pytest.mark.parametrize(
    ("nside", "resolution", "box"),
    [
        (16, 1.0, GULF_STREAM),
        (32, 1.0, GULF_STREAM),
        (64, 2.0, GULF_STREAM),  # most cells copy their nearest point
        (64, 2.0, (170.0, -170.0, 60.0, 75.0)),  # across 180, far north
    ],
)
@pytest.mark.filterwarnings("ignore:nside 64 is finer than the source grid")
def test_regional_map_equals_the_full_sphere_map_on_its_cells(nside, resolution, box):
    day = make_day(resolution, seed=3)
    full = to_healpix(day, nside)
    reg = to_healpix(day, nside, region=box)
    ids = reg.cell_ids.values
    assert np.array_equal(ids, region_cells(nside, box))
    for name in ("SST_L3S", "SST_L4", "sea_fraction", "sea", "gap"):
        np.testing.assert_array_equal(reg[name].values, full[name].values[ids])
    assert reg.attrs["healpix_partial"] == 1 and f"lon {box[0]}" in reg.attrs["healpix_region"]
    assert grid_of(reg) == HealpixGrid(nside, cell_ids=ids)


def test_regional_map_keeps_its_grid_through_xdggs_and_zarr(tmp_path):
    reg = to_healpix(make_day(1.0), 32, region=GULF_STREAM)
    decoded = decode(reg)
    assert decoded.dggs.grid_info.level == 5
    lon = (decoded.dggs.cell_centers()["longitude"].values + 180.0) % 360.0 - 180.0
    assert lon.min() > -82 and lon.max() < -48
    reg.to_zarr(tmp_path / "region.zarr", zarr_format=2, consolidated=True)
    back = xr.open_zarr(tmp_path / "region.zarr")
    assert grid_of(back) == grid_of(reg)
    assert back.attrs["healpix_partial"] == 1
    np.testing.assert_array_equal(back.SST_L4.values, reg.SST_L4.values)


def test_to_latlon_of_a_region_covers_the_box_and_is_nan_elsewhere():
    reg = to_healpix(make_day(1.0), 32, region=GULF_STREAM)
    grid = to_latlon(reg, resolution=0.5)
    lon, lat = grid.longitude.values, grid.latitude.values
    assert -82 < lon.min() <= -79 and -51 <= lon.max() < -48
    assert 22 < lat.min() <= 26 and 44 <= lat.max() < 48
    outside = to_latlon(reg.SST_L4, latitude=[0.25, 0.75], longitude=[10.25, 10.75])
    assert np.isnan(outside.values).all()
    assert not to_latlon(reg.sea, latitude=[0.25, 0.5], longitude=[10.25, 10.5]).values.any()
    across = to_healpix(make_day(1.0), 32, region=(170.0, -170.0, -10.0, 10.0))
    lon = to_latlon(across, resolution=1.0).longitude.values
    assert (np.diff(lon) > 0).all() and lon.min() > 160 and lon.max() < 200


def test_region_without_sea_is_refused():
    day = make_day(1.0, sea=np.zeros((180, 360), bool))
    with pytest.raises(ValueError, match="no sea cell in the region"):
        to_healpix(day, 16, region=GULF_STREAM)


def test_region_without_open_sea_can_be_kept_empty():
    """A box whose water is all under sea ice today: nothing to fill, no error when asked."""
    day = make_day(1.0, sea=np.zeros((180, 360), bool))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "every sea cell is a gap" warning either
        empty = to_healpix(day, 16, region=GULF_STREAM, allow_no_sea=True)
    assert empty.sizes["cells"] == to_healpix(make_day(1.0), 16, region=GULF_STREAM).sizes["cells"]
    assert not empty["sea"].values.any() and not empty["gap"].values.any()
    assert np.isnan(empty["SST_L3S"].values).all()


def test_laplace_on_a_region_equals_the_full_sphere_fill_inside():
    """Gap components wholly inside the region get the values of the full-sphere fill (same
    equations, same boundary); one across the region's edge is filled from inside only."""
    nside = 32
    full = to_healpix(make_day(1.0, seed=5, cloud=0.0), nside)
    clouds = [((-65.0, 35.0), 4.0), ((-72.0, 30.0), 2.5), ((-80.0, 38.0), 3.0)]
    for (lon, lat), radius in clouds:
        disc = hp.query_disc(
            nside, hp.ang2vec(lon, lat, lonlat=True), np.radians(radius), nest=True
        )
        full["gap"].values[disc] = full.sea.values[disc]
    full["SST_L3S"] = full.SST_L3S.where(~full.gap)
    ids = region_cells(nside, GULF_STREAM)
    reg = full.isel(cells=np.searchsorted(full.cell_ids.values, ids))
    a = fill_laplace(full).filled.values[ids]
    b = fill_laplace(reg).filled.values
    inner = reg.gap.values & (reg_lon(reg) > -76.0)
    assert inner.sum() > 10
    np.testing.assert_allclose(b[inner], a[inner], atol=1e-6)
    gap = reg.gap.values
    observed = ~gap & np.isfinite(reg.SST_L3S.values)
    np.testing.assert_array_equal(b[observed], reg.SST_L3S.values[observed])
    assert np.isnan(b[~reg.sea.values]).all() and np.isfinite(b[gap]).all()
    edge = gap & ~inner
    assert edge.sum() > 3 and not np.allclose(b[edge], a[edge], atol=1e-3)


def reg_lon(ds: xr.Dataset) -> np.ndarray:
    """Longitude of the cells of a HEALPix dataset, degrees east in [-180, 180)."""
    return _centres(grid_of(ds).nside, ds.cell_ids.values)[0]


def test_healpix_dataset_on_a_partial_grid():
    grid = HealpixGrid(4, cell_ids=np.array([2, 5, 9]))
    ds = healpix_dataset({"x": np.arange(3.0)}, grid)
    assert ds.cell_ids.values.tolist() == [2, 5, 9]
    assert grid_of(ds) == grid


@pytest.mark.parametrize(
    ("box", "lon_range"),
    [
        ((-30.0, 0.0, 30.0, 50.0), (-32.0, 2.0)),  # east edge on the 0 meridian
        ((0.0, 30.0, 30.0, 50.0), (-2.0, 32.0)),
        ((-180.0, 180.0, -10.0, 10.0), (-180.0, 180.0)),  # every longitude
        ((170.0, 190.0, 0.0, 10.0), None),  # 0..360 convention, across 180
    ],
)
def test_boxes_on_the_meridian_and_round_the_globe(box, lon_range):
    nside = 32
    ids = region_cells(nside, box)
    lon, lat = _centres(nside, ids)
    step = np.degrees(hp.nside2resol(nside)) * 1.5
    assert (lat > box[2] - step).all() and (lat < box[3] + step).all()
    if lon_range is None:
        assert np.array_equal(ids, region_cells(nside, (170.0, -170.0, 0.0, 10.0)))
    else:
        assert lon.min() >= lon_range[0] and lon.max() <= lon_range[1]
    if box[1] - box[0] >= 360:  # the whole band: every cell centred in it
        all_lon, all_lat = hp.pix2ang(nside, np.arange(12 * nside**2), nest=True, lonlat=True)
        assert np.isin(np.flatnonzero(np.abs(all_lat) <= 10.0), ids).all()


# ------------------------------------------------------------------------------------------
# high nside: the cost of a region scales with its cells, not the sphere's
# ------------------------------------------------------------------------------------------
def _fine_day(lat: np.ndarray, lon: np.ndarray, seed: int = 0) -> xr.Dataset:
    """A day on a (regional, possibly irregular) grid with land, bands of cloud and a front."""
    rng = np.random.default_rng(seed)
    shape = (lat.size, lon.size)
    lon2, lat2 = np.meshgrid(lon, lat)
    sea = np.sin(np.deg2rad(700 * lon2)) + np.cos(np.deg2rad(900 * lat2)) > -0.6
    truth = (20.0 + 3.0 * np.tanh(20.0 * (lat2 - lat2.mean())) + rng.normal(0, 0.3, shape)).astype(
        "float32"
    )
    clear = (np.sin(np.deg2rad(450 * (lon2 + lat2))) < 0.3) & (rng.random(shape) > 0.2)
    dims = ("latitude", "longitude")
    return xr.Dataset(
        {
            "SST_L3S": (dims, np.where(sea & clear, truth, np.nan)),
            "SST_L4": (dims, np.where(sea, truth, np.nan)),
            "sea": (dims, sea),
        },
        coords={"latitude": lat, "longitude": lon},
    ).assign(
        SST_L3S=lambda d: d.SST_L3S.astype("float32").assign_attrs(units="degC"),
        SST_L4=lambda d: d.SST_L4.astype("float32").assign_attrs(units="degC"),
    )


def _brute_force(day: xr.Dataset, nside: int, ids: np.ndarray) -> dict[str, np.ndarray]:
    """Cell means of every source point (healpy ang2pix, one by one) on the cells ``ids``;
    a cell without a point takes the point nearest its centre."""
    lat, lon = day.latitude.values, day.longitude.values
    lon2, lat2 = np.meshgrid(lon, lat)
    cells = hp.ang2pix(nside, lon2.ravel(), lat2.ravel(), nest=True, lonlat=True)
    at = np.minimum(np.searchsorted(ids, cells), ids.size - 1)
    pos = np.where(ids[at] == cells, at, -1)
    kept = pos >= 0
    pos = pos[kept]
    n = np.bincount(pos, minlength=ids.size).astype(float)
    sea = day.sea.values.ravel()[kept].astype(float)
    with np.errstate(invalid="ignore"):
        out = {"n": n, "sea_fraction": np.bincount(pos, weights=sea, minlength=ids.size) / n}
    for name in ("SST_L3S", "SST_L4"):
        v = day[name].values.ravel()[kept].astype(float)
        ok = np.isfinite(v)
        total = np.bincount(pos[ok], weights=v[ok], minlength=ids.size)
        with np.errstate(invalid="ignore"):
            out[name] = total / np.bincount(pos[ok], minlength=ids.size)
    empty = np.flatnonzero(n == 0)
    clon, clat = hp.pix2ang(nside, ids[empty], nest=True, lonlat=True)
    rows = np.abs(lat[:, None] - clat).argmin(0)
    cols = np.abs((lon[:, None] - clon + 180.0) % 360.0 - 180.0).argmin(0)
    out["sea_fraction"][empty] = day.sea.values[rows, cols]
    for name in ("SST_L3S", "SST_L4"):
        out[name][empty] = day[name].values[rows, cols]
    return out


@pytest.mark.parametrize(
    ("nside", "box", "lat", "lon"),
    [
        pytest.param(
            4096,
            (-65.0, -64.0, 36.0, 37.0),
            np.arange(35.0025, 38.0, 0.005),
            np.arange(-65.9975, -63.0, 0.005),
            id="1x1-box-finer-grid",
        ),
        pytest.param(
            4096,
            (179.4, -179.4, -20.5, -19.5),
            np.arange(-21.49, -18.5, 0.02),
            # no tie at 180 degrees between the two nearest columns
            np.concatenate([np.arange(-179.987, -170.0, 0.02), np.arange(170.013, 180.0, 0.02)]),
            id="across-180-coarser-grid",
        ),
        pytest.param(
            4096,
            (10.0, 13.0, 80.0, 80.5),
            np.arange(79.0, 81.5, 0.02),
            np.arange(-179.987, 180.0, 0.02),
            id="high-latitude-every-longitude",
        ),
        pytest.param(  # cells of 0.5 degrees, 2.5 at 80 N: the margins of the box matter
            128,
            (10.0, 13.0, 78.0, 80.0),
            np.arange(70.0, 88.0, 0.05),
            np.arange(-179.987, 180.0, 0.05),
            id="nside128-high-latitude",
        ),
    ],
)
def test_high_nside_region_equals_a_brute_force_and_stays_small(nside, box, lat, lon):
    import tracemalloc

    day = _fine_day(lat, lon)
    ids = region_cells(nside, box)
    tracemalloc.start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # most cells empty on the coarser grids
        reg = to_healpix(day, nside, region=box)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    sphere_map = 12 * nside**2 * 8  # one float64 map of the sphere: 1.6 GB at nside 4096
    assert nside < 1024 or peak < 0.02 * sphere_map, f"peak {peak / 2**20:.0f} MiB"
    assert np.array_equal(reg.cell_ids.values, ids)

    ref = _brute_force(day, nside, ids)
    np.testing.assert_array_equal(reg.sea_fraction.values, ref["sea_fraction"].astype("float32"))
    sea = ref["sea_fraction"] >= 0.5
    np.testing.assert_array_equal(reg.sea.values, sea)
    for name in ("SST_L3S", "SST_L4"):
        expected = np.where(sea, ref[name], np.nan).astype("float32")
        np.testing.assert_allclose(reg[name].values, expected, rtol=1e-6)
    np.testing.assert_array_equal(reg.gap.values, sea & np.isnan(ref["SST_L3S"]))
    assert reg.attrs["regrid_nearest_cells"] == int((ref["n"] == 0).sum())
    assert reg.attrs["regrid_outside_cells"] == 0
    assert reg.sea.any() and reg.SST_L3S.notnull().any()
    assert nside < 1024 or 0 < reg.gap.sum() < reg.sea.sum() < ids.size


def test_to_latlon_of_a_high_nside_region_samples_its_cells_only():
    import tracemalloc

    nside, box = 4096, (-65.0, -64.0, 36.0, 37.0)
    day = _fine_day(np.arange(35.0025, 38.0, 0.005), np.arange(-65.9975, -63.0, 0.005))
    reg = to_healpix(day, nside, region=box)
    tracemalloc.start()
    grid = to_latlon(reg.SST_L4, resolution=0.005)  # the globe: 36 000 x 72 000 points
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50 * 2**20, f"peak {peak / 2**20:.0f} MiB"
    lat, lon = grid.latitude.values, grid.longitude.values
    assert 35.9 < lat.min() < 36.05 and 36.95 < lat.max() < 37.1
    assert -65.1 < lon.min() < -64.95 and -64.05 < lon.max() < -63.9
    # each point holds the cell that contains it; points beyond the region are NaN
    lon2, lat2 = np.meshgrid(lon, lat)
    cells = hp.ang2pix(nside, lon2, lat2, nest=True, lonlat=True)
    where = grid_of(reg).position(cells)
    expected = np.where(where >= 0, reg.SST_L4.values[np.maximum(where, 0)], np.nan)
    np.testing.assert_array_equal(grid.values, expected)
    assert (where < 0).any() and (where >= 0).mean() > 0.8


def test_a_lazy_region_across_180_matches_numpy():
    """Dask inputs bin the same columns (both ends of an axis that crosses 180) per block."""
    nside, box = 4096, (179.4, -179.4, -20.5, -19.5)
    lon = np.concatenate([np.arange(-179.987, -170.0, 0.02), np.arange(170.013, 180.0, 0.02)])
    day = _fine_day(np.arange(-21.49, -18.5, 0.02), lon, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        expected = to_healpix(day, nside, region=box)
        lazy = to_healpix(day.chunk({"latitude": 37, "longitude": 111}), nside, region=box)
    assert lazy.SST_L3S.chunks is not None
    result = lazy.compute()
    for name in expected.data_vars:
        np.testing.assert_array_equal(result[name].values, expected[name].values)
    assert result.attrs == expected.attrs
