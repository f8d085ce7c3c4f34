"""Seconds per loss evaluation and per L-BFGS iteration of the scattering-transform fill.

Each (nside, device, ops) case runs in a fresh Python process (torch reads the GPU list once,
and foscat puts its tensors on the GPU whenever torch sees one: the CPU case hides it with
``CUDA_VISIBLE_DEVICES=``). ``ops`` picks foscat's products: ``foscat`` = foscat's own
(before), ``fast`` = the cached-layout products of :mod:`eogapfill.fill.foscat_ops` (after,
the package's default); ``both`` runs the two cases of each grid one after the other.

A case first times the loss alone (forward and backward passes of the package's loss, 12 local
masks, on a synthetic map): ``first loss`` includes building the wavelet kernels (read from
foscat's disk cache after the first run), ``loss`` is the mean of ``--repeats`` later
evaluations. Then it fills a synthetic day (meridional SST gradient, eddies, a continent, 30%
cloud, the default OI start, one member) twice, with ``--epochs`` and ``2 * --epochs``
iterations: the difference of the two members' synthesis times over the difference of the
iterations run is the cost of one iteration (an iteration may evaluate the loss more than
once), the rest of the fill is the set-up (OI start, masks, reference statistics). Wall
time and process CPU time (all threads) are both reported: on a shared machine the CPU time
stays honest when the wall time does not. ``peak MB`` is the largest resident set of the
case's process.

Usage::

    python benchmarks/bench_foscat.py                   # nside 32 and 64, before and after
    python benchmarks/bench_foscat.py --nside 128 --ops fast
    python benchmarks/bench_foscat.py --large           # adds nside 128 and 256
    python benchmarks/bench_foscat.py --threads 2       # torch threads per process
    python benchmarks/bench_foscat.py --nside 512 --ops fast --region -80 -50 25 45

``--region LON0 LON1 LAT0 LAT1`` (degrees) times the fill on that box's cells only (a partial
grid: foscat's subset kernels, the local masks that reach the box).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any


def synthetic_day(nside: int, seed: int = 0, region: tuple[float, ...] | None = None):
    """A regridded-day look-alike on a full-sphere HEALPix grid (degC), or on the cells of
    ``region`` = (lon0, lon1, lat0, lat1) degrees."""
    import healpy as hp
    import numpy as np

    from eogapfill.healpix import HealpixGrid, cell_lonlat, healpix_dataset, region_cells

    lon, lat = cell_lonlat(nside)
    ell = np.arange(3 * nside)
    np.random.seed(seed)  # noqa: NPY002 - healpy's synfast draws from the global generator
    eddies = hp.reorder(hp.synfast(1.0 / (1.0 + (ell / 8.0) ** 3), nside), r2n=True)
    clouds = hp.reorder(hp.synfast(1.0 / (1.0 + (ell / 6.0) ** 4), nside), r2n=True)
    truth = 28.0 - 26.0 * np.sin(np.radians(lat)) ** 2 + 1.5 * eddies / eddies.std()
    land = ((np.abs(lat) < 35) & (lon > 10) & (lon < 50)) | (lat < -70)
    gap = (clouds > np.quantile(clouds, 0.7)) & ~land
    sst = np.where(gap | land, np.nan, truth)
    if region is None:
        return healpix_dataset({"SST_L3S": sst, "gap": gap}, nside)
    ids = np.asarray(region_cells(nside, tuple(region)))
    grid = HealpixGrid(nside, cell_ids=ids)
    gap = gap[ids]
    if not gap.any():  # the box under a clear sky: a cloud in its middle
        lon_r, lat_r = grid.lonlat()
        gap = np.hypot(lon_r - lon_r.mean(), lat_r - lat_r.mean()) < 3.0
    return healpix_dataset({"SST_L3S": np.where(gap, np.nan, sst[ids]), "gap": gap}, grid)


def time_loss(
    nside: int, repeats: int, region: tuple[float, ...] | None = None
) -> tuple[float, float, float]:
    """(first, wall, CPU) seconds of one loss evaluation, forward and backward, 12 masks
    (those that reach the region on a region)."""
    import numpy as np

    from eogapfill.fill.foscat.adapter import import_foscat, scat_operator
    from eogapfill.fill.foscat.problem import loss_function
    from eogapfill.fill.foscat.protocols import base_masks
    from eogapfill.fill.masks import local_masks
    from eogapfill.healpix import grid_of

    scat_cov, _, torch = import_foscat()
    day = synthetic_day(nside, region=region)
    grid = grid_of(day)
    ids = grid.ids if grid.is_partial else None
    values = day.SST_L3S.values
    sea = np.isfinite(values) | day.gap.values
    ref_map = np.where(np.isfinite(values), values, np.nanmean(values)).astype("float32")
    rng = np.random.default_rng(0)
    start = ref_map + rng.normal(0.0, 0.3, ref_map.size).astype("float32")
    scat = scat_operator(scat_cov, ids)
    bk = scat.backend
    windows = local_masks(nside) if ids is None else base_masks("local12", nside, ids)[0]
    masks = bk.bk_cast((windows * sea).astype("float32"))
    args = (None, masks, 0.0, [], 0.0, None, 1.0, (nside, ids))
    on_grid = {} if ids is None else {"cell_ids": ids, "nside": nside}

    def evaluate() -> None:
        x = torch.tensor(start, device=bk.torch_device, requires_grad=True)
        loss = loss_function(x, scat, args)
        torch.autograd.grad(loss, x)
        if x.is_cuda:
            torch.cuda.synchronize()

    t0 = time.perf_counter()
    ref = scat.eval(bk.bk_cast(ref_map), mask=masks, **on_grid)
    args = (ref, *args[1:])
    evaluate()
    first = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        evaluate()
    return first, (time.perf_counter() - t0) / repeats, (time.process_time() - c0) / repeats


def run_case(
    nside: int,
    device: str,
    epochs: int,
    threads: int | None,
    ops: str,
    repeats: int,
    region: tuple[float, ...] | None = None,
) -> dict:
    """Time one (nside, device, ops) case in this process; returns a row of the table."""
    import numpy as np
    import torch

    import eogapfill.fill.foscat.fill as module
    from eogapfill.fill.foscat import ops as foscat_ops

    foscat_ops.set_enabled(ops == "fast")
    if threads is not None:
        torch.set_num_threads(threads)
    first, loss_wall, loss_cpu = time_loss(nside, repeats, region)

    # the synthesis of a member is timed on its own: the set-up around it (the OI start
    # above all) varies more from run to run than an iteration costs
    member_times: list[tuple[float, float]] = []
    run_member = module.run_member

    def timed_member(*args: Any, **kwargs: Any) -> Any:
        start, cpu_start = time.perf_counter(), time.process_time()
        out = run_member(*args, **kwargs)
        if device == "cuda":
            torch.cuda.synchronize()
        member_times.append((time.perf_counter() - start, time.process_time() - cpu_start))
        return out

    module.run_member = timed_member
    day = synthetic_day(nside, region=region)
    options = {"device": device, "threads": threads, "progress": False}
    module.fill_foscat(day, n_epochs=1, **options)  # warm-up: foscat builds its kernels
    timings = []
    for n in (epochs, 2 * epochs):
        start, cpu_start = time.perf_counter(), time.process_time()
        out = module.fill_foscat(day, n_epochs=n, **options)
        total = (time.perf_counter() - start, time.process_time() - cpu_start)
        run = int(np.isfinite(out.loss.values[0]).sum()) - 1  # iterations actually run
        timings.append((*total, *member_times[-1], run))
    (t1, c1, m1, mc1, n1), (t2, c2, m2, mc2, n2) = timings
    per_epoch = (m2 - m1) / max(n2 - n1, 1)
    cpu_per_epoch = (mc2 - mc1) / max(n2 - n1, 1)
    n_threads = threads if threads is not None else torch.get_num_threads()
    return {
        "nside": nside,
        "cells": int(day.sizes["cells"]),
        "device": device,
        "ops": ops,
        "name": torch.cuda.get_device_name(0)
        if device == "cuda"
        else f"CPU, {n_threads} thread(s)",
        "first_loss_s": first,
        "loss_s": loss_wall,
        "cpu_loss_s": loss_cpu,
        "setup_s": t1 - n1 * per_epoch,
        "cpu_setup_s": c1 - n1 * cpu_per_epoch,
        "per_epoch_s": per_epoch,
        "cpu_per_epoch_s": cpu_per_epoch,
        "epochs": f"{n1}/{n2}",
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # kB on Linux
    }


def _spawn(
    nside: int,
    device: str,
    epochs: int,
    threads: int | None,
    ops: str,
    repeats: int,
    region: tuple[float, ...] | None = None,
) -> dict:
    env = dict(os.environ)
    if device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        "--nside",
        str(nside),
        "--device",
        device,
        "--epochs",
        str(epochs),
        "--ops",
        ops,
        "--repeats",
        str(repeats),
    ]
    if threads is not None:
        cmd += ["--threads", str(threads)]
    if region is not None:
        cmd += ["--region", *(str(v) for v in region)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(
            f"case nside={nside} device={device} ops={ops} failed:\n{proc.stderr[-3000:]}"
        )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nside", type=int, action="append", help="grid(s) to time")
    parser.add_argument("--large", action="store_true", help="also time nside 128 and 256")
    parser.add_argument("--epochs", type=int, default=5, help="iterations of the shorter fill")
    parser.add_argument("--repeats", type=int, default=3, help="loss evaluations timed")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    parser.add_argument(
        "--ops",
        choices=("foscat", "fast", "both"),
        default="both",
        help="foscat's own sparse products (before), the cached ones (after), or both",
    )
    parser.add_argument(
        "--region",
        type=float,
        nargs=4,
        default=None,
        metavar=("LON0", "LON1", "LAT0", "LAT1"),
        help="time the fill on this box's cells only (degrees)",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--device", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        row = run_case(
            args.nside[0],
            args.device,
            args.epochs,
            args.threads,
            args.ops,
            args.repeats,
            args.region,
        )
        print(json.dumps(row))
        return

    import torch

    nsides = args.nside or [32, 64]
    if args.large:
        nsides = sorted(set(nsides) | {128, 256})
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    ops_list = ["foscat", "fast"] if args.ops == "both" else [args.ops]
    rows = []
    for nside in nsides:
        for device in devices:
            for ops in ops_list:
                rows.append(
                    _spawn(nside, device, args.epochs, args.threads, ops, args.repeats, args.region)
                )
                print(f"  done nside={nside} {device} {ops}", file=sys.stderr, flush=True)

    print(
        f"\nfoscat fill, seconds per loss evaluation (forward + backward, 12 masks) and per "
        f"L-BFGS iteration (synthetic day, 30% cloud, one member; torch {torch.__version__}); "
        "'cpu' columns are process CPU time (all threads; on a busy machine it stays honest "
        "when wall time does not)"
        + (
            f"; region lon {args.region[0]:g}..{args.region[1]:g}, lat {args.region[2]:g}.."
            f"{args.region[3]:g}"
            if args.region
            else ""
        )
    )
    header = (
        f"{'nside':>5} {'cells':>8} {'device':>6} {'ops':>6} {'hardware':>20} {'setup s':>8} {'cpu':>7} "
        f"{'1st loss':>8} {'loss s':>7} {'cpu':>7} {'s/iter':>7} {'cpu':>7} {'iters':>5} "
        f"{'speed-up':>8} {'peak MB':>7}"
    )
    print(header)
    print("-" * len(header))
    before = {(r["nside"], r["device"]): r for r in rows if r["ops"] == "foscat"}
    for r in rows:
        ref = before.get((r["nside"], r["device"]))
        ratio = (
            f"{ref['cpu_per_epoch_s'] / r['cpu_per_epoch_s']:.1f}x"
            if ref is not None and r["ops"] == "fast" and r["cpu_per_epoch_s"] > 0
            else ""
        )
        print(
            f"{r['nside']:>5} {r['cells']:>8} {r['device']:>6} {r['ops']:>6} {r['name'][:20]:>20} "
            f"{r['setup_s']:>8.2f} {r['cpu_setup_s']:>7.2f} {r['first_loss_s']:>8.2f} "
            f"{r['loss_s']:>7.3f} {r['cpu_loss_s']:>7.3f} {r['per_epoch_s']:>7.3f} "
            f"{r['cpu_per_epoch_s']:>7.3f} {r['epochs']:>5} {ratio:>8} {r['peak_mb']:>7.0f}"
        )
    print(
        "speed-up: CPU seconds per iteration, foscat's products over the cached ones; "
        "peak MB: the case's process (its largest resident set)"
    )
    if len(devices) == 1:
        print("(torch sees no GPU: CPU only)")


if __name__ == "__main__":
    main()
