"""The training recipe's moving parts: the optimiser, the learning-rate schedule, the warm-ups."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import torch

from resbench.models.depth_scaling import adam_eps_factor, adam_lr_factor, residual_blocks

if TYPE_CHECKING:
    from torch import nn

    from resbench.models.config import ModelConfig
    from resbench.sweep.schema import TrainConfig

LR_SCALE = "lr_scale"  # a param group's factor on train.lr (depth-μP's, `param_groups`)
WARMUP_CHECK_EVERY = 50  # steps between looks at the running error during the paper's warm-up


def make_optimizer(
    params: nn.Module | Iterable[nn.Parameter] | list[dict[str, Any]], cfg: TrainConfig
) -> torch.optim.Optimizer:
    """The optimiser over `params`: a model, its parameters, or param groups with their own lr
    (`resbench.models.depth_scaling.param_groups`); each group split by `weight_decay_on`."""
    groups = parameter_groups(params, cfg)
    if cfg.optimizer == "sgd":
        # foreach: one call per operation over all parameters, not a Python loop over them.
        # CUDA already defaults to it; on a CPU it takes 40% off the update of a 56-layer net
        # (docs/performance.md) and computes the very same numbers.
        return torch.optim.SGD(
            groups,
            lr=cfg.lr,
            momentum=cfg.momentum,
            nesterov=cfg.nesterov,
            weight_decay=cfg.weight_decay,
            foreach=True,
        )
    adam = torch.optim.Adam if cfg.optimizer == "adam" else torch.optim.AdamW
    # fused: one kernel for the whole update; on a CPU it takes a 48-block transformer's
    # update from 14 to 3 ms (the default loops over parameters in Python).
    first = next(p for g in groups for p in g["params"])
    fused = first.device.type in ("cpu", "cuda")
    return adam(
        groups,
        lr=cfg.lr,
        betas=cfg.betas,
        eps=cfg.eps,
        weight_decay=cfg.weight_decay,
        fused=fused or None,
    )


def parameter_groups(
    params: nn.Module | Iterable[nn.Parameter] | list[dict[str, Any]], cfg: TrainConfig
) -> list[dict[str, Any]]:
    """`params` as param groups; with `weight_decay_on: weights` each split in two: the weights
    (matrices, kernels, embeddings: 2 or more dimensions) with weight decay, and the rest
    (biases, norms' scales and shifts, scalars like ReZero's α) without, as transformers are
    usually trained (GPT-2, nanoGPT's convention). A group keeps its own settings (its lr)."""
    from torch import nn

    if isinstance(params, nn.Module):
        params = params.parameters()
    listed = list(params)
    groups = listed if listed and isinstance(listed[0], dict) else [{"params": listed}]
    if cfg.weight_decay_on == "all":
        return [{**g, "params": list(g["params"])} for g in groups]
    out = []
    for group in groups:
        weights = [p for p in group["params"] if p.dim() >= 2]
        others = [p for p in group["params"] if p.dim() < 2]
        out.append({**group, "params": weights})
        if others:
            out.append({**group, "params": others, "weight_decay": 0.0})
    return [g for g in out if g["params"]]


def lr_factor(cfg: TrainConfig, total_steps: int, scale: int) -> Callable[[int], float]:
    """The schedule as step -> multiple of `cfg.lr`; `scale` converts the config's unit to steps."""
    warmup = cfg.warmup * scale
    milestones = [m * scale for m in cfg.milestones]

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if cfg.schedule == "cosine":
            progress = (step - warmup) / max(1, total_steps - warmup)
            return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
        if cfg.schedule == "multistep":
            return cfg.gamma ** sum(step >= m for m in milestones)
        return 1.0

    return factor


class ErrorGatedWarmup:
    """The paper's warm-up for ResNet-110 (He et al. 2015, section 4.2): "we use 0.01 to warm
    up the training until the training error is below 80% (about 400 iterations), and then go
    back to 0.1 and continue training".

    Off unless `train.warmup_lr` is set. While on, it overrides the schedule's lr with
    `warmup_lr` after every step; the schedule's step count runs on meanwhile, so milestones
    stay where the config puts them. Every WARMUP_CHECK_EVERY steps it reads the training error
    of the minibatches since its last look (a host sync, only while warming up) and ends once
    that is below `warmup_until_error`.
    """

    def __init__(
        self, cfg: TrainConfig, optimizer: torch.optim.Optimizer, device: torch.device
    ) -> None:
        self.lr, self.until_error = cfg.warmup_lr, cfg.warmup_until_error
        self.optimizer = optimizer
        self.active = self.lr is not None
        self.steps: int | None = 0 if self.active else None  # steps trained at warmup_lr
        self.wrong = torch.zeros((), device=device, dtype=torch.long)
        self.seen = 0
        self._hold()

    def update(self, step: int, wrong: torch.Tensor, n: int) -> None:
        """After step `step` (counted from 1), whose minibatch of `n` had `wrong` mistakes."""
        if not self.active:
            return
        self.steps = step
        self.wrong += wrong
        self.seen += n
        if step % WARMUP_CHECK_EVERY == 0:
            self.active = self.wrong.item() / self.seen >= self.until_error
            self.wrong.zero_()
            self.seen = 0
        self._hold()

    def state_dict(self) -> dict[str, Any]:
        return {
            "active": self.active,
            "steps": self.steps,
            "wrong": self.wrong.cpu(),
            "seen": self.seen,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.active, self.steps, self.seen = state["active"], state["steps"], state["seen"]
        self.wrong.copy_(state["wrong"])
        self._hold()

    def _hold(self) -> None:
        if self.active:
            for group in self.optimizer.param_groups:
                group["lr"] = self.lr * group.get(LR_SCALE, 1.0)  # depth-μP's groups keep theirs


def param_groups(
    model: nn.Module, model_cfg: ModelConfig, train_cfg: TrainConfig
) -> Iterable[nn.Parameter] | list[dict[str, Any]]:
    """What the optimiser is given: the model's parameters as they are, or, with Adam and a
    branch multiplier, two groups: the residual blocks' parameters (but their shortcuts') with
    the learning rate scaled by `adam_lr_factor` and ε by `adam_eps_factor` (`model.branch_eps`),
    and the rest (stem, classifier) without."""
    if model_cfg.branch_multiplier == "none" or train_cfg.optimizer == "sgd":
        return model.parameters()
    blocks = residual_blocks(model)
    factor = adam_lr_factor(model_cfg, len(blocks))
    shortcuts = {id(p) for b in blocks for p in b.shortcut.parameters()}
    hidden = [p for b in blocks for p in b.parameters() if id(p) not in shortcuts]
    inside = {id(p) for p in hidden}
    rest = [p for p in model.parameters() if id(p) not in inside]
    blocks_group = {"params": hidden, "lr": train_cfg.lr * factor, LR_SCALE: factor}
    if model_cfg.branch_eps == "scaled":
        blocks_group["eps"] = train_cfg.eps * adam_eps_factor(model_cfg, len(blocks))
    return [{"params": rest, LR_SCALE: 1.0}, blocks_group]
