"""Throughput of the multi-day pipeline: days per hour with 1 and 2 Dask workers.

For each method, a fresh local cluster of ``W`` single-threaded worker processes fills the
same days into a new store with :func:`eogapfill.pipeline.run`; the workers are warmed up
(imports, sample cache) before the clock starts. Reported per (method, workers):

- wall-clock seconds and days per hour, and the speed-up over one worker;
- CPU seconds per day (user + system time of the workers, from ``getrusage``), which does not
  depend on what else runs on the machine;
- the peak resident memory of a worker process (``ru_maxrss``);
- the seconds per day the driver spends appending to the store: this part is serial, but it
  overlaps with the workers' computing, so it limits the throughput only when it exceeds the
  compute time per day divided by the number of workers.

Run it as a script (nice it on a shared machine)::

    nice -n 10 python benchmarks/bench_pipeline.py --days 4 --methods laplace,alm,oi

The speed-up can only approach the number of workers when that many cores are idle: the
script prints the load average next to the table.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd


def _worker_usage() -> tuple[float, float]:
    """(CPU seconds used so far, peak resident memory in MiB) of this worker process."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0


def _warm_up(nside: int, resolution: float) -> None:
    """Import what a day needs and build the cached grids, on a worker."""
    from eogapfill import pipeline

    pipeline.process_day(
        "2024-06-01", method="laplace", nside=nside, resolution=resolution, threads=1
    )


def bench(
    method: str, workers: int, days: list[str], nside: int, resolution: float, scratch: Path
) -> dict[str, float | int | str]:
    from distributed import Client, LocalCluster

    from eogapfill import pipeline
    from eogapfill.pipeline import writer

    out = scratch / f"{method}-{workers}.zarr"
    shutil.rmtree(out, ignore_errors=True)
    append, writing = writer._append_day, []

    def timed_append(ds, path):  # the driver's serial part
        tick = time.perf_counter()
        append(ds, path)
        writing.append(time.perf_counter() - tick)

    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        client.run(_warm_up, nside, resolution)
        before = client.run(_worker_usage)
        start = time.perf_counter()
        writer._append_day = timed_append
        try:
            pipeline.run(
                days[0],
                days[-1],
                method=method,
                nside=nside,
                resolution=resolution,
                out=out,
                client=client,
                progress=False,
            )
        finally:
            writer._append_day = append
        seconds = time.perf_counter() - start
        after = client.run(_worker_usage)
    cpu = sum(after[w][0] - before[w][0] for w in after)
    return {
        "method": method,
        "workers": workers,
        "days": len(days),
        "seconds": seconds,
        "days_per_hour": len(days) / seconds * 3600.0,
        "cpu_s_per_day": cpu / len(days),
        "peak_MiB_per_worker": max(a[1] for a in after.values()),
        "write_s_per_day": sum(writing) / len(days),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=4, help="days per run (default 4)")
    parser.add_argument("--nside", type=int, default=128)
    parser.add_argument("--resolution", type=float, default=0.25)
    parser.add_argument("--methods", default="laplace,alm,oi")
    parser.add_argument("--workers", default="1,2", help="worker counts, e.g. 1,2")
    args = parser.parse_args()

    from eogapfill import pipeline
    from eogapfill.demo import markdown_table
    from eogapfill.sample import SAMPLE_DAYS, SAMPLE_START, sample_store

    if args.days > SAMPLE_DAYS:
        parser.error(f"the sample has {SAMPLE_DAYS} days")
    for product in ("l3s", "l4"):
        sample_store(product, resolution=args.resolution)  # generate the cache once, here
    days = [str(d.date()) for d in pd.date_range(SAMPLE_START, periods=args.days)]
    methods = [m for m in args.methods.split(",") if m in pipeline.available_methods()]
    worker_counts = [int(w) for w in args.workers.split(",")]
    load = os.getloadavg()
    scratch = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    rows = []
    try:
        for method in methods:
            for workers in worker_counts:
                row = bench(method, workers, days, args.nside, args.resolution, scratch)
                rows.append(row)
                print(f"  {method} with {workers} worker(s): {row['seconds']:.1f} s", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    table = pd.DataFrame(rows)
    one = table[table["workers"] == min(worker_counts)].set_index("method")["seconds"]
    table["speed_up"] = [one[m] / s for m, s in zip(table["method"], table["seconds"], strict=True)]
    print(
        f"\nnside {args.nside}, sample at {args.resolution} deg, {args.days} days; "
        f"{os.cpu_count()} CPUs, load average before: {load[0]:.1f} {load[1]:.1f} "
        f"{load[2]:.1f}; after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}\n"
    )
    print(markdown_table(table, digits=2), end="")


if __name__ == "__main__":
    main()
