"""The loss problem of the scattering-transform fill and the synthesis of its members.

A :class:`Problem` holds what one member needs as plain numpy arrays (cheap to send to a Dask
worker), with optional :class:`CrossTerm` s (the cross statistics of the map with another
day's, :mod:`eogapfill.fill.foscat.crossday`); :func:`coarse_level` builds its coarser levels (coarse-to-fine synthesis),
:func:`anchor_blocks` the NESTED blocks of the block-mean anchor, :func:`loss_function` the
loss of :mod:`eogapfill.fill.foscat`, and :func:`run_member` runs one member, coarsest level
first, with foscat's L-BFGS on the gap cells.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from eogapfill.fill.foscat.adapter import import_foscat, quiet_stdout, scat_operator
from eogapfill.fill.foscat.protocols import check_masked, gap_pairs
from eogapfill.healpix import HealpixGrid

__all__ = [
    "CrossTerm",
    "Problem",
    "anchor_blocks",
    "coarse_ids",
    "coarse_level",
    "cross_reference",
    "down",
    "loss_function",
    "run_member",
    "up",
]

_ANCHOR_COARSEST_NSIDE = 16


#: The fields of foscat's scattering covariances that a cross term compares.
CROSS_FIELDS = ("S0", "S1", "S2", "S3", "S3P", "S4")


@dataclass
class CrossTerm:
    """The cross statistics of the map with another day's map, one term of the loss.

    The reference is ``Phi(ref_map, neighbour)`` under ``ref_masks``; the map's statistics
    ``Phi(x, neighbour)`` under ``learn_masks``. Each coefficient's difference is divided by
    ``sqrt(|Phi(ref_map)| |Phi(neighbour)|)`` (the auto statistics of either map under
    ``ref_masks``, the Cauchy-Schwarz bound of a cross coefficient), so that the term compares
    correlations, whose reference may be near 0, and not ratios to them.
    """

    neighbour: np.ndarray  # (npix,) finite map of the other day, degC
    ref_map: np.ndarray  # (npix,) finite map of the day filled, degC, for the reference
    ref_masks: np.ndarray  # (n_masks, npix) masks of the reference cross statistics
    learn_masks: np.ndarray  # (n_masks, npix) masks of the map's cross statistics
    weight: float = 1.0  # weight of the term in the loss


@dataclass
class Problem:
    """Everything one member needs, as plain numpy arrays (cheap to send to a Dask worker).

    ``npix`` is the number of cells of the grid: ``12 * nside**2`` on the full sphere, or
    ``cell_ids.size`` on a region (the maps hold the region's cells, in ``cell_ids`` order).
    """

    nside: int
    starts: np.ndarray  # (n_starts, npix) full-sphere starts, degC; member i uses i % n_starts
    noise_std: float  # degC, white noise added to the start in the gaps
    gaps: np.ndarray  # (npix,) bool, the cells that move
    ref_map: np.ndarray  # (npix,) finite full-sphere map the reference statistics come from
    ref_masks: np.ndarray  # (n_masks, npix) masks of the reference statistics
    learn_masks: np.ndarray  # (n_masks, npix) masks of the map's statistics
    anchor: float  # weight of the block-mean anchor, degC**-2
    n_epochs: int
    blocks: list[list[tuple[int, np.ndarray, np.ndarray]]] = field(default_factory=list)
    texture_weight: float = 0.0  # weight of the cell-scale texture term
    pairs: np.ndarray = field(default_factory=lambda: np.zeros((2, 0), dtype="int64"))
    pair_target: float = 1.0  # degC**2, mean squared difference of observed neighbour pairs
    coarse: list[Problem] = field(default_factory=list)  # coarser levels, coarsest first
    cell_ids: np.ndarray | None = None  # (npix,) NESTED ids of a regional grid; None: sphere
    cross: list[CrossTerm] = field(default_factory=list)  # cross terms (at this level only)
    _reference: dict = field(default_factory=dict, repr=False, compare=False)  # statistics


def down(values: np.ndarray, factor: int, cell_ids: np.ndarray | None = None) -> np.ndarray:
    """Mean over NESTED groups of ``factor`` cells: a map (..., npix) at a coarser nside.

    On a region (``cell_ids`` (npix,)), the mean over the region's cells of each coarse cell
    (fewer than ``factor`` at the region's edge), on the coarse cells
    :func:`coarse_ids` ``(cell_ids, factor)``.
    """
    if cell_ids is None:
        return values.reshape(*values.shape[:-1], -1, factor).mean(axis=-1)
    group, counts = _groups(np.asarray(cell_ids, dtype=np.int64), factor)
    return np.asarray(values, dtype="float64") @ group / counts


def coarse_ids(cell_ids: np.ndarray, factor: int) -> np.ndarray:
    """The coarse cells (NESTED ids at nside / sqrt(factor)) holding a region's cells."""
    return np.unique(np.asarray(cell_ids, dtype=np.int64) // factor)


def _groups(cell_ids: np.ndarray, factor: int) -> tuple[Any, np.ndarray]:
    """The one-hot matrix (npix, n_coarse) of a region's cells in their coarse cells, and the
    number of cells of each coarse cell."""
    import scipy.sparse as sp

    _, inverse = np.unique(cell_ids // factor, return_inverse=True)
    n_coarse = int(inverse.max()) + 1
    group = sp.csr_matrix(
        (np.ones(cell_ids.size), (np.arange(cell_ids.size), inverse)),
        shape=(cell_ids.size, n_coarse),
    )
    return group, np.bincount(inverse, minlength=n_coarse).astype("float64")


def coarse_level(
    problem: Problem,
    nside: int,
    n_epochs: int,
    observed: np.ndarray,
    values: np.ndarray,
    honest: bool,
) -> Problem:
    """``problem`` on the coarser grid ``nside``: one level of a coarse-to-fine synthesis.

    Maps and masks are averaged over the NESTED groups of cells of a coarse cell. A coarse cell
    moves when one of its cells is a gap. With the honest reference, the reference masks are
    zero on those cells too: no value from a gap enters the statistics at any level.
    ``observed`` (npix,) marks the observed cells of the target grid and ``values`` (npix,)
    holds their values (degC), for the texture term's pairs.
    """
    factor = (problem.nside // nside) ** 2
    ids = problem.cell_ids
    level_ids = None if ids is None else coarse_ids(ids, factor)
    gaps = down(problem.gaps.astype("float64"), factor, ids) > 0  # any of its cells a gap
    ref_masks = down(problem.ref_masks, factor, ids)
    if honest:
        ref_masks = ref_masks * ~gaps[None, :]
    starts = down(problem.starts, factor, ids)
    level = Problem(
        nside=nside,
        starts=starts,
        noise_std=0.0,
        gaps=gaps,
        ref_map=down(problem.ref_map, factor, ids),
        ref_masks=ref_masks,
        learn_masks=down(problem.learn_masks, factor, ids),
        anchor=problem.anchor,
        n_epochs=int(n_epochs),
        blocks=[anchor_blocks(st, gaps, nside, level_ids) for st in starts]
        if problem.blocks
        else [],
        texture_weight=problem.texture_weight,
        cell_ids=level_ids,
    )
    check_masked(level.ref_masks, f"reference (nside {nside})")
    if problem.texture_weight > 0:
        full = down(observed.astype("float64"), factor, ids) == 1.0  # all its cells observed
        coarse_values = np.where(full, down(np.where(observed, values, 0.0), factor, ids), np.nan)
        grid = HealpixGrid(nside, cell_ids=level_ids)  # the sphere when level_ids is None
        level.pairs, level.pair_target = gap_pairs(coarse_values, gaps, grid)
    return level


@functools.lru_cache(maxsize=8)
def _interpolation(nside: int) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear interpolation from nside to 2 * nside (NESTED): (cells (4, npix), weights)."""
    import healpy as hp

    theta, phi = hp.pix2ang(2 * nside, np.arange(12 * (2 * nside) ** 2), nest=True)
    cells, weights = hp.get_interp_weights(nside, theta, phi, nest=True)
    return cells, weights


def up(
    values: np.ndarray,
    nside: int,
    target: int,
    cell_ids: np.ndarray | None = None,
    target_ids: np.ndarray | None = None,
) -> np.ndarray:
    """A map at ``nside`` interpolated (bilinear) to the finer ``target`` nside.

    On a region, ``values`` lies on the cells ``cell_ids`` and the result on ``target_ids``:
    one bilinear step, the weights of cells outside ``cell_ids`` dropped (the others
    renormalised; the parent cell where none is left).
    """
    if cell_ids is not None and target_ids is not None:
        import healpy as hp

        cell_ids = np.asarray(cell_ids, dtype=np.int64)
        target_ids = np.asarray(target_ids, dtype=np.int64)
        theta, phi = hp.pix2ang(target, target_ids, nest=True)
        cells, weights = hp.get_interp_weights(nside, theta, phi, nest=True)
        pos = np.minimum(np.searchsorted(cell_ids, cells), cell_ids.size - 1)
        weights = weights * (cell_ids[pos] == cells)
        total = weights.sum(axis=0)
        parent = np.searchsorted(cell_ids, target_ids // (target // nside) ** 2)
        out = values[parent].astype("float64")
        some = total > 0
        out[some] = (values[pos] * weights).sum(axis=0)[some] / total[some]
        return out
    while nside < target:
        cells, weights = _interpolation(nside)
        values = (values[cells] * weights).sum(axis=0)
        nside *= 2
    return values


def anchor_blocks(
    start: np.ndarray, gaps: np.ndarray, nside: int, cell_ids: np.ndarray | None = None
) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """NESTED blocks of 4**k cells that touch a gap: (cells per block, block ids, start means).

    Levels run from blocks of 4 cells to the blocks of the nside-16 grid (at least one level).
    On a region (``cell_ids`` (npix,), sorted NESTED ids), a block holds the region's cells
    of a coarse cell (fewer than ``4**k`` at the region's edge) and the entry is
    ``(0, block, means)``: ``block`` (npix,) numbers each cell's touched block, or holds
    ``len(means)`` for a cell of no touched block.
    """
    out = []
    block_nside = nside // 2
    while block_nside >= 1:
        size = (nside // block_nside) ** 2
        if cell_ids is None:
            touched = np.flatnonzero(gaps.reshape(-1, size).any(axis=1))
            means = start.reshape(-1, size)[touched].mean(axis=1)
            out.append((size, touched, means))
        else:
            parent = np.asarray(cell_ids, dtype=np.int64) // size
            touched = np.unique(parent[gaps])
            block = np.searchsorted(touched, parent)
            block[
                (block >= touched.size) | (touched[np.minimum(block, touched.size - 1)] != parent)
            ] = touched.size
            inside = block < touched.size
            counts = np.bincount(block[inside], minlength=touched.size)
            means = (
                np.bincount(block[inside], weights=start[inside], minlength=touched.size) / counts
            )
            out.append((0, block, means))
        if block_nside <= _ANCHOR_COARSEST_NSIDE:
            break
        block_nside //= 2
    return out


def loss_function(x: Any, scat: Any, args: tuple) -> Any:
    """foscat loss: relative squared distance of scattering statistics + block-mean anchor
    + (optional) cell-scale texture term; see :mod:`eogapfill.fill.foscat`.

    ``args``: ``(ref, learn_masks, anchor, blocks, texture_weight, pairs, pair_target)``,
    then optionally ``(nside, cell_ids)``: a region's grid (``cell_ids`` None: the sphere),
    then optionally the cross terms: a list of ``(neighbour, reference, scales, learn_masks,
    weight)`` (tensors; ``reference`` and ``scales`` dicts by field of
    :data:`CROSS_FIELDS`), each adding ``weight * mean |(reference - Phi(x, neighbour)) /
    scales|**2`` over the coefficients.
    """
    ref, learn_masks, anchor, blocks, texture_weight, pairs, pair_target, *rest = args
    nside, cell_ids = rest[0] if rest else (None, None)  # (nside, ids) of a region
    cross = rest[1] if len(rest) > 1 else ()
    grid = {} if cell_ids is None else {"cell_ids": cell_ids, "nside": nside}
    learn = scat.eval(x, mask=learn_masks, **grid)
    loss = scat.reduce_mean(scat.square((ref - learn) / ref))
    if anchor > 0 and blocks:
        import torch

        diffs = []
        for size, idx, target in blocks:
            if size > 0:
                diffs.append(x.reshape(-1, size)[idx].mean(dim=1) - target)
            else:  # a region: idx (npix,) numbers the touched block of each cell
                n = target.shape[0]
                flat = x.reshape(-1)
                sums = torch.zeros(n + 1, dtype=flat.dtype, device=flat.device)
                counts = torch.zeros(n + 1, dtype=flat.dtype, device=flat.device)
                sums = sums.index_add(0, idx, flat)
                counts = counts.index_add(0, idx, torch.ones_like(flat))
                diffs.append(sums[:n] / counts[:n] - target)
        loss = loss + anchor * torch.cat(diffs).square().mean()
    if texture_weight > 0:
        flat = x.reshape(-1)
        ratio = (flat[pairs[0]] - flat[pairs[1]]).square().mean() / pair_target
        loss = loss + texture_weight * (ratio - 1.0).square()
    for neighbour, reference, scales, masks, weight in cross:
        stats = scat.eval(x, image2=neighbour, mask=masks, **grid)
        loss = loss + weight * _cross_distance(stats, reference, scales)
    return loss


def _cross_distance(stats: Any, reference: dict, scales: dict) -> Any:
    """Mean over the coefficients of ``|(reference - stats) / scales|**2`` (torch scalar)."""
    total, count = 0.0, 0
    for name, ref in reference.items():
        diff = (ref - getattr(stats, name)) / scales[name]
        squared = diff.real.square() + diff.imag.square() if diff.is_complex() else diff.square()
        total = total + squared.sum()
        count += diff.numel()
    return total / count


def cross_reference(scat: Any, term: CrossTerm, grid: dict) -> tuple[Any, dict, dict, Any]:
    """The tensors of one cross term for :func:`loss_function`: ``(neighbour, reference,
    scales, learn_masks)``; ``grid`` holds ``cell_ids`` and ``nside`` on a region."""
    bk = scat.backend
    neighbour = bk.bk_cast(term.neighbour.astype("float32"))
    ref_map = bk.bk_cast(term.ref_map.astype("float32"))
    masks = bk.bk_cast(term.ref_masks.astype("float32"))
    cross = scat.eval(ref_map, image2=neighbour, mask=masks, **grid)
    auto_a = scat.eval(ref_map, mask=masks, **grid)
    auto_b = scat.eval(neighbour, mask=masks, **grid)
    reference, scales = {}, {}
    for name in CROSS_FIELDS:
        value = getattr(cross, name, None)
        if value is None:
            continue
        auto = "S3" if name == "S3P" else name  # S3P: S3 with the two maps swapped
        scale = (getattr(auto_a, auto).abs() * getattr(auto_b, auto).abs()).sqrt()
        floor = scale[scale > 0].min() if bool((scale > 0).any()) else 1.0
        reference[name] = value.detach()
        scales[name] = scale.clamp(min=floor).detach()  # a zero coefficient: the smallest scale
    return neighbour, reference, scales, bk.bk_cast(term.learn_masks.astype("float32"))


def run_member(
    problem: Problem,
    seed: int,
    threads: int | None = None,
    progress: bool = False,
    desc: str = "foscat",
    restore_threads: bool = True,
    index: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Run member ``index``: its (noisy) start, L-BFGS on the gap cells of each level,
    coarsest first. Returns the map and the loss history of the map's own grid.

    ``threads`` sets torch's (process-wide) thread count; ``restore_threads=False`` leaves it
    set, as members running side by side in one Dask worker process need.
    """
    scat_cov, synthesis, torch = import_foscat()
    from tqdm.auto import tqdm

    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(int(threads))
    # Synthesis.run reseeds numpy's global generator: give the caller's state back afterwards
    numpy_state = np.random.get_state()  # noqa: NPY002
    try:
        rng = np.random.default_rng(seed)
        which = index % problem.starts.shape[0]
        x0 = problem.starts[which].copy()
        if problem.noise_std > 0:
            x0[problem.gaps] += rng.normal(0.0, problem.noise_std, int(problem.gaps.sum()))
        levels = [*problem.coarse, problem]
        total = sum(level.n_epochs for level in levels)
        with (
            quiet_stdout(),
            tqdm(total=total, desc=desc, disable=not progress, leave=False) as bar,
        ):
            change: np.ndarray | None = None  # the synthesis's change of the gap cells
            coarse_nside, coarse_cells = 0, None
            for level in levels:
                # a region's operator holds the kernels of its own cells only
                scat = scat_operator(scat_cov, level.cell_ids)
                level_x0 = (
                    x0
                    if level is problem
                    else down(x0, (problem.nside // level.nside) ** 2, problem.cell_ids)
                )
                start = level_x0
                if change is not None:
                    start = start + level.gaps * up(
                        change, coarse_nside, level.nside, coarse_cells, level.cell_ids
                    )
                values, history = _synthesise(level, start, which, scat, synthesis, torch, bar)
                change = np.where(level.gaps, values - level_x0, 0.0)
                coarse_nside, coarse_cells = level.nside, level.cell_ids
    finally:
        np.random.set_state(numpy_state)  # noqa: NPY002
        if restore_threads:
            torch.set_num_threads(previous_threads)
    return values, history


def _synthesise(
    level: Problem, start: np.ndarray, which: int, scat: Any, synthesis: Any, torch: Any, bar: Any
) -> tuple[np.ndarray, np.ndarray]:
    """L-BFGS on the gap cells of one level from ``start`` (npix,): (map, loss history)."""

    class _QuietSynthesis(synthesis.Synthesis):
        """foscat's Synthesis with a tqdm bar instead of its printed log."""

        def info_back(self, x: np.ndarray) -> None:  # called once per L-BFGS iteration
            if self.itt > 0:
                bar.set_postfix(
                    nside=level.nside, loss=f"{self.history[self.nlog]:.4g}", refresh=False
                )
                bar.update(1)
            self.nlog += 1
            self.itt2 = 0
            self.itt += 1

    bk = scat.backend
    key = (level.nside, str(bk.torch_device))
    grid = {} if level.cell_ids is None else {"cell_ids": level.cell_ids, "nside": level.nside}
    ref = level._reference.get(key)
    if ref is None:  # the same for every member: computed once
        ref = level._reference[key] = scat.eval(
            bk.bk_cast(level.ref_map.astype("float32")),
            mask=bk.bk_cast(level.ref_masks.astype("float32")),
            **grid,
        )
    cross = []
    for k, term in enumerate(level.cross):
        cross_key = (*key, "cross", k)
        if cross_key not in level._reference:
            level._reference[cross_key] = cross_reference(scat, term, grid)
        cross.append((*level._reference[cross_key], float(term.weight)))
    blocks = [
        (size, torch.as_tensor(idx, device=bk.torch_device), bk.bk_cast(target.astype("float32")))
        for size, idx, target in (level.blocks[which] if level.blocks else [])
    ]
    loss = synthesis.Loss(
        loss_function,
        scat,
        ref,
        bk.bk_cast(level.learn_masks.astype("float32")),
        float(level.anchor),
        blocks,
        float(level.texture_weight),
        torch.as_tensor(level.pairs, device=bk.torch_device),
        float(level.pair_target),
        (level.nside, level.cell_ids),
        *([cross] if cross else []),
    )
    synth = _QuietSynthesis([loss])
    done = bar.n
    out = synth.run(
        bk.bk_cast(start.astype("float32")),
        NUM_EPOCHS=level.n_epochs,
        EVAL_FREQUENCY=max(level.n_epochs, 1),
        grd_mask=bk.bk_cast(level.gaps.astype("float32")),
    )
    bar.update(done + level.n_epochs - bar.n)  # an early stop: the level is done all the same
    values = np.asarray(bk.to_numpy(out), dtype="float64").reshape(-1)
    return values, np.asarray(synth.get_history(), dtype="float64")
