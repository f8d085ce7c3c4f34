"""The real L3 cases of ``benchmarks/real_l3.py``: the int16 layout round-trips, bad cubes are
refused, and each case file (when present; the files are not committed) has the layout the
benchmarks rely on and real clouds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks import real_l3


def _cube(
    rng: np.random.Generator, nt: int = 3, ny: int = 4, nx: int = 5
) -> tuple[np.ndarray, ...]:
    sst = 288.0 + rng.normal(0.0, 2.0, (nt, ny, nx))
    sst[:, 0, :2] = np.nan
    sea = np.ones((ny, nx), dtype=bool)
    sea[-1, -1] = False
    time = pd.date_range("2017-05-14", periods=nt).values
    return sst, sea, time, np.linspace(34.0, 35.0, ny), np.linspace(-6.0, -5.0, nx)


ATTRS = {"source": "test", "licence": "test", "citation": "test"}


def test_write_and_open_round_trip(tmp_path, monkeypatch):
    sst, sea, time, lat, lon = _cube(np.random.default_rng(0))
    real_l3.write_case(real_l3.case_dataset(sst, sea, time, lat, lon, ATTRS), tmp_path / "c.nc")
    monkeypatch.setenv(real_l3.ENV_DIR, str(tmp_path))
    monkeypatch.setitem(real_l3.CASES, "tiny", real_l3.Case("c.nc", (-6, -5, 34, 35), "t"))
    with real_l3.open_case("tiny") as ds:
        back = ds[real_l3.SST].values
        assert ds[real_l3.SST].encoding["dtype"] == np.int16
        assert ds[real_l3.SST].attrs["units"] == "kelvin"
        np.testing.assert_array_equal(np.isnan(back), np.isnan(sst))
        assert np.nanmax(np.abs(back - sst)) <= 0.005 + 1e-9
        clear = real_l3.clear_fraction(ds).values
    # 2 of the 19 sea pixels are missing every day
    np.testing.assert_allclose(clear, 17 / 19)


def test_day_to_day_rms_uses_pixels_clear_on_both(tmp_path):
    sst, sea, time, lat, lon = _cube(np.random.default_rng(1), nt=2)
    sst[1] = sst[0] + 0.3
    sst[1, 1, 1] = np.nan
    ds = real_l3.case_dataset(sst, sea, time, lat, lon, ATTRS)
    [(day, nxt, n, rms)] = real_l3.day_to_day_rms(ds)
    assert (day, nxt) == ("2017-05-14", "2017-05-15")
    assert n == 19 - 2 - 1
    assert rms == pytest.approx(0.3)


def test_bad_cubes_are_refused():
    sst, sea, time, lat, lon = _cube(np.random.default_rng(2))
    with pytest.raises(ValueError, match="ascending"):
        real_l3.case_dataset(sst, sea, time, lat[::-1], lon, ATTRS)
    with pytest.raises(ValueError, match="licence"):
        real_l3.case_dataset(sst, sea, time, lat, lon, {"source": "x", "citation": "y"})
    with pytest.raises(ValueError, match="kelvin"):
        real_l3.encode_sst(sst * 1000.0)


def test_unknown_or_missing_case_says_what_to_do(tmp_path, monkeypatch):
    with pytest.raises(KeyError, match="alboran"):
        real_l3.open_case("nowhere")
    monkeypatch.setenv(real_l3.ENV_DIR, str(tmp_path))
    monkeypatch.setattr(real_l3, "SEARCH_DIRS", ())
    with pytest.raises(FileNotFoundError, match="SOURCE.md"):
        real_l3.open_case("alboran")


@pytest.mark.parametrize("name", sorted(real_l3.CASES))
def test_case_file_layout_and_real_clouds(name):
    try:
        ds = real_l3.open_case(name)
    except FileNotFoundError:
        pytest.skip(f"{name}: case file not present (not committed; see SOURCE.md)")
    with ds:
        assert ds[real_l3.SST].dims == ("time", "lat", "lon")
        for axis in ("lat", "lon"):
            assert np.all(np.diff(ds[axis].values) > 0)
        assert {"source", "licence", "citation"} <= set(ds.attrs)
        dlat, dlon = real_l3.resolution_deg(ds)
        assert 0.009 <= dlat <= 0.1 and 0.009 <= dlon <= 0.1
        assert set(np.unique(ds[real_l3.MASK].values)) <= {0, 1, 2}
        sea = ds[real_l3.MASK] == 1
        values = ds[real_l3.SST].where(sea).values
        assert 270.0 < np.nanmin(values) and np.nanmax(values) < 310.0
        clear = real_l3.clear_fraction(ds).values
        # real clouds: the sea is neither all seen nor all hidden, and over several days
        # the cloud cover changes
        assert 0.05 < clear.mean() < 0.95 and clear.min() < 0.9
        if ds.sizes["time"] > 1:
            assert np.ptp(clear) > 0.05


def test_a_multi_day_case_exists():
    multi = [n for n, c in real_l3.CASES.items() if "days" in c.description]
    assert multi, "no case of several consecutive days"
    try:
        ds = real_l3.open_case(multi[0])
    except FileNotFoundError:
        pytest.skip("case file not present (not committed; see SOURCE.md)")
    with ds:
        steps = np.diff(ds["time"].values) / np.timedelta64(1, "D")
        assert ds.sizes["time"] >= 5 and steps.max() <= 2
