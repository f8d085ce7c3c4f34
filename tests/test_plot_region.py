"""Maps of regional HEALPix fields: a lat/lon box around the region, the coast of the map's own
sea mask, the right value under each pixel, and clear errors."""

from __future__ import annotations

import healpy as hp
import numpy as np
import pytest
import xarray as xr
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from eogapfill.healpix import HealpixGrid, healpix_dataset, region_cells
from eogapfill.plot import LAND_COLOR, OUTSIDE_COLOR, plot_healpix, plot_healpix_panels

NSIDE = 32
BOX = (-80.0, -50.0, 25.0, 45.0)


@pytest.fixture(scope="module")
def region() -> xr.Dataset:
    """A regional day: SST falling northward, land west of a slanted coast, one cloud."""
    ids = region_cells(NSIDE, BOX)
    grid = HealpixGrid(NSIDE, cell_ids=ids)
    lon, lat = grid.lonlat()
    sea = lon > -76.0 + 0.4 * (lat - 25.0)
    sst = np.where(sea, 28.0 - 0.5 * (lat - 25.0), np.nan)
    cloud = sea & (np.hypot(lon + 60.0, lat - 32.0) < 4.0)
    return healpix_dataset(
        {
            "SST": np.where(cloud, np.nan, sst),
            "SST_L4": sst,
            "sea_fraction": sea.astype(np.float32),
        },
        grid,
    )


def _coasts(ax) -> list:
    return [c for c in ax.collections if c.get_gid() == "coast"]


def _coast_vertices(ax) -> np.ndarray:
    paths = [p for c in _coasts(ax) for p in c.get_paths()]
    return np.concatenate([p.vertices for p in paths if len(p.vertices)])


def test_plot_healpix_of_a_region_covers_its_box_and_draws_the_coast(region):
    fig = plot_healpix(region.SST, sea=region.sea_fraction, title="region")
    assert isinstance(fig, Figure) and len(fig.axes) == 2  # map and colour bar
    ax = fig.axes[0]
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    assert x0 <= BOX[0] and x1 >= BOX[1] and y0 <= BOX[2] and y1 >= BOX[3]
    assert x1 - x0 < 45 and y1 - y0 < 30  # the region, not the globe
    assert len(_coasts(ax)) == 1
    vertices = _coast_vertices(ax)
    assert len(vertices) > 5
    # the coast runs along the slanted shore lon = -76 + 0.4 (lat - 25), to within a cell
    offshore = vertices[:, 0] - (-76.0 + 0.4 * (vertices[:, 1] - 25.0))
    assert np.abs(offshore).max() < 2 * hp.nside2resol(NSIDE, arcmin=True) / 60.0


def test_plot_healpix_of_a_region_puts_each_cell_under_its_pixels(region):
    fig = plot_healpix(region.SST_L4, sea=region.sea_fraction)
    ax = fig.axes[0]
    image = ax.get_images()[-1]
    values = image.get_array()
    x0, x1, y0, y1 = image.get_extent()
    rows, cols = values.shape
    lon = x0 + (np.arange(cols) + 0.5) * (x1 - x0) / cols
    lat = y0 + (np.arange(rows) + 0.5) * (y1 - y0) / rows
    pix = hp.ang2pix(NSIDE, lon[None, :], lat[:, None], nest=True, lonlat=True)
    grid = HealpixGrid(NSIDE, cell_ids=region.cell_ids.values)
    at = grid.position(pix)
    truth = np.where(at >= 0, region.SST_L4.values[np.maximum(at, 0)], np.nan)
    shown = np.ma.filled(values.astype(float), np.nan)
    np.testing.assert_allclose(shown, truth, equal_nan=True)
    background = ax.get_images()[0].get_array()
    assert np.allclose(background[at < 0], to_rgba(OUTSIDE_COLOR))  # outside the region
    land = (at >= 0) & np.isnan(truth)
    assert land.any() and np.allclose(background[land], to_rgba(LAND_COLOR))


def test_plot_healpix_of_a_region_from_an_array_and_its_grid(region):
    grid = HealpixGrid(NSIDE, cell_ids=region.cell_ids.values)
    fig = plot_healpix(region.SST.values, grid=grid)  # no sea map: coast of the finite cells
    ax = fig.axes[0]
    assert len(_coasts(ax)) == 1
    from_da = plot_healpix(region.SST).axes[0].get_images()[-1].get_array()
    np.testing.assert_array_equal(ax.get_images()[-1].get_array(), from_da)
    all_sea = plot_healpix(region.SST_L4.fillna(20.0))  # no land, no coast
    assert _coasts(all_sea.axes[0]) == []


def test_plot_healpix_panels_of_a_region(region):
    fig = plot_healpix_panels(
        {"observed": region.SST, "analysis": region.SST_L4}, sea=region.sea_fraction
    )
    assert len(fig.axes) == 3  # two panels and the shared colour bar
    for ax in fig.axes[:2]:
        x0, x1 = ax.get_xlim()
        assert x0 <= BOX[0] and x1 >= BOX[1] and len(_coasts(ax)) == 1
    assert fig.axes[0].get_images()[-1].get_clim() == fig.axes[1].get_images()[-1].get_clim()


def test_full_sphere_plots_are_unchanged_by_a_grid_argument():
    values = np.arange(12 * 8**2, dtype=float)
    fig = plot_healpix(values, grid=HealpixGrid(8))
    assert len(fig.axes) == 2 and _coasts(fig.axes[0]) == []
    before = plot_healpix(values).axes[0].get_images()[0].get_array()
    np.testing.assert_array_equal(fig.axes[0].get_images()[0].get_array(), before)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"projection": "moll"}, "projection='cart'", id="projection"),
        pytest.param({"rot": (-60.0, 35.0)}, "rot and reso", id="rot"),
        pytest.param({"lonra": (-50.0, -80.0)}, "empty lat/lon box", id="empty-box"),
    ],
)
def test_plot_healpix_of_a_region_rejects_bad_options(region, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_healpix(region.SST, **kwargs)


def test_plot_of_a_region_rejects_bad_maps(region):
    grid = HealpixGrid(NSIDE, cell_ids=region.cell_ids.values)
    with pytest.raises(ValueError, match="the grid has"):
        plot_healpix(np.zeros(grid.npix + 1), grid=grid)
    with pytest.raises(ValueError, match="not a full HEALPix map"):
        plot_healpix(np.zeros(grid.npix))  # a regional array without its grid
    no_level = xr.DataArray(
        np.zeros(grid.npix), dims="cells", coords={"cell_ids": ("cells", grid.ids)}
    )
    with pytest.raises(ValueError, match="level"):
        plot_healpix(no_level)
    with pytest.raises(ValueError, match="different grids"):
        plot_healpix_panels({"region": region.SST, "sphere": np.zeros(12 * NSIDE**2)})
    with pytest.raises(TypeError, match="HealpixGrid"):
        plot_healpix(region.SST.values, grid=NSIDE)
