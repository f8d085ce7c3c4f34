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
    regrid._geometry_cached.cache_clear()
    return to_healpix(day, nside)


def compare(ours: xr.Dataset, theirs: xr.Dataset, day: xr.Dataset, nside: int) -> str:
    """Largest SST difference and sea agreement on the cells that hold source points."""
    lat = np.asarray(day.latitude.values, "float64")
    lon = np.asarray(day.longitude.values, "float64")
    in_ring_order = regrid._geometry(nside, lat, lon).npoints
    has_points = in_ring_order[regrid._ring_of_nest(nside)] > 0
    diff = np.abs(ours.SST_L3S.values - theirs.SST_L3S.values)[has_points]
    same_sea = bool((ours.sea.values == theirs.sea.values)[has_points].all())
    return f"max |diff| {np.nanmax(diff):.1e} degC, same sea: {same_sea}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nside", type=int, nargs="+", default=[128, 512])
    parser.add_argument("--resolution", type=float, default=0.1)
    parser.add_argument("--repeat", type=int, default=1, help="timed runs, best kept")
    parser.add_argument("--chunk", type=int, default=900, help="dask chunk size (points a side)")
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
