"""Gaussian random fields on the sphere: isotropic covariance models and their angular spectra.

- :class:`CovarianceModel`: an isotropic Matérn covariance of the chord length (km), with a
  nugget; positive definite on the sphere for every smoothness;
- :func:`angular_power_spectrum`: its Legendre coefficients ``C_l``;
- :func:`gaussian_random_field`: zero-mean fields with that covariance on NESTED HEALPix cells,
  by spherical-harmonic synthesis on the whole sphere, or, for a region's cells, on a local
  tangent plane (FFT of the model's spectral density on a periodic grid; cost proportional
  to the region), plus white noise for the nugget and the unresolved scales;
- :func:`tangent_plane` and :func:`plane_grid`: the plane and grid of a regional draw.

Optimal interpolation (:mod:`eogapfill.fill.oi`) models its anomalies and draws its conditional
members with them; the book's texture chapters draw test fields with them. The model, the
spectrum and the fields are re-exported from :mod:`eogapfill.fill.oi`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import healpy as hp
import numpy as np
import scipy.fft
import scipy.optimize
import scipy.special

from eogapfill.healpix import EARTH_RADIUS_KM, check_nside, ring_to_nest

__all__ = [
    "PLANE_MAX_NODES",
    "PLANE_MAX_RADIUS_DEG",
    "PLANE_WRAP_CORRELATION",
    "SMOOTHNESS",
    "CovarianceModel",
    "PlaneGrid",
    "angular_power_spectrum",
    "gaussian_random_field",
    "plane_grid",
    "tangent_plane",
]

#: Smoothness values ``nu`` of :class:`CovarianceModel` (0.5 = exponential).
SMOOTHNESS = (0.5, 1.5, 2.5)

#: Largest angle (degrees) of a region's cells from their centre for which
#: :func:`gaussian_random_field` draws on a tangent plane: its distances are then within 2 %
#: of the sphere's (``alpha / sin(alpha)``). Beyond, it draws on the whole sphere.
PLANE_MAX_RADIUS_DEG = 20.0

#: Correlation that the periodic plane grid may add between two cells through its wrap.
PLANE_WRAP_CORRELATION = 1e-3

#: Most nodes of the plane grid (2**24: 128 MiB a complex64 grid); a grid that would need
#: more at half a cell's spacing gets a coarser spacing instead.
PLANE_MAX_NODES = 2**24

_CHUNK = 2**20  # cells interpolated at a time


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


def _check_cells(cells: np.ndarray, nside: int) -> np.ndarray:
    """NESTED ids as a 1-D int64 array; a clear error unless every id is a cell of ``nside``."""
    ids = np.asarray(cells)
    if ids.ndim != 1 or (ids.size and not np.issubdtype(ids.dtype, np.integer)):
        raise ValueError(
            f"cells must be a 1-D array of integer NESTED cell ids, got shape {ids.shape} and "
            f"dtype {ids.dtype}"
        )
    ids = ids.astype(np.int64, copy=False)
    if ids.size and (ids.min() < 0 or ids.max() >= 12 * nside**2):
        raise ValueError(
            f"cells must be NESTED ids of nside {nside}, from 0 to {12 * nside**2 - 1}, got ids "
            f"from {ids.min()} to {ids.max()}: pass the grid's own nside"
        )
    return ids


def _sphere_fields(
    model: CovarianceModel,
    nside: int,
    n_fields: int,
    rng: np.random.Generator,
    keep: np.ndarray | None,
) -> np.ndarray:
    """Full-sphere draws by spherical-harmonic synthesis, cut to ``keep`` (NESTED) if given."""
    lmax = 3 * nside - 1
    cl = angular_power_spectrum(model, lmax)
    ell, m = hp.Alm.getlm(lmax)
    scale = np.sqrt(cl[ell])
    resolved = float(np.sum((2 * np.arange(lmax + 1) + 1) * cl) / (4 * np.pi))
    white = model.nugget + max(model.sill - resolved, 0.0)
    order = ring_to_nest(nside)
    npix = 12 * nside**2
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


def tangent_plane(nside: int, cells: np.ndarray) -> tuple[np.ndarray, float]:
    """Azimuthal equidistant coordinates of NESTED cells about their mean direction.

    A cell at angle ``alpha`` from the centre lies at ``R alpha`` (km) from the origin, in its
    true direction (x east, y north of the centre; the centre's own x axis if it is a pole).
    Distances from the centre are exact; between two cells at ``alpha`` from it, distances
    along the circle around the centre are stretched by ``alpha / sin(alpha)``: 2 % at
    20 degrees.

    Parameters
    ----------
    nside : int
        HEALPix resolution of the ids.
    cells : numpy.ndarray
        NESTED cell ids, shape ``(n,)``.

    Returns
    -------
    xy : numpy.ndarray
        Plane coordinates, km, shape ``(n, 2)``.
    radius_deg : float
        Largest angle (degrees) of a cell centre from the centre; 180 if the cells have no
        mean direction (spread over the whole sphere).

    Examples
    --------
    >>> xy, radius = tangent_plane(64, np.array([0, 1, 2, 3]))
    >>> xy.shape, bool(radius < 1.0)
    ((4, 2), True)
    """
    vec = hp.pix2vec(nside, np.asarray(cells, dtype=np.int64), nest=True)
    n = vec[0].size
    total = np.array([c.sum() for c in vec])
    norm = float(np.linalg.norm(total))
    if n == 0 or norm < 1e-9 * n:
        return np.zeros((n, 2)), 180.0
    centre = total / norm
    east = np.cross([0.0, 0.0, 1.0], centre)
    if np.linalg.norm(east) < 1e-12:  # a pole: any direction is east
        east = np.array([1.0, 0.0, 0.0])
    east /= np.linalg.norm(east)
    north = np.cross(centre, east)
    xy = np.empty((n, 2))
    xy[:, 0] = vec[0] * east[0] + vec[1] * east[1] + vec[2] * east[2]
    xy[:, 1] = vec[0] * north[0] + vec[1] * north[1] + vec[2] * north[2]
    cos_a = vec[0] * centre[0] + vec[1] * centre[1] + vec[2] * centre[2]
    del vec
    sin_a = np.hypot(xy[:, 0], xy[:, 1])
    alpha = np.arctan2(sin_a, cos_a)
    stretch = np.divide(
        EARTH_RADIUS_KM * alpha, sin_a, out=np.full_like(alpha, EARTH_RADIUS_KM), where=sin_a > 0
    )
    xy *= stretch[:, None]
    return xy, float(np.degrees(alpha.max()))


def _wrap_distance_km(model: CovarianceModel) -> float:
    """Distance (km) beyond which the correlation stays under :data:`PLANE_WRAP_CORRELATION`."""

    def excess(d: float) -> float:
        return float(model.correlation_chord(np.array(d))) - PLANE_WRAP_CORRELATION

    far = model.length_scale_km
    while excess(far) > 0:
        far *= 2
    return float(scipy.optimize.brentq(excess, 0.0, far, xtol=1e-6 * far))


def _matern_density_2d(model: CovarianceModel, freq2: np.ndarray) -> np.ndarray:
    """Spectral density (degC**2 km**2) of the correlated part of ``model`` on the plane.

    ``S(f) = 2 pi sill L**2 (1 + 2 pi**2 L**2 |f|**2 / nu) ** -(nu + 1)`` (``L`` the length
    scale), whose integral over the plane is ``sill``; ``freq2`` is ``|f|**2`` in
    (cycles/km)**2, any shape; float32 like ``freq2``, in a form that cannot overflow.
    """
    length2 = model.length_scale_km**2
    density = np.multiply(freq2, 2 * np.pi**2 * length2 / model.nu, dtype=np.float32)
    density += 1.0
    density **= -(model.nu + 1)
    density *= 2 * np.pi * model.sill * length2
    return density


@dataclass(frozen=True)
class PlaneGrid:
    """A periodic grid of the tangent plane that holds a region, and its circulant spectrum.

    Attributes
    ----------
    spacing_km : float
        Node spacing ``h``, km.
    origin_km : tuple of float
        Plane coordinates (km) of node ``(0, 0)``.
    shape : tuple of int
        Nodes ``(mx, my)`` of the periodic grid (region plus wrap margin).
    amplitude : numpy.ndarray
        ``sqrt`` of the circulant's eigenvalues, shape ``shape``, float32.
    lag_covariance : tuple of float
        Covariance (degC**2) of the grid field at node lags (0, 0), (1, 0), (0, 1), (1, 1).
    """

    spacing_km: float
    origin_km: tuple[float, float]
    shape: tuple[int, int]
    amplitude: np.ndarray
    lag_covariance: tuple[float, float, float, float]


def plane_grid(model: CovarianceModel, nside: int, xy: np.ndarray) -> PlaneGrid:
    """The periodic grid on which :func:`gaussian_random_field` draws a region's fields.

    Spacing ``h = min(cell, length_scale_km) / 2`` (``cell`` the side of a HEALPix cell,
    ``sqrt(4 pi / 12) R / nside``), made coarser only if the grid would exceed
    :data:`PLANE_MAX_NODES`. The grid covers the cells' bounding box plus a margin at least
    as wide as the distance at which the correlation falls to :data:`PLANE_WRAP_CORRELATION`,
    so that the periodic field correlates two cells through the wrap by at most that much.
    Its eigenvalues are the model's spectral density on the plane at the grid's frequencies,
    ``S(f) / h**2``: the covariance of the periodized, sampled model, non-negative by
    construction (no embedding that may fail).

    Parameters
    ----------
    model : CovarianceModel
        Covariance of the fields.
    nside : int
        HEALPix resolution of the cells.
    xy : numpy.ndarray
        Plane coordinates (km) of the cells, shape ``(n, 2)`` (from :func:`tangent_plane`).
    """
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    extent = hi - lo
    cell_km = math.sqrt(4 * math.pi / 12) * EARTH_RADIUS_KM / nside
    margin = _wrap_distance_km(model)
    h = min(cell_km, model.length_scale_km) / 2
    while True:
        mx, my = (scipy.fft.next_fast_len(math.ceil((float(e) + margin) / h) + 3) for e in extent)
        if mx * my <= PLANE_MAX_NODES:
            break
        h *= max(math.sqrt(mx * my / PLANE_MAX_NODES), 1.01)
    fx = scipy.fft.fftfreq(mx, d=h)
    fy = scipy.fft.fftfreq(my, d=h)
    fx2, fy2 = (f.astype(np.float32) ** 2 for f in (fx, fy))
    eigen = _matern_density_2d(model, fx2[:, None] + fy2[None, :])
    eigen /= np.float32(h * h)
    # covariance at a few lags: (1/N) sum eigen cos(2 pi f.lag), separable in x and y
    cos_x = np.stack([np.ones(mx), np.cos(2 * np.pi * fx * h)]).astype(np.float32)
    cos_y = np.stack([np.ones(my), np.cos(2 * np.pi * fy * h)]).astype(np.float32)
    lags = (cos_x @ eigen @ cos_y.T).astype(np.float64) / (mx * my)
    np.sqrt(eigen, out=eigen)
    return PlaneGrid(
        spacing_km=h,
        origin_km=(float(lo[0]) - h, float(lo[1]) - h),
        shape=(mx, my),
        amplitude=eigen,
        lag_covariance=(
            float(lags[0, 0]),
            float(lags[1, 0]),
            float(lags[0, 1]),
            float(lags[1, 1]),
        ),
    )


def _bilinear(grid: PlaneGrid, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat index (int64, shape ``(n,)``) of the node ``(i, j)`` below and left of each cell,
    the cell's offsets ``(u, v)`` from it in units of ``h`` (float32, shape ``(n, 2)``), and
    the variance (degC**2) of the grid field interpolated bilinearly at the cell."""
    pos = xy - np.asarray(grid.origin_km)
    pos /= grid.spacing_km
    corner = np.floor(pos)
    pos -= corner
    flat = corner[:, 0].astype(np.int64) * grid.shape[1] + corner[:, 1].astype(np.int64)
    u, v = pos.T
    c0, cx, cy, cxy = grid.lag_covariance
    # sum over node pairs of w_a w_b cov(a - b), weights (1-u)(1-v), u(1-v), (1-u)v, uv
    su = (1 - u) ** 2 + u**2
    sv = (1 - v) ** 2 + v**2
    pu = 2 * u * (1 - u)
    pv = 2 * v * (1 - v)
    variance = c0 * su * sv + cx * pu * sv + cy * su * pv + cxy * pu * pv
    return flat, pos.astype(np.float32), variance


def _interpolate(field: np.ndarray, flat: np.ndarray, uv: np.ndarray, ny: int) -> np.ndarray:
    """Bilinear interpolation of a flattened grid ``field`` (``ny`` nodes a row) at cells."""
    u, v = uv.T
    low = field[flat] * (1 - v) + field[flat + 1] * v
    high = field[flat + ny] * (1 - v) + field[flat + ny + 1] * v
    return low * (1 - u) + high * u


def _plane_fields(
    model: CovarianceModel,
    nside: int,
    n_fields: int,
    rng: np.random.Generator,
    xy: np.ndarray,
) -> np.ndarray:
    """Draws on the tangent plane's periodic grid, two per complex FFT, read at the cells."""
    grid = plane_grid(model, nside, xy)
    flat, uv, variance = _bilinear(grid, xy)
    white = np.sqrt(model.nugget + np.maximum(model.sill - variance, 0.0))
    del xy, variance
    n = flat.size
    fields = np.empty((n_fields, n))
    noise = np.empty(grid.shape, dtype=np.complex64)
    for first in range(0, n_fields, 2):
        noise.real = rng.standard_normal(grid.shape, dtype=np.float32)
        noise.imag = rng.standard_normal(grid.shape, dtype=np.float32)
        noise *= grid.amplitude
        # the real and imaginary parts are two independent fields with the circulant covariance
        field = scipy.fft.ifft2(noise, norm="ortho", overwrite_x=True).ravel()
        pair = fields[first : first + 2]
        for start in range(0, n, _CHUNK):
            part = slice(start, start + _CHUNK)
            values = _interpolate(field, flat[part], uv[part], grid.shape[1])
            pair[0, part] = values.real
            if pair.shape[0] > 1:
                pair[1, part] = values.imag
        pair += white * rng.standard_normal(pair.shape)
    return fields


def gaussian_random_field(
    model: CovarianceModel,
    nside: int,
    *,
    n_fields: int = 1,
    seed: int | np.random.Generator | None = None,
    cells: np.ndarray | None = None,
    method: str = "auto",
) -> np.ndarray:
    """Zero-mean Gaussian random fields with covariance ``model`` on NESTED HEALPix cells.

    Two ways to draw them (``method``), with the same covariance and variance
    ``sill + nugget`` in every cell:

    - ``"sphere"``: spherical-harmonic synthesis up to ``lmax = 3 nside - 1`` of
      :func:`angular_power_spectrum` on the whole sphere, plus independent noise in each cell
      of variance ``model.nugget`` and of the variance of the correlated part above ``lmax``
      (scales the grid cannot hold). With ``cells`` it keeps those cells of the full-sphere
      fields: the cost of a full-sphere draw whatever the region (a minute and 2.4 GB at nside
      2048; out of reach at 8192).
    - ``"plane"`` (needs ``cells``): a local draw, cost proportional to the region. The cells
      are mapped to the azimuthal equidistant plane about their centre
      (:func:`tangent_plane`); a periodic grid of that plane holding them with a margin
      (:func:`plane_grid`, spacing half a cell or half the length scale, coarser only past
      :data:`PLANE_MAX_NODES`) gets a
      field whose covariance is the model's Matérn of the plane distance, by FFT of the
      model's spectral density (circulant embedding). Each cell takes the bilinear
      interpolation of its four surrounding nodes, plus independent noise of variance
      ``nugget + sill - var(interpolated)``, so that each cell has the model's variance
      exactly. Errors in the covariance, against the model's: the plane's distances
      (up to ``alpha / sin(alpha) - 1``, 2 % at the :data:`PLANE_MAX_RADIUS_DEG` limit),
      great-circle against chord distance (``d**2 / 24 R**2``, 0.1 % at 1000 km), the wrap
      (:data:`PLANE_WRAP_CORRELATION` at most), and the interpolation, which averages the
      covariance over node offsets of less than ``h`` (of order ``sill (h / L)**2`` at a lag
      of one cell and more) and moves the variance it removes at scales under ``h`` into the
      white noise (as the sphere does above ``lmax``). Computed exactly for 3000 pairs of
      cells of a 30 x 20 degree box at nside 128: within 0.02 sill of the model for length
      scales 100 to 2000 km and every smoothness (rms 0.002).
    - ``"auto"`` (default): ``"plane"`` when ``cells`` lie within
      :data:`PLANE_MAX_RADIUS_DEG` degrees of their centre (a 30 x 20 degree box reaches 18), else ``"sphere"``.

    Parameters
    ----------
    model : CovarianceModel
        Covariance of the fields.
    nside : int
        HEALPix resolution.
    n_fields : int
        Number of independent fields.
    seed : int, numpy.random.Generator or None
        Seed or generator: the same seed gives the same fields (for one ``method``).
    cells : numpy.ndarray, optional
        NESTED ids, shape ``(n,)`` (e.g. a regional grid's ``ids``): draw there only.
    method : {"auto", "sphere", "plane"}
        How to draw ``cells``, see above.

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
    if isinstance(n_fields, bool) or not isinstance(n_fields, int | np.integer) or n_fields < 0:
        raise ValueError(f"n_fields must be an integer >= 0, got {n_fields!r}")
    if method not in ("auto", "sphere", "plane"):
        raise ValueError(f'method must be "auto", "sphere" or "plane", got {method!r}')
    rng = np.random.default_rng(seed)
    if cells is None:
        if method == "plane":
            raise ValueError('method="plane" draws on a region: give its NESTED ids as cells=')
        return _sphere_fields(model, nside, n_fields, rng, None)
    ids = _check_cells(cells, nside)
    if ids.size == 0:
        return np.empty((n_fields, 0))
    if method == "sphere":
        return _sphere_fields(model, nside, n_fields, rng, ids)
    xy, radius = tangent_plane(nside, ids)
    if radius > PLANE_MAX_RADIUS_DEG:
        if method == "plane":
            raise ValueError(
                f'method="plane": the cells reach {radius:.1f} degrees from their centre, '
                f"beyond the {PLANE_MAX_RADIUS_DEG} degrees a tangent plane holds; use "
                'method="sphere" (or "auto")'
            )
        return _sphere_fields(model, nside, n_fields, rng, ids)
    return _plane_fields(model, nside, n_fields, rng, xy)
