"""Any gridded L3 product in (prepare_l3), pixel-level scores out (validate.pixels)."""

from __future__ import annotations

import healpy as hp
import numpy as np
import pytest
import xarray as xr

from eogapfill.landmask import ocean_at
from eogapfill.preprocess import prepare_day, prepare_l3
from eogapfill.validate import hide_source_pixels, pixel_validation
from tests.conftest import TEST_RESOLUTION


@pytest.fixture(scope="module")
def sample_cube(sample_dir):
    """Three days of the sample's L3S as a plain L3 product: lat/lon names, kelvin, no L4."""
    from eogapfill.data import open_l3s, open_l4

    days = slice("2024-06-01", "2024-06-03")
    l3s = open_l3s(days, resolution=TEST_RESOLUTION).load()
    l4 = open_l4(days, resolution=TEST_RESOLUTION).load()
    cube = l3s[["sea_surface_temperature", "quality_level"]].rename(latitude="lat", longitude="lon")
    return cube, l3s, l4


def test_prepare_l3_equals_prepare_day_with_the_same_sea(sample_cube):
    cube, l3s, l4 = sample_cube
    sea = (l4["mask"].isel(time=0) == 1).rename(latitude="lat", longitude="lon")
    prepared = prepare_l3(cube, sea=sea)
    assert prepared["SST_L3S"].dims == ("time", "latitude", "longitude")
    assert prepared["SST_L3S"].attrs["units"] == "degC"
    for i in range(3):
        day = prepare_day(l3s.isel(time=[i]), l4.isel(time=[i]))
        if i == 0:  # the mask of day 0 is the one given; later days have other ice
            np.testing.assert_array_equal(
                prepared["SST_L3S"].isel(time=i).values, day["SST_L3S"].values
            )
        assert np.all(np.diff(prepared["latitude"].values) > 0)


def test_prepare_l3_descending_latitude_and_quality(sample_cube):
    cube, _, _ = sample_cube
    flipped = cube.isel(lat=slice(None, None, -1))
    a = prepare_l3(cube, sea="observed")
    b = prepare_l3(flipped, sea="observed")
    xr.testing.assert_identical(a["SST_L3S"], b["SST_L3S"])
    kept = prepare_l3(cube, sea="observed", min_quality=3)
    assert int(kept["SST_L3S"].notnull().sum()) > int(a["SST_L3S"].notnull().sum())
    bare = prepare_l3(cube.drop_vars("quality_level"), sea="observed")
    assert bare.attrs["quality_filter"] == "no quality variable"


def _fine_box() -> xr.Dataset:
    """A 0.05 degree box on the Strait of Gibraltar, SST everywhere (land included), kelvin."""
    lat = np.arange(35.025, 37.0, 0.05)
    lon = np.arange(-6.975, -4.0, 0.05)
    rng = np.random.default_rng(0)
    sst = 291.0 + rng.normal(0.0, 0.3, (lat.size, lon.size))
    return xr.Dataset(
        {"sst": (("y", "x"), sst, {"units": "K", "standard_name": "sea_surface_temperature"})},
        coords={
            "y": ("y", lat, {"standard_name": "latitude", "units": "degrees_north"}),
            "x": ("x", lon, {"standard_name": "longitude", "units": "degrees_east"}),
        },
    )


def test_prepare_l3_land_mask_never_makes_land_sea():
    box = _fine_box()
    prepared = prepare_l3(box)  # CF names, standard_name, the GLOBE land mask
    ocean = ocean_at(box["y"].values, box["x"].values)
    assert 0.2 < ocean.mean() < 0.8  # both sides of the strait
    np.testing.assert_array_equal(prepared["sea"].values, ocean)
    sst = prepared["SST_L3S"].values
    assert np.isnan(sst[~ocean]).all()  # land values dropped, even though the product had some
    np.testing.assert_allclose(sst[ocean], box["sst"].values[ocean] - 273.15, atol=1e-9)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        pytest.param(lambda d: d.assign(sst=d.sst - 273.15), "look like degC", id="celsius-as-K"),
        pytest.param(
            lambda d: d.assign(sst=d.sst.assign_attrs(units=None)), "units", id="no-units"
        ),
        pytest.param(
            lambda d: d.rename(sst="t").assign(
                t=lambda x: x.t.assign_attrs(standard_name="air_temperature")
            ),
            "which variable",
            id="no-sst",
        ),
        pytest.param(lambda d: d.assign(sst=d.sst * np.nan), "no observed sea", id="empty"),
    ],
)
def test_prepare_l3_refuses_bad_products(change, match):
    box = _fine_box()
    bad = change(box)
    if "sst" in bad and bad["sst"].attrs.get("units") is None:
        bad["sst"].attrs.pop("units", None)
    with pytest.raises(ValueError, match=match):
        prepare_l3(
            bad,
            sea=xr.DataArray(
                np.ones((box.y.size, box.x.size), bool),
                dims=("y", "x"),
                coords={"y": box.y, "x": box.x},
            ),
        )


def test_hide_source_pixels_hides_clear_pixels_under_the_pattern(sample_cube):
    cube, _, _ = sample_cube
    prepared = prepare_l3(cube, sea="observed")
    day, other = prepared.isel(time=0), prepared.isel(time=1)
    hidden_day, hidden = hide_source_pixels(day, other)
    expected = day["sea"] & day["SST_L3S"].notnull() & other["SST_L3S"].isnull() & other["sea"]
    np.testing.assert_array_equal(hidden.values, expected.values)
    assert np.isnan(hidden_day["SST_L3S"].values[hidden.values]).all()
    keep = ~hidden.values
    np.testing.assert_array_equal(hidden_day["SST_L3S"].values[keep], day["SST_L3S"].values[keep])


def test_pixel_scores_count_partly_clear_cells_as_observed(sample_cube):
    """A constant fill scored by hand: hidden pixels whose cell keeps a clear pixel get the
    mean of the clear ones (never the fill), the others get the fill."""
    cube, _, _ = sample_cube
    prepared = prepare_l3(cube, sea="observed")
    day, other = prepared.isel(time=0), prepared.isel(time=1)
    nside, value = 16, 15.0

    def constant(sst, gaps):
        return xr.Dataset({"filled": sst.where(~gaps, value)}, attrs={"protocol": "honest"})

    table = pixel_validation(day, other, nside, {"constant": constant}, progress=False)
    row = table.iloc[0]

    # brute force on the lat/lon pixels
    hidden_day, hidden = hide_source_pixels(day, other)
    lon2, lat2 = np.meshgrid(day["longitude"].values, day["latitude"].values)
    pix = hp.ang2pix(nside, lon2, lat2, nest=True, lonlat=True)
    clear = hidden_day["SST_L3S"].values
    ok = np.isfinite(clear)
    sums = np.bincount(pix[ok], clear[ok], minlength=12 * nside**2)
    counts = np.bincount(pix[ok], minlength=12 * nside**2)
    npix = 12 * nside**2
    sea_cell = np.bincount(pix.ravel(), day["sea"].values.ravel(), minlength=npix) >= 0.5 * (
        np.bincount(pix.ravel(), minlength=npix)
    )
    h = hidden.values & sea_cell[pix]  # pixels on cells the grid keeps as sea are scored
    keeps_clear = counts[pix[h]] > 0
    prediction = np.where(keeps_clear, sums[pix[h]] / np.maximum(counts[pix[h]], 1), value)
    truth = day["SST_L3S"].values[h]
    assert row["n_pixels"] == h.sum()
    assert row["n_pixels"] + row["n_unscored"] == hidden.values.sum()
    assert row["in_observed_cells"] == keeps_clear.sum() > 0
    expected = np.sqrt(np.mean((prediction - truth) ** 2))
    assert row["pixel_rmse"] == pytest.approx(expected, rel=1e-6)
    assert row["n_cells"] > 0 and np.isfinite(row["cell_rmse"])


def test_pixel_validation_regional_oi_beats_a_constant(sample_cube):
    cube, _, _ = sample_cube
    prepared = prepare_l3(cube, sea="observed")
    day, other = prepared.isel(time=0), prepared.isel(time=2)
    table = pixel_validation(
        day, other, 32, region=(-80.0, -20.0, 0.0, 50.0), n_members=2, progress=False
    )
    assert {"laplace", "oi"} <= set(table.method)
    assert (table.protocol == "honest").all()
    oi = table.set_index("method").loc["oi"]
    spread = float(np.nanstd(day["SST_L3S"].values))
    assert oi.pixel_rmse < 0.5 * spread  # far better than the climatological constant
    assert oi.pixel_crps <= oi.pixel_mae + 1e-12


def test_prepare_day_names_a_nan_coordinate(sample_cube):
    _, l3s, l4 = sample_cube
    broken = l3s.isel(time=[0]).copy()
    lat = broken["latitude"].values.copy()
    lat[3] = np.nan
    broken = broken.assign_coords(latitude=lat)
    with pytest.raises(ValueError, match="L3S latitude coordinate has 1 NaN"):
        prepare_day(broken, l4.isel(time=[0]))
