"""Space-time fills against single-day fills, on hidden source pixels of real series.

For each case (``alboran``: 10 days of AVHRR L3 at 0.02 deg; ``alboran_l3s``: consecutive days
of the 92-day MED L3S cube at 0.0625 deg; ``sample``: 10 days of the embedded sample on the
full sphere), every target day's clear pixels are hidden under another day's clouds (a day
outside the window where one fits; :func:`eogapfill.validate.series.series_validation`), the
other days keep their own clouds, and each fill is scored on the hidden pixels: Laplace and
OI see the target day alone, the space-time OI its window of +-``window`` days, the EOF fill
(DINEOF) the whole series. Every number is from the honest protocol. Each case runs in its
own process so that its peak memory is its own.

Usage::

    python benchmarks/bench_spacetime.py                    # the three cases, their default nside
    python benchmarks/bench_spacetime.py --cases alboran --nside 2048 --window 2
    python benchmarks/bench_spacetime.py --one alboran 1024  # one case, JSON on stdout
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

#: Default nside of each case: about the product's resolution on the real cases.
DEFAULT_NSIDE = {"alboran": 2048, "alboran_l3s": 1024, "sample": 64}
#: Sample days (the embedded sample's ten).
SAMPLE_DAYS = ("2024-06-01", "2024-06-10")


def sample_cube():
    """The embedded sample's ten days, prepared, as one lat/lon cube (0.25 deg)."""
    import pandas as pd
    import xarray as xr

    from eogapfill.data import open_day

    days = [open_day(d)[["SST_L3S", "sea"]].load() for d in pd.date_range(*SAMPLE_DAYS, freq="D")]
    cube = xr.concat([d["SST_L3S"] for d in days], dim="time").to_dataset()
    return cube.assign(sea=days[0]["sea"].squeeze(drop=True))


def case_cube(case: str, first: int, n_days: int):
    """A prepared cube and its box (None: the full sphere)."""
    if case == "sample":
        return sample_cube(), None
    from bench_real_l3 import prepared_case
    from real_l3 import CASES

    cube = prepared_case(case)
    return cube.isel(time=slice(first, first + n_days)), CASES[case].box


def run_one(case: str, nside: int, window: int, first: int, n_days: int) -> dict:
    """Every fill on every target day of one case: per-day rows and the pooled scores."""
    from eogapfill.validate.series import series_summary, series_validation

    warnings.simplefilter("ignore")
    start = time.perf_counter()
    cube, box = case_cube(case, first, n_days)
    table = series_validation(cube, nside, region=box, window=window)
    summary = series_summary(table)
    return {
        "case": case,
        "nside": nside,
        "window": window,
        "days": [str(t)[:10] for t in cube["time"].values],
        "summary": summary.to_dict(orient="records"),
        "per_day": table.to_dict(orient="records"),
        "wall_seconds": time.perf_counter() - start,
        "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
    }


def _print(result: dict) -> None:
    single = {r["method"]: r for r in result["summary"]}
    oi = single.get("oi", {}).get("pixel_rmse", np.nan)
    for r in result["summary"]:
        gain = 1 - r["pixel_rmse"] / oi if np.isfinite(oi) else np.nan
        print(
            f"| {result['case']} | {result['nside']} | {result['window']} | {r['method']} | "
            f"{r['n_days']} | {r['n_pixels']} | {r['pixel_rmse']:.3f} | {gain:+.1%} | "
            f"{r['pixel_crps']:.3f} | {r['wins']} | {r['seconds_per_day']:.2f} | "
            f"{result['peak_gb']:.2f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=["alboran", "alboran_l3s", "sample"])
    parser.add_argument("--nside", type=int, help="one nside for every case (default: per case)")
    parser.add_argument("--window", type=int, default=3, help="days on each side")
    parser.add_argument("--first", type=int, default=0, help="first day of alboran_l3s")
    parser.add_argument("--days", type=int, default=12, help="days of alboran_l3s")
    parser.add_argument("--one", nargs=2, metavar=("CASE", "NSIDE"))
    parser.add_argument("--json", type=Path, help="also write every result here")
    args = parser.parse_args()
    if args.one:
        case, nside = args.one
        print(
            json.dumps(run_one(case, int(nside), args.window, args.first, args.days), default=str)
        )
        return
    print(
        "| case | nside | window | method | days | pixels | pixel RMSE (degC) | vs OI | "
        "CRPS | days won | fill s/day | peak GB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    results = []
    for case in args.cases:
        nside = args.nside or DEFAULT_NSIDE[case]
        cmd = [sys.executable, __file__, "--one", case, str(nside), "--window", str(args.window)]
        cmd += ["--first", str(args.first), "--days", str(args.days)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"| {case} | {nside} | failed: {proc.stderr[-400:]!r} |")
            continue
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        results.append(result)
        _print(result)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
