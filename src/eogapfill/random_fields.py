"""Gaussian random fields on the sphere: isotropic covariance models and their angular spectra.

- :class:`CovarianceModel`: an isotropic Matérn covariance of the chord length (km), with a
  nugget; positive definite on the sphere for every smoothness;
- :func:`angular_power_spectrum`: its Legendre coefficients ``C_l``;
- :func:`gaussian_random_field`: zero-mean fields with that covariance on NESTED HEALPix cells,
  by spherical-harmonic synthesis plus white noise for the nugget and the unresolved scales.

Optimal interpolation (:mod:`eogapfill.fill.oi`) models its anomalies and draws its conditional
members with them; the book's texture chapters draw test fields with them. Everything here is
re-exported from :mod:`eogapfill.fill.oi`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import healpy as hp
import numpy as np
import scipy.special

from eogapfill.healpix import EARTH_RADIUS_KM, check_nside, ring_to_nest

__all__ = [
    "SMOOTHNESS",
    "CovarianceModel",
    "angular_power_spectrum",
    "gaussian_random_field",
]

#: Smoothness values ``nu`` of :class:`CovarianceModel` (0.5 = exponential).
SMOOTHNESS = (0.5, 1.5, 2.5)


@dataclass(frozen=True)
class CovarianceModel:
    """Isotropic Matérn covariance of an anomaly field on the sphere.

    ``C(d) = sill * rho(c / length_scale_km) + nugget * [d == 0]`` with ``c`` the chord length
    (km) of the great-circle distance ``d`` and, for ``x = sqrt(2 nu) c / length_scale_km``,

    - ``nu = 0.5`` (exponential): ``rho = exp(-x)``
    - ``nu = 1.5``: ``rho = (1 + x) exp(-x)``
    - ``nu = 2.5``: ``rho = (1 + x + x**2 / 3) exp(-x)``

    (the convention of scikit-learn and Rasmussen & Williams; gstools' ``len_scale`` is this
    length scale divided by ``sqrt(2)``).

    Parameters
    ----------
    sill : float
        Variance of the spatially correlated part, degC**2.
    length_scale_km : float
        Length scale, km.
    nugget : float
        Variance of the uncorrelated part (measurement noise, sub-cell variability), degC**2.
    nu : float
        Smoothness, one of 0.5, 1.5, 2.5.

    Examples
    --------
    >>> model = CovarianceModel(sill=0.5, length_scale_km=200.0, nugget=0.01)
    >>> model(np.array([0.0, 200.0])).round(3).tolist()
    [0.51, 0.184]
    """

    sill: float
    length_scale_km: float
    nugget: float = 0.0
    nu: float = 0.5

    def __post_init__(self) -> None:
        if self.nu not in SMOOTHNESS:
            raise ValueError(f"nu must be one of {SMOOTHNESS} (0.5 = exponential), got {self.nu!r}")
        for name in ("sill", "length_scale_km", "nugget"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.sill <= 0 or self.length_scale_km <= 0:
            raise ValueError(
                f"sill and length_scale_km must be > 0, got {self.sill!r} and {self.length_scale_km!r}"
            )

    @property
    def variance(self) -> float:
        """Total variance ``sill + nugget`` (degC**2): the prior variance of one cell."""
        return self.sill + self.nugget

    def correlation_chord(self, chord_km: np.ndarray) -> np.ndarray:
        """Correlation ``rho`` of the correlated part at chord lengths (km), any shape."""
        x = np.multiply(chord_km, math.sqrt(2 * self.nu) / self.length_scale_km, dtype="float64")
        decay = np.exp(-x)
        if self.nu == 0.5:
            return decay
        if self.nu == 1.5:
            x += 1.0
            x *= decay
            return x
        poly = x * x
        poly /= 3.0
        poly += x
        poly += 1.0
        poly *= decay
        return poly

    def __call__(self, distance_km: np.ndarray) -> np.ndarray:
        """Covariance (degC**2) at great-circle distances (km); the nugget counts at 0 only."""
        d = np.asarray(distance_km, dtype="float64")
        chord = 2 * EARTH_RADIUS_KM * np.sin(d / (2 * EARTH_RADIUS_KM))
        return self.sill * self.correlation_chord(chord) + self.nugget * (d == 0)


@lru_cache(maxsize=4)
def _gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = scipy.special.roots_legendre(n)
    x.setflags(write=False)
    w.setflags(write=False)
    return x, w


def angular_power_spectrum(model: CovarianceModel, lmax: int) -> np.ndarray:
    """Angular power spectrum ``C_l`` (degC**2 sr) of the correlated part of ``model``.

    ``C_l = 2 pi ∫ C(theta) P_l(cos theta) d cos theta`` by Gauss-Legendre quadrature, so that
    ``C(theta) = sum_l (2l + 1) / (4 pi) C_l P_l(cos theta)``. Shape ``(lmax + 1,)``.

    Examples
    --------
    >>> cl = angular_power_spectrum(CovarianceModel(1.0, 800.0), lmax=200)
    >>> ell = np.arange(201)
    >>> round(float(np.sum((2 * ell + 1) * cl) / (4 * np.pi)), 2)  # variance up to l = 200
    0.96
    """
    if lmax < 0:
        raise ValueError(f"lmax must be >= 0, got {lmax}")
    # enough nodes for the oscillations of P_lmax and for the decay of C near theta = 0
    scale = model.length_scale_km / EARTH_RADIUS_KM
    n_nodes = int(min(max(4 * lmax + 64, 40 / scale), 200_000))
    x, w = _gauss_legendre(n_nodes)
    chord = EARTH_RADIUS_KM * np.sqrt(np.maximum(2 - 2 * x, 0.0))
    weighted = w * model.sill * model.correlation_chord(chord)
    cl = np.empty(lmax + 1)
    p_prev, p = np.ones_like(x), x.copy()
    cl[0] = weighted.sum()
    if lmax >= 1:
        cl[1] = weighted @ p
    for ell in range(2, lmax + 1):
        p_prev, p = p, ((2 * ell - 1) * x * p - (ell - 1) * p_prev) / ell
        cl[ell] = weighted @ p
    return 2 * np.pi * np.maximum(cl, 0.0)


def gaussian_random_field(
    model: CovarianceModel,
    nside: int,
    *,
    n_fields: int = 1,
    seed: int | np.random.Generator | None = None,
    cells: np.ndarray | None = None,
) -> np.ndarray:
    """Zero-mean Gaussian random fields with covariance ``model`` on NESTED HEALPix cells.

    Spherical-harmonic synthesis up to ``lmax = 3 nside - 1`` of
    :func:`angular_power_spectrum`, plus independent noise in each cell of variance
    ``model.nugget`` and of the variance of the correlated part above ``lmax`` (scales the grid
    cannot hold), so that every cell has the model's variance ``sill + nugget``.

    ``cells`` (NESTED ids, shape ``(n,)``, e.g. a regional grid's ``ids``) keeps only those
    cells: the fields are still drawn on the whole sphere (the cost of a full-sphere draw,
    memory of one full map at a time) and equal the full-sphere fields of the same seed there.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_fields, 12 nside**2)``, or ``(n_fields, n)`` with ``cells``, degC.

    Examples
    --------
    >>> f = gaussian_random_field(CovarianceModel(1.0, 1000.0), nside=16, n_fields=2, seed=0)
    >>> f.shape
    (2, 3072)
    """
    check_nside(nside)
    rng = np.random.default_rng(seed)
    lmax = 3 * nside - 1
    cl = angular_power_spectrum(model, lmax)
    ell, m = hp.Alm.getlm(lmax)
    scale = np.sqrt(cl[ell])
    resolved = float(np.sum((2 * np.arange(lmax + 1) + 1) * cl) / (4 * np.pi))
    white = model.nugget + max(model.sill - resolved, 0.0)
    order = ring_to_nest(nside)
    npix = 12 * nside**2
    keep = None if cells is None else np.asarray(cells, dtype=np.int64)
    fields = np.empty((n_fields, npix if keep is None else keep.size))
    field = np.empty(npix)
    for i in range(n_fields):
        re = rng.standard_normal(ell.size)
        im = rng.standard_normal(ell.size)
        alm = np.where(m == 0, re, (re + 1j * im) / np.sqrt(2.0)) * scale
        field[order] = hp.alm2map(alm.astype(np.complex128), nside, lmax=lmax)
        if white > 0:
            field += rng.standard_normal(npix) * np.sqrt(white)
        fields[i] = field if keep is None else field[keep]
    return fields
