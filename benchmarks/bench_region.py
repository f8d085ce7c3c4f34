"""Benchmark: every regional fill on two regions at their native resolution, and what a
regional fill costs next to a full-sphere fill of as many cells.

Part 1, quality (honest protocol). Truth: NOAA OISST v2.1 of 2017-07-29 (0.25 deg), averaged
onto the HEALPix cells of a region at nside 256 (about 25 km, the product's own resolution).
Gaps: the clouds of RSS SSMIS F16 on 2020-01-02 over the same cells (see ``bench_oi.py``).
Each fill sees the truth outside the gaps only and is scored on the gap cells with
:func:`eogapfill.validate.compare_methods` (RMSE, texture ratios, |grad T| distance, CRPS of
the members). Regions: the Gulf Stream (80-50 W, 25-45 N) and the Agulhas retroflection
(10-40 E, 45-30 S).

Part 2, cost. The offline sample at 0.1 deg on 2024-06-01: ``to_healpix`` and the fill of a
30 x 20 degree box at nside 512 (the data's resolution) against the full sphere at nside 64
(a similar number of cells).

Each (region, method) runs in a fresh process: its wall seconds (the fill and, in part 2,
the regridding) and its peak resident memory (the whole process: imports and data included)
are its own.

Usage::

    python benchmarks/bench_region.py [--nside 256] [--members 4] [--epochs 8]
                                      [--only laplace oi] [--no-quality] [--no-cost]

Part 1 needs ``../shared/data`` beside the repository and is skipped without it.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import platform
import resource
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from datetime import date

import numpy as np
import pandas as pd

REGIONS = {
    "gulf-stream": (-80.0, -50.0, 25.0, 45.0),
    "agulhas": (10.0, 40.0, -45.0, -30.0),
}
#: The box of part 2 (30 x 20 degrees, the Gulf Stream at the data's resolution).
COST_BOX = (-75.0, -45.0, 25.0, 45.0)
COLUMNS = [
    "region",
    "nside",
    "cells",
    "gaps",
    "method",
    "protocol",
    "rmse",
    "small_scale_ratio",
    "neighbour_var_ratio",
    "grad_hist_distance",
    "member_crps",
    "member_spread_skill",
    "member_neighbour_var_ratio",
    "seconds",
    "peak_mib",
]


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _fill(method: str, members: int, epochs: int):
    """The fill ``method`` with the benchmark's options, as ``fill(sst, gaps)``."""
    from functools import partial

    from eogapfill.fill import get_method, method_info

    options = {}
    accepted = method_info(method).options
    if "n_members" in accepted:
        options["n_members"] = members
    if "seed" in accepted:
        options["seed"] = 0
    if method == "foscat":
        options.update(n_epochs=epochs, progress=False)
    return partial(get_method(method), **options)


def _quality_row(region: str, nside: int, method: str, members: int, epochs: int) -> dict:
    """Score one method on one region (runs in its own process)."""
    from bench_oi import latlon_day

    from eogapfill.healpix import healpix_dataset
    from eogapfill.regrid import to_healpix
    from eogapfill.validate import compare_methods

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="nside .* is finer than the source grid")
        day = to_healpix(latlon_day(), nside, variables=("SST_L4", "cloud"), region=REGIONS[region])
    from eogapfill.healpix import grid_of

    grid = grid_of(day)
    truth = day["SST_L4"].values.astype("float64")
    gaps = day["sea"].values & (day["cloud"].values > 0.5)
    observed = np.where(gaps, np.nan, truth)
    ds = healpix_dataset({"SST_L3S": observed, "gap": gaps}, grid)
    ds["SST_L3S"].attrs["units"] = "degC"
    rows = compare_methods(
        ds, truth, gaps, {method: _fill(method, members, epochs)}, progress=False
    )
    row = rows.iloc[0].to_dict()
    row.update(region=region, nside=nside, cells=grid.npix, gaps=int(gaps.sum()))
    row["peak_mib"] = _peak_mib()
    return row


def _cost_row(where: str, method: str, members: int) -> dict:
    """Regrid the sample day and fill it (runs in its own process)."""
    from eogapfill.data import open_day
    from eogapfill.regrid import to_healpix

    start = time.perf_counter()
    if where == "region":
        day = open_day("2024-06-01", resolution=0.1)
        hp_day = to_healpix(day, 512, region=COST_BOX)
        nside = 512
    else:
        day = open_day("2024-06-01", resolution=0.25)
        hp_day = to_healpix(day, 64)
        nside = 64
    regrid_s = time.perf_counter() - start
    start = time.perf_counter()
    result = _fill(method, members, 8)(hp_day)
    fill_s = time.perf_counter() - start
    return {
        "grid": f"{'box 30 x 20 deg' if where == 'region' else 'full sphere'}, nside {nside}",
        "cells": int(hp_day.sizes["cells"]),
        "gaps": int(hp_day["gap"].sum()),
        "method": method,
        "regrid_s": regrid_s,
        "fill_s": fill_s,
        "fill_us_per_gap": 1e6 * fill_s / max(int(hp_day["gap"].sum()), 1),
        "peak_mib": _peak_mib(),
        "n_implausible": int(result.attrs.get("n_implausible", 0)),
    }


def _in_child(function, *args) -> dict:
    """Run ``function(*args)`` in a fresh process and return its row."""
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def main(argv: list[str] | None = None) -> int:
    from bench_oi import OISST, SHARED, SSMIS

    from eogapfill.fill import method_names

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nside", type=int, nargs="+", default=[256])
    parser.add_argument("--members", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=8, help="foscat iterations")
    parser.add_argument("--only", nargs="+", help="these methods only")
    parser.add_argument("--regions", nargs="+", default=list(REGIONS), choices=list(REGIONS))
    parser.add_argument("--no-quality", action="store_true")
    parser.add_argument("--no-cost", action="store_true")
    args = parser.parse_args(argv)
    regional = list(method_names("healpix", regional=True, available=True))
    methods = [m for m in regional if not args.only or m in args.only]
    print(f"{date.today()}, {platform.machine()}, methods {methods}", flush=True)

    if not args.no_quality:
        if not (OISST.exists() and SSMIS.exists()):
            print(f"benchmark data not found under {SHARED / 'data'}: part 1 skipped")
        else:
            rows = []
            for nside in args.nside:
                for region in args.regions:
                    for method in methods:
                        row = _in_child(
                            _quality_row, region, nside, method, args.members, args.epochs
                        )
                        rows.append(row)
                        print(f"{region} {nside} {method}: {row['seconds']:.1f} s", flush=True)
            table = pd.DataFrame(rows)
            cols = [c for c in COLUMNS if c in table]
            print("\n" + table[cols].to_markdown(index=False, floatfmt=".3f"), flush=True)

    if not args.no_cost:
        rows = []
        for method in [m for m in methods if m != "foscat"]:
            for where in ("region", "sphere"):
                rows.append(_in_child(_cost_row, where, method, args.members))
        print("\n" + pd.DataFrame(rows).to_markdown(index=False, floatfmt=".2f"), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
