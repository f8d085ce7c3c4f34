"""Cost of a space-time run (``eogapfill fill --window K``) against the single-day OI run.

For each method, a fresh local cluster of ``W`` single-threaded worker processes fills the same
days of the sample into a new store with :func:`eogapfill.pipeline.run` (the space-time
methods with ``window=K``: each day filled with the ``K`` days on each side that the sample
holds); the workers are warmed up (imports, sample cache, grid) before the clock starts.
Reported per method:

- wall-clock seconds per day, and CPU seconds per day of the workers (user + system time,
  from ``getrusage``: it does not depend on what else runs on the machine), and their ratio
  to the single-day OI's;
- the peak resident memory of a worker process and of the driver (``ru_maxrss``), and their
  sum: the memory of the run;
- the most regridded days the run held at once (at most ``2K + 1``) and the days it
  regridded (each once).

The issue's target: within 2 GB and within 3x the single-day OI cost per day. Run it as a
script (nice it on a shared machine)::

    nice -n 10 python benchmarks/bench_pipeline_window.py --window 5 --nside 128
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


def _usage() -> tuple[float, float]:
    """(CPU seconds used so far, peak resident memory in MiB) of this process."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0


def _warm_up(nside: int, resolution: float) -> None:
    """Import what a day needs and build the cached grids, on a worker."""
    from eogapfill import pipeline
    from eogapfill.fill import spacetime  # noqa: F401 - imported before the clock starts

    pipeline.process_day(
        "2024-06-01", method="laplace", nside=nside, resolution=resolution, threads=1
    )


def bench(
    method: str,
    window: int | None,
    workers: int,
    days: list[str],
    nside: int,
    resolution: float,
    scratch: Path,
) -> dict[str, float | int | str]:
    from distributed import Client, LocalCluster

    from eogapfill import pipeline
    from eogapfill.pipeline import runner
    from eogapfill.pipeline import window as window_module

    out = scratch / f"{method}-{window}.zarr"
    shutil.rmtree(out, ignore_errors=True)
    held: list[window_module._WindowTasks] = []

    class Recorded(window_module._WindowTasks):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            held.append(self)

    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        client.run(_warm_up, nside, resolution)
        before = client.run(_usage)
        start = time.perf_counter()
        real, runner._WindowTasks = runner._WindowTasks, Recorded
        try:
            pipeline.run(
                days[0],
                days[-1],
                method=method,
                window=window,
                nside=nside,
                resolution=resolution,
                out=out,
                client=client,
                progress=False,
            )
        finally:
            runner._WindowTasks = real
        seconds = time.perf_counter() - start
        after = client.run(_usage)
    cpu = sum(after[w][0] - before[w][0] for w in after)
    worker_peak = max(a[1] for a in after.values())
    driver_peak = _usage()[1]
    return {
        "method": method,
        "window": "-" if window is None else f"{window} ({2 * window + 1} days)",
        "days": len(days),
        "s_per_day": seconds / len(days),
        "cpu_s_per_day": cpu / len(days),
        "peak_MiB_worker": worker_peak,
        "peak_MiB_driver": driver_peak,
        "peak_MiB_total": worker_peak * workers + driver_peak,
        "most_days_held": held[0].most_held if held else 1,
        "days_regridded": held[0].regridded if held else len(days),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--window", type=int, default=5, help="K, days on each side (5)")
    parser.add_argument("--nside", type=int, default=128)
    parser.add_argument("--resolution", type=float, default=0.25)
    parser.add_argument("--days", type=int, default=10, help="days per run (default 10)")
    parser.add_argument("--methods", default="oi,spacetime_oi", help="e.g. oi,spacetime_oi,eof")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    from eogapfill.demo import markdown_table
    from eogapfill.fill import METHODS
    from eogapfill.sample import SAMPLE_DAYS, SAMPLE_START, sample_store

    if args.days > SAMPLE_DAYS:
        parser.error(f"the sample has {SAMPLE_DAYS} days")
    for product in ("l3s", "l4"):
        sample_store(product, resolution=args.resolution)  # generate the cache once, here
    days = [str(d.date()) for d in pd.date_range(SAMPLE_START, periods=args.days)]
    load = os.getloadavg()
    scratch = Path(tempfile.mkdtemp(prefix="bench-window-"))
    rows = []
    try:
        for method in args.methods.split(","):
            window = args.window if METHODS[method].spacetime else None
            row = bench(method, window, args.workers, days, args.nside, args.resolution, scratch)
            rows.append(row)
            print(f"  {method}: {row['s_per_day']:.1f} s/day", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    table = pd.DataFrame(rows)
    if "oi" in set(table["method"]):
        base = table.set_index("method").loc["oi", "cpu_s_per_day"]
        table["cpu_x_oi"] = table["cpu_s_per_day"] / base
    print(
        f"\nnside {args.nside}, full sphere, sample at {args.resolution} deg, {args.days} days, "
        f"{args.workers} worker process(es); {os.cpu_count()} CPUs, load average before: "
        f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; after: "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}\n"
    )
    print(markdown_table(table, digits=2), end="")


if __name__ == "__main__":
    main()
