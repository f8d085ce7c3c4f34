"""Gap-filling methods, one module each, all with one signature.

``fill_xxx(sst, gaps=None, **options) -> xr.Dataset`` (see :mod:`eogapfill.fill.common`):
the map and its gap mask in, a dataset with the ``filled`` map out (plus ``filled_std`` and
``members`` for methods that give an uncertainty or an ensemble). Observed cells come back
bit-identical and land stays NaN.

=====================  ==========  ==========================================================
function               grid        what it does
=====================  ==========  ==========================================================
fill_interpolate_na    lat/lon     xarray linear interpolation along latitude, then longitude
fill_loess             lat/lon     pyinterp LOESS (optional: pyinterp from conda-forge)
fill_gauss_seidel      lat/lon     pyinterp Gauss-Seidel relaxation (optional, as above)
fill_laplace           HEALPix     Laplace equation on the neighbour graph (smooth, strong)
fill_noise             HEALPix     Laplace + white noise members: a null stochastic control
fill_alm               HEALPix     least-squares spherical-harmonic fit up to ``lmax``
fill_oi                HEALPix     optimal interpolation + Gaussian conditional simulation
fill_foscat            HEALPix     scattering-covariance synthesis (foscat, torch)
=====================  ==========  ==========================================================

The modules are imported on first use, so ``import eogapfill.fill`` stays light (torch is
loaded only by :func:`fill_foscat`).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

__all__ = [
    "HEALPIX_METHODS",
    "LATLON_METHODS",
    "fill_alm",
    "fill_foscat",
    "fill_gauss_seidel",
    "fill_interpolate_na",
    "fill_laplace",
    "fill_loess",
    "fill_noise",
    "fill_oi",
    "get_method",
]

_WHERE = {
    "interpolate_na": ("eogapfill.fill.latlon", "fill_interpolate_na"),
    "loess": ("eogapfill.fill.latlon", "fill_loess"),
    "gauss_seidel": ("eogapfill.fill.latlon", "fill_gauss_seidel"),
    "laplace": ("eogapfill.fill.laplace", "fill_laplace"),
    "noise": ("eogapfill.fill.noise", "fill_noise"),
    "alm": ("eogapfill.fill.alm", "fill_alm"),
    "oi": ("eogapfill.fill.oi", "fill_oi"),
    "foscat": ("eogapfill.fill.foscat", "fill_foscat"),
}
#: Methods on the HEALPix grid, in the order the book meets them.
HEALPIX_METHODS = ("laplace", "noise", "alm", "oi", "foscat")
#: Methods on the regular lat/lon grid.
LATLON_METHODS = ("interpolate_na", "loess", "gauss_seidel")


def get_method(name: str) -> Callable[..., Any]:
    """The fill function called ``name`` (``"laplace"``, ``"alm"``, ``"oi"``, ...).

    >>> get_method("laplace").__name__
    'fill_laplace'
    """
    try:
        module, attr = _WHERE[name]
    except KeyError:
        raise ValueError(
            f"unknown fill method {name!r}; choose one of {', '.join(sorted(_WHERE))}"
        ) from None
    return getattr(import_module(module), attr)


def __getattr__(name: str) -> Any:
    if name.startswith("fill_") and name[5:] in _WHERE:
        return get_method(name[5:])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
