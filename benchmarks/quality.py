"""Benchmark: fill quality on a real case, every method side by side with its protocol.

Truth: NOAA OISST v2.1 of 2017-07-29 (0.25 deg) averaged onto HEALPix. Gaps: the cloud
pattern of RSS SSMIS F16 on 2020-01-02 (cloud liquid water > 0.10 kg m-2 or rain), about a
quarter of the ocean. Each fill sees the truth outside the gaps only and is scored on the gap
cells with :func:`eogapfill.validate.compare_methods`: RMSE, bias, texture ratios (1 = like
the truth), |grad T| histogram distance (0 = like the truth), CRPS and spread/RMSE for the
fills that state an uncertainty, seconds.

Rows and their protocol:

- ``laplace``, ``alm``: smooth deterministic fills (honest);
- ``noise``: Laplace + white noise members, the null stochastic control (honest);
- ``oi``: optimal interpolation; its members are Gaussian conditional simulations, the
  stronger null control (honest);
- ``foscat``: scattering-covariance synthesis with statistics of the observed cells only,
  the honest default: each member starts from, and is anchored to, one OI conditional
  simulation (``start="oi"``);
- ``foscat-coarse``: ``foscat`` with 30 iterations at nside/4 and 15 at nside/2 before the
  ``--epochs`` at the map's nside (coarse-to-fine; honest statistics at every level);
- ``foscat-texture``: ``foscat`` with the cell-scale texture term (``texture_weight=10``: the
  neighbour differences that touch a gap held at those of the observed cells; honest);
- ``foscat-laplace``: the same statistics from a Laplace start + white noise with a loose
  anchor (the earlier recipe; honest);
- ``foscat-near-gaps``: ``foscat-laplace`` with the observed cells weighted towards the gaps,
  a correction of the clear-sky selection bias (``near_gaps_km``; honest);
- ``foscat-oracle``: the original recipe, statistics of the same day's gap-free map, Alm
  start (oracle: it has seen the answer; a reproduction, not a result).

The OISST truth is itself an optimal-interpolation analysis, smoother than real SST: scores
against it favour smooth fills.

Usage::

    python benchmarks/quality.py [--nside 32 64] [--epochs 60] [--members 4] [--no-foscat]
                                 [--only laplace oi foscat-oi] [--shift-clouds 90]

Needs ``../shared/data`` beside the repository; exits cleanly without it.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from datetime import date

import pandas as pd
import xarray as xr
from bench_oi import OISST, SHARED, SSMIS, latlon_day, scene

from eogapfill.fill import get_method
from eogapfill.healpix import healpix_dataset
from eogapfill.validate import compare_methods

COLUMNS = [
    "nside",
    "method",
    "protocol",
    "rmse",
    "bias",
    "small_scale_ratio",
    "neighbour_var_ratio",
    "grad_hist_distance",
    "member_small_scale_ratio",
    "member_neighbour_var_ratio",
    "member_grad_hist_distance",
    "crps",
    "spread_skill",
    "member_crps",
    "member_spread_skill",
    "seconds",
]


def methods(
    truth_map: xr.DataArray, *, members: int, epochs: int, foscat: bool, near_gaps_km: float = 500.0
) -> dict:
    """The fills to compare, as ``name -> fill(sst, gaps)``."""
    laplace, noise, alm, oi = (get_method(m) for m in ("laplace", "noise", "alm", "oi"))
    out = {
        "laplace": laplace,
        "noise": lambda s, g: noise(s, g, n_members=members, seed=0),
        "alm": alm,
        "oi": lambda s, g: oi(s, g, n_members=members, seed=0),
    }
    if foscat:
        fill_foscat = get_method("foscat")
        out["foscat"] = lambda s, g: fill_foscat(
            s, g, n_members=members, n_epochs=epochs, seed=0, progress=False
        )
        out["foscat-coarse"] = lambda s, g: fill_foscat(
            s,
            g,
            coarse_epochs=(30, 15),
            n_members=members,
            n_epochs=epochs,
            seed=0,
            progress=False,
        )
        out["foscat-texture"] = lambda s, g: fill_foscat(
            s,
            g,
            texture_weight=10.0,
            n_members=members,
            n_epochs=epochs,
            seed=0,
            progress=False,
        )
        out["foscat-laplace"] = lambda s, g: fill_foscat(
            s, g, start="laplace", n_members=members, n_epochs=epochs, seed=0, progress=False
        )
        out["foscat-near-gaps"] = lambda s, g: fill_foscat(
            s,
            g,
            start="laplace",
            near_gaps_km=near_gaps_km,
            n_members=members,
            n_epochs=epochs,
            seed=0,
            progress=False,
        )
        out["foscat-oracle"] = lambda s, g: fill_foscat(
            s,
            g,
            reference="l4",
            start="alm",
            l4=truth_map,
            n_epochs=epochs,
            seed=0,
            progress=False,
        )
    return out


def table(
    nside: int,
    day: xr.Dataset,
    *,
    members: int,
    epochs: int,
    foscat: bool,
    only: list[str] | None = None,
    shift_clouds: float = 0.0,
) -> pd.DataFrame:
    if shift_clouds:
        steps = int(round(shift_clouds / _step(day)))
        moved = day["cloud"].fillna(0.0).roll(longitude=steps, roll_coords=False)
        day = day.assign(cloud=moved.where(day["sea"]))
    sst, gaps, truth = scene(day, nside)
    ds = healpix_dataset({"SST_L3S": sst.values, "gap": gaps}, nside)
    ds["SST_L3S"].attrs["units"] = "degC"
    truth_map = ds["SST_L3S"].copy(data=truth)
    fills = methods(truth_map, members=members, epochs=epochs, foscat=foscat)
    if only:
        unknown = sorted(set(only) - set(fills))
        if unknown:
            raise SystemExit(f"unknown method(s) {unknown}; choose among {sorted(fills)}")
        fills = {name: fills[name] for name in only}
    rows = compare_methods(ds, truth, gaps, fills, progress=True, include_truth=True)
    rows.insert(0, "nside", nside)
    return rows


def _step(day: xr.Dataset) -> float:
    """Longitude spacing of the lat/lon day, degrees."""
    return float(abs(day["longitude"].values[1] - day["longitude"].values[0]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nside", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--members", type=int, default=4)
    parser.add_argument("--no-foscat", action="store_true")
    parser.add_argument("--only", nargs="+", help="run these rows only, e.g. --only laplace oi")
    parser.add_argument(
        "--shift-clouds",
        type=float,
        default=0.0,
        metavar="DEG",
        help="move the cloud pattern east by DEG degrees of longitude over "
        "the same truth: another case",
    )
    args = parser.parse_args(argv)
    if not (OISST.exists() and SSMIS.exists()):
        print(f"benchmark data not found under {SHARED / 'data'}: nothing to do")
        return 0
    day = latlon_day()
    start = time.perf_counter()
    for nside in args.nside:
        result = table(
            nside,
            day,
            members=args.members,
            epochs=args.epochs,
            foscat=not args.no_foscat,
            only=args.only,
            shift_clouds=args.shift_clouds,
        )
        cols = [c for c in COLUMNS if c in result]
        print(
            f"\n{date.today()}, {platform.machine()}, {args.members} members, "
            f"{args.epochs} foscat epochs, clouds shifted {args.shift_clouds:g} deg east, "
            f"{time.perf_counter() - start:.0f} s so far",
            flush=True,
        )
        print(result[cols].to_markdown(index=False, floatfmt=".3f"), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
