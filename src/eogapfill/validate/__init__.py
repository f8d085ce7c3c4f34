"""Score gap fills honestly: hide observed pixels under real clouds, fill, compare.

The protocol (DINCAE / DINEOF style cross-validation):

1. take a regridded day and the cloud pattern of *another* day (:func:`cloud_pattern_from`);
2. hide the clear sea pixels of the day that fall under those clouds (:func:`hide_pixels`):
   their observed values become the truth, the fill never sees them;
3. fill the day with its extra gaps and score the fill on the hidden pixels only
   (:func:`score_fill`, :func:`compare_methods`; :func:`validation_experiment` does all three).

Scores, all computed on the hidden cells (``mask``):

- pointwise: :func:`rmse`, :func:`bias`, :func:`mae`, the skill :func:`skill` (``mu``) and
  the :func:`error_histogram`;
- texture: :func:`small_scale_power_ratio` (spectra after removing a *common* large-scale map,
  which avoids the masked-``anafast`` trap), :func:`neighbour_variance_ratio` and
  :func:`gradient_histogram_distance` (the distribution of ``|grad T|``, which white noise fails);
- probabilistic: :func:`crps_ensemble`, :func:`spread_skill` for ensembles, and
  :func:`crps_gaussian`, :func:`spread_skill_gaussian`, :func:`zscore_std` for a Gaussian
  predictive ``(mean, std)``.

Every map is a NESTED HEALPix map of shape ``(npix,)``, one value per cell of its grid:
``npix = 12 * nside**2`` on the full sphere, the region's cells on a regional (partial) grid
(numpy array or ``DataArray`` on ``cells``); temperatures are in degC, gradients in degC/km.
On a region, pass the grid (:func:`eogapfill.healpix.grid_of`) where a function asks for
``nside`` (DataArrays carrying ``cell_ids`` give it themselves): neighbours outside the region
are absent, the common large-scale map is a quadratic fit in local coordinates, and the
small-scale ratio compares :func:`structure_functions` since an angular power spectrum needs
the whole sphere. :func:`hide_pixels` reads a cloud pattern by cell id and moves it within the
region.
``truth`` only needs to be finite on the mask (NaN elsewhere is fine: for instance the day's
observed SST before hiding, NaN under its own clouds and on land).

Every result row records its ``protocol``: ``"honest"`` (the fill used the observed pixels
only, the default), ``"previous-day"`` (its statistics came from another day's L4 or a
climatology) or ``"oracle"`` (it saw the same day's L4, as the original tutorial did: a
reproduction, not a score). The truth itself is observed SST here; when the day's L4 is used
as a full-field truth instead, remember that it is an optimal-interpolation analysis, smoother
than real SST, so scores against it favour smooth fills.
"""

from __future__ import annotations

from eogapfill.validate.experiment import (
    ValidationCase,
    compare_methods,
    default_methods,
    validation_experiment,
)
from eogapfill.validate.hide import cloud_pattern_from, hide_pixels, shift_longitude
from eogapfill.validate.pixels import (
    PIXEL_COLUMNS,
    hide_source_pixels,
    pixel_scores,
    pixel_validation,
    within_cell_variance,
)
from eogapfill.validate.probabilistic import (
    crps_ensemble,
    crps_gaussian,
    spread_skill,
    spread_skill_gaussian,
    zscore_std,
)
from eogapfill.validate.report import COLUMNS, PROTOCOLS, markdown_table, score_fill
from eogapfill.validate.scores import bias, error_histogram, mae, rmse, skill
from eogapfill.validate.texture import (
    gradient_histogram_distance,
    gradient_histograms,
    gradient_magnitude,
    large_scale_fit,
    masked_spectra,
    neighbour_variance_ratio,
    small_scale_power_ratio,
    structure_functions,
)

__all__ = [
    "COLUMNS",
    "PIXEL_COLUMNS",
    "PROTOCOLS",
    "ValidationCase",
    "bias",
    "cloud_pattern_from",
    "compare_methods",
    "crps_ensemble",
    "crps_gaussian",
    "default_methods",
    "error_histogram",
    "gradient_histogram_distance",
    "gradient_histograms",
    "gradient_magnitude",
    "hide_pixels",
    "hide_source_pixels",
    "large_scale_fit",
    "mae",
    "markdown_table",
    "masked_spectra",
    "neighbour_variance_ratio",
    "pixel_scores",
    "within_cell_variance",
    "pixel_validation",
    "rmse",
    "score_fill",
    "shift_longitude",
    "skill",
    "small_scale_power_ratio",
    "spread_skill",
    "spread_skill_gaussian",
    "structure_functions",
    "validation_experiment",
    "zscore_std",
]
