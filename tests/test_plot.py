"""Maps: the right panels, the right pixels, land and clouds told apart, geographic HEALPix."""

from __future__ import annotations

import healpy as hp
import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from eogapfill.plot import (
    ICE_COLOR,
    LAND_COLOR,
    plot_healpix,
    plot_healpix_panels,
    plot_latlon,
    plot_sample_day,
)
from eogapfill.sample import SAMPLE_START, generate_day

RES = 1.0


@pytest.fixture(scope="module")
def day() -> tuple[xr.Dataset, xr.Dataset]:
    return generate_day(SAMPLE_START, resolution=RES)


def _field(descending: bool = False) -> tuple[xr.DataArray, np.ndarray]:
    """A 6 x 8 field with NaN cells, and L4-style flags (land, lake, ice, sea)."""
    lat = np.linspace(-75, 75, 6)
    lon = np.linspace(-157.5, 157.5, 8)
    values = np.arange(48.0).reshape(6, 8)
    values[0, :3] = np.nan  # land
    values[2, 4] = np.nan  # cloud
    values[5, 5:] = np.nan  # ice
    mask = np.ones((6, 8), np.int8)
    mask[0, :2] = 2
    mask[0, 2] = 4
    mask[5, 5:] = 9
    da = xr.DataArray(
        values, dims=("latitude", "longitude"), coords={"latitude": lat, "longitude": lon}
    )
    da.attrs["units"] = "degC"
    if descending:
        da = da.isel(latitude=slice(None, None, -1))
    return da, mask


def _data_image(ax):
    return ax.get_images()[-1]


def test_plot_latlon_draws_the_field_and_its_gaps():
    da, mask = _field()
    fig = plot_latlon(da, mask=xr.DataArray(mask, coords=da.coords, dims=da.dims), title="t")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2  # map and colour bar
    ax = fig.axes[0]
    assert ax.get_title() == "t"
    background, image = ax.get_images()
    shown = image.get_array()
    np.testing.assert_array_equal(np.ma.getmaskarray(shown), np.isnan(da.values))
    np.testing.assert_array_equal(shown.filled(-1)[1], da.values[1])
    assert image.origin == "lower" and image.get_extent() == [-180.0, 180.0, -90.0, 90.0]
    rgba = background.get_array()
    np.testing.assert_allclose(rgba[0, 0], to_rgba(LAND_COLOR))  # land
    np.testing.assert_allclose(rgba[0, 2], to_rgba(LAND_COLOR))  # lake
    np.testing.assert_allclose(rgba[5, 6], to_rgba(ICE_COLOR))  # ice
    assert rgba[2, 4, 3] == 0  # a cloud over the sea shows the white axes face
    assert to_rgba(ax.get_facecolor()) == to_rgba("white")
    assert to_rgba(LAND_COLOR) != to_rgba("white")


def test_plot_latlon_orders_latitude_south_to_north():
    ascending, _ = _field()
    descending, _ = _field(descending=True)
    image = _data_image(plot_latlon(descending).axes[0])
    np.testing.assert_array_equal(
        image.get_array().filled(-1), np.nan_to_num(ascending.values, nan=-1)
    )


def test_plot_latlon_without_mask_shows_gaps_as_land_and_uses_given_axes():
    da, _ = _field()
    fig = Figure()
    ax = fig.add_subplot()
    out = plot_latlon(da, ax=ax, colorbar=False)
    assert out is fig and len(fig.axes) == 1
    assert len(ax.get_images()) == 1
    assert to_rgba(ax.get_facecolor()) == to_rgba(LAND_COLOR)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        pytest.param("two-days", "select one", id="several-days"),
        pytest.param("bad-dims", "expected dims", id="not-lat-lon"),
        pytest.param("bad-mask", "mask has shape", id="mask-grid"),
    ],
)
def test_plot_latlon_errors(change, match):
    da, mask = _field()
    kwargs = {}
    if change == "two-days":
        da = xr.concat([da, da], dim="time")
    elif change == "bad-dims":
        da = da.rename(latitude="y")
    else:
        kwargs["mask"] = mask[1:]
    with pytest.raises(ValueError, match=match):
        plot_latlon(da, **kwargs)


def test_plot_sample_day_panels(day):
    l3s, l4 = day
    fig = plot_sample_day(l3s, l4)
    assert len(fig.axes) == 3  # L3S, L4, shared colour bar
    top, bottom = (_data_image(ax) for ax in fig.axes[:2])
    ql = l3s["quality_level"].values[0]
    sst = l3s["sea_surface_temperature"].values[0]
    expected_gaps = np.isnan(sst) | (ql < 5)
    np.testing.assert_array_equal(np.ma.getmaskarray(top.get_array()), expected_gaps)
    np.testing.assert_array_equal(
        np.ma.getmaskarray(bottom.get_array()), np.isnan(l4["analysed_sst"].values[0])
    )
    celsius = bottom.get_array().compressed()
    assert -3 < celsius.min() and celsius.max() < 40  # degC, not kelvin
    np.testing.assert_allclose(
        top.get_array().compressed(), sst[~expected_gaps] - 273.15, rtol=0, atol=1e-4
    )
    assert top.get_clim() == bottom.get_clim()
    assert "L3S" in fig.axes[0].get_title() and "L4" in fig.axes[1].get_title()
    assert fig.axes[2].get_ylabel() == "SST (degC)"


def test_plot_sample_day_zooms_and_checks_its_inputs(day):
    l3s, l4 = day
    fig = plot_sample_day(l3s, l4, extent=(-80, -40, 25, 50), min_quality=2)
    image = _data_image(fig.axes[1])
    assert image.get_array().shape == (25, 40)
    with pytest.raises(ValueError, match="L3S day then the L4 day"):
        plot_sample_day(l4, l3s)
    with pytest.raises(ValueError, match="select one"):
        plot_sample_day(xr.concat([l3s, l3s], dim="time"), l4)


def _healpix_longitudes(nside: int) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = hp.pix2ang(nside, np.arange(12 * nside**2), nest=True, lonlat=True)
    return np.where(lon >= 180, lon - 360, lon), lat


def test_plot_healpix_cart_is_geographic_and_keeps_the_gaps():
    lon, lat = _healpix_longitudes(16)
    values = np.where(lat > 45, np.nan, lon)  # NaN in the north
    fig = plot_healpix(xr.DataArray(values, dims="cells", attrs={"units": "deg"}), title="lon")
    assert isinstance(fig, Figure) and len(fig.axes) == 2  # map and colour bar
    assert fig.number not in plt.get_fignums()  # handed back, not kept by pyplot
    image = fig.axes[0].get_images()[0].get_array()
    rows = np.linspace(-90, 90, image.shape[0])  # origin lower: rows run south to north
    masked = np.ma.getmaskarray(image)
    assert masked[rows > 50].all() and not masked[rows < 40].any()
    equator = image[image.shape[0] // 2, 5:-5]
    assert np.corrcoef(np.arange(equator.size), equator)[0, 1] > 0.95  # east is to the right


@pytest.mark.parametrize(
    ("projection", "kwargs"),
    [
        pytest.param("moll", {}, id="mollweide"),
        pytest.param("gnom", {"rot": (-60.0, 35.0), "reso": 5.0}, id="gnomonic"),
    ],
)
def test_plot_healpix_projections(projection, kwargs):
    lon, lat = _healpix_longitudes(8)
    values = np.where(np.abs(lat) < 10, np.nan, lat)
    fig = plot_healpix(values, projection=projection, **kwargs)
    assert len(fig.axes) == 2
    image = fig.axes[0].get_images()[0].get_array()
    assert np.ma.count(image) > 0
    if projection == "moll":
        assert np.ma.getmaskarray(image)[image.shape[0] // 2].all()  # the NaN equator band
    else:
        assert float(image.min()) > 10  # centred at 35 N, the view sees the north only


@pytest.mark.parametrize(
    ("values", "kwargs", "match"),
    [
        pytest.param(np.zeros(100), {}, "not a full HEALPix map", id="not-healpix"),
        pytest.param(np.zeros(768), {"projection": "orth"}, "projection must be", id="projection"),
        pytest.param(
            xr.DataArray(
                np.zeros(768), dims="cells", coords={"cell_ids": ("cells", np.arange(768)[::-1])}
            ),
            {},
            "cell_ids are 0",
            id="cell-order",
        ),
    ],
)
def test_plot_healpix_errors(values, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_healpix(values, **kwargs)


def _lon_map(nside: int = 16) -> np.ndarray:
    lon, _ = hp.pix2ang(nside, np.arange(12 * nside**2), nest=True, lonlat=True)
    return np.where(lon > 180, lon - 360, lon)


def test_plot_healpix_plate_carree_box_takes_tuples_and_leaves_lists_alone():
    lon = _lon_map()
    fig = plot_healpix(lon, lonra=(-90.0, 0.0), latra=(0.0, 60.0))
    shown = fig.axes[0].get_images()[0].get_array()
    cell = hp.nside2resol(16, arcmin=True) / 60.0
    assert -90.0 - 2 * cell < float(shown.min()) < float(shown.max()) < 2 * cell  # the box
    middle = shown[shown.shape[0] // 2]
    assert middle[-1] > middle[0]  # east is right
    lonra = [170.0, -170.0]  # crosses 180
    plot_healpix(lon, lonra=lonra)
    assert lonra == [170.0, -170.0]  # the caller's list is not rewritten


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"rot": (-60.0, 30.0)}, id="gnomonic-zoom"),
        pytest.param({"lonra": (-90.0, 0.0), "latra": (0.0, 60.0)}, id="plate-carree"),
    ],
)
def test_plot_healpix_panels_are_geographic_and_tell_land_from_gaps(kwargs):
    lon = _lon_map()
    sea = np.abs(lon + 45) > 5  # a meridian strip of land at 45 W
    gappy = np.where(sea, lon, np.nan)
    gappy[(np.abs(lon + 70) < 4) & sea] = np.nan  # a cloud at 70 W
    fig = plot_healpix_panels({"east longitude": lon, "with gaps": gappy}, sea=sea, **kwargs)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 3  # two panels and the shared colour bar
    values = fig.axes[0].get_images()[-1].get_array()
    middle = values[values.shape[0] // 2]
    assert middle[-1] > middle[0]  # longitude grows to the right: east is right
    background = fig.axes[1].get_images()[0].get_array()
    colours = {tuple(np.round(c, 3)) for c in background.reshape(-1, 4) if c[3] > 0}
    assert tuple(np.round(to_rgba(LAND_COLOR), 3)) in colours
    assert tuple(np.round(to_rgba("white"), 3)) in colours  # the cloud, drawn as a gap


def test_plot_healpix_panels_share_one_colour_scale_and_check_inputs():
    lon = _lon_map()
    fig = plot_healpix_panels({"a": lon, "b": lon + 10}, vmin=-20, vmax=20, rot=(0.0, 0.0))
    assert [ax.get_images()[-1].get_clim() for ax in fig.axes[:2]] == [(-20, 20), (-20, 20)]
    with pytest.raises(ValueError, match="empty"):
        plot_healpix_panels({})
    with pytest.raises(ValueError, match="not a full HEALPix map"):
        plot_healpix_panels({"bad": np.zeros(10)})
