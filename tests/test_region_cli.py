"""``eogapfill fill --region``: a regional store, resumed, guarded, and its bad inputs."""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

distributed = pytest.importorskip("distributed")

from eogapfill import cli, pipeline  # noqa: E402
from eogapfill.data import open_day  # noqa: E402
from eogapfill.fill.laplace import fill_laplace  # noqa: E402
from eogapfill.healpix import HealpixGrid, grid_of, region_cells  # noqa: E402
from eogapfill.pipeline import runner  # noqa: E402
from eogapfill.regrid import to_healpix  # noqa: E402
from tests.pipeline_fixtures import RESOLUTION, in_process_cluster  # noqa: E402

DAYS = ["2024-06-01", "2024-06-02"]
NEXT_DAY = "2024-06-03"
#: A 30 x 20 degree box off the US east coast, at nside 32 (200 km cells) on the 1 deg sample.
BOX = (-80.0, -50.0, 25.0, 45.0)
NSIDE = 32
REGION = ["--region", *(f"{x:g}" for x in BOX)]
SMALL = ["--nside", str(NSIDE), "--resolution", str(RESOLUTION)]


def _fill_args(out: Path, *extra: str, end: str = DAYS[-1]) -> list[str]:
    return ["fill", "--start", DAYS[0], "--end", end, "--out", str(out), "--quiet", *extra]


def _main(args: list[str]) -> tuple[int, str, str]:
    """Run the command in this process (an in-process Dask cluster); status, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with (
        pytest.MonkeyPatch.context() as mp,
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        mp.setattr(runner, "_default_cluster", in_process_cluster)
        status = cli.main(args)
    return status, out.getvalue(), err.getvalue()


def _one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory, sample_dir: Path) -> tuple[Path, str]:
    """The regional store of two sample days written by the command, and what it printed."""
    out = tmp_path_factory.mktemp("region") / "region.zarr"
    status, printed, err = _main(_fill_args(out, *REGION, *SMALL, "--method", "laplace"))
    assert status == 0, err
    return out, printed


def _copy(store: Path, tmp_path: Path) -> Path:
    shutil.copytree(store, tmp_path / store.name)
    return tmp_path / store.name


# --------------------------------------------------------------------------------------------
# the store
# --------------------------------------------------------------------------------------------
def test_the_command_prints_the_region_then_the_days(written) -> None:
    _, printed = written
    lines = printed.strip().splitlines()
    ids = region_cells(NSIDE, BOX)
    assert lines[0].startswith("region lon -80 .. -50, lat 25 .. 45: ")
    assert f"{ids.size} cells of nside {NSIDE}" in lines[0]
    assert lines[1].startswith("2 day(s) written")


def test_the_store_holds_the_region_cells_with_xdggs_attributes(written) -> None:
    out, _ = written
    ids = region_cells(NSIDE, BOX)
    raw = xr.open_zarr(out)
    assert dict(raw.sizes) == {"time": 2, "cells": ids.size}
    np.testing.assert_array_equal(raw["cell_ids"].values, ids)
    assert dict(raw["cell_ids"].attrs) == {
        "grid_name": "healpix",
        "level": 5,
        "indexing_scheme": "nested",
    }
    assert raw.attrs["healpix_partial"] == 1
    assert raw.attrs["healpix_region"] == "lon -80.0 .. -50.0, lat 25.0 .. 45.0"
    assert raw.attrs["region_box"] == list(BOX)
    assert raw.attrs["region_cells"] == ids.size
    assert raw.attrs["nside"] == NSIDE and raw.attrs["resolution_deg"] == RESOLUTION
    grid = grid_of(raw)
    assert grid.is_partial and grid.nside == NSIDE and grid.npix == ids.size

    import xdggs

    decoded = xdggs.decode(raw)
    assert decoded.dggs.grid_info.level == 5
    assert pipeline.open_output(out).dggs.grid_info.level == 5


def test_each_day_equals_to_healpix_then_laplace_on_the_region(written) -> None:
    out, _ = written
    ds = pipeline.open_output(out, decode=False).load()
    for day in DAYS:
        hp_day = to_healpix(open_day(day, resolution=RESOLUTION).load(), NSIDE, region=BOX)
        filled = fill_laplace(hp_day)["filled"]
        stored = ds.sel(time=day)
        np.testing.assert_array_equal(stored["cell_ids"].values, hp_day["cell_ids"].values)
        np.testing.assert_array_equal(stored["SST_filled"].values, filled.values.astype("f4"))
        np.testing.assert_array_equal(stored["SST_L3S"].values, hp_day["SST_L3S"].values)
        for name in ("gap", "sea"):
            np.testing.assert_array_equal(stored[name].values, hp_day[name].values)
        sea = stored["sea"].values
        assert stored["gap"].values.any() and np.isfinite(stored["SST_filled"].values[sea]).all()


# --------------------------------------------------------------------------------------------
# re-running
# --------------------------------------------------------------------------------------------
def test_a_rerun_skips_the_days_and_extends_the_store(written, tmp_path) -> None:
    out = _copy(written[0], tmp_path)
    chunks = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    # without --resolution: the store's own (1 deg here), not the default of the nside
    status, printed, err = _main(_fill_args(out, *REGION, "--nside", str(NSIDE)))
    assert status == 0, err
    assert printed.splitlines()[1].startswith("0 day(s) written")
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == chunks

    status, printed, err = _main(_fill_args(out, *REGION, *SMALL, end=NEXT_DAY))
    assert status == 0, err
    assert printed.splitlines()[1].startswith("1 day(s) written")
    ds = pipeline.open_output(out)
    assert ds.sizes["time"] == 3 and ds.attrs["region_cells"] == ds.sizes["cells"]


@pytest.mark.parametrize(
    ("args", "match"),
    [
        pytest.param(
            ["--region", "-80", "-40", "25", "45", *SMALL],
            "holds the region (lon0, lon1, lat0, lat1) = (-80, -50, 25, 45) at nside 32, but "
            "this run asks for the region (lon0, lon1, lat0, lat1) = (-80, -40, 25, 45)",
            id="other-region",
        ),
        pytest.param(SMALL, "but this run asks for the full sphere", id="no-region"),
        pytest.param([*REGION, "--nside", "16"], "nside", id="other-nside"),
    ],
)
def test_another_region_or_nside_is_refused(written, tmp_path, args, match) -> None:
    out = _copy(written[0], tmp_path)
    status, _, err = _main(_fill_args(out, *args, end=NEXT_DAY))
    assert status == 1
    line = _one_line_error(err)
    assert match in line and "another output path" in line
    assert len(pipeline.stored_days(out)) == 2


def test_a_region_into_a_full_sphere_store_is_refused(tmp_path, sample_dir) -> None:
    out = tmp_path / "sphere.zarr"
    assert _main(_fill_args(out, *SMALL, end=DAYS[0]))[0] == 0
    status, _, err = _main(_fill_args(out, *REGION, *SMALL))
    assert status == 1
    assert "holds the full sphere at nside 32, but this run asks for the region" in err


# --------------------------------------------------------------------------------------------
# bad inputs
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("region", "extra", "message"),
    [
        pytest.param(
            ["-80", "-50", "25", "95"], [], "latitudes must lie in -90 .. 90", id="lat-beyond-90"
        ),
        pytest.param(
            ["-80", "-50", "45", "25"], [], "lat0 must be south of lat1", id="lat0-above-lat1"
        ),
        pytest.param(["-80", "-50", "25", "25"], [], "lat0 < lat1", id="lat0-equals-lat1"),
        pytest.param(
            ["-80", "-80", "25", "45"], [], "two different numbers", id="equal-longitudes"
        ),
        pytest.param(["-80", "400", "25", "45"], [], "-360 .. 360", id="lon-out-of-range"),
        pytest.param(["-80", "west", "25", "45"], [], "not a number of degrees", id="not-a-number"),
        pytest.param(["-80", "nan", "25", "45"], [], "not a finite number", id="nan"),
        pytest.param(
            ["-80", "-50", "25", "45"],
            ["--method", "alm"],
            "'alm' needs the whole sphere and does not fill a region: choose one of laplace",
            id="alm-on-a-region",
        ),
    ],
)
def test_bad_regions_give_one_line_and_status_2(tmp_path, region, extra, message) -> None:
    out = tmp_path / "x.zarr"
    status, printed, err = _main(_fill_args(out, "--region", *region, *SMALL, *extra))
    assert status == 2
    line = _one_line_error(err)
    assert message in line and line.startswith("eogapfill fill: error: ")
    assert printed == "" and not out.exists()


def test_a_region_takes_four_numbers(tmp_path) -> None:
    status, _, err = _main(_fill_args(tmp_path / "x.zarr", "--region", "-80", "-50", "25"))
    assert status == 2
    assert "--region" in _one_line_error(err) and "expected 4 argument" in err


def test_help_describes_the_region_and_the_regional_methods(capsys) -> None:
    assert cli.main(["fill", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--region LON0 LON1 LAT0 LAT1" in text
    assert "LON0 > LON1 crosses 180" in text
    assert f"region: {', '.join(pipeline.regional_methods())}" in text
    assert "--region -80 -50 25 45 --nside 512" in text


def test_the_regional_methods_and_the_source_resolution() -> None:
    assert "laplace" in pipeline.regional_methods()
    assert "alm" not in pipeline.regional_methods()
    assert pipeline.default_resolution(128) == 0.25
    assert pipeline.default_resolution(256) == pipeline.default_resolution(512) == 0.1
    box, ids = pipeline.check_region((170, -170, -10, 10), 16)  # across 180
    lon, _ = HealpixGrid(16, cell_ids=ids).lonlat()
    assert box == (170.0, -170.0, -10.0, 10.0) and (np.abs(lon) > 160).all()
    assert pipeline.check_region((-180, 180, -90, 90), 16) == (None, None)
    band, ids = pipeline.check_region((-180, 180, -30, 30), 16)  # every longitude
    lon, lat = HealpixGrid(16, cell_ids=ids).lonlat()
    assert band is not None and lon.min() < -170 and lon.max() > 170 and np.abs(lat).max() < 35
    _, ids = pipeline.check_region((-30, 0, 30, 50), 16)  # an east edge on the meridian 0
    lon, _ = HealpixGrid(16, cell_ids=ids).lonlat()
    assert ids.size > 0 and lon.min() > -40 and lon.max() < 10


# --------------------------------------------------------------------------------------------
# days with nothing to fill, boxes on land, the same box in other words
# --------------------------------------------------------------------------------------------
#: A 5 x 5 degree box of the South Pacific: at nside 32 on the 1 deg sample, no cloud over its
#: sea cells on 2024-06-01 and 06-02, clouds on 06-03.
CLEAR_BOX = ("-150", "-145", "-20", "-15")
#: Off the Bahamas: clouds on 2024-06-01 and 06-03, none on 06-02 (the case of the issue).
GAP_CLEAR_GAP_BOX = ("-70", "-60", "20", "30")


@pytest.mark.parametrize(
    ("box", "method", "clear_days"),
    [
        pytest.param(GAP_CLEAR_GAP_BOX, "laplace", ["2024-06-02"], id="laplace-clear-in-between"),
        pytest.param(CLEAR_BOX, "noise", ["2024-06-01", "2024-06-02"], id="noise-clear-first"),
    ],
)
def test_a_day_without_gap_is_stored_as_observed(tmp_path, box, method, clear_days) -> None:
    out = tmp_path / "clear.zarr"
    args = _fill_args(out, "--region", *box, *SMALL, "--method", method, end=NEXT_DAY)
    status, printed, err = _main(args)
    assert status == 0, err
    assert f"3 day(s) written to {out} ({len(clear_days)} of them had nothing to fill" in printed
    ds = pipeline.open_output(out, decode=False).load()
    assert ds.sizes["time"] == 3
    for day in ds["time"].values:
        stored = ds.sel(time=day)
        sea, gap = stored["sea"].values, stored["gap"].values
        label = str(day)[:10]
        assert gap.any() != (label in clear_days), label
        observed = stored["SST_L3S"].values
        np.testing.assert_array_equal(stored["SST_filled"].values[~gap], observed[~gap])
        assert np.isfinite(stored["SST_filled"].values[sea]).all()
        if method == "noise":  # a method with an uncertainty: 0 where nothing was filled
            std = stored["filled_std"].values
            assert (std[sea & ~gap] == 0).all() and np.isnan(std[~sea]).all()
            assert (std[gap] > 0).all()
    assert ("filled_std" in ds) == (method == "noise")
    assert ds.attrs["fill_protocol"] == "honest"


#: The Arctic north of Alaska: water (the land check passes) under sea ice on the sample's days.
ICE_BOX = ("-170", "-150", "82", "86")


def test_a_box_under_sea_ice_is_stored_as_it_is(tmp_path) -> None:
    """Water, but no open sea: nothing to fill, every day stored, no worker error."""
    out = tmp_path / "ice.zarr"
    status, printed, err = _main(_fill_args(out, "--region", *ICE_BOX, *SMALL, "--method", "oi"))
    assert status == 0, err
    assert f"2 day(s) written to {out} (2 of them had nothing to fill" in printed
    ds = pipeline.open_output(out, decode=False).load()
    assert ds.sizes["time"] == 2 and ds.sizes["cells"] > 0
    assert not ds["sea"].values.any() and not ds["gap"].values.any()
    assert np.isnan(ds["SST_filled"].values).all()


@pytest.mark.parametrize("method", pipeline.regional_methods(available=True))
def test_every_regional_method_keeps_a_day_without_gap_as_it_is(method) -> None:
    """The task of a day without gap calls no fill: the same result for every method."""
    day = pipeline.process_day(
        "2024-06-01",
        method=method,
        nside=NSIDE,
        resolution=RESOLUTION,
        region=tuple(float(x) for x in CLEAR_BOX),
    )
    assert not day["gap"].values.any() and day["sea"].values.any()
    np.testing.assert_array_equal(day["SST_filled"].values, day["SST_L3S"].values)
    assert day.attrs[runner._NOTHING_TO_FILL] == 1


def test_a_box_on_land_is_refused_before_the_cluster_starts(tmp_path, monkeypatch) -> None:
    def no_cluster(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cluster must not start for a box on land")

    monkeypatch.setattr(runner, "process_day", no_cluster)
    monkeypatch.setattr(runner, "_default_cluster", no_cluster)
    out = tmp_path / "land.zarr"
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = cli.main(_fill_args(out, "--region", "0", "20", "15", "25", *SMALL))
    line = _one_line_error(err.getvalue())
    assert status == 2
    assert line.startswith("eogapfill fill: error: --region: the region lon 0 .. 20, lat 15 .. 25")
    assert "holds no sea cell at nside 32" in line and "choose a box over the ocean" in line
    assert "run the same command" not in line and not out.exists()
    with pytest.raises(pipeline.RegionWithoutSeaError, match="holds no sea cell"):
        pipeline.run(
            DAYS[0],
            DAYS[0],
            nside=NSIDE,
            resolution=RESOLUTION,
            region=(0, 20, 15, 25),
            out=out,
            progress=False,
        )
    assert not out.exists()


def test_the_same_box_across_180_in_other_words_is_the_same_store(tmp_path) -> None:
    out = tmp_path / "dateline.zarr"
    first = _fill_args(out, "--region", "170", "-170", "-10", "10", *SMALL, end=DAYS[0])
    assert _main(first)[0] == 0
    status, printed, err = _main(_fill_args(out, "--region", "-190", "-170", "-10", "10", *SMALL))
    assert status == 0, err
    assert printed.splitlines()[0].startswith("region lon 170 .. -170, lat -10 .. 10")
    assert printed.splitlines()[1].startswith("1 day(s) written")
    assert pipeline.open_output(out).attrs["region_box"] == [170.0, -170.0, -10.0, 10.0]
    same = [region_cells(NSIDE, b) for b in ((170, -170, -10, 10), (-190, -170, -10, 10))]
    np.testing.assert_array_equal(*same)
