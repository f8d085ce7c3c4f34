"""What sea water can be: the temperature bounds that every input check and every fill keeps to.

The lowest layer of the package (no third-party import): :mod:`eogapfill.preprocess` refuses
or masks inputs outside :data:`SEA_WATER_DEGC`, and every fill warns
(:class:`ImplausibleTemperatureWarning`) when it writes a gap value outside them. It also holds
the package's one reader of temperature units, :func:`temperature_unit`, which preprocessing,
regridding, plotting and the fills' checks all use.
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "SEA_WATER_DEGC",
    "ImplausibleTemperatureWarning",
    "TemperatureUnit",
    "sea_water_bounds",
    "temperature_unit",
]

#: Temperatures that sea water can have at the surface, degC: sea water freezes near -1.9
#: degC (brines a little lower), and no open ocean reaches 40 degC.
SEA_WATER_DEGC = (-2.5, 40.0)

#: The temperature units that :func:`temperature_unit` tells apart (pint's names).
TemperatureUnit = Literal["kelvin", "degC", "degF"]

# spellings after normalisation (lower case; no spaces or underscores; "degree(s)", "°" -> "deg")
_SPELLINGS: dict[str, TemperatureUnit] = {
    **dict.fromkeys(("k", "kelvin", "kelvins", "degk", "degkelvin"), "kelvin"),
    **dict.fromkeys(("c", "degc", "celsius", "degcelsius"), "degC"),
    **dict.fromkeys(("f", "degf", "fahrenheit", "degfahrenheit"), "degF"),
}


class ImplausibleTemperatureWarning(UserWarning):
    """A fill wrote temperatures that sea water cannot have.

    Make it an error with ``warnings.simplefilter("error", ImplausibleTemperatureWarning)``
    (or run Python with ``-W error::eogapfill.seawater.ImplausibleTemperatureWarning``).
    """


def temperature_unit(units: str | None) -> TemperatureUnit | None:
    """The temperature unit that a ``units`` string names: ``"kelvin"``, ``"degC"`` or ``"degF"``.

    Reads the CF/UDUNITS spellings in any case, with or without spaces, underscores, "degree(s)"
    or "°": ``K``, ``kelvin``, ``degK``, ``degrees_K``; ``degC``, ``degree_Celsius``, ``deg C``,
    ``°C``, ``C``, ``celsius``; ``degF``, ``degree_Fahrenheit``, ``°F``, ``fahrenheit``.

    Returns
    -------
    str or None
        The unit's name as pint writes it, or None when ``units`` is missing, empty or not a
        temperature (a length, ``"1"``, an unknown word).

    Examples
    --------
    >>> temperature_unit("K"), temperature_unit("degrees_Celsius"), temperature_unit("°F")
    ('kelvin', 'degC', 'degF')
    >>> temperature_unit("m") is None and temperature_unit("") is None
    True
    """
    if not isinstance(units, str):
        return None
    key = units.strip().lower().replace("°", "deg").replace(" ", "").replace("_", "")
    key = key.replace("degrees", "deg").replace("degree", "deg")
    return _SPELLINGS.get(key)


def sea_water_bounds(units: str) -> tuple[float, float] | None:
    """:data:`SEA_WATER_DEGC` in ``units`` (any :func:`temperature_unit`; no units = degC).

    None when ``units`` is not a temperature.

    >>> sea_water_bounds("K")
    (270.65, 313.15)
    >>> sea_water_bounds("degF")
    (27.5, 104.0)
    >>> sea_water_bounds("m") is None
    True
    """
    unit = "degC" if not units.strip() else temperature_unit(units)
    low, high = SEA_WATER_DEGC
    if unit == "degC":
        return low, high
    if unit == "kelvin":
        return low + 273.15, high + 273.15
    if unit == "degF":
        return low * 1.8 + 32.0, high * 1.8 + 32.0
    return None
