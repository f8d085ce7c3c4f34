"""Benchmark: lat/lon day -> HEALPix, ``eogapfill.regrid.to_healpix`` against the groupby path.

The groupby path is how the regridding is usually written with xarray: stack latitude and
longitude into one dim, attach each point's HEALPix cell as a ``cell_ids`` coordinate,
``groupby("cell_ids").mean()``, then reindex onto the full sphere. Both paths run in the same
process on the same day; times are wall-clock seconds (best of ``--repeat``), peak memory is the
largest traced allocation (tracemalloc, measured in a separate run so that tracing does not slow
the timed one).

``to_healpix`` is timed cold (its per-(grid, nside) cell cache emptied first: the cost of a first
call) and warm (cache filled: every later day on the same grid).

With ``--region LON0 LON1 LAT0 LAT1`` it measures instead a regional ``to_healpix`` of the day on
that box (then ``to_latlon`` of the regional map back at 0.01 deg), each nside in a fresh
process: seconds cold and warm, the peak traced allocation of the cold call (tracemalloc, a
separate run) and the process's peak resident memory (the day, about 70 MiB, included).

Usage::

    python benchmarks/bench_regrid.py [--nside 128 512] [--resolution 0.1] [--repeat 1]
    python benchmarks/bench_regrid.py --region -70 -64 35 39 --nside 2048 4096 8192
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path

import healpy as hp
import numpy as np
import xarray as xr

from eogapfill.healpix import nest_to_ring
from eogapfill.regrid import to_healpix, to_latlon
from eogapfill.regrid.geometry import clear_cache, geometry_of


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
    lon = stacked.longitude.values.astype("float64")  # healpy computes float32 in float32
    lat = stacked.latitude.values.astype("float64")
    cells = hp.ang2pix(nside, lon, lat, nest=True, lonlat=True)
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
    clear_cache()
    return to_healpix(day, nside)


def compare(ours: xr.Dataset, theirs: xr.Dataset, day: xr.Dataset, nside: int) -> str:
    """Largest SST difference and sea agreement on the cells that hold source points."""
    lat = np.asarray(day.latitude.values, "float64")
    lon = np.asarray(day.longitude.values, "float64")
    in_ring_order = geometry_of(nside, lat, lon).npoints
    has_points = in_ring_order[nest_to_ring(nside)] > 0
    diff = np.abs(ours.SST_L3S.values - theirs.SST_L3S.values)[has_points]
    same_sea = bool((ours.sea.values == theirs.sea.values)[has_points].all())
    return f"max |diff| {np.nanmax(diff):.1e} degC, same sea: {same_sea}"


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, MiB: ``VmHWM`` on Linux (``ru_maxrss``
    would carry over the parent's peak across the child's ``exec``)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux, B on macOS


def region_case(path: str, nside: int, box: tuple[float, ...]) -> dict[str, float]:
    """One nside of the regional benchmark, in this (fresh) process: the day read from
    ``path`` (netCDF), a cold, a traced cold and a warm ``to_healpix``, then ``to_latlon``."""
    day = xr.open_dataset(path).load()
    to_healpix(day.isel(latitude=slice(None, None, 20), longitude=slice(None, None, 20)), 8)
    rss_day = peak_rss_mib()
    warnings.simplefilter("ignore", UserWarning)  # most cells hold no 0.1 deg point
    start = time.perf_counter()
    ds = to_healpix(day, nside, region=box)
    seconds_cold = time.perf_counter() - start
    rss_cold = peak_rss_mib()
    start = time.perf_counter()
    to_healpix(day, nside, region=box)
    seconds_warm = time.perf_counter() - start
    clear_cache()
    traced = peak_mib(lambda: to_healpix(day, nside, region=box))
    start = time.perf_counter()
    grid = to_latlon(ds.SST_L3S, resolution=0.01)
    seconds_latlon = time.perf_counter() - start
    return {
        "nside": nside,
        "cells": ds.sizes["cells"],
        "nearest": ds.attrs["regrid_nearest_cells"],
        "cold_s": seconds_cold,
        "warm_s": seconds_warm,
        "traced_mib": traced,
        "rss_day_mib": rss_day,
        "rss_cold_mib": rss_cold,
        "latlon_s": seconds_latlon,
        "latlon_points": grid.size,
        "rss_mib": peak_rss_mib(),
    }


def region_main(args: argparse.Namespace) -> None:
    """The regional benchmark: one fresh process per nside."""
    box = tuple(args.region)
    day, source = build_day(args.resolution)
    print(f"day: {source}, {args.resolution} deg; region {box}")
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "day.nc")
        day[["SST_L3S", "SST_L4", "sea"]].to_netcdf(path)
        del day
        rows = []
        for nside in args.nside:
            command = [sys.executable, __file__, "--child", path, str(nside), *map(str, box)]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print()
    print(
        "| nside | cells | cells copying their nearest point | cold s | warm s | "
        "peak traced MiB | peak RSS MiB: day loaded / after to_healpix / after all | "
        "to_latlon 0.01 deg s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['nside']} | {r['cells']:,} | {r['nearest']:,} | {r['cold_s']:.2f} | "
            f"{r['warm_s']:.2f} | {r['traced_mib']:.0f} | {r['rss_day_mib']:.0f} / "
            f"{r['rss_cold_mib']:.0f} / {r['rss_mib']:.0f} | {r['latlon_s']:.2f} |"
        )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":  # one regional case, in its own process
        path, nside, *box = sys.argv[2:]
        result = region_case(path, int(nside), tuple(float(x) for x in box))
        print(json.dumps(result))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nside", type=int, nargs="+", default=[128, 512])
    parser.add_argument("--resolution", type=float, default=0.1)
    parser.add_argument("--repeat", type=int, default=1, help="timed runs, best kept")
    parser.add_argument("--chunk", type=int, default=900, help="dask chunk size (points a side)")
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc runs")
    parser.add_argument(
        "--region",
        type=float,
        nargs=4,
        metavar=("LON0", "LON1", "LAT0", "LAT1"),
        help="measure a regional to_healpix on this box (degrees) instead, one process per nside",
    )
    args = parser.parse_args()
    if args.region is not None:
        region_main(args)
        return

    start = time.perf_counter()
    day, source = build_day(args.resolution)
    npoints = day.sizes["latitude"] * day.sizes["longitude"]
    input_mib = sum(day[v].nbytes for v in ("SST_L3S", "SST_L4", "sea")) / 2**20
    print(
        f"day: {source}, {args.resolution} deg, {npoints / 1e6:.2f} M points, "
        f"inputs {input_mib:.0f} MiB (built in {time.perf_counter() - start:.0f} s)"
    )
    chunked = day.chunk({"latitude": args.chunk, "longitude": args.chunk})

    # warm up both paths (imports, first-call costs) on a thinned copy of the day
    thin = day.isel(latitude=slice(None, None, 20), longitude=slice(None, None, 20))
    to_healpix(thin, 8)
    groupby_path(thin, 8)

    methods = {
        "groupby (stack + cell_ids + groupby.mean)": groupby_path,
        "to_healpix, cold cache": cold,
        "to_healpix, warm cache": to_healpix,
        f"to_healpix, dask {args.chunk}x{args.chunk} chunks, warm": (
            lambda _day, nside: to_healpix(chunked, nside).compute()
        ),
    }
    rows, checks = [], []
    for nside in args.nside:
        results = {}
        for name, fn in methods.items():
            seconds, results[name] = timed(lambda fn=fn, nside=nside: fn(day, nside), args.repeat)
            mib = np.nan if args.no_memory else peak_mib(lambda fn=fn, n=nside: fn(day, n))
            rows.append((nside, name, seconds, mib))
        reference = next(iter(results.values()))
        for name, result in list(results.items())[1:]:
            checks.append(
                f"nside {nside}, {name} vs groupby: {compare(result, reference, day, nside)}"
            )
        ours = results["to_healpix, warm cache"]
        checks.append(
            f"nside {nside}: {ours.attrs['regrid_nearest_cells']} cells hold no source point "
            "and copy their nearest point"
        )

    print()
    print("| nside | method | seconds | speed-up vs groupby | peak traced MiB |")
    print("|---|---|---|---|---|")
    for nside, name, seconds, mib in rows:
        base = next(r[2] for r in rows if r[0] == nside)
        print(f"| {nside} | {name} | {seconds:.2f} | {base / seconds:.1f}x | {mib:.0f} |")
    print()
    for line in checks:
        print(line)


if __name__ == "__main__":
    main()
