"""Benchmark: Gaussian random fields on a region, drawn on the whole sphere or on a tangent plane.

What optimal interpolation's members and foscat's OI start cost: ``gaussian_random_field``
with a region's cells, ``method="sphere"`` (spherical-harmonic synthesis of the whole sphere,
then cut) against ``method="plane"`` (FFT on a local periodic grid, cost proportional to the
region). Boxes of 6 x 4 and 30 x 20 degrees (the second the limit of what the plane holds),
nside 512, 2048 and 8192. Model: sill 0.5 degC**2, length scale 100 km, nugget 0.01, nu 0.5
(``--length-km``, ``--nu``): the roughest smoothness, a length typical of fits at these
resolutions.

Each (box, nside, method) runs in a fresh process: the seconds of ``region_cells``, of the
first draw (the grid and its spectrum included) and per draw after it (``--draws``, two per
FFT on the plane), and the process's peak resident memory (imports and the cell ids
included) beside its memory before the first draw. The sphere is skipped above
``--sphere-max-nside`` (default 2048; at 8192 a full map alone is 6.4 GB of float64).

Measured on the project's 2-core machine while it was shared (load 6 to 7), 2026-12-03,
default options (``s`` per draw after the first; peak: the whole process, 190 MiB of it
imports):

=============  =====  ==========  ===============  ===========  =====================
box            nside  cells       plane s / draw   plane peak   sphere first draw
=============  =====  ==========  ===============  ===========  =====================
6 x 4 deg        512       1 702  0.004            190 MiB      4.9 s, 363 MiB
30 x 20 deg      512      37 880  0.015            199 MiB      5.6 s, 363 MiB
6 x 4 deg       2048      25 300  0.035            202 MiB      79 s, 2354 MiB
30 x 20 deg     2048     598 663  0.30             332 MiB      88 s, 2365 MiB
6 x 4 deg       8192     399 308  0.42             383 MiB      not run
30 x 20 deg     8192   9 551 727  5.1              1490 MiB     not run
=============  =====  ==========  ===============  ===========  =====================

The plane's first draw (its grid and spectrum included) took 0.007 to 7.3 s.

Usage::

    python benchmarks/bench_random_fields.py [--nside 512 2048 8192] [--boxes small large]
                                             [--methods plane sphere] [--draws 4]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import platform
import resource
import time
from concurrent.futures import ProcessPoolExecutor

BOXES = {
    "small": (-40.0, -34.0, 30.0, 34.0),  # 6 x 4 degrees, lon0, lon1, lat0, lat1
    "large": (-75.0, -45.0, 25.0, 45.0),  # 30 x 20 degrees
}


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _row(box: str, nside: int, method: str, draws: int, length_km: float, nu: float) -> dict:
    """Draw ``draws`` fields on ``box`` at ``nside`` (runs in its own process)."""
    from eogapfill.healpix import region_cells
    from eogapfill.random_fields import CovarianceModel, gaussian_random_field

    model = CovarianceModel(sill=0.5, length_scale_km=length_km, nugget=0.01, nu=nu)
    start = time.perf_counter()
    ids = region_cells(nside, BOXES[box])
    cells_s = time.perf_counter() - start
    before = _peak_mib()
    start = time.perf_counter()
    first = gaussian_random_field(model, nside, n_fields=1, seed=0, cells=ids, method=method)
    first_s = time.perf_counter() - start
    row = {
        "box": f"{box} {BOXES[box]}",
        "nside": nside,
        "cells": int(ids.size),
        "method": method,
        "region_cells_s": round(cells_s, 3),
        "first_draw_s": round(first_s, 3),
    }
    if draws > 1:
        start = time.perf_counter()
        more = gaussian_random_field(model, nside, n_fields=draws, seed=1, cells=ids, method=method)
        row["s_per_draw"] = round((time.perf_counter() - start) / draws, 3)
        row["variance"] = round(float(more.var()), 3)
    else:
        row["variance"] = round(float(first.var()), 3)
    row["mib_before_draw"] = round(before)
    row["peak_mib"] = round(_peak_mib())
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nside", type=int, nargs="+", default=[512, 2048, 8192])
    parser.add_argument("--boxes", nargs="+", choices=sorted(BOXES), default=["small", "large"])
    parser.add_argument(
        "--methods", nargs="+", choices=["plane", "sphere"], default=["plane", "sphere"]
    )
    parser.add_argument("--draws", type=int, default=4, help="draws timed after the first")
    parser.add_argument("--sphere-max-nside", type=int, default=2048)
    parser.add_argument("--length-km", type=float, default=100.0)
    parser.add_argument("--nu", type=float, default=0.5)
    args = parser.parse_args()
    print(
        f"# {platform.machine()}, {mp.cpu_count()} cores; model L={args.length_km} km nu={args.nu}"
    )
    context = mp.get_context("spawn")
    for nside in args.nside:
        for box in args.boxes:
            for method in args.methods:
                if method == "sphere" and nside > args.sphere_max_nside:
                    print(f"{box} nside {nside} sphere: skipped (--sphere-max-nside)")
                    continue
                draws = args.draws if method == "plane" else 1
                with ProcessPoolExecutor(1, mp_context=context) as pool:
                    row = pool.submit(_row, box, nside, method, draws, args.length_km, args.nu)
                    print(row.result(), flush=True)


if __name__ == "__main__":
    main()
