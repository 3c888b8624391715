"""Training: `train_run(spec) -> RunResult`, one seeded run from a spec to its final metrics.

A plain function of its spec: no knowledge of executors or storage, picklable and total (it
never raises for a run that goes wrong: the status says what happened). Two optional hooks
serve the executors without changing what a run computes: `progress`, called after each step,
and `checkpoint`, a file path the caller chooses to save the loop's state to and resume from.

On a GPU the step never waits for the host: data, shuffling indices, augmentation draws and
running sums all live on the device, and figures are read only at curve points. The run's
arithmetic is what `train.precision` and `train.deterministic` say (`resbench.train.precision`).
Image nets run channels-last on GPUs and CPUs alike (not on Apple's MPS).
"""

from __future__ import annotations

import gc
import math
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from resbench import data
from resbench.models import build_model, count_parameters
from resbench.models.transformer import Transformer, data_dependent_start
from resbench.sweep.schema import RunSpec
from resbench.train import checkpoint as checkpoints
from resbench.train import perf
from resbench.train.loop import Loop
from resbench.train.precision import autocast, configure
from resbench.train.provenance import environment
from resbench.train.recipe import ErrorGatedWarmup, lr_factor, make_optimizer, param_groups
from resbench.train.run_result import Progress, RunResult, Status, finite

if TYPE_CHECKING:
    from torch import nn

    from resbench.data import Data


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
        with _compiling(spec.train.compile):
            result = _train(spec, progress, Path(checkpoint) if checkpoint is not None else None)
    except torch.cuda.OutOfMemoryError as e:
        result = _broken(spec, "oom", e)
    except Exception as e:  # a failing run is a result, never the end of a sweep
        result = _broken(spec, "failed", e)
    if result.status == "oom":
        # What the run holds (its frames were kept by the exception until the block ended) is
        # no use to the next run on this GPU, and would crowd it out: free it now.
        gc.collect()
        torch.cuda.empty_cache()
    result.started_at = started
    result.seconds = time.perf_counter() - t0
    result.env = environment(result.device)
    return result


def _train(spec: RunSpec, progress: Progress | None, checkpoint: Path | None) -> RunResult:
    cfg = spec.train
    device = resolve_device(cfg.device)
    ds = data.load(spec.dataset, str(device))
    model, net = _model(spec, ds, device)
    optimizer = make_optimizer(param_groups(model, spec.model, cfg), cfg)
    steps_per_epoch = math.ceil(len(ds.x_train) / cfg.batch_size)
    total_steps = cfg.steps or (cfg.epochs or 0) * steps_per_epoch
    scale = steps_per_epoch if cfg.unit == "epochs" else 1
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(cfg, total_steps, scale))
    warmup = ErrorGatedWarmup(cfg, optimizer, device)
    loop = Loop(spec, ds, model, optimizer, scheduler, warmup, device)
    eval_every = cfg.eval_every or steps_per_epoch

    graphs = _graphs() if cfg.compile else 0
    # ---- resume: every piece of loop state comes back, so the rest of the run is unchanged
    resumed_at = None
    if checkpoint is not None and (saved := checkpoints.load(checkpoint, spec.run_id)):
        loop.load_state_dict(saved)
        resumed_at = loop.step

    # ---- the loop
    model.train()
    if loop.step == 0:  # before the first update (a resumed run has these already)
        loop.measure(cfg.diagnostics)
    status: Status = "ok"
    clock = time.perf_counter() - loop.train_seconds  # counts on from a resumed run's time
    while loop.step < total_steps:
        x, y = loop.batch()
        with autocast(device, cfg.precision):
            logits = net(x)
            loss = F.cross_entropy(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_norm, foreach=True)
        optimizer.step()
        scheduler.step()
        loop.count(loss, logits, y)

        if loop.step % eval_every == 0 or loop.step == total_steps:
            point = loop.point(net, cfg.precision)
            loop.started(time.perf_counter() - clock)
            loop.measure(cfg.diagnostics)
            if point.train_loss is None:
                status = "diverged"  # a result, not an error: record it and stop
                break
        every = cfg.checkpoint_every
        if checkpoint is not None and every and loop.step % every == 0 and loop.step < total_steps:
            loop.train_seconds = time.perf_counter() - clock
            checkpoints.save(checkpoint, spec.run_id, loop.state_dict())
        if progress is not None:
            progress(loop.step, total_steps, loop.last_loss)
    loop.train_seconds = time.perf_counter() - clock

    startup_seconds, samples_per_s = loop.speed()
    result = RunResult(
        run_id=spec.run_id,
        spec=spec,
        status=status,
        epochs=loop.step / steps_per_epoch,
        steps=loop.step,
        params=count_parameters(model),
        train_seconds=loop.train_seconds,
        startup_seconds=startup_seconds,
        samples_per_s=samples_per_s,
        warmup_steps=warmup.steps,
        compiled=_graphs() > graphs if cfg.compile else None,
        device=device_name(device),
        resumed_at=resumed_at,
        resumed_from_device=loop.resumed_from_device,
        curve=loop.curve,
        layers=loop.layers,
    )
    if status == "ok":
        _final_metrics(result, loop, net, cfg.precision)
    if result.status == "ok":  # the trained net's own diagnostics: lesions, loss slices
        result.layers = [*result.layers, *loop.measure_trained(cfg.diagnostics)]
    _speed_figures(result, spec, ds.input_shape, ds.num_classes, device)
    return result


def _model(spec: RunSpec, ds: Data, device: torch.device) -> tuple[nn.Module, nn.Module]:
    """The run's network, seeded (a spec always starts from the same weights), on `device`; and
    what the loop calls: the same network, compiled when `train.compile` says so."""
    configure(device, spec.train.precision, spec.train.deterministic)
    torch.manual_seed(spec.seed)
    model = build_model(spec.model, ds.input_shape, ds.num_classes).to(device)
    if isinstance(model, Transformer):  # Admin's profiled ω: from the first training batch
        data_dependent_start(model, spec.model, ds.inputs(ds.x_train[: spec.train.batch_size]))
    if spec.model.family == "cifar" and device.type in ("cuda", "cpu"):
        # NHWC: the layout tensor cores read, and oneDNN's CPU convolutions run fastest on
        # (ResNet-20 trains 1.2x as fast on one core: docs/performance.md)
        model = model.to(memory_format=torch.channels_last)
    if not spec.train.compile:
        return model, model
    # Each run compiles afresh: guards of earlier runs' models would pile up in Dynamo's caches
    # to its recompile limit, past which it would run every later model uncompiled.
    torch._dynamo.reset()
    return model, torch.compile(model)  # same parameters, compiled forward


@contextmanager
def _compiling(compiled: bool) -> Iterator[None]:
    """While a compiled run trains: hitting Dynamo's recompile limit fails the run instead of
    quietly running the rest uncompiled under a record that says compile."""
    if not compiled:
        yield
        return
    with torch._dynamo.config.patch(**{fail_on_recompile_limit(torch._dynamo.config): True}):
        yield


# The flag that makes Dynamo's recompile limit an error came in torch 2.6 as
# fail_on_cache_limit_hit; 2.7 renamed it, keeping the old name as an alias. Earlier releases
# have neither, hence pyproject.toml's floor.
TORCH_FLOOR = (2, 6)


def fail_on_recompile_limit(config: Any) -> str:
    """The name this torch gives the flag in `config` (torch._dynamo.config)."""
    new, old = "fail_on_recompile_limit_hit", "fail_on_cache_limit_hit"
    return new if hasattr(config, new) else old


def _graphs() -> int:
    """The graphs Dynamo has compiled in this process so far."""
    from torch._dynamo.utils import counters

    return counters["stats"]["unique_graphs"]


def _final_metrics(result: RunResult, loop: Loop, net: nn.Module, precision: str) -> None:
    """The headline figures, in eval mode and without augmentation: the whole training set as it
    is, and the test set, which the last curve point has just measured with this very model."""
    t0 = time.perf_counter()
    train_loss, result.train_error = loop.evaluate(net, "train", precision)
    result.train_loss = finite(train_loss)
    # A finished loop always ends on a curve point: `step == total_steps` forces one.
    result.test_loss, result.test_error = result.curve[-1].test_loss, result.curve[-1].test_error
    result.eval_seconds = time.perf_counter() - t0
    if result.train_loss is None:
        result.status = "diverged"


def _speed_figures(
    result: RunResult,
    spec: RunSpec,
    input_shape: tuple[int, ...],
    num_classes: int,
    device: torch.device,
) -> None:
    """FLOPs, GFLOP/s and MFU, after the timed loop and the last use of any random stream. A
    trained run is never lost to them: one that cannot be counted stays empty."""
    try:
        result.flops_per_sample = perf.flops_per_sample(spec.model, input_shape, num_classes)
        result.gflops, result.mfu = perf.figures(
            result.flops_per_sample, result.samples_per_s, device, spec.train.precision
        )
    except Exception:
        result.flops_per_sample = result.gflops = result.mfu = None


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


def _broken(spec: RunSpec, status: Status, e: BaseException) -> RunResult:
    return RunResult(
        run_id=spec.run_id,
        spec=spec,
        status=status,
        error=f"{type(e).__name__}: {e}",
        traceback=traceback.format_exc(),
    )


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
