"""The paper's augmentation as batched tensor ops on the device: pad, random crop, random flip.

He et al. 2015, section 4.2, after Lee et al. 2015: "4 pixels are padded on each side, and a
32x32 crop is randomly sampled from the padded image or its horizontal flip". One gather does
the crop and the flip for the whole batch; the random draws come from a seeded generator on
the batch's device, so a run is reproducible and the host never waits on the device.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def crop_flip(x: torch.Tensor, pad: int, flip: bool, generator: torch.Generator) -> torch.Tensor:
    """Images (B, C, H, W), zero-padded by `pad`, cropped back to H x W at a random offset,
    and, with `flip`, mirrored left-right with probability 1/2; each image independently."""
    b, _, h, w = x.shape
    device = x.device
    dy = torch.randint(0, 2 * pad + 1, (b, 1), device=device, generator=generator)
    dx = torch.randint(0, 2 * pad + 1, (b, 1), device=device, generator=generator)
    rows = dy + torch.arange(h, device=device)  # (B, H): source rows in the padded image
    cols = dx + torch.arange(w, device=device)  # (B, W): source columns
    if flip:
        mirrored = torch.randint(0, 2, (b, 1), device=device, generator=generator).bool()
        cols = torch.where(mirrored, cols.flip(1), cols)
    padded = F.pad(x, (pad, pad, pad, pad))  # zeros: the channel mean, once normalised
    batch = torch.arange(b, device=device)[:, None, None]
    # Advanced indices around a slice put their axes first: (B, H, W, C). Permuted back to
    # (B, C, H, W) it is channels-last in memory, the layout convolutions on GPUs prefer.
    return padded[batch, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
