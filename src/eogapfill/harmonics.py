"""Real spherical harmonics on HEALPix: the basis, its least-squares fit and its evaluation.

The large scales of a map are fitted by

.. math:: f(\\theta, \\phi) = \\sum_{l \\le l_{max}} \\sum_{m=-l}^{l} a_{lm} Y_{lm}(\\theta, \\phi)

with real, orthonormal spherical harmonics (``∫ Y_lm Y_l'm' dΩ = δ``). The spherical-harmonic
fill (:mod:`eogapfill.fill.alm`), the background of optimal interpolation
(:mod:`eogapfill.fill.oi`) and the large-scale map removed before comparing spectra
(:mod:`eogapfill.validate`) all use :func:`fit_harmonics`.

Public API:

- :func:`harmonic_degrees`, :func:`real_ylm_basis`: the basis and its column order;
- :func:`fit_harmonics`: least-squares coefficients and the fitted map from numpy arrays;
- :func:`evaluate_alm`: coefficients to a map;
- :func:`normal_equations`, :func:`constrained_lmax`, :data:`MIN_RCOND`: how well the
  observed cells constrain a fit, and the largest degree they do.

Real harmonics, column ``l*l + l + m`` of the design for ``-l <= m <= l``::

    m = 0:  Y_l0                          (healpy's a_l0 = 1)
    m > 0:  sqrt(2) N_lm P_lm(cos θ) cos(m φ)  (healpy's a_lm = 1/sqrt(2))
    m < 0:  sqrt(2) N_l|m| P_l|m|(cos θ) sin(|m| φ)  (healpy's a_l|m| = -1j/sqrt(2))

where ``N_lm P_lm`` is the orthonormal associated Legendre function with the Condon-Shortley
phase (healpy's and scipy's convention), θ the colatitude and φ the longitude east.

The fit never builds the dense design matrix of all observed cells: HEALPix cells lie on
``4 nside - 1`` rings of constant latitude, equally spaced in longitude, so the normal
equations are sums over rings of Legendre products times masked Fourier sums of each ring
(one FFT per ring). Their cost is ``O(rings * n_coeffs**2)`` instead of
``O(cells * n_coeffs**2)``, which keeps nside 512 / lmax 64 within seconds.
"""

from __future__ import annotations

import warnings

import healpy as hp
import numpy as np
import scipy.linalg
from scipy.special import sph_legendre_p_all

from eogapfill.healpix import check_nside, nest_to_ring, ring_to_nest, rings

__all__ = [
    "MIN_RCOND",
    "constrained_lmax",
    "evaluate_alm",
    "fit_harmonics",
    "harmonic_degrees",
    "normal_equations",
    "real_ylm_basis",
]


def harmonic_degrees(lmax: int) -> tuple[np.ndarray, np.ndarray]:
    """Degree ``l`` and signed order ``m`` of each of the ``(lmax+1)**2`` real harmonics.

    Column ``l*l + l + m`` holds ``(l, m)``; ``m < 0`` are the sine terms.

    >>> l, m = harmonic_degrees(1)
    >>> l.tolist(), m.tolist()
    ([0, 1, 1, 1], [0, -1, 0, 1])
    """
    _check_lmax(lmax)
    ell = np.repeat(np.arange(lmax + 1), 2 * np.arange(lmax + 1) + 1)
    m = np.concatenate([np.arange(-k, k + 1) for k in range(lmax + 1)])
    return ell, m


def _check_lmax(lmax: int) -> None:
    if isinstance(lmax, bool) or not isinstance(lmax, int | np.integer) or lmax < 0:
        raise ValueError(f"lmax must be a non-negative integer, got {lmax!r}")


def _legendre(theta: np.ndarray, lmax: int) -> np.ndarray:
    """Orthonormal Legendre factor of every real-harmonic column, shape ``(len(theta), K)``.

    ``N_l0 P_l0`` for ``m = 0`` and ``sqrt(2) N_l|m| P_l|m|`` otherwise (Condon-Shortley phase).
    """
    plm = sph_legendre_p_all(lmax, lmax, np.asarray(theta, dtype="float64"))[0]  # (l, m, n)
    ell, m = harmonic_degrees(lmax)
    factor = np.where(m == 0, 1.0, np.sqrt(2.0))
    return (plm[ell, np.abs(m)] * factor[:, None]).T.copy()


def real_ylm_basis(nside: int, lmax: int, cells: np.ndarray | None = None) -> np.ndarray:
    """Real spherical harmonics at HEALPix NESTED cell centres.

    The Legendre functions are evaluated once per ring latitude (``4 nside - 1`` at most), then
    multiplied by ``cos(m φ)`` / ``sin(|m| φ)`` of each cell.

    Parameters
    ----------
    nside : int
        HEALPix resolution (power of two).
    lmax : int
        Largest degree.
    cells : array of int, optional
        NESTED cell ids, shape ``(n,)``; default all ``12 nside**2`` cells.

    Returns
    -------
    numpy.ndarray
        Shape ``(n, (lmax+1)**2)``, column ``l*l + l + m`` (see the module docstring), in units
        of ``1/sqrt(sr)``: ``sum(Y_i * Y_j) * 4π / npix ≈ δ_ij`` over the full sphere.

    Examples
    --------
    >>> y = real_ylm_basis(4, 2)
    >>> y.shape
    (192, 9)
    >>> bool(np.allclose(y[:, 0], 1 / np.sqrt(4 * np.pi)))
    True
    """
    check_nside(nside)
    _check_lmax(lmax)
    npix = 12 * nside**2
    cells = np.arange(npix, dtype=np.int64) if cells is None else np.asarray(cells, dtype=np.int64)
    if cells.size and (cells.min() < 0 or cells.max() >= npix):
        raise ValueError(f"cell ids must lie in [0, {npix}) for nside {nside}")
    start, _, theta, _ = rings(nside)
    ring_pix = nest_to_ring(nside)[cells]
    ring = np.searchsorted(start, ring_pix, side="right") - 1
    used, inverse = np.unique(ring, return_inverse=True)
    legendre = _legendre(theta[used], lmax)  # (n_used_rings, K)
    _, phi = hp.pix2ang(nside, cells, nest=True)
    _, m = harmonic_degrees(lmax)
    mabs = np.abs(m)
    trig = np.where(m >= 0, np.cos(np.outer(phi, mabs)), np.sin(np.outer(phi, mabs)))
    trig *= legendre[inverse]
    return trig


def _ring_sums(ring_values: np.ndarray, nside: int, kmax: int) -> np.ndarray:
    """``S[r, k] = sum_j v_j exp(i k φ_j)`` over the cells of each ring, ``k = 0..kmax``.

    ``ring_values`` is a RING-ordered map (zero where a cell must not count). One FFT per ring
    length; frequencies beyond a ring's length wrap (the ring sees them aliased).
    """
    start, length, _, phi0 = rings(nside)
    out = np.empty((start.size, kmax + 1), dtype=np.complex128)
    k = np.arange(kmax + 1)
    for n in np.unique(length):
        which = np.flatnonzero(length == n)
        block = ring_values[start[which, None] + np.arange(n)[None, :]]
        spectrum = np.fft.ifft(block, axis=1) * n  # sum_j v_j exp(+2πi jk/n)
        out[which] = spectrum[:, k % n]
    out *= np.exp(1j * np.outer(phi0, k))
    return out


def _trig_products(c: np.ndarray, s: np.ndarray, a: int, b: np.ndarray) -> np.ndarray:
    """Ring sums of ``t_a(φ) t_b(φ)`` for the trig factor ``t_m`` of order ``m`` (sin if m < 0).

    ``c``/``s``: real/imaginary parts of the masked ring sums ``sum exp(i k φ)``, shape
    ``(R, 2 lmax + 1)``; ``a`` one signed order, ``b`` an array of them. Returns ``(R, len(b))``.
    """
    ua, ub = abs(a), np.abs(b)
    diff, add, sign = np.abs(ua - ub), ua + ub, np.sign(ua - ub)
    if a >= 0:  # cos(ua φ) cos(ub φ) | cos(ua φ) sin(ub φ)
        both = np.where(b >= 0, c[:, diff] + c[:, add], s[:, add] - sign * s[:, diff])
    else:  # sin(ua φ) cos(ub φ) | sin(ua φ) sin(ub φ)
        both = np.where(b >= 0, s[:, add] + sign * s[:, diff], c[:, diff] - c[:, add])
    return 0.5 * both


def normal_equations(
    values: np.ndarray, observed: np.ndarray, nside: int, lmax: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(AᵀA, Aᵀd)`` of the design ``A`` (observed cells x real harmonics), via ring sums.

    ``values`` is a full-sphere NESTED map and ``observed`` a boolean map, shape
    ``(12 nside**2,)`` each. Returns the normal matrix, shape ``(K, K)`` with
    ``K = (lmax+1)**2`` (input of :func:`constrained_lmax`), and the right-hand side ``(K,)``.

    ``AᵀA[i, j] = sum_r P_ri P_rj T_r(m_i, m_j)`` with ``P`` the Legendre factors and ``T_r``
    the masked ring sums of trig products. Columns are grouped by order, so each block row of
    the upper triangle is one matrix product over the rings: ``O(rings * n_coeffs**2 / 2)``.
    """
    order = ring_to_nest(nside)
    obs_ring = observed[order].astype("float64")
    data_ring = np.where(observed, values, 0.0)[order]
    mask_sums = _ring_sums(obs_ring, nside, 2 * lmax)  # (R, 2 lmax + 1)
    data_sums = _ring_sums(data_ring, nside, lmax)  # (R, lmax + 1)
    _, _, theta, _ = rings(nside)
    ell, m = harmonic_degrees(lmax)
    mabs = np.abs(m)
    legendre = _legendre(theta, lmax)  # (R, K)
    # right-hand side: cos columns take the real part, sin columns the imaginary part
    rhs_trig = np.where(m >= 0, data_sums.real[:, mabs], data_sums.imag[:, mabs])
    rhs = np.einsum("rk,rk->k", legendre, rhs_trig)
    # normal matrix, columns sorted by order
    perm = np.argsort(m, kind="stable")
    leg = legendre[:, perm]
    m_sorted = m[perm]
    orders, starts, sizes = np.unique(m_sorted, return_index=True, return_counts=True)
    c, s = mask_sums.real, mask_sums.imag
    normal = np.zeros((m.size, m.size))
    for i, (mi, lo) in enumerate(zip(orders, starts, strict=True)):
        hi = lo + sizes[i]
        weights = _trig_products(c, s, int(mi), orders[i:])  # (R, n_orders - i)
        right = leg[:, lo:] * np.repeat(weights, sizes[i:], axis=1)
        normal[lo:, lo:hi] = right.T @ leg[:, lo:hi]
    normal = np.tril(normal)
    normal = normal + np.tril(normal, -1).T
    inverse = np.empty_like(perm)
    inverse[perm] = np.arange(perm.size)
    return normal[np.ix_(inverse, inverse)], rhs


def _solve(normal: np.ndarray, rhs: np.ndarray, lmax: int, ridge: float) -> np.ndarray:
    """Solve the column-scaled, optionally ridge-regularised normal equations by Cholesky."""
    diag = np.diag(normal).copy()
    if np.any(diag <= 0):
        raise ValueError(
            f"alm: some harmonics up to lmax={lmax} vanish on every observed cell; lower lmax"
        )
    scale = 1.0 / np.sqrt(diag)
    scaled = normal * scale[:, None] * scale[None, :]
    if ridge:
        ell, _ = harmonic_degrees(lmax)
        # penalty ridge * n_obs/4π * |a_{l>=1}|², i.e. relative to the mean square misfit
        n_obs = normal[0, 0] * 4 * np.pi
        scaled[np.diag_indices_from(scaled)] += (ell > 0) * ridge * n_obs / (4 * np.pi) * scale**2
    try:
        factor = scipy.linalg.cho_factor(scaled, lower=True, check_finite=True)
    except np.linalg.LinAlgError as err:
        raise ValueError(
            f"alm: the least-squares problem up to lmax={lmax} is singular on the observed cells "
            "(gaps too large for these harmonics); lower lmax or pass ridge=1e-3"
        ) from err
    anorm = np.abs(scaled).sum(axis=0).max()
    rcond, info = scipy.linalg.lapack.dpocon(factor[0], anorm, uplo="L")
    if info == 0 and rcond < 1e-12:
        warnings.warn(
            f"alm: the fit up to lmax={lmax} is ill-conditioned (reciprocal condition "
            f"{rcond:.1e}): the gaps leave some harmonics almost free; lower lmax or pass "
            "ridge=1e-3",
            RuntimeWarning,
            stacklevel=3,
        )
    return scipy.linalg.cho_solve(factor, rhs * scale) * scale


def _real_to_healpy(coeffs: np.ndarray, lmax: int) -> np.ndarray:
    """Real-harmonic coefficients -> healpy complex ``alm`` (``a_lm = (c - i s)/sqrt 2``)."""
    ell, m = harmonic_degrees(lmax)
    alm = np.zeros(hp.Alm.getsize(lmax), dtype=np.complex128)
    zero = m == 0
    alm[hp.Alm.getidx(lmax, ell[zero], 0)] = coeffs[zero]
    pos, neg = m > 0, m < 0
    idx_pos = hp.Alm.getidx(lmax, ell[pos], m[pos])
    idx_neg = hp.Alm.getidx(lmax, ell[neg], -m[neg])
    alm[idx_pos] += coeffs[pos] / np.sqrt(2.0)
    alm[idx_neg] += -1j * coeffs[neg] / np.sqrt(2.0)
    return alm


def evaluate_alm(coeffs: np.ndarray, nside: int) -> np.ndarray:
    """Evaluate real-harmonic coefficients on every NESTED cell centre (healpy ``alm2map``).

    ``coeffs`` has shape ``((lmax+1)**2,)``; the result shape ``(12 nside**2,)``.
    """
    coeffs = np.asarray(coeffs, dtype="float64")
    lmax = int(round(np.sqrt(coeffs.size))) - 1
    if (lmax + 1) ** 2 != coeffs.size:
        raise ValueError(f"{coeffs.size} coefficients is not (lmax+1)**2 for any lmax")
    ring_map = hp.alm2map(_real_to_healpy(coeffs, lmax), nside, lmax=lmax, mmax=lmax)
    out = np.empty_like(ring_map)
    out[ring_to_nest(nside)] = ring_map
    return out


#: Smallest reciprocal condition number (eigenvalue ratio of the column-scaled normal matrix)
#: of an unregularised fit. Below it, the observed cells leave some combination of harmonics
#: free and the fit runs away in the gaps (tens to thousands of degC on the sample days).
MIN_RCOND = 1e-6


def _rcond(normal: np.ndarray) -> float:
    """Eigenvalue ratio (smallest / largest) of the column-scaled normal matrix."""
    diag = np.diag(normal)
    if np.any(diag <= 0):
        return 0.0
    scale = 1.0 / np.sqrt(diag)
    eig = np.linalg.eigvalsh(normal * scale[:, None] * scale[None, :])
    return float(max(eig[0], 0.0) / eig[-1])


def constrained_lmax(normal: np.ndarray, lmax: int) -> int:
    """The largest degree ``<= lmax`` whose fit the observed cells constrain (-1 if none).

    The normal matrix of degree ``L`` is the leading ``(L+1)**2`` block of that of ``lmax``.
    """
    for degree in range(lmax, -1, -1):
        size = (degree + 1) ** 2
        if _rcond(normal[:size, :size]) >= MIN_RCOND:
            return degree
    return -1


def _check_constrained(normal: np.ndarray, lmax: int) -> None:
    """Refuse an unregularised fit that the observed cells cannot constrain."""
    if _rcond(normal) >= MIN_RCOND:
        return
    working = constrained_lmax(normal, lmax)
    raise ValueError(
        f"alm: the observed cells cannot constrain a fit up to lmax={lmax}: the gaps leave "
        "some harmonics free and the fit would run away inside them. Use "
        f"lmax={working} or lower, or keep lmax and pass ridge=1e-3 (a regularised fit)"
    )


def fit_harmonics(
    values: np.ndarray,
    observed: np.ndarray,
    nside: int,
    lmax: int,
    *,
    ridge: float = 0.0,
    check: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares fit of real harmonics up to ``lmax`` to the observed cells of a map.

    Parameters
    ----------
    values : numpy.ndarray
        Full-sphere NESTED map, shape ``(12 nside**2,)`` (any unit; read on ``observed`` only).
    observed : numpy.ndarray of bool
        Cells to fit, same shape; their ``values`` must be finite.
    nside : int
        HEALPix resolution of the map.
    lmax : int
        Largest degree; ``(lmax+1)**2`` coefficients need at least as many observed cells.
    ridge : float
        Tikhonov weight (dimensionless, >= 0): adds ``ridge`` times the mean square over the
        sphere of the non-constant part of the fit to the mean square misfit. ``0`` (default)
        is the plain least-squares fit; ~1e-3 keeps harmonics that large gaps leave free
        from running away there.
    check : bool
        With ``ridge == 0``, refuse (``ValueError`` naming a degree that works) a fit that the
        observed cells cannot constrain (reciprocal condition below :data:`MIN_RCOND`).

    Returns
    -------
    coeffs : numpy.ndarray
        Shape ``((lmax+1)**2,)``, column order of :func:`real_ylm_basis`, units of the map
        times ``sqrt(sr)``.
    fitted : numpy.ndarray
        The fit evaluated on every cell, shape ``(12 nside**2,)``, units of the map.

    Examples
    --------
    >>> y = real_ylm_basis(8, 2)
    >>> values = 15 + 2 * y[:, 2]
    >>> observed = np.ones(values.size, bool); observed[:200] = False
    >>> coeffs, fitted = fit_harmonics(values, observed, 8, 2)
    >>> bool(np.allclose(fitted, values))
    True
    """
    check_nside(nside)
    _check_lmax(lmax)
    values = np.asarray(values, dtype="float64")
    observed = np.asarray(observed, dtype=bool)
    if values.shape != (12 * nside**2,) or observed.shape != values.shape:
        raise ValueError(
            f"fit_harmonics: values {values.shape} and observed {observed.shape} must both be "
            f"full-sphere NESTED maps of nside {nside}, shape ({12 * nside**2},)"
        )
    if not np.isfinite(values[observed]).all():
        raise ValueError("fit_harmonics: some observed cells are not finite; leave them out")
    if ridge < 0 or not np.isfinite(ridge):
        raise ValueError(f"ridge must be a finite number >= 0, got {ridge!r}")
    n_coeffs = (lmax + 1) ** 2
    n_obs = int(observed.sum())
    if n_obs < n_coeffs:
        suggest = max(int(np.sqrt(n_obs)) - 1, 0)
        raise ValueError(
            f"alm: {n_obs} observed cell(s) cannot determine {n_coeffs} coefficients "
            f"(lmax={lmax}); use lmax <= {suggest} or a finer grid"
        )
    normal, rhs = normal_equations(values, observed, nside, lmax)
    if check and not ridge:
        _check_constrained(normal, lmax)
    coeffs = _solve(normal, rhs, lmax, ridge)
    return coeffs, evaluate_alm(coeffs, nside)
