"""The generated sample: Copernicus Marine schema, realism, determinism and the Zarr stores."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import ndimage, stats

from eogapfill import sample
from eogapfill.sample import (
    SAMPLE_START,
    generate_day,
    oisst_base,
    sample_grid,
    sample_store,
    write_sample,
)

RES = 1.0  # degrees: small and fast; the same generator as 0.25 and 0.1
NEXT_DAY = "2024-06-02"
FAR_DAY = "2024-07-20"  # 49 days later


@pytest.fixture(scope="module")
def day1() -> tuple[xr.Dataset, xr.Dataset]:
    return generate_day(SAMPLE_START, resolution=RES)


@pytest.fixture(scope="module")
def day2() -> tuple[xr.Dataset, xr.Dataset]:
    return generate_day(NEXT_DAY, resolution=RES)


@pytest.fixture(scope="module")
def far_day() -> tuple[xr.Dataset, xr.Dataset]:
    return generate_day(FAR_DAY, resolution=RES)


def _arrays(pair):
    l3s, l4 = pair
    return (
        l3s["sea_surface_temperature"].values[0],
        l3s["quality_level"].values[0],
        l4["mask"].values[0],
        l4["analysed_sst"].values[0],
    )


def _area(l4: xr.Dataset) -> np.ndarray:
    lat = l4["latitude"].values.astype(float)
    return np.broadcast_to(np.cos(np.deg2rad(lat))[:, None], l4["mask"].shape[1:])


def _cell(ds: xr.Dataset, lat: float, lon: float) -> dict:
    return {
        "latitude": int(np.abs(ds["latitude"].values - lat).argmin()),
        "longitude": int(np.abs(ds["longitude"].values - lon).argmin()),
    }


def _wrap_neighbours(mask: np.ndarray, connectivity: int) -> np.ndarray:
    """Cells with a neighbour in ``mask`` (periodic in longitude)."""
    padded = np.pad(mask, ((0, 0), (1, 1)), mode="wrap")
    structure = ndimage.generate_binary_structure(2, connectivity)
    return ndimage.binary_dilation(padded, structure=structure)[:, 1:-1]


# --------------------------------------------------------------------------------------------
# schema
# --------------------------------------------------------------------------------------------
def test_grid_is_cell_centres_ascending():
    for r in (1.0, 0.25, 0.1):
        lat, lon = sample_grid(r)
        assert lat.size == round(180 / r) and lon.size == round(360 / r)
        np.testing.assert_allclose([lat[0], lat[-1]], [-90 + r / 2, 90 - r / 2])
        np.testing.assert_allclose([lon[0], lon[-1]], [-180 + r / 2, 180 - r / 2])
        assert np.all(np.diff(lat) > 0) and np.all(np.diff(lon) > 0)


def test_l3s_schema(day1):
    l3s, _ = day1
    lat, lon = sample_grid(RES)
    assert set(l3s.data_vars) == {"sea_surface_temperature", "quality_level"}
    assert dict(l3s.sizes) == {"time": 1, "latitude": lat.size, "longitude": lon.size}
    np.testing.assert_allclose(l3s["latitude"].values, lat)
    np.testing.assert_allclose(l3s["longitude"].values, lon)
    assert str(l3s["time"].values[0])[:10] == SAMPLE_START
    sst, ql = l3s["sea_surface_temperature"], l3s["quality_level"]
    assert sst.dims == ("time", "latitude", "longitude")
    assert sst.dtype == np.float32 and ql.dtype == np.int8
    assert sst.attrs["units"] == "kelvin"
    assert sst.attrs["standard_name"] == "sea_surface_subskin_temperature"
    assert sst.attrs["valid_min"] < float(sst.min()) < float(sst.max()) < sst.attrs["valid_max"]
    assert list(ql.attrs["flag_values"]) == [0, 1, 2, 3, 4, 5]
    assert ql.attrs["flag_meanings"].split()[0] == "no_data"
    assert ql.attrs["flag_meanings"].split()[-1] == "best_quality"
    assert set(np.unique(ql.values)) <= {0, 1, 2, 3, 4, 5}


def test_l4_schema(day1):
    _, l4 = day1
    assert set(l4.data_vars) == {"analysed_sst", "analysis_error", "sea_ice_fraction", "mask"}
    for name in ("analysed_sst", "analysis_error", "sea_ice_fraction"):
        assert l4[name].dtype == np.float32, name
    assert l4["mask"].dtype == np.int8
    assert l4["analysed_sst"].attrs["units"] == "kelvin"
    assert l4["analysis_error"].attrs["units"] == "kelvin"
    assert l4["sea_ice_fraction"].attrs["standard_name"] == "sea_ice_area_fraction"
    assert list(l4["mask"].attrs["flag_masks"]) == [1, 2, 4, 8]
    assert l4["mask"].attrs["flag_meanings"] == "sea land lake ice"
    assert set(np.unique(l4["mask"].values)) == {1, 2, 4, 9}
    kelvin = l4["analysed_sst"].values
    assert 270.0 < np.nanmin(kelvin) and np.nanmax(kelvin) < 310.0  # kelvin, not degC
    error = l4["analysis_error"].values
    assert np.nanmin(error) > 0 and np.nanmax(error) < 2


def test_global_attributes_cite_the_base(day1):
    for ds in day1:
        assert "10.1175/JCLI-D-20-0166.1" in ds.attrs["references"]
        assert "OISST" in ds.attrs["source"] and "eogapfill" in ds.attrs["source"]
        assert "not observations" in ds.attrs["comment"]
        assert ds.attrs["eogapfill_seed"] == 0 and ds.attrs["eogapfill_resolution"] == RES


def test_packaged_base_is_the_oisst_day():
    base = oisst_base()
    assert base.shape == (720, 1440) and base.attrs["units"] == "degC"
    assert "JCLI-D-20-0166.1" in base.attrs["references"]
    values = base.values
    assert -1.9 < np.nanmin(values) and np.nanmax(values) < 37
    assert 0.25 < np.isnan(values).mean() < 0.4  # land
    assert np.isfinite(base.sel(latitude=0.125, longitude=-150.125).item())
    assert np.isnan(base.sel(latitude=23.125, longitude=10.125).item())  # Sahara


# --------------------------------------------------------------------------------------------
# determinism
# --------------------------------------------------------------------------------------------
def test_same_date_and_seed_give_the_same_bytes(day1):
    again = generate_day(np.datetime64(SAMPLE_START), resolution=RES, seed=0)
    for a, b in zip(day1, again, strict=True):
        xr.testing.assert_identical(a, b)
        for name in a.data_vars:
            assert a[name].values.tobytes() == b[name].values.tobytes()


def test_dates_and_seeds_change_the_day(day1, day2):
    sst1, _, _, l4_1 = _arrays(day1)
    sst2, _, _, l4_2 = _arrays(day2)
    assert not np.array_equal(np.isnan(sst1), np.isnan(sst2))  # other clouds
    assert np.nanmax(np.abs(l4_1 - l4_2)) > 0.5
    other_seed = generate_day(SAMPLE_START, resolution=RES, seed=1)
    _, _, _, l4_seed = _arrays(other_seed)
    assert np.nanmax(np.abs(l4_1 - l4_seed)) > 0.5
    # the geography stays; only the ice may move
    np.testing.assert_array_equal(day1[1]["mask"].values & 7, day2[1]["mask"].values & 7)


# --------------------------------------------------------------------------------------------
# observations, clouds, quality levels
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["day1", "day2", "far_day"])
def test_cloud_cover_is_20_to_50_percent_of_the_open_ocean(which, request):
    l3s, l4 = request.getfixturevalue(which)
    sst, _, mask, _ = _arrays((l3s, l4))
    open_sea = mask == 1
    area = _area(l4)
    cloudy = float(area[open_sea & np.isnan(sst)].sum() / area[open_sea].sum())
    assert 0.20 <= cloudy <= 0.50
    # cloudier at high latitudes (storm tracks) than in the subtropics
    lat = np.broadcast_to(l4["latitude"].values[:, None], mask.shape)
    high = open_sea & (np.abs(lat) > 45)
    sub = open_sea & (np.abs(lat) > 15) & (np.abs(lat) < 35)
    assert np.isnan(sst[high]).mean() > np.isnan(sst[sub]).mean() + 0.1


def test_clouds_come_in_many_sizes(day1):
    sst, _, mask, _ = _arrays(day1)
    clouds = (mask == 1) & np.isnan(sst)
    labels, n = ndimage.label(clouds)
    sizes = np.bincount(labels.ravel())[1:]
    assert n > 50
    assert sizes.min() <= 2 and sizes.max() > 50 * np.median(sizes)


def test_values_only_on_open_sea(day1, far_day):
    for pair in (day1, far_day):
        sst, ql, mask, _ = _arrays(pair)
        observed = np.isfinite(sst)
        np.testing.assert_array_equal(observed, ql > 0)
        assert np.all(mask[observed] == 1)  # never land, lake or ice
        assert np.all(mask[ql == 5] == 1)
        assert not observed[mask == 2].any() and not observed[mask == 4].any()
        assert not observed[mask == 9].any()


def test_best_quality_excludes_cloud_and_ice_edges(day1):
    sst, ql, mask, _ = _arrays(day1)
    blocked = ((mask == 1) & np.isnan(sst)) | (mask == 9)
    touching = _wrap_neighbours(blocked, connectivity=1)
    assert not np.any((ql == 5) & touching)
    low = (ql >= 2) & (ql <= 4)
    assert low.sum() > 100
    assert np.mean(touching[low]) > 0.9  # degraded levels sit on edges
    assert {2, 3, 4} <= set(np.unique(ql[low]))


def test_observations_are_the_analysis_plus_noise(day1):
    sst, ql, _, l4 = _arrays(day1)
    best = ql == 5
    diff = sst[best] - l4[best]
    assert abs(float(np.mean(diff))) < 0.05
    assert 0.05 < float(np.std(diff)) < 0.6
    edge = (ql >= 2) & (ql <= 4)
    assert float(np.mean(sst[edge] - l4[edge])) < float(np.mean(diff)) - 0.1  # cold edges


# --------------------------------------------------------------------------------------------
# geography: coastlines, lakes, sea ice
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("lat", "lon", "flag"),
    [
        pytest.param(23.0, 10.0, 2, id="sahara-land"),
        pytest.param(-5.0, -60.0, 2, id="amazon-land"),
        pytest.param(-25.0, 134.0, 2, id="australia-land"),
        pytest.param(62.0, 100.0, 2, id="siberia-land"),
        pytest.param(0.5, -150.5, 1, id="mid-pacific-sea"),
        pytest.param(30.5, -40.5, 1, id="mid-atlantic-sea"),
        pytest.param(-30.5, 80.5, 1, id="indian-ocean-sea"),
        pytest.param(34.5, 18.5, 1, id="mediterranean-sea"),
        pytest.param(43.5, 34.5, 1, id="black-sea-is-sea"),
        pytest.param(42.5, 50.5, 4, id="caspian-lake"),
        pytest.param(47.5, -87.5, 4, id="lake-superior-lake"),
    ],
)
def test_coastlines_and_lakes(day1, lat, lon, flag):
    _, l4 = day1
    cell = l4["mask"].isel(time=0, **_cell(l4, lat, lon))
    assert int(cell) == flag


def test_land_fraction_is_earth_like(day1):
    _, l4 = day1
    mask = l4["mask"].values[0]
    area = _area(l4)
    water = float(area[(mask & 1) == 1].sum() / area.sum())
    assert 0.66 < water < 0.74  # the ocean covers about 71 % of the Earth


def test_lakes_have_an_analysis_but_no_observation(day1):
    l3s, l4 = day1
    lake = l4["mask"].values[0] == 4
    assert lake.sum() >= 5
    assert np.all(np.isfinite(l4["analysed_sst"].values[0][lake]))
    assert np.all(np.isnan(l3s["sea_surface_temperature"].values[0][lake]))
    assert np.all(np.isnan(l4["analysed_sst"].values[0][l4["mask"].values[0] == 2]))


def test_sea_ice_near_the_poles_only(day1):
    _, l4 = day1
    mask = l4["mask"].values[0]
    ice = mask == 9
    fraction = l4["sea_ice_fraction"].values[0]
    lat = np.broadcast_to(l4["latitude"].values[:, None], mask.shape)
    sea = (mask & 1) == 1
    assert ice[sea & (lat > 80)].mean() > 0.5 and ice[sea & (lat < -65)].mean() > 0.5
    assert not ice[np.abs(lat) < 40].any()
    assert np.all(fraction[ice] >= 0.15) and np.all(fraction[mask == 1] < 0.15)
    assert np.all(np.isnan(fraction[mask == 2]))
    celsius = l4["analysed_sst"].values[0][ice] - 273.15
    assert np.all(celsius < 1.0) and np.all(celsius > -2.0)  # near freezing


# --------------------------------------------------------------------------------------------
# statistics: texture and evolution
# --------------------------------------------------------------------------------------------
def test_generated_small_scales_are_not_gaussian(day1):
    _, l4 = day1
    mask = l4["mask"].values[0]
    deviation = l4["analysed_sst"].values[0] - 273.15 - oisst_base(RES).values
    filled = np.where(mask == 1, deviation, 0.0)
    weight = ndimage.gaussian_filter((mask == 1).astype(float), 3, mode=("nearest", "wrap"))
    smooth = ndimage.gaussian_filter(filled, 3, mode=("nearest", "wrap")) / np.maximum(weight, 1e-6)
    lat = l4["latitude"].values[:, None]
    interior = ndimage.binary_erosion(mask == 1, iterations=6) & (np.abs(lat) < 60)
    high_pass = (deviation - smooth)[interior]
    assert stats.kurtosis(high_pass, fisher=False) > 4.5  # a Gaussian field gives 3


def test_previous_day_is_a_good_but_imperfect_guide(day1, day2, far_day):
    base = oisst_base(RES).values
    sea = day1[1]["mask"].values[0] == 1
    anomalies = [
        pair[1]["analysed_sst"].values[0] - 273.15 - base for pair in (day1, day2, far_day)
    ]
    a1, a2, afar = (a[sea] for a in anomalies)
    next_corr = np.corrcoef(a1, a2)[0, 1]
    far_corr = np.corrcoef(a1, afar)[0, 1]
    assert next_corr > 0.9 and next_corr > far_corr + 0.2


def _rms(diff: np.ndarray, weight: np.ndarray) -> float:
    return float(np.sqrt(np.average(diff**2, weights=weight)))


def test_day_to_day_change_is_that_of_real_sst(day1, day2):
    """Consecutive days differ as real L3 SST does: 0.35-0.60 K on the AVHRR Alboran days and
    a median of 0.74 K on the Mediterranean L3S days (benchmarks/data/real_l3/SOURCE.md)."""
    sst1, ql1, mask1, l4_1 = _arrays(day1)
    sst2, ql2, mask2, l4_2 = _arrays(day2)
    area = _area(day1[1])
    both = (ql1 == 5) & (ql2 == 5)  # best quality, clear on both days
    assert both.sum() > 10_000
    l3s = _rms(sst2[both] - sst1[both], area[both])
    sea = (mask1 == 1) & (mask2 == 1)
    l4 = _rms(l4_2[sea] - l4_1[sea], area[sea])
    assert 0.4 < l3s < 0.6, l3s
    assert 0.35 < l4 < l3s, (l4, l3s)  # the analysis has no sensor noise


def test_weather_changes_the_temperature_only(day1, monkeypatch):
    """The weather has its own random stream: without it the clouds, quality levels, ice and
    noise are the same, and the temperature differs by a smooth field, mostly warm, absent
    from the ice pack."""
    monkeypatch.setattr(
        sample.ocean, "_weather", lambda day, date, seed: np.zeros((720, 1440), np.float32)
    )
    calm = generate_day(SAMPLE_START, resolution=RES)
    sst, ql, mask, l4 = _arrays(day1)
    sst0, ql0, mask0, l40 = _arrays(calm)
    np.testing.assert_array_equal(ql, ql0)
    np.testing.assert_array_equal(mask, mask0)
    np.testing.assert_array_equal(
        day1[1]["sea_ice_fraction"].values, calm[1]["sea_ice_fraction"].values
    )
    weather = l4 - l40
    observed = ql == 5
    # at 1 degree the analysis is the truth: the observations move with it, noise unchanged
    np.testing.assert_allclose(sst[observed] - sst0[observed], weather[observed], atol=1e-4)
    water = np.isfinite(weather)
    area = _area(day1[1])
    assert 0.1 < float(np.average(weather[water], weights=area[water])) < 0.4  # degC, warm
    assert 0.3 < _rms(weather[water], area[water]) < 0.8
    warmest = weather[water]
    assert float(np.quantile(warmest, 0.999)) < 3.0 and float(np.max(warmest)) < 4.0  # saturates
    assert np.mean(warmest > 0.5) > 2 * np.mean(warmest < -0.5)  # warms more than it cools
    pack = day1[1]["sea_ice_fraction"].values[0] == 1.0
    assert pack.sum() > 100
    np.testing.assert_allclose(weather[pack], 0.0, atol=1e-4)


# --------------------------------------------------------------------------------------------
# stores
# --------------------------------------------------------------------------------------------
def test_write_sample_round_trips(tmp_path, day1, day2):
    stores = write_sample(tmp_path / "s", days=2, resolution=RES)
    assert set(stores) == {"l3s", "l4", "l4_geo"}
    for store in stores.values():
        assert (store / ".zmetadata").exists() and (store / ".zgroup").exists()
        assert not (store / "zarr.json").exists()  # Zarr format 2, like the ARCO stores
    assert not list((tmp_path / "s").glob(".tmp-*"))
    l3s = xr.open_zarr(stores["l3s"], consolidated=True)
    assert l3s["sea_surface_temperature"].data.chunks[0] == (1, 1)
    assert l3s["quality_level"].dtype == np.int8  # no fill value turned it into floats
    expected = xr.concat([day1[0], day2[0]], dim="time")
    xr.testing.assert_identical(l3s.load(), expected)
    for product in ("l4", "l4_geo"):
        l4 = xr.open_zarr(stores[product], consolidated=True)
        assert l4["mask"].dtype == np.int8
        xr.testing.assert_identical(l4.load(), xr.concat([day1[1], day2[1]], dim="time"))
    geo = xr.open_zarr(stores["l4_geo"], consolidated=True)["analysed_sst"].data.chunks
    assert geo[0] == (2,) and max(geo[2]) == 256 and len(geo[2]) == 2


def test_write_sample_stores_are_dense(tmp_path, monkeypatch):
    """Every chunk is written, even an all-NaN one: a missing chunk is then always a fault."""
    import math

    import zarr

    def land_tile(day, **kwargs):  # the first geo tile (256 longitudes) all NaN, like land
        l3s, l4 = generate_day(day, **kwargs)
        l4["analysed_sst"][..., :256] = np.nan
        return l3s, l4

    monkeypatch.setattr(sample.store, "generate_day", land_tile)
    stores = write_sample(tmp_path, days=2, resolution=RES)
    for store in stores.values():
        for name, array in zarr.open_consolidated(str(store)).arrays():
            written = [f for f in (store / name).iterdir() if not f.name.startswith(".")]
            assert len(written) == math.prod(array.cdata_shape), (store.name, name)


def test_write_sample_does_not_overwrite_by_accident(tmp_path):
    write_sample(tmp_path, days=1, resolution=RES)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_sample(tmp_path, days=1, resolution=RES)
    stores = write_sample(tmp_path, start="2024-06-05", days=1, resolution=RES, overwrite=True)
    assert str(xr.open_zarr(stores["l4"])["time"].values[0])[:10] == "2024-06-05"


def test_a_lost_race_keeps_the_first_store(tmp_path):
    first = write_sample(tmp_path, days=1, resolution=RES)
    marker = first["l3s"] / "written-first"
    marker.touch()
    sample.store._write(
        tmp_path, start="2024-06-05", days=1, resolution=RES, seed=0, if_exists="keep"
    )
    assert marker.exists()
    assert str(xr.open_zarr(first["l3s"])["time"].values[0])[:10] == SAMPLE_START
    assert not list(tmp_path.glob(".tmp-*"))


def test_sample_store_generates_once_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EOGAPFILL_CACHE", str(tmp_path))
    monkeypatch.setattr(sample.store, "SAMPLE_DAYS", 2)
    path = sample_store("l4_geo", resolution=RES)
    assert path.is_relative_to(tmp_path) and path.name == "l4_geo.zarr"
    assert xr.open_zarr(path).sizes["time"] == 2
    calls = []
    monkeypatch.setattr(sample.store, "_write", lambda *a, **k: calls.append(a))
    assert sample_store("l3s", resolution=RES) == path.parent / "l3s.zarr"
    assert calls == []  # already there: nothing generated


# --------------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        pytest.param({"resolution": 0.3}, ValueError, "resolution must be one of", id="resolution"),
        pytest.param({"seed": -1}, ValueError, "non-negative", id="seed"),
        pytest.param({"date": "yesterday-ish"}, ValueError, "is not a date", id="not-a-date"),
        pytest.param({"date": "1970-01-01"}, ValueError, "sample covers", id="before-satellites"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, error, match):
    args = {"date": SAMPLE_START, "resolution": RES} | kwargs
    date = args.pop("date")
    with pytest.raises(error, match=match):
        generate_day(date, **args)


def test_bad_store_arguments_raise_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="product must be one of"):
        sample_store("l5")
    with pytest.raises(ValueError, match="resolution must be one of"):
        sample_store("l3s", resolution=2)
    with pytest.raises(ValueError, match="days must be a positive integer"):
        write_sample(tmp_path, days=0, resolution=RES)
