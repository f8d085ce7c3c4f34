"""Scattering synthesis of a day with cross statistics between consecutive days.

:func:`fill_foscat_crossday` fills one day of a HEALPix stack (:mod:`eogapfill.stack`) as
:func:`~eogapfill.fill.foscat.fill_foscat` does (members moved by L-BFGS on the gap cells,
observed cells fixed), with a loss that adds to the day's own scattering statistics its
**cross** scattering covariances with each neighbouring day of the window, ``Phi(day,
neighbour)`` (foscat's ``scat_cov.funct.eval(image1, image2=...)``): how the day's wavelet
coefficients, moduli and their products co-vary with the neighbour's at each scale and
orientation. The synthesis makes the gaps relate to the neighbour days as the clear cells do.

Honest, like ``fill_foscat``'s default: no value from the target day's gaps enters a
reference.

- Auto term: the statistics of the target day's observed sea cells, under the local masks
  times the observed cells (the start's mean in the gaps, so that the wavelets see no hole).
- Cross term of neighbour ``n``: the reference ``Phi(target, neighbour)`` is measured under
  the local masks times the cells **observed on both days**; the member's ``Phi(x,
  neighbour)`` under the local masks times the target's sea cells **observed on the
  neighbour day**. The neighbour is never filled for the loss: its gap cells have weight 0 in
  both masks, and only carry a smooth Laplace continuation so that the wavelets near its gaps
  see no hole. A gap of the target that is also a gap of the neighbour is reached by the cross
  term only through the wavelets' support; there a filled neighbour (its own smooth fill) would
  ask the synthesis to co-vary with a smooth map, which the clear cells never showed.
  Each coefficient's difference is divided by ``sqrt(|Phi(target)| |Phi(neighbour)|)`` under
  the reference masks (:class:`~eogapfill.fill.foscat.problem.CrossTerm`): the term compares
  correlations, whose reference can be near 0.

The members start (``start="spacetime"``, default) from the space-time OI mean
(:func:`~eogapfill.fill.spacetime.fill_spacetime_oi`, which already borrows the neighbours'
observations) plus the single-day OI conditional simulation's deviation
(:func:`~eogapfill.fill.oi.fill_oi` members minus their mean) scaled, cell by cell, by the
ratio of the space-time kriging std to the single-day one (both uncalibrated, the same
covariance): the neighbours' observations shrink the spread where they reach. Or
(``start="oi"``) from the single-day OI members, as ``fill_foscat``. The block-mean anchor
holds the start's large scales: tightly around the space-time start, loosely around the
single-day one, so that there the cross terms can bring the neighbours' large scales in.

Measured (``benchmarks/bench_foscat_crossday.py``): on an AR(1) field that persists from day to
day (day-to-day correlation 0.9, nside 32), the cross terms bring the neighbours' anomalies in
(correlation of a member with the truth in the gaps 0.75 -> 0.79 from the single-day start).
On the embedded sample (nside 64, 3 days, 332 465 hidden source pixels, 4 members, 30
iterations) they did not: member CRPS 0.429 degC from the space-time start without cross
terms, 0.433 with ``cross_weight=1`` and 0.451 with 10 (0.524 for the single-day synthesis
:func:`~eogapfill.fill.foscat.fill_foscat`); from the single-day start 0.532 with and
without. On the real case ``alboran`` (AVHRR L3, 2 days, about 8 500 hidden pixels) the
same: 0.135 / 0.136 / 0.137 degC at nside 2048 (0.143 for the single-day synthesis). What
this fill gains over the single-day synthesis comes from its space-time start; the cross
terms, at 3 to 4 times the cost of a member, add nothing measurable there.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from eogapfill.fill.common import (
    check_count,
    check_seed,
    checked_options,
    finish_fill,
    prepare_healpix_fill,
)
from eogapfill.fill.foscat.adapter import available_cores, resolve_device
from eogapfill.fill.foscat.problem import CrossTerm, Problem, anchor_blocks, run_member
from eogapfill.fill.foscat.protocols import PROTOCOL_NOTES, base_masks, check_masked, continued
from eogapfill.fill.masks import MIN_NSIDE
from eogapfill.stack import check_stack

__all__ = ["METHOD", "MIN_BOTH_CELLS", "cross_terms", "fill_foscat_crossday"]

METHOD = "foscat_crossday"
#: Fewest cells observed on both days for a neighbour to lend a cross term.
MIN_BOTH_CELLS = 30
#: Default anchor weight (degC**-2) by start. Around the space-time start, whose large scales
#: already hold the neighbours' observations, fill_foscat's tight anchor; around the single-day
#: OI start a loose one, so that the cross terms can move the member's large scales (on an
#: AR(1) field at nside 32, correlation of the members with the truth in the gaps 0.74 -> 0.79
#: with cross terms at anchor 10, unchanged at 1000).
_DEFAULT_ANCHOR = {"spacetime": 1000.0, "oi": 10.0}


def _window(n_days: int, target: int, window: int) -> list[int]:
    """The neighbour days of ``target`` within ``window`` days, nearest first."""
    days = []
    for dt in range(1, window + 1):
        days += [t for t in (target - dt, target + dt) if 0 <= t < n_days]
    return days


def cross_terms(
    stack: xr.Dataset,
    target: int,
    neighbours: list[int],
    ref_map: np.ndarray,
    base: np.ndarray,
    weight: float = 1.0,
) -> tuple[list[CrossTerm], list[int]]:
    """The cross terms of ``target`` with each day of ``neighbours`` that overlaps it.

    Parameters
    ----------
    stack : xarray.Dataset
        The HEALPix stack (``SST_L3S`` degC, ``gap``, ``sea`` on ``(time, cells)``).
    target : int
        The day filled.
    neighbours : list of int
        Days lending a cross term.
    ref_map : numpy.ndarray, shape ``(npix,)``
        Finite map of the target day: its observed values, a smooth fill elsewhere.
    base : numpy.ndarray, shape ``(n_masks, npix)``
        The local masks of the statistics.
    weight : float
        Weight of each term in the loss.

    Returns
    -------
    terms : list of CrossTerm
        One per neighbour with at least :data:`MIN_BOTH_CELLS` cells observed on both days;
        masks that hold no such cell are dropped from both of its mask sets.
    used : list of int
        The neighbour days of ``terms``.
    """
    values, gaps, sea = check_stack(stack, METHOD)
    observed = np.isfinite(values) & ~gaps & sea
    terms, used = [], []
    for t in neighbours:
        both = observed[target] & observed[t]
        if both.sum() < MIN_BOTH_CELLS:
            continue
        ref_masks = base * both[None, :]
        keep = ref_masks.sum(axis=1) > 0
        learn_masks = base * (sea[target] & observed[t])[None, :]
        day = stack["SST_L3S"].isel(time=t)
        neighbour = continued(day.where(observed[t]), ~observed[t])
        terms.append(
            CrossTerm(
                neighbour=neighbour,
                ref_map=ref_map,
                ref_masks=ref_masks[keep],
                learn_masks=learn_masks[keep],
                weight=float(weight),
            )
        )
        used.append(t)
    return terms, used


def _starts(
    stack: xr.Dataset,
    target: int,
    inputs: Any,
    sea: np.ndarray,
    start: str,
    window: int,
    n_members: int,
    seed: int,
    progress: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Members' starts ``(n_members, npix)`` and their smooth mean ``(npix,)``, land continued."""
    from eogapfill.fill.oi import fill_oi
    from eogapfill.fill.spacetime import fill_spacetime_oi

    land = ~sea
    oi = fill_oi(inputs.sst, inputs.gaps_da, n_members=n_members, seed=seed, progress=progress)
    oi_mean = oi["filled"].values
    members = oi["members"].values
    if start == "spacetime":
        spacetime = fill_spacetime_oi(stack, target, window=window)
        alone = fill_spacetime_oi(stack, target, window=0)  # same covariance, no neighbour
        ratio = np.ones_like(oi_mean)
        st_std, single_std = spacetime["filled_std"].values, alone["filled_std"].values
        ok = inputs.gaps & (single_std > 0)
        ratio[ok] = st_std[ok] / single_std[ok]
        mean = spacetime["filled"].values
        members = mean[None, :] + (members - oi_mean[None, :]) * ratio[None, :]
    else:
        mean = oi_mean
    template = oi["filled"]
    smooth = continued(template.copy(data=mean), land)
    starts = np.stack([continued(template.copy(data=m), land) for m in members])
    return starts, smooth


@checked_options("foscat_crossday")
def fill_foscat_crossday(
    stack: xr.Dataset,
    target: int,
    *,
    window: int = 1,
    start: str = "spacetime",
    n_members: int = 2,
    n_epochs: int = 50,
    seed: int | None = 0,
    cross_weight: float = 1.0,
    anchor: float | None = None,
    masks: str | np.ndarray = "local12",
    clip: bool = True,
    device: str = "auto",
    threads: int | None = None,
    progress: bool = False,
) -> xr.Dataset:
    """Fill one day of a HEALPix stack by scattering synthesis with cross statistics between
    days (module docstring).

    Parameters
    ----------
    stack : xarray.Dataset
        ``SST_L3S`` (degC), ``gap`` and ``sea`` on ``(time, cells)``
        (:func:`eogapfill.stack.healpix_stack`), full sphere or a region, nside >= 16.
    target : int
        Index of the day to fill.
    window : int
        Days on each side that lend a cross term (and their observations to the space-time
        start); 0: the target alone (the single-day synthesis from that start).
    start : {"spacetime", "oi"}
        Members' starts: space-time OI mean plus scaled single-day OI deviations, or the
        single-day OI members.
    n_members : int
        Members of the ensemble (>= 2 for ``filled_std``).
    n_epochs : int
        Maximum L-BFGS iterations per member.
    seed : int or None
        Seed of the OI simulations and of member 0; member ``i`` uses ``seed + i``.
    cross_weight : float
        Weight of each cross term (0: none: the synthesis from the same start with the day's
        own statistics only).
    anchor : float, optional
        Weight (degC**-2) of the block-mean anchor around each member's start; default 1000
        for ``start="spacetime"``, 10 for ``"oi"``.
    masks : str or array
        As in :func:`~eogapfill.fill.foscat.fill_foscat`.
    clip : bool
        Keep the members' gap values within the range of the target's observed values.
    device, threads, progress
        As in :func:`~eogapfill.fill.foscat.fill_foscat` (members run one after the other).

    Returns
    -------
    xarray.Dataset
        The target day on ``cells``: ``filled`` (member mean, degC), ``filled_std`` (member
        std, when ``n_members > 1``), ``members`` (member, cells), ``loss`` (member, epoch);
        attributes ``protocol`` = ``"honest"``, ``neighbour_days`` (indices in the stack),
        ``window``, ``start``, ``cross_weight``, ``anchor``, ``n_epochs``, ``seed``... Observed
        cells are bit-identical to the stack's, land stays NaN.

    Raises
    ------
    ValueError
        A bad stack, target or option, nside below 16, no gap or no observed cell on the
        target day.
    """
    values, _, sea_all = check_stack(stack, METHOD)
    n_days = values.shape[0]
    if not isinstance(target, int | np.integer) or not 0 <= int(target) < n_days:
        raise ValueError(f"{METHOD}: target must be a day index in 0..{n_days - 1}, got {target!r}")
    target = int(target)
    window = check_count(window, "window", minimum=0, method=METHOD)
    n_members = check_count(n_members, "n_members", method=METHOD)
    n_epochs = check_count(n_epochs, "n_epochs", method=METHOD)
    seed = check_seed(seed, method=METHOD)
    if threads is not None:
        threads = check_count(threads, "threads", method=METHOD)
    if start not in ("spacetime", "oi"):
        raise ValueError(f"{METHOD}: start must be 'spacetime' or 'oi', got {start!r}")
    if anchor is None:
        anchor = _DEFAULT_ANCHOR[start]
    for name, value in (("cross_weight", cross_weight), ("anchor", anchor)):
        if isinstance(value, bool) or not (
            isinstance(value, int | float) and np.isfinite(value) and value >= 0
        ):
            raise ValueError(f"{METHOD}: {name} must be a finite number >= 0, got {value!r}")
    device = resolve_device(device)

    day = stack.isel(time=target)
    inputs, grid = prepare_healpix_fill(day["SST_L3S"], day["gap"], method=METHOD, min_observed=1)
    nside = grid.nside
    if nside < MIN_NSIDE:
        raise ValueError(
            f"{METHOD}: nside {nside} is too small for the scattering transform and its local "
            f"masks; use nside >= {MIN_NSIDE}"
        )
    cell_ids = grid.ids if grid.is_partial else None
    observed = inputs.observed
    sea = (observed | inputs.gaps) & sea_all[target]
    base, masks_name = base_masks(masks, nside, cell_ids)
    learn_masks = base * sea[None, :]
    check_masked(learn_masks, "sea")
    ref_masks = base * observed[None, :]
    check_masked(ref_masks, "observed")

    starts, smooth = _starts(stack, target, inputs, sea, start, window, n_members, seed, progress)
    terms, used = [], []
    if window > 0 and cross_weight > 0:
        terms, used = cross_terms(
            stack, target, _window(n_days, target, window), smooth, base, cross_weight
        )
    problem = Problem(
        nside=nside,
        starts=starts,
        noise_std=0.0,
        gaps=inputs.gaps.copy(),
        ref_map=smooth,
        ref_masks=ref_masks,
        learn_masks=learn_masks,
        anchor=float(anchor),
        n_epochs=n_epochs,
        blocks=[anchor_blocks(s, inputs.gaps, nside, cell_ids) for s in starts]
        if anchor > 0
        else [],
        cell_ids=cell_ids,
        cross=terms,
    )
    if threads is None:
        threads = available_cores()
    results = [
        run_member(problem, seed + i, threads, progress, desc=f"{METHOD} member {i}", index=i)
        for i in range(n_members)
    ]
    members = np.stack([v for v, _ in results])
    history = np.full((n_members, n_epochs + 1), np.nan)
    for i, (_, hist) in enumerate(results):
        n = min(hist.size, n_epochs + 1)
        history[i, :n] = hist[:n]
    n_clipped = 0
    if clip:
        seen = inputs.values[observed]
        in_gaps = members[:, inputs.gaps]
        n_clipped = int(((in_gaps < seen.min()) | (in_gaps > seen.max())).sum())
        members[:, inputs.gaps] = np.clip(in_gaps, seen.min(), seen.max())
    std = members.std(axis=0, ddof=1) if n_members > 1 else None
    attrs = {
        "protocol": "honest",
        "protocol_note": PROTOCOL_NOTES["honest"]
        + "; cross statistics on the cells observed on both days",
        "reference": "observed sea cells of the day, and the cells observed on the day and on "
        "each neighbour day (cross statistics)",
        "start": start,
        "window": int(window),
        "neighbour_days": np.asarray(used, dtype="int64"),
        "n_cross_terms": len(terms),
        "cross_weight": float(cross_weight),
        "anchor": float(anchor),
        "masks": masks_name,
        "n_epochs": int(n_epochs),
        "n_members": int(n_members),
        "n_clipped": n_clipped,
        "seed": int(seed),
        "device": device,
    }
    out = finish_fill(
        inputs, members.mean(axis=0), method=METHOD, std=std, members=members, attrs=attrs
    )
    out["loss"] = xr.DataArray(
        history,
        dims=("member", "epoch"),
        coords={"member": out["member"].values, "epoch": np.arange(n_epochs + 1)},
        attrs={"long_name": "loss after each L-BFGS iteration (epoch 0: the start)", "units": "1"},
    )
    if "time" in stack.coords:
        out = out.assign_coords(time=stack["time"].isel(time=target))
    return out
