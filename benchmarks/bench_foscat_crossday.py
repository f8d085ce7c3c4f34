"""foscat with cross statistics between days against the single-day synthesis and space-time OI.

On hidden source pixels of a series (:func:`eogapfill.validate.series.series_validation`: each
target day's clear pixels hidden under another day's clouds, the other days keep their own),
scored per pixel in degC (member CRPS where a fill has members, else the Gaussian CRPS of its
``filled_std``; RMSE of the mean):

- ``oi``: single-day optimal interpolation (:func:`~eogapfill.fill.oi.fill_oi`);
  ``oi_members``: its conditional simulations (the starts of ``foscat``), scored as members;
- ``foscat``: the single-day synthesis (:func:`~eogapfill.fill.foscat.fill_foscat`, OI members
  as starts);
- ``spacetime_oi``: space-time OI with the window (mean and kriging std, no members);
- ``crossday``: :func:`~eogapfill.fill.foscat.crossday.fill_foscat_crossday` (space-time start,
  cross statistics with each day of the window);
- ``crossday_strong``: the same with ``cross_weight=10`` (1 by default);
- ``crossday_nocross``: the same with ``cross_weight=0``: the synthesis from the space-time
  start with the day's own statistics only (what the cross terms add is the difference);
- ``crossday_oi``: cross statistics from the single-day OI start (``start="oi"``): the cross
  terms are the only way the neighbours reach the fill; ``crossday_oi_nocross``, the same
  without them (the same start and anchor: what the cross terms add is the difference).

Every number is from the honest protocol. Usage::

    python benchmarks/bench_foscat_crossday.py                       # sample, nside 64
    python benchmarks/bench_foscat_crossday.py --targets 2 4 6 --members 4 --epochs 30
    python benchmarks/bench_foscat_crossday.py --case alboran --nside 1024 --targets 3
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import warnings
from functools import partial
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def methods(
    window: int, members: int, epochs: int, threads: int, which: list[str] | None
) -> tuple[dict, dict]:
    """The single-day and space-time fills compared (``which``: their names, None: all), as
    ``series_validation`` takes them."""
    from eogapfill.fill.foscat import fill_foscat
    from eogapfill.fill.foscat.crossday import fill_foscat_crossday
    from eogapfill.fill.oi import fill_oi
    from eogapfill.fill.spacetime import fill_spacetime_oi

    common = {"n_members": members, "n_epochs": epochs, "threads": threads, "progress": False}
    cross = partial(fill_foscat_crossday, window=window, **common)
    single = {
        "oi": fill_oi,
        "oi_members": partial(fill_oi, n_members=members, seed=0),
        "foscat": partial(fill_foscat, **common),
    }
    spacetime = {
        "spacetime_oi": partial(fill_spacetime_oi, window=window),
        "crossday": cross,
        "crossday_strong": partial(cross, cross_weight=10.0),
        "crossday_nocross": partial(cross, cross_weight=0.0),
        "crossday_oi": partial(cross, start="oi"),
        "crossday_oi_nocross": partial(cross, start="oi", cross_weight=0.0),
    }
    pick = lambda d: {k: v for k, v in d.items() if which is None or k in which}  # noqa: E731
    return pick(single), pick(spacetime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default="sample", help="sample, alboran or alboran_l3s")
    parser.add_argument("--nside", type=int, default=64)
    parser.add_argument("--window", type=int, default=1, help="days on each side")
    parser.add_argument("--targets", type=int, nargs="+", default=[2, 5, 8])
    parser.add_argument("--members", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--days", type=int, default=10, help="days of a real case")
    parser.add_argument(
        "--methods",
        nargs="+",
        default=list(methods(1, 2, 1, 1, None)[0]) + list(methods(1, 2, 1, 1, None)[1]),
        help="fills to compare (default: all of them)",
    )
    parser.add_argument("--json", type=Path, help="also write the per-day table here")
    args = parser.parse_args()

    from bench_spacetime import case_cube

    from eogapfill.validate.series import series_summary, series_validation

    warnings.simplefilter("ignore")
    start = time.perf_counter()
    cube, box = case_cube(args.case, 0, args.days)
    single, spacetime = methods(args.window, args.members, args.epochs, args.threads, args.methods)
    table = series_validation(
        cube,
        args.nside,
        region=box,
        window=args.window,
        targets=args.targets,
        single_day=single,
        spacetime=spacetime,
        progress=True,
    )
    summary = series_summary(table)
    print(
        f"\n{args.case}, nside {args.nside}, window {args.window}, targets {args.targets}, "
        f"{args.members} members, {args.epochs} epochs\n"
    )
    print("| method | kind | days | pixels | RMSE of the mean (degC) | CRPS (degC) | s/day |")
    print("|---|---|---|---|---|---|---|")
    for r in summary.to_dict(orient="records"):
        print(
            f"| {r['method']} | {r['kind']} | {r['n_days']} | {r['n_pixels']} | "
            f"{r['pixel_rmse']:.3f} | {r['pixel_crps']:.3f} | {r['seconds_per_day']:.1f} |"
        )
    print("\nper day:")
    print(table[["day", "method", "pixel_rmse", "pixel_crps", "n_pixels", "seconds"]].to_string())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"\nwall {time.perf_counter() - start:.0f} s, peak {peak:.2f} GB")
    if args.json:
        args.json.write_text(table.to_json(orient="records", indent=1))


if __name__ == "__main__":
    main()
