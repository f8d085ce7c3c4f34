"""The ``eogapfill`` command: fill many days, write the sample, validate, run the demo.

Run ``eogapfill --help`` (or ``python -m eogapfill --help``) for the sub-commands, and
``eogapfill fill --help`` for the options of one. Bad arguments stop with a one-line message
and exit status 2; a failure while running stops with a one-line message and status 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import math
import re
import sys
import textwrap
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

__all__ = ["build_parser", "main"]

_MAIN_EPILOG = """\
examples:
  eogapfill sample --out sample/                      write the offline sample stores
  eogapfill fill --start 2024-06-01 --end 2024-06-07 --method laplace --out filled.zarr
  eogapfill validate --date 2024-06-01 --nside 64 --methods laplace,alm --out scores.csv
  eogapfill demo --out outputs/                       the whole story on the sample day

Every command works offline on the embedded sample (the default source).
"""

_FILL_EPILOG = """\
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

The store holds SST_L3S, SST_filled, SST_L4, gap, sea (and filled_std for methods that give
one) on dims (time, cells); with --region, only the region's cells (a partial HEALPix grid,
attributes healpix_partial and healpix_region), and every later run into it must ask for the
same --region and --nside. From --nside 256 the sample is read at 0.1 deg (--resolution).
Open it in Python with eogapfill.pipeline.open_output("filled.zarr"). A run that stops
(crash, Ctrl-C) keeps every finished day: run the same command again to resume.
One run at a time writes a store: a second run into the same --out stops and names the
first, or waits for it with --wait. --scheduler gives up when the scheduler does not answer
within 30 s (--scheduler-timeout, or the Dask config distributed.comm.timeouts.connect).
"""

_SAMPLE_EPILOG = """\
examples:
  eogapfill sample --out sample/                           the default 10 days at 0.25 deg
  eogapfill sample --out sample/ --start 2024-07-01 --days 3 --resolution 1.0

Writes l3s.zarr and l4 stores (Zarr format 2, consolidated, Copernicus Marine schema) that
eogapfill.data.open_l3s(url=...) and open_l4(url=...) read like the real ones.
"""

_VALIDATE_EPILOG = """\
examples:
  eogapfill validate --date 2024-06-01 --nside 64
  eogapfill validate --date 2024-06-03 --nside 32 --methods laplace,alm --out scores.csv

Hides the day's clear pixels that lie under the clouds of another day (--clouds-from, the
next day by default), fills, and scores each method on the hidden pixels only ("honest"
protocol: the fills never see the values they are scored on).
"""

_DEMO_EPILOG = """\
example:
  eogapfill demo --out outputs/

Opens the sample day, draws it, regrids it to HEALPix, fills it with several methods, draws
the maps and writes a small validation table (CSV and markdown) under --out.
"""


def _wrap(text: str) -> str:
    return textwrap.fill(text, width=88)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage block) with exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


# --------------------------------------------------------------------------------------------
# argument types
# --------------------------------------------------------------------------------------------
class _BadArgument(Exception):
    """An argument that parses but cannot be used (checked before any work): exit status 2."""


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        zone = "T" in text or "+" in text or text.endswith("Z")
        hint = " (a day alone: no time, no time zone; the days are UTC days)" if zone else ""
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date: write it as YYYY-MM-DD, e.g. 2024-06-01{hint}"
        ) from None


def _nside(text: str) -> int:
    from eogapfill.healpix import check_nside

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    try:
        check_nside(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _degrees(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of degrees") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number of degrees")
    return value


def _resolution(text: str) -> float:
    from eogapfill.sample import RESOLUTIONS

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of degrees") from None
    if value not in RESOLUTIONS:
        raise argparse.ArgumentTypeError(
            f"the sample exists at {', '.join(map(str, RESOLUTIONS))} degrees, not {value}"
        )
    return value


def _option(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(
            f'{text!r} is not KEY=VALUE (e.g. lmax=20 or reference="observed")'
        )
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw  # a bare word is a string
    return key, value


def _method_list(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError("give at least one method, e.g. laplace,alm")
    allowed = _healpix_methods()
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown method {', '.join(map(repr, unknown))}; choose from {', '.join(allowed)}"
        )
    return names


def _healpix_methods() -> tuple[str, ...]:
    """The fill methods of the registry on the HEALPix grid (those the commands run)."""
    from eogapfill.fill import method_names

    return method_names("healpix")


def _regional_methods() -> list[str]:
    """The HEALPix methods that fill a region (a partial grid)."""
    from eogapfill.pipeline import regional_methods

    return regional_methods()


def _sources() -> tuple[str, ...]:
    """Every source of :func:`eogapfill.data.open_l3s` (``data.Source``)."""
    from eogapfill.data import Source

    return typing.get_args(Source)


_SOURCE_HELP = (
    "sample = the offline embedded sample (default), cmems = the Copernicus Marine "
    "ARCO stores, copernicusmarine = the same through the copernicusmarine toolbox "
    "(both need the network)"
)


# --------------------------------------------------------------------------------------------
# the parser
# --------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The ``eogapfill`` argument parser (sub-commands fill, sample, validate, demo).

    The method and source choices come from the package: the fill registry
    (:data:`eogapfill.fill.METHODS`, HEALPix methods) and :data:`eogapfill.data.Source`.
    """
    from eogapfill import __version__
    from eogapfill.fill import METHODS
    from eogapfill.sample import SAMPLE_START

    methods = _healpix_methods()
    method_help = "; ".join(f"{m} = {METHODS[m].description}" for m in methods)
    sources = _sources()

    fmt = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog="eogapfill",
        description=_wrap(
            "Fill the gaps (clouds) in satellite sea-surface temperature maps on the "
            "sphere (HEALPix grid), one day or many."
        ),
        epilog=_MAIN_EPILOG,
        formatter_class=fmt,
    )
    parser.add_argument("--version", action="version", version=f"eogapfill {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show the full Python traceback when a command fails"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    fill = sub.add_parser(
        "fill",
        help="fill a range of days into one Zarr store (parallel, resumable)",
        description=_wrap(
            "Fill every day from --start to --end: open L3S and L4, regrid to "
            "HEALPix, fill the gaps, append the day to the --out Zarr store. Days run in "
            "parallel on Dask workers; days already in the store are skipped."
        ),
        epilog=_FILL_EPILOG,
        formatter_class=fmt,
    )
    fill.add_argument("--start", type=_date, required=True, metavar="YYYY-MM-DD", help="first day")
    fill.add_argument(
        "--end", type=_date, required=True, metavar="YYYY-MM-DD", help="last day (included)"
    )
    fill.add_argument(
        "--method",
        choices=methods,
        default="laplace",
        help=f"fill method (default: %(default)s): {method_help}",
    )
    fill.add_argument(
        "--nside",
        type=_nside,
        default=128,
        help="HEALPix resolution, a power of two (default: %(default)s, "
        "50 km cells; 64 is 100 km, 256 is 25 km)",
    )
    fill.add_argument(
        "--region",
        type=_degrees,
        nargs=4,
        default=None,
        metavar=("LON0", "LON1", "LAT0", "LAT1"),
        help="fill only this lat/lon box, in degrees (west, east, south, north; LON0 > LON1 "
        "crosses 180): the store holds the cells that touch it. Methods that fill a "
        f"region: {', '.join(_regional_methods())} (default: the whole sphere)",
    )
    fill.add_argument("--source", choices=sources, default="sample", help=_SOURCE_HELP)
    fill.add_argument(
        "--resolution",
        type=_resolution,
        default=None,
        metavar="DEG",
        help="grid spacing of the sample in degrees (default: that of an existing --out, "
        "else 0.25 up to --nside 128 and 0.1 from 256)",
    )
    fill.add_argument("--out", type=Path, required=True, help="output Zarr store (a folder)")
    fill.add_argument(
        "--workers",
        type=_positive_int,
        default=2,
        metavar="N",
        help="local Dask worker processes, one thread each (default: %(default)s)",
    )
    fill.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="use the Dask scheduler at ADDRESS (e.g. tcp://host:8786) instead "
        "of starting local workers",
    )
    fill.add_argument(
        "--scheduler-timeout",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="give up when the scheduler does not answer within SECONDS "
        "(default: the Dask config distributed.comm.timeouts.connect, 30 s)",
    )
    fill.add_argument(
        "--wait",
        type=_seconds,
        nargs="?",
        const=math.inf,
        default=0.0,
        metavar="SECONDS",
        help="when another run is writing --out, wait for it to finish (at most "
        "SECONDS if given) instead of stopping; its days are then skipped",
    )
    fill.add_argument(
        "--option",
        type=_option,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="option of the fill method, repeatable "
        "(e.g. --option lmax=20); VALUE is read as JSON, else as text",
    )
    fill.add_argument("--quiet", action="store_true", help="no progress bar")
    fill.add_argument("--verbose", action="store_true", help="log every day written")

    sample = sub.add_parser(
        "sample",
        help="write the offline sample stores (L3S and L4) to a folder",
        description=_wrap(
            "Generate the sample days (real NOAA OISST fronts with generated clouds, "
            "Copernicus Marine schema) and write them as Zarr stores."
        ),
        epilog=_SAMPLE_EPILOG,
        formatter_class=fmt,
    )
    sample.add_argument("--out", type=Path, required=True, help="folder to write into")
    sample.add_argument(
        "--start",
        type=_date,
        default=dt.date.fromisoformat(SAMPLE_START),
        metavar="YYYY-MM-DD",
        help="first day (default: %(default)s)",
    )
    sample.add_argument(
        "--days",
        type=_positive_int,
        default=None,
        metavar="N",
        help="number of days (default: the sample's 10)",
    )
    sample.add_argument(
        "--resolution",
        type=_resolution,
        default=0.25,
        metavar="DEG",
        help="grid spacing in degrees: 1.0, 0.5, 0.25 (default) or 0.1 (the products' own)",
    )
    sample.add_argument(
        "--seed", type=int, default=0, help="seed of the generated weather (default: %(default)s)"
    )
    sample.add_argument(
        "--overwrite", action="store_true", help="replace stores that already exist in --out"
    )

    validate = sub.add_parser(
        "validate",
        help="score fill methods on pixels hidden under another day's clouds",
        description=_wrap(
            "Honest validation of the fills on one day: hide clear pixels under a "
            "real cloud pattern, fill, score on the hidden pixels (RMSE, bias, skill, texture)."
        ),
        epilog=_VALIDATE_EPILOG,
        formatter_class=fmt,
    )
    validate.add_argument(
        "--date",
        type=_date,
        default=dt.date.fromisoformat(SAMPLE_START),
        metavar="YYYY-MM-DD",
        help="day to validate on (default: %(default)s)",
    )
    validate.add_argument(
        "--clouds-from",
        type=_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="day whose clouds hide the pixels (default: the next day)",
    )
    validate.add_argument(
        "--nside",
        type=_nside,
        default=64,
        help="HEALPix resolution, a power of two (default: %(default)s)",
    )
    validate.add_argument(
        "--methods",
        type=_method_list,
        default=None,
        metavar="M1,M2",
        help=f"comma-separated methods among {', '.join(methods)} "
        "(default: all available except foscat)",
    )
    validate.add_argument(
        "--source", choices=sources, default="sample", help=f"data source: {_SOURCE_HELP}"
    )
    validate.add_argument(
        "--resolution",
        type=_resolution,
        default=0.25,
        metavar="DEG",
        help="grid spacing of the sample in degrees (default: %(default)s)",
    )
    validate.add_argument(
        "--members",
        type=_positive_int,
        default=4,
        metavar="N",
        help="ensemble members of the stochastic fills (default: %(default)s)",
    )
    validate.add_argument(
        "--out",
        type=Path,
        default=None,
        help="write the table to this CSV file (and a .md next to it)",
    )

    demo = sub.add_parser(
        "demo",
        help="run the whole story on the sample day and save figures and a table",
        description=_wrap(
            "Open, prepare, draw, regrid, fill and validate the sample day; save "
            "figures and a validation table."
        ),
        epilog=_DEMO_EPILOG,
        formatter_class=fmt,
    )
    demo.add_argument(
        "--out",
        type=Path,
        default=Path("outputs"),
        help="folder for the figures and tables (default: %(default)s)",
    )
    demo.add_argument(
        "--nside", type=_nside, default=64, help="HEALPix resolution (default: %(default)s)"
    )
    demo.add_argument(
        "--resolution",
        type=_resolution,
        default=0.25,
        metavar="DEG",
        help="grid spacing of the sample in degrees (default: %(default)s)",
    )
    return parser


# --------------------------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------------------------
def _cmd_fill(args: argparse.Namespace) -> int:
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
    try:
        ds, added, clear = _fill_days(args, options, region)
    except pipeline.RegionWithoutSeaError as err:
        raise _BadArgument(f"--region: {err}") from err
    times = ds["time"].values
    no_gap = (
        f" ({clear} of them had no gap, every sea cell observed: stored as observed)"
        if clear
        else ""
    )
    print(
        f"{added} day(s) written to {args.out}{no_gap}; it holds {ds.sizes['time']} day(s), "
        f"{str(times[0])[:10]} to {str(times[-1])[:10]}. Open it with "
        f"eogapfill.pipeline.open_output({str(args.out)!r})"
    )
    return 0


def _fill_days(args: argparse.Namespace, options: dict, region: Any) -> tuple[Any, int, int]:
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
    )


def _cmd_sample(args: argparse.Namespace) -> int:
    from eogapfill import sample

    days = sample.SAMPLE_DAYS if args.days is None else args.days
    existing = [
        str(args.out / name) for name in sample.PRODUCTS.values() if (args.out / name).exists()
    ]
    if existing and not args.overwrite:
        raise FileExistsError(
            f"{', '.join(existing)} already exist: pass --overwrite to replace them, or "
            "another --out"
        )
    paths = sample.write_sample(
        args.out,
        start=args.start.isoformat(),
        days=days,
        resolution=args.resolution,
        seed=args.seed,
        overwrite=args.overwrite,
    )
    print(f"{days} day(s) from {args.start} at {args.resolution} deg written:")
    for name, path in paths.items():
        print(f"  {name}: {path}")
    print(
        f"open them with eogapfill.data.open_l3s(url={str(paths['l3s'])!r}) and "
        f"open_l4(url={str(paths['l4'])!r})"
    )
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from eogapfill.data import open_l3s, open_l4
    from eogapfill.preprocess import prepare_day
    from eogapfill.validate import default_methods, validation_experiment

    clouds = args.clouds_from or args.date + dt.timedelta(days=1)
    if clouds == args.date:
        raise _BadArgument("--clouds-from must be another day than --date")
    _check_validate_days(args.date, clouds, args.clouds_from is None, args.source, args.resolution)
    days = []
    for when in (args.date, clouds):
        label = when.isoformat()
        l3s = open_l3s(label, source=args.source, resolution=args.resolution)
        l4 = open_l4(label, source=args.source, resolution=args.resolution)
        days.append(prepare_day(l3s, l4).load())
    case = validation_experiment(days[0], days[1], args.nside)
    wanted = args.methods or []
    methods = default_methods(args.members, include_foscat="foscat" in wanted)
    if wanted:
        missing = [m for m in wanted if m not in methods]
        if missing:
            raise ValueError(
                f"method(s) {', '.join(missing)} not available in this installation; "
                f"available: {', '.join(methods)}"
            )
        methods = {m: methods[m] for m in wanted}
    table = case.compare(methods, progress=False)
    print(
        f"{args.date} at nside {args.nside}, pixels hidden under the clouds of {clouds} "
        f"({int(case.hidden_mask.sum())} cells); scores on the hidden pixels, degC:"
    )
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    if args.out is not None:
        from eogapfill.validate import markdown_table

        args.out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out, index=False)
        args.out.with_suffix(".md").write_text(markdown_table(table))
        print(f"table written to {args.out} and {args.out.with_suffix('.md')}")
    return 0


def _check_validate_days(
    date: dt.date, clouds: dt.date, default_clouds: bool, source: str, resolution: float
) -> None:
    """Refuse days the source does not hold, naming the default --clouds-from as such."""
    from eogapfill.pipeline import source_days

    have = [d.date() for d in source_days(source, resolution)]
    if not have:
        raise ValueError(f"the {source!r} source holds no day")
    span = f"the {source!r} source holds {have[0]} to {have[-1]}"
    if date not in have:
        raise ValueError(f"--date {date} is not in the data: {span}; pick a --date in that range")
    if clouds not in have:
        others = [d for d in have if d != date]
        suggest = min(others, key=lambda d: abs((d - date).days)) if others else None
        what = (
            f"--clouds-from is by default the day after --date, {clouds}, which is not in the data"
            if default_clouds
            else f"--clouds-from {clouds} is not in the data"
        )
        advice = f": pass --clouds-from {suggest}" if suggest else ""
        raise ValueError(f"{what} ({span}){advice}")


def _cmd_demo(args: argparse.Namespace) -> int:
    from eogapfill.demo import run_demo

    run_demo(args.out, nside=args.nside, resolution=args.resolution)
    return 0


#: Words of the Python API in messages, and what a user of the command line types instead.
_API_WORDS = (
    (re.compile(r"source='(\w+)' or '(\w+)'"), r"--source \1 or --source \2"),
    (re.compile(r"source='(\w+)'"), r"--source \1"),
    (re.compile(r"\s*\(storage_options\)"), ""),
    (re.compile(r"timeout=\([^)]*\) in [\w/]+, or "), ""),
    (re.compile(r"\bpass (\w+)= explicitly"), r"pass --option \1=VALUE"),
)


def _cli_words(message: str) -> str:
    """A message of the Python API in the words of the command line (its options, not its
    arguments): ``source='sample'`` -> ``--source sample``, ``pass std= explicitly`` ->
    ``pass --option std=VALUE``; ``storage_options`` and ``timeout=``, which the command line
    does not take, are dropped.

    >>> _cli_words("check your network and credentials (storage_options); to work "
    ...            "offline use source='sample'.")
    'check your network and credentials; to work offline use --source sample.'
    >>> _cli_words("pass std= explicitly (degC)")
    'pass --option std=VALUE (degC)'
    """
    for pattern, words in _API_WORDS:
        message = pattern.sub(words, message)
    return message


_COMMANDS = {"fill": _cmd_fill, "sample": _cmd_sample, "validate": _cmd_validate, "demo": _cmd_demo}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``eogapfill`` command; returns the exit status.

    >>> main(["fill", "--start", "2024-06-03", "--end", "2024-06-01", "--out", "x.zarr"])
    2
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    if args.command == "fill" and args.end < args.start:
        sub = f"{parser.prog} fill"
        print(
            f"{sub}: error: --end {args.end} is before --start {args.start} (see '{sub} --help')",
            file=sys.stderr,
        )
        return 2
    try:
        return _COMMANDS[args.command](args)
    except _BadArgument as err:
        sub = f"{parser.prog} {args.command}"
        message = " ".join(str(err).split())
        print(f"{sub}: error: {message} (see '{sub} --help')", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "eogapfill: interrupted; finished days are kept, run the same command again to resume",
            file=sys.stderr,
        )
        return 130
    except (ValueError, OSError, RuntimeError, ImportError) as err:
        if args.debug:
            raise
        message = _cli_words(" ".join(str(err).split()))
        print(f"eogapfill {args.command}: error: {message}", file=sys.stderr)
        return 1
