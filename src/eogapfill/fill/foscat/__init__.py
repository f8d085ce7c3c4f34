"""Scattering-transform fill: gap cells that reproduce the texture statistics of the ocean.

The fill starts from a smooth guess (Laplace or spherical-harmonic fit) and moves **only the
gap cells** by gradient descent (L-BFGS, :class:`foscat.Synthesis.Synthesis`) until the
scattering covariance statistics of the map (:func:`foscat.scat_cov.funct`, measured under
smooth local masks, see :func:`eogapfill.fill.masks.local_masks`) match *reference*
statistics. It is a conditional simulation: every member is one plausible map, their mean
is the ``filled`` field and their spread ``filled_std``.

Where the reference statistics come from decides what a score of the fill means, so every
result carries it in ``attrs["protocol"]``:

``"honest"`` (``reference="observed"``, the default)
    Statistics of the observed sea cells only (with a smooth fill in the gaps, so that
    the wavelets near a gap see no hole). No value from inside the gaps is used.
``"previous-day"`` (``reference=`` a HEALPix ``Dataset``/``DataArray``)
    Statistics of another map on the same grid: a previous day's L4 analysis or a
    climatology. Operationally possible, and free of the clear-sky selection bias.
``"oracle"`` (``reference="l4"``)
    Statistics of **the same day's** L4 analysis, the very map a fill is usually scored
    against. ``reference="l4", start="alm"`` reproduces the original tutorial (Alm start,
    no noise, no anchor, the loss under sea x local masks); its scores are optimistic and
    must be labelled as such.

Each member of the honest default starts from its own Gaussian conditional simulation
(:func:`eogapfill.fill.oi.fill_oi`: the optimal-interpolation mean plus simulated errors with
the covariance fitted to the observed cells), and an *anchor* keeps the means of NESTED
blocks of cells touching a gap close to the start's: the synthesis reshapes the texture of a
member, not its large scales, and the members keep the spread of the simulations. (The
smooth starts, ``"laplace"`` and ``"alm"``, get white noise instead; on the real case of
``benchmarks/quality.py`` their ensembles were under-dispersed and less accurate.) The loss is

.. math::

    L(x) = \\operatorname{mean}\\left|\\frac{\\Phi_{\\rm ref} - \\Phi(x)}{\\Phi_{\\rm ref}}\\right|^2
    + a \\, \\operatorname{mean}_{b}\\left(\\bar x_b - \\bar s_b\\right)^2

with :math:`\\Phi` the scattering statistics under the local masks times the sea,
:math:`\\bar x_b` and :math:`\\bar s_b` the means of block :math:`b` of the map and of the
start (blocks of :math:`4^k` cells, from 4 cells up to blocks of the nside-16 grid), and
:math:`a` = ``anchor`` in degC\\ :sup:`-2`. An optional texture term,
:math:`w\\,(D(x)/D_{\\rm obs} - 1)^2` with :math:`w` = ``texture_weight``, holds the mean
squared difference :math:`D` of neighbouring cells, over the pairs that hold a gap cell, at
its value :math:`D_{\\rm obs}` over pairs of observed cells (:func:`gap_pairs`).

With ``coarse_epochs`` the synthesis runs first on coarser grids (nside/2, nside/4, ...), where
an iteration costs about 4 times less per halving, each level starting from the start plus the
change made by the coarser level; the observed cells stay fixed and the reference statistics
honest at every level.

On a regional grid (``to_healpix(day, nside, region=...)``) the synthesis runs on the region's
cells only: foscat's ``scat_cov.funct.eval(x, mask=..., cell_ids=ids, nside=nside)`` builds
its wavelets, down-grading and masked means on a subset, with fewer scales (``J`` at most
``log4(n_cells) - 1``), and one operator per region (its kernel caches are keyed by nside).
Near the region's edge foscat's stencils drop the taps outside it and renormalise the others.
The coarse levels of a region hold the coarse cells of its cells (means over the cells
present).

foscat runs on torch and puts its tensors on the GPU whenever torch sees one. Its sparse
products, masked means and kernel building run through :mod:`eogapfill.fill.foscat.ops`
(installed on the package's operators at run time): the same statistics to float32 rounding,
for about a tenth (nside 32) to a twentieth (nside 64) of foscat's own CPU time per loss
evaluation.

The package, one concept per module: :mod:`~eogapfill.fill.foscat.adapter` (the torch/foscat
import, the operators, the device, foscat's output), :mod:`~eogapfill.fill.foscat.ops` (the
cached sparse products), :mod:`~eogapfill.fill.foscat.problem` (the loss problem, its coarse
levels and the synthesis of members), :mod:`~eogapfill.fill.foscat.protocols` (starts,
reference maps, masks, :func:`gap_pairs`) and :mod:`~eogapfill.fill.foscat.fill`
(:func:`fill_foscat`). Importing it loads neither foscat nor torch.
"""

from __future__ import annotations

from eogapfill.fill.foscat.fill import METHOD, fill_foscat
from eogapfill.fill.foscat.protocols import gap_pairs

__all__ = ["METHOD", "fill_foscat", "gap_pairs"]
