"""Laplace fill on the HEALPix neighbour graph: every gap cell becomes the mean of its neighbours.

The sea cells of a map (observed or gap) are the nodes of a graph whose edges join each
cell to its 8 (sometimes 7) HEALPix neighbours. Observed cells are fixed (a Dirichlet
boundary); every gap cell takes the mean of its sea neighbours, which is the discrete
Laplace equation. Land cells (NaN and not in the gaps) are neither nodes nor boundary: the
fill never reads them and never writes them.

All neighbours weigh the same. On HEALPix's slightly anisotropic cells this graph Laplacian
is close to, not exactly, the Laplace-Beltrami operator of the sphere: inside a cloud of
fixed angular size, a function harmonic on the sphere is reproduced with a small error that
does not vanish as nside grows; the error due to the field's curvature within small gaps
does vanish (as the cell size squared).

The linear system is solved directly (sparse LU) when it is small, otherwise by conjugate
gradients preconditioned with a multigrid V-cycle whose coarse levels are the NESTED parents
of the gap cells (smoothed aggregation): a few iterations at nside 512.

On a regional (partial) grid, neighbours outside the region are absent: a gap cell on the
region's edge is the mean of its neighbours inside the region (a natural, zero-flux boundary).
Away from the edge the fill equals the full-sphere fill of the same map wherever the gap
component lies wholly inside the region.

A gap component that touches no observed cell (an all-cloud enclosed sea, or a single sea
cell surrounded by land) has no boundary: Laplace's equation only says that it is constant.
The constant is the mean of the :data:`N_NEAREST_ISOLATED` observed cells nearest (great-circle
distance between cell centres) to the component; the output attributes ``isolated_components``
and ``isolated_cells`` count such components and their cells.
"""

from __future__ import annotations

import healpy as hp
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import xarray as xr
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from tqdm.auto import tqdm

from eogapfill.fill.common import checked_options, finish_fill, prepare_healpix_fill
from eogapfill.healpix import HealpixGrid, neighbour_mean

__all__ = ["N_NEAREST_ISOLATED", "fill_laplace", "neighbour_mean"]

#: Number of nearest observed cells whose mean fills a gap component without observed neighbour.
N_NEAREST_ISOLATED = 8

_OMEGA = 2.0 / 3.0  # damping of the Jacobi smoother
# Damping of the prolongation smoother. Not 2/3: on tiny gap components D^-1 L can have the
# eigenvalue 3/2 exactly, which makes the smoothed prolongation rank-deficient and the coarse
# matrix exactly singular.
_OMEGA_PROLONG = 0.66


class _GapGraph:
    """The gap cells, their links to each other and to the observed boundary."""

    def __init__(
        self, grid: HealpixGrid, gaps: np.ndarray, observed: np.ndarray, values: np.ndarray
    ):
        nb = grid.neighbours()
        self.cells = np.flatnonzero(gaps)
        n = self.cells.size
        position = np.full(gaps.size, -1, dtype=np.int64)
        position[self.cells] = np.arange(n)
        nbg = nb[self.cells]
        exists = nbg >= 0
        safe = np.where(exists, nbg, 0)
        to_gap = exists & gaps[safe]
        to_obs = exists & observed[safe]
        self.degree = (to_gap.sum(axis=1) + to_obs.sum(axis=1)).astype("float64")
        self.rhs = np.where(to_obs, values[safe], 0.0).sum(axis=1)
        self.touches_observed = to_obs.any(axis=1)
        indptr = np.concatenate([[0], np.cumsum(to_gap.sum(axis=1))])
        indices = position[safe[to_gap]]
        self.adjacency = sp.csr_matrix((np.ones(indices.size), indices, indptr), shape=(n, n))
        self.n_components, self.label = connected_components(self.adjacency, directed=False)
        has_boundary = np.zeros(self.n_components, dtype=bool)
        has_boundary[self.label[self.touches_observed]] = True
        self.determined = has_boundary[self.label]

    def laplacian(self, keep: np.ndarray) -> sp.csr_matrix:
        """Graph Laplacian (degree minus gap adjacency) restricted to the ``keep`` rows/columns."""
        adjacency = self.adjacency
        degree = self.degree
        if keep.size != adjacency.shape[0]:
            adjacency = adjacency[keep][:, keep]
            degree = degree[keep]
        return (sp.diags(degree) - adjacency).tocsr()


class _Multigrid:
    """Smoothed-aggregation V-cycle on NESTED parents, used as a CG preconditioner."""

    def __init__(self, matrix: sp.csr_matrix, cells: np.ndarray, coarse_size: int):
        self.levels: list[tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix, np.ndarray]] = []
        while matrix.shape[0] > coarse_size:
            parents, aggregate = np.unique(cells // 4, return_inverse=True)
            cells = parents
            n, nc = matrix.shape[0], parents.size
            if nc == n:  # no two cells share a parent at this level: go one level up
                continue
            tentative = sp.csr_matrix((np.ones(n), (np.arange(n), aggregate)), shape=(n, nc))
            dinv = 1.0 / matrix.diagonal()
            prolong = (tentative - sp.diags(_OMEGA_PROLONG * dinv) @ (matrix @ tentative)).tocsr()
            restrict = prolong.T.tocsr()
            self.levels.append((matrix, prolong, restrict, dinv))
            matrix = (restrict @ (matrix @ prolong)).tocsr()
        self.coarse = spla.splu(matrix.tocsc())

    def __call__(self, rhs: np.ndarray) -> np.ndarray:
        return self._cycle(rhs, 0)

    def _cycle(self, rhs: np.ndarray, k: int) -> np.ndarray:
        if k == len(self.levels):
            return self.coarse.solve(rhs)
        matrix, prolong, restrict, dinv = self.levels[k]
        x = _OMEGA * dinv * rhs
        x += prolong @ self._cycle(restrict @ (rhs - matrix @ x), k + 1)
        x += _OMEGA * dinv * (rhs - matrix @ x)
        return x


def _solve(
    matrix: sp.csr_matrix,
    rhs: np.ndarray,
    cells: np.ndarray,
    *,
    tol: float,
    max_iter: int,
    direct_below: int,
    progress: bool,
) -> tuple[np.ndarray, str, int]:
    """Solve the SPD system; return the solution, the solver's name and its iteration count."""
    if matrix.shape[0] <= direct_below:
        return spla.splu(matrix.tocsc()).solve(rhs), "sparse LU", 0
    precondition = _Multigrid(matrix, cells, direct_below)
    x = np.zeros_like(rhs)
    residual = rhs.copy()
    z = precondition(residual)
    direction = z.copy()
    rz = residual @ z
    with tqdm(total=max_iter, desc="laplace", unit="it", disable=not progress) as bar:
        for iteration in range(max_iter + 1):
            estimate = float(np.abs(z).max())  # z = M^-1 r approximates the error, in degC
            bar.set_postfix(error=f"{estimate:.2e}")
            if estimate <= tol:
                return x, "multigrid-preconditioned conjugate gradients", iteration
            if iteration == max_iter:
                break
            product = matrix @ direction
            step = rz / (direction @ product)
            x += step * direction
            residual -= step * product
            z = precondition(residual)
            rz_new = residual @ z
            direction = z + (rz_new / rz) * direction
            rz = rz_new
            bar.update()
    raise RuntimeError(
        f"fill_laplace: no convergence in {max_iter} iterations (estimated error {estimate:.2g} "
        f"degC > tol {tol:g}); raise max_iter or tol"
    )


def _isolated_values(
    grid: HealpixGrid,
    cells: np.ndarray,
    label: np.ndarray,
    observed: np.ndarray,
    values: np.ndarray,
) -> np.ndarray:
    """One value per cell of the isolated components: the mean of the nearest observed cells.

    For each component, observed cells are gathered in growing discs around it until at least
    ``k`` of them lie within the disc's reach of the component, which makes the ``k`` nearest
    exact without a search tree over every observed cell of the sphere.
    """
    k = min(N_NEAREST_ISOLATED, int(observed.sum()))
    nside = grid.nside
    ids = grid.ids
    vectors = np.column_stack(hp.pix2vec(nside, ids[cells], nest=True))
    step = hp.nside2resol(nside)
    out = np.empty(cells.size)
    order = np.argsort(label, kind="stable")
    for members in np.split(order, np.flatnonzero(np.diff(label[order])) + 1):
        member_vectors = vectors[members]
        centre = member_vectors.sum(axis=0)
        norm = np.linalg.norm(centre)
        centre = centre / norm if norm > 1e-9 else member_vectors[0]
        spread = float(np.arccos(np.clip(member_vectors @ centre, -1.0, 1.0)).max())
        tree = cKDTree(member_vectors)
        reach = 2.0 * step
        while True:
            radius = min(spread + reach, np.pi)
            disc = grid.position(hp.query_disc(nside, centre, radius, nest=True))
            disc = disc[disc >= 0]
            candidates = disc[observed[disc]]
            if candidates.size >= k:
                xyz = np.column_stack(hp.pix2vec(nside, ids[candidates], nest=True))
                chord, _ = tree.query(xyz)
                angle = 2.0 * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0))
                if (angle <= reach).sum() >= k or radius >= np.pi:
                    nearest = candidates[np.argsort(angle, kind="stable")[:k]]
                    break
            reach *= 2.0
        out[members] = values[nearest].mean()
    return out


@checked_options("laplace")
def fill_laplace(
    sst: xr.DataArray | xr.Dataset,
    gaps: xr.DataArray | np.ndarray | None = None,
    *,
    tol: float = 1e-6,
    max_iter: int = 200,
    direct_below: int = 20_000,
    progress: bool = False,
) -> xr.Dataset:
    """Fill the gaps of a HEALPix map by solving Laplace's equation on the neighbour graph.

    Every gap cell ends equal to the mean of its sea neighbours (gap or observed), so the
    fill is the smoothest map that keeps the observations: values stay within the range of
    the observed cells around each gap (maximum principle) and small scales are absent.

    Parameters
    ----------
    sst : xarray.DataArray or xarray.Dataset
        NESTED HEALPix map on ``cells``, full-sphere or regional (degC, NaN = missing), or a
        regridded day (then ``SST_L3S`` and ``gap`` are used).
    gaps : boolean array, shape ``(npix,)``, optional
        True where a value must be made (sea without observation). Cells that are NaN and
        not in ``gaps`` are land: never read, never written.
    tol : float
        Iterative solves stop when the estimated error of every gap cell is below ``tol``
        (degC; the estimate is the multigrid-preconditioned residual).
    max_iter : int
        Most conjugate-gradient iterations before a ``RuntimeError``.
    direct_below : int
        Systems with at most this many unknowns are solved directly (sparse LU); it is also
        the size of the coarsest multigrid level.
    progress : bool
        Show a progress bar of the iterations.

    Returns
    -------
    xarray.Dataset
        ``filled`` (cells), degC; attributes ``laplace_solver``, ``laplace_iterations``,
        ``isolated_components`` and ``isolated_cells`` (gap components without observed
        neighbour, filled with the mean of the nearest observed cells, see module notes).

    Examples
    --------
    >>> from eogapfill.healpix import healpix_dataset
    >>> sst = np.full(12 * 4**2, 20.0)
    >>> gap = np.zeros(sst.size, dtype=bool)
    >>> gap[:4] = True
    >>> sst[:4] = np.nan
    >>> ds = healpix_dataset({"SST_L3S": sst, "gap": gap}, nside=4)
    >>> out = fill_laplace(ds)
    >>> float(out.filled[0]), out.attrs["isolated_cells"]
    (20.0, 0)
    """
    if not tol > 0:
        raise ValueError(f"fill_laplace: tol must be > 0 (degC), got {tol!r}")
    if max_iter < 1:
        raise ValueError(f"fill_laplace: max_iter must be >= 1, got {max_iter!r}")
    if direct_below < 1:
        raise ValueError(f"fill_laplace: direct_below must be >= 1, got {direct_below!r}")
    inputs, grid = prepare_healpix_fill(sst, gaps, method="laplace")
    values = inputs.values
    graph = _GapGraph(grid, inputs.gaps, inputs.observed, values)
    solution = np.empty(graph.cells.size)

    keep = np.flatnonzero(graph.determined)
    solver, iterations = "none", 0
    if keep.size:
        solution[keep], solver, iterations = _solve(
            graph.laplacian(keep),
            graph.rhs[keep],
            grid.ids[graph.cells[keep]],
            tol=tol,
            max_iter=max_iter,
            direct_below=direct_below,
            progress=progress,
        )
    isolated = np.flatnonzero(~graph.determined)
    n_isolated_components = 0
    if isolated.size:
        label = graph.label[isolated]
        n_isolated_components = int(np.unique(label).size)
        solution[isolated] = _isolated_values(
            grid, graph.cells[isolated], label, inputs.observed, values
        )
    out = np.full_like(values, np.nan)
    out[graph.cells] = solution
    return finish_fill(
        inputs,
        out,
        method="laplace",
        attrs={
            "laplace_solver": solver,
            "laplace_iterations": int(iterations),
            "laplace_tol_degC": float(tol),
            "isolated_components": n_isolated_components,
            "isolated_cells": int(isolated.size),
            "isolated_fill": f"mean of the {N_NEAREST_ISOLATED} nearest observed cells",
        },
    )
