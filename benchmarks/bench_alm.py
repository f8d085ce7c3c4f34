"""Benchmark: time and memory of the spherical-harmonic fill, ``eogapfill.fill.alm.fill_alm``.

The map is synthetic (so the benchmark needs no data): a smooth latitude profile plus noise,
land on a few longitude/latitude boxes and about 30 % of the sea in random gaps. The fit
assembles its normal equations from per-ring Fourier sums (no dense design matrix), so its
cost grows like ``rings * (lmax + 1)**4``; the dense alternative (``numpy.linalg.lstsq`` on the
observed cells x harmonics design) is timed too where its matrix is small enough.

Times are wall-clock seconds (best of ``--repeat``); peak memory is the largest traced
allocation (tracemalloc) of a separate run.

Usage::

    python benchmarks/bench_alm.py [--cases 128:15 512:64] [--repeat 2]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc

import numpy as np

from eogapfill.fill.alm import fill_alm, real_ylm_basis
from eogapfill.healpix import cell_lonlat, healpix_dataset

DENSE_LIMIT_BYTES = 2 * 2**30  # time the dense lstsq only when its design fits in 2 GiB


def scene(nside: int) -> tuple:
    lon, lat = cell_lonlat(nside)
    rng = np.random.default_rng(0)
    land = ((lon > -20) & (lon < 40) & (np.abs(lat) < 40)) | (lat < -70)
    land |= (lon > -120) & (lon < -70) & (lat > 10) & (lat < 60)
    values = 28 * np.cos(np.radians(lat)) - 2 + rng.normal(0, 0.5, lon.size)
    gaps = ~land & (rng.random(lon.size) < 0.3)
    sst = healpix_dataset({"sst": np.where(land | gaps, np.nan, values)}, nside).sst
    return sst.assign_attrs(units="degC"), gaps, land


def best_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def peak_mib(fn) -> float:
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cases",
        nargs="+",
        default=["128:15", "512:64:1e-3"],
        help="nside:lmax[:ridge]; lmax 64 leaves harmonics free over the continents: ridge",
    )
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    print(
        "| nside | lmax | ridge | coefficients | observed cells | fill_alm s | peak MiB | dense lstsq s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for case in args.cases:
        parts = case.split(":")
        nside, lmax = int(parts[0]), int(parts[1])
        ridge = float(parts[2]) if len(parts) > 2 else 0.0
        sst, gaps, land = scene(nside)
        observed = ~land & ~gaps
        seconds = best_time(lambda: fill_alm(sst, gaps, lmax=lmax, ridge=ridge), args.repeat)  # noqa: B023
        memory = peak_mib(lambda: fill_alm(sst, gaps, lmax=lmax, ridge=ridge))  # noqa: B023
        n_coeffs = (lmax + 1) ** 2
        dense = "-"
        if observed.sum() * n_coeffs * 8 <= DENSE_LIMIT_BYTES:
            cells = np.flatnonzero(observed)
            values = sst.values[cells]

            def lstsq() -> None:
                basis = real_ylm_basis(nside, lmax, cells)  # noqa: B023
                np.linalg.lstsq(basis, values, rcond=None)  # noqa: B023

            dense = f"{best_time(lstsq, 1):.2f}"
        print(
            f"| {nside} | {lmax} | {ridge:g} | {n_coeffs} | {int(observed.sum())} | {seconds:.2f} | "
            f"{memory:.0f} | {dense} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
