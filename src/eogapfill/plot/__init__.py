"""Maps of SST fields: latitude/longitude grids and HEALPix maps, full-sphere or regional.

Every function returns a :class:`matplotlib.figure.Figure` and never calls ``plt.show``: in a
notebook the returned figure is displayed once (figures are not left registered with pyplot),
in a script save it with ``fig.savefig(...)``. The code only draws on figures it is given or
creates, so it runs with any backend, including the headless ``Agg``.

One concept per module, every name importable from ``eogapfill.plot``:

- :mod:`~eogapfill.plot.style`: colours (land, clouds, ice, outside a region, coast), the SST
  colour map, new figures;
- :mod:`~eogapfill.plot.latlon`: maps on a lat/lon grid (:func:`plot_latlon`) and a day of
  the L3S and L4 products (:func:`plot_sample_day`);
- :mod:`~eogapfill.plot.sphere`: HEALPix maps of the full sphere (:func:`plot_healpix`,
  :func:`plot_healpix_panels`);
- :mod:`~eogapfill.plot.regional`: regional HEALPix maps, which the two functions above draw
  on a lat/lon box with the coast of the map's own sea cells.
"""

from __future__ import annotations

from eogapfill.plot.latlon import _celsius as _celsius
from eogapfill.plot.latlon import plot_latlon, plot_sample_day
from eogapfill.plot.sphere import plot_healpix, plot_healpix_panels
from eogapfill.plot.style import (
    CLOUD_COLOR,
    COAST_COLOR,
    ICE_COLOR,
    LAND_COLOR,
    OUTSIDE_COLOR,
    sst_cmap,
)

__all__ = [
    "CLOUD_COLOR",
    "COAST_COLOR",
    "ICE_COLOR",
    "LAND_COLOR",
    "OUTSIDE_COLOR",
    "plot_healpix",
    "plot_healpix_panels",
    "plot_latlon",
    "plot_sample_day",
    "sst_cmap",
]
