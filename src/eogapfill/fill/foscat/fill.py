""":func:`fill_foscat`: the scattering-transform fill of a HEALPix map (see :mod:`eogapfill.fill.foscat`)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
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
from eogapfill.fill.foscat.adapter import (
    available_cores,
    release_free_memory,
    resolve_device,
)
from eogapfill.fill.foscat.problem import Problem, anchor_blocks, coarse_level, run_member
from eogapfill.fill.foscat.protocols import (
    PROTOCOL_NOTES,
    base_masks,
    check_masked,
    check_units,
    continued,
    gap_pairs,
    member_starts,
    neighbour_residual_std,
    reference_map,
)
from eogapfill.fill.masks import MIN_NSIDE, near_gap_weights

__all__ = ["fill_foscat"]

METHOD = "foscat"
_ANCHOR_COARSEST_NSIDE = 16
#: The fewest cells of a region at any level: foscat's subset transform has
#: ``log4(n_cells) - 1`` scales (2 from 64 cells).
_MIN_REGION_CELLS = 64
#: Default anchor weight (degC**-2) by start, the best measured on the real case at nside 32:
#: loose around a smooth start, tight around a conditional simulation, which already has the
#: covariance's texture (the synthesis then reshapes the texture inside 2x2 blocks and the
#: position of fronts, not the large scales of the member).
_DEFAULT_ANCHOR = {"laplace": 10.0, "alm": 10.0, "oi": 1000.0}


@checked_options("foscat")
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
    clip: bool = True,
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
        HEALPix map in degC on dim ``cells`` (NESTED, nside >= 16), NaN where missing: the
        full sphere, or a region's cells (``to_healpix(day, nside, region=...)``: foscat's
        kernels, down-grading and masked means are then built on those cells only, and
        nothing outside the region is read or written); or a regridded day ``Dataset``
        (``SST_L3S``, ``gap``, optionally ``SST_L4``). On a region, the local masks are those
        that reach it, the coarse levels hold the coarse cells of the region's cells, and
        when the ``"oi"`` start refuses the region the fill warns and uses ``"laplace"``.
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
    clip
        Keep the members' gap values within the range of the observed values (the count is
        the attribute ``n_clipped``): near the ice edge a synthesis can push a few cells below
        the coldest water observed, and below freezing (-5 degC at nside 64 on the sample).
        ``clip=False`` keeps the raw synthesis, which warns
        (:class:`~eogapfill.seawater.ImplausibleTemperatureWarning`) outside sea water.
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
    inputs, grid = prepare_healpix_fill(sst, gaps, method=METHOD, min_observed=1)
    nside = grid.nside
    cell_ids = grid.ids if grid.is_partial else None
    if cell_ids is not None and coarse_epochs:
        factor = 4 ** len(coarse_epochs)
        n_coarsest = int(np.unique(cell_ids // factor).size)
        if n_coarsest < _MIN_REGION_CELLS:
            raise ValueError(
                f"{METHOD}: the region has {n_coarsest} cells at nside "
                f"{nside >> len(coarse_epochs)}, the coarsest level of coarse_epochs; the "
                f"scattering transform needs at least {_MIN_REGION_CELLS} there: give fewer "
                "coarse_epochs or a larger region"
            )
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
    device = resolve_device(device)
    observed = inputs.observed
    sea = observed | inputs.gaps

    # --- protocol and reference --------------------------------------------------------
    tutorial = isinstance(reference, str) and reference == "l4" and start == "alm"
    anchor_given, start_noise_given = anchor, start_noise
    if anchor is None:
        anchor = 0.0 if tutorial else _DEFAULT_ANCHOR[start]
    if start_noise is None:
        start_noise = not tutorial and start != "oi"
    if anchor < 0:
        raise ValueError(f"anchor must be >= 0, got {anchor}")
    if not (np.isfinite(texture_weight) and texture_weight >= 0):
        raise ValueError(f"texture_weight must be a finite number >= 0, got {texture_weight!r}")
    if near_gaps_km is not None and not (np.isfinite(near_gaps_km) and near_gaps_km > 0):
        raise ValueError(
            f"fill_foscat: near_gaps_km must be a distance > 0 (km), got {near_gaps_km!r}; "
            "e.g. near_gaps_km=200, or None to weigh every observed cell alike"
        )
    if near_gaps_km is not None and not (isinstance(reference, str) and reference == "observed"):
        raise ValueError(
            "near_gaps_km weights the observed cells of the honest reference: "
            "use it with reference='observed' only"
        )
    if l4 is not None and not (isinstance(reference, str) and reference == "l4"):
        raise ValueError(
            "l4= is the same day's L4 for reference='l4' (oracle); drop it or set reference='l4'"
        )

    base, masks_name = base_masks(masks, nside, cell_ids)
    learn_masks = base * sea[None, :]
    check_masked(learn_masks, "sea")
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
                weights = near_gap_weights(observed, inputs.gaps, grid, float(near_gaps_km))
                reference_name += (
                    f", weighted by exp(-d / {float(near_gaps_km):g} km) from the gaps"
                )
            ref_masks = base * weights[None, :]
            check_masked(ref_masks, "observed")
        elif reference == "l4":
            protocol = "oracle"
            if l4 is None:
                if dataset is None or "SST_L4" not in dataset:
                    raise ValueError(
                        "reference='l4' (oracle) needs the same day's L4 map: pass a regridded "
                        "day Dataset with 'SST_L4' as sst, or l4=<DataArray>"
                    )
                l4 = dataset["SST_L4"]
            ref_da, finite = reference_map(l4, grid, "L4 map")
            check_units(np.asarray(ref_da.values, dtype="float64"), inputs, "L4 map")
            reference_name = "same-day L4 analysis"
            ref_masks = base * (sea & finite)[None, :]
            check_masked(ref_masks, "L4 sea")
        else:
            raise ValueError(
                f"reference must be 'observed', 'l4', or a HEALPix Dataset/DataArray, got {reference!r}"
            )
    elif isinstance(reference, xr.Dataset | xr.DataArray):
        ref_da, finite = reference_map(reference, grid, "reference")
        check_units(np.asarray(ref_da.values, dtype="float64"), inputs, "reference")
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
        check_masked(ref_masks, "reference sea")
    else:
        raise TypeError(
            f"reference must be 'observed', 'l4', or a HEALPix Dataset/DataArray, got "
            f"{type(reference).__name__}"
        )

    try:
        starts, smooth = member_starts(inputs, sea, start, int(n_members), int(seed), progress)
    except ValueError as err:
        if cell_ids is None or start != "oi":
            raise
        warnings.warn(  # the OI fit may need the full sphere
            f"{METHOD}: the 'oi' start failed on this regional grid ({err}); "
            "using start='laplace' (with start noise) instead",
            RuntimeWarning,
            stacklevel=2,
        )
        start = "laplace"
        start_noise = not tutorial if start_noise_given is None else start_noise_given
        if anchor_given is None:
            anchor = _DEFAULT_ANCHOR[start]
        starts, smooth = member_starts(inputs, sea, start, int(n_members), int(seed), progress)
    release_free_memory()  # what the start's fits freed, before the synthesis
    ref_map = smooth if ref_da is None else continued(ref_da, ~finite)
    noise_std = neighbour_residual_std(inputs) if start_noise else 0.0
    problem = Problem(
        nside=nside,
        starts=starts,
        noise_std=noise_std,
        gaps=inputs.gaps.copy(),
        ref_map=ref_map,
        ref_masks=ref_masks,
        learn_masks=learn_masks,
        anchor=float(anchor),
        n_epochs=int(n_epochs),
        blocks=[anchor_blocks(s, inputs.gaps, nside, cell_ids) for s in starts]
        if anchor > 0
        else [],
        cell_ids=cell_ids,
    )
    if texture_weight > 0:
        problem.texture_weight = float(texture_weight)
        problem.pairs, problem.pair_target = gap_pairs(inputs.values, inputs.gaps, grid)
    problem.coarse = [
        coarse_level(
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
        threads = max(1, available_cores() // n_parallel)
    results: list[tuple[np.ndarray, np.ndarray]]
    if client is None:
        results = []
        for i, s in enumerate(seeds):
            desc = f"{METHOD} member {i}"
            results.append(run_member(problem, s, threads, progress, desc=desc, index=i))
            release_free_memory()  # what the member's loss evaluations freed
    else:
        from dask.distributed import as_completed
        from tqdm.auto import tqdm

        shared = client.scatter(problem, broadcast=False)
        futures = [
            client.submit(
                run_member, shared, s, threads, False, restore_threads=False, index=i, pure=False
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
    n_clipped = 0
    if clip:  # a synthesis can push a few cells near the ice edge past the coldest water seen
        seen = inputs.values[inputs.observed]
        in_gaps = members[:, inputs.gaps]
        n_clipped = int(((in_gaps < seen.min()) | (in_gaps > seen.max())).sum())
        members[:, inputs.gaps] = np.clip(in_gaps, seen.min(), seen.max())
    mean = members.mean(axis=0)
    std = members.std(axis=0, ddof=1) if n_members > 1 else None

    attrs = {
        "protocol": protocol,
        "protocol_note": PROTOCOL_NOTES[protocol],
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
        "n_clipped": n_clipped,
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
