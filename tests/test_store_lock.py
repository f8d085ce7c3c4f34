"""One writer at a time: two real processes writing the same pipeline store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

distributed = pytest.importorskip("distributed")

from eogapfill import pipeline  # noqa: E402
from eogapfill.pipeline import runner, store  # noqa: E402
from tests import pipeline_fixtures  # noqa: E402
from tests.pipeline_fixtures import NSIDE, RESOLUTION, days_on_their_own  # noqa: E402

client = pipeline_fixtures.client  # the shared in-process Dask client (a fixture)

DAYS = ["2024-06-01", "2024-06-02", "2024-06-03"]
QUICK = ["--nside", str(NSIDE), "--resolution", str(RESOLUTION), "--quiet"]

# A writer whose fill waits until the file GATE exists: it holds the store's lock as long as
# the test wants. It overrides "laplace", so that its store is a plain Laplace store.
_GATED_WRITER = textwrap.dedent(
    """
    import sys
    import time
    from pathlib import Path

    from distributed import Client, LocalCluster

    from eogapfill import pipeline
    from eogapfill.fill import register_method

    out, gate, start, end, wait = sys.argv[1:6]


    def gated_laplace(day, **options):
        from eogapfill.fill.laplace import fill_laplace

        deadline = time.monotonic() + 120
        while not Path(gate).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        return fill_laplace(day, **options)


    if __name__ == "__main__":
        register_method("laplace", gated_laplace)
        with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            ds = pipeline.run(start, end, nside=16, resolution=1.0, out=out, client=client,
                              progress=False, wait=float(wait))
        print("written", ds.sizes["time"])
    """
)


@pytest.fixture(scope="module")
def reference(sample_dir: Path) -> dict[str, xr.Dataset]:
    """Each day computed on its own, without Dask or a store."""
    return days_on_their_own(DAYS)


def _assert_store_holds(out: Path, reference: dict[str, xr.Dataset], days: list[str]) -> None:
    """The store opens and holds each of ``days`` once, in order, as computed alone."""
    ds = pipeline.open_output(out, decode=False)
    assert [str(t)[:10] for t in ds["time"].values] == days
    for day in days:
        stored, ref = ds.sel(time=day), reference[day].isel(time=0)
        for name in pipeline.OUTPUT_VARIABLES:
            np.testing.assert_array_equal(stored[name].values, ref[name].values, err_msg=name)
    # every array of the store agrees with the committed metadata (no day written twice)
    for array in out.glob("*/.zarray"):
        if array.parent.name != "cell_ids":
            assert json.loads(array.read_text())["shape"][0] == len(days), array


def _start_gated_writer(
    tmp_path: Path, out: Path, start: str, end: str, wait: float = 0.0
) -> tuple[subprocess.Popen, Path]:
    script = tmp_path / "gated_writer.py"
    script.write_text(_GATED_WRITER)
    gate = tmp_path / "gate"
    proc = subprocess.Popen(
        [sys.executable, str(script), str(out), str(gate), start, end, str(wait)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, gate


def _wait_for_lock_holder(out: Path, proc: subprocess.Popen) -> dict:
    """The note of the lock once ``proc`` holds it."""
    lock = store._lock_path(out)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        try:
            note = json.loads(lock.read_text())
        except (OSError, ValueError):
            note = {}
        if note.get("pid") == proc.pid:
            return note
        time.sleep(0.05)
    pytest.fail("the first writer never took the lock")


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "eogapfill", *args], capture_output=True, text=True, timeout=timeout
    )


def _files(out: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}


@pytest.fixture()
def two_day_store(tmp_path: Path, client, sample_dir: Path) -> Path:
    out = tmp_path / "filled.zarr"
    pipeline.run(
        DAYS[0], DAYS[1], nside=NSIDE, resolution=RESOLUTION, out=out, client=client, progress=False
    )
    return out


@pytest.mark.parametrize("case", [pytest.param("empty-folder"), pytest.param("extending")])
def test_a_second_writer_refuses_and_names_the_first(case, tmp_path, client, reference, sample_dir):
    out = tmp_path / "filled.zarr"
    if case == "empty-folder":
        out.mkdir()
        before: list[str] = []
    else:
        pipeline.run(
            DAYS[0],
            DAYS[1],
            nside=NSIDE,
            resolution=RESOLUTION,
            out=out,
            client=client,
            progress=False,
        )
        before = DAYS[:2]
    first, gate = _start_gated_writer(tmp_path, out, DAYS[0], DAYS[-1])
    try:
        note = _wait_for_lock_holder(out, first)
        files = _files(out)
        second = _cli("fill", "--start", DAYS[0], "--end", DAYS[-1], *QUICK, "--out", str(out))
        assert second.returncode == 1, second.stderr
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in second.stderr, second.stderr
        message = lines[0]
        for words in (
            f"{out} is being written by another run",
            f"pid {first.pid}",
            note["host"],
            f"gated_writer.py {out}",
            "one writer at a time",
            "--wait",
            "another output path",
        ):
            assert words in message, words
        assert _files(out) == files, "the refused writer touched the store"
        if before:
            _assert_store_holds(out, reference, before)
    finally:
        gate.touch()
        stdout, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr[-3000:]
    assert stdout.strip() == f"written {len(DAYS)}"
    _assert_store_holds(out, reference, DAYS)
    assert not store._lock_path(out).exists(), "a finished run removes its lock file"

    again = _cli("fill", "--start", DAYS[0], "--end", DAYS[-1], *QUICK, "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("0 day(s) written")
    _assert_store_holds(out, reference, DAYS)


def test_a_waiting_writer_skips_the_days_of_the_first(tmp_path, two_day_store, reference):
    out = two_day_store
    first, gate = _start_gated_writer(tmp_path, out, DAYS[0], DAYS[-1])
    try:
        _wait_for_lock_holder(out, first)
        second = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "eogapfill",
                "fill",
                "--start",
                DAYS[0],
                "--end",
                DAYS[-1],
                *QUICK,
                "--out",
                str(out),
                "--wait",
                "240",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        told = second.stderr.readline()  # blocks until the second writer says it waits
        assert "is being written by another run" in told and "waiting" in told, told
        assert second.poll() is None, "the second writer must wait, not stop"
    finally:
        gate.touch()
        first.communicate(timeout=300)
    assert first.returncode == 0
    stdout, stderr = second.communicate(timeout=300)
    assert second.returncode == 0, stderr[-3000:]
    assert stdout.startswith(f"0 day(s) written to {out}; it holds {len(DAYS)} day(s)")
    _assert_store_holds(out, reference, DAYS)


def test_writers_started_together_write_each_day_once(tmp_path, reference, sample_dir):
    """Two writers racing for an empty folder, both told to wait: one writes, one skips."""
    out = tmp_path / "filled.zarr"
    out.mkdir()
    script = tmp_path / "writer.py"
    script.write_text(_GATED_WRITER)
    gate = tmp_path / "gate"
    gate.touch()  # no gate: both run as fast as they can
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(out), str(gate), DAYS[0], DAYS[-1], "240"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    for proc, (_, stderr) in zip(procs, results, strict=True):
        assert proc.returncode == 0, stderr[-3000:]
    assert sorted(stdout.strip() for stdout, _ in results) == [f"written {len(DAYS)}"] * 2
    _assert_store_holds(out, reference, DAYS)


def test_a_killed_writer_leaves_no_lock_that_blocks(tmp_path, client, reference, sample_dir):
    out = tmp_path / "filled.zarr"
    first, gate = _start_gated_writer(tmp_path, out, DAYS[0], DAYS[1])
    _wait_for_lock_holder(out, first)
    os.kill(first.pid, signal.SIGKILL)
    first.communicate(timeout=60)
    assert first.returncode == -signal.SIGKILL
    lock = store._lock_path(out)
    assert json.loads(lock.read_text())["pid"] == first.pid, "the killed run's note is left"

    ds = pipeline.run(
        DAYS[0], DAYS[1], nside=NSIDE, resolution=RESOLUTION, out=out, client=client, progress=False
    )
    assert ds.sizes["time"] == 2
    _assert_store_holds(out, reference, DAYS[:2])
    assert not lock.exists()


def test_the_lock_is_taken_before_any_work_in_this_process_too(
    tmp_path, two_day_store, monkeypatch
):
    out = two_day_store
    files = _files(out)

    def no_cluster(*args, **kwargs):
        raise AssertionError("a refused run must not start a cluster")

    monkeypatch.setattr(runner, "_default_cluster", no_cluster)
    with store._store_lock(out):
        with pytest.raises(
            pipeline.StoreBusyError, match=rf"pid {os.getpid()} on host .*one writer at a time"
        ):
            pipeline.run(
                DAYS[0], DAYS[-1], nside=NSIDE, resolution=RESOLUTION, out=out, progress=False
            )
        started = time.monotonic()
        with pytest.raises(pipeline.StoreBusyError):
            pipeline.run(
                DAYS[0],
                DAYS[-1],
                nside=NSIDE,
                resolution=RESOLUTION,
                out=out,
                progress=False,
                wait=0.6,
            )
        assert time.monotonic() - started >= 0.6
    assert _files(out) == files


def test_a_store_changed_behind_the_lock_stops_the_run(
    tmp_path, two_day_store, client, monkeypatch
):
    """A writer that ignores the lock (another tool) is caught before a day is duplicated."""
    out = two_day_store
    foreign = pipeline.process_day(DAYS[-1], nside=NSIDE, resolution=RESOLUTION)
    real = runner._compute_and_write

    def intruder_first(*args, **kwargs):
        attrs = store._store_attrs(out)
        foreign.assign_attrs(attrs).to_zarr(
            out, mode="a-", append_dim="time", zarr_format=2, consolidated=True
        )
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "_compute_and_write", intruder_first)
    with pytest.raises(RuntimeError, match="changed by another writer.*holds 3 day.*expected 2"):
        pipeline.run(
            DAYS[0],
            DAYS[-1],
            nside=NSIDE,
            resolution=RESOLUTION,
            out=out,
            client=client,
            progress=False,
        )
    assert [str(d.date()) for d in pipeline.stored_days(out)] == DAYS
    assert pd.Index(pipeline.stored_days(out)).is_unique
