"""The 1 km GLOBE land/ocean mask of ``global-land-mask``, read without holding it in memory.

The package ships the mask as one compressed boolean array of 21600 x 43200 points (about
1 GB unpacked, True = ocean, rows from 90N to 90S, columns from 180W to 180E, 1/120 degree).
:func:`globe_row_blocks` streams it block by block; :func:`ocean_at` looks up the points of a
lat/lon grid; the sample generator averages it onto its own grid.
"""

from __future__ import annotations

import importlib.util
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

__all__ = ["GLOBE_SHAPE", "globe_row_blocks", "ocean_at"]

#: (rows, columns) of the GLOBE mask: 1/120 degree from 90N and from 180W.
GLOBE_SHAPE = (21600, 43200)


def _mask_file() -> Path:
    spec = importlib.util.find_spec("global_land_mask")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "the land mask comes from the 'global-land-mask' package: pip install global-land-mask"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "globe_combined_mask_compressed.npz"


def globe_row_blocks(rows: int = 240) -> Iterator[tuple[int, np.ndarray]]:
    """Stream the GLOBE mask as ``(first_row, block)``: ``block`` is bool ``(n, 43200)``,
    True = ocean, ``n = rows`` except for the last block; rows run from north to south."""
    path = _mask_file()
    with zipfile.ZipFile(path) as archive, archive.open("mask.npy") as stream:
        major, _ = np.lib.format.read_magic(stream)
        read_header = (
            np.lib.format.read_array_header_1_0
            if major == 1
            else np.lib.format.read_array_header_2_0
        )
        shape, fortran, dtype = read_header(stream)
        if tuple(shape) != GLOBE_SHAPE or fortran or dtype != np.dtype(bool):
            raise RuntimeError(f"unexpected layout of the land mask in {path}")
        n_rows, n_cols = GLOBE_SHAPE
        for start in range(0, n_rows, rows):
            n = min(rows, n_rows - start)
            yield start, np.frombuffer(stream.read(n * n_cols), dtype=bool).reshape(n, n_cols)


def ocean_at(latitude: np.ndarray, longitude: np.ndarray) -> np.ndarray:
    """Ocean (True) or land at the points of a lat/lon grid, from the GLOBE pixel that holds each.

    Parameters
    ----------
    latitude, longitude : 1-D arrays (degrees; longitude in -180..180 or 0..360)
        The grid's axes.

    Returns
    -------
    numpy.ndarray of bool, shape ``(latitude.size, longitude.size)``
        Lakes count as land here. Only the GLOBE rows the grid needs are kept, so a regional
        grid costs little memory (the file is still read once through, a few seconds).
    """
    lat = np.asarray(latitude, dtype="float64")
    lon = np.asarray(longitude, dtype="float64")
    if lat.ndim != 1 or lon.ndim != 1:
        raise ValueError("latitude and longitude must be 1-D axes")
    n_rows, n_cols = GLOBE_SHAPE
    rows = np.clip(np.floor((90.0 - lat) * n_rows / 180.0).astype(np.int64), 0, n_rows - 1)
    east = (lon + 180.0) % 360.0
    cols = np.clip(np.floor(east * n_cols / 360.0).astype(np.int64), 0, n_cols - 1)
    out = np.zeros((lat.size, lon.size), dtype=bool)
    wanted = np.zeros(n_rows, dtype=bool)
    wanted[rows] = True
    last = int(rows.max()) if rows.size else -1
    for start, block in globe_row_blocks():
        if start > last:
            break
        n = block.shape[0]
        inside = (rows >= start) & (rows < start + n)
        if inside.any() and wanted[start : start + n].any():
            out[inside] = block[rows[inside] - start][:, cols]
    return out
