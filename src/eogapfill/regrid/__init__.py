"""Regrid a day between its regular latitude/longitude grid and the HEALPix grid.

:func:`to_healpix` puts every source point into the HEALPix cell that contains it (healpy
``ang2pix``, true east longitudes, no east-west mirror) and averages, in one ``np.bincount``
pass over the points: band by band for numpy inputs, block by block (lazily) for dask inputs.
The cell of every source point is computed once per (grid, nside) and cached. With a
``region`` every step works on the region's cells only: their centres, the source rows and
columns that can fall in them (the region's latitudes and longitudes with a margin of two
cells), the nearest-point copy of its empty cells; time and memory scale with the region, so
a 6 x 4 degree box at nside 8192 costs what its 400 000 cells cost, not the sphere's 805
million.
:func:`to_latlon` goes back to a regular grid, for plots and export, by sampling at each grid
point the cell that contains it.

Rules of the binning:

- a cell's value is the mean of the source points *with a value* that fall in it;
- a cell is sea when the fraction of its source points that are open sea (the day's ``sea``)
  is at least ``sea_threshold``; every variable is NaN in the other cells, so land never
  becomes ocean;
- ``gap`` is a sea cell without an observation (``SST_L3S`` NaN): what a fill fills.

Cells that contain no source point (``nside`` finer than the grid somewhere) copy their
*nearest* source point (nearest row, nearest column): its ``sea`` flag, its values, hence its
gap status, come from a real point, so such a cell is a gap only where that point is a cloud.
Their number is the ``regrid_nearest_cells`` attribute; a warning says when they are most of
the cells (the grid is too coarse for that ``nside``). Cells beyond the edge of a regional grid
have no data: ``sea_fraction`` NaN, ``sea`` and ``gap`` False (never filled); their number is
``regrid_outside_cells``.

An all-cloud day is regridded (``gap`` is then True on every sea cell) with a warning, for
numpy inputs; the fills refuse to run on it. Dask inputs give a lazy result and are not
inspected: check ``ds.gap.all()`` yourself if it matters.

The package, one concept a module: ``checks`` (the day, its axes, the threshold),
``geometry`` (where the source points go, cached), ``means`` (cell sums and the finished
variables), ``binning`` (:func:`to_healpix`) and ``latlon`` (:func:`to_latlon`).
"""

from eogapfill.regrid.binning import to_healpix
from eogapfill.regrid.latlon import to_latlon

__all__ = ["to_healpix", "to_latlon"]
