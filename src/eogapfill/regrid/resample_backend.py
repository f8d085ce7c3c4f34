"""An optional backend of :func:`~eogapfill.regrid.to_healpix`: the values of the observed
cells from the ``healpix-resample`` operators (lon/lat samples to HEALPix, torch, CPU).

``to_healpix(day, nside, backend="resample-<method>")`` keeps everything the binning decides
(``sea_fraction``, ``sea``, ``gap``: which cells are sea and which are observed) and changes
only the value of each observed cell: the cell mean of its source points (``"bin"``, the
default) or one of

- ``nearest``: the observed point nearest to the cell centre;
- ``bilinear``: healpix-resample's inverse-distance blend (each point spreads over its four
  nearest cell centres, each cell normalises the weights it receives; on cells finer than
  the points, a cell that no point reaches keeps its binned value);
- ``conservative``: the mean of the cell's points weighted by their area (``cos(latitude)``
  on a regular grid);
- ``groupby``: the plain mean of the cell's points (the binning, computed by torch).

Only the observed points of each variable are resampled (NaN = no value), so a cloud never
enters an observed cell. The operators use the package's grid: NESTED ids on the sphere
(``ellipsoid="sphere"``, the cells of healpy's ``ang2pix``), not healpix-resample's default
WGS84 ellipsoid. Install with ``pip install "eogapfill[resample]"``.
"""

from __future__ import annotations

import warnings
from types import ModuleType

import numpy as np

__all__ = ["BACKENDS", "METHODS", "backend_method", "resample_cells", "resampled_means"]

#: healpix-resample methods available as ``backend="resample-<method>"``.
METHODS = ("nearest", "bilinear", "conservative", "groupby")
#: Every value of ``to_healpix(..., backend=...)``.
BACKENDS = ("bin", *(f"resample-{m}" for m in METHODS))
#: Source points per slice of the neighbour search (bounds its temporary memory).
BATCH_POINTS = 2**18


def backend_method(backend: str) -> str | None:
    """The healpix-resample method of a ``backend`` value; None for the binning (``"bin"``).

    Raises
    ------
    ValueError
        A value that is not one of :data:`BACKENDS`.
    """
    if backend == "bin":
        return None
    method = backend.removeprefix("resample-") if isinstance(backend, str) else None
    if method not in METHODS or not backend.startswith("resample-"):
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}; got {backend!r}")
    return method


def _package() -> ModuleType:
    """healpix_resample, or an ImportError that names the extra to install."""
    try:
        import healpix_resample
    except ImportError as err:
        raise ImportError(
            "backend='resample-...' needs the optional package healpix-resample: "
            'pip install "eogapfill[resample]" (healpix-resample==2026.10.2), or use the '
            'default backend="bin"'
        ) from err
    return healpix_resample


def _points(
    lat: np.ndarray, lon: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Longitude, latitude (degrees) and value of the finite points of a ``(lat, lon)`` grid."""
    ok = np.isfinite(values)
    rows, cols = np.nonzero(ok)
    return lon[cols].astype("float64"), lat[rows].astype("float64"), values[ok].astype("float64")


def _on_cells(ids: np.ndarray, data: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Values ``data`` given on cells ``ids`` put on the requested ``cells`` (NaN: none)."""
    out = np.full(cells.size, np.nan)
    if ids.size == 0:
        return out
    order = np.argsort(ids)
    ids, data = ids[order], data[order]
    pos = np.clip(np.searchsorted(ids, cells), 0, ids.size - 1)
    hit = ids[pos] == cells
    out[hit] = data[pos[hit]]
    return out


def resample_cells(
    lat: np.ndarray,
    lon: np.ndarray,
    values: np.ndarray,
    nside: int,
    cells: np.ndarray,
    method: str,
) -> np.ndarray:
    """Values of the HEALPix ``cells`` from the finite points of a lat/lon grid.

    Parameters
    ----------
    lat, lon : numpy.ndarray, shapes ``(ny,)`` and ``(nx,)``
        The grid's axes in degrees (longitude in -180..180 or 0..360).
    values : numpy.ndarray, shape ``(ny, nx)``
        The field (e.g. degC); NaN = no value, never used.
    nside : int
        HEALPix resolution (a power of two).
    cells : numpy.ndarray of int, shape ``(k,)``
        NESTED ids of the cells wanted.
    method : str
        One of :data:`METHODS`.

    Returns
    -------
    numpy.ndarray, shape ``(k,)``, float64
        The value of each cell; NaN where the method gives none: no point inside
        (``conservative``, ``groupby``), no point linked to it (``bilinear``).

    Raises
    ------
    ImportError
        healpix-resample is not installed (names the ``resample`` extra).
    ValueError
        An unknown ``method``.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    hr = _package()
    cells = np.asarray(cells, dtype=np.int64).ravel()
    lon_p, lat_p, val_p = _points(np.asarray(lat), np.asarray(lon), np.asarray(values))
    if cells.size == 0 or val_p.size == 0:
        return np.full(cells.size, np.nan)
    common = {
        "lon_deg": lon_p,
        "lat_deg": lat_p,
        "level": int(nside).bit_length() - 1,
        "ellipsoid": "sphere",
        "device": "cpu",
        "verbose": False,
    }
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSC tensor support", category=UserWarning)
        if method in ("nearest", "bilinear"):
            ids, data = _neighbour_values(hr, method, val_p, cells, common)
        else:
            ids, data = _binned_values(hr, method, val_p, common)
    return _on_cells(ids, data, cells)


def _neighbour_values(
    hr: ModuleType, method: str, values: np.ndarray, cells: np.ndarray, common: dict
) -> tuple[np.ndarray, np.ndarray]:
    """Cell ids ``(m,)`` and values ``(m,)`` of the nearest or bilinear operator (NaN: a cell
    that no point reaches)."""
    cls = hr.NearestResampler if method == "nearest" else hr.BilinearResampler
    op = cls(out_cell_ids=cells, batch_size=BATCH_POINTS, **common)
    ids = np.asarray(op.cell_ids.cpu().numpy())
    if method == "nearest":
        data = np.asarray(op.resample(values).cell_data)
        reached = op.hi_k.cpu().numpy() >= 0  # -1: no point found (it would read point 0)
    else:  # a cell that no point links to reads 0: find it by resampling ones
        both = np.stack([values, np.ones_like(values)])
        data, weight = np.asarray(op.resample(both).cell_data)
        reached = weight > 0.5
    return ids, np.where(reached, data, np.nan)


def _binned_values(
    hr: ModuleType, method: str, values: np.ndarray, common: dict
) -> tuple[np.ndarray, np.ndarray]:
    """Cell ids ``(m,)`` and values ``(m,)`` of the cells holding a point: their plain mean
    (``groupby``) or their ``cos(latitude)``-weighted mean (``conservative``)."""
    if method == "groupby":
        result = hr.GroupByResampler(reduce="mean", **common).resample(values)
        return np.asarray(result.cell_ids), np.asarray(result.cell_data)
    op = hr.ConservativeResampler(area=np.cos(np.radians(common["lat_deg"])), **common)
    total = np.asarray(op.resample(values).cell_data)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / op.cell_area.cpu().numpy()
    return np.asarray(op.cell_ids.cpu().numpy()), mean


def resampled_means(
    method: str,
    lat: np.ndarray,
    lon: np.ndarray,
    arrays: list[np.ndarray],
    means: list[np.ndarray],
    nside: int,
    ids: np.ndarray | None,
    rows: slice,
    cols: slice | np.ndarray,
) -> tuple[list[np.ndarray], int]:
    """The binned cell ``means`` with their observed cells' values replaced by ``method``'s.

    Parameters
    ----------
    method : str
        One of :data:`METHODS`.
    lat, lon : numpy.ndarray, shapes ``(ny,)`` and ``(nx,)``
        The source grid's axes (degrees).
    arrays : list of numpy.ndarray, each ``(ny, nx)``
        The source variables (NaN = no value).
    means : list of numpy.ndarray, each ``(ncells,)``
        Their binned cell means in NESTED order (NaN off the sea and on gaps).
    nside : int
        HEALPix resolution.
    ids : numpy.ndarray or None
        NESTED ids of a region's cells (None: the whole sphere, ids ``0..12 nside**2 - 1``).
    rows, cols : slice or index array
        The source rows and columns that can fall in the cells.

    Returns
    -------
    (list of numpy.ndarray, int)
        The new means (same dtypes; a cell keeps its binned value where ``method`` gives none)
        and the number of observed cells that kept it.
    """
    out, kept = [], 0
    for array, mean in zip(arrays, means, strict=True):
        observed = np.flatnonzero(np.isfinite(mean))
        cells = observed if ids is None else np.asarray(ids)[observed]
        source = np.asarray(array)[rows][:, cols]
        new = resample_cells(lat[rows], lon[cols], source, nside, cells, method)
        missing = ~np.isfinite(new)
        kept += int(missing.sum())
        new[missing] = mean[observed[missing]]
        result = mean.copy()
        result[observed] = new.astype(mean.dtype)
        out.append(result)
    return out, kept
