"""Seconds per L-BFGS epoch of the scattering-transform fill, on the CPU and on a GPU.

Each (nside, device) case runs in a fresh Python process (torch reads the GPU list once,
and foscat puts its tensors on the GPU whenever torch sees one: the CPU case hides it with
``CUDA_VISIBLE_DEVICES=``). A case fills a synthetic day (meridional SST gradient, eddies,
a continent, 30% cloud) twice, with ``--epochs`` and ``2 * --epochs`` iterations; the
difference of the two wall times over the difference of the iterations run is the cost of
one epoch, the rest is the set-up (Laplace start, masks, reference statistics).

Usage::

    python benchmarks/bench_foscat.py                 # nside 32 and 64
    python benchmarks/bench_foscat.py --nside 32      # one grid
    python benchmarks/bench_foscat.py --large         # adds nside 128 and 256
    python benchmarks/bench_foscat.py --threads 1     # torch threads per process
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time


def synthetic_day(nside: int, seed: int = 0):
    """A regridded-day look-alike on a full-sphere HEALPix grid (degC)."""
    import healpy as hp
    import numpy as np

    from eogapfill.healpix import cell_lonlat, healpix_dataset

    lon, lat = cell_lonlat(nside)
    ell = np.arange(3 * nside)
    np.random.seed(seed)  # noqa: NPY002 - healpy's synfast draws from the global generator
    eddies = hp.reorder(hp.synfast(1.0 / (1.0 + (ell / 8.0) ** 3), nside), r2n=True)
    clouds = hp.reorder(hp.synfast(1.0 / (1.0 + (ell / 6.0) ** 4), nside), r2n=True)
    truth = 28.0 - 26.0 * np.sin(np.radians(lat)) ** 2 + 1.5 * eddies / eddies.std()
    land = ((np.abs(lat) < 35) & (lon > 10) & (lon < 50)) | (lat < -70)
    gap = (clouds > np.quantile(clouds, 0.7)) & ~land
    return healpix_dataset(
        {"SST_L3S": np.where(gap | land, np.nan, truth), "gap": gap}, nside
    )


def run_case(nside: int, device: str, epochs: int, threads: int | None) -> dict:
    """Time one (nside, device) case in this process; returns a row of the table."""
    import numpy as np
    import torch

    from eogapfill.fill.foscat import fill_foscat

    day = synthetic_day(nside)
    options = {"device": device, "threads": threads, "progress": False}
    fill_foscat(day, n_epochs=1, **options)  # warm-up: foscat builds and caches its kernels
    timings = []
    for n in (epochs, 2 * epochs):
        start, cpu_start = time.perf_counter(), time.process_time()
        out = fill_foscat(day, n_epochs=n, **options)
        if device == "cuda":
            torch.cuda.synchronize()
        run = int(np.isfinite(out.loss.values[0]).sum()) - 1  # iterations actually run
        timings.append((time.perf_counter() - start, time.process_time() - cpu_start, run))
    (t1, c1, n1), (t2, c2, n2) = timings
    per_epoch = (t2 - t1) / max(n2 - n1, 1)
    n_threads = threads if threads is not None else torch.get_num_threads()
    return {
        "nside": nside,
        "device": device,
        "name": torch.cuda.get_device_name(0) if device == "cuda" else f"CPU, {n_threads} thread(s)",
        "setup_s": t1 - n1 * per_epoch,
        "per_epoch_s": per_epoch,
        "cpu_per_epoch_s": (c2 - c1) / max(n2 - n1, 1),
        "epochs": f"{n1}/{n2}",
    }


def _spawn(nside: int, device: str, epochs: int, threads: int | None) -> dict:
    env = dict(os.environ)
    if device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    cmd = [sys.executable, __file__, "--worker", "--nside", str(nside), "--device", device,
           "--epochs", str(epochs)]
    if threads is not None:
        cmd += ["--threads", str(threads)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"case nside={nside} device={device} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nside", type=int, action="append", help="grid(s) to time")
    parser.add_argument("--large", action="store_true", help="also time nside 128 and 256")
    parser.add_argument("--epochs", type=int, default=5, help="epochs of the shorter run")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--device", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        row = run_case(args.nside[0], args.device, args.epochs, args.threads)
        print(json.dumps(row))
        return

    import torch

    nsides = args.nside or [32, 64]
    if args.large:
        nsides = sorted(set(nsides) | {128, 256})
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows = []
    for nside in nsides:
        for device in devices:
            rows.append(_spawn(nside, device, args.epochs, args.threads))
            print(f"  done nside={nside} {device}", file=sys.stderr, flush=True)

    print(
        f"\nfoscat fill, seconds per L-BFGS epoch (synthetic day, 30% cloud; torch "
        f"{torch.__version__}); 's/epoch' is wall time, 'cpu s/ep' the process CPU time "
        "(all threads; on a busy machine it stays honest when wall time does not)"
    )
    header = (
        f"{'nside':>6} {'device':>6} {'hardware':>28} {'setup s':>8} {'s/epoch':>8} "
        f"{'cpu s/ep':>8} {'epochs':>6} {'GPU/CPU':>8}"
    )
    print(header)
    print("-" * len(header))
    cpu = {r["nside"]: r["per_epoch_s"] for r in rows if r["device"] == "cpu"}
    for r in rows:
        ratio = f"{r['per_epoch_s'] / cpu[r['nside']]:.3f}" if r["device"] == "cuda" else ""
        print(
            f"{r['nside']:>6} {r['device']:>6} {r['name'][:28]:>28} {r['setup_s']:>8.2f} "
            f"{r['per_epoch_s']:>8.3f} {r['cpu_per_epoch_s']:>8.3f} {r['epochs']:>6} {ratio:>8}"
        )
    if len(devices) == 1:
        print("(torch sees no GPU: CPU only)")


if __name__ == "__main__":
    main()
