"""Tests of the scattering-transform fill (foscat on torch) and of its local masks."""

from __future__ import annotations

import healpy as hp
import numpy as np
import pytest
import xarray as xr

from eogapfill.fill.masks import MIN_NSIDE, local_masks
from eogapfill.healpix import cell_lonlat, healpix_dataset

pytest.importorskip("foscat")
pytest.importorskip("torch")

from eogapfill.fill.foscat import fill_foscat, gap_pairs  # noqa: E402
from eogapfill.fill.laplace import fill_laplace  # noqa: E402

NSIDE = 16
EPOCHS = 2
FAST = {"n_epochs": EPOCHS, "threads": 1, "progress": False}


def synthetic_day(nside: int = NSIDE, seed: int = 0, time: str | None = None) -> xr.Dataset:
    """A regridded-day look-alike: SST with a meridional gradient and eddies, land, clouds."""
    lon, lat = cell_lonlat(nside)
    ell = np.arange(3 * nside)
    rng_state = np.random.get_state()  # noqa: NPY002 - healpy's synfast draws from it
    np.random.seed(seed)  # noqa: NPY002
    eddies = hp.reorder(hp.synfast(1.0 / (1.0 + (ell / 4.0) ** 3), nside), r2n=True)
    clouds = hp.reorder(hp.synfast(1.0 / (1.0 + (ell / 3.0) ** 4), nside), r2n=True)
    np.random.set_state(rng_state)  # noqa: NPY002
    truth = 28.0 - 26.0 * np.sin(np.radians(lat)) ** 2 + 1.5 * eddies / eddies.std()
    land = ((np.abs(lat) < 35) & (lon > 10) & (lon < 50)) | (lat < -70)
    gap = (clouds > np.quantile(clouds, 0.7)) & ~land
    ds = healpix_dataset(
        {
            "SST_L3S": np.where(gap | land, np.nan, truth),
            "SST_L4": np.where(land, np.nan, truth),
            "gap": gap,
            "sea": ~land,
        },
        nside,
    )
    for name in ("SST_L3S", "SST_L4"):
        ds[name].attrs["units"] = "degC"
    if time is not None:
        ds = ds.assign_coords(time=np.datetime64(time, "ns"))
    return ds


@pytest.fixture(scope="module")
def day() -> xr.Dataset:
    return synthetic_day(time="2024-06-02")


@pytest.fixture(scope="module")
def pair(day: xr.Dataset) -> xr.Dataset:
    """Two honest members (seeds 0 and 1) from the Laplace start + noise."""
    return fill_foscat(day, n_members=2, seed=0, start="laplace", **FAST)


# --- local masks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, n",
    [
        pytest.param({}, 12, id="12-base-pixels"),
        pytest.param({"finer": True}, 48, id="48-children"),
        pytest.param({"n_regions": 48}, 48, id="n_regions-48"),
    ],
)
def test_local_masks_are_smooth_windows_over_their_region(kwargs: dict, n: int) -> None:
    nside = 32
    masks = local_masks(nside, **kwargs)
    assert masks.shape == (n, 12 * nside**2)
    assert masks.min() >= 0.0
    np.testing.assert_allclose(masks.max(axis=1), 1.0)
    region = np.arange(12 * nside**2) // (12 * nside**2 // n)
    # every window peaks inside its own region and is smooth: it spills over its edges
    assert np.all(region[masks.argmax(axis=1)] == np.arange(n))
    assert np.all(((masks > 0.1) & (region[None, :] != np.arange(n)[:, None])).any(axis=1))


def test_local_masks_are_multiplied_by_the_sea() -> None:
    sea = synthetic_day().sea.values
    masks = local_masks(NSIDE, sea)
    assert np.all(masks[:, ~sea] == 0.0)
    np.testing.assert_array_equal(masks[:, sea], local_masks(NSIDE)[:, sea])


@pytest.mark.parametrize(
    "nside, kwargs, match",
    [
        pytest.param(8, {}, "too small", id="nside-8"),
        pytest.param(16, {"finer": True}, "too small", id="48-masks-at-nside-16"),
        pytest.param(12, {}, "power of two", id="nside-12"),
        pytest.param(16, {"n_regions": 7}, "12", id="7-regions"),
        pytest.param(16, {"sea": np.ones(10)}, "shape", id="sea-shape"),
        pytest.param(16, {"sea": np.zeros(3072, bool)}, "no cell", id="sea-empty"),
    ],
)
def test_local_masks_reject_bad_input(nside: int, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        local_masks(nside, **kwargs)


def test_min_nside_is_the_documented_one() -> None:
    local_masks(MIN_NSIDE)
    with pytest.raises(ValueError, match=f"nside >= {MIN_NSIDE}"):
        local_masks(MIN_NSIDE // 2)


# --- the fill: contract --------------------------------------------------------------------


@pytest.mark.slow
def test_observed_cells_are_bit_identical_and_land_stays_nan(
    day: xr.Dataset, pair: xr.Dataset
) -> None:
    observed = np.isfinite(day.SST_L3S.values) & ~day.gap.values
    land = ~day.sea.values
    for values in (pair.filled.values, *pair.members.values):
        np.testing.assert_array_equal(values[observed], day.SST_L3S.values[observed])
        assert np.all(np.isnan(values[land]))
        assert np.all(np.isfinite(values[day.gap.values]))


@pytest.mark.slow
def test_only_gap_cells_move_away_from_the_start(day: xr.Dataset, pair: xr.Dataset) -> None:
    start = fill_laplace(day).filled.values
    gap = day.gap.values
    for member in pair.members.values:
        moved = np.abs(member - start) > 1e-6
        assert not np.any(moved & ~gap & day.sea.values)
        assert moved[gap].mean() > 0.5  # noise + synthesis change most gap cells


@pytest.mark.slow
def test_ensemble_has_members_mean_and_spread(pair: xr.Dataset) -> None:
    assert pair.members.sizes == {"member": 2, "cells": 12 * NSIDE**2}
    np.testing.assert_allclose(pair.filled, pair.members.mean("member"), rtol=0, atol=1e-12)
    gap = pair.filled.notnull() & (pair.filled_std > 0)
    expected = pair.members.std("member", ddof=1)
    np.testing.assert_allclose(pair.filled_std.where(gap), expected.where(gap), atol=1e-12)
    assert float(pair.filled_std.max()) > 0.0
    assert not np.array_equal(pair.members[0], pair.members[1])  # seeds 0 and 1 differ


@pytest.mark.slow
def test_same_seed_is_bit_identical(day: xr.Dataset, pair: xr.Dataset) -> None:
    # member i uses seed + i: a single run with seed 1 is the pair's second member
    again = fill_foscat(day, seed=1, start="laplace", **FAST)
    np.testing.assert_array_equal(again.filled.values, pair.members.values[1])
    np.testing.assert_array_equal(again.loss.values[0], pair.loss.values[1])
    assert "filled_std" not in again


@pytest.mark.slow
def test_loss_decreases_over_epochs(pair: xr.Dataset) -> None:
    assert pair.loss.dims == ("member", "epoch")
    assert pair.loss.sizes["epoch"] == EPOCHS + 1
    for curve in pair.loss.values:
        curve = curve[np.isfinite(curve)]
        assert curve.size >= 2
        assert curve[-1] < curve[0]
        assert np.all(np.diff(curve) <= 1e-6 * curve[0])  # L-BFGS accepts only descents


@pytest.mark.slow
def test_honest_protocol_is_the_default(day: xr.Dataset, pair: xr.Dataset) -> None:
    default = fill_foscat(day, n_epochs=1, threads=1, progress=False)
    assert default.attrs["protocol"] == "honest" and default.attrs["start"] == "oi"
    assert default.attrs["anchor"] == 1000.0 and default.attrs["start_noise_std_degC"] == 0.0
    assert default.attrs["tutorial_reproduction"] == 0
    # the smooth start gets noise and a loose anchor
    assert pair.attrs["protocol"] == "honest"
    assert pair.attrs["anchor"] == 10.0
    assert pair.attrs["start_noise_std_degC"] > 0.0


@pytest.mark.slow
def test_honest_fill_ignores_the_values_inside_the_gaps(day: xr.Dataset, pair: xr.Dataset) -> None:
    leaked = day.copy()
    leaked["SST_L3S"] = day.SST_L3S.where(~day.gap, day.SST_L4 + 5.0)  # truth+5 in the gaps
    out = fill_foscat(leaked, seed=0, start="laplace", **FAST)
    np.testing.assert_array_equal(out.filled.values, pair.members.values[0])
    default, leaked_default = (fill_foscat(d, seed=0, **FAST) for d in (day, leaked))  # OI start
    np.testing.assert_array_equal(leaked_default.filled.values, default.filled.values)


# --- reference protocols -------------------------------------------------------------------


@pytest.mark.slow
def test_same_day_l4_is_the_oracle_tutorial_reproduction(day: xr.Dataset) -> None:
    out = fill_foscat(day, reference="l4", start="alm", n_epochs=1, threads=1, progress=False)
    assert out.attrs["protocol"] == "oracle"
    assert "optimistic" in out.attrs["protocol_note"]
    assert out.attrs["tutorial_reproduction"] == 1
    assert out.attrs["anchor"] == 0.0 and out.attrs["start_noise_std_degC"] == 0.0
    # the same through a DataArray and l4=
    again = fill_foscat(
        day.SST_L3S,
        day.gap,
        reference="l4",
        l4=day.SST_L4,
        start="alm",
        n_epochs=1,
        threads=1,
        progress=False,
    )
    np.testing.assert_array_equal(again.filled.values, out.filled.values)


def test_oracle_without_l4_says_what_to_pass(day: xr.Dataset) -> None:
    with pytest.raises(ValueError, match="l4="):
        fill_foscat(day.SST_L3S, day.gap, reference="l4", **FAST)
    with pytest.raises(ValueError, match="reference='l4'"):
        fill_foscat(day, l4=day.SST_L4, **FAST)  # an L4 map given but not used: say so


@pytest.mark.slow
def test_previous_day_reference_on_the_same_grid(day: xr.Dataset) -> None:
    before = synthetic_day(seed=1, time="2024-06-01")
    one = {**FAST, "n_epochs": 1}
    out = fill_foscat(day, reference=before.SST_L4, **one)
    assert out.attrs["protocol"] == "previous-day"
    assert "2024-06-01" in out.attrs["reference"]
    assert np.all(np.isfinite(out.filled.values[day.gap.values]))
    # a Dataset reference means its SST_L4
    again = fill_foscat(day, reference=before, **one)
    np.testing.assert_array_equal(again.filled.values, out.filled.values)


@pytest.mark.slow
def test_same_day_dataset_reference_is_labelled_oracle(day: xr.Dataset) -> None:
    out = fill_foscat(day, reference=day.SST_L4, n_epochs=1, threads=1, progress=False)
    assert out.attrs["protocol"] == "oracle"


@pytest.mark.parametrize(
    "make_reference, match",
    [
        pytest.param(lambda d: synthetic_day(nside=32).SST_L4, "another grid", id="other-nside"),
        pytest.param(
            lambda d: xr.DataArray(d.SST_L4.values, dims="x"), "HEALPix", id="no-cell-ids"
        ),
        pytest.param(lambda d: d.SST_L4 + 273.15, "kelvin", id="kelvin"),
        pytest.param(lambda d: d[["sea"]], "SST_L4", id="dataset-without-sst"),
        pytest.param(lambda d: "climatology", "reference must be", id="unknown-name"),
    ],
)
def test_bad_reference_raises(day: xr.Dataset, make_reference, match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        fill_foscat(day, reference=make_reference(day), **FAST)


# --- bad inputs ----------------------------------------------------------------------------


def _no_gaps(d: xr.Dataset) -> xr.Dataset:
    return d.assign(gap=d.gap & False)


def _all_gaps(d: xr.Dataset) -> xr.Dataset:
    return d.assign(gap=d.sea.copy(), SST_L3S=d.SST_L3S.where(~d.sea))


@pytest.mark.parametrize(
    "make_input, kwargs, match",
    [
        pytest.param(_no_gaps, {}, "nothing to fill", id="no-gaps"),
        pytest.param(_all_gaps, {}, "observed", id="all-gaps"),
        pytest.param(lambda d: synthetic_day(nside=8), {}, "nside >= 16", id="nside-8"),
        pytest.param(lambda d: d, {"start": "kriging"}, "start", id="bad-start"),
        pytest.param(lambda d: d, {"n_epochs": 0}, "n_epochs", id="zero-epochs"),
        pytest.param(lambda d: d, {"n_members": 0}, "n_members", id="zero-members"),
        pytest.param(lambda d: d, {"n_members": True}, "n_members.*bool", id="bool-members"),
        pytest.param(lambda d: d, {"n_members": 2.0}, "n_members", id="float-members"),
        pytest.param(lambda d: d, {"n_epochs": 1.5}, "n_epochs", id="float-epochs"),
        pytest.param(lambda d: d, {"threads": 0}, "threads", id="zero-threads"),
        pytest.param(lambda d: d, {"threads": True}, "threads", id="bool-threads"),
        pytest.param(lambda d: d, {"seed": -1}, "seed", id="negative-seed"),
        pytest.param(lambda d: d, {"seed": 1.5}, "seed", id="fractional-seed"),
        pytest.param(lambda d: d, {"seed": "1"}, "seed", id="string-seed"),
        pytest.param(lambda d: d, {"anchor": -1.0}, "anchor", id="negative-anchor"),
        pytest.param(
            lambda d: d, {"texture_weight": -1.0}, "texture_weight", id="negative-texture"
        ),
        pytest.param(lambda d: d, {"masks": "local7"}, "masks", id="bad-masks"),
        pytest.param(
            lambda d: d,
            {"near_gaps_km": -5.0},
            "the foscat fill's option near_gaps_km must be > 0, got -5",
            id="negative-near-gaps",
        ),  # fmt: skip
        pytest.param(lambda d: d, {"device": "tpu"}, "device", id="bad-device"),
        pytest.param(lambda d: d.SST_L3S, {"gaps": None}, "gap mask", id="no-gap-mask"),
        pytest.param(lambda d: d.expand_dims("time"), {}, "one HEALPix map", id="two-dims"),
    ],
)
def test_bad_input_raises(day: xr.Dataset, make_input, kwargs: dict, match: str) -> None:
    options = {**FAST, **kwargs}
    with pytest.raises(ValueError, match=match):
        fill_foscat(make_input(day), **options)


@pytest.mark.parametrize(
    "kwargs",
    [{"n_members": True}, {"threads": 0}, {"seed": -3}, {"seed": 0.5}, {"n_epochs": 0}],
    ids=["bool-members", "zero-threads", "negative-seed", "fractional-seed", "zero-epochs"],
)
def test_counts_and_seed_are_checked_before_any_work(
    day: xr.Dataset, kwargs: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    import eogapfill.fill.foscat.fill as module

    def no_work(*args: object, **kw: object) -> None:
        raise AssertionError("the inputs were prepared before the options were checked")

    monkeypatch.setattr(module, "prepare_healpix_fill", no_work)
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        fill_foscat(day, **{**FAST, **kwargs})


@pytest.mark.slow
def test_seed_none_draws_a_seed_and_records_it(day: xr.Dataset) -> None:
    out = fill_foscat(day, seed=None, start="laplace", **{**FAST, "n_epochs": 1})
    seed = out.attrs["seed"]
    assert isinstance(seed, int) and 0 <= seed < 2**32
    again = fill_foscat(day, seed=seed, start="laplace", **{**FAST, "n_epochs": 1})
    np.testing.assert_array_equal(again.filled.values, out.filled.values)


def test_cuda_without_a_gpu_says_so(day: xr.Dataset) -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ValueError, match="no GPU"):
        fill_foscat(day, device="cuda", **FAST)


# --- members on a Dask cluster -------------------------------------------------------------


@pytest.mark.slow
def test_dask_members_equal_sequential_members(day: xr.Dataset, pair: xr.Dataset) -> None:
    distributed = pytest.importorskip("dask.distributed")
    with distributed.Client(
        processes=False, n_workers=1, threads_per_worker=2, dashboard_address=":0"
    ) as client:
        out = fill_foscat(day, n_members=2, seed=0, start="laplace", client=client, **FAST)
        from_oi = fill_foscat(day, n_members=2, seed=0, client=client, **FAST)
    np.testing.assert_array_equal(out.members.values, pair.members.values)
    np.testing.assert_array_equal(out.loss.values, pair.loss.values)
    # each task starts from its own member's simulation, as in the sequential run
    sequential = fill_foscat(day, n_members=2, seed=0, **FAST)
    np.testing.assert_array_equal(from_oi.members.values, sequential.members.values)


# --- OI start and the near-gap reference ---------------------------------------------------


@pytest.mark.slow
def test_oi_start_gives_each_member_its_own_conditional_simulation(day: xr.Dataset) -> None:
    from eogapfill.fill.oi import fill_oi

    out = fill_foscat(day, start="oi", n_members=2, seed=3, **FAST)
    sims = fill_oi(day.SST_L3S, day.gap, n_members=2, seed=3).members.values
    gap = day.gap.values
    observed = np.isfinite(day.SST_L3S.values) & ~gap
    assert out.attrs["start"] == "oi" and out.attrs["start_noise_std_degC"] == 0.0
    for i, member in enumerate(out.members.values):
        np.testing.assert_array_equal(member[observed], day.SST_L3S.values[observed])
        # a member stays nearer its own simulation than the other member's
        own = np.abs(member[gap] - sims[i, gap]).mean()
        other = np.abs(member[gap] - sims[1 - i, gap]).mean()
        assert own < 0.7 * other
    assert float(out.filled_std.max()) > 0.0


def test_near_gap_weights_decay_away_from_the_gaps() -> None:
    from eogapfill.fill.masks import near_gap_weights

    ds = synthetic_day(nside=32)
    gap = ds.gap.values
    observed = np.isfinite(ds.SST_L3S.values) & ~gap
    weights = near_gap_weights(observed, gap, 32, scale_km=500.0)
    assert np.all(weights[~observed] == 0.0)
    assert np.all((weights[observed] > 0.0) & (weights[observed] <= 1.0))
    touching = np.zeros_like(gap)
    for cell in np.flatnonzero(gap):
        touching[hp.get_all_neighbours(32, cell, nest=True)] = True
    next_to_gaps = weights[touching & observed]
    assert np.median(next_to_gaps) == 1.0 and next_to_gaps.min() > 0.75
    far = observed & (weights < 0.05)
    assert far.any()  # the open water far from any cloud counts little
    wider = near_gap_weights(observed, gap, 32, scale_km=5000.0)
    assert np.all(wider[observed] >= weights[observed])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        pytest.param({"scale_km": 0.0}, "scale_km", id="zero-scale"),
        pytest.param({"gaps": np.zeros(12 * NSIDE**2, bool)}, "no gap", id="no-gaps"),
        pytest.param({"gaps": np.zeros(10, bool)}, "shape", id="bad-shape"),
    ],
)
def test_near_gap_weights_reject_bad_input(kwargs: dict, match: str) -> None:
    from eogapfill.fill.masks import near_gap_weights

    ds = synthetic_day()
    args = {
        "observed": np.isfinite(ds.SST_L3S.values),
        "gaps": ds.gap.values,
        "nside": NSIDE,
        "scale_km": 500.0,
        **kwargs,
    }
    with pytest.raises(ValueError, match=match):
        near_gap_weights(**args)


@pytest.mark.slow
def test_near_gap_reference_is_honest_and_recorded(day: xr.Dataset, pair: xr.Dataset) -> None:
    out = fill_foscat(day, seed=0, start="laplace", near_gaps_km=800.0, **FAST)
    assert out.attrs["protocol"] == "honest"
    assert out.attrs["near_gaps_km"] == 800.0 and "800 km" in out.attrs["reference"]
    assert not np.array_equal(out.filled.values, pair.members.values[0])  # other statistics
    with pytest.raises(ValueError, match="reference='observed'"):
        fill_foscat(day, reference="l4", near_gaps_km=800.0, **FAST)


# --- the cell-scale texture term -----------------------------------------------------------


def test_gap_pairs_hold_a_gap_cell_and_the_clear_sky_target(day: xr.Dataset) -> None:
    values, gaps = day.SST_L3S.values, day.gap.values
    observed = np.isfinite(values) & ~gaps
    pairs, target = gap_pairs(values, gaps, NSIDE)
    assert gaps[pairs[0]].all()
    assert (gaps | observed)[pairs[1]].all()  # never a land cell
    # every neighbour of every gap cell that is sea appears once
    neighbours = hp.get_all_neighbours(NSIDE, np.flatnonzero(gaps), nest=True)
    assert pairs.shape[1] == int(((neighbours >= 0) & (gaps | observed)[neighbours]).sum())
    nb = hp.get_all_neighbours(NSIDE, np.arange(values.size), nest=True)
    diffs = [
        values[i] - values[j]
        for i in np.flatnonzero(observed)
        for j in nb[:, i]
        if j >= 0 and observed[j]
    ]
    assert target == pytest.approx(np.mean(np.square(diffs)), rel=1e-12)


def test_gap_pairs_without_two_observed_neighbours_say_what_to_do() -> None:
    values = np.full(48, np.nan)
    values[0] = 20.0
    gaps = np.isnan(values)
    with pytest.raises(ValueError, match="texture_weight"):
        gap_pairs(values, gaps, nside=2)


@pytest.mark.slow
def test_texture_term_brings_the_gap_texture_to_the_clear_sky_value(
    day: xr.Dataset, pair: xr.Dataset
) -> None:
    pairs, target = gap_pairs(day.SST_L3S.values, day.gap.values, NSIDE)

    def mismatch(m: np.ndarray) -> float:
        return abs(np.mean((m[pairs[0]] - m[pairs[1]]) ** 2) / target - 1.0)

    held = fill_foscat(day, seed=0, start="laplace", texture_weight=100.0, **FAST)
    assert held.attrs["texture_weight"] == 100.0 and pair.attrs["texture_weight"] == 0.0
    assert mismatch(held.filled.values) < 0.5 * mismatch(pair.members.values[0])
    observed = np.isfinite(day.SST_L3S.values) & ~day.gap.values
    np.testing.assert_array_equal(held.filled.values[observed], day.SST_L3S.values[observed])


def test_members_stay_within_the_observed_range_unless_asked(
    day: xr.Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A synthesis that overshoots (here forced: one gap cell at -10 degC) is clipped by default
    and counted; clip=False keeps it and warns."""
    from eogapfill.fill.foscat import fill as module
    from eogapfill.seawater import ImplausibleTemperatureWarning

    run_member = module.run_member
    cell = int(np.flatnonzero(day.gap.values)[0])

    def overshoot(*args: object, **kwargs: object) -> tuple:
        values, history = run_member(*args, **kwargs)
        values = values.copy()
        values[cell] = -10.0
        return values, history

    monkeypatch.setattr(module, "run_member", overshoot)
    seen = day.SST_L3S.values[np.isfinite(day.SST_L3S.values) & ~day.gap.values]
    out = fill_foscat(day, seed=0, start="laplace", **FAST)
    assert out.attrs["n_clipped"] >= 1
    assert out.members.values[0, cell] == seen.min()
    with pytest.warns(ImplausibleTemperatureWarning, match="outside what sea water can have"):
        raw = fill_foscat(day, seed=0, start="laplace", clip=False, **FAST)
    assert raw.attrs["n_clipped"] == 0 and raw.members.values[0, cell] == -10.0


# --- coarse-to-fine ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def day32() -> xr.Dataset:
    return synthetic_day(nside=32, time="2024-06-02")


@pytest.mark.slow
def test_coarse_to_fine_keeps_observed_cells_and_honest_statistics(day32: xr.Dataset) -> None:
    from eogapfill.fill.foscat import fill as module

    gap = day32.gap.values
    observed = np.isfinite(day32.SST_L3S.values) & ~gap
    options = {"start": "laplace", "threads": 1, "progress": False}
    out = fill_foscat(day32, n_epochs=2, coarse_epochs=(3,), **options)
    assert out.attrs["coarse_to_fine"] == "3 at nside 16"
    assert out.loss.sizes["epoch"] == 3  # the history of the map's own grid
    np.testing.assert_array_equal(out.filled.values[observed], day32.SST_L3S.values[observed])
    assert np.all(np.isfinite(out.filled.values[gap]))
    # the values inside the gaps enter no level: the same fill from a map with them leaked
    leaked = day32.assign(SST_L3S=day32.SST_L3S.where(~day32.gap, day32.SST_L4 + 5.0))
    again = fill_foscat(leaked, n_epochs=2, coarse_epochs=(3,), **options)
    np.testing.assert_array_equal(again.filled.values, out.filled.values)
    single = fill_foscat(day32, n_epochs=2, **options)
    assert single.attrs["coarse_to_fine"] == "none"
    assert not np.array_equal(single.filled.values, out.filled.values)
    # the synthesis itself (before the observed cells are copied back) leaves them alone
    captured: list[np.ndarray] = []
    run_member = module.run_member

    def capture(problem: object, *args: object, **kwargs: object) -> tuple:
        values, history = run_member(problem, *args, **kwargs)
        captured.append(problem.starts[0].astype("float32").astype("float64"))
        captured.append(values)
        return values, history

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, "run_member", capture)
        fill_foscat(day32, n_epochs=1, coarse_epochs=(2,), **options)
    start, values = captured
    fixed = ~gap
    np.testing.assert_array_equal(values[fixed], start[fixed])


def test_coarse_levels_move_gap_blocks_and_weight_no_gap() -> None:
    from eogapfill.fill.foscat.problem import Problem, coarse_level, down, up

    nside = 32
    npix = 12 * nside**2
    rng = np.random.default_rng(0)
    gaps = rng.random(npix) < 0.1
    observed = ~gaps
    base = local_masks(nside)
    start = rng.normal(size=npix)
    problem = Problem(
        nside=nside,
        starts=start[None, :],
        noise_std=0.0,
        gaps=gaps,
        ref_map=start,
        ref_masks=base * observed[None, :],
        learn_masks=base,
        anchor=1.0,
        n_epochs=1,
        blocks=[[]],
    )
    level = coarse_level(problem, 16, 5, observed, start, honest=True)
    assert level.nside == 16 and level.n_epochs == 5
    np.testing.assert_array_equal(level.gaps, gaps.reshape(-1, 4).any(axis=1))
    assert np.all(level.ref_masks[:, level.gaps] == 0.0)
    assert np.all(level.ref_masks[:, ~level.gaps].sum(axis=0) > 0.0)
    np.testing.assert_allclose(level.starts[0], down(start, 4))
    np.testing.assert_allclose(up(np.full(12 * 16**2, 3.5), 16, 64), 3.5)


@pytest.mark.parametrize(
    "coarse_epochs, match",
    [
        pytest.param((2,), "nside >= 16", id="below-nside-16"),
        pytest.param(5, "coarse_epochs must be Sequence, got 5", id="not-a-sequence"),
        pytest.param("5", "coarse_epochs must be a list of integers >= 1", id="a-string"),
        pytest.param((0,), "coarse_epochs", id="zero-iterations"),
    ],
)
def test_bad_coarse_epochs_raise(day: xr.Dataset, coarse_epochs: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        fill_foscat(day, coarse_epochs=coarse_epochs, **FAST)
