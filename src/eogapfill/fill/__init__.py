"""Gap-filling methods, one module each, all with one signature, named in one registry.

``fill_xxx(sst, gaps=None, **options) -> xr.Dataset`` (see :mod:`eogapfill.fill.common`):
the map and its gap mask in, a dataset with the ``filled`` map out (plus ``filled_std`` and
``members`` for methods that give an uncertainty or an ensemble). Observed cells come back
bit-identical, land stays NaN, and ``attrs["protocol"]`` says where the fill's reference
information came from. A space-time method (grid ``"healpix-stack"``) fills one day of a
stack of days, ``fill_xxx(stack, target, **options)``, with the same contract for that day.

The methods are the entries of :data:`METHODS` (:mod:`eogapfill.fill.registry`): the
pipeline, the command line, the demo, the validation and the tests read it.

>>> for m in METHODS.values():
...     print(f"{m.name:13s} {m.grid:13s} {m.extra or '':8s} {m.description}")
laplace       healpix                Laplace equation on the neighbour graph (smooth, strong)
noise         healpix                Laplace + white noise members: a null stochastic control
alm           healpix                least-squares spherical-harmonic fit up to lmax
oi            healpix                optimal interpolation + Gaussian conditional simulation
foscat        healpix       foscat   scattering-covariance synthesis (foscat, torch)
interpolate_na latlon                 xarray linear interpolation along latitude, then longitude
loess         latlon        pyinterp pyinterp LOESS
gauss_seidel  latlon        pyinterp pyinterp Gauss-Seidel relaxation
spacetime_oi  healpix-stack          space-time OI: a day kriged from its neighbouring days too
eof           healpix-stack          DINEOF: the EOFs of the window of days
foscat_crossday healpix-stack foscat   scattering synthesis with cross statistics between days (foscat, torch)

The modules are imported on first use, so ``import eogapfill.fill`` stays light (torch is
loaded only by :func:`fill_foscat`). ``fill_laplace`` and the others are attributes of this
package; :data:`HEALPIX_METHODS` and :data:`LATLON_METHODS` are the names of each grid's
methods, read from the registry when asked for.
"""

from __future__ import annotations

from typing import Any

from eogapfill.fill.registry import (
    EXTRAS,
    METHODS,
    FillMethod,
    Option,
    available_methods,
    get_method,
    method_info,
    method_names,
    register_method,
)

__all__ = [
    "EXTRAS",
    "HEALPIX_METHODS",
    "LATLON_METHODS",
    "METHODS",
    "FillMethod",
    "Option",
    "available_methods",
    "fill_alm",
    "fill_eof",
    "fill_foscat",
    "fill_gauss_seidel",
    "fill_interpolate_na",
    "fill_laplace",
    "fill_loess",
    "fill_noise",
    "fill_oi",
    "fill_spacetime_oi",
    "get_method",
    "method_info",
    "method_names",
    "register_method",
]


def __getattr__(name: str) -> Any:
    if name == "HEALPIX_METHODS":  # views of the registry, as of now
        return method_names("healpix")
    if name == "LATLON_METHODS":
        return method_names("latlon")
    if name.startswith("fill_") and name[5:] in METHODS:
        return get_method(name[5:])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
