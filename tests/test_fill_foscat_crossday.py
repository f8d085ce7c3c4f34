"""foscat with cross statistics between days: honest cross references, a persistent field used."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from eogapfill.fill.foscat.crossday import cross_terms, fill_foscat_crossday
from eogapfill.fill.foscat.protocols import base_masks
from eogapfill.healpix import healpix_dataset
from tests.markers import requires_foscat
from tests.test_fill_spacetime import NSIDE, persistent_stack

pytestmark = [*requires_foscat, pytest.mark.slow]

TARGET = 1


@pytest.fixture(scope="module")
def scene() -> tuple[xr.Dataset, np.ndarray]:
    return persistent_stack(3, 0.9)


@pytest.fixture(scope="module")
def filled(scene) -> xr.Dataset:
    stack, _ = scene
    return fill_foscat_crossday(stack, TARGET, n_epochs=3, n_members=2, threads=1)


def test_observed_cells_bit_identical_and_members_differ(scene, filled) -> None:
    stack, _ = scene
    day = stack["SST_L3S"].values[TARGET]
    gaps = stack["gap"].values[TARGET]
    kept = ~gaps
    np.testing.assert_array_equal(filled["filled"].values[kept], day[kept])  # NaN == NaN
    for member in filled["members"].values:
        np.testing.assert_array_equal(member[kept], day[kept])
    assert np.isfinite(filled["filled"].values[gaps]).all()
    members = filled["members"].values[:, gaps]
    assert np.abs(members[0] - members[1]).mean() > 0.05
    assert (filled["filled_std"].values[gaps] > 0).mean() > 0.9
    assert filled.attrs["protocol"] == "honest"
    assert list(filled.attrs["neighbour_days"]) == [0, 2]


def _ref_map(stack: xr.Dataset) -> np.ndarray:
    """The target day's observed cells, their mean elsewhere (no value from its gaps)."""
    values = stack["SST_L3S"].values[TARGET]
    observed = np.isfinite(values) & ~stack["gap"].values[TARGET]
    return np.where(observed, values, values[observed].mean())


def _reference(stack: xr.Dataset, neighbour: int) -> tuple:
    """The cross term of ``neighbour`` and its reference tensors."""
    from eogapfill.fill.foscat.adapter import import_foscat, scat_operator
    from eogapfill.fill.foscat.problem import cross_reference

    (term,), used = cross_terms(
        stack, TARGET, [neighbour], _ref_map(stack), base_masks("local12", NSIDE)[0]
    )
    assert used == [neighbour]
    scat_cov, _, _ = import_foscat()
    _, reference, scales, _ = cross_reference(scat_operator(scat_cov), term, {})
    return term, reference, scales


def test_cross_reference_sees_cells_observed_on_both_days_only(scene) -> None:
    stack, _ = scene
    observed = np.isfinite(stack["SST_L3S"].values) & ~stack["gap"].values
    both = observed[TARGET] & observed[2]
    term, reference, scales = _reference(stack, 2)
    assert np.all(term.ref_masks[:, ~both] == 0)
    assert np.all(term.ref_masks.sum(axis=1) > 0)
    neighbour_only = observed[2] & ~observed[TARGET] & stack["sea"].values[TARGET]
    assert neighbour_only.sum() > 50
    assert np.all(term.learn_masks[:, ~observed[2]] == 0)
    assert term.learn_masks[:, neighbour_only].sum() > 0  # the map's gaps are learnt there

    # values inside the neighbour's gaps (and the target's gaps) are not used at all
    changed = stack.copy(deep=True)
    sst = changed["SST_L3S"].values
    sst[2, changed["gap"].values[2]] = 40.0
    sst[TARGET, changed["gap"].values[TARGET]] = -2.0
    other, other_reference, other_scales = _reference(changed, 2)
    np.testing.assert_array_equal(other.neighbour, term.neighbour)
    for name, value in reference.items():
        np.testing.assert_array_equal(other_reference[name].numpy(), value.numpy())
        np.testing.assert_array_equal(other_scales[name].numpy(), scales[name].numpy())

    # a value observed on the neighbour day does change its reference
    cell = np.flatnonzero(both)[0]
    sst[2, cell] += 5.0
    _, moved, _ = _reference(changed, 2)
    assert not np.array_equal(moved["S2"].numpy(), reference["S2"].numpy())


def test_a_neighbour_without_overlap_lends_no_term(scene) -> None:
    stack, _ = scene
    cloudy = stack.copy(deep=True)
    cloudy["gap"].values[0] = cloudy["sea"].values[0]
    cloudy["SST_L3S"].values[0] = np.nan
    base, _ = base_masks("local12", NSIDE)
    terms, used = cross_terms(cloudy, TARGET, [0, 2], _ref_map(cloudy), base)
    assert used == [2] and len(terms) == 1


def test_cross_terms_carry_a_persistent_field(scene) -> None:
    """From the same single-day OI start, the cross terms bring the neighbour days' anomalies
    into the gaps: the member follows the truth more closely than without them."""
    stack, truth = scene
    gaps = stack["gap"].values[TARGET]
    scores = {}
    for weight in (0.0, 10.0):
        out = fill_foscat_crossday(
            stack, TARGET, start="oi", cross_weight=weight, n_epochs=15, n_members=1, threads=1
        )
        member = out["members"].values[0, gaps]
        scores[weight] = (
            np.corrcoef(member, truth[TARGET, gaps])[0, 1],
            np.sqrt(np.mean((member - truth[TARGET, gaps]) ** 2)),
        )
        assert out.attrs["n_cross_terms"] == (2 if weight else 0)
    assert scores[10.0][0] > scores[0.0][0] + 0.02
    assert scores[10.0][1] < 0.97 * scores[0.0][1]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"target": 5}, "target must be a day index", id="target"),
        pytest.param(
            {"start": "laplace"},
            "start must be one of 'spacetime', 'oi', got 'laplace'",
            id="start",
        ),
        pytest.param({"cross_weight": -1.0}, "cross_weight must be", id="weight"),
        pytest.param({"window": -1}, "window", id="window"),
    ],
)
def test_bad_options_refused(scene, options: dict, message: str) -> None:
    stack, _ = scene
    options = {"target": TARGET, **options}
    with pytest.raises(ValueError, match=message):
        fill_foscat_crossday(stack, **options)


def test_a_region_is_filled_with_cross_terms() -> None:
    """On a regional grid the synthesis runs on the region's cells, its neighbours lend terms."""
    from eogapfill.healpix import HealpixGrid, region_cells

    box = (-80.0, -50.0, 25.0, 45.0)
    ids = np.asarray(region_cells(NSIDE, box))
    lon, lat = HealpixGrid(NSIDE, cell_ids=ids).lonlat()
    rng = np.random.default_rng(0)
    truth = 28.0 - 20.0 * np.sin(np.radians(lat)) ** 2 + 1.5 * np.sin(np.radians(4 * lon))
    land = lon < -75.0
    gaps = np.stack([(np.hypot(lon + 62.0 + 3 * t, lat - 35.0) < 5.0) & ~land for t in range(3)])
    values = truth + 0.3 * rng.normal(size=(3, ids.size))
    stack = xr.Dataset(
        {
            "SST_L3S": (
                ("time", "cells"),
                np.where(gaps | land, np.nan, values),
                {"units": "degC"},
            ),
            "gap": (("time", "cells"), gaps),
            "sea": (("time", "cells"), np.broadcast_to(~land, gaps.shape).copy()),
        },
        coords={
            "cell_ids": healpix_dataset({}, HealpixGrid(NSIDE, cell_ids=ids)).cell_ids,
            "time": np.datetime64("2024-06-01", "ns") + np.arange(3) * np.timedelta64(1, "D"),
        },
    )
    out = fill_foscat_crossday(stack, TARGET, n_epochs=2, n_members=1, threads=1)
    day = stack["SST_L3S"].values[TARGET]
    assert out.sizes["cells"] == ids.size
    np.testing.assert_array_equal(out["filled"].values[~gaps[TARGET]], day[~gaps[TARGET]])
    assert np.isfinite(out["filled"].values[gaps[TARGET]]).all()
    assert list(out.attrs["neighbour_days"]) == [0, 2]
