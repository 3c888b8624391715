"""`train.probes`: the sizes of the diagnostics that explain depth (`train.diagnostics`).

How many inputs, points and examples each of `jacobian`, `grad_correlation`, `lesions`,
`loss_slice` and `loss_surface` takes (what they measure: `resbench.train.diagnostics`). They
are part of the run id when they differ from these defaults (`LATER_FIELDS`): a finer grid is
another measurement.
"""

from __future__ import annotations

from pydantic import Field, PositiveFloat, PositiveInt

from resbench.core.strict import Strict


class ProbeOptions(Strict):
    """The `train.probes:` section."""

    jacobian_inputs: PositiveInt = Field(
        4, description="jacobian: the training examples whose input-output Jacobian is taken"
    )
    path_points: int = Field(
        16,
        ge=3,
        description="grad_correlation: points on the segment between two training examples",
    )
    lesion_examples: PositiveInt = Field(
        512, description="lesions: the test examples each lesioned net is scored on"
    )
    slice_points: int = Field(
        21, ge=3, description="loss_slice: points along the direction, ends included"
    )
    surface_points: int = Field(
        11, ge=3, description="loss_surface: points along each of the two directions"
    )
    slice_span: PositiveFloat = Field(
        1.0, description="loss_slice, loss_surface: the grid runs from -span to +span"
    )
    slice_examples: PositiveInt = Field(
        512, description="loss_slice, loss_surface: the training examples the loss is taken on"
    )


# As JSON, for the run id's LATER_FIELDS: at these values the field is left out of the id.
PROBE_DEFAULTS = ProbeOptions().model_dump(mode="json")
