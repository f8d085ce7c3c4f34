"""The multi-day pipeline: one resumable Zarr store, filled on Dask workers."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

distributed = pytest.importorskip("distributed")

from eogapfill import pipeline  # noqa: E402
from eogapfill.fill import METHODS, FillMethod, register_method  # noqa: E402
from eogapfill.healpix import decode  # noqa: E402
from eogapfill.pipeline import runner, store  # noqa: E402
from tests import pipeline_fixtures  # noqa: E402
from tests.pipeline_fixtures import NSIDE, RESOLUTION, days_on_their_own  # noqa: E402

client = pipeline_fixtures.client  # the shared in-process Dask client (a fixture)

DAYS = [f"2024-06-0{d}" for d in range(1, 8)]  # the sample's first week
NEXT_DAY = "2024-06-08"
CALLS: list[str] = []  # days filled by counting_laplace, in this process


def counting_laplace(day: xr.Dataset, **options: object) -> xr.Dataset:
    """The Laplace fill, recording which day it fills (workers are threads of this process)."""
    from eogapfill.fill.laplace import fill_laplace

    CALLS.append(str(day["time"].values)[:10])
    return fill_laplace(day, **options)


def failing_on_second_day(day: xr.Dataset, **options: object) -> xr.Dataset:
    """Laplace, failing on the second day with a fault a re-run can get past (the network's).
    It does not count its days: the days still in flight when the run stops finish later on
    the worker threads, during the next run."""
    from eogapfill.fill.laplace import fill_laplace

    if str(day["time"].values)[:10] == DAYS[1]:
        raise ConnectionError("simulated fault of the network")
    return fill_laplace(day, **options)


def _as_laplace(fill) -> FillMethod:
    """The registry's Laplace entry with another function: patch it in with setitem."""
    return dataclasses.replace(METHODS["laplace"], target=fill)


@pytest.fixture(scope="module")
def reference(sample_dir: Path) -> dict[str, xr.Dataset]:
    """Each day computed on its own, without Dask or a store."""
    return days_on_their_own(DAYS)


@pytest.fixture(scope="module")
def filled_store(tmp_path_factory: pytest.TempPathFactory, client, sample_dir: Path) -> Path:
    """A week of sample days filled by (counted) Laplace at nside 16 on two workers."""
    out = tmp_path_factory.mktemp("pipeline") / "filled.zarr"
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(METHODS, "laplace", _as_laplace(counting_laplace))
        mp.setattr(runner, "_window", lambda client: 2)  # fewer tasks in flight than days
        CALLS.clear()
        pipeline.run(
            DAYS[0],
            DAYS[-1],
            method="laplace",
            nside=NSIDE,
            resolution=RESOLUTION,
            out=out,
            client=client,
            progress=False,
        )
        assert sorted(CALLS) == DAYS
    return out


def _copy(store: Path, tmp_path: Path) -> Path:
    target = tmp_path / store.name
    shutil.copytree(store, target)
    return target


def _assert_days_equal(ds: xr.Dataset, reference: dict[str, xr.Dataset], days: list[str]) -> None:
    assert [str(t)[:10] for t in ds["time"].values] == days
    for day in days:
        stored, ref = ds.sel(time=day), reference[day].isel(time=0)
        for name in pipeline.OUTPUT_VARIABLES:
            np.testing.assert_array_equal(stored[name].values, ref[name].values, err_msg=name)


# --------------------------------------------------------------------------------------------
# the store
# --------------------------------------------------------------------------------------------
def test_store_opens_with_xarray_and_decodes_with_xdggs(filled_store: Path) -> None:
    raw = xr.open_zarr(filled_store)
    assert dict(raw.sizes) == {"time": len(DAYS), "cells": 12 * NSIDE**2}
    assert dict(raw["cell_ids"].attrs) == {
        "grid_name": "healpix",
        "level": 4,
        "indexing_scheme": "nested",
    }
    for name in pipeline.OUTPUT_VARIABLES:
        assert raw[name].encoding["chunks"] == (1, 12 * NSIDE**2), name
    assert raw.attrs["fill_method"] == "laplace" and raw.attrs["nside"] == NSIDE
    ds = pipeline.open_output(filled_store)
    assert ds.dggs.grid_info.level == 4
    assert "SST_filled" in decode(raw).data_vars


def test_store_holds_each_day_as_computed_alone(filled_store: Path, reference) -> None:
    _assert_days_equal(pipeline.open_output(filled_store, decode=False), reference, DAYS)


def test_filled_has_no_gap_keeps_observations_and_land(filled_store: Path) -> None:
    ds = pipeline.open_output(filled_store, decode=False).load()
    sea, gap = ds["sea"].values, ds["gap"].values
    filled, observed = ds["SST_filled"].values, ds["SST_L3S"].values
    assert gap.any(axis=1).all(), "every day must have gaps to fill"
    assert np.isfinite(filled[sea]).all()
    assert np.isnan(filled[~sea]).all()
    clear = sea & ~gap
    np.testing.assert_array_equal(filled[clear], observed[clear])
    np.testing.assert_array_equal(gap, sea & np.isnan(observed))
    assert ds["SST_filled"].attrs["units"] == "degC"


# --------------------------------------------------------------------------------------------
# resuming
# --------------------------------------------------------------------------------------------
def test_rerun_skips_finished_days(filled_store, tmp_path, client, monkeypatch, reference):
    out = _copy(filled_store, tmp_path)
    files = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    monkeypatch.setitem(METHODS, "laplace", _as_laplace(counting_laplace))
    CALLS.clear()

    pipeline.run(
        DAYS[0],
        DAYS[-1],
        nside=NSIDE,
        resolution=RESOLUTION,
        out=out,
        client=client,
        progress=False,
    )
    assert CALLS == []
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == files

    ds = pipeline.run(
        DAYS[0],
        NEXT_DAY,
        nside=NSIDE,
        resolution=RESOLUTION,
        out=out,
        client=client,
        progress=False,
    )
    assert CALLS == [NEXT_DAY]
    assert ds.sizes["time"] == len(DAYS) + 1
    _assert_days_equal(ds.isel(time=slice(0, len(DAYS))), reference, DAYS)
    for chunk in [p for p in files if p.name.startswith("0.") or p.name == "0"]:
        assert chunk.stat().st_mtime_ns == files[chunk], f"{chunk} was rewritten"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"nside": 32}, "nside", id="other-nside"),
        pytest.param({"method": "alm"}, "fill_method", id="other-method"),
        pytest.param({"method_options": {"tol": 1e-3}}, "method_options", id="other-options"),
        pytest.param(
            {"region": (-80, -50, 25, 45)},
            "holds the full sphere at nside 16, but this run asks for the region",
            id="a-region",
        ),
    ],
)
def test_a_store_keeps_one_configuration(filled_store, tmp_path, kwargs, match):
    out = _copy(filled_store, tmp_path)
    options = {"nside": NSIDE, "resolution": RESOLUTION, "progress": False, **kwargs}
    with pytest.raises(ValueError, match=match):
        pipeline.run(DAYS[0], NEXT_DAY, out=out, **options)
    assert len(pipeline.stored_days(out)) == len(DAYS)


def test_days_before_the_end_of_the_store_are_refused(filled_store, tmp_path):
    out = _copy(filled_store, tmp_path)
    with pytest.raises(ValueError, match="cannot be appended"):
        pipeline.run(
            "2024-05-31", DAYS[-1], nside=NSIDE, resolution=RESOLUTION, out=out, progress=False
        )


@pytest.mark.parametrize(
    ("start", "end", "kwargs", "match"),
    [
        pytest.param("2024-06-03", "2024-06-01", {}, "before the start", id="end-before-start"),
        pytest.param("2024-06-41", "2024-06-42", {}, "YYYY-MM-DD", id="not-a-date"),
        pytest.param(DAYS[0], DAYS[0], {"nside": 100}, "power of two", id="nside"),
        pytest.param(
            DAYS[0], DAYS[0], {"method": "kriging"}, "unknown fill method", id="unknown-method"
        ),
        pytest.param(
            "2030-01-01",
            "2030-01-02",
            {},
            "no data .* holds 2024-06-01 to 2024-06-10: pick days in that range or "
            "the real products",
            id="days-not-in-sample",
        ),
        pytest.param(
            "2024-06-01T00:00+02:00",
            DAYS[1],
            {},
            r"has a time zone.*YYYY-MM-DD \(e.g. 2024-05-31 in UTC\)",
            id="date-with-time-zone",
        ),
        pytest.param(None, DAYS[1], {}, "the start is missing", id="date-missing"),
        pytest.param(
            DAYS[0],
            DAYS[0],
            {"method": "oi", "method_options": {"n_members": True}},
            r"oi fill's option n_members must be int, got True \(bool\)",
            id="option-bool-for-a-count",
        ),
        pytest.param(
            DAYS[0],
            DAYS[0],
            {"method": "alm", "method_options": {"lmaxx": 3}},
            "the alm fill has no option 'lmaxx'; its options: .*lmax",
            id="option-unknown-name",
        ),
        pytest.param(
            DAYS[0],
            DAYS[0],
            {"method": "alm", "region": (-80, -50, 25, 45)},
            "'alm' needs the whole sphere and does not fill a region: choose one of laplace",
            id="region-with-a-full-sphere-method",
        ),
        pytest.param(
            DAYS[0], DAYS[0], {"region": (-80, -50, 45, 25)}, "lat0 < lat1", id="region-upside-down"
        ),
        pytest.param(
            DAYS[0],
            DAYS[0],
            {"wait": -1},
            "wait must be a number of seconds >= 0",
            id="wait-negative",
        ),
        pytest.param(
            DAYS[0],
            DAYS[0],
            {"scheduler": "localhost"},
            "'localhost' is not a Dask scheduler address",
            id="scheduler-not-an-address",
        ),
    ],
)
def test_bad_requests_fail_before_any_work(tmp_path, monkeypatch, start, end, kwargs, match):
    out = tmp_path / "out.zarr"

    def no_work(*args, **kwargs):
        raise AssertionError("a bad request must be refused before any work starts")

    monkeypatch.setattr(runner, "_default_cluster", no_work)
    monkeypatch.setattr(runner, "connect_scheduler", no_work)
    options = {"nside": NSIDE, "resolution": RESOLUTION, "progress": False, **kwargs}
    with pytest.raises(ValueError, match=match):
        pipeline.run(start, end, out=out, **options)
    assert not out.exists()
    assert not store._lock_path(out).exists()


def test_output_must_be_a_pipeline_store(tmp_path, sample_dir):
    other = xr.Dataset({"x": ("t", np.arange(3))})
    other.to_zarr(tmp_path / "other.zarr", zarr_format=2, consolidated=True)
    with pytest.raises(ValueError, match="not written by eogapfill"):
        pipeline.run(
            DAYS[0],
            DAYS[0],
            nside=NSIDE,
            resolution=RESOLUTION,
            out=tmp_path / "other.zarr",
            progress=False,
        )
    (tmp_path / "file.zarr").write_text("not a store")
    with pytest.raises(ValueError, match="is a file"):
        pipeline.run(
            DAYS[0],
            DAYS[0],
            nside=NSIDE,
            resolution=RESOLUTION,
            out=tmp_path / "file.zarr",
            progress=False,
        )


# --------------------------------------------------------------------------------------------
# failures and crashes
# --------------------------------------------------------------------------------------------
def test_a_failing_day_keeps_the_days_before_it(tmp_path, client, monkeypatch, reference):
    out = tmp_path / "filled.zarr"
    monkeypatch.setitem(METHODS, "laplace", _as_laplace(failing_on_second_day))
    with pytest.raises(RuntimeError, match=f"filling {DAYS[1]} failed.*run the same command"):
        pipeline.run(
            DAYS[0],
            DAYS[-1],
            nside=NSIDE,
            resolution=RESOLUTION,
            out=out,
            client=client,
            progress=False,
        )
    assert pipeline.stored_days(out) == [pd.Timestamp(DAYS[0])]
    _assert_days_equal(pipeline.open_output(out, decode=False), reference, DAYS[:1])

    monkeypatch.setitem(METHODS, "laplace", _as_laplace(counting_laplace))
    CALLS.clear()
    ds = pipeline.run(
        DAYS[0],
        DAYS[-1],
        nside=NSIDE,
        resolution=RESOLUTION,
        out=out,
        client=client,
        progress=False,
    )
    assert sorted(CALLS) == DAYS[1:]
    _assert_days_equal(ds, reference, DAYS)


# A run killed (os._exit: no clean-up code runs) at a chosen write of the store.
_CRASH_SCRIPT = textwrap.dedent(
    """
    import os
    import sys
    from pathlib import Path

    from zarr.storage import LocalStore

    out, where = Path(sys.argv[1]), sys.argv[2]
    writes = 0
    original_set = LocalStore.set

    async def set_then_maybe_crash(self, key, value, *args, **kwargs):
        global writes
        root = Path(str(self.root))
        if where == "creating-store" and ".partial-" in root.name:
            writes += 1
            if writes == 4:
                os._exit(3)
        elif root == out:
            writes += 1
            if where == "mid-append" and writes == 5:
                os._exit(3)
            if where == "before-commit" and key == ".zmetadata":
                os._exit(3)
        return await original_set(self, key, value, *args, **kwargs)

    LocalStore.set = set_then_maybe_crash

    from distributed import Client, LocalCluster

    from eogapfill import pipeline

    if __name__ == "__main__":
        with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            pipeline.run(sys.argv[3], sys.argv[4], nside=16, resolution=1.0, out=out,
                         client=client, progress=False)
    """
)


def _shapes_on_disk(out: Path) -> dict[str, int]:
    return {
        p.parent.name: json.loads(p.read_text())["shape"][0]
        for p in out.glob("*/.zarray")
        if p.parent.name != "cell_ids"
    }


@pytest.mark.parametrize(
    ("where", "committed"),
    [
        pytest.param("creating-store", [], id="creating-store"),
        pytest.param("mid-append", DAYS[:1], id="mid-append"),
        pytest.param("before-commit", DAYS[:1], id="before-commit"),
    ],
)
def test_a_killed_run_leaves_only_complete_days(tmp_path, client, reference, where, committed):
    out = tmp_path / "filled.zarr"
    script = tmp_path / "crash.py"
    script.write_text(_CRASH_SCRIPT)
    proc = subprocess.run(
        [sys.executable, str(script), str(out), where, DAYS[0], DAYS[1]],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 3, proc.stderr[-3000:]

    if not committed:
        assert not out.exists()
        assert list(tmp_path.glob(".filled.zarr.partial-*")), "the crash left no partial store"
    else:
        assert max(_shapes_on_disk(out).values()) == 2, "the crash must be mid-append"
        _assert_days_equal(pipeline.open_output(out, decode=False), reference, committed)
        # What the next run does first: cut the arrays back to the committed day.
        assert store._rollback_uncommitted(out)
        assert set(_shapes_on_disk(out).values()) == {1}
        assert not [p for p in out.glob("*/1*") if p.parent.name != "cell_ids"]
        _assert_days_equal(xr.open_zarr(out, consolidated=False), reference, committed)

    ds = pipeline.run(
        DAYS[0], DAYS[1], nside=NSIDE, resolution=RESOLUTION, out=out, client=client, progress=False
    )
    _assert_days_equal(ds, reference, DAYS[:2])
    assert set(_shapes_on_disk(out).values()) == {2}
    _assert_days_equal(xr.open_zarr(out, consolidated=False), reference, DAYS[:2])
    assert not list(tmp_path.glob(".filled.zarr.partial-*"))


# --------------------------------------------------------------------------------------------
# methods
# --------------------------------------------------------------------------------------------
def test_the_pipeline_runs_the_registry_healpix_methods(monkeypatch):
    assert pipeline.available_methods() == [
        name for name, entry in METHODS.items() if entry.grid == "healpix" and entry.available()
    ]
    assert all(isinstance(entry.target, str) for entry in METHODS.values())
    assert pipeline.resolve_method("alm").__name__ == "fill_alm"
    with pytest.raises(ValueError, match="unknown fill method 'nope'"):
        pipeline.resolve_method("nope")
    with pytest.raises(ValueError, match="lat/lon grid.*choose one of laplace"):
        pipeline.check_method_options("interpolate_na", {})
    monkeypatch.setitem(
        METHODS, "missing", FillMethod("missing", "eogapfill.fill.no_such_module:fill")
    )
    assert "missing" not in pipeline.available_methods()
    with pytest.raises(ValueError, match="not available in this installation"):
        pipeline.run(DAYS[0], DAYS[0], method="missing", out="unused.zarr", progress=False)
    with pytest.raises(ValueError, match="without ':'"):
        register_method("a:b", counting_laplace)
    assert "a:b" not in METHODS


def test_a_fill_gets_the_task_threads_and_no_progress_bar_when_it_takes_them():
    def fill(sst, gaps=None, *, threads: int | None = None, progress: bool = True): ...

    def plain(sst, gaps=None, *, lmax: int = 3): ...

    assert runner._run_options(fill, None, 3) == {"threads": 3, "progress": False}
    assert runner._run_options(fill, {"threads": 1}, 3) == {"threads": 1, "progress": False}
    assert runner._run_options(plain, {"lmax": 2}, 3) == {"lmax": 2}


def laplace_with_std(day: xr.Dataset, **options: object) -> xr.Dataset:
    """Laplace, with an uncertainty that grows with the distance (in cells) to an observation."""
    from eogapfill.fill.common import finish_fill, prepare_fill
    from eogapfill.fill.laplace import fill_laplace
    from eogapfill.healpix import neighbours

    inputs = prepare_fill(day, method="laplace_with_std")
    nb = neighbours(NSIDE)
    known, steps = inputs.observed.copy(), np.zeros(inputs.values.size)
    while not known[inputs.gaps].all():
        reached = ~known & ((nb >= 0) & known[np.where(nb >= 0, nb, 0)]).any(axis=1)
        if not reached.any():
            break
        steps[reached] = steps.max() + 1
        known |= reached
    filled = fill_laplace(day, **options)["filled"].values
    return finish_fill(inputs, filled, method="laplace_with_std", std=0.3 * steps)


def test_uncertainty_is_stored_when_the_method_gives_one(tmp_path, client, monkeypatch):
    monkeypatch.setitem(
        METHODS, "laplace_with_std", FillMethod("laplace_with_std", laplace_with_std)
    )
    ds = pipeline.run(
        DAYS[0],
        DAYS[0],
        method="laplace_with_std",
        nside=NSIDE,
        resolution=RESOLUTION,
        out=tmp_path / "std.zarr",
        client=client,
        progress=False,
    ).load()
    std, gap, sea = ds["filled_std"].values, ds["gap"].values, ds["sea"].values
    assert ds["filled_std"].attrs["units"] == "degC"
    assert (std[gap] > 0).all() and (std[sea & ~gap] == 0).all()
    assert np.isnan(std[~sea]).all()


def test_run_on_a_scheduler_given_by_its_address(tmp_path, reference):
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        protocol="tcp://",
        dashboard_address=None,
    ) as cluster:
        ds = pipeline.run(
            DAYS[0],
            DAYS[1],
            nside=NSIDE,
            resolution=RESOLUTION,
            out=tmp_path / "filled.zarr",
            scheduler=cluster.scheduler_address,
            connect_timeout=20,
            progress=False,
        )
        _assert_days_equal(ds, reference, DAYS[:2])
        assert cluster.scheduler.clients.keys() <= {"fire-and-forget"}, "the run's client is closed"
