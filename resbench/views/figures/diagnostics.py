"""The why figures a sweep's runs recorded, in the order the page and `plot --why` show them:
each named for its file (`why-<name>.png`) with the sentence that says what it measures and
whose measurement it is."""

from __future__ import annotations

from typing import TYPE_CHECKING

from resbench.views.figures.slices import slice_figure, surface_figure
from resbench.views.figures.why import PROFILES, jacobian_figure, lesion_figure, profile_figure

if TYPE_CHECKING:
    import pandas as pd

    from resbench.views.figures.model import Figure

# name: (the layers.csv kind it needs, what it measures, with its source)
WHY_FIGURES = {
    "cosine": (
        "sample_cosine",
        "How alike the net makes two different inputs, layer by layer: the mean cosine between "
        "their representations. Near 1, every input looks the same to the layers above and "
        "the signal carries nothing to learn from (Schoenholz et al. 2017).",
    ),
    "rms": (
        "signal_rms",
        "The activations' scale, layer by layer: their root mean square. Growing or shrinking "
        "geometrically with depth, the signal explodes or vanishes on its way up.",
    ),
    "tokens": (
        "token_spread",
        "A transformer's tokens: how far they are from all being one vector, ‖X − 1·x̄ᵀ‖/‖X‖. "
        "At 0 they have collapsed to rank one, as attention without the residual path does "
        "(Dong et al. 2021; Noci et al. 2022).",
    ),
    "jacobian": (
        "jacobian_sv_rms",
        "The singular values of the Jacobian from the input to each layer at initialisation. "
        "Where all are near 1 the net is dynamically isometric and gradients keep their size "
        "through depth (Pennington et al. 2017; Xiao et al. 2018).",
    ),
    "correlation": (
        "grad_correlation",
        "How correlated the input gradients of neighbouring inputs are at initialisation. "
        "Falling towards 0 with depth, the gradients are shattered, like white noise (Balduzzi "
        "et al. 2017).",
    ),
    "lesions": (
        "lesion_error",
        "After training, the test error with one block removed (replaced by its shortcut). A "
        "residual net barely notices most of its blocks gone, a plain net breaks: residual "
        "nets behave like ensembles of shallow paths (Veit et al. 2016).",
    ),
    "slice": (
        "loss_slice",
        "After training, the training loss along a random filter-normalised direction around "
        "the trained weights: smooth around a residual net's, chaotic around a deep plain "
        "net's (Li et al. 2018).",
    ),
    "surface": (
        "loss_surface",
        "The same along two directions, as contour lines: Li et al. 2018's picture of the loss "
        "surface, convex-looking around a ResNet-56 and chaotic around a plain-56.",
    ),
}


def why_figures(layers: pd.DataFrame, runs: pd.DataFrame) -> dict[str, Figure]:
    """Each why figure whose kind the runs recorded and that has something to draw, by name."""
    kinds = set(layers["kind"])
    profiles = {p.key.removeprefix("why-"): p for p in PROFILES}
    out = {}
    for name, (kind, _) in WHY_FIGURES.items():
        if kind not in kinds:
            continue
        if name in profiles:
            figure = profile_figure(layers, runs, profiles[name])
        elif name == "jacobian":
            figure = jacobian_figure(layers, runs)
        elif name == "lesions":
            figure = lesion_figure(layers, runs)
        else:
            figure = (slice_figure if name == "slice" else surface_figure)(layers, runs)
        if not figure.empty:
            out[name] = figure
    return out
