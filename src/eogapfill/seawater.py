"""What sea water can be: the temperature bounds that every input check and every fill keeps to.

The lowest layer of the package (numpy only): :mod:`eogapfill.preprocess` refuses or masks
inputs outside :data:`SEA_WATER_DEGC`, and every fill warns
(:class:`ImplausibleTemperatureWarning`) when it writes a gap value outside them.
"""

from __future__ import annotations

__all__ = [
    "SEA_WATER_DEGC",
    "ImplausibleTemperatureWarning",
    "sea_water_bounds",
]

#: Temperatures that sea water can have at the surface, degC: sea water freezes near -1.9
#: degC (brines a little lower), and no open ocean reaches 40 degC.
SEA_WATER_DEGC = (-2.5, 40.0)

_KELVIN = {"k", "kelvin", "kelvins", "degk", "deg_k"}
_CELSIUS = {"", "degc", "deg_c", "celsius", "degree_celsius", "degrees_celsius", "°c", "c"}


class ImplausibleTemperatureWarning(UserWarning):
    """A fill wrote temperatures that sea water cannot have.

    Make it an error with ``warnings.simplefilter("error", ImplausibleTemperatureWarning)``
    (or run Python with ``-W error::eogapfill.seawater.ImplausibleTemperatureWarning``).
    """


def sea_water_bounds(units: str) -> tuple[float, float] | None:
    """:data:`SEA_WATER_DEGC` in ``units`` (degC or kelvin; no units = degC), else None.

    >>> sea_water_bounds("K")
    (270.65, 313.15)
    >>> sea_water_bounds("m") is None
    True
    """
    key = units.strip().lower().replace("degrees", "deg").replace(" ", "_")
    low, high = SEA_WATER_DEGC
    if key in _CELSIUS:
        return low, high
    if key in _KELVIN:
        return low + 273.15, high + 273.15
    return None
