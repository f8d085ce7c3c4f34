"""Benchmark: do the default fills stay within what sea water can have on every sample day?

Every HEALPix fill of the package, with its default options, on every day of the embedded
sample (0.25 deg) at the grids that the tests leave out (nside 64 to 256): the coldest and the
warmest gap value (filled map and members) against -2.5 .. 40 degC, and the seconds per fill.
The tests sweep nside 16 and 32 (``tests/test_bad_inputs_fill.py``); foscat, slower, is
swept on request (``--methods foscat --nside 16 32 64``).

Usage::

    python benchmarks/bench_bounds.py [--nside 64 128 256] [--methods laplace noise alm oi]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
import pandas as pd

from eogapfill.data import open_l3s, open_l4
from eogapfill.fill import get_method
from eogapfill.fill.common import SEA_WATER_DEGC, ImplausibleTemperatureWarning
from eogapfill.preprocess import prepare_day
from eogapfill.regrid import to_healpix
from eogapfill.sample import SAMPLE_DAYS, SAMPLE_START


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nside", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--methods", nargs="+", default=["laplace", "noise", "alm", "oi"])
    parser.add_argument("--resolution", type=float, default=0.25)
    args = parser.parse_args(argv)
    low, high = SEA_WATER_DEGC
    rows = []
    for date in pd.date_range(SAMPLE_START, periods=SAMPLE_DAYS):
        day = prepare_day(
            open_l3s(date, resolution=args.resolution), open_l4(date, resolution=args.resolution)
        ).load()
        for nside in args.nside:
            hp_day = to_healpix(day, nside)
            gaps = hp_day["gap"].values
            for method in args.methods:
                start = time.perf_counter()
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", ImplausibleTemperatureWarning)
                    out = get_method(method)(hp_day)
                seconds = time.perf_counter() - start
                values = [out["filled"].values[gaps]]
                if "members" in out:
                    values.append(out["members"].values[:, gaps].ravel())
                both = np.concatenate(values)
                rows.append(
                    {
                        "date": date.strftime("%Y-%m-%d"),
                        "nside": nside,
                        "method": method,
                        "min": both.min(),
                        "max": both.max(),
                        "outside": int(((both < low) | (both > high)).sum()),
                        "warned": any(
                            issubclass(w.category, ImplausibleTemperatureWarning) for w in caught
                        ),
                        "seconds": seconds,
                    }
                )
                print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    summary = table.groupby(["nside", "method"]).agg(
        coldest=("min", "min"),
        warmest=("max", "max"),
        outside=("outside", "sum"),
        median_seconds=("seconds", "median"),
    )
    print(f"\nsea water: {low} .. {high} degC, {SAMPLE_DAYS} days, {args.resolution} deg sample")
    print(summary.reset_index().to_markdown(index=False, floatfmt=".2f"))
    return 0 if table["outside"].sum() == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
