"""The fill contract's messages: a map already complete, and implausible gap values."""

from __future__ import annotations

import numpy as np
import pytest

from eogapfill.fill.common import (
    ImplausibleTemperatureWarning,
    NothingToFillError,
    finish_fill,
    prepare_healpix_fill,
)
from eogapfill.fill.laplace import fill_laplace
from eogapfill.healpix import healpix_dataset


def _day(n_gaps: int) -> object:
    sst = np.full(12 * 4**2, 20.0, dtype="float64")
    gaps = np.zeros(sst.size, bool)
    gaps[:n_gaps] = True
    sst[gaps] = np.nan
    return healpix_dataset({"SST_L3S": sst, "gap": gaps}, nside=4)


def test_a_complete_map_is_refused_as_nothing_to_fill() -> None:
    with pytest.raises(NothingToFillError, match="gap mask is empty: there is nothing to fill"):
        fill_laplace(_day(0))
    assert issubclass(NothingToFillError, ValueError)


@pytest.mark.parametrize(
    ("method", "named", "not_named"),
    [
        ("oi", "fill_laplace", "fill_oi"),
        ("laplace", "fill_oi", "fill_laplace"),
        ("alm", "a lower lmax or a ridge", "for fill_alm"),
    ],
)
def test_the_bounds_warning_names_other_fills_than_its_own(method, named, not_named) -> None:
    inputs, _ = prepare_healpix_fill(_day(5), method=method)
    values = np.where(inputs.gaps, 60.0, inputs.values)  # hotter than sea water can be
    with pytest.warns(ImplausibleTemperatureWarning, match="outside what sea water") as caught:
        out = finish_fill(inputs, values, method=method)
    text = str(caught[0].message)
    assert named in text and not_named not in text
    assert out.attrs["n_implausible"] == 5
