"""Partial (regional) HEALPix grids: the cells of a region, their neighbours, regridding a
day onto them, the xdggs index and a Zarr round trip, and a Laplace fill on a region."""

from __future__ import annotations

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


@pytest.mark.parametrize("nside", [16, 32])
def test_regional_map_equals_the_full_sphere_map_on_its_cells(nside):
    day = make_day(1.0, seed=3)
    full = to_healpix(day, nside)
    reg = to_healpix(day, nside, region=GULF_STREAM)
    ids = reg.cell_ids.values
    assert np.array_equal(ids, region_cells(nside, GULF_STREAM))
    for name in ("SST_L3S", "SST_L4", "sea_fraction", "sea", "gap"):
        np.testing.assert_array_equal(reg[name].values, full[name].values[ids])
    assert reg.attrs["healpix_partial"] == 1 and "lon -80.0" in reg.attrs["healpix_region"]
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
