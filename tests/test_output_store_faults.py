"""Faults of the pipeline's own store: lost chunk files and damaged metadata are loud.

A pipeline store holds every chunk (fill values too), so a chunk file that is not on disk is
lost data: opening the store refuses it, naming the day, and a run over that day recomputes it
in place. Real stores written by the pipeline, and the real command line.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

distributed = pytest.importorskip("distributed")

from eogapfill import pipeline  # noqa: E402
from eogapfill.pipeline import store  # noqa: E402
from eogapfill.pipeline.store import DamagedStoreError, damaged_days  # noqa: E402
from tests import pipeline_fixtures  # noqa: E402
from tests.pipeline_fixtures import NSIDE, RESOLUTION, days_on_their_own  # noqa: E402

client = pipeline_fixtures.client  # the shared in-process Dask client (a fixture)

DAYS = ["2024-06-01", "2024-06-02", "2024-06-03"]
CLI_OPTIONS = ["--nside", str(NSIDE), "--resolution", str(RESOLUTION), "--quiet"]


@pytest.fixture(scope="module")
def reference(sample_dir: Path) -> dict[str, xr.Dataset]:
    """Each day computed on its own, without Dask or a store."""
    return days_on_their_own(DAYS)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory, client, sample_dir: Path) -> Path:
    """A three-day Laplace store written by the pipeline (copied by each test that harms it)."""
    out = tmp_path_factory.mktemp("pristine") / "filled.zarr"
    pipeline.run(
        DAYS[0], DAYS[-1], nside=NSIDE, resolution=RESOLUTION, out=out, client=client,
        progress=False,
    )  # fmt: skip
    return out


@pytest.fixture()
def filled(pristine: Path, tmp_path: Path) -> Path:
    import shutil

    out = tmp_path / "filled.zarr"
    shutil.copytree(pristine, out)
    return out


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "eogapfill", *args], capture_output=True, text=True, timeout=300
    )


def _assert_holds(out: Path, reference: dict[str, xr.Dataset]) -> None:
    ds = pipeline.open_output(out, decode=False)
    assert [str(t)[:10] for t in ds["time"].values] == DAYS
    for day in DAYS:
        for name in pipeline.OUTPUT_VARIABLES:
            np.testing.assert_array_equal(
                ds[name].sel(time=day).values, reference[day][name].isel(time=0).values, name
            )


def _files(out: Path) -> dict[str, int]:
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}


# --------------------------------------------------------------------------------------------
# a lost chunk file
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("chunk", "day"), [("SST_filled/1.0", 1), ("gap/0.0", 0)])
def test_a_lost_chunk_fails_the_open_naming_the_day_and_the_way_out(filled, chunk, day):
    (filled / chunk).unlink()
    with pytest.raises(DamagedStoreError) as err:
        pipeline.open_output(filled)
    message = str(err.value)
    assert str(filled) in message and DAYS[day] in message and chunk in message
    assert f"--start {DAYS[day]} --end {DAYS[day]}" in message and "recomputes" in message
    # the day is not finished: a run over it recomputes it
    assert [str(d.date()) for d in pipeline.stored_days(filled)] == [
        d for i, d in enumerate(DAYS) if i != day
    ]
    assert [str(d.date()) for d in damaged_days(filled)] == [DAYS[day]]
    assert store._committed_length(filled) == len(DAYS) - 1


@pytest.mark.parametrize(
    "lost",
    [
        pytest.param(["SST_filled/2.0", "gap/2.0"], id="last-day"),
        pytest.param(["SST_filled/1.0"], id="middle-day"),
    ],
)
def test_a_rerun_recomputes_a_damaged_day_and_keeps_the_others(filled, reference, lost):
    """The real command line, run again over the store after one day lost chunk files: that
    day is rewritten in place, wherever it lies, and no other day's chunk is touched."""
    for key in lost:
        (filled / key).unlink()
    day = lost[0].split("/")[1].split(".")[0]
    before = _files(filled)
    run = _cli("fill", "--start", DAYS[0], "--end", DAYS[-1], "--out", str(filled), *CLI_OPTIONS)
    assert run.returncode == 0, run.stderr[-3000:]
    _assert_holds(filled, reference)
    after = _files(filled)
    rewritten = {k for k in after if after[k] != before.get(k)}
    assert set(lost) <= rewritten
    assert {k.split("/")[-1].split(".")[0] for k in rewritten if "/" in k} <= {day}, rewritten
    assert damaged_days(filled) == []


def test_a_damaged_day_inside_the_store_is_rewritten_in_place(filled, reference):
    """The store's writer puts a recomputed day back where it was, touching nothing else."""
    (filled / "SST_filled" / "1.0").unlink()
    (filled / "sea" / "1.0").unlink()
    before = _files(filled)
    attrs = store._store_attrs(filled)
    store._append_day(reference[DAYS[1]].assign_attrs(attrs), filled)
    _assert_holds(filled, reference)
    after = _files(filled)
    rewritten = {k for k in after if after[k] != before.get(k)}
    assert {"SST_filled/1.0", "sea/1.0"} <= rewritten  # the day's chunks, no other file
    assert {k.split("/")[1] for k in rewritten} == {"1.0"}, rewritten
    assert store._committed_length(filled) == len(DAYS)
    # a finished day is never written twice, and a new day never lands before the last one
    with pytest.raises(RuntimeError, match="already finished"):
        store._append_day(reference[DAYS[1]].assign_attrs(attrs), filled)
    assert store._new_days([pd.Timestamp(d) for d in DAYS], filled) == []


@pytest.mark.parametrize("chunk", ["time/1", "cell_ids/0"])
def test_a_lost_time_or_grid_chunk_asks_for_a_new_store(filled, chunk):
    (filled / chunk).unlink()
    for call in (pipeline.open_output, pipeline.stored_days):
        with pytest.raises(DamagedStoreError, match=rf"{chunk}.*Delete the store"):
            call(filled)


def test_days_of_fill_values_only_are_written_and_read_as_finished(filled, reference):
    """A day with no gap and one without observation have chunks of fill values only."""
    attrs = store._store_attrs(filled)
    day = reference[DAYS[-1]].assign_coords(time=[np.datetime64("2024-06-04")])
    day["gap"][:] = False
    day["SST_L3S"][:] = np.nan
    store._append_day(day.assign_attrs(attrs), filled)
    assert (filled / "gap" / "3.0").is_file() and (filled / "SST_L3S" / "3.0").is_file()
    assert damaged_days(filled) == []
    ds = pipeline.open_output(filled, decode=False)
    assert not ds["gap"].isel(time=3).any() and ds["SST_L3S"].isel(time=3).isnull().all()


def test_an_older_store_with_chunks_of_fill_values_left_out_is_not_damaged(filled):
    """Stores written before every chunk was: only what cannot be empty is checked."""
    meta = json.loads((filled / ".zmetadata").read_text())
    del meta["metadata"][".zattrs"][store._DENSE_ATTR]
    (filled / ".zmetadata").write_text(json.dumps(meta))
    (filled / "gap" / "1.0").unlink()  # what an all-False day left
    assert damaged_days(filled) == []
    (filled / "SST_filled" / "1.0").unlink()  # never all fill values: lost
    assert [str(d.date()) for d in damaged_days(filled)] == [DAYS[1]]


# --------------------------------------------------------------------------------------------
# damaged metadata
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text", [pytest.param('{"metadata": {', id="cut"), pytest.param("[]", id="not-an-object")]
)
def test_damaged_consolidated_metadata_names_the_store_and_what_to_do(filled, text):
    (filled / ".zmetadata").write_text(text)
    for call in (pipeline.open_output, pipeline.stored_days):
        with pytest.raises(DamagedStoreError, match=r"\.zmetadata.*delete the store") as err:
            call(filled)
        assert str(filled) in str(err.value)
    run = _cli("fill", "--start", DAYS[0], "--end", DAYS[0], "--out", str(filled), *CLI_OPTIONS)
    assert run.returncode != 0
    assert "Traceback" not in run.stderr and "JSONDecodeError" not in run.stderr.split(":")[0]
    assert str(filled) in run.stderr and "delete the store" in run.stderr


def test_a_damaged_array_metadata_file_is_named_too(filled):
    (filled / "SST_filled" / ".zarray").write_text("{not json")
    with pytest.raises(DamagedStoreError, match=r"SST_filled/\.zarray"):
        store._rollback_uncommitted(filled)
