"""Training: `train_run(spec) -> RunResult`, one seeded run from a spec to its final metrics.

A plain function of its spec: no knowledge of executors or storage, picklable and total (it
never raises for a run that goes wrong: the status says what happened). Two optional hooks
serve the executors without changing what a run computes: `progress`, called after each step,
and `checkpoint`, a file path the caller chooses to save the loop's state to and resume from.
"""

from __future__ import annotations

import math
import os
import platform
import time
import traceback
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from resbench import __version__, data
from resbench import checkpoint as checkpoints
from resbench.models import build_model, count_parameters
from resbench.sweep import RunSpec, TrainConfig

Status = Literal["ok", "diverged", "failed", "oom", "killed"]
EVAL_BATCH = 2048
# progress(step, total_steps, train_loss): the loss is the last curve point's, already on the host
Progress = Callable[[int, int, float | None], None]


class CurvePoint(BaseModel):
    """Training progress at one step: running train figures since the last point, test now."""

    step: int
    epoch: float
    lr: float
    train_loss: float | None
    train_error: float | None
    test_loss: float | None
    test_error: float | None


class RunResult(BaseModel):
    """Everything one run produced; the store writes it as the run's JSON record."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    spec: RunSpec
    status: Status
    error: str | None = None
    traceback: str | None = None
    train_error: float | None = None
    test_error: float | None = None
    train_loss: float | None = None
    test_loss: float | None = None
    epochs: float = 0.0
    steps: int = 0
    params: int | None = None
    seconds: float = 0.0
    train_seconds: float = 0.0
    samples_per_s: float | None = None
    device: str = ""
    attempts: int = 1
    resumed_at: int | None = Field(None, description="the step a checkpoint resumed the run from")
    started_at: str = ""
    env: dict[str, str] = {}
    curve: list[CurvePoint] = []


def train_run(
    spec: RunSpec, progress: Progress | None = None, checkpoint: str | Path | None = None
) -> RunResult:
    """Train the run `spec` describes and return its result; failures become a status.

    `progress` is called after every step, so it must be cheap. `checkpoint` is a file: the run
    resumes from it when it holds this run's state, and saves there every
    `train.checkpoint_every` steps. A resumed run computes what an uninterrupted one does.
    """
    started = _now()
    t0 = time.perf_counter()
    try:
        result = _train(spec, progress, Path(checkpoint) if checkpoint is not None else None)
    except torch.cuda.OutOfMemoryError as e:
        result = _broken(spec, "oom", e)
    except Exception as e:  # a failing run is a result, never the end of a sweep
        result = _broken(spec, "failed", e)
    result.started_at = started
    result.seconds = time.perf_counter() - t0
    result.env = environment(result.device)
    return result


def _train(spec: RunSpec, progress: Progress | None, checkpoint: Path | None) -> RunResult:
    cfg = spec.train
    device = resolve_device(cfg.device)
    ds = data.load(spec.dataset, str(device))

    # ---- model and optimiser: seeded, so a spec always starts from the same weights
    torch.manual_seed(spec.seed)
    model = build_model(spec.model, ds.input_shape, ds.num_classes).to(device)
    optimizer = make_optimizer(model, cfg)
    n = len(ds.x_train)
    steps_per_epoch = math.ceil(n / cfg.batch_size)
    total_steps = cfg.steps or (cfg.epochs or 0) * steps_per_epoch
    scale = steps_per_epoch if cfg.unit == "epochs" else 1
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(cfg, total_steps, scale))
    eval_every = cfg.eval_every or steps_per_epoch

    # ---- the loop: shuffles come from their own generator, on the CPU, so they are the
    # same on every device; running sums stay on the device to avoid a sync per step
    shuffle = torch.Generator().manual_seed(spec.seed)
    loss_sum = torch.zeros((), device=device)
    wrong_sum = torch.zeros((), device=device, dtype=torch.long)
    seen, status, curve = 0, "ok", []
    order = torch.empty(0, dtype=torch.long)
    step, resumed_at, seconds_before = 0, None, 0.0

    # ---- resume: every piece of loop state comes back, so the rest of the run is unchanged
    if checkpoint is not None and (saved := checkpoints.load(checkpoint, spec.run_id)):
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        shuffle.set_state(saved["shuffle"])
        torch.set_rng_state(saved["rng"])
        if device.type == "cuda" and saved["cuda_rng"] is not None:
            torch.cuda.set_rng_state(saved["cuda_rng"], device)
        order = saved["order"].to(device)
        loss_sum.copy_(saved["loss_sum"])
        wrong_sum.copy_(saved["wrong_sum"])
        seen, step, seconds_before = saved["seen"], saved["step"], saved["train_seconds"]
        curve = [CurvePoint(**p) for p in saved["curve"]]
        resumed_at = step
    last_loss = curve[-1].train_loss if curve else None

    model.train()
    t0 = time.perf_counter()
    while step < total_steps:
        k = step % steps_per_epoch
        if k == 0:
            order = torch.randperm(n, generator=shuffle).to(device)
        idx = order[k * cfg.batch_size : (k + 1) * cfg.batch_size]
        x, y = ds.x_train[idx], ds.y_train[idx]
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        loss_sum += loss.detach() * len(idx)
        wrong_sum += (logits.detach().argmax(1) != y).sum()
        seen += len(idx)
        step += 1

        if step % eval_every == 0 or step == total_steps:
            train_loss = (loss_sum / seen).item()  # the one sync per curve point
            test_loss, test_error = evaluate(model, ds.x_test, ds.y_test)
            curve.append(
                CurvePoint(
                    step=step,
                    epoch=step / steps_per_epoch,
                    lr=optimizer.param_groups[0]["lr"],
                    train_loss=_finite(train_loss),
                    train_error=wrong_sum.item() / seen,
                    test_loss=_finite(test_loss),
                    test_error=test_error,
                )
            )
            if not math.isfinite(train_loss):
                status = "diverged"  # a result, not an error: record it and stop
                break
            loss_sum.zero_()
            wrong_sum.zero_()
            seen = 0
            last_loss = train_loss

        every = cfg.checkpoint_every
        if checkpoint is not None and every and step % every == 0 and step < total_steps:
            state = {
                "run_id": spec.run_id,
                "step": step,
                "seen": seen,
                "train_seconds": seconds_before + time.perf_counter() - t0,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "shuffle": shuffle.get_state(),
                "rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
                "order": order.cpu(),
                "loss_sum": loss_sum.cpu(),
                "wrong_sum": wrong_sum.cpu(),
                "curve": [p.model_dump() for p in curve],
            }
            checkpoints.save(checkpoint, state)
        if progress is not None:
            progress(step, total_steps, last_loss)
    train_seconds = seconds_before + time.perf_counter() - t0

    # ---- final metrics on the whole training set, in eval mode, without augmentation
    result = RunResult(
        run_id=spec.run_id,
        spec=spec,
        status=status,
        epochs=step / steps_per_epoch,
        steps=step,
        params=count_parameters(model),
        train_seconds=train_seconds,
        samples_per_s=step * cfg.batch_size / train_seconds if train_seconds > 0 else None,
        device=device_name(device),
        resumed_at=resumed_at,
        curve=curve,
    )
    if status == "ok":
        result.train_loss, result.train_error = evaluate(model, ds.x_train, ds.y_train)
        result.test_loss, result.test_error = evaluate(model, ds.x_test, ds.y_test)
        if not math.isfinite(result.train_loss):
            result.status, result.train_loss = "diverged", None
    return result


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


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    params = model.parameters()
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(
            params,
            lr=cfg.lr,
            momentum=cfg.momentum,
            nesterov=cfg.nesterov,
            weight_decay=cfg.weight_decay,
        )
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(mean loss, error rate) of `model` on (x, y) in eval mode."""
    was_training = model.training
    model.eval()
    loss, wrong = torch.zeros((), device=x.device), torch.zeros((), device=x.device)
    for i in range(0, len(x), EVAL_BATCH):
        logits = model(x[i : i + EVAL_BATCH])
        target = y[i : i + EVAL_BATCH]
        loss += F.cross_entropy(logits, target, reduction="sum")
        wrong += (logits.argmax(1) != target).sum()
    model.train(was_training)
    return loss.item() / len(x), wrong.item() / len(x)


def resolve_device(name: str) -> torch.device:
    """'auto' means cuda, then mps, then cpu."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("train.device is cuda but no CUDA device is available")
    return torch.device(name)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return device.type


def environment(device: str) -> dict[str, str]:
    """Versions and machine facts recorded with every run."""
    return {
        "resbench": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": str(os.cpu_count()),
        "threads": str(torch.get_num_threads()),
        "device": device,
    }


def _broken(spec: RunSpec, status: Status, e: BaseException) -> RunResult:
    return RunResult(
        run_id=spec.run_id,
        spec=spec,
        status=status,
        error=f"{type(e).__name__}: {e}",
        traceback=traceback.format_exc(),
    )


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
