"""to_healpix's binning against the healpix-resample backends: seconds, peak memory, agreement,
and the hidden-pixel scores of the real L3 cases.

Two parts, each case in its own process (its seconds and peak memory are its own):

- ``regrid``: the sample day at 0.1 deg (``open_day("2024-06-01", resolution=0.1)``,
  ``SST_L3S``) regridded at nside 128 and 512 on the sphere and at nside 2048 on a 30 x 20
  degree box (the Gulf Stream, -75..-45 E, 25..45 N) with every backend; the agreement is the
  RMS difference from the binning (``"bin"``) on the observed sea cells (the same cells for
  every backend: the binning decides which cells are observed);
- ``l3``: :func:`eogapfill.validate.pixel_validation` on a real L3 case
  (``benchmarks/real_l3.py``) with a fill method, its two regriddings (the clear day and the
  hidden one) done by each backend: does an interpolating resampler predict the hidden source
  pixels better than the cell means (and their nearest-point copies where a cell holds no
  point)?

Usage::

    python benchmarks/bench_resample.py regrid                 # every nside and backend
    python benchmarks/bench_resample.py l3 --cases alboran --nside 4096 --methods laplace
    python benchmarks/bench_resample.py --one regrid 512 resample-bilinear OUT.npy   # JSON
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

BACKENDS = (
    "bin",
    "resample-nearest",
    "resample-bilinear",
    "resample-conservative",
    "resample-groupby",
)
#: The regional box of the nside 2048 case (lon0, lon1, lat0, lat1), 30 x 20 degrees.
BOX = (-75.0, -45.0, 25.0, 45.0)
SPHERE_NSIDES = (128, 512)
REGION_NSIDE = 2048


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def run_regrid(nside: int, backend: str, out: str) -> dict:
    """Regrid the 0.1 deg sample day with one backend; the SST_L3S map saved to ``out``."""
    from eogapfill.data import open_day
    from eogapfill.regrid import to_healpix

    warnings.simplefilter("ignore")
    day = open_day("2024-06-01", resolution=0.1).load()
    region = BOX if nside >= REGION_NSIDE else None
    start = time.perf_counter()
    hp_day = to_healpix(day, nside, variables=("SST_L3S",), region=region, backend=backend)
    seconds = time.perf_counter() - start
    np.save(out, np.asarray(hp_day["SST_L3S"].values, dtype="float64"))
    return {
        "nside": nside,
        "backend": backend,
        "region": "30 x 20 box" if region else "sphere",
        "cells": int(hp_day.sizes["cells"]),
        "observed": int((hp_day["sea"] & ~hp_day["gap"]).sum()),
        "nearest_cells": int(hp_day.attrs["regrid_nearest_cells"]),
        "kept_cells": int(hp_day.attrs.get("regrid_kept_cells", 0)),
        "seconds": seconds,
        "peak_gb": _peak_gb(),
    }


def run_l3(case: str, nside: int, backend: str, method: str, max_pairs: int) -> dict:
    """Hidden-pixel scores of one fill on one real L3 case, regridded by ``backend``."""
    from functools import partial

    from bench_real_l3 import day_pairs, prepared_case
    from real_l3 import CASES

    import eogapfill.validate.pixels as pixels
    from eogapfill.regrid import to_healpix
    from eogapfill.validate import default_methods

    warnings.simplefilter("ignore")
    # the wrapper: pixel_validation's two regriddings done by the backend
    pixels.to_healpix = partial(to_healpix, backend=backend)
    cube = prepared_case(case)
    fills = default_methods(1, 0, regional=True)
    rows = []
    start = time.perf_counter()
    for i, pattern in day_pairs(cube, max_pairs):
        table = pixels.pixel_validation(
            cube.isel(time=i),
            pattern,
            nside,
            {method: fills[method]},
            region=CASES[case].box,
            progress=False,
        )
        rows.append(table.iloc[0].to_dict())
    n = np.array([r["n_pixels"] for r in rows], dtype=float)
    n_obs = np.array([r["in_observed_cells"] for r in rows], dtype=float)
    rmse = np.array([r["pixel_rmse"] for r in rows], dtype=float)
    return {
        "case": case,
        "nside": nside,
        "backend": backend,
        "method": method,
        "days": len(rows),
        "pixels": int(n.sum()),
        "in_observed_cells": int(n_obs.sum()),
        "pixel_rmse": float(np.sqrt(np.sum(n * rmse**2) / n.sum())),
        "pixel_bias": float(np.sum(n * [r["pixel_bias"] for r in rows]) / n.sum()),
        "seconds": time.perf_counter() - start,
        "peak_gb": _peak_gb(),
    }


def _child(args: list[str]) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    cmd = [sys.executable, __file__, "--one", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        return {"failed": proc.stderr[-400:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def regrid_table(nsides: list[int], backends: list[str]) -> None:
    print("| nside | grid | backend | cells | observed | empty cells | s | peak GB | RMS vs bin |")
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for nside in nsides:
            maps = {}
            for backend in backends:
                out = str(Path(tmp) / f"{nside}_{backend}.npy")
                r = _child(["regrid", str(nside), backend, out])
                if "failed" in r:
                    print(f"| {nside} | | {backend} | failed: {r['failed']!r} |")
                    continue
                maps[backend] = np.load(out)
                ref = maps.get("bin")
                agree = "-"
                if ref is not None and backend != "bin":
                    ok = np.isfinite(ref) & np.isfinite(maps[backend])
                    agree = f"{np.sqrt(np.mean((maps[backend][ok] - ref[ok]) ** 2)):.4f}"
                print(
                    f"| {nside} | {r['region']} | {backend} | {r['cells']} | {r['observed']} | "
                    f"{r['nearest_cells']} | {r['seconds']:.2f} | {r['peak_gb']:.2f} | {agree} |",
                    flush=True,
                )


def l3_table(cases: list[str], nsides: list[int], backends: list[str], methods, pairs) -> None:
    print(
        "| case | nside | method | backend | days | hidden pixels | in observed cells | "
        "pixel RMSE (degC) | bias | s | peak GB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for case in cases:
        for nside in nsides:
            for method in methods:
                for backend in backends:
                    r = _child(["l3", case, str(nside), backend, method, str(pairs)])
                    if "failed" in r:
                        print(
                            f"| {case} | {nside} | {method} | {backend} | failed: {r['failed']!r} |"
                        )
                        continue
                    print(
                        f"| {case} | {nside} | {method} | {backend} | {r['days']} | {r['pixels']} | "
                        f"{r['in_observed_cells']} | {r['pixel_rmse']:.4f} | "
                        f"{r['pixel_bias']:+.4f} | {r['seconds']:.1f} | {r['peak_gb']:.2f} |",
                        flush=True,
                    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("part", nargs="?", choices=("regrid", "l3"), default="regrid")
    parser.add_argument("--nside", nargs="+", type=int, default=None)
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--cases", nargs="+", default=["alboran"])
    parser.add_argument("--methods", nargs="+", default=["laplace"])
    parser.add_argument("--pairs", type=int, default=3, help="day pairs per L3 case")
    parser.add_argument("--one", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        kind, *rest = args.one
        if kind == "regrid":
            result = run_regrid(int(rest[0]), rest[1], rest[2])
        else:
            result = run_l3(rest[0], int(rest[1]), rest[2], rest[3], int(rest[4]))
        print(json.dumps(result))
        return
    if args.part == "regrid":
        regrid_table(args.nside or [*SPHERE_NSIDES, REGION_NSIDE], args.backends)
    else:
        l3_table(args.cases, args.nside or [4096], args.backends, args.methods, args.pairs)


if __name__ == "__main__":
    main()
