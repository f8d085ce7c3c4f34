"""The ``eogapfill`` command: fill many days, write the sample, validate, run the demo.

Run ``eogapfill --help`` (or ``python -m eogapfill --help``) for the sub-commands, and
``eogapfill fill --help`` for the options of one. Bad arguments stop with a one-line message
and exit status 2; a failure while running stops with a one-line message and status 1.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence

from eogapfill.cli import demo, fill, sample, validate
from eogapfill.cli.arguments import FORMATTER, _BadArgument, _Parser, _wrap
from eogapfill.cli.arguments import _option as _option

__all__ = ["build_parser", "main"]

_MAIN_EPILOG = """\
examples:
  eogapfill sample --out sample/                      write the offline sample stores
  eogapfill fill --start 2024-06-01 --end 2024-06-07 --method laplace --out filled.zarr
  eogapfill validate --date 2024-06-01 --nside 64 --methods laplace,alm --out scores.csv
  eogapfill demo --out outputs/                       the whole story on the sample day

Every command works offline on the embedded sample (the default source).
"""

#: The sub-commands in the order of ``eogapfill --help``: each module adds its parser
#: (``add_parser``) and runs its command (``run``).
_SUBCOMMANDS = {"fill": fill, "sample": sample, "validate": validate, "demo": demo}


def build_parser() -> argparse.ArgumentParser:
    """The ``eogapfill`` argument parser (sub-commands fill, sample, validate, demo).

    The method and source choices come from the package: the fill registry
    (:data:`eogapfill.fill.METHODS`, HEALPix methods) and :data:`eogapfill.data.Source`.
    """
    from eogapfill import __version__

    parser = _Parser(
        prog="eogapfill",
        description=_wrap(
            "Fill the gaps (clouds) in satellite sea-surface temperature maps on the "
            "sphere (HEALPix grid), one day or many."
        ),
        epilog=_MAIN_EPILOG,
        formatter_class=FORMATTER,
    )
    parser.add_argument("--version", action="version", version=f"eogapfill {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show the full Python traceback when a command fails"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in _SUBCOMMANDS.values():
        command.add_parser(sub)
    return parser


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
        return _SUBCOMMANDS[args.command].run(args)
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
