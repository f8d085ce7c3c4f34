"""``eogapfill sample``: the offline sample stores (L3S and L4) written to a folder."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from eogapfill.cli.arguments import FORMATTER, Subparsers, _date, _positive_int, _resolution, _wrap

EPILOG = """\
examples:
  eogapfill sample --out sample/                           the default 10 days at 0.25 deg
  eogapfill sample --out sample/ --start 2024-07-01 --days 3 --resolution 1.0

Writes l3s.zarr and l4 stores (Zarr format 2, consolidated, Copernicus Marine schema) that
eogapfill.data.open_l3s(url=...) and open_l4(url=...) read like the real ones.
"""


def add_parser(sub: Subparsers) -> argparse.ArgumentParser:
    """Add the ``sample`` sub-command to ``sub`` (the parsers of ``eogapfill``)."""
    from eogapfill.sample import SAMPLE_START

    parser = sub.add_parser(
        "sample",
        help="write the offline sample stores (L3S and L4) to a folder",
        description=_wrap(
            "Generate the sample days (real NOAA OISST fronts with generated clouds, "
            "Copernicus Marine schema) and write them as Zarr stores."
        ),
        epilog=EPILOG,
        formatter_class=FORMATTER,
    )
    parser.add_argument("--out", type=Path, required=True, help="folder to write into")
    parser.add_argument(
        "--start",
        type=_date,
        default=dt.date.fromisoformat(SAMPLE_START),
        metavar="YYYY-MM-DD",
        help="first day (default: %(default)s)",
    )
    parser.add_argument(
        "--days",
        type=_positive_int,
        default=None,
        metavar="N",
        help="number of days (default: the sample's 10)",
    )
    parser.add_argument(
        "--resolution",
        type=_resolution,
        default=0.25,
        metavar="DEG",
        help="grid spacing in degrees: 1.0, 0.5, 0.25 (default) or 0.1 (the products' own)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the generated weather (default: %(default)s)"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace stores that already exist in --out"
    )
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``eogapfill sample``; return the exit status."""
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
