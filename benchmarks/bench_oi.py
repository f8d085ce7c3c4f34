"""Benchmark: optimal interpolation against Laplace and the harmonic fit on a real cloud pattern.

Truth: NOAA OISST v2.1 of 2017-07-29 (0.25 deg), averaged onto HEALPix with
``eogapfill.regrid.to_healpix``. Gaps: the clouds of RSS SSMIS F16 on 2020-01-02 (0.25 deg,
same grid): a point is cloudy when either pass has cloud liquid water above 0.10 kg m-2 or
the rain flag (251); a sea cell is a gap when more than half of its sea points are cloudy
(about 27 % of the ocean). Every fill sees the truth outside the gaps only and is scored on
the gap cells (RMSE, bias, degC). The OISST truth is itself an optimal-interpolation
analysis, smoother than real SST: such scores favour smooth fills.

``std(err/std)`` is the spread of the errors divided by the predicted standard deviation
(1 when the uncertainty is calibrated); ``spread/rmse`` and CRPS judge the OI ensemble.
Times are wall-clock seconds of one call; peak memory is the largest traced allocation
(tracemalloc) of a separate run at nside 512.

Needs the benchmark data of ``../shared/data`` (next to the repository); exits cleanly
without it.

Usage::

    python benchmarks/bench_oi.py [--nside 64 128] [--big 512] [--members 8]
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from eogapfill.fill.alm import fill_alm
from eogapfill.fill.oi import fill_oi

SHARED = Path(__file__).resolve().parents[2] / "shared"
OISST = SHARED / "data" / "oisst_v2.1_20170729_0.25deg.nc"
SSMIS = SHARED / "data" / "rss_ssmis_f16_20200102_v7_0.25deg.nc"


def latlon_day() -> xr.Dataset:
    """Truth and cloud indicator on the common 0.25 deg grid (latitude ascending, lon -180..180)."""
    truth = xr.open_dataset(OISST)["sst"].load()
    truth = truth.rename(lat="latitude", lon="longitude").sortby("latitude")
    truth = truth.assign_coords(longitude=((truth.longitude + 180) % 360) - 180).sortby("longitude")
    raw = xr.open_dataset(SSMIS, mask_and_scale=False)["atmosphere_cloud_liquid_water_content"]
    attrs = raw.attrs
    codes = raw.values.astype("int16")  # (pass, latitude, longitude), latitude south to north
    flags = dict(zip(attrs["flag_meanings"].split(), attrs["flag_values"].tolist(), strict=True))
    clw = codes * float(attrs["scale_factor"]) + float(attrs["add_offset"])  # kg m-2
    valid = codes < min(flags.values())
    rain = codes == flags["missing_wind_speed_due_to_rain"]
    cloudy = ((valid & (clw > 0.10)) | rain).any(axis=0)
    lon = raw["longitude"].values.astype("float64")
    cloud = xr.DataArray(
        cloudy.astype("float64"),
        coords={"latitude": raw["latitude"].values.astype("float64"), "longitude": lon},
        dims=("latitude", "longitude"),
    )
    cloud = cloud.assign_coords(longitude=((cloud.longitude + 180) % 360) - 180).sortby("longitude")
    np.testing.assert_allclose(cloud.latitude, truth.latitude)
    np.testing.assert_allclose(cloud.longitude, truth.longitude)
    cloud = cloud.assign_coords(latitude=truth.latitude, longitude=truth.longitude)
    sea = np.isfinite(truth)
    return xr.Dataset(
        {
            "SST_L4": truth.assign_attrs(units="degC"),
            "cloud": cloud.where(sea),
            "sea": sea,
        }
    )


def scene(day: xr.Dataset, nside: int) -> tuple[xr.DataArray, np.ndarray, np.ndarray]:
    """(observed map, gap mask, truth) at ``nside``."""
    from eogapfill.regrid import to_healpix

    with warnings.catch_warnings():
        # nside 512 is finer than 0.25 deg: cells without a source point copy the nearest
        warnings.filterwarnings("ignore", message="nside .* is finer than the source grid")
        hp_day = to_healpix(day, nside, variables=("SST_L4", "cloud"))
    truth = hp_day["SST_L4"].values.astype("float64")
    gaps = hp_day["sea"].values & (hp_day["cloud"].values > 0.5)
    sst = hp_day["SST_L4"].where(~hp_day["gap"] & ~xr.DataArray(gaps, dims="cells"))
    return sst.assign_attrs(units="degC"), gaps, truth


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def crps(members: np.ndarray, truth: np.ndarray) -> float:
    """Mean ensemble CRPS (degC), scoringrules when installed, else the energy form."""
    try:
        import scoringrules as sr

        return float(np.mean(sr.crps_ensemble(truth, members.T)))
    except ImportError:
        m = members.shape[0]
        first = np.mean(np.abs(members - truth[None]), axis=0)
        second = np.mean(np.abs(members[:, None] - members[None]), axis=(0, 1)) * m / (m - 1) / 2
        return float(np.mean(first - second))


def score_table(nside: int, day: xr.Dataset, n_members: int) -> list[str]:
    sst, gaps, truth = scene(day, nside)
    sea = np.isfinite(truth)
    rows = []

    def row(name: str, filled: np.ndarray, seconds: float, std: np.ndarray | None = None, extra=""):
        err = filled[gaps] - truth[gaps]
        ratio = f"{np.std(err / std[gaps]):.2f}" if std is not None else "-"
        rows.append(
            f"| {nside} | {name} | {np.sqrt(np.mean(err**2)):.3f} | {np.mean(err):+.3f} | "
            f"{ratio} | {seconds:.1f} | {extra} |"
        )

    try:
        from eogapfill.fill.laplace import fill_laplace
    except ImportError:
        fill_laplace = None
    if fill_laplace is not None:
        out, sec = timed(fill_laplace, sst, gaps)
        row("laplace", out.filled.values, sec)
    out, sec = timed(fill_alm, sst, gaps, lmax=15)
    row("alm lmax 15", out.filled.values, sec)
    for nu in (0.5, 1.5):
        out, sec = timed(fill_oi, sst, gaps, nu=nu)
        a = out.attrs
        info = (
            f"L={a['covariance_length_scale_km']:.0f} km, sill={a['covariance_sill']:.2f}, "
            f"nugget={a['covariance_nugget']:.3f}"
        )
        row(
            f"oi nu={nu}" + (" (default)" if nu == 0.5 else ""),
            out.filled.values,
            sec,
            out.filled_std.values,
            info,
        )
    if n_members:
        out, sec = timed(fill_oi, sst, gaps, n_members=n_members, seed=0)
        members = out.members.values[:, gaps]
        member_rmse = np.sqrt(np.mean((members - truth[gaps][None]) ** 2))
        mean_rmse = np.sqrt(np.mean((members.mean(0) - truth[gaps]) ** 2))
        spread = np.sqrt(np.mean(np.var(members, axis=0, ddof=1)))
        info = (
            f"member RMSE {member_rmse:.3f}, spread/RMSE(mean) {spread / mean_rmse:.2f}, "
            f"CRPS {crps(members, truth[gaps]):.3f}"
        )
        mean_map = np.full(truth.shape, np.nan)
        mean_map[gaps] = members.mean(0)
        row(f"oi, mean of {n_members} members", mean_map, sec, None, info)
    print(
        f"nside {nside}: {int(sea.sum())} sea cells, {int(gaps.sum())} gaps "
        f"({gaps.sum() / sea.sum():.1%})",
        flush=True,
    )
    return rows


def big_run(nside: int, day: xr.Dataset) -> str:
    sst, gaps, truth = scene(day, nside)
    _, seconds = timed(fill_oi, sst, gaps)
    tracemalloc.start()
    out = fill_oi(sst, gaps)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    err = out.filled.values[gaps] - truth[gaps]
    return (
        f"| {nside} | {int(gaps.sum())} | {seconds:.1f} | {peak / 2**20:.0f} | "
        f"{np.sqrt(np.mean(err**2)):.3f} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nside", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--big", type=int, nargs="*", default=[512])
    parser.add_argument("--members", type=int, default=8)
    args = parser.parse_args(argv)
    if not (OISST.exists() and SSMIS.exists()):
        print(f"benchmark data not found under {SHARED / 'data'}: nothing to do")
        return 0
    day = latlon_day()
    lines = []
    for nside in args.nside:
        lines += score_table(nside, day, args.members)
    print("| nside | fill | RMSE degC | bias degC | std(err/std) | s | notes |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(lines))
    if args.big:
        print("\n| nside | gap cells | fill_oi s | peak MiB | RMSE degC |")
        print("|---|---|---|---|---|")
        for nside in args.big:
            print(big_run(nside, day), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
