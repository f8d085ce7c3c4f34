"""What the sub-commands share: the parser whose errors are one line, the error of an
argument that parses but cannot be used, and the argument types (each a check made before
any work, with a message that says what to write instead)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import textwrap
import typing
from typing import Any, NoReturn

#: The help formatter of every command: descriptions and epilogs keep their lines.
FORMATTER = argparse.RawDescriptionHelpFormatter
#: The sub-parsers of ``eogapfill``, to which each sub-command adds its own.
Subparsers = argparse._SubParsersAction


def _wrap(text: str) -> str:
    return textwrap.fill(text, width=88)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage block) with exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


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


def _days_each_side(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a whole number of days (days on each side, e.g. 3)"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more days on each side, got {value}")
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
    """The single-day fill methods of the registry on the HEALPix grid."""
    from eogapfill.fill import method_names

    return method_names("healpix")


def _spacetime_methods() -> tuple[str, ...]:
    """The space-time fill methods of the registry (a day filled from a window of days)."""
    from eogapfill.fill.registry import spacetime_methods

    return spacetime_methods()


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
