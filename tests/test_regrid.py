"""Regridding lat/lon days to HEALPix and back: geography, cell means, dask, input checks."""

from __future__ import annotations

import dask
import healpy as hp
import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from eogapfill.healpix import decode, healpix_dataset
from eogapfill.regrid import to_healpix, to_latlon


def _axes(resolution: float) -> tuple[np.ndarray, np.ndarray]:
    lat = np.arange(-90 + resolution / 2, 90, resolution)
    lon = np.arange(-180 + resolution / 2, 180, resolution)
    return lat, lon


def make_day(
    resolution: float = 2.0,
    *,
    seed: int = 0,
    sea: np.ndarray | None = None,
    cloud: float = 0.3,
    lat: np.ndarray | None = None,
    lon: np.ndarray | None = None,
) -> xr.Dataset:
    """A synthetic lat/lon day in the schema of ``prepare_day`` (degC, NaN off the sea)."""
    rng = np.random.default_rng(seed)
    if lat is None or lon is None:
        lat, lon = _axes(resolution)
    shape = (lat.size, lon.size)
    if sea is None:
        sea = rng.random(shape) > 0.3
    lat2 = np.broadcast_to(lat[:, None], shape)
    truth = (28.0 * np.cos(np.deg2rad(lat2)) - 1.0 + rng.normal(0, 0.5, shape)).astype("float32")
    sst_l4 = np.where(sea, truth, np.nan).astype("float32")
    sst_l3s = np.where(sea & (rng.random(shape) >= cloud), truth, np.nan).astype("float32")
    dims = ("latitude", "longitude")
    return xr.Dataset(
        {
            "SST_L3S": (dims, sst_l3s, {"units": "degC", "long_name": "observed SST"}),
            "SST_L4": (dims, sst_l4, {"units": "degC"}),
            "sea": (dims, np.asarray(sea, dtype=bool)),
        },
        coords={"latitude": lat, "longitude": lon, "time": np.datetime64("2024-06-01", "ns")},
        attrs={"title": "synthetic day"},
    )


def _source_cells(day: xr.Dataset, nside: int) -> np.ndarray:
    lon2, lat2 = np.meshgrid(day.longitude.values, day.latitude.values)
    return hp.ang2pix(nside, lon2.ravel(), lat2.ravel(), nest=True, lonlat=True)


def _unit_vectors(lon_deg: np.ndarray, lat_deg: np.ndarray) -> np.ndarray:
    lon, lat = np.deg2rad(lon_deg), np.deg2rad(lat_deg)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], -1)


class _CountingScheduler:
    """A dask scheduler that fails when asked to compute more often than allowed."""

    def __init__(self, max_computes: int = 0) -> None:
        self.total = 0
        self.max_computes = max_computes

    def __call__(self, dsk, keys, **kwargs):
        self.total += 1
        if self.total > self.max_computes:
            raise RuntimeError(f"dask computed {self.total} times, {self.max_computes} allowed")
        return dask.get(dsk, keys, **kwargs)


# ------------------------------------------------------------------------------------------
# contract
# ------------------------------------------------------------------------------------------
def test_contract_variables_attrs_and_time():
    day = make_day(2.0)
    ds = to_healpix(day, 8, sea_threshold=0.6)
    assert ds.sizes == {"cells": 12 * 8**2}
    assert set(ds.data_vars) == {
        "SST_L3S",
        "SST_L4",
        "sea_fraction",
        "coverage",
        "observed_lon",
        "observed_lat",
        "sea",
        "gap",
    }
    assert dict(ds.cell_ids.attrs) == {
        "grid_name": "healpix",
        "level": 3,
        "indexing_scheme": "nested",
    }
    np.testing.assert_array_equal(ds.cell_ids.values, np.arange(768))
    assert ds.sea.dtype == bool and ds.gap.dtype == bool
    assert ds.SST_L3S.dtype == np.float32
    assert ds.SST_L3S.attrs["units"] == "degC" and ds.SST_L3S.attrs["long_name"] == "observed SST"
    assert ds.time.values == day.time.values
    assert ds.attrs["title"] == "synthetic day"
    assert ds.attrs["healpix_nside"] == 8 and ds.attrs["sea_threshold"] == 0.6
    # sea and gap follow the rules, land stays NaN
    np.testing.assert_array_equal(ds.sea.values, ds.sea_fraction.values >= 0.6)
    np.testing.assert_array_equal(ds.gap.values, ds.sea.values & ds.SST_L3S.isnull().values)
    assert ds.SST_L4.where(~ds.sea).isnull().all()
    assert ds.SST_L4.where(ds.sea).notnull().sum() == ds.sea.sum()
    # decoding with xdggs works on the result
    assert decode(ds).dggs.grid_info.level == 3


def test_length_one_time_dim_is_squeezed():
    day = make_day(2.0).expand_dims("time")
    ds = to_healpix(day, 4)
    assert "time" not in ds.dims and ds.time.ndim == 0


# ------------------------------------------------------------------------------------------
# geography
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("nside", "lon_convention", "lat_order"),
    [
        pytest.param(4, "-180..180", "ascending", id="nside4"),
        pytest.param(16, "-180..180", "ascending", id="nside16"),
        pytest.param(16, "0..360", "ascending", id="nside16-lon0-360"),
        pytest.param(16, "-180..180", "descending", id="nside16-lat-descending"),
    ],
)
def test_cell_centres_lie_near_the_points_averaged_into_them(nside, lon_convention, lat_order):
    """Average the unit vectors of the source points: the mean lies in the cell (xdggs centre)."""
    lat, lon = _axes(1.0)
    if lon_convention == "0..360":
        lon = np.sort(np.mod(lon, 360.0))
    if lat_order == "descending":
        lat = lat[::-1]
    lon2, lat2 = np.meshgrid(lon, lat)
    xyz = _unit_vectors(lon2, lat2)
    dims = ("latitude", "longitude")
    day = xr.Dataset(
        {"x": (dims, xyz[..., 0]), "y": (dims, xyz[..., 1]), "z": (dims, xyz[..., 2])},
        coords={"latitude": lat, "longitude": lon},
    )
    day["sea"] = xr.ones_like(day.x, dtype=bool)
    ds = to_healpix(day, nside, variables=("x", "y", "z"))
    centres = decode(ds).dggs.cell_centers()
    centre = _unit_vectors(centres.longitude.values, centres.latitude.values)
    mean = np.stack([ds.x.values, ds.y.values, ds.z.values], -1)
    mean /= np.linalg.norm(mean, axis=-1, keepdims=True)
    angle = np.arccos(np.clip((mean * centre).sum(-1), -1, 1))
    assert angle.max() <= hp.max_pixrad(nside)
    # a mirrored grid would put the eastern hemisphere's points into western cells
    east = (centres.longitude.values % 360 > 10) & (centres.longitude.values % 360 < 170)
    assert (np.arctan2(ds.y.values, ds.x.values)[east] > 0).all()


# (lon, lat, sea?): mirrored pairs, so that an east-west flip fails
CONTINENT_POINTS = [
    pytest.param(20.0, 20.0, False, id="Sahara-20E"),
    pytest.param(-30.0, 20.0, True, id="Atlantic-30W"),
    pytest.param(135.0, -25.0, False, id="Australia"),
    pytest.param(-135.0, -25.0, True, id="South-Pacific-mirror-of-Australia"),
    pytest.param(-60.0, -5.0, False, id="Amazon"),
    pytest.param(60.0, -5.0, True, id="Indian-Ocean-mirror-of-Amazon"),
    pytest.param(-35.0, 45.0, True, id="North-Atlantic"),
    pytest.param(45.0, 45.0, False, id="Caspian-steppe-mirror-of-North-Atlantic"),
    pytest.param(-150.0, 0.0, True, id="central-Pacific"),
]


@pytest.fixture(scope="module")
def land_day() -> xr.Dataset:
    globe = pytest.importorskip("global_land_mask.globe")
    lat, lon = _axes(1.0)
    lon2, lat2 = np.meshgrid(lon, lat)
    return make_day(lat=lat, lon=lon, sea=~globe.is_land(lat2, lon2), cloud=0.0)


@pytest.mark.parametrize(("lon", "lat", "is_sea"), CONTINENT_POINTS)
def test_known_land_mask_lands_on_the_right_continents(land_day, lon, lat, is_sea):
    ds = to_healpix(land_day, 16)
    cell = hp.ang2pix(16, lon, lat, nest=True, lonlat=True)
    assert bool(ds.sea.values[cell]) is is_sea
    assert np.isnan(ds.SST_L4.values[cell]) is not is_sea


def test_land_mask_round_trip_agrees_with_the_mask(land_day):
    back = to_latlon(to_healpix(land_day, 32), resolution=1.0)
    np.testing.assert_array_equal(back.latitude, land_day.latitude)
    agree = (back.sea.values == land_day.sea.values).mean()
    assert agree > 0.93
    # the mirrored map would agree much less
    assert (back.sea.values[:, ::-1] == land_day.sea.values).mean() < agree - 0.15


# ------------------------------------------------------------------------------------------
# numbers
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("threshold", [pytest.param(0.5, id="t0.5"), pytest.param(0.8, id="t0.8")])
def test_cell_means_equal_a_brute_force_loop(threshold):
    day = make_day(2.0, seed=3, cloud=0.5)
    nside = 8
    ds = to_healpix(day, nside, sea_threshold=threshold)
    cells = _source_cells(day, nside)
    l3s, l4 = day.SST_L3S.values.ravel(), day.SST_L4.values.ravel()
    sea = day.sea.values.ravel()
    for cell in range(12 * nside**2):
        inside = cells == cell
        fraction = sea[inside].mean()
        assert ds.sea_fraction.values[cell] == pytest.approx(fraction, rel=1e-6)
        is_sea = fraction >= threshold
        assert ds.sea.values[cell] == is_sea
        for name, values in (("SST_L3S", l3s), ("SST_L4", l4)):
            valid = values[inside & np.isfinite(values)].astype("float64")
            expected = valid.mean() if is_sea and valid.size else np.nan
            np.testing.assert_allclose(ds[name].values[cell], expected, rtol=1e-6)
        assert ds.gap.values[cell] == (is_sea and not np.isfinite(l3s[inside]).any())


def test_land_values_never_reach_a_land_cell():
    """A land cell stays NaN even when the input (wrongly) has values on land."""
    day = make_day(2.0, seed=1)
    day["SST_L4"] = day.SST_L4.fillna(20.0)  # values everywhere, land included
    ds = to_healpix(day, 8)
    assert ds.SST_L4.where(~ds.sea).isnull().all()
    assert not ds.gap.where(~ds.sea, False).any()


@pytest.mark.parametrize(
    ("nside", "chunks"),
    [
        pytest.param(8, {"latitude": 17, "longitude": 50}, id="nside8-2d-chunks"),
        pytest.param(64, {"latitude": 23, "longitude": -1}, id="nside64-bands-nearest-cells"),
    ],
)
def test_dask_input_is_lazy_and_matches_numpy(nside, chunks):
    day = make_day(2.0, seed=5)
    expected = to_healpix(day, nside) if nside == 8 else None
    if expected is None:
        with pytest.warns(UserWarning, match="finer than the source grid"):
            expected = to_healpix(day, nside)
    lazy_day = day.chunk(chunks)
    with dask.config.set(scheduler=_CountingScheduler(0)):
        if nside == 8:
            lazy = to_healpix(lazy_day, nside)
        else:
            with pytest.warns(UserWarning, match="finer than the source grid"):
                lazy = to_healpix(lazy_day, nside)
    assert all(lazy[name].chunks is not None for name in lazy.data_vars)
    result = lazy.compute()
    for name in expected.data_vars:
        np.testing.assert_allclose(result[name].values, expected[name].values, rtol=1e-6)
        assert result[name].dtype == expected[name].dtype
    assert result.attrs == expected.attrs


def test_cells_without_a_source_point_copy_their_nearest_point():
    day = make_day(2.0, seed=2, cloud=0.0)  # clear sky: no gap may appear
    nside = 64
    with pytest.warns(UserWarning, match=r"finer than the source grid.*nside <= 16"):
        ds = to_healpix(day, nside)
    counts = np.bincount(_source_cells(day, nside), minlength=12 * nside**2)
    empty = np.flatnonzero(counts == 0)
    assert ds.attrs["regrid_nearest_cells"] == empty.size > 0
    assert ds.attrs["regrid_outside_cells"] == 0
    assert not ds.gap.any()
    assert ds.sea_fraction.notnull().all()
    # each empty cell holds the value of the grid point nearest to its centre
    clon, clat = hp.pix2ang(nside, empty, nest=True, lonlat=True)
    rows = np.abs(day.latitude.values[:, None] - clat).argmin(0)
    dlon = np.abs((day.longitude.values[:, None] - clon + 180.0) % 360.0 - 180.0)
    cols = dlon.argmin(0)
    np.testing.assert_array_equal(ds.sea.values[empty], day.sea.values[rows, cols])
    np.testing.assert_array_equal(ds.SST_L4.values[empty], day.SST_L4.values[rows, cols])


def test_regional_grid_leaves_the_rest_of_the_sphere_without_data():
    lat = np.arange(0.25, 30, 0.5)
    lon = np.arange(-39.75, 0, 0.5)
    day = make_day(lat=lat, lon=lon, sea=np.ones((lat.size, lon.size), bool))
    ds = to_healpix(day, 16)
    clon, clat = hp.pix2ang(16, np.arange(12 * 16**2), nest=True, lonlat=True)
    far = (clat < -10) | (clat > 40) | ((clon > 10) & (clon < 310))
    assert ds.attrs["regrid_outside_cells"] >= far.sum()
    assert not ds.sea.values[far].any() and not ds.gap.values[far].any()
    assert ds.sea_fraction[far].isnull().all()
    centre = (clat > 5) & (clat < 25) & (clon > 325) & (clon < 355)
    assert ds.sea.values[centre].all()


@settings(max_examples=12, deadline=None)
@given(
    nside=st.sampled_from([1, 2, 4, 8]),
    resolution=st.sampled_from([0.5, 1.0, 1.5]),
    seed=st.integers(0, 2**32 - 1),
)
def test_cell_constant_field_survives_to_latlon_and_back(nside, resolution, seed):
    rng = np.random.default_rng(seed)
    npix = 12 * nside**2
    field = rng.normal(15.0, 8.0, npix).astype("float32")
    cells = healpix_dataset(
        {"SST_L3S": field, "SST_L4": field, "sea": np.ones(npix, bool)}, nside=nside
    )
    grid = to_latlon(cells, resolution=resolution)
    back = to_healpix(grid, nside)
    assert back.attrs["regrid_nearest_cells"] == 0
    np.testing.assert_array_equal(back.SST_L3S.values, field)
    np.testing.assert_array_equal(back.SST_L4.values, field)
    assert back.sea.all() and not back.gap.any()


# ------------------------------------------------------------------------------------------
# to_latlon
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kind",
    [
        pytest.param("dataset", id="dataset"),
        pytest.param("dataarray", id="dataarray"),
        pytest.param("decoded", id="decoded-by-xdggs"),
    ],
)
def test_to_latlon_samples_the_cell_containing_each_point(kind):
    nside = 8
    obj = healpix_dataset({"id": np.arange(12 * nside**2) * 1.0}, nside)
    obj = {"dataset": obj, "dataarray": obj["id"], "decoded": decode(obj)}[kind]
    lat = np.array([-80.0, -20.0, 0.5, 45.0, 89.0])
    lon = np.array([0.0, 20.0, 200.0, 340.0])  # 0..360 accepted, kept as given
    out = to_latlon(obj, latitude=lat, longitude=lon)
    values = out["id"] if kind != "dataarray" else out
    assert values.dims == ("latitude", "longitude")
    np.testing.assert_array_equal(values.longitude, lon)
    lon2, lat2 = np.meshgrid(lon, lat)
    expected = hp.ang2pix(nside, lon2, lat2, nest=True, lonlat=True)
    np.testing.assert_array_equal(values.values, expected)
    # 200E is 160W: not mirrored to 160E
    assert values.values[2, 2] == hp.ang2pix(nside, -160.0, 0.5, nest=True, lonlat=True)
    assert values.values[2, 2] != hp.ang2pix(nside, 160.0, 0.5, nest=True, lonlat=True)


def test_to_latlon_default_grid_and_dask():
    ds = to_healpix(make_day(2.0), 4).chunk({"cells": 50})
    out = to_latlon(ds)
    assert out.sizes == {"latitude": 720, "longitude": 1440}
    assert out.latitude[0] == -89.875 and out.longitude[-1] == 179.875
    assert out.SST_L3S.chunks is not None
    assert out.time.values == ds.time.values


# ------------------------------------------------------------------------------------------
# warnings and errors
# ------------------------------------------------------------------------------------------
def test_all_cloud_day_warns_and_every_sea_cell_is_a_gap():
    day = make_day(2.0, cloud=1.0)
    with pytest.warns(UserWarning, match="no observation in any sea cell"):
        ds = to_healpix(day, 8)
    assert ds.sea.any()
    np.testing.assert_array_equal(ds.gap.values, ds.sea.values)


def _curvilinear(day: xr.Dataset) -> xr.Dataset:
    lon2, lat2 = np.meshgrid(day.longitude.values, day.latitude.values)
    plain = day.drop_vars(["latitude", "longitude"]).rename(latitude="y", longitude="x")
    return plain.assign_coords(lat=(("y", "x"), lat2), lon=(("y", "x"), lon2))


def _glitch(day: xr.Dataset) -> xr.Dataset:
    """One observed value of 1e6 (a glitch pixel), the rest untouched."""
    sst = day.SST_L3S.copy()
    i, j = np.argwhere(np.isfinite(sst.values))[0]
    sst[i, j] = 1e6
    return day.assign(SST_L3S=sst)


BAD_INPUTS = [
    pytest.param(lambda d: d, {"nside": 100}, "power of two.*64 or 128", id="nside-not-power-of-2"),
    pytest.param(lambda d: d, {"nside": 0}, "positive integer", id="nside-zero"),
    pytest.param(lambda d: d, {"sea_threshold": 0.0}, "sea_threshold", id="threshold-zero"),
    pytest.param(lambda d: d, {"sea_threshold": 1.5}, "sea_threshold", id="threshold-above-one"),
    pytest.param(
        lambda d: d.drop_vars("SST_L4"),
        {},
        r"lacks variable\(s\) \['SST_L4'\].*present: \['SST_L3S', 'sea'\]",
        id="missing-variable",
    ),
    pytest.param(lambda d: d.drop_vars("sea"), {}, r"\['sea'\].*mask == 1", id="missing-sea"),
    pytest.param(
        lambda d: d.isel(latitude=np.r_[5:20, 0:5, 20:90]),
        {},
        "latitude must be strictly monotonic.*sortby",
        id="latitude-not-monotonic",
    ),
    pytest.param(
        lambda d: d.assign_coords(longitude=np.linspace(-100, 260, 180)),
        {},
        "mixes the -180..180 and 0..360",
        id="mixed-longitude",
    ),
    pytest.param(
        lambda d: d.assign_coords(latitude=np.linspace(-95, 95, 90)),
        {},
        r"latitude must lie in \[-90, 90\]",
        id="latitude-out-of-range",
    ),
    pytest.param(
        _curvilinear,
        {},
        r"dims \('y', 'x'\).*\('latitude', 'longitude'\)",
        id="curvilinear-grid",
    ),
    pytest.param(
        lambda d: d.drop_vars("time").expand_dims(time=2),
        {},
        r"select one time with day.isel\(time=i\)",
        id="several-times",
    ),
    pytest.param(
        lambda d: d.assign(SST_L3S=(d.SST_L3S + 273.15).assign_attrs(units="K")),
        {},
        "kelvin",
        id="kelvin-units",
    ),
    pytest.param(
        lambda d: d.assign(SST_L3S=(d.SST_L3S * 1.8 + 32).assign_attrs(units="degree_Fahrenheit")),
        {},
        "is in degF",
        id="fahrenheit-units",
    ),
    pytest.param(
        lambda d: d.assign(SST_L3S=(d.SST_L3S + 273.15).assign_attrs(units="degC")),
        {},
        "is it kelvin",
        id="kelvin-values-labelled-degC",
    ),
    pytest.param(
        _glitch,
        {},
        r"1 of \d+ cells with means above 100 degC \(up to [\d.e+]+\) at lon -?\d"
        r".*glitches.*check_sst",
        id="one-glitch-pixel-is-not-kelvin",
    ),
    pytest.param(
        lambda d: d.assign(sea=d.sea & False),
        {},
        "no sea cell",
        id="empty-sea-mask",
    ),
]


@pytest.mark.parametrize(("change", "kwargs", "match"), BAD_INPUTS)
def test_bad_inputs_raise_clear_errors(change, kwargs, match):
    day = change(make_day(2.0))
    kwargs = {"nside": 8, **kwargs}
    nside = kwargs.pop("nside")
    with pytest.raises(ValueError, match=match):
        to_healpix(day, nside, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"resolution": 0.7}, "divide 180", id="resolution-not-dividing-180"),
        pytest.param({"resolution": -1.0}, "positive", id="negative-resolution"),
        pytest.param({"latitude": [0.0, 1.0]}, "both latitude and longitude", id="only-latitude"),
        pytest.param(
            {"latitude": [0.0, 1.0], "longitude": [0.0, 1.0], "resolution": 1.0},
            "not both",
            id="resolution-and-axes",
        ),
        pytest.param(
            {"latitude": [0.0, 1.0], "longitude": [-10.0, 200.0]}, "mixes", id="mixed-longitude"
        ),
        pytest.param(
            {"latitude": [1.0, 0.0, 2.0], "longitude": [0.0, 1.0]}, "monotonic", id="unsorted"
        ),
        pytest.param(
            {"latitude": np.zeros((2, 2)), "longitude": [0.0, 1.0]}, "1-D", id="latitude-2d"
        ),
    ],
)
def test_to_latlon_bad_inputs(kwargs, match):
    ds = healpix_dataset({"x": np.zeros(48)}, nside=2)
    with pytest.raises(ValueError, match=match):
        to_latlon(ds, **kwargs)


def test_to_latlon_needs_a_healpix_object():
    with pytest.raises(ValueError, match="to_healpix"):
        to_latlon(make_day(2.0))


# ------------------------------------------------------------------------------------------
# the generated sample
# ------------------------------------------------------------------------------------------
def test_sample_day_regrids(sample_day):
    ds = to_healpix(sample_day, 16)
    assert 0.5 < float(ds.sea.mean()) < 0.8  # the ocean is about 70% of the sphere
    assert 0 < int(ds.gap.sum()) < int(ds.sea.sum())
    assert ds.SST_L4.where(ds.sea).notnull().sum() == ds.sea.sum()
    assert -3 < float(ds.SST_L4.min()) and float(ds.SST_L4.max()) < 40
    observed = ds.sea & ~ds.gap
    diff = (ds.SST_L3S - ds.SST_L4).where(observed)
    assert float(abs(diff).mean()) < 2.0
