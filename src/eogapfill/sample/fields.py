"""Grid operations and random fields of the sample generator (regular lat/lon grids).

Periodic dilation and labelling, interpolation between cell-centre grids, Gaussian smoothing
and the standardised Gaussian random fields, fixed or evolving smoothly with the day, that
move the fronts, texture the ocean and draw the clouds. Everything here is plain numpy/scipy
on global grids, periodic in longitude, with latitude ascending.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.fft
from scipy import ndimage
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components


# ---------------------------------------------------------------------------------------------
# morphology, periodic in longitude
# ---------------------------------------------------------------------------------------------
def wrap_dilate(mask: np.ndarray, iterations: int, connectivity: int = 2) -> np.ndarray:
    """Binary dilation periodic in longitude (the last axis); 8-connected by default."""
    if iterations <= 0:
        return mask.copy()
    pad = iterations
    padded = np.pad(mask, ((0, 0), (pad, pad)), mode="wrap")
    structure = ndimage.generate_binary_structure(2, connectivity)
    grown = ndimage.binary_dilation(padded, structure=structure, iterations=pad)
    return grown[:, pad:-pad]


def wrap_label(mask: np.ndarray) -> np.ndarray:
    """Connected components (8-connected) of ``mask``, periodic in longitude; 0 off the mask."""
    labels, n = ndimage.label(mask, structure=np.ones((3, 3), bool))
    first, last = labels[:, 0], labels[:, -1]
    pairs = [(first, last), (first[1:], last[:-1]), (first[:-1], last[1:])]
    a = np.concatenate([p[0] for p in pairs])
    b = np.concatenate([p[1] for p in pairs])
    keep = (a > 0) & (b > 0)
    graph = coo_matrix((np.ones(keep.sum()), (a[keep], b[keep])), shape=(n + 1, n + 1))
    _, component = connected_components(graph, directed=False)
    merged = component[labels] + 1
    merged[labels == 0] = 0
    return merged


# ---------------------------------------------------------------------------------------------
# interpolation and random fields
# ---------------------------------------------------------------------------------------------
class Interpolator:
    """Interpolation of a global field on a regular cell-centre grid, periodic in longitude.

    ``order=1`` is bilinear (plain numpy; a complex field interpolates two components at
    once), ``order=3`` a cubic spline (scipy.ndimage).
    """

    _PAD = 8

    def __init__(self, field: np.ndarray, order: int) -> None:
        p = self._PAD
        self.ny, self.nx = field.shape
        self.step = 180.0 / self.ny
        self.order = order
        dtype = np.float64 if order > 1 else field.dtype
        padded = np.pad(np.asarray(field, dtype), ((p, p), (0, 0)), mode="edge")
        padded = np.pad(padded, ((0, 0), (p, p)), mode="wrap")
        self.coef = ndimage.spline_filter(padded, order=order) if order > 1 else padded

    def __call__(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        p = self._PAD
        lat, lon = np.broadcast_arrays(lat, lon)
        dtype = np.float64 if self.order > 1 else np.float32
        i = (lat.astype(dtype) + 90.0) / self.step - 0.5
        j = (lon.astype(dtype) + 180.0) / self.step - 0.5
        i = np.clip(i, -p / 2, self.ny - 1 + p / 2) + p
        j = np.mod(j, self.nx) + p
        if self.order > 1:
            out = ndimage.map_coordinates(
                self.coef, [i, j], order=self.order, prefilter=False, mode="nearest"
            )
            return out.astype(np.float32)
        i0, j0 = np.floor(i).astype(np.intp), np.floor(j).astype(np.intp)
        wi, wj = i - i0, j - j0
        flat = self.coef.ravel()
        k = i0 * self.coef.shape[1] + j0
        top = flat[k] + wj * (flat[k + 1] - flat[k])
        k += self.coef.shape[1]
        bottom = flat[k] + wj * (flat[k + 1] - flat[k])
        return top + wi * (bottom - top)


def _power(k: np.ndarray, kind: str, k0: float, slope: float) -> np.ndarray:
    """2-D power spectral density shapes; ``k`` in cycles per degree."""
    q = (k / k0) ** 2
    if kind == "red":  # flat below k0, k**(-2 slope) above
        return (1.0 + q) ** (-slope)
    if kind == "band":  # rises as k**2 below k0, falls as k**(2 - 2 slope) above
        return q * (1.0 + q) ** (-slope)
    raise ValueError(kind)


def gaussian_field(
    rng: np.random.Generator,
    shape: tuple[int, int],
    spacing: float,
    spectrum: tuple[str, float, float, float],
) -> np.ndarray:
    """A standardised Gaussian random field with the given spectrum, (ny, nx) float32.

    ``spectrum = (kind, k0, slope, stretch)``; ``stretch > 1`` elongates the features along
    longitude. Periodic in both directions (the FFT wraps), which is harmless at the poles.
    """
    kind, k0, slope, stretch = spectrum
    ny, nx = shape
    ky = scipy.fft.fftfreq(ny, d=spacing).astype(np.float32)[:, None]
    kx = scipy.fft.rfftfreq(nx, d=spacing).astype(np.float32)[None, :]
    k = np.sqrt((stretch * kx) ** 2 + ky**2)
    amplitude = np.sqrt(_power(k, kind, k0, slope)).astype(np.float32)
    amplitude[0, 0] = 0.0
    noise = rng.standard_normal((2, ny, nx // 2 + 1), dtype=np.float32)
    spec = (noise[0] + 1j * noise[1]) * amplitude
    field = scipy.fft.irfft2(spec, s=(ny, nx)).astype(np.float32)
    field -= field.mean()
    field /= field.std()
    return field


@lru_cache(maxsize=12)
def _anchor(
    stream: int,
    index: int,
    seed: int,
    shape: tuple[int, int],
    spacing: float,
    spectrum: tuple[str, float, float, float],
) -> np.ndarray:
    rng = np.random.default_rng([seed, stream, index])
    field = gaussian_field(rng, shape, spacing, spectrum)
    field.flags.writeable = False
    return field


def evolving(
    stream: int,
    day: int,
    tau: float,
    seed: int,
    shape: tuple[int, int],
    spacing: float,
    spectrum: tuple[str, float, float, float],
) -> np.ndarray:
    """A random field that evolves smoothly with the day number, time scale ``tau`` days.

    Independent fields are drawn every ``tau`` days and blended with cos/sin weights, which
    keeps the variance and gives a correlation of about ``cos(pi / (2 tau))`` between days.
    """
    t = day / tau + 0.37 * stream  # offsets: the streams do not renew on the same day
    index = int(np.floor(t))
    u = t - index
    a = _anchor(stream, index, seed, shape, spacing, spectrum)
    b = _anchor(stream, index + 1, seed, shape, spacing, spectrum)
    return (
        np.cos(0.5 * np.pi * u, dtype=np.float32) * a
        + np.sin(0.5 * np.pi * u, dtype=np.float32) * b
    )


def day_rng(seed: int, stream: int, day: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream, day])


def smooth(field: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing in grid cells, periodic in longitude."""
    if sigma <= 0:
        return field
    return ndimage.gaussian_filter(field, sigma, mode=("nearest", "wrap"), truncate=3.0)


def masked_smooth(field: np.ndarray, weight: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing that ignores cells where ``weight`` is 0 (normalised convolution)."""
    w = weight.astype(np.float32)
    num = smooth(np.where(weight, field, 0.0).astype(np.float32), sigma)
    den = smooth(w, sigma)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 1e-6, num / den, field).astype(np.float32)


def gradient(field: np.ndarray, lat: np.ndarray, step: float) -> np.ndarray:
    """Magnitude of the horizontal gradient, units of ``field`` per degree of latitude."""
    gy = np.gradient(field, step, axis=0)
    coslat = np.maximum(np.cos(np.deg2rad(lat)), 0.05).astype(np.float32)[:, None]
    gx = (np.roll(field, -1, axis=1) - np.roll(field, 1, axis=1)) / (2 * step * coslat)
    return np.hypot(gx, gy).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# resampling between regular grids
# ---------------------------------------------------------------------------------------------
def _keys(x: np.ndarray) -> np.ndarray:
    """Cubic convolution kernel of Keys (1981), a = -0.5."""
    x = np.abs(x)
    return np.where(
        x <= 1, (1.5 * x - 2.5) * x * x + 1, np.where(x < 2, ((-0.5 * x + 2.5) * x - 4) * x + 2, 0)
    )


@lru_cache(maxsize=8)
def _interp_weights(n_src: int, n_dst: int, periodic: bool, cubic: bool) -> csr_matrix:
    """Sparse (n_dst, n_src) interpolation matrix between two cell-centre grids of an axis."""
    pos = (np.arange(n_dst) + 0.5) * n_src / n_dst - 0.5  # destination centres, source index
    lo = np.floor(pos).astype(int)
    frac = pos - lo
    offsets = np.array([-1, 0, 1, 2]) if cubic else np.array([0, 1])
    cols = lo[:, None] + offsets[None, :]
    vals = _keys(frac[:, None] - offsets[None, :]) if cubic else 1 - np.abs(frac[:, None] - offsets)
    cols = cols % n_src if periodic else np.clip(cols, 0, n_src - 1)
    rows = np.repeat(np.arange(n_dst), offsets.size)
    return csr_matrix((vals.ravel(), (rows, cols.ravel())), shape=(n_dst, n_src))


def resample(field: np.ndarray, shape: tuple[int, int], *, cubic: bool = False) -> np.ndarray:
    """A global cell-centre field on another regular grid: block means to a coarser grid,
    separable (bi)linear or cubic interpolation to a finer one."""
    ny, nx = field.shape
    if (ny, nx) == shape:
        return field
    if shape[0] < ny:
        m = ny // shape[0]
        return field.reshape(shape[0], m, shape[1], m).mean(axis=(1, 3), dtype=np.float32)
    wy = _interp_weights(ny, shape[0], False, cubic)
    wx = _interp_weights(nx, shape[1], True, cubic)
    return np.asarray((wx @ (wy @ field).T).T, dtype=np.float32)


def smooth_deg(field: np.ndarray, sigma_deg: float) -> np.ndarray:
    """Gaussian smoothing with a width in degrees, done on a grid of at least 0.5 degree."""
    ny, nx = field.shape
    step = 180.0 / ny
    if step >= 0.5:
        return smooth(field, sigma_deg / step)
    m = round(0.5 / step)
    if ny % m or nx % m:
        return smooth(field, sigma_deg / step)
    coarse = field.reshape(ny // m, m, nx // m, m).mean(axis=(1, 3), dtype=np.float32)
    return resample(smooth(coarse, sigma_deg / (step * m)), (ny, nx))
