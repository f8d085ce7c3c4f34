"""Laplace + white noise: the null stochastic control of every ensemble fill.

Each member is the Laplace fill plus independent Gaussian noise in the gaps. The noise has
the standard deviation of the observed small scales: the spread of "observed cell minus the
mean of its observed neighbours". It matches the gaps' neighbour-difference variance without
any structure, so a stochastic fill (a conditional simulation) has to beat it to show that
its texture carries information. ``filled`` is the ensemble mean, which is why a few-member
mean keeps some noise (its variance is ``std**2 / n_members``).
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from eogapfill.fill.common import (
    check_count,
    check_seed,
    checked_options,
    finish_fill,
    prepare_healpix_fill,
    sea_water_bounds,
)
from eogapfill.fill.laplace import fill_laplace
from eogapfill.healpix import neighbour_mean

__all__ = ["DEFAULT_NOISE_STD", "fill_noise", "observed_neighbour_std"]

#: Noise level (degC) when the map has too few observed neighbour pairs to measure one: the
#: observed cell-to-cell spread of the embedded sample at nside 64 (0.29 at nside 256 to
#: 0.56 at nside 32).
DEFAULT_NOISE_STD = 0.4


def observed_neighbour_std(
    sst: xr.DataArray | xr.Dataset,
    gaps: xr.DataArray | np.ndarray | None = None,
) -> float:
    """Standard deviation of (observed cell minus the mean of its observed neighbours), degC.

    Only observed cells enter, on both sides of the difference; cells without an observed
    neighbour are skipped. On a regional map, neighbours outside the region are absent. This is the default noise level of :func:`fill_noise`.

    Examples
    --------
    >>> from eogapfill.healpix import healpix_dataset
    >>> rng = np.random.default_rng(0)
    >>> sst = 20.0 + rng.normal(size=12 * 16**2)
    >>> gap = np.zeros(sst.size, dtype=bool)
    >>> gap[:100] = True
    >>> ds = healpix_dataset({"SST_L3S": sst, "gap": gap}, nside=16)
    >>> round(observed_neighbour_std(ds), 1)  # unit white noise: sqrt(1 + 1/8)
    1.1
    """
    inputs, grid = prepare_healpix_fill(sst, gaps, method="observed_neighbour_std")
    observed_only = np.where(inputs.observed, inputs.values, np.nan)
    difference = observed_only - neighbour_mean(observed_only, grid)
    usable = difference[np.isfinite(difference)]
    if usable.size < 2:
        raise ValueError(
            "cannot estimate the noise level: fewer than 2 observed cells have an observed "
            "neighbour; pass std= explicitly (degC)"
        )
    return float(np.std(usable))


def _redraw_outside(
    members: np.ndarray,
    base: np.ndarray,
    std: float,
    bounds: tuple[float, float],
    rng: np.random.Generator,
    tries: int = 20,
) -> np.ndarray:
    """Redraw the noise of the member values outside ``bounds`` (a truncated Gaussian).

    ``members`` ``(n_members, n_gaps)``, ``base`` ``(n_gaps,)``. Values of a base that lies
    outside the bounds itself are left for the fill's check to report.
    """
    low, high = bounds
    for _ in range(tries):
        outside = ((members < low) | (members > high)) & (base >= low) & (base <= high)
        if not outside.any():
            break
        redraw = base[np.nonzero(outside)[1]] + rng.standard_normal(int(outside.sum())) * std
        members[outside] = redraw
    return members


@checked_options("noise")
def fill_noise(
    sst: xr.DataArray | xr.Dataset,
    gaps: xr.DataArray | np.ndarray | None = None,
    *,
    base: str | xr.Dataset | xr.DataArray | np.ndarray = "laplace",
    n_members: int = 4,
    seed: int | None = None,
    std: float | None = None,
) -> xr.Dataset:
    """Ensemble of a smooth fill plus Gaussian white noise in the gaps (HEALPix maps).

    Parameters
    ----------
    sst : xarray.DataArray or xarray.Dataset
        NESTED HEALPix map on ``cells``, full-sphere or regional (degC, NaN = missing), or a
        regridded day (then ``SST_L3S`` and ``gap`` are used). On a region the base is the
        regional Laplace fill and the noise level is measured on the region's cells.
    gaps : boolean array, shape ``(npix,)`` (the map's cells), optional
        True where a value must be made.
    base : {"laplace"} or xarray.Dataset or xarray.DataArray or numpy.ndarray
        The smooth fill to perturb: ``"laplace"`` computes :func:`fill_laplace`; a fill's
        output Dataset (its ``filled``) or a filled map of shape ``(npix,)`` is used as given.
    n_members : int
        Number of members (>= 1).
    seed : int, optional
        Seed of the random generator: the same seed gives the same members; ``None`` draws
        one, recorded in the attribute ``seed``.
    std : float, optional
        Noise standard deviation (degC). Default: :func:`observed_neighbour_std` of the map,
        or :data:`DEFAULT_NOISE_STD` with a warning when fewer than 2 observed cells have an
        observed neighbour (a small region under clouds).
        Noise that would take a cell past what sea water can have (near the ice edge) is
        drawn again: a Gaussian truncated to :data:`~eogapfill.fill.common.SEA_WATER_DEGC`.

    Returns
    -------
    xarray.Dataset
        ``members`` (member, cells): base + noise in the gaps, observations elsewhere;
        ``filled``: the ensemble mean; ``filled_std``: the ensemble spread (standard
        deviation across members, ``ddof=1``), or ``std`` itself for a single member; zero
        outside the gaps. Attributes ``noise_std_degC``, ``noise_std_default`` (1 when the
        default stood in), ``n_members`` and ``seed``.

    Examples
    --------
    >>> from eogapfill.healpix import healpix_dataset
    >>> sst = np.full(12 * 4**2, 20.0)
    >>> gap = np.zeros(sst.size, dtype=bool)
    >>> gap[:4] = True
    >>> ds = healpix_dataset({"SST_L3S": sst, "gap": gap}, nside=4)
    >>> out = fill_noise(ds, n_members=3, seed=1, std=0.5)
    >>> out.members.shape, bool((out.members[:, 4:] == 20.0).all())
    ((3, 192), True)
    """
    n_members = check_count(n_members, "n_members", method="fill_noise")
    seed = check_seed(seed, method="fill_noise")
    inputs, _ = prepare_healpix_fill(sst, gaps, method="laplace_noise")
    default_used = False
    if std is None:
        try:
            std = observed_neighbour_std(inputs.sst, inputs.gaps_da)
        except ValueError:  # a small region under clouds: nothing to measure the noise on
            std = DEFAULT_NOISE_STD
            default_used = True
            warnings.warn(
                f"fill_noise: fewer than 2 observed cells have an observed neighbour, too few "
                f"to measure the noise level; the members use the default std "
                f"{DEFAULT_NOISE_STD} degC (a guess). Pass std= (degC) to set it",
                UserWarning,
                stacklevel=3,
            )
    std = float(std)
    if not (np.isfinite(std) and std >= 0):
        raise ValueError(f"fill_noise: std must be a finite value >= 0 (degC), got {std!r}")

    if isinstance(base, str):
        if base != "laplace":
            raise ValueError(
                f"fill_noise: unknown base {base!r}; use 'laplace' or pass a filled map"
            )
        base_values = fill_laplace(inputs.sst, inputs.gaps_da)["filled"].values
        base_name = "laplace"
    else:
        base_name = "given"
        if isinstance(base, xr.Dataset):
            if "filled" not in base:
                raise ValueError("fill_noise: the base Dataset has no 'filled' variable")
            base_name = str(base.attrs.get("fill_method", base_name))
            base = base["filled"]
        base_values = np.asarray(getattr(base, "values", base), dtype="float64")
        if base_values.shape != inputs.values.shape:
            raise ValueError(
                f"fill_noise: the base map has shape {base_values.shape}, the map "
                f"{inputs.values.shape}; fill the same map first"
            )
        if not np.isfinite(base_values[inputs.gaps]).all():
            raise ValueError("fill_noise: the base map has NaN in the gaps; pass a complete fill")

    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((n_members, inputs.n_gaps)) * std
    members = np.repeat(base_values[None, :], n_members, axis=0)
    members[:, inputs.gaps] += noise
    bounds = sea_water_bounds(str(inputs.sst.attrs.get("units", "")))
    if bounds is not None:  # noise drawn past freezing near the ice edge: draw it again
        members[:, inputs.gaps] = _redraw_outside(
            members[:, inputs.gaps], base_values[inputs.gaps], std, bounds, rng
        )
    if n_members > 1:
        spread = members.std(axis=0, ddof=1)
    else:
        spread = np.full(inputs.values.shape, std)
    attrs: dict[str, object] = {
        "base_fill": base_name,
        "noise_std_degC": std,
        "noise_std_default": int(default_used),
        "n_members": n_members,
    }
    attrs["seed"] = seed
    return finish_fill(
        inputs,
        members.mean(axis=0),
        method=f"{base_name}_noise",
        std=spread,
        members=members,
        attrs=attrs,
    )
