"""The paper's augmentation: shapes kept, seeded, and it really pads, crops and flips."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from resbench.data import Data
from resbench.data.augment import crop_flip

PAD = 4


def images(n: int = 64, size: int = 8) -> torch.Tensor:
    """Distinct, strictly positive pixels: every window of the padded image is recognisable."""
    return torch.arange(1, n * 3 * size * size + 1, dtype=torch.float32).reshape(n, 3, size, size)


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def where_from(out: torch.Tensor, x: torch.Tensor) -> tuple[int, int, bool]:
    """(dy, dx, flipped): the window of padded `x` that `out` is, found by search."""
    padded = F.pad(x, (PAD,) * 4)
    h, w = x.shape[-2:]
    for dy in range(2 * PAD + 1):
        for dx in range(2 * PAD + 1):
            window = padded[:, dy : dy + h, dx : dx + w]
            for flipped in (False, True):
                if torch.equal(out, window.flip(-1) if flipped else window):
                    return dy, dx, flipped
    raise AssertionError("not a crop of the padded image, flipped or not")


def test_shape_dtype_and_device_are_kept() -> None:
    x = images()
    out = crop_flip(x, PAD, True, seeded(0))
    assert out.shape == x.shape and out.dtype == x.dtype and out.device == x.device


def test_same_seed_same_batch_other_seed_other_batch() -> None:
    x = images()
    a, b = crop_flip(x, PAD, True, seeded(3)), crop_flip(x, PAD, True, seeded(3))
    assert torch.equal(a, b)
    assert not torch.equal(a, crop_flip(x, PAD, True, seeded(4)))


def test_every_image_is_a_crop_of_its_padded_self_some_shifted_some_flipped() -> None:
    x = images()
    out = crop_flip(x, PAD, True, seeded(0))
    found = [where_from(o, xi) for o, xi in zip(out, x, strict=True)]
    assert any((dy, dx) != (PAD, PAD) for dy, dx, _ in found)  # cropped off-centre
    assert any(flipped for *_, flipped in found) and not all(flipped for *_, flipped in found)
    assert len({(dy, dx) for dy, dx, _ in found}) > 10  # offsets vary image to image
    # A shifted crop brings in zeros from the padding.
    assert (out == 0).any()


def test_without_flip_nothing_is_mirrored() -> None:
    x = images()
    out = crop_flip(x, PAD, False, seeded(0))
    assert not any(where_from(o, xi)[2] for o, xi in zip(out, x, strict=True))


def test_flip_alone_mirrors_about_half_and_keeps_the_rest() -> None:
    x = images(n=200)
    out = crop_flip(x, 0, True, seeded(0))
    mirrored = [torch.equal(o, xi.flip(-1)) for o, xi in zip(out, x, strict=True)]
    kept = [torch.equal(o, xi) for o, xi in zip(out, x, strict=True)]
    assert all(m or k for m, k in zip(mirrored, kept, strict=True))
    assert 70 < sum(mirrored) < 130


def test_data_augments_only_when_asked() -> None:
    x = images(n=4)
    y = torch.zeros(4, dtype=torch.long)
    plain = Data(x, y, x, y, 10)
    assert plain.augment(x, seeded(0)) is x
    augmenting = Data(x, y, x, y, 10, crop_pad=PAD, flip=True)
    assert torch.equal(augmenting.augment(x, seeded(0)), crop_flip(x, PAD, True, seeded(0)))
