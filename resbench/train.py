"""Training: `train_run(spec) -> RunResult`, one seeded run from a spec to its final metrics.

A plain function of its spec: no knowledge of executors or storage, picklable and total (it
never raises for a run that goes wrong: the status says what happened). Two optional hooks
serve the executors without changing what a run computes: `progress`, called after each step,
and `checkpoint`, a file path the caller chooses to save the loop's state to and resume from.

On a GPU the step never waits for the host: data, shuffling indices, augmentation draws and
running sums all live on the device, and figures are read only at curve points. There, too,
cuDNN picks its fastest kernels for the fixed shapes and `train.precision: bf16` autocasts the
forward pass. Image nets run channels-last on GPUs and CPUs alike (not on Apple's MPS).
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
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from resbench import __version__, data, diagnostics, perf
from resbench import checkpoint as checkpoints
from resbench.models import build_model, count_parameters
from resbench.result import CurvePoint, LayerPoint, Progress, RunResult, Status
from resbench.sweep import RunSpec, TrainConfig

EVAL_BATCH = 2048
WARMUP_CHECK_EVERY = 50  # steps between looks at the running error during the paper's warm-up
AUGMENT_SEED = 1_000_003  # added to the run's seed: augmentation draws its own random stream


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
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # shapes are fixed: find the fastest kernels once
    if spec.model.family == "cifar" and device.type in ("cuda", "cpu"):
        # NHWC: the layout tensor cores read, and oneDNN's CPU convolutions run fastest on
        # (ResNet-20 trains 1.2x as fast on one core: docs/performance.md)
        model = model.to(memory_format=torch.channels_last)
    net = torch.compile(model) if cfg.compile else model  # same parameters, compiled forward
    optimizer = make_optimizer(model, cfg)
    n = len(ds.x_train)
    steps_per_epoch = math.ceil(n / cfg.batch_size)
    total_steps = cfg.steps or (cfg.epochs or 0) * steps_per_epoch
    scale = steps_per_epoch if cfg.unit == "epochs" else 1
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(cfg, total_steps, scale))
    warmup = ErrorGatedWarmup(cfg, optimizer, device)
    eval_every = cfg.eval_every or steps_per_epoch

    # ---- the loop: shuffles come from their own generator, on the CPU, so they are the
    # same on every device; augmentation draws on the device (reproducible per device type);
    # running sums stay on the device to avoid a sync per step
    shuffle = torch.Generator().manual_seed(spec.seed)
    augment_rng = torch.Generator(device).manual_seed(spec.seed + AUGMENT_SEED)
    loss_sum = torch.zeros((), device=device)
    wrong_sum = torch.zeros((), device=device, dtype=torch.long)
    seen, status, curve = 0, "ok", []
    layers: list[LayerPoint] = []
    order = torch.empty(0, dtype=torch.long)
    step, resumed_at, seconds_before = 0, None, 0.0

    # ---- resume: every piece of loop state comes back, so the rest of the run is unchanged
    if checkpoint is not None and (saved := checkpoints.load(checkpoint, spec.run_id)):
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        warmup.load_state_dict(saved["warmup"])
        shuffle.set_state(saved["shuffle"])
        augment_rng.set_state(saved["augment"])
        torch.set_rng_state(saved["rng"])
        if device.type == "cuda" and saved["cuda_rng"] is not None:
            torch.cuda.set_rng_state(saved["cuda_rng"], device)
        order = saved["order"].to(device)
        loss_sum.copy_(saved["loss_sum"])
        wrong_sum.copy_(saved["wrong_sum"])
        seen, step, seconds_before = saved["seen"], saved["step"], saved["train_seconds"]
        curve = [CurvePoint(**p) for p in saved["curve"]]
        layers = [LayerPoint(**p) for p in saved.get("layers", [])]
        resumed_at = step
    last_loss = curve[-1].train_loss if curve else None

    model.train()
    probe = (model, ds.inputs(ds.x_train[: cfg.batch_size]), ds.y_train[: cfg.batch_size])
    if step == 0:  # before the first update (a resumed run has these already)
        layers = diagnostics.measure(*probe, cfg.diagnostics, step=0)
    t0 = time.perf_counter()
    while step < total_steps:
        k = step % steps_per_epoch
        if k == 0:
            order = torch.randperm(n, generator=shuffle).to(device)
        idx = order[k * cfg.batch_size : (k + 1) * cfg.batch_size]
        # stored examples -> normalised floats -> random crops and flips (if the dataset augments)
        x, y = ds.augment(ds.inputs(ds.x_train[idx]), augment_rng), ds.y_train[idx]
        with autocast(device, cfg.precision):
            logits = net(x)
            loss = F.cross_entropy(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        wrong = (logits.detach().argmax(1) != y).sum()
        loss_sum += loss.detach() * len(idx)
        wrong_sum += wrong
        seen += len(idx)
        step += 1
        warmup.update(step, wrong, len(idx))  # holds lr at train.warmup_lr while it lasts

        if step % eval_every == 0 or step == total_steps:
            train_loss = (loss_sum / seen).item()  # the one sync per curve point
            test_loss, test_error = evaluate(net, ds.x_test, ds.y_test, ds.inputs, cfg.precision)
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
            layers += diagnostics.measure(*probe, cfg.diagnostics, step)
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
                "warmup": warmup.state_dict(),
                "shuffle": shuffle.get_state(),
                "augment": augment_rng.get_state(),
                "rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
                "order": order.cpu(),
                "loss_sum": loss_sum.cpu(),
                "wrong_sum": wrong_sum.cpu(),
                "curve": [p.model_dump() for p in curve],
                "layers": [p.model_dump() for p in layers],
            }
            checkpoints.save(checkpoint, state)
        if progress is not None:
            progress(step, total_steps, last_loss)
    train_seconds = seconds_before + time.perf_counter() - t0

    # ---- final metrics, in eval mode and without augmentation: the training set as it is, and
    # the test set, which the last curve point has just measured with this very model
    result = RunResult(
        run_id=spec.run_id,
        spec=spec,
        status=status,
        epochs=step / steps_per_epoch,
        steps=step,
        params=count_parameters(model),
        train_seconds=train_seconds,
        samples_per_s=step * cfg.batch_size / train_seconds if train_seconds > 0 else None,
        warmup_steps=warmup.steps,
        device=device_name(device),
        resumed_at=resumed_at,
        curve=curve,
        layers=layers,
    )
    if status == "ok":
        t1 = time.perf_counter()
        final = (ds.inputs, cfg.precision)  # un-augmented: the training set as it is
        result.train_loss, result.train_error = evaluate(net, ds.x_train, ds.y_train, *final)
        # A finished loop always ends on a curve point: `step == total_steps` forces one.
        result.test_loss, result.test_error = curve[-1].test_loss, curve[-1].test_error
        result.eval_seconds = time.perf_counter() - t1
        if not math.isfinite(result.train_loss):
            result.status, result.train_loss = "diverged", None
    # ---- speed figures, after the timed loop and the last use of any random stream; a
    # trained run is never lost to them: one that cannot be counted stays empty
    try:
        result.flops_per_sample = perf.flops_per_sample(spec.model, ds.input_shape, ds.num_classes)
        result.gflops, result.mfu = perf.figures(
            result.flops_per_sample, result.samples_per_s, device, cfg.precision
        )
    except Exception:
        result.flops_per_sample = result.gflops = result.mfu = None
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
                group["lr"] = self.lr


def autocast(device: torch.device, precision: str) -> torch.autocast:
    """bf16: matrix products and convolutions in bfloat16, the rest in float32; fp32: no change."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    params = model.parameters()
    if cfg.optimizer == "sgd":
        # foreach: one call per operation over all parameters, not a Python loop over them.
        # CUDA already defaults to it; on a CPU it takes 40% off the update of a 56-layer net
        # (docs/performance.md) and computes the very same numbers.
        return torch.optim.SGD(
            params,
            lr=cfg.lr,
            momentum=cfg.momentum,
            nesterov=cfg.nesterov,
            weight_decay=cfg.weight_decay,
            foreach=True,
        )
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    inputs: Callable[[torch.Tensor], torch.Tensor] | None = None,
    precision: str = "fp32",
) -> tuple[float, float]:
    """(mean loss, error rate) of `model` on (x, y) in eval mode; `inputs` prepares each batch."""
    was_training = model.training
    model.eval()
    loss, wrong = torch.zeros((), device=x.device), torch.zeros((), device=x.device)
    for i in range(0, len(x), EVAL_BATCH):
        batch = x[i : i + EVAL_BATCH]
        with autocast(x.device, precision):
            logits = model(inputs(batch) if inputs else batch).float()
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
        "torch": str(torch.__version__),  # TorchVersion would import torch where unpickled
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
