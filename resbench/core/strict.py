"""What the sweep's sections and a run's record are built on: strict, frozen pydantic models,
and the validation context of a record read back (`STORED`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationInfo

# The validation context of a record read back: its run was checked against the registries
# when it was made, and is read for its structure alone.
STORED = {"stored": True}


class Strict(BaseModel):
    """Unknown keys are errors; a validated section never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def stored(info: ValidationInfo) -> bool:
    """Whether a record is being read back (validated with `STORED`): no look-up that would
    import a user's code (which may no longer import)."""
    return bool(info.context and info.context.get("stored"))
