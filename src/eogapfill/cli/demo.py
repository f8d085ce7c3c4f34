"""``eogapfill demo``: the whole story on the sample day, figures and a table saved."""

from __future__ import annotations

import argparse
from pathlib import Path

from eogapfill.cli.arguments import FORMATTER, Subparsers, _nside, _resolution, _wrap

EPILOG = """\
example:
  eogapfill demo --out outputs/

Opens the sample day, draws it, regrids it to HEALPix, fills it with several methods, draws
the maps and writes a small validation table (CSV and markdown) under --out.
"""


def add_parser(sub: Subparsers) -> argparse.ArgumentParser:
    """Add the ``demo`` sub-command to ``sub`` (the parsers of ``eogapfill``)."""
    parser = sub.add_parser(
        "demo",
        help="run the whole story on the sample day and save figures and a table",
        description=_wrap(
            "Open, prepare, draw, regrid, fill and validate the sample day; save "
            "figures and a validation table."
        ),
        epilog=EPILOG,
        formatter_class=FORMATTER,
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("outputs"),
        help="folder for the figures and tables (default: %(default)s)",
    )
    parser.add_argument(
        "--nside", type=_nside, default=64, help="HEALPix resolution (default: %(default)s)"
    )
    parser.add_argument(
        "--resolution",
        type=_resolution,
        default=0.25,
        metavar="DEG",
        help="grid spacing of the sample in degrees (default: %(default)s)",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``eogapfill demo``; return the exit status."""
    from eogapfill.demo import run_demo

    run_demo(args.out, nside=args.nside, resolution=args.resolution)
    return 0
