"""Benchmark: lat/lon day -> HEALPix, ``eogapfill.regrid.to_healpix`` against the groupby path.

The groupby path is how the regridding is usually written with xarray: stack latitude and
longitude into one dim, attach each point's HEALPix cell as a ``cell_ids`` coordinate,
``groupby("cell_ids").mean()``, then reindex onto the full sphere. Both paths run in the same
process on the same day; times are wall-clock seconds (best of ``--repeat``), peak memory is the
largest traced allocation (tracemalloc, measured in a separate run so that tracing does not slow
the timed one).

``to_healpix`` is timed cold (its per-(grid, nside) cell cache emptied first: the cost of a first
call) and warm (cache filled: every later day on the same grid).

Usage::

    python benchmarks/bench_regrid.py [--nside 128 512] [--resolution 0.1] [--repeat 1]
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from collections.abc import Callable

import healpy as hp
import numpy as np
import xarray as xr

from eogapfill import regrid
from eogapfill.regrid import to_healpix


def build_day(resolution: float) -> tuple[xr.Dataset, str]:
    """The generated sample day at ``resolution``, or a synthetic day of the same size."""
    try:
        from eogapfill.preprocess import prepare_day
        from eogapfill.sample import SAMPLE_START, generate_day

        l3s, l4 = generate_day(SAMPLE_START, resolution=resolution)
        return prepare_day(l3s, l4).load(), f"eogapfill.sample {SAMPLE_START}"
    except (ImportError, ValueError) as err:
        print(f"(sample unavailable: {err}; using a synthetic day)")
    rng = np.random.default_rng(0)
    lat = np.arange(-90 + resolution / 2, 90, resolution)
    lon = np.arange(-180 + resolution / 2, 180, resolution)
    shape = (lat.size, lon.size)
    sea = (np.sin(np.deg2rad(3 * lon))[None, :] + np.cos(np.deg2rad(2 * lat))[:, None]) > -0.4
    sst = (28 * np.cos(np.deg2rad(lat))[:, None] + rng.normal(0, 0.5, shape)).astype("float32")
    l4 = np.where(sea, sst, np.nan).astype("float32")
    l3s = np.where(sea & (rng.random(shape) > 0.4), sst, np.nan).astype("float32")
    dims = ("latitude", "longitude")
    day = xr.Dataset(
        {
            "SST_L3S": (dims, l3s, {"units": "degC"}),
            "SST_L4": (dims, l4, {"units": "degC"}),
            "sea": (dims, sea),
        },
        coords={"latitude": lat, "longitude": lon},
    )
    return day, "synthetic"


def groupby_path(day: xr.Dataset, nside: int, sea_threshold: float = 0.5) -> xr.Dataset:
    """Stack, assign ``cell_ids``, ``groupby("cell_ids").mean()``, reindex to the sphere."""
    npix = 12 * nside**2
    stacked = day[["SST_L3S", "SST_L4", "sea"]].stack(point=("latitude", "longitude"))
    cells = hp.ang2pix(
        nside, stacked.longitude.values, stacked.latitude.values, nest=True, lonlat=True
    )
    stacked = stacked.drop_vars(["point", "latitude", "longitude"])
    stacked = stacked.assign(sea=stacked.sea.astype("float32"))
    stacked = stacked.assign_coords(cell_ids=("point", cells))
    means = stacked.groupby("cell_ids").mean().reindex(cell_ids=np.arange(npix))
    sea = means.sea >= sea_threshold
    return xr.Dataset(
        {
            "SST_L3S": means.SST_L3S.where(sea),
            "SST_L4": means.SST_L4.where(sea),
            "sea_fraction": means.sea,
            "sea": sea,
            "gap": sea & means.SST_L3S.isnull(),
        }
    )


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    best, result = np.inf, None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def peak_mib(fn: Callable[[], object]) -> float:
    gc.collect()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def cold(day: xr.Dataset, nside: int) -> xr.Dataset:
    regrid._geometry_cached.cache_clear()
    return to_healpix(day, nside)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nside", type=int, nargs="+", default=[128, 512])
    parser.add_argument("--resolution", type=float, default=0.1)
    parser.add_argument("--repeat", type=int, default=1, help="timed runs, best kept")
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc runs")
    args = parser.parse_args()

    start = time.perf_counter()
    day, source = build_day(args.resolution)
    npoints = day.sizes["latitude"] * day.sizes["longitude"]
    input_mib = sum(day[v].nbytes for v in ("SST_L3S", "SST_L4", "sea")) / 2**20
    print(
        f"day: {source}, {args.resolution} deg, {npoints / 1e6:.2f} M points, "
        f"inputs {input_mib:.0f} MiB (built in {time.perf_counter() - start:.0f} s)"
    )

    # warm up both paths (imports, first-call costs) on a thinned copy of the day
    thin = day.isel(latitude=slice(None, None, 20), longitude=slice(None, None, 20))
    to_healpix(thin, 8)
    groupby_path(thin, 8)

    rows = []
    for nside in args.nside:
        t_cold, ours = timed(lambda nside=nside: cold(day, nside), args.repeat)
        t_warm, _ = timed(lambda nside=nside: to_healpix(day, nside), args.repeat)
        t_group, theirs = timed(lambda nside=nside: groupby_path(day, nside), args.repeat)
        # same numbers on every cell that holds source points
        lat = np.asarray(day.latitude.values, "float64")
        lon = np.asarray(day.longitude.values, "float64")
        has_points = regrid._geometry(nside, lat, lon).npoints > 0
        diff = np.nanmax(np.abs(ours.SST_L3S.values - theirs.SST_L3S.values)[has_points])
        same_sea = bool((ours.sea.values == theirs.sea.values)[has_points].all())
        if args.no_memory:
            m_cold = m_warm = m_group = float("nan")
        else:
            m_cold = peak_mib(lambda nside=nside: cold(day, nside))
            m_warm = peak_mib(lambda nside=nside: to_healpix(day, nside))
            m_group = peak_mib(lambda nside=nside: groupby_path(day, nside))
        rows.append(
            (nside, t_group, t_cold, t_warm, m_group, m_cold, m_warm, diff, same_sea, ours.attrs)
        )

    print()
    print(
        "| nside | groupby s | to_healpix cold s | warm s | ratio cold | ratio warm "
        "| groupby peak MiB | cold peak MiB | warm peak MiB | max abs diff degC | same sea "
        "| cells copying nearest point |"
    )
    print("|" + "---|" * 12)
    for nside, tg, tc, tw, mg, mc, mw, diff, same_sea, attrs in rows:
        print(
            f"| {nside} | {tg:.2f} | {tc:.2f} | {tw:.2f} | {tg / tc:.1f}x | {tg / tw:.1f}x "
            f"| {mg:.0f} | {mc:.0f} | {mw:.0f} | {diff:.1e} | {same_sea} "
            f"| {attrs['regrid_nearest_cells']} |"
        )


if __name__ == "__main__":
    main()
