"""The look shared by every map: colours, colour maps and new figures.

SST is drawn with the perceptually uniform ``roma_r`` colour map of cmcrameri (Crameri 2018,
blue cold to red warm); land and lakes in grey, sea ice in pale blue, and missing observations
over the sea (clouds) in white, so that a gap never looks like land.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import Colormap
from matplotlib.figure import Figure

__all__ = [
    "CLOUD_COLOR",
    "COAST_COLOR",
    "ICE_COLOR",
    "LAND_COLOR",
    "OUTSIDE_COLOR",
    "sst_cmap",
]

#: Colour of land and lakes.
LAND_COLOR = "0.6"
#: Colour of sea without a value (clouds, gaps).
CLOUD_COLOR = "white"
#: Colour of sea ice without a value.
ICE_COLOR = "#c3d3e0"
#: Colour of the cells outside a regional map's region.
OUTSIDE_COLOR = "0.9"
#: Colour of the coast line of regional maps.
COAST_COLOR = "black"


def sst_cmap(name: str = "roma_r") -> Colormap:
    """A cmcrameri colour map (default ``roma_r``) with transparent missing values.

    >>> sst_cmap().name
    'roma_r'
    """
    import cmcrameri.cm as ccm

    try:
        cmap = ccm.cmaps[name]
    except KeyError as err:
        raise ValueError(
            f"unknown cmcrameri colour map {name!r}; try 'roma_r', 'lajolla' or 'vik'"
        ) from err
    return cmap.with_extremes(bad=(0.0, 0.0, 0.0, 0.0))


def _new_figure(figsize: tuple[float, float]) -> Figure:
    """A new figure made through pyplot, then released by it.

    Going through pyplot activates the backend, which in IPython registers the display of
    ``Figure`` objects: a returned figure then shows even when it is the first figure of the
    kernel. Closing it keeps pyplot from showing it a second time.
    """
    fig = plt.figure(figsize=figsize, layout="constrained")
    plt.close(fig)
    return fig


def _resolve_cmap(cmap: str | Colormap | None) -> Colormap:
    """A colour map from a cmcrameri or matplotlib name (default ``roma_r``), NaN transparent."""
    if cmap is None:
        return sst_cmap()
    if isinstance(cmap, str):
        try:
            return sst_cmap(cmap)
        except ValueError:
            return plt.get_cmap(cmap).with_extremes(bad=(0.0, 0.0, 0.0, 0.0))
    return cmap


def _panel_range(shown: np.ndarray, vmin: float | None, vmax: float | None) -> tuple[float, float]:
    """The colour range of a set of panels: the 1st and 99th percentiles of the finite values
    ``shown`` where ``vmin``/``vmax`` are not given; ``ValueError`` when there is none."""
    if shown.size == 0:
        raise ValueError("no finite value to draw in the region")
    if vmin is None or vmax is None:
        lo, hi = np.percentile(shown, [1, 99])
        vmin = float(lo) if vmin is None else vmin
        vmax = float(hi) if vmax is None else vmax
    return vmin, vmax


def _panel_grid(n_panels: int, ncols: int | None) -> tuple[int, int]:
    """``(nrows, ncols)`` of ``n_panels`` panels, at most 4 a row unless ``ncols`` is given."""
    ncols = min(n_panels, 4) if ncols is None else ncols
    return -(-n_panels // ncols), ncols
