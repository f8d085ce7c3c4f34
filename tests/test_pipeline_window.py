"""``eogapfill fill --window K``: each day filled from its neighbours, through the pipeline."""

from __future__ import annotations

import contextlib
import errno
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

distributed = pytest.importorskip("distributed")

from eogapfill import cli, pipeline  # noqa: E402
from eogapfill.fill.eof import fill_eof  # noqa: E402
from eogapfill.fill.registry import spacetime_methods  # noqa: E402
from eogapfill.fill.spacetime import fill_spacetime_oi  # noqa: E402
from eogapfill.pipeline import runner, window, writer  # noqa: E402
from eogapfill.stack import open_stack  # noqa: E402
from tests import pipeline_fixtures  # noqa: E402
from tests.pipeline_fixtures import NSIDE, RESOLUTION, in_process_cluster  # noqa: E402

client = pipeline_fixtures.client  # the shared in-process Dask client (a fixture)

QUICK = ["--nside", str(NSIDE), "--resolution", str(RESOLUTION), "--quiet"]
BOX = (-80.0, 0.0, -40.0, 60.0)  # the Atlantic: enough cells at nside 16 to fit a covariance


def _cli(*args: str) -> tuple[int, str, str]:
    """Run ``eogapfill`` in this process; return its status, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(list(args))
    return status, out.getvalue(), err.getvalue()


def _fill(start: str, end: str, out: Path, *extra: str) -> tuple[int, str, str]:
    return _cli("fill", "--start", start, "--end", end, *QUICK, "--out", str(out), *extra)


@pytest.fixture()
def local(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command's own local cluster as an in-process one (no worker process starts)."""
    monkeypatch.setattr(runner, "_default_cluster", in_process_cluster)


def _days(ds: xr.Dataset) -> list[str]:
    return [str(t)[:10] for t in ds["time"].values]


def _assert_observed_kept_and_sea_filled(ds: xr.Dataset) -> None:
    filled, l3s = ds["SST_filled"].values, ds["SST_L3S"].values
    sea, gap = ds["sea"].values, ds["gap"].values
    observed = sea & ~gap
    assert observed.any() and gap.any()
    np.testing.assert_array_equal(filled[observed], l3s[observed])  # bit-identical
    assert np.isfinite(filled[sea]).all()
    assert np.isnan(filled[~sea]).all()


REGRIDDED: list[str] = []  # days regridded by counting_regrid, in this process
_REGRID = window.regrid_day


def counting_regrid(date, **kwargs) -> xr.Dataset:
    """The pipeline's regridding of a day, recording the day (workers are threads here; a
    module-level function, so that a task pickles it by reference)."""
    REGRIDDED.append(str(pd.Timestamp(date).date()))
    return _REGRID(date, **kwargs)


def _store_bytes(out: Path) -> dict[str, bytes]:
    """Every file of a store, by relative path (data chunks and metadata)."""
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------------------------
# the command end to end
# --------------------------------------------------------------------------------------------
def test_fill_with_a_window_fills_every_day_and_agrees_with_the_api(tmp_path, local, sample_dir):
    out = tmp_path / "st.zarr"
    status, printed, err = _fill(
        "2024-06-02", "2024-06-04", out, "--method", "spacetime_oi", "--window", "1"
    )
    assert status == 0, err
    assert "window 1: each day is filled with the days within 1 day of it (3 days)" in printed
    assert "the windows also read 2024-06-01 and 2024-06-05, outside the range" in printed
    assert "3 day(s) written" in printed
    ds = pipeline.open_output(out)
    assert _days(ds) == ["2024-06-02", "2024-06-03", "2024-06-04"]
    assert ds.attrs["window"] == 1 and ds.attrs["fill_method"] == "spacetime_oi"
    assert set(pipeline.OUTPUT_VARIABLES) | {"filled_std"} == set(ds.data_vars)
    _assert_observed_kept_and_sea_filled(ds)
    std = ds["filled_std"].values
    assert (std[ds["gap"].values] > 0).all() and (
        std[ds["sea"].values & ~ds["gap"].values] == 0
    ).all()

    # the same days through the Python API: one stack with a day each side, one fill per day
    stack = open_stack("2024-06-01", "2024-06-05", NSIDE, resolution=RESOLUTION)
    for t, day in enumerate(_days(ds), start=1):
        api = fill_spacetime_oi(stack, t, window=1)
        np.testing.assert_array_equal(
            ds["SST_filled"].sel(time=day).values, api["filled"].values.astype("float32")
        )
        np.testing.assert_array_equal(
            ds["SST_L3S"].sel(time=day).values, stack["SST_L3S"].values[t].astype("float32")
        )


def test_a_spacetime_method_without_window_reads_its_default(tmp_path, local, sample_dir):
    out = tmp_path / "st.zarr"
    status, printed, err = _fill("2024-06-05", "2024-06-05", out, "--method", "spacetime_oi")
    assert status == 0, err
    assert "window 3: each day is filled with the days within 3 days of it (7 days)" in printed
    assert pipeline.open_output(out).attrs["window"] == 3


def test_a_killed_run_resumes_to_the_same_bytes(tmp_path, local, monkeypatch, sample_dir):
    """A run that stops while writing its third day, re-run: the store of an uninterrupted
    run, file for file (the re-run's first window reads the days before it again)."""
    args = ("2024-06-02", "2024-06-06")
    method = ("--method", "spacetime_oi", "--window", "1")
    whole = tmp_path / "whole.zarr"
    assert _fill(*args, whole, *method)[0] == 0

    append = writer._append_day
    writes: list[Path] = []

    def full_disk_on_third_day(ds, out):
        writes.append(out)
        if len(writes) == 3:
            raise OSError(errno.ENOSPC, "No space left on device", str(out / "SST_filled"))
        append(ds, out)

    resumed = tmp_path / "resumed.zarr"
    with monkeypatch.context() as patch:
        patch.setattr(writer, "_append_day", full_disk_on_third_day)
        status, _, err = _fill(*args, resumed, *method)
    assert status == 1 and "run the same command again to resume" in err
    assert [str(d.date()) for d in pipeline.stored_days(resumed)] == ["2024-06-02", "2024-06-03"]

    status, printed, err = _fill(*args, resumed, *method)
    assert status == 0, err
    assert printed.startswith("window 1") and "\n3 day(s) written" in printed
    assert _store_bytes(resumed) == _store_bytes(whole)


def test_a_window_holds_at_most_2k_plus_1_days_each_regridded_once(
    tmp_path, client, monkeypatch, sample_dir
):
    REGRIDDED.clear()
    tasks: list[window._WindowTasks] = []

    class Recorded(window._WindowTasks):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            tasks.append(self)

        def __call__(self, day):
            future = super().__call__(day)
            self.sizes.append(len(self.held))
            return future

    Recorded.sizes = []
    monkeypatch.setattr(window, "regrid_day", counting_regrid)
    monkeypatch.setattr(runner, "_WindowTasks", Recorded)
    monkeypatch.setattr(runner, "_window", lambda client: 2)  # two days in flight at most
    ds = pipeline.run(
        "2024-06-03",
        "2024-06-08",
        method="spacetime_oi",
        window=2,
        nside=NSIDE,
        resolution=RESOLUTION,
        out=tmp_path / "st.zarr",
        client=client,
        progress=False,
    )
    assert _days(ds) == [f"2024-06-{d:02d}" for d in range(3, 9)]
    # every day of the windows (June 1 to 10) regridded once, never twice
    assert sorted(REGRIDDED) == [f"2024-06-{d:02d}" for d in range(1, 11)]
    (run_tasks,) = tasks
    assert run_tasks.most_held == 5  # 2K + 1, reached and never passed
    assert max(Recorded.sizes) <= 4  # after each submission: the days a later day still reads
    assert run_tasks.regridded == 10


# --------------------------------------------------------------------------------------------
# refusals, before any work
# --------------------------------------------------------------------------------------------
def _no_work(*args: object, **kwargs: object) -> None:
    raise AssertionError("a bad window must be refused before any work starts")


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        pytest.param(
            ("--method", "laplace", "--window", "2"),
            f"--window: a window is for the space-time methods ({', '.join(spacetime_methods())}): "
            "the laplace fill fills each day on its own",
            id="single-day-method",
        ),
        pytest.param(
            ("--method", "eof", "--window", "0"),
            "--window: the eof fill needs at least 3 days in a window, and a window of 0 reads "
            "1: use a window of 1 or more",
            id="eof-too-few-days",
        ),
        pytest.param(
            ("--method", "spacetime_oi", "--option", "window=2"),
            "--option: the spacetime_oi fill's window is the run's window",
            id="window-as-an-option",
        ),
        pytest.param(
            ("--method", "spacetime_oi", "--window", "-1"),
            "argument --window: must be 0 or more days on each side, got -1",
            id="negative",
        ),
    ],
)
def test_a_bad_window_is_refused_before_any_work(tmp_path, monkeypatch, extra, words) -> None:
    for name in ("_default_cluster", "connect_scheduler", "source_days"):
        monkeypatch.setattr(runner, name, _no_work)
    out = tmp_path / "x.zarr"
    status, printed, err = _fill("2024-06-02", "2024-06-03", out, *extra)
    assert status == 2 and len(err.strip().splitlines()) == 1, err
    assert words in err and err.startswith("eogapfill fill: error:")
    assert printed == "" and not out.exists()


def test_eof_at_the_start_of_the_source_is_refused_naming_the_day(tmp_path, local, sample_dir):
    out = tmp_path / "eof.zarr"
    status, _, err = _fill("2024-06-01", "2024-06-03", out, "--method", "eof", "--window", "1")
    assert status == 1, err
    assert "the eof fill needs at least 3 days in each window, but the window of 2024-06-01 " in err
    assert "holds 2 (the source holds 2024-06-01 to 2024-06-10)" in err
    assert not out.exists()


def test_a_rerun_with_another_window_is_refused(tmp_path, local, sample_dir) -> None:
    out = tmp_path / "st.zarr"
    assert (
        _fill("2024-06-02", "2024-06-02", out, "--method", "spacetime_oi", "--window", "1")[0] == 0
    )
    before = _store_bytes(out)
    status, _, err = _fill(
        "2024-06-02", "2024-06-03", out, "--method", "spacetime_oi", "--window", "2"
    )
    assert status == 1
    assert "was filled with a window of 1 day(s) on each side but this run asks for 2" in err
    assert "--window 1" in err
    assert _store_bytes(out) == before


# --------------------------------------------------------------------------------------------
# a region, and DINEOF
# --------------------------------------------------------------------------------------------
def test_a_region_is_filled_with_its_window(tmp_path, client, sample_dir) -> None:
    ds = pipeline.run(
        "2024-06-04",
        "2024-06-05",
        method="spacetime_oi",
        window=1,
        nside=NSIDE,
        resolution=RESOLUTION,
        out=tmp_path / "region.zarr",
        client=client,
        progress=False,
        region=BOX,
    )
    box, ids = pipeline.check_region(BOX, NSIDE, "spacetime_oi")
    assert ds.attrs["healpix_partial"] == 1 and ds.attrs["window"] == 1
    np.testing.assert_array_equal(ds["cell_ids"].values, ids)
    _assert_observed_kept_and_sea_filled(ds)
    stack = open_stack("2024-06-03", "2024-06-06", NSIDE, region=box, resolution=RESOLUTION)
    api = fill_spacetime_oi(stack, 1, window=1)
    np.testing.assert_array_equal(
        ds["SST_filled"].values[0], api["filled"].values.astype("float32")
    )


def test_eof_fills_each_day_with_the_dineof_of_its_window(tmp_path, client, sample_dir) -> None:
    ds = pipeline.run(
        "2024-06-04",
        "2024-06-05",
        method="eof",
        window=2,
        nside=NSIDE,
        resolution=RESOLUTION,
        out=tmp_path / "eof.zarr",
        client=client,
        progress=False,
    )
    assert "filled_std" not in ds and ds.attrs["window"] == 2
    _assert_observed_kept_and_sea_filled(ds)
    stack = open_stack("2024-06-03", "2024-06-07", NSIDE, resolution=RESOLUTION)  # June 5's
    api = fill_eof(stack, 2)
    np.testing.assert_array_equal(
        ds["SST_filled"].sel(time="2024-06-05").values, api["filled"].values.astype("float32")
    )


def test_the_window_is_checked_and_its_reach_said() -> None:
    assert pipeline.check_window("spacetime_oi", np.int64(2)) == 2
    assert pipeline.check_window("eof", None) == 3 and pipeline.check_window("oi", None) is None
    for bad in (True, -1, 1.5, "3"):
        with pytest.raises(ValueError, match="the window must be an integer >= 0"):
            pipeline.check_window("spacetime_oi", bad)
    have = list(pd.date_range("2024-06-01", "2024-06-10"))
    days = list(pd.date_range("2024-06-08", "2024-06-10"))
    assert pipeline.window_summary(days, 2, have) == (
        "window 2: each day is filled with the days within 2 days of it (5 days); the windows "
        "also read 2024-06-06 to 2024-06-07, outside the range; the source ends on "
        "2024-06-10: 2024-06-09 reads 4 days, 2024-06-10 reads 3 days"
    )
    assert [d.day for d in pipeline.window_days(days[0], 1, have[:5] + have[8:])] == [9]
