"""Does the scattering synthesis move its members away from their OI start on real L3?

One real case of ``benchmarks/real_l3.py`` (its first target day and cloud pattern, as in
``bench_real_l3.py``), on the regional HEALPix grid of its box: the clear sea cells under the
pattern's clouds are hidden, filled by :func:`eogapfill.fill.oi.fill_oi` (members: Gaussian
conditional simulations) and by :func:`eogapfill.fill.foscat.fill_foscat` (honest protocol,
each member started from the same conditional simulation), and scored on the hidden cells
whose truth the day observed: the RMS distance member - start against the OI spread, member
CRPS, RMSE of the mean, and the ``|grad T|`` histogram distance (Wasserstein, relative) of
each member to the truth. Scores are per cell (the cell-level protocol), not per pixel.

Usage::

    python benchmarks/bench_foscat_real_l3.py --case alboran --nside 1024 --epochs 30
    python benchmarks/bench_foscat_real_l3.py --case nw_med_slstr --nside 2048 \\
        --option learning=...   # any fill_foscat option as name=value (Python literal)
"""

from __future__ import annotations

import argparse
import ast
import json
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def case_grids(case: str, nside: int) -> tuple[object, object]:
    """(hidden day, full day) of the case's first day pair on its regional grid."""
    from bench_real_l3 import day_pairs, prepared_case
    from real_l3 import CASES

    from eogapfill.regrid import to_healpix
    from eogapfill.validate import hide_source_pixels

    cube = prepared_case(case)
    (i, pattern), *_ = day_pairs(cube, 1)
    day = cube.isel(time=i)
    hidden_day, _ = hide_source_pixels(day, pattern)
    box = CASES[case].box
    kwargs = {"variables": ("SST_L3S",), "region": box}
    return to_healpix(hidden_day, nside, **kwargs), to_healpix(day, nside, **kwargs)


def run(case: str, nside: int, members: int, epochs: int, options: dict) -> dict:
    """The scores of OI members and foscat members on the hidden cells (see the module)."""
    from eogapfill.fill.common import prepare_healpix_fill
    from eogapfill.fill.foscat import fill_foscat
    from eogapfill.fill.oi import fill_oi
    from eogapfill.healpix import grid_of
    from eogapfill.validate import (
        crps_ensemble,
        gradient_histogram_distance,
        gradient_magnitude,
    )

    warnings.simplefilter("ignore")
    hidden, full = case_grids(case, nside)
    truth = full["SST_L3S"].values
    scored = hidden["gap"].values & np.isfinite(truth)  # hidden cells the day observed
    grid = grid_of(hidden["SST_L3S"])
    inputs, _ = prepare_healpix_fill(hidden, None, method="foscat", min_observed=1)
    start = time.perf_counter()
    oi = fill_oi(inputs.sst, inputs.gaps_da, n_members=members, seed=0, progress=False)
    oi_seconds = time.perf_counter() - start
    start = time.perf_counter()
    fos = fill_foscat(hidden, n_members=members, n_epochs=epochs, seed=0, progress=False, **options)
    fos_seconds = time.perf_counter() - start
    starts, moved = oi["members"].values, fos["members"].values
    gaps = hidden["gap"].values

    def member_gradients(ens: np.ndarray) -> float:
        return float(np.mean([gradient_histogram_distance(m, truth, scored, grid) for m in ens]))

    def gradient_ratio(ens: np.ndarray) -> float:
        """Mean |grad T| of the members over the truth's, on the scored cells (> 1: rougher)."""
        truth_grad = gradient_magnitude(truth, grid, scored)
        ratios = []
        for m in ens:
            g = gradient_magnitude(m, grid, scored)
            ok = np.isfinite(g) & np.isfinite(truth_grad)
            ratios.append(g[ok].mean() / truth_grad[ok].mean())
        return float(np.mean(ratios))

    def rmse(x: np.ndarray) -> float:
        return float(np.sqrt(np.mean((x[scored] - truth[scored]) ** 2)))

    loss = fos["loss"].values
    return {
        "case": case,
        "nside": nside,
        "cells": int(gaps.size),
        "gap_cells": int(gaps.sum()),
        "scored_cells": int(scored.sum()),
        "members": members,
        "epochs": epochs,
        "options": {k: repr(v) for k, v in options.items()},
        "rms_member_minus_start_gaps": float(np.sqrt(np.mean((moved - starts)[:, gaps] ** 2))),
        "oi_spread_gaps": float(np.sqrt(np.mean(oi["members"].values[:, gaps].var(axis=0)))),
        "foscat_spread_gaps": float(np.sqrt(np.mean(moved[:, gaps].var(axis=0)))),
        "loss_start": float(np.nanmean(loss[:, 0])),
        "loss_end": float(np.nanmean([row[np.isfinite(row)][-1] for row in loss])),
        "iterations_run": float(np.mean(np.isfinite(loss).sum(axis=1) - 1)),
        "oi_member_crps": crps_ensemble(starts, truth, scored),
        "foscat_member_crps": crps_ensemble(moved, truth, scored),
        "oi_mean_rmse": rmse(oi["filled"].values),
        "foscat_mean_rmse": rmse(fos["filled"].values),
        "oi_grad_distance": member_gradients(starts),
        "foscat_grad_distance": member_gradients(moved),
        "oi_grad_ratio": gradient_ratio(starts),
        "foscat_grad_ratio": gradient_ratio(moved),
        "oi_seconds": oi_seconds,
        "foscat_seconds": fos_seconds,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default="alboran")
    parser.add_argument("--nside", type=int, default=1024)
    parser.add_argument("--members", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--option", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    options = {}
    for item in args.option:
        name, _, value = item.partition("=")
        options[name] = ast.literal_eval(value)
    import torch

    torch.set_num_threads(1)
    print(json.dumps(run(args.case, args.nside, args.members, args.epochs, options), indent=1))


if __name__ == "__main__":
    main()
