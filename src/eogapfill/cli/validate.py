"""``eogapfill validate``: fill methods scored on pixels hidden under another day's clouds."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from eogapfill.cli.arguments import (
    _SOURCE_HELP,
    FORMATTER,
    Subparsers,
    _BadArgument,
    _date,
    _healpix_methods,
    _method_list,
    _nside,
    _positive_int,
    _resolution,
    _sources,
    _wrap,
)

EPILOG = """\
examples:
  eogapfill validate --date 2024-06-01 --nside 64
  eogapfill validate --date 2024-06-03 --nside 32 --methods laplace,alm --out scores.csv

Hides the day's clear pixels that lie under the clouds of another day (--clouds-from, the
next day by default), fills, and scores each method on the hidden pixels only ("honest"
protocol: the fills never see the values they are scored on).
"""


def add_parser(sub: Subparsers) -> argparse.ArgumentParser:
    """Add the ``validate`` sub-command to ``sub`` (the parsers of ``eogapfill``)."""
    from eogapfill.sample import SAMPLE_START

    methods = _healpix_methods()
    sources = _sources()
    parser = sub.add_parser(
        "validate",
        help="score fill methods on pixels hidden under another day's clouds",
        description=_wrap(
            "Honest validation of the fills on one day: hide clear pixels under a "
            "real cloud pattern, fill, score on the hidden pixels (RMSE, bias, skill, texture)."
        ),
        epilog=EPILOG,
        formatter_class=FORMATTER,
    )
    parser.add_argument(
        "--date",
        type=_date,
        default=dt.date.fromisoformat(SAMPLE_START),
        metavar="YYYY-MM-DD",
        help="day to validate on (default: %(default)s)",
    )
    parser.add_argument(
        "--clouds-from",
        type=_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="day whose clouds hide the pixels (default: the next day)",
    )
    parser.add_argument(
        "--nside",
        type=_nside,
        default=64,
        help="HEALPix resolution, a power of two (default: %(default)s)",
    )
    parser.add_argument(
        "--methods",
        type=_method_list,
        default=None,
        metavar="M1,M2",
        help=f"comma-separated methods among {', '.join(methods)} "
        "(default: all available except foscat)",
    )
    parser.add_argument(
        "--source", choices=sources, default="sample", help=f"data source: {_SOURCE_HELP}"
    )
    parser.add_argument(
        "--resolution",
        type=_resolution,
        default=0.25,
        metavar="DEG",
        help="grid spacing of the sample in degrees (default: %(default)s)",
    )
    parser.add_argument(
        "--members",
        type=_positive_int,
        default=4,
        metavar="N",
        help="ensemble members of the stochastic fills (default: %(default)s)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="write the table to this CSV file (and a .md next to it)",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``eogapfill validate``; return the exit status."""
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
