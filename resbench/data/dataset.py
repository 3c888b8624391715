"""What every dataset is made of: its options (a strict pydantic model) and its `Data`.

Every dataset becomes one `Data`: inputs shaped (N, C, ...) and int64 labels, as tensors on
the device. Generated data is stored as floats; image files are stored as their uint8 pixels,
which `Data.inputs` turns into normalised floats batch by batch, and `Data.augment` crops and
flips on the device. Batches are index gathers into those tensors: no DataLoader, nothing
copied per step. torch is imported inside functions, so that validating a sweep stays light.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from resbench.core.errors import ResbenchError

if TYPE_CHECKING:
    import torch

Report = Callable[[str], None]  # says what is happening (a download), for a long wait


class DatasetError(ResbenchError):
    """Dataset files that are missing, damaged or unsafe, explained in one line."""


class DatasetOptions(BaseModel):
    """Base of every dataset's options: `name` picks the dataset; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str

    def ensure_files(self, report: Report | None = None) -> None:
        """Check that the files this dataset reads are there (downloading where asked).

        Raises DatasetError saying where to put what. Generated datasets read no files.
        """

    def data_kind(self) -> str | None:
        """What one example is, known without loading: "sequence" (channels, length), "image"
        (channels, height, width), "tokens" (token ids whose next tokens are the labels), or
        None when only loading tells; families say which kinds they read."""
        return None

    def num_classes(self) -> int | None:
        """How many labels an example may take, known without loading (a net that learned
        nothing scores a loss of ln of it), or None when only loading tells."""
        return None


@dataclass(frozen=True)
class Data:
    """A dataset as tensors on one device.

    `x_*` hold stored examples: floats ready for the model, or uint8 pixels with the training
    set's per-channel `mean` and `std` (in pixel units, shaped to broadcast over one batch),
    which `inputs` applies. `crop_pad` and `flip` describe the augmentation `augment` applies.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    mean: torch.Tensor | None = None
    std: torch.Tensor | None = None
    crop_pad: int = 0  # zero-pad by this much, then crop back to size at a random offset
    flip: bool = False  # flip left-right with probability 1/2

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    def to(self, device: torch.device | str) -> Data:
        import torch

        tensors = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        moved = {k: v.to(device) for k, v in tensors.items() if isinstance(v, torch.Tensor)}
        return dataclasses.replace(self, **moved)

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        """Stored examples -> the model's inputs: uint8 pixels become normalised floats."""
        if self.mean is None or self.std is None:
            return x
        return (x.float() - self.mean) / self.std

    def augment(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """A batch of inputs, randomly cropped and flipped (unchanged without augmentation).

        `generator` must live on x's device: the random draws are made there, never on the host.
        """
        if not self.crop_pad and not self.flip:
            return x
        from resbench.data.augment import crop_flip

        return crop_flip(x, self.crop_pad, self.flip, generator)


Loader = Callable[[DatasetOptions], Data]
