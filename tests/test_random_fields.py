"""Gaussian random fields: the Matérn covariance model, its angular spectrum, the fields."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import eval_legendre

from eogapfill.fill import oi
from eogapfill.healpix import EARTH_RADIUS_KM
from eogapfill.random_fields import CovarianceModel, angular_power_spectrum, gaussian_random_field


def test_oi_reexports_the_random_fields() -> None:
    assert oi.CovarianceModel is CovarianceModel
    assert oi.gaussian_random_field is gaussian_random_field
    assert oi.angular_power_spectrum is angular_power_spectrum


@pytest.mark.parametrize("nu", [pytest.param(nu, id=f"nu={nu}") for nu in (0.5, 1.5, 2.5)])
def test_covariance_matches_gstools(nu: float) -> None:
    gs = pytest.importorskip("gstools")
    model = CovarianceModel(sill=2.0, length_scale_km=300.0, nugget=0.1, nu=nu)
    reference = gs.Matern(dim=3, var=2.0, len_scale=300.0 / np.sqrt(2), nu=nu)
    chord = np.array([1.0, 50.0, 300.0, 1000.0])
    np.testing.assert_allclose(
        2.0 * model.correlation_chord(chord), reference.covariance(chord), rtol=1e-6
    )
    distance = np.array([0.0, 500.0])
    expected_chord = 2 * EARTH_RADIUS_KM * np.sin(500.0 / (2 * EARTH_RADIUS_KM))
    np.testing.assert_allclose(
        model(distance), [2.1, float(reference.covariance(expected_chord))], rtol=1e-6
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"nu": 1.0}, id="nu"),
        pytest.param({"sill": 0.0}, id="zero-sill"),
        pytest.param({"nugget": -1.0}, id="negative-nugget"),
        pytest.param({"length_scale_km": np.nan}, id="nan-length"),
    ],
)
def test_bad_covariance_raises(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        CovarianceModel(**{"sill": 1.0, "length_scale_km": 100.0, **kwargs})


def test_angular_power_spectrum_resums_to_the_covariance() -> None:
    model = CovarianceModel(sill=1.0, length_scale_km=1000.0, nu=1.5)
    lmax = 300
    cl = angular_power_spectrum(model, lmax)
    ell = np.arange(lmax + 1)
    for distance in (0.0, 500.0, 1500.0, 4000.0):
        x = np.cos(distance / EARTH_RADIUS_KM)
        resummed = np.sum((2 * ell + 1) / (4 * np.pi) * cl * eval_legendre(ell, x))
        assert resummed == pytest.approx(float(model(np.array(distance))), abs=2e-3)


def test_random_fields_have_the_model_variance_and_are_seeded() -> None:
    model = CovarianceModel(sill=0.8, length_scale_km=400.0, nugget=0.2, nu=0.5)
    fields = gaussian_random_field(model, 32, n_fields=4, seed=5)
    assert fields.shape == (4, 12 * 32**2)
    assert np.var(fields) == pytest.approx(model.variance, rel=0.15)
    np.testing.assert_array_equal(fields, gaussian_random_field(model, 32, n_fields=4, seed=5))
    assert not np.allclose(fields, gaussian_random_field(model, 32, n_fields=4, seed=6))
