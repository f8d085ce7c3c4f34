"""eogapfill: fill the gaps (clouds, bad pixels) in Earth-observation maps on the sphere.

The package follows the data: ``data``/``sample`` open the stores, ``preprocess`` turns them
into a clean day, ``healpix``/``regrid`` put it on a HEALPix grid, ``fill`` fills the gaps,
``validate`` scores the fills and ``plot`` draws them; ``pipeline`` and ``cli`` sit on top.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("eogapfill")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = ["__version__"]
