"""``eogapfill fill``: a range of days filled into one Zarr store (parallel, resumable)."""

from __future__ import annotations

import argparse
import logging
import math
import os
from pathlib import Path
from typing import Any

from eogapfill.cli.arguments import (
    _SOURCE_HELP,
    FORMATTER,
    Subparsers,
    _BadArgument,
    _date,
    _days_each_side,
    _degrees,
    _healpix_methods,
    _nside,
    _option,
    _positive_int,
    _regional_methods,
    _resolution,
    _seconds,
    _sources,
    _spacetime_methods,
    _wrap,
)

EPILOG = """\
examples:
  # one week of the sample, Laplace fill on 50 km cells, two local worker processes
  eogapfill fill --start 2024-06-01 --end 2024-06-07 --method laplace --out filled.zarr

  # the same store again with a later end: the days already there are skipped
  eogapfill fill --start 2024-06-01 --end 2024-06-10 --method laplace --out filled.zarr

  # spherical harmonics up to l = 20, on an existing Dask cluster
  eogapfill fill --start 2024-06-01 --end 2024-06-03 --method alm --option lmax=20 \\
      --scheduler tcp://10.0.0.5:8786 --out alm.zarr

  # the Gulf Stream only (lon -80 to -50, lat 25 to 45), 13 km cells, the sample at 0.1 deg
  eogapfill fill --start 2024-06-01 --end 2024-06-01 --region -80 -50 25 45 --nside 512 \\
      --out gulfstream.zarr

  # each day filled with its neighbours: the 3 days on each side (7 days), space-time OI
  eogapfill fill --start 2024-06-02 --end 2024-06-08 --method spacetime_oi --window 3 \\
      --out spacetime.zarr

The store holds SST_L3S, SST_filled, SST_L4, gap, sea (and filled_std for methods that give
one) on dims (time, cells); with --region, only the region's cells (a partial HEALPix grid,
attributes healpix_partial and healpix_region), and every later run into it must ask for the
same --region and --nside. From --nside 256 the sample is read at 0.1 deg (--resolution).
Open it in Python with eogapfill.pipeline.open_output("filled.zarr"). A run that stops
(crash, Ctrl-C) keeps every finished day: run the same command again to resume.
One run at a time writes a store: a second run into the same --out stops and names the
first, or waits for it with --wait. --scheduler gives up when the scheduler does not answer
within 30 s (--scheduler-timeout, or the Dask config distributed.comm.timeouts.connect).

Space-time methods ({spacetime}) fill each day with the observations of the days
around it: --window K reads the K days on each side, 2K+1 days in all (default {default}).
The window reads the days the source holds, before --start and after --end too, and fewer
at the ends of the source (the run says which){min_days}.
Each day is regridded once and at most 2K+1 regridded days are held, whatever the length of
the run. The store records K: a later run into it must ask for the same --window. The
single-day methods take no --window.
"""


def add_parser(sub: Subparsers) -> argparse.ArgumentParser:
    """Add the ``fill`` sub-command to ``sub`` (the parsers of ``eogapfill``)."""
    from eogapfill.fill import METHODS

    methods = _healpix_methods() + _spacetime_methods()
    method_help = "; ".join(f"{m} = {METHODS[m].description}" for m in methods)
    sources = _sources()
    parser = sub.add_parser(
        "fill",
        help="fill a range of days into one Zarr store (parallel, resumable)",
        description=_wrap(
            "Fill every day from --start to --end: open L3S and L4, regrid to "
            "HEALPix, fill the gaps, append the day to the --out Zarr store. Days run in "
            "parallel on Dask workers; days already in the store are skipped."
        ),
        epilog=EPILOG.replace("{spacetime}", ", ".join(_spacetime_methods()))
        .replace("{default}", _default_windows())
        .replace("{min_days}", _min_days()),
        formatter_class=FORMATTER,
    )
    parser.add_argument(
        "--start", type=_date, required=True, metavar="YYYY-MM-DD", help="first day"
    )
    parser.add_argument(
        "--end", type=_date, required=True, metavar="YYYY-MM-DD", help="last day (included)"
    )
    parser.add_argument(
        "--method",
        choices=methods,
        default="laplace",
        help=f"fill method (default: %(default)s): {method_help}",
    )
    parser.add_argument(
        "--nside",
        type=_nside,
        default=128,
        help="HEALPix resolution, a power of two (default: %(default)s, "
        "50 km cells; 64 is 100 km, 256 is 25 km)",
    )
    parser.add_argument(
        "--region",
        type=_degrees,
        nargs=4,
        default=None,
        metavar=("LON0", "LON1", "LAT0", "LAT1"),
        help="fill only this lat/lon box, in degrees (west, east, south, north; LON0 > LON1 "
        "crosses 180): the store holds the cells that touch it. Methods that fill a "
        f"region: {', '.join(_regional_methods())} (default: the whole sphere)",
    )
    parser.add_argument(
        "--window",
        type=_days_each_side,
        default=None,
        metavar="K",
        help="for the space-time methods "
        f"({', '.join(_spacetime_methods())}): fill each day with the K days on each side "
        f"of it, 2K+1 days (default: {_default_windows()})",
    )
    parser.add_argument("--source", choices=sources, default="sample", help=_SOURCE_HELP)
    parser.add_argument(
        "--resolution",
        type=_resolution,
        default=None,
        metavar="DEG",
        help="grid spacing of the sample in degrees (default: that of an existing --out, "
        "else 0.25 up to --nside 128 and 0.1 from 256)",
    )
    parser.add_argument("--out", type=Path, required=True, help="output Zarr store (a folder)")
    parser.add_argument(
        "--workers",
        type=_positive_int,
        default=2,
        metavar="N",
        help="local Dask worker processes, one thread each (default: %(default)s)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="use the Dask scheduler at ADDRESS (e.g. tcp://host:8786) instead "
        "of starting local workers",
    )
    parser.add_argument(
        "--scheduler-timeout",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="give up when the scheduler does not answer within SECONDS "
        "(default: the Dask config distributed.comm.timeouts.connect, 30 s)",
    )
    parser.add_argument(
        "--wait",
        type=_seconds,
        nargs="?",
        const=math.inf,
        default=0.0,
        metavar="SECONDS",
        help="when another run is writing --out, wait for it to finish (at most "
        "SECONDS if given) instead of stopping; its days are then skipped",
    )
    parser.add_argument(
        "--option",
        type=_option,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="option of the fill method, repeatable "
        "(e.g. --option lmax=20); VALUE is read as JSON, else as text",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--verbose", action="store_true", help="log every day written")
    return parser


def _default_windows() -> str:
    """The space-time methods' default windows, in words (``'3: 7 days'``)."""
    from eogapfill.fill import METHODS

    windows = {m: METHODS[m].window for m in _spacetime_methods()}
    if len(set(windows.values())) == 1:
        (k,) = set(windows.values())
        return f"{k}, {2 * k + 1} days"
    return ", ".join(f"{k} for {m}" for m, k in windows.items())


def _min_days() -> str:
    """The space-time methods that need more than one day in a window, in words."""
    from eogapfill.fill import METHODS

    needs = [
        f"{m} needs at least {METHODS[m].min_days} days in each window"
        for m in _spacetime_methods()
        if METHODS[m].min_days > 1
    ]
    return "".join(f"; {words}" for words in needs)


def run(args: argparse.Namespace) -> int:
    """Run ``eogapfill fill``; return the exit status."""
    from eogapfill import pipeline

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    import distributed  # noqa: F401 - it sets its loggers up on import: quiet them after

    logging.getLogger("distributed").setLevel(logging.WARNING)  # the cluster's own chatter
    if args.verbose:
        logging.getLogger("eogapfill").setLevel(logging.INFO)
    options = dict(args.option)
    try:
        pipeline.check_method_options(args.method, options)
    except ValueError as err:
        raise _BadArgument(f"--option: {err}") from err
    try:
        window = pipeline.check_window(args.method, args.window)
    except ValueError as err:
        raise _BadArgument(f"--window: {err}") from err
    region = None
    if args.region is not None:
        try:
            region, ids = pipeline.check_region(tuple(args.region), args.nside, args.method)
        except ValueError as err:
            raise _BadArgument(f"--region: {err}") from err
        if region is None:
            print(f"the region covers the whole sphere at nside {args.nside}: filling it all")
        else:
            print(pipeline.region_summary(region, args.nside, ids), flush=True)
    if window is not None and (summary := _window_summary(args, window)):
        print(summary, flush=True)
    if args.scheduler is None:  # the run starts its own worker processes
        _quiet_resource_tracker()
    try:
        ds, added, clear = _fill_days(args, options, region, window)
    except pipeline.RegionWithoutSeaError as err:
        raise _BadArgument(f"--region: {err}") from err
    times = ds["time"].values
    no_gap = (
        f" ({clear} of them had nothing to fill, every sea cell observed or no open sea in "
        "the region: stored as observed)"
        if clear
        else ""
    )
    print(
        f"{added} day(s) written to {args.out}{no_gap}; it holds {ds.sizes['time']} day(s), "
        f"{str(times[0])[:10]} to {str(times[-1])[:10]}. Open it with "
        f"eogapfill.pipeline.open_output({str(args.out)!r})"
    )
    return 0


#: The warning filter of the resource tracker that this command starts.
_TRACKER_FILTER = "ignore::UserWarning:multiprocessing.resource_tracker"


def _quiet_resource_tracker() -> None:
    """Start Python's multiprocessing resource tracker with its leak warning ignored.

    Ctrl-C stops the run's worker processes in the middle of their days. Each holds a
    semaphore (numcodecs' Blosc codec makes one in every process but the main one) that only
    the tracker can remove once the process is gone; it does so when the command ends, and
    would print "There appear to be N leaked semaphore objects to clean up" under the one
    line that says the finished days are kept. The tracker still removes them. Nothing
    changes when the tracker already runs.
    """
    from multiprocessing import resource_tracker

    previous = os.environ.get("PYTHONWARNINGS")
    os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [previous, _TRACKER_FILTER]))
    try:
        resource_tracker.ensure_running()
    finally:
        if previous is None:
            del os.environ["PYTHONWARNINGS"]
        else:
            os.environ["PYTHONWARNINGS"] = previous


def _window_summary(args: argparse.Namespace, window: int) -> str | None:
    """What the window reads for the days asked (a look at the source's time axis); None
    when the source lacks one of the days (the run then says so)."""
    from eogapfill import pipeline

    days = pipeline.day_range(args.start.isoformat(), args.end.isoformat())
    resolution = args.resolution or pipeline.default_resolution(args.nside)
    have = pipeline.source_days(args.source, resolution)
    if not set(days) <= set(have):
        return None
    return pipeline.window_summary(days, window, have)


def _fill_days(
    args: argparse.Namespace, options: dict, region: Any, window: int | None = None
) -> tuple[Any, int, int]:
    """The pipeline's run of ``eogapfill fill``: the store, days written, days without gap."""
    from eogapfill.pipeline.runner import fill_days

    return fill_days(
        args.start.isoformat(),
        args.end.isoformat(),
        method=args.method,
        nside=args.nside,
        source=args.source,
        out=args.out,
        client=None,
        resolution=args.resolution,
        method_options=options,
        progress=not args.quiet,
        n_workers=args.workers,
        scheduler=args.scheduler,
        connect_timeout=args.scheduler_timeout,
        wait=args.wait,
        region=region,
        window=window,
    )
