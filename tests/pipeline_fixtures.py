"""What the pipeline tests share: an in-process Dask client and days computed on their own."""

from __future__ import annotations

import pytest
import xarray as xr

distributed = pytest.importorskip("distributed")

from eogapfill import pipeline  # noqa: E402

#: The grid and sample resolution of the pipeline tests (the sample's coarsest grid: quick).
NSIDE = 16
RESOLUTION = 1.0


@pytest.fixture(scope="module")
def client():
    """Two single-threaded in-process workers, one per test module."""
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def days_on_their_own(days: list[str]) -> dict[str, xr.Dataset]:
    """Each day computed on its own, without Dask or a store: what a store must hold."""
    return {
        day: pipeline.process_day(day, method="laplace", nside=NSIDE, resolution=RESOLUTION)
        for day in days
    }


def in_process_cluster(n_workers: int, threads_per_worker: int):
    """A client of a fresh in-process cluster: a stand-in for the run's own local cluster
    (``runner._default_cluster``) that starts no process; the run closes it."""
    cluster = distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    )
    return distributed.Client(cluster)
