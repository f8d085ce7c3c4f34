"""to_healpix's optional healpix-resample backend: each method against a brute-force loop on a
small synthetic day, the binning's sea and gaps kept, bad values and the missing package."""

from __future__ import annotations

import sys

import healpy as hp
import numpy as np
import pytest
import xarray as xr

from eogapfill.regrid import to_healpix
from eogapfill.regrid.resample_backend import BACKENDS, backend_method

NSIDE = 16
EARTH_M = 6371000.0


def _day(resolution: float = 2.5, seed: int = 0) -> xr.Dataset:
    """A lat/lon day with land, clouds, and a field that varies in latitude and longitude."""
    rng = np.random.default_rng(seed)
    lat = np.arange(-90 + resolution / 2, 90, resolution) + 0.37  # off the cells' symmetry:
    lon = np.arange(-180 + resolution / 2, 180, resolution) + 0.71  # no equidistant points
    lon2, lat2 = np.meshgrid(lon, lat)
    field = (
        25 * np.cos(np.radians(lat2))
        + 2 * np.sin(np.radians(3 * lon2))
        + rng.normal(0, 0.3, lat2.shape)
    )
    sea = ~((lon2 > 0) & (lon2 < 40) & (lat2 > -30) & (lat2 < 30))  # a continent
    cloud = rng.random(lat2.shape) < 0.3
    dims = ("latitude", "longitude")
    l4 = np.where(sea, field, np.nan).astype("float32")
    l3s = np.where(sea & ~cloud, field, np.nan).astype("float32")
    return xr.Dataset(
        {
            "SST_L3S": (dims, l3s, {"units": "degC"}),
            "SST_L4": (dims, l4, {"units": "degC"}),
            "sea": (dims, sea),
        },
        coords={"latitude": lat, "longitude": lon},
    )


def _points(day: xr.Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lon2, lat2 = np.meshgrid(day.longitude.values, day.latitude.values)
    values = day["SST_L3S"].values.astype("float64")
    ok = np.isfinite(values)
    return lon2[ok], lat2[ok], values[ok]


def _xyz(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lon, lat = np.radians(lon), np.radians(lat)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], -1)


def _observed(out: xr.Dataset) -> np.ndarray:
    return out["sea"].values & ~out["gap"].values


@pytest.fixture(scope="module")
def day() -> xr.Dataset:
    return _day()


@pytest.fixture(scope="module")
def binned(day: xr.Dataset) -> xr.Dataset:
    return to_healpix(day, NSIDE)


@pytest.fixture(scope="module")
def resampled(day: xr.Dataset) -> dict[str, xr.Dataset]:
    pytest.importorskip("healpix_resample")
    return {b: to_healpix(day, NSIDE, backend=b) for b in BACKENDS[1:]}


def test_sea_and_gaps_are_the_binnings_and_land_stays_nan(binned, resampled):
    for out in resampled.values():
        np.testing.assert_array_equal(out["sea"].values, binned["sea"].values)
        np.testing.assert_array_equal(out["gap"].values, binned["gap"].values)
        for name in ("SST_L3S", "SST_L4"):
            values = out[name].values
            assert np.isnan(values[~out["sea"].values]).all()
            assert np.isfinite(values[_observed(out)]).all()
            np.testing.assert_array_equal(np.isfinite(values), np.isfinite(binned[name].values))
    bilinear = resampled["resample-bilinear"]
    assert bilinear.attrs["regrid_backend"] == "healpix-resample bilinear"
    assert "regrid_backend" not in binned.attrs


def test_groupby_equals_the_cell_means(binned, resampled):
    out = resampled["resample-groupby"]
    np.testing.assert_allclose(out["SST_L3S"].values, binned["SST_L3S"].values, rtol=1e-6)


def test_conservative_equals_an_area_weighted_loop(day, binned, resampled):
    lon, lat, values = _points(day)
    pix = hp.ang2pix(NSIDE, lon, lat, nest=True, lonlat=True)
    weight = np.cos(np.radians(lat))
    out = resampled["resample-conservative"]["SST_L3S"].values
    cells = np.flatnonzero(_observed(binned) & np.isin(np.arange(out.size), pix))
    for cell in cells:
        inside = pix == cell
        expected = np.sum(weight[inside] * values[inside]) / np.sum(weight[inside])
        assert out[cell] == pytest.approx(expected, rel=1e-5)
    assert np.abs(out[cells] - binned["SST_L3S"].values[cells]).max() > 1e-4  # not the mean


def test_nearest_equals_the_nearest_observed_point(day, binned, resampled):
    lon, lat, values = _points(day)
    cells = np.flatnonzero(_observed(binned))
    clon, clat = hp.pix2ang(NSIDE, cells, nest=True, lonlat=True)
    cos = _xyz(clon, clat) @ _xyz(lon, lat).T
    out = resampled["resample-nearest"]["SST_L3S"].values[cells]
    same = out[:, None] == values[None, :].astype(out.dtype)  # points carrying each value
    assert same.any(axis=1).all()
    # a point with the cell's value is the nearest observed point
    np.testing.assert_allclose(np.where(same, cos, -2).max(axis=1), cos.max(axis=1), rtol=1e-12)


def test_bilinear_equals_an_inverse_distance_loop(day, binned, resampled):
    """Each observed point spreads over its four nearest observed cells with weights
    1 / (1e-6 + d / sigma); each cell divides by the weights it receives."""
    lon, lat, values = _points(day)
    cells = np.flatnonzero(_observed(binned))
    clon, clat = hp.pix2ang(NSIDE, cells, nest=True, lonlat=True)
    cos = np.clip(_xyz(lon, lat) @ _xyz(clon, clat).T, -1, 1)
    dist = EARTH_M * np.arccos(cos)
    sigma = EARTH_M * np.sqrt(4 * np.pi / hp.nside2npix(NSIDE))
    total, norm = np.zeros(cells.size), np.zeros(cells.size)
    for k in range(values.size):
        four = np.argsort(dist[k])[:4]
        w = 1 / (1e-6 + dist[k, four] / sigma)
        total[four] += w * values[k]
        norm[four] += w
    reached = norm > 0
    out = resampled["resample-bilinear"]["SST_L3S"].values
    assert reached.mean() > 0.99
    np.testing.assert_allclose(out[cells[reached]], total[reached] / norm[reached], rtol=1e-5)


@pytest.mark.parametrize("backend", ["resample-nearest", "resample-bilinear"])
def test_cells_finer_than_the_points_keep_real_values(day, backend):
    """At nside 64 (cells of 0.9 deg, points every 2.5 deg) most cells hold no point: every
    observed cell still carries a value between the observed extremes (none reads 0)."""
    pytest.importorskip("healpix_resample")
    out = to_healpix(day, 64, backend=backend)
    values = out["SST_L3S"].values[_observed(out)]
    observed = day["SST_L3S"].values
    assert np.nanmin(observed) - 1e-4 <= values.min() and values.max() <= np.nanmax(observed) + 1e-4
    if backend == "resample-bilinear":
        assert 0 < out.attrs["regrid_kept_cells"] < values.size  # unreached cells keep the bin


def test_a_region_uses_its_own_points_and_agrees_with_the_sphere(day, resampled):
    box = (-60.0, -20.0, 10.0, 40.0)
    full = resampled["resample-nearest"]
    part = to_healpix(day, NSIDE, region=box, backend="resample-nearest")
    ids = part["cell_ids"].values
    np.testing.assert_allclose(part["SST_L3S"].values, full["SST_L3S"].values[ids], rtol=1e-6)
    assert part.attrs["healpix_partial"] == 1


def test_unknown_backend_and_lazy_day_are_refused(day):
    with pytest.raises(ValueError, match="backend must be one of"):
        to_healpix(day, NSIDE, backend="resample-psf")
    with pytest.raises(ValueError, match="backend must be one of"):
        backend_method("bilinear")
    with pytest.raises(ValueError, match="load it first"):
        to_healpix(day.chunk({"latitude": 24}), NSIDE, backend="resample-nearest")


def test_missing_package_names_the_extra(day, monkeypatch):
    monkeypatch.setitem(sys.modules, "healpix_resample", None)  # import fails
    with pytest.raises(ImportError, match=r"eogapfill\[resample\]"):
        to_healpix(day, NSIDE, backend="resample-bilinear")
    assert to_healpix(day, NSIDE).sizes["cells"] == hp.nside2npix(NSIDE)
