"""The loaders read the same store identically from a path, over HTTP and over S3."""

from __future__ import annotations

import dask.array
import numpy as np
import pytest
import xarray as xr

from eogapfill.data import (
    L3S_URL,
    L4_URLS,
    StoreError,
    open_day,
    open_l3s,
    open_l4,
    open_store,
)
from eogapfill.preprocess import prepare_day
from eogapfill.sample import SAMPLE_START
from tests.conftest import TEST_RESOLUTION

DAY = SAMPLE_START


def _l3s(**kwargs) -> xr.Dataset:
    return open_l3s(DAY, resolution=TEST_RESOLUTION, **kwargs)


def test_sample_is_lazy_and_in_the_product_schema():
    l3s = _l3s()
    sst = l3s["sea_surface_temperature"]
    assert isinstance(sst.data, dask.array.Array)
    assert sst.dims == ("time", "latitude", "longitude")
    assert sst.attrs["units"] == "kelvin"
    assert l3s.sizes["time"] == 1
    assert str(l3s["time"].values[0])[:10] == DAY
    l4 = open_l4(DAY, resolution=TEST_RESOLUTION)
    assert {"analysed_sst", "mask"} <= set(l4.data_vars)


@pytest.mark.parametrize("chunking", ["time", "geo"])
def test_l4_chunkings_hold_the_same_values(chunking):
    l4 = open_l4(DAY, chunking=chunking, resolution=TEST_RESOLUTION).load()
    reference = open_l4(DAY, chunking="time", resolution=TEST_RESOLUTION).load()
    xr.testing.assert_equal(l4["analysed_sst"], reference["analysed_sst"])


def test_path_http_and_s3_give_identical_datasets(sample_dir, http_server, s3_sample):
    from_sample = _l3s().load()
    from_path = open_l3s(DAY, url=sample_dir / "l3s.zarr").load()
    from_http = open_l3s(DAY, url=f"{http_server}/l3s.zarr").load()
    bucket, options = s3_sample
    from_s3 = open_l3s(DAY, url=f"{bucket}/l3s.zarr", storage_options=options).load()
    for other in (from_path, from_http, from_s3):
        xr.testing.assert_identical(from_sample, other)
    assert np.isnan(from_s3["sea_surface_temperature"]).any()  # the clouds travel too


def test_time_slice_selects_whole_days():
    ds = open_l3s(slice(DAY, "2024-06-03"), resolution=TEST_RESOLUTION)
    assert ds.sizes["time"] == 3


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param(
            {"url": "http://127.0.0.1:9/nothing.zarr"},
            "cannot open the Zarr store",
            id="unreachable",
        ),
        pytest.param({"url": "/no/such/store.zarr"}, "no Zarr store at", id="missing-path"),
        pytest.param({"source": "ftp"}, "unknown source", id="bad-source"),
    ],
)
def test_bad_stores_raise_clear_errors(kwargs, match):
    with pytest.raises((StoreError, ValueError), match=match):
        _l3s(**kwargs)


def test_time_outside_the_store_names_its_range():
    with pytest.raises(StoreError, match=r"covers 2024-06-01 to"):
        open_l3s("1999-01-01", resolution=TEST_RESOLUTION)


def test_wrong_product_names_the_missing_variable(sample_dir):
    with pytest.raises(StoreError, match="no variable 'sea_surface_temperature'"):
        open_l3s(DAY, url=sample_dir / "l4_time.zarr")


def test_open_store_is_format_2_consolidated(sample_dir):
    assert (sample_dir / "l3s.zarr" / ".zmetadata").exists()
    assert "sea_surface_temperature" in open_store(sample_dir / "l3s.zarr")


def test_remote_defaults_are_the_public_arco_stores():
    assert L3S_URL.endswith("timeChunked.zarr") and "L3S" in L3S_URL
    assert "mdl-arco-geo" in L4_URLS["geo"] and L4_URLS["geo"].endswith("geoChunked.zarr")
    assert "mdl-arco-time" in L4_URLS["time"]


def test_open_day_is_open_and_prepare(sample_day):
    day = open_day(DAY, resolution=TEST_RESOLUTION)
    assert isinstance(day["SST_L3S"].data, dask.array.Array)  # lazy until asked
    xr.testing.assert_identical(day.load(), sample_day)
    strict = open_day(DAY, resolution=TEST_RESOLUTION, min_quality=3, implausible="raise")
    expected = prepare_day(
        open_l3s(DAY, resolution=TEST_RESOLUTION),
        open_l4(DAY, resolution=TEST_RESOLUTION),
        min_quality=3,
    )
    xr.testing.assert_identical(strict.load(), expected.load())


@pytest.mark.parametrize("date", [None, slice("2024-06-01", "2024-06-02")], ids=["none", "range"])
def test_open_day_opens_one_day(date):
    with pytest.raises(ValueError, match="open_day opens one day"):
        open_day(date, resolution=TEST_RESOLUTION)
