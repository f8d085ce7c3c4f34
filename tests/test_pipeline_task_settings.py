"""A day's task leaves dask's settings alone: the threads of an in-process worker share them
with the run, and a task that set and restored them would undo what others set meanwhile."""

from __future__ import annotations

import threading

import dask
import numpy as np
import pytest

from eogapfill.pipeline import day as day_module
from eogapfill.pipeline.day import regrid_day
from tests.pipeline_fixtures import NSIDE, RESOLUTION


@pytest.fixture()
def scheduler_setting():
    """Dask's ``scheduler`` setting as the test found it, put back after it."""
    before = dask.config.get("scheduler", None)
    yield
    dask.config.set(scheduler=before)


@pytest.mark.parametrize("threads", [1, 2])
def test_a_setting_changed_by_another_thread_during_a_task_survives_it(
    monkeypatch, scheduler_setting, threads
):
    """Another thread (the run closing its client) changes the setting while the task reads
    its day: the task must not put back what it found when it started."""
    open_l4 = day_module.open_l4

    def open_l4_while_another_thread_changes_the_setting(*args, **kwargs):
        other = threading.Thread(target=dask.config.set, kwargs={"scheduler": "processes"})
        other.start()
        other.join()
        return open_l4(*args, **kwargs)

    monkeypatch.setattr(day_module, "open_l4", open_l4_while_another_thread_changes_the_setting)
    dask.config.set(scheduler="threads")
    hp = regrid_day("2024-06-01", nside=NSIDE, resolution=RESOLUTION, threads=threads)
    assert dask.config.get("scheduler") == "processes"
    assert hp["gap"].any() and np.isfinite(hp["SST_L3S"].where(hp["sea"] & ~hp["gap"])).any()


def test_a_task_reads_its_day_with_its_own_scheduler_whatever_the_setting_names(
    scheduler_setting,
):
    """The setting names a distributed scheduler whose client is gone (as a run's closed
    client can leave it): the task reads its day all the same, and the same day."""
    reference = regrid_day("2024-06-01", nside=NSIDE, resolution=RESOLUTION, threads=1)
    dask.config.set(scheduler="dask.distributed")
    hp = regrid_day("2024-06-01", nside=NSIDE, resolution=RESOLUTION, threads=1)
    for name in ("SST_L3S", "SST_L4", "gap", "sea"):
        np.testing.assert_array_equal(hp[name].values, reference[name].values)
