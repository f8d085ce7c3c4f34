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

foscat runs on torch and puts its tensors on the GPU whenever torch sees one. Its sparse
products, masked means and kernel building run through :mod:`eogapfill.fill.foscat_ops`
(installed on the package's operators at run time): the same statistics to float32 rounding,
for about a tenth (nside 32) to a twentieth (nside 64) of foscat's own CPU time per loss
evaluation.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from eogapfill.fill.common import FillInputs, check_count, check_seed, finish_fill, prepare_fill
from eogapfill.fill.masks import MIN_NSIDE, local_masks, near_gap_weights
from eogapfill.healpix import grid_of

__all__ = ["fill_foscat", "gap_pairs"]

METHOD = "foscat"
_ANCHOR_COARSEST_NSIDE = 16
#: Default anchor weight (degC**-2) by start, the best measured on the real case at nside 32:
#: loose around a smooth start, tight around a conditional simulation, which already has the
#: covariance's texture (the synthesis then reshapes the texture inside 2x2 blocks and the
#: position of fronts, not the large scales of the member).
_DEFAULT_ANCHOR = {"laplace": 10.0, "alm": 10.0, "oi": 1000.0}
_PROTOCOL_NOTES = {
    "honest": "reference statistics from the observed sea cells only; no value from the gaps",
    "previous-day": "reference statistics from another map on the same grid "
    "(another day's analysis or a climatology)",
    "oracle": "reference statistics from the same day's L4 analysis, the map a fill is "
    "scored against: scores are optimistic (the original tutorial's protocol)",
}


class _Sink(io.TextIOBase):
    """A text stream that drops what it is given."""

    def write(self, text: str) -> int:
        return len(text)


class _QuietStdout:
    """Drop what foscat prints (configuration, log lines, final loss) while members run.

    Unlike :func:`contextlib.redirect_stdout`, it is safe when members run in several threads
    of one process (a threaded Dask worker): the first member in swaps ``sys.stdout``, the
    last one out puts it back.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._saved: Any = None

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._depth == 0:
                self._saved = sys.stdout
                sys.stdout = _Sink()
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0:
                    sys.stdout = self._saved
                    self._saved = None


_quiet_stdout = _QuietStdout()


#: What torch says, once per process, about the sparse tensors that foscat builds: notices
#: for torch developers, not for a person filling a map.
_TORCH_NOTICES = (
    "Sparse CSR tensor support is in beta",
    "Sparse invariant checks are implicitly disabled",
    "The given NumPy array is not writable",
)


def _import_foscat() -> tuple[Any, Any, Any]:
    for notice in _TORCH_NOTICES:
        warnings.filterwarnings("ignore", message=notice, category=UserWarning)
    try:
        import foscat.scat_cov as scat_cov
        import foscat.Synthesis as synthesis
        import torch
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "fill_foscat needs foscat and torch: pip install 'eogapfill[foscat]' "
            "(install the CPU torch wheel first on a machine without a GPU)"
        ) from err
    return scat_cov, synthesis, torch


_OPERATORS = threading.local()


def _operator(scat_cov: Any) -> Any:
    """This thread's ``foscat.scat_cov.funct``: its wavelet kernels, built on first use for
    each nside (about 1 s at nside 32), serve every later member run by the thread. Its
    sparse products run with layouts cached once per matrix (:mod:`eogapfill.fill.foscat_ops`)."""
    from eogapfill.fill import foscat_ops

    operator = getattr(_OPERATORS, "funct", None)
    if operator is None:
        operator = _OPERATORS.funct = scat_cov.funct(silent=True)
    return foscat_ops.configure(operator)


def _resolve_device(device: str) -> str:
    _, _, torch = _import_foscat()
    has_cuda = bool(torch.cuda.is_available())
    if device == "auto":
        return "cuda" if has_cuda else "cpu"
    if device == "cuda" and not has_cuda:
        raise ValueError(
            "device='cuda' but torch sees no GPU (torch.cuda.is_available() is False); "
            "use device='auto' or 'cpu'"
        )
    if device == "cpu" and has_cuda:
        raise ValueError(
            "device='cpu' but torch sees a GPU, and foscat places its tensors on the GPU "
            "whenever there is one; to run on the CPU, start Python with "
            "CUDA_VISIBLE_DEVICES='' (or use device='auto')"
        )
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    return device


def _available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


@dataclass
class _Problem:
    """Everything one member needs, as plain numpy arrays (cheap to send to a Dask worker)."""

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
    coarse: list[_Problem] = field(default_factory=list)  # coarser levels, coarsest first
    _reference: dict = field(default_factory=dict, repr=False, compare=False)  # statistics


def _down(values: np.ndarray, factor: int) -> np.ndarray:
    """Mean over NESTED groups of ``factor`` cells: a map (..., npix) at a coarser nside."""
    return values.reshape(*values.shape[:-1], -1, factor).mean(axis=-1)


def _coarse_level(
    problem: _Problem,
    nside: int,
    n_epochs: int,
    observed: np.ndarray,
    values: np.ndarray,
    honest: bool,
) -> _Problem:
    """``problem`` on the coarser grid ``nside``: one level of a coarse-to-fine synthesis.

    Maps and masks are averaged over the NESTED groups of cells of a coarse cell. A coarse cell
    moves when one of its cells is a gap. With the honest reference, the reference masks are
    zero on those cells too: no value from a gap enters the statistics at any level.
    ``observed`` (npix,) marks the observed cells of the target grid and ``values`` (npix,)
    holds their values (degC), for the texture term's pairs.
    """
    factor = (problem.nside // nside) ** 2
    gaps = problem.gaps.reshape(-1, factor).any(axis=1)
    ref_masks = _down(problem.ref_masks, factor)
    if honest:
        ref_masks = ref_masks * ~gaps[None, :]
    starts = _down(problem.starts, factor)
    level = _Problem(
        nside=nside,
        starts=starts,
        noise_std=0.0,
        gaps=gaps,
        ref_map=_down(problem.ref_map, factor),
        ref_masks=ref_masks,
        learn_masks=_down(problem.learn_masks, factor),
        anchor=problem.anchor,
        n_epochs=int(n_epochs),
        blocks=[_anchor_blocks(st, gaps, nside) for st in starts] if problem.blocks else [],
        texture_weight=problem.texture_weight,
    )
    _check_masked(level.ref_masks, f"reference (nside {nside})")
    if problem.texture_weight > 0:
        full = observed.reshape(-1, factor).all(axis=1)
        coarse_values = np.where(full, _down(np.where(observed, values, 0.0), factor), np.nan)
        level.pairs, level.pair_target = gap_pairs(coarse_values, gaps, nside)
    return level


@functools.lru_cache(maxsize=8)
def _interpolation(nside: int) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear interpolation from nside to 2 * nside (NESTED): (cells (4, npix), weights)."""
    import healpy as hp

    theta, phi = hp.pix2ang(2 * nside, np.arange(12 * (2 * nside) ** 2), nest=True)
    cells, weights = hp.get_interp_weights(nside, theta, phi, nest=True)
    return cells, weights


def _up(values: np.ndarray, nside: int, target: int) -> np.ndarray:
    """A map at ``nside`` interpolated (bilinear) to the finer ``target`` nside."""
    while nside < target:
        cells, weights = _interpolation(nside)
        values = (values[cells] * weights).sum(axis=0)
        nside *= 2
    return values


def _anchor_blocks(
    start: np.ndarray, gaps: np.ndarray, nside: int
) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """NESTED blocks of 4**k cells that touch a gap: (cells per block, block ids, start means).

    Levels run from blocks of 4 cells to the blocks of the nside-16 grid (at least one level).
    """
    out = []
    block_nside = nside // 2
    while block_nside >= 1:
        size = (nside // block_nside) ** 2
        touched = np.flatnonzero(gaps.reshape(-1, size).any(axis=1))
        means = start.reshape(-1, size)[touched].mean(axis=1)
        out.append((size, touched, means))
        if block_nside <= _ANCHOR_COARSEST_NSIDE:
            break
        block_nside //= 2
    return out


def _loss_function(x: Any, scat: Any, args: tuple) -> Any:
    """foscat loss: relative squared distance of scattering statistics + block-mean anchor
    + (optional) cell-scale texture term; see the module docstring."""
    ref, learn_masks, anchor, blocks, texture_weight, pairs, pair_target = args
    learn = scat.eval(x, mask=learn_masks)
    loss = scat.reduce_mean(scat.square((ref - learn) / ref))
    if anchor > 0 and blocks:
        diffs = [x.reshape(-1, size)[idx].mean(dim=1) - target for size, idx, target in blocks]
        import torch

        loss = loss + anchor * torch.cat(diffs).square().mean()
    if texture_weight > 0:
        flat = x.reshape(-1)
        ratio = (flat[pairs[0]] - flat[pairs[1]]).square().mean() / pair_target
        loss = loss + texture_weight * (ratio - 1.0).square()
    return loss


def _run_member(
    problem: _Problem,
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
    scat_cov, synthesis, torch = _import_foscat()
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
            _quiet_stdout(),
            tqdm(total=total, desc=desc, disable=not progress, leave=False) as bar,
        ):
            scat = _operator(scat_cov)
            change: np.ndarray | None = None  # the synthesis's change of the gap cells
            coarse_nside = 0
            for level in levels:
                start = _down(x0, (problem.nside // level.nside) ** 2)
                if change is not None:
                    start = start + level.gaps * _up(change, coarse_nside, level.nside)
                values, history = _synthesise(level, start, which, scat, synthesis, torch, bar)
                change = np.where(
                    level.gaps, values - _down(x0, (problem.nside // level.nside) ** 2), 0.0
                )
                coarse_nside = level.nside
    finally:
        np.random.set_state(numpy_state)  # noqa: NPY002
        if restore_threads:
            torch.set_num_threads(previous_threads)
    return values, history


def _synthesise(
    level: _Problem, start: np.ndarray, which: int, scat: Any, synthesis: Any, torch: Any, bar: Any
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
    ref = level._reference.get(key)
    if ref is None:  # the same for every member: computed once
        ref = level._reference[key] = scat.eval(
            bk.bk_cast(level.ref_map.astype("float32")),
            mask=bk.bk_cast(level.ref_masks.astype("float32")),
        )
    blocks = [
        (size, torch.as_tensor(idx, device=bk.torch_device), bk.bk_cast(target.astype("float32")))
        for size, idx, target in (level.blocks[which] if level.blocks else [])
    ]
    loss = synthesis.Loss(
        _loss_function,
        scat,
        ref,
        bk.bk_cast(level.learn_masks.astype("float32")),
        float(level.anchor),
        blocks,
        float(level.texture_weight),
        torch.as_tensor(level.pairs, device=bk.torch_device),
        float(level.pair_target),
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


def _continued(da: xr.DataArray, holes: np.ndarray) -> np.ndarray:
    """``da`` with its ``holes`` (land, ice: bool (npix,)) replaced by a smooth Laplace
    continuation: a finite full-sphere map, float64 (npix,)."""
    from eogapfill.fill.laplace import fill_laplace

    if holes.any():
        full = fill_laplace(da, da.copy(data=holes))["filled"].values
    else:
        full = da.values
    return np.asarray(full, dtype="float64")


def _starts(
    inputs: FillInputs,
    sea: np.ndarray,
    start: str,
    n_members: int,
    seed: int,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Full-sphere starts: the ``start`` fill in the gaps, a Laplace continuation on land.

    Returns ``(starts, smooth)``: ``starts`` (n_starts, npix) holds one map shared by every
    member, or one per member for ``start="oi"`` (the Gaussian conditional simulations of
    :func:`eogapfill.fill.oi.fill_oi`); ``smooth`` (npix,) is the smooth fill (the OI mean for
    ``"oi"``), the map of the honest reference statistics.

    Land always gets the Laplace continuation of the filled sea (bounded by the coastal
    values): the harmonic fit extrapolated over the continents reaches absurd values (above
    150 degC on the sample at nside 32), which the wavelets would carry into the coastal sea.
    """
    from eogapfill.fill.laplace import fill_laplace

    sst = inputs.sst
    land = ~sea
    if start == "laplace":
        smooth = _continued(fill_laplace(sst, inputs.gaps_da)["filled"], land)
        starts = smooth[None, :]
    elif start == "alm":
        from eogapfill.fill.alm import fill_alm

        smooth = _continued(fill_alm(sst, inputs.gaps_da, lmax=15)["filled"], land)
        starts = smooth[None, :]
    elif start == "oi":
        from eogapfill.fill.oi import fill_oi

        oi = fill_oi(sst, inputs.gaps_da, n_members=n_members, seed=seed, progress=progress)
        smooth = _continued(oi["filled"], land)
        starts = np.stack(
            [_continued(oi["filled"].copy(data=m), land) for m in oi["members"].values]
        )
    else:
        raise ValueError(f"start must be 'laplace', 'alm' or 'oi', got {start!r}")
    if not np.all(np.isfinite(starts)):
        raise RuntimeError(f"the {start} start left {int((~np.isfinite(starts)).sum())} cells NaN")
    return starts, smooth


def gap_pairs(values: np.ndarray, gaps: np.ndarray, nside: int) -> tuple[np.ndarray, float]:
    """Neighbour pairs that hold a gap cell, and the clear-sky target of their texture.

    Parameters
    ----------
    values : array (npix,)
        The map, degC; finite on the observed cells, NaN elsewhere.
    gaps : bool array (npix,)
        The cells to fill.
    nside : int
        HEALPix resolution (NESTED ordering).

    Returns
    -------
    pairs : int array (2, n_pairs)
        Ordered pairs ``(gap cell, neighbour)`` whose neighbour is a gap or an observed cell.
    target : float
        Mean squared difference of the ordered pairs of observed neighbours (degC**2).

    Examples
    --------
    >>> values = np.arange(48.0); gaps = np.zeros(48, bool); gaps[0] = True; values[0] = np.nan
    >>> pairs, target = gap_pairs(values, gaps, nside=2)
    >>> bool(np.all(pairs[0] == 0)), pairs.shape[1] == 8, target > 0
    (True, True, True)
    """
    from eogapfill.healpix import neighbours

    nb = neighbours(nside)
    observed = np.isfinite(values) & ~gaps
    cell = np.repeat(np.arange(nb.shape[0]), nb.shape[1])
    other = nb.reshape(-1)
    keep = other >= 0
    cell, other = cell[keep], other[keep]
    clear = observed[cell] & observed[other]
    if not clear.any():
        raise ValueError("texture_weight needs two neighbouring observed cells; set it to 0")
    target = float(np.mean((values[cell[clear]] - values[other[clear]]) ** 2))
    if not target > 0:
        raise ValueError(
            "the observed cells are all equal to their neighbours: "
            "texture_weight has no target; set it to 0"
        )
    held = gaps[cell] & (gaps[other] | observed[other])
    return np.stack([cell[held], other[held]]), target


def _neighbour_residual_std(inputs: FillInputs) -> float:
    """The white-noise level of the start, degC (0 when it cannot be estimated).

    The same statistic as the noise control: :func:`eogapfill.fill.noise.observed_neighbour_std`.
    """
    from eogapfill.fill.noise import observed_neighbour_std

    try:
        return observed_neighbour_std(inputs.sst, inputs.gaps_da)
    except ValueError:  # fewer than 2 observed cells with an observed neighbour
        return 0.0


def _reference_map(
    ref: xr.DataArray | xr.Dataset, nside: int, what: str
) -> tuple[xr.DataArray, np.ndarray]:
    """Check a reference map's grid and return it with its finite mask."""
    if isinstance(ref, xr.Dataset):
        if "SST_L4" not in ref:
            raise ValueError(
                f"the {what} dataset has no 'SST_L4' variable (it has {list(ref.data_vars)}); "
                "pass the reference map as a DataArray"
            )
        ref = ref["SST_L4"]
    if not isinstance(ref, xr.DataArray):
        raise TypeError(
            f"the {what} must be a HEALPix DataArray or Dataset, got {type(ref).__name__}"
        )
    try:
        ref_grid = grid_of(ref)
    except ValueError as err:
        raise ValueError(
            f"the {what} is not on a HEALPix grid ({err}); regrid it with "
            f"eogapfill.regrid.to_healpix(day, nside={nside})"
        ) from err
    if ref_grid.nside != nside or ref.dims != ("cells",):
        raise ValueError(
            f"the {what} is on another grid (nside {ref_grid.nside}, dims {ref.dims}) than the map "
            f"(nside {nside}, dims ('cells',)); regrid it to nside {nside}"
        )
    values = np.asarray(ref.values, dtype="float64")
    finite = np.isfinite(values)
    if not finite.any():
        raise ValueError(f"the {what} has no finite value")
    return ref, finite


def _check_units(ref_values: np.ndarray, inputs: FillInputs, what: str) -> None:
    obs = inputs.values[inputs.observed]
    both = np.isfinite(ref_values) & inputs.observed
    if both.any() and abs(np.nanmean(ref_values[both]) - np.mean(inputs.values[both])) > 50:
        raise ValueError(
            f"the {what} and the map differ by more than 50 on average (means "
            f"{np.nanmean(ref_values[both]):.1f} and {np.mean(obs):.1f}): a kelvin/degC mix-up? "
            "convert both to degC"
        )


def _base_masks(masks: str | np.ndarray, nside: int) -> tuple[np.ndarray, str]:
    if isinstance(masks, str):
        if masks == "local12":
            return local_masks(nside, n_regions=12), masks
        if masks == "local48":
            return local_masks(nside, n_regions=48), masks
        if masks == "global":
            return np.ones((1, 12 * nside**2)), masks
        raise ValueError(f"masks must be 'local12', 'local48', 'global' or an array, got {masks!r}")
    arr = np.asarray(masks, dtype="float64")
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != 12 * nside**2:
        raise ValueError(f"masks array must have shape (n_masks, {12 * nside**2}), got {arr.shape}")
    if not np.all(np.isfinite(arr)) or arr.min() < 0 or not np.all(arr.sum(axis=1) > 0):
        raise ValueError("masks must be finite weights >= 0, each mask with some weight")
    return arr, f"custom ({arr.shape[0]} masks)"


def _check_masked(masks: np.ndarray, what: str) -> None:
    empty = np.flatnonzero(masks.sum(axis=1) <= 0)
    if empty.size:
        raise ValueError(
            f"local mask(s) {empty.tolist()} count no {what} cell: use masks='global' "
            "or a larger area"
        )


def fill_foscat(
    sst: xr.DataArray | xr.Dataset,
    gaps: xr.DataArray | np.ndarray | None = None,
    *,
    reference: str | xr.Dataset | xr.DataArray = "observed",
    start: str = "oi",
    n_epochs: int = 100,
    coarse_epochs: Sequence[int] = (),
    seed: int | None = 0,
    n_members: int = 1,
    anchor: float | None = None,
    start_noise: bool | None = None,
    masks: str | np.ndarray = "local12",
    texture_weight: float = 0.0,
    near_gaps_km: float | None = None,
    device: str = "auto",
    threads: int | None = None,
    progress: bool = True,
    client: Any = None,
    l4: xr.DataArray | None = None,
) -> xr.Dataset:
    """Fill the gaps of a HEALPix SST map with a scattering-transform synthesis (foscat).

    Parameters
    ----------
    sst
        HEALPix map in degC on dim ``cells`` (full sphere, NESTED, nside >= 16), NaN where
        missing; or a regridded day ``Dataset`` (``SST_L3S``, ``gap``, optionally ``SST_L4``).
    gaps
        Boolean map, True on the sea cells to fill (taken from the dataset's ``gap`` when
        ``sst`` is a Dataset). Cells that are neither observed nor gaps are land: they stay NaN.
    reference
        Where the reference statistics come from: ``"observed"`` (honest, default), a HEALPix
        ``Dataset`` (its ``SST_L4``) or ``DataArray`` on the same grid (another day or a
        climatology: "previous-day"), or ``"l4"`` (the same day's L4: "oracle", needs
        ``sst`` to be a Dataset with ``SST_L4`` or ``l4=``).
    start
        ``"oi"`` (default: one Gaussian conditional simulation of
        :func:`eogapfill.fill.oi.fill_oi` per member, all drawn with ``seed``: each member
        starts, and is anchored, on its own plausible map), ``"laplace"`` (Laplace fill,
        :func:`eogapfill.fill.laplace.fill_laplace`, plus noise) or ``"alm"``
        (spherical-harmonic fit up to l = 15, :func:`eogapfill.fill.alm.fill_alm`) in the
        gaps. Land, which the
        synthesis needs as a full-sphere map, gets a Laplace continuation of the filled sea
        in every case (it stays NaN in the output).
    n_epochs
        Maximum number of L-BFGS iterations per member (it may stop earlier once converged),
        at the map's nside.
    coarse_epochs
        Coarse-to-fine synthesis: iterations on coarser grids first, coarsest first; e.g.
        ``(30, 15)`` runs 30 iterations at nside/4, then 15 at nside/2, then ``n_epochs`` at
        nside, each level starting from the start plus the change that the coarser level made
        in the gaps (interpolated). A coarse cell moves when one of its cells is a gap, and the
        honest reference weights no coarse cell that holds a gap: the observed cells stay
        fixed and the statistics honest at every level. An iteration costs about 4 times
        less at each halving of nside. The coarsest grid must have nside >= 16. Default: one
        level.
    seed
        Seed of member 0's start noise and of the synthesis; member ``i`` uses ``seed + i``
        (the conditional simulations of ``start="oi"`` are drawn together, from ``seed``).
        An integer in [0, 2**32), or None: a fresh seed, recorded in ``attrs["seed"]``.
    n_members
        Number of members of the ensemble.
    anchor
        Weight (degC\\ :sup:`-2`) of the block-mean anchor; 0 switches it off. Default 1000
        for ``start="oi"``, 10 for the smooth starts, 0 for the tutorial reproduction
        (``reference="l4", start="alm"``).
    start_noise
        Add white noise to the start in the gaps, with the std of (observed cell - mean of its
        observed neighbours). Default True, except False for the tutorial reproduction and
        for ``start="oi"`` (its members already carry the texture of the covariance).
    masks
        ``"local12"`` (the 12 smooth base-pixel windows), ``"local48"``, ``"global"`` (one
        mask) or an array ``(n_masks, npix)`` of non-negative weights.
    texture_weight
        Weight of a cell-scale texture term (0: off): the mean squared difference between
        neighbouring cells, over the pairs that hold a gap cell, is held at its value over
        the pairs of observed cells (:func:`gap_pairs`). The scattering statistics barely
        see steps at the edge of a gap; on the real case at nside 64 the members got rougher
        than the truth without it. Where the clear sky is smoother than the water under the
        clouds (the clear-sky selection bias) it makes the gaps too smooth.
    near_gaps_km
        Honest reference only: weight the observed cells by ``exp(-d / near_gaps_km)``, ``d``
        their distance (km) to the nearest gap (:func:`eogapfill.fill.masks.near_gap_weights`),
        a correction of the clear-sky selection bias (the water under clouds is rougher than
        the water far from them). Default None: all observed cells alike.
    device
        ``"auto"`` (CUDA if torch sees a GPU, else CPU), ``"cpu"`` or ``"cuda"``.
    threads
        Torch threads per member (an integer >= 1); default: the cores of this process
        divided by the number of members run at once.
    progress
        Show tqdm bars: the kriging of the OI start, then the epochs (the members with a
        Dask ``client``).
    client
        A ``dask.distributed.Client``: run one task per member on its workers (use worker
        processes, one thread each, or pass ``threads``: torch threads are per process).
    l4
        The same day's L4 map, for ``reference="l4"`` when ``sst`` is a DataArray.

    Returns
    -------
    xarray.Dataset
        ``filled`` (cells; the member mean), ``members`` (member, cells), ``filled_std``
        (cells; member std, when ``n_members > 1``), ``loss`` (member, epoch: the loss after
        each L-BFGS iteration, epoch 0 = the start, NaN after an early stop). ``attrs``
        record ``protocol`` ("honest", "previous-day" or "oracle"), ``protocol_note`` and
        every option. Observed cells are bit-identical to the input, land stays NaN.

    Raises
    ------
    ValueError
        Not a HEALPix map, nside below 16, no gap, no observed cell, a reference on another
        grid, ``reference="l4"`` without an L4 map, a kelvin/degC mix-up, a bad option.

    Examples
    --------
    A tiny synthetic case (nside 16, two iterations)::

        >>> import numpy as np
        >>> from eogapfill.healpix import healpix_dataset, cell_lonlat
        >>> lon, lat = cell_lonlat(16)
        >>> sst = 28 - 25 * np.sin(np.radians(lat)) ** 2
        >>> gap = (np.abs(lat) < 20) & (np.abs(lon) < 30)
        >>> sst[gap] = np.nan
        >>> ds = healpix_dataset({"SST_L3S": sst, "gap": gap}, nside=16)
        >>> out = fill_foscat(ds, n_epochs=2, progress=False)  # doctest: +SKIP
        >>> out.attrs["protocol"], bool(np.isfinite(out.filled).all())  # doctest: +SKIP
        ('honest', True)
    """
    # --- inputs -------------------------------------------------------------------------
    n_epochs = check_count(n_epochs, "n_epochs", method=METHOD)
    if isinstance(coarse_epochs, str | bytes) or not isinstance(coarse_epochs, Sequence):
        raise ValueError(
            f"{METHOD}: coarse_epochs must be a sequence of iteration counts, coarsest grid "
            f"first, such as (30, 15), got {coarse_epochs!r}"
        )
    coarse_epochs = [check_count(n, "coarse_epochs", method=METHOD) for n in coarse_epochs]
    n_members = check_count(n_members, "n_members", method=METHOD)
    seed = check_seed(seed, method=METHOD)
    if threads is not None:
        threads = check_count(threads, "threads", method=METHOD)
    dataset = sst if isinstance(sst, xr.Dataset) else None
    inputs = prepare_fill(sst, gaps, method=METHOD, min_observed=1)
    if inputs.sst.dims != ("cells",):
        raise ValueError(
            f"{METHOD}: the map must be a 1-D HEALPix map on dim 'cells', got dims "
            f"{inputs.sst.dims}; regrid a lat/lon day with eogapfill.regrid.to_healpix"
        )
    nside = grid_of(inputs.sst).nside
    if nside < MIN_NSIDE:
        raise ValueError(
            f"{METHOD}: nside {nside} is too small for the scattering transform and its local "
            f"masks; use nside >= {MIN_NSIDE}"
        )
    if nside >> len(coarse_epochs) < MIN_NSIDE:
        raise ValueError(
            f"{METHOD}: {len(coarse_epochs)} coarser level(s) below nside {nside} reach nside "
            f"{nside >> len(coarse_epochs)}; the coarsest grid needs nside >= {MIN_NSIDE}: "
            "give fewer coarse_epochs"
        )
    if start not in ("laplace", "alm", "oi"):
        raise ValueError(f"start must be 'laplace', 'alm' or 'oi', got {start!r}")
    device = _resolve_device(device)
    observed = inputs.observed
    sea = observed | inputs.gaps

    # --- protocol and reference --------------------------------------------------------
    tutorial = isinstance(reference, str) and reference == "l4" and start == "alm"
    if anchor is None:
        anchor = 0.0 if tutorial else _DEFAULT_ANCHOR[start]
    if start_noise is None:
        start_noise = not tutorial and start != "oi"
    if anchor < 0:
        raise ValueError(f"anchor must be >= 0, got {anchor}")
    if not (np.isfinite(texture_weight) and texture_weight >= 0):
        raise ValueError(f"texture_weight must be a finite number >= 0, got {texture_weight!r}")
    if near_gaps_km is not None and not (isinstance(reference, str) and reference == "observed"):
        raise ValueError(
            "near_gaps_km weights the observed cells of the honest reference: "
            "use it with reference='observed' only"
        )
    if l4 is not None and not (isinstance(reference, str) and reference == "l4"):
        raise ValueError(
            "l4= is the same day's L4 for reference='l4' (oracle); drop it or set reference='l4'"
        )

    base, masks_name = _base_masks(masks, nside)
    learn_masks = base * sea[None, :]
    _check_masked(learn_masks, "sea")
    ref_da: xr.DataArray | None = None  # None: the reference is the start itself (honest)

    if isinstance(reference, str):
        if reference == "observed":
            protocol = "honest"
            reference_name = (
                f"observed sea cells ({'OI mean' if start == 'oi' else start} start in the gaps)"
            )
            if near_gaps_km is None:
                weights = observed.astype("float64")
            else:
                weights = near_gap_weights(observed, inputs.gaps, nside, float(near_gaps_km))
                reference_name += (
                    f", weighted by exp(-d / {float(near_gaps_km):g} km) from the gaps"
                )
            ref_masks = base * weights[None, :]
            _check_masked(ref_masks, "observed")
        elif reference == "l4":
            protocol = "oracle"
            if l4 is None:
                if dataset is None or "SST_L4" not in dataset:
                    raise ValueError(
                        "reference='l4' (oracle) needs the same day's L4 map: pass a regridded "
                        "day Dataset with 'SST_L4' as sst, or l4=<DataArray>"
                    )
                l4 = dataset["SST_L4"]
            ref_da, finite = _reference_map(l4, nside, "L4 map")
            _check_units(np.asarray(ref_da.values, dtype="float64"), inputs, "L4 map")
            reference_name = "same-day L4 analysis"
            ref_masks = base * (sea & finite)[None, :]
            _check_masked(ref_masks, "L4 sea")
        else:
            raise ValueError(
                f"reference must be 'observed', 'l4', or a HEALPix Dataset/DataArray, got {reference!r}"
            )
    elif isinstance(reference, xr.Dataset | xr.DataArray):
        ref_da, finite = _reference_map(reference, nside, "reference")
        _check_units(np.asarray(ref_da.values, dtype="float64"), inputs, "reference")
        same_time = (
            "time" in ref_da.coords
            and "time" in inputs.sst.coords
            and ref_da["time"].size == 1
            and inputs.sst["time"].size == 1
            and bool(np.all(ref_da["time"].values == inputs.sst["time"].values))
        )
        protocol = "oracle" if same_time else "previous-day"
        reference_name = str(ref_da.attrs.get("long_name", ref_da.name or "reference map"))
        if "time" in ref_da.coords and ref_da["time"].size == 1:
            reference_name += f" ({np.datetime_as_string(ref_da['time'].values, unit='D')})"
        ref_masks = base * (sea & finite)[None, :]
        _check_masked(ref_masks, "reference sea")
    else:
        raise TypeError(
            f"reference must be 'observed', 'l4', or a HEALPix Dataset/DataArray, got "
            f"{type(reference).__name__}"
        )

    starts, smooth = _starts(inputs, sea, start, int(n_members), int(seed), progress)
    ref_map = smooth if ref_da is None else _continued(ref_da, ~finite)
    noise_std = _neighbour_residual_std(inputs) if start_noise else 0.0
    problem = _Problem(
        nside=nside,
        starts=starts,
        noise_std=noise_std,
        gaps=inputs.gaps.copy(),
        ref_map=ref_map,
        ref_masks=ref_masks,
        learn_masks=learn_masks,
        anchor=float(anchor),
        n_epochs=int(n_epochs),
        blocks=[_anchor_blocks(s, inputs.gaps, nside) for s in starts] if anchor > 0 else [],
    )
    if texture_weight > 0:
        problem.texture_weight = float(texture_weight)
        problem.pairs, problem.pair_target = gap_pairs(inputs.values, inputs.gaps, nside)
    problem.coarse = [
        _coarse_level(
            problem,
            nside >> (len(coarse_epochs) - k),
            n,
            observed,
            inputs.values,
            honest=protocol == "honest",
        )
        for k, n in enumerate(coarse_epochs)
    ]

    # --- members ---------------------------------------------------------------------------
    seeds = [int(seed) + i for i in range(n_members)]
    if client is None:
        n_parallel = 1
    else:
        n_parallel = max(1, min(n_members, sum(client.nthreads().values())))
    if threads is None:
        threads = max(1, _available_cores() // n_parallel)
    results: list[tuple[np.ndarray, np.ndarray]]
    if client is None:
        results = [
            _run_member(problem, s, threads, progress, desc=f"{METHOD} member {i}", index=i)
            for i, s in enumerate(seeds)
        ]
    else:
        from dask.distributed import as_completed
        from tqdm.auto import tqdm

        shared = client.scatter(problem, broadcast=False)
        futures = [
            client.submit(
                _run_member, shared, s, threads, False, restore_threads=False, index=i, pure=False
            )
            for i, s in enumerate(seeds)
        ]
        for _ in tqdm(
            as_completed(futures),
            total=len(futures),
            desc=f"{METHOD} members",
            disable=not progress,
        ):
            pass
        results = client.gather(futures)

    members = np.stack([values for values, _ in results])
    history = np.full((n_members, n_epochs + 1), np.nan)
    for i, (_, hist) in enumerate(results):
        n = min(hist.size, n_epochs + 1)
        history[i, :n] = hist[:n]
    mean = members.mean(axis=0)
    std = members.std(axis=0, ddof=1) if n_members > 1 else None

    attrs = {
        "protocol": protocol,
        "protocol_note": _PROTOCOL_NOTES[protocol],
        "reference": reference_name,
        "start": start,
        "start_noise_std_degC": noise_std,
        "anchor": float(anchor),
        "masks": masks_name,
        "texture_weight": float(texture_weight),
        "near_gaps_km": float("nan") if near_gaps_km is None else float(near_gaps_km),
        "n_epochs": int(n_epochs),
        "coarse_to_fine": ", ".join(
            f"{n} at nside {nside >> (len(coarse_epochs) - k)}" for k, n in enumerate(coarse_epochs)
        )
        or "none",
        "n_members": int(n_members),
        "seed": int(seed),
        "device": device,
        "tutorial_reproduction": int(tutorial),
    }
    out = finish_fill(inputs, mean, method=METHOD, std=std, members=members, attrs=attrs)
    out["loss"] = xr.DataArray(
        history,
        dims=("member", "epoch"),
        coords={"member": out["member"].values, "epoch": np.arange(n_epochs + 1)},
        attrs={
            "long_name": "foscat loss after each L-BFGS iteration at the map's nside "
            "(epoch 0: the start)",
            "units": "1",
        },
    )
    return out
