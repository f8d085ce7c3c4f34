"""Every regional fill on the real L3 cases, scored on the source pixels (honest protocol).

For each case of ``benchmarks/real_l3.py`` and each target day, the clear sea pixels under the
clouds of a later day of the same case are hidden (:func:`eogapfill.validate.hide_source_pixels`),
the day is regridded to a regional HEALPix grid (the case's box) and filled, and every hidden
pixel is scored against the value the map gives at its position
(:func:`eogapfill.validate.pixel_validation`). The fills see the observed pixels only: every
number is from the honest protocol. Each (case, nside, method) runs in its own process, so
that its seconds and peak memory are its own.

Usage::

    python benchmarks/bench_real_l3.py                       # every case, nside 2048 and 4096
    python benchmarks/bench_real_l3.py --cases alboran --nside 2048 --methods laplace oi
    python benchmarks/bench_real_l3.py --one alboran 2048 oi  # one run, JSON on stdout
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

#: Smallest fraction of a day's clear sea pixels that a pattern day must hide.
MIN_HIDDEN = 0.10
#: Largest: a pattern that hides almost everything leaves nothing to fill from.
MAX_HIDDEN = 0.60


def prepared_case(name: str):
    """The case as :func:`eogapfill.preprocess.prepare_l3` gives it (its own sea mask)."""
    from real_l3 import MASK, open_case

    from eogapfill.preprocess import prepare_l3

    ds = open_case(name).load()
    return prepare_l3(ds, sea=ds[MASK] == 1)


def day_pairs(cube, max_pairs: int) -> list[tuple[int, object]]:
    """(target day index, cloud pattern) pairs.

    A case with several days pairs each target with the first later day whose clouds hide
    between :data:`MIN_HIDDEN` and :data:`MAX_HIDDEN` of its clear sea pixels. A single scene
    is paired with its own clouds moved by half the box in longitude (then in latitude),
    the cells beyond the box wrapping round: real cloud shapes over other water.
    """
    sea = cube["sea"].values
    clear = np.isfinite(cube["SST_L3S"].values) & sea
    n_days = cube.sizes["time"]
    pairs: list[tuple[int, object]] = []
    for i in range(n_days):
        n_clear = clear[i].sum()
        if n_clear < 0.2 * sea.sum():
            continue
        if n_days == 1:
            cloudy = sea & ~clear[i]
            for axis in (1, 0):
                moved = np.roll(cloudy, cloudy.shape[axis] // 2, axis=axis)
                if MIN_HIDDEN <= (clear[i] & moved).sum() / n_clear <= MAX_HIDDEN:
                    pairs.append((i, cube["sea"].copy(data=moved)))
                    break
            continue
        for j in list(range(i + 1, n_days)) + list(range(i)):
            hidden = (clear[i] & ~clear[j] & sea).sum() / n_clear
            if MIN_HIDDEN <= hidden <= MAX_HIDDEN:
                pairs.append((i, cube.isel(time=j)))
                break
        if len(pairs) == max_pairs:
            break
    return pairs


def run_one(case: str, nside: int, method: str, max_pairs: int, members: int) -> dict:
    """Score one method on one case at one nside: pixel scores summed over the day pairs."""
    from real_l3 import CASES

    from eogapfill.validate import default_methods, pixel_validation

    warnings.simplefilter("ignore")
    cube = prepared_case(case)
    box = CASES[case].box
    fills = default_methods(members, 0, regional=True, include_foscat=method == "foscat")
    if method not in fills:
        raise SystemExit(f"unknown regional method {method!r}; known: {sorted(fills)}")
    rows = []
    start = time.perf_counter()
    for i, pattern in day_pairs(cube, max_pairs):
        table = pixel_validation(
            cube.isel(time=i),
            pattern,
            nside,
            {method: fills[method]},
            region=box,
            progress=False,
        )
        row = table.iloc[0].to_dict()
        row["day"] = str(cube["time"].values[i])[:10]
        row["pattern"] = (
            str(pattern["time"].values)[:10] if "time" in pattern.coords else "own, moved"
        )
        rows.append(row)
    wall = time.perf_counter() - start
    n = np.array([r["n_pixels"] for r in rows], dtype=float)

    def pooled(key: str, square: bool = False) -> float:
        v = np.array([r[key] for r in rows], dtype=float)
        if square:
            return float(np.sqrt(np.sum(n * v**2) / n.sum()))
        return float(np.sum(n * v) / n.sum())

    return {
        "case": case,
        "nside": nside,
        "method": method,
        "protocol": rows[0]["protocol"],
        "days": len(rows),
        "pixels": int(n.sum()),
        "pixel_rmse": pooled("pixel_rmse", square=True),
        "pixel_crps": pooled("pixel_crps"),
        "pixel_zscore_std": pooled("pixel_zscore_std", square=True),
        "pixel_z_above_3": pooled("pixel_z_above_3"),
        "fill_seconds_per_day": float(np.mean([r["seconds"] for r in rows])),
        "wall_seconds": wall,
        "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
        "per_day": rows,
    }


def main() -> None:
    from real_l3 import CASES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=sorted(CASES))
    parser.add_argument("--nside", nargs="+", type=int, default=[2048, 4096])
    parser.add_argument("--methods", nargs="+", default=["laplace", "noise", "oi", "foscat"])
    parser.add_argument("--pairs", type=int, default=6, help="target days per case")
    parser.add_argument("--members", type=int, default=4)
    parser.add_argument("--one", nargs=3, metavar=("CASE", "NSIDE", "METHOD"))
    parser.add_argument("--json", type=Path, help="also write every result here")
    args = parser.parse_args()
    if args.one:
        case, nside, method = args.one
        out = run_one(case, int(nside), method, args.pairs, args.members)
        print(json.dumps(out, default=float))
        return
    results = []
    print(
        "| case | nside | method | protocol | days | pixels | pixel RMSE (degC) | CRPS | "
        "z std | z > 3 (%) | fill s/day | peak GB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for case in args.cases:
        for nside in args.nside:
            for method in args.methods:
                cmd = [sys.executable, __file__, "--one", case, str(nside), method]
                cmd += ["--pairs", str(args.pairs), "--members", str(args.members)]
                proc = subprocess.run(cmd, capture_output=True, text=True)
                if proc.returncode != 0:
                    print(f"| {case} | {nside} | {method} | failed: {proc.stderr[-300:]!r} |")
                    continue
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                results.append(r)
                print(
                    f"| {case} | {nside} | {method} | {r['protocol']} | {r['days']} | "
                    f"{r['pixels']} | {r['pixel_rmse']:.3f} | {r['pixel_crps']:.3f} | "
                    f"{r['pixel_zscore_std']:.2f} | {100 * r['pixel_z_above_3']:.2f} | "
                    f"{r['fill_seconds_per_day']:.2f} | "
                    f"{r['peak_gb']:.2f} |",
                    flush=True,
                )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float))


if __name__ == "__main__":
    main()
