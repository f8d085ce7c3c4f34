"""The one list of fill methods: what each is, where it lives, which options it takes.

Every consumer (the pipeline, the command line, the demo, the validation, the tests) reads
:data:`METHODS`; none keeps its own list. An entry (:class:`FillMethod`) names the function as
``"module:function"``, imported on first use (so that torch is loaded only when foscat runs),
its grid (``"healpix"``, ``"latlon"`` or ``"healpix-stack"``), whether it draws random members,
whether it takes a regional (partial) HEALPix map, the optional extra it needs and a one-line
description. Its
options, with their types and defaults, are read from the function's signature and type hints
(:attr:`FillMethod.options`), never copied; the values they may take (``lmax >= 0``,
``background`` one of three words) are its :class:`Rule` objects, so that
:meth:`FillMethod.check_options` refuses a bad value before any data is read.

A new method is one module with a function of the fill signature (see
:mod:`eogapfill.fill.common`) plus one call to :func:`register_method`:

>>> register_method("laplace_copy", "eogapfill.fill.laplace:fill_laplace", grid="healpix",
...                 description="the Laplace fill again")
FillMethod(name='laplace_copy', target='eogapfill.fill.laplace:fill_laplace', grid='healpix', stochastic=False, extra=None, ...)
>>> METHODS["laplace_copy"].options["max_iter"]
Option(name='max_iter', hint=<class 'int'>, default=200)
>>> del METHODS["laplace_copy"]

A space-time method fills one day from its neighbours: its grid is ``"healpix-stack"`` and its
function takes ``(stack, target, **options)``, a HEALPix stack of days (``(time, cells)``,
:mod:`eogapfill.stack`) and the index of the day to fill, and returns that day as a single-day
fill does (``filled`` on ``cells``, ``filled_std`` where it gives one). Its entry says how many
days it reads by default (``window``: days on each side of the target, ``2 * window + 1`` in
all) and how many it needs at least (``min_days``); the pipeline moves the window along the
days (``eogapfill fill --window K``).

The public API: :data:`METHODS` (name -> :class:`FillMethod`, in the order the book meets
them), :func:`register_method` (also a decorator), :func:`method_info`, :func:`method_names`
(filtered by grid, randomness, regional use, availability), :func:`regional_methods`,
:func:`available_methods` and
:func:`get_method` (the function itself).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

__all__ = [
    "EXTRAS",
    "METHODS",
    "FillMethod",
    "Option",
    "Rule",
    "above",
    "at_least",
    "counts",
    "one_of",
    "available_methods",
    "get_method",
    "method_info",
    "method_names",
    "regional_methods",
    "register_method",
    "spacetime_methods",
]

Grid = Literal["healpix", "latlon", "healpix-stack"]
FillFunction = Callable[..., Any]

#: Modules each optional extra (``pip install 'eogapfill[extra]'``) brings.
EXTRAS: dict[str, tuple[str, ...]] = {
    "foscat": ("torch", "foscat"),
    "pyinterp": ("pyinterp",),
}
#: Arguments of every fill that are its inputs, not its options (a single-day fill takes the
#: map and its gaps, a space-time fill the stack of days and the index of the day to fill).
_INPUTS = ("sst", "gaps", "stack", "target", "positions")
#: Integer options that count something, checked like the fills check them.
_COUNT_OPTIONS = ("n_members", "threads")


@dataclass(frozen=True)
class Option:
    """One option of a fill: its name, type hint (``Any`` when none) and default.

    ``default`` is ``inspect.Parameter.empty`` for an option without one.
    """

    name: str
    hint: Any
    default: Any

    @property
    def type_name(self) -> str:
        """The type in words: ``int | None`` -> ``'int or None'``."""
        return _describe(self.hint)

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` fits the type hint (lenient where a hint cannot be checked)."""
        return _accepts(self.hint, value)


@dataclass(frozen=True)
class Rule:
    """The values one option may take, beyond its type: ``must`` in words, ``test`` the check.

    ``test(value)`` is True when ``value`` is allowed; it sees values of the right type only
    (never None). ``must`` completes "the option lmax must be ...". Build rules with
    :func:`at_least`, :func:`above`, :func:`one_of` and :func:`counts`.
    """

    must: str
    test: Callable[[Any], bool]

    def problem(self, value: Any) -> str | None:
        """What is wrong with ``value`` (``'must be >= 0'``), or None when it is allowed."""
        return None if value is None or self.test(value) else f"must be {self.must}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def at_least(minimum: float) -> Rule:
    """A finite number ``>= minimum`` (a value of another type is left to the type check).

    >>> at_least(0).problem(-5), at_least(0).problem(3)
    ('must be >= 0', None)
    """
    return Rule(
        f">= {minimum:g}",
        lambda v: not _is_number(v) or (bool(np.isfinite(v)) and v >= minimum),
    )


def above(bound: float) -> Rule:
    """A finite number ``> bound`` (NaN and infinity are refused).

    >>> above(0).problem(0.0)
    'must be > 0'
    """
    return Rule(f"> {bound:g}", lambda v: not _is_number(v) or (bool(np.isfinite(v)) and v > bound))


def one_of(*choices: str, other: str = "") -> Rule:
    """One of the words ``choices`` when the value is a string; ``other`` says what else the
    option takes (its other types, which pass).

    >>> one_of("fit", other="a CovarianceModel").problem("bogus")
    "must be one of 'fit' (or a CovarianceModel)"
    """
    words = ", ".join(repr(c) for c in choices)
    return Rule(
        f"one of {words}" + (f" (or {other})" if other else ""),
        lambda v: not isinstance(v, str) or v in choices,
    )


def counts(minimum: int = 1) -> Rule:
    """A sequence of integers ``>= minimum`` (iteration counts, such as ``[30, 15]``).

    >>> counts().problem([30, 0])
    'must be a list of integers >= 1, such as [30, 15]'
    """

    def test(values: Any) -> bool:
        return (
            isinstance(values, Sequence)
            and not isinstance(values, str)
            and all(_is_number(v) and float(v).is_integer() and v >= minimum for v in values)
        )

    return Rule(f"a list of integers >= {minimum}, such as [30, 15]", test)


@dataclass(frozen=True)
class FillMethod:
    """One fill method of the registry.

    Attributes
    ----------
    name
        Its name (``"laplace"``), as the command line and the pipeline take it.
    target
        ``"module:function"`` (imported on first use) or the function itself.
    grid
        ``"healpix"`` (a full-sphere HEALPix map on ``cells``), ``"latlon"``, or
        ``"healpix-stack"``: a space-time fill ``fill(stack, target, **options)`` of one day
        of a ``(time, cells)`` stack of days, the day returned as a single-day fill returns it.
    stochastic
        True when it draws random ``members`` (it then takes ``n_members`` and ``seed``).
    extra
        The optional extra it needs (a key of :data:`EXTRAS`), or None.
    description
        What it does, in one line.
    control
        True for a baseline that a method must beat rather than a fill to use (``noise``).
    regional
        True when it fills a regional (partial) HEALPix map, the cells of a region
        (``to_healpix(day, nside, region=...)``); False when it needs the full sphere (or a
        lat/lon map) and refuses a region.
    rules
        Option name -> :class:`Rule`: the values each option may take beyond its type hint
        (checked by :meth:`check_options` with the types).
    uncertainty
        When its result holds ``filled_std``: ``"always"``, ``"members"`` (when it draws more
        than one member, ``n_members > 1``), ``"never"``, or None (not said).
    window
        A space-time method's default window: days on each side of the target it reads
        (``2 * window + 1`` days in all); None for a single-day method.
    min_days
        The fewest days a space-time method needs in a window (the target included).
    """

    name: str
    target: str | FillFunction
    grid: Grid = "healpix"
    stochastic: bool = False
    extra: str | None = None
    description: str = ""
    control: bool = False
    regional: bool = False
    rules: Mapping[str, Rule] = field(default_factory=dict, compare=False, repr=False)
    uncertainty: Literal["always", "members", "never"] | None = None
    window: int | None = None
    min_days: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or ":" in self.name:
            raise ValueError(
                f"a method name must be a non-empty string without ':', got {self.name!r}"
            )
        if isinstance(self.target, str):
            if self.target.count(":") != 1:
                raise ValueError(f"give the fill as 'module:function', got {self.target!r}")
        elif not callable(self.target):
            raise TypeError(
                f"fill must be a function or a 'module:function' string, got {self.target!r}"
            )
        if self.grid not in typing.get_args(Grid):
            raise ValueError(
                f"grid must be 'healpix', 'latlon' or 'healpix-stack', got {self.grid!r}"
            )
        if self.grid == "healpix-stack":
            if not _is_count(self.window, 0):
                raise ValueError(
                    f"a space-time method ('healpix-stack') needs a default window, an integer "
                    f">= 0 (days on each side of the target), got {self.window!r}"
                )
            if not _is_count(self.min_days, 1):
                raise ValueError(f"min_days must be an integer >= 1, got {self.min_days!r}")
        elif self.window is not None:
            raise ValueError(
                f"window is for space-time methods (grid 'healpix-stack'); the {self.grid} "
                f"method {self.name!r} fills each day on its own: drop window"
            )
        if self.extra is not None and self.extra not in EXTRAS:
            raise ValueError(f"unknown extra {self.extra!r}; known: {', '.join(EXTRAS)}")
        if self.uncertainty not in (None, "always", "members", "never"):
            raise ValueError(
                "uncertainty must be 'always', 'members', 'never' or None, got "
                f"{self.uncertainty!r}"
            )
        if not all(isinstance(rule, Rule) for rule in self.rules.values()):
            raise TypeError(f"rules must map option names to Rule objects, got {self.rules!r}")

    def __repr__(self) -> str:
        target = self.target if isinstance(self.target, str) else _qualname(self.target)
        return (
            f"FillMethod(name={self.name!r}, target={target!r}, grid={self.grid!r}, "
            f"stochastic={self.stochastic}, extra={self.extra!r}, ...)"
        )

    @property
    def spacetime(self) -> bool:
        """Whether it fills a day from a window of days (grid ``"healpix-stack"``)."""
        return self.grid == "healpix-stack"

    @property
    def module(self) -> str | None:
        """The module of a ``"module:function"`` target (None for a function)."""
        return self.target.split(":")[0] if isinstance(self.target, str) else None

    @property
    def requires(self) -> tuple[str, ...]:
        """The modules it needs beyond the core dependencies (its own and its extra's)."""
        own = (self.module,) if self.module else ()
        return own + EXTRAS.get(self.extra or "", ())

    def missing(self) -> tuple[str, ...]:
        """The modules it needs that are not installed (nothing is imported)."""
        return tuple(module for module in self.requires if not _module_available(module))

    def available(self) -> bool:
        """Whether every module it needs is installed (nothing is imported)."""
        return not self.missing()

    def load(self) -> FillFunction:
        """The fill function (imports its module now).

        Raises ``ImportError`` saying what to install when a module is missing.
        """
        if callable(self.target):
            return self.target
        module, attr = self.target.split(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except ImportError as err:
            hint = f" (pip install 'eogapfill[{self.extra}]')" if self.extra else ""
            raise type(err)(
                f"the fill method {self.name!r} needs {module}, which cannot be "
                f"imported: {err}{hint}",
                name=err.name,
                path=err.path,
            ) from err

    def gives_std(self, options: Mapping[str, Any] | None = None) -> bool | None:
        """Whether its result holds ``filled_std`` with these options (None: not said).

        >>> METHODS["foscat"].gives_std({"n_members": 3}), METHODS["laplace"].gives_std()
        (True, False)
        """
        if self.uncertainty != "members":
            return None if self.uncertainty is None else self.uncertainty == "always"
        n_members = dict(options or {}).get("n_members")
        if n_members is None:
            n_members = self.options["n_members"].default
        return n_members > 1

    @property
    def options(self) -> dict[str, Option]:
        """Its options, from the function's signature and type hints (imports the module)."""
        return options_of(self.load())

    def check_options(
        self, options: Mapping[str, Any] | None, *, exclude: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """Check options against the function's signature before any data is touched.

        Refuses (``ValueError``) an option the fill does not take (or one in ``exclude``), a
        value of the wrong type (as its type hints say; a bool is not a number), a count
        (``n_members``, ``threads``) or ``seed`` out of range, and a value its :attr:`rules`
        refuse (``lmax=-5``, ``background="bogus"``). These checks need no data: the command
        line and the pipeline run them before any work, and a fill may run them first
        thing. A fill that takes ``**options`` accepts any name. Returns the options as a new
        dict.

        >>> METHODS["oi"].check_options({"n_members": True})
        Traceback (most recent call last):
        ...
        ValueError: the oi fill's option n_members must be int, got True (bool); e.g. n_members=0
        >>> METHODS["alm"].check_options({"lmax": -5})
        Traceback (most recent call last):
        ...
        ValueError: the alm fill's option lmax must be >= 0, got -5; e.g. lmax=15
        """
        from eogapfill.fill.common import check_count, check_seed

        options = dict(options or {})
        fill = self.load()
        try:
            parameters = inspect.signature(fill).parameters
        except (TypeError, ValueError):  # pragma: no cover - a builtin without a signature
            return options
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
        allowed = {key: option for key, option in options_of(fill).items() if key not in exclude}
        for key, value in options.items():
            if key not in allowed:
                if takes_any and key not in exclude and key not in _INPUTS:
                    continue
                known = ", ".join(sorted(allowed)) or "none"
                raise ValueError(
                    f"the {self.name} fill has no option {key!r}; its options: {known}"
                )
            option = allowed[key]
            default = option.default
            given = default is not inspect.Parameter.empty and default is not None
            example = f"; e.g. {key}={default!r}" if given else ""
            if not option.accepts(value):
                raise ValueError(
                    f"the {self.name} fill's option {key} must be {option.type_name}, got "
                    f"{value!r} ({type(value).__name__}){example}"
                )
            if value is None:
                continue
            if key in _COUNT_OPTIONS:
                check_count(
                    value, key, minimum=0 if default == 0 else 1, method=f"the {self.name} fill"
                )
            elif key == "seed":
                check_seed(value, method=f"the {self.name} fill")
            elif key in self.rules and (problem := self.rules[key].problem(value)):
                raise ValueError(
                    f"the {self.name} fill's option {key} {problem}, got {value!r}{example}"
                )
        return options


#: Every fill method, by name, in the order the book meets them (HEALPix, then lat/lon).
METHODS: dict[str, FillMethod] = {}


def register_method(
    name: str,
    target: str | FillFunction | None = None,
    *,
    grid: Grid = "healpix",
    stochastic: bool = False,
    extra: str | None = None,
    description: str = "",
    control: bool = False,
    regional: bool = False,
    rules: Mapping[str, Rule] | None = None,
    uncertainty: Literal["always", "members", "never"] | None = None,
    window: int | None = None,
    min_days: int = 1,
) -> Any:
    """Add a fill method to :data:`METHODS` (a name registered again is replaced).

    ``target`` is ``"module:function"`` (imported when first used) or a function with the fill
    signature ``fill(sst, gaps=None, **options) -> Dataset``. Without ``target``, returns a
    decorator that registers the function it decorates (and returns it unchanged). With Dask
    worker processes, the function must be importable or picklable. ``rules`` maps options
    to the values they may take (:class:`Rule`), ``uncertainty`` when the result holds
    ``filled_std`` (:attr:`FillMethod.uncertainty`); a space-time method (``grid=
    "healpix-stack"``, ``fill(stack, target, **options)``) gives its default ``window`` (days
    on each side) and ``min_days``. Returns the entry.

    >>> @register_method("mean", grid="healpix", description="the observed mean everywhere")
    ... def fill_mean(sst, gaps=None):
    ...     ...
    >>> METHODS["mean"].grid, METHODS.pop("mean").target is fill_mean
    ('healpix', True)
    """

    def register(function: str | FillFunction) -> FillMethod:
        entry = FillMethod(
            name,
            function,
            grid=grid,
            stochastic=stochastic,
            extra=extra,
            description=description,
            control=control,
            regional=regional,
            rules=dict(rules or {}),
            uncertainty=uncertainty,
            window=window,
            min_days=min_days,
        )
        METHODS[name] = entry
        return entry

    if target is None:

        def decorator(function: FillFunction) -> FillFunction:
            register(function)
            return function

        return decorator
    return register(target)


def method_info(name: str) -> FillMethod:
    """The registry entry of ``name``; ``ValueError`` naming the choices when unknown.

    >>> method_info("oi").stochastic
    True
    """
    try:
        return METHODS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown fill method {name!r}; choose one of {', '.join(METHODS)}"
        ) from None


def method_names(
    grid: Grid | None = None,
    *,
    stochastic: bool | None = None,
    regional: bool | None = None,
    available: bool = False,
) -> tuple[str, ...]:
    """Names of the registered methods, in registry order, filtered.

    ``grid`` keeps one grid's methods, ``stochastic`` the random (True) or deterministic
    (False) ones, ``regional`` those that fill a regional HEALPix map (True) or need the full
    sphere (False), ``available=True`` those whose modules are installed (nothing imported).

    >>> method_names("latlon")
    ('interpolate_na', 'loess', 'gauss_seidel')
    >>> method_names(regional=True)
    ('laplace', 'noise', 'oi', 'foscat', 'spacetime_oi', 'eof', 'foscat_crossday')
    >>> method_names("healpix-stack")
    ('spacetime_oi', 'eof', 'foscat_crossday')
    """
    return tuple(
        name
        for name, entry in METHODS.items()
        if (grid is None or entry.grid == grid)
        and (stochastic is None or entry.stochastic == stochastic)
        and (regional is None or entry.regional == regional)
        and (not available or entry.available())
    )


def regional_methods(*, available: bool = False) -> tuple[str, ...]:
    """Names of the methods that fill a regional (partial) HEALPix map, in registry order.

    >>> regional_methods()
    ('laplace', 'noise', 'oi', 'foscat')
    """
    return method_names("healpix", regional=True, available=available)


def available_methods(grid: Grid | None = None) -> list[str]:
    """Names of the registered methods whose modules are installed (nothing is imported).

    >>> "laplace" in available_methods("healpix")
    True
    """
    return list(method_names(grid, available=True))


def get_method(name: str) -> FillFunction:
    """The fill function called ``name`` (``"laplace"``, ``"alm"``, ``"oi"``, ...).

    >>> get_method("laplace").__name__
    'fill_laplace'
    """
    return method_info(name).load()


def spacetime_methods(*, available: bool = False) -> tuple[str, ...]:
    """Names of the space-time methods (grid ``"healpix-stack"``), in registry order.

    >>> spacetime_methods()
    ('spacetime_oi', 'eof', 'foscat_crossday')
    """
    return method_names("healpix-stack", available=available)


def options_of(fill: FillFunction) -> dict[str, Option]:
    """The options of a fill function: its keyword arguments other than its inputs (``sst``
    and ``gaps``, or ``stack`` and ``target``).

    >>> list(options_of(get_method("alm")))
    ['lmax', 'ridge', 'clip', 'fill_land']
    """
    try:
        parameters = inspect.signature(fill).parameters
    except (TypeError, ValueError):  # pragma: no cover - a builtin without a signature
        return {}
    try:
        hints = typing.get_type_hints(fill)
    except Exception:  # hints that do not resolve at run time: names and defaults only
        hints = {}
    kinds = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return {
        key: Option(key, hints.get(key, Any), p.default)
        for key, p in parameters.items()
        if key not in _INPUTS and p.kind in kinds
    }


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def _qualname(function: Callable[..., Any]) -> str:
    return f"{getattr(function, '__module__', '?')}:{getattr(function, '__qualname__', '?')}"


def _is_count(value: Any, minimum: int) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= minimum


def _module_available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ModuleNotFoundError, ValueError):
        return False


def _describe(hint: Any) -> str:
    """A type hint in words: ``int | None`` -> ``'int or None'``."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(hint))
    if hint is type(None):
        return "None"
    if typing.get_origin(hint) is typing.Literal:
        return " or ".join(repr(a) for a in typing.get_args(hint))
    return getattr(hint, "__name__", str(hint))


def _accepts(hint: Any, value: Any) -> bool:
    """Whether ``value`` fits the type hint ``hint`` (lenient where a hint cannot be checked)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_accepts(a, value) for a in typing.get_args(hint))
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    if hint is Any:
        return True
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool | np.bool_)
    if isinstance(value, bool | np.bool_):  # a bool is no number, whatever Python says
        return False
    if hint is int:
        return isinstance(value, int | np.integer)
    if hint is float:
        return isinstance(value, int | float | np.integer | np.floating)
    if hint is np.ndarray:
        return isinstance(value, np.ndarray | list | tuple)
    if origin is not None:
        hint = origin
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True


# --------------------------------------------------------------------------------------------
# the package's methods
# --------------------------------------------------------------------------------------------
register_method(
    "laplace",
    "eogapfill.fill.laplace:fill_laplace",
    grid="healpix",
    regional=True,
    description="Laplace equation on the neighbour graph (smooth, strong)",
    rules={"tol": above(0), "max_iter": at_least(1), "direct_below": at_least(1)},
    uncertainty="never",
)
register_method(
    "noise",
    "eogapfill.fill.noise:fill_noise",
    grid="healpix",
    stochastic=True,
    control=True,
    regional=True,
    description="Laplace + white noise members: a null stochastic control",
    rules={"base": one_of("laplace", other="a filled map"), "std": at_least(0)},
    uncertainty="always",
)
register_method(
    "alm",
    "eogapfill.fill.alm:fill_alm",
    grid="healpix",
    regional=False,  # a spherical-harmonic fit needs the whole sphere
    description="least-squares spherical-harmonic fit up to lmax",
    rules={"lmax": at_least(0), "ridge": at_least(0)},
    uncertainty="never",
)
register_method(
    "oi",
    "eogapfill.fill.oi:fill_oi",
    grid="healpix",
    stochastic=True,
    regional=True,
    description="optimal interpolation + Gaussian conditional simulation",
    rules={
        "covariance": one_of("fit", other="a CovarianceModel"),
        "nu": above(0),
        "lmax": at_least(0),
        "background": one_of("blended", "continued", "harmonic", other="a map of the grid's cells"),
        "background_reach_km": above(0),
        "background_scale_km": above(0),
        "n_neighbours": at_least(1),
        "radius_km": above(0),
        "variance_scale_km": above(0),
    },
    uncertainty="always",
)
register_method(
    "foscat",
    "eogapfill.fill.foscat:fill_foscat",
    grid="healpix",
    stochastic=True,
    extra="foscat",
    regional=True,
    description="scattering-covariance synthesis (foscat, torch)",
    rules={
        "reference": one_of("observed", "l4", other="a HEALPix map"),
        "start": one_of("laplace", "alm", "oi"),
        "n_epochs": at_least(1),
        "coarse_epochs": counts(1),
        "anchor": at_least(0),
        "masks": one_of("local12", "local48", "global", other="an array of weights"),
        "texture_weight": at_least(0),
        "near_gaps_km": above(0),
        "device": one_of("auto", "cpu", "cuda"),
    },
    uncertainty="members",
)
register_method(
    "interpolate_na",
    "eogapfill.fill.latlon:fill_interpolate_na",
    grid="latlon",
    description="xarray linear interpolation along latitude, then longitude",
)
register_method(
    "loess",
    "eogapfill.fill.latlon:fill_loess",
    grid="latlon",
    extra="pyinterp",
    description="pyinterp LOESS",
)
register_method(
    "gauss_seidel",
    "eogapfill.fill.latlon:fill_gauss_seidel",
    grid="latlon",
    extra="pyinterp",
    description="pyinterp Gauss-Seidel relaxation",
)
register_method(
    "spacetime_oi",
    "eogapfill.fill.spacetime:fill_spacetime_oi",
    grid="healpix-stack",
    stochastic=True,
    regional=True,
    description="space-time OI: a day kriged from its neighbouring days too",
    rules={
        "covariance": one_of("fit", other="a CovarianceModel"),
        "rho": Rule("in [0, 1)", lambda v: not _is_number(v) or 0.0 <= v < 1.0),
        "nu": above(0),
        "lmax": at_least(0),
        "n_neighbours": at_least(1),
        "n_neighbours_other": at_least(0),
    },
    uncertainty="always",
    window=3,
)
register_method(
    "eof",
    "eogapfill.fill.eof:fill_eof",
    grid="healpix-stack",
    regional=True,
    description="DINEOF: the EOFs of the window of days",
    rules={
        "max_modes": at_least(1),
        "cv_fraction": Rule("in (0, 0.5)", lambda v: not _is_number(v) or 0.0 < v < 0.5),
        "tol": above(0),
        "max_iter": at_least(1),
    },
    uncertainty="never",
    window=3,
    min_days=3,
)
register_method(
    "foscat_crossday",
    "eogapfill.fill.foscat.crossday:fill_foscat_crossday",
    grid="healpix-stack",
    stochastic=True,
    extra="foscat",
    regional=True,
    description="scattering synthesis with cross statistics between days (foscat, torch)",
    rules={
        "start": one_of("spacetime", "oi"),
        "n_epochs": at_least(1),
        "cross_weight": at_least(0),
        "anchor": at_least(0),
        "masks": one_of("local12", "local48", "global", other="an array of weights"),
        "device": one_of("auto", "cpu", "cuda"),
    },
    uncertainty="members",
    window=1,
)
