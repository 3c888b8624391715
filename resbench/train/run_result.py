"""What a run produces: its `RunResult`, written as the run's JSON record, and its parts.

Plain data with no torch in sight, so the driver of a sweep (which receives, stores and reports
results) never imports torch: only the processes that train do.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from resbench.sweep.schema import RunSpec

# The format of the records this release writes (resbench.store.record_format reads older ones).
# 1: records before the field existed. 2: `format` itself, and `env.code`, a hash of the built-in
# code that made the run (resbench.train.provenance), in the records of runs that trained.
# 3: the diagnostics that explain depth (signal, jacobian, grad_correlation, lesions, loss
# slices): new kinds of layer point, and a point's coordinates `x` and `y`. A resbench that reads
# format 2 keeps such a record as it is instead of taking its new kinds for a broken record.
RECORD_FORMAT = 3

# `timeout`: a cluster's scheduler stopped the run at its task's time limit (the slurm
# executor). A status added without a new record format: the record's structure is unchanged,
# and a resbench from before it reads such a record as unreadable and redoes the run, which is
# what --retry-failed does here.
Status = Literal["ok", "diverged", "failed", "oom", "killed", "timeout"]
STATUSES: tuple[Status, ...] = get_args(Status)
# Results: a diverged run is one too (the net failed to train), counted, never dropped.
FINISHED: tuple[Status, ...] = ("ok", "diverged")
# No result: `resbench run --retry-failed` redoes these, and checks call them inconclusive.
MISSING: tuple[Status, ...] = ("failed", "oom", "killed", "timeout")
# Retried at once by the executors: an exception may be transient, a dead worker surely is.
# An oom is not: the same run on the same device would run out of memory again; nor a
# timeout, which the same time limit would end again.
RETRIED: tuple[Status, ...] = ("failed", "killed")
# Records that keep their run's checkpoint: --retry-failed resumes them where they stopped.
RESUMABLE: tuple[Status, ...] = ("timeout",)
# progress(step, total_steps, train_loss): the loss is the last curve point's, already on the host
Progress = Callable[[int, int, float | None], None]
# What train.diagnostics record, as the kind column of layers.csv (resbench.train.diagnostics
# defines each, and what its layer index and coordinates mean).
LayerKind = Literal[
    "grad_norm",
    "activation_std",
    "signal_rms",
    "sample_cosine",
    "token_cosine",
    "token_spread",
    "jacobian_sv_max",
    "jacobian_sv_median",
    "jacobian_sv_min",
    "jacobian_sv_rms",
    "grad_correlation",
    "lesion_error",
    "intact_error",
    "loss_slice",
    "loss_surface",
]
WHOLE_NET = -1  # the layer index of a point about the net as a whole (a loss slice, say)


class CurvePoint(BaseModel):
    """Training progress at one step: running train figures since the last point, test now."""

    step: int
    epoch: float
    lr: float
    train_loss: float | None
    train_error: float | None
    test_loss: float | None
    test_error: float | None


class LayerPoint(BaseModel):
    """One measurement: of `kind`, at layer (or block) `layer`, after `step` updates; `x` and
    `y`, where a kind has them, are its coordinates (a loss slice's position)."""

    step: int
    layer: int
    kind: LayerKind
    value: float | None  # None: not finite (a run on its way to diverging)
    x: float | None = None
    y: float | None = None


class RunResult(BaseModel):
    """Everything one run produced; the store writes it as the run's JSON record."""

    model_config = ConfigDict(extra="forbid")

    format: int = RECORD_FORMAT
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
    seconds: float = 0.0  # the whole call: set-up, training, final evaluation, figures
    train_seconds: float = 0.0  # the training loop, its curve points included
    eval_seconds: float = 0.0  # the final evaluation of the training set
    # The loop up to its first curve point: compiling, cuDNN's autotuning, first touches. Left
    # out of samples_per_s, which is the steady state after it (the whole loop when the run
    # has no second curve point).
    startup_seconds: float | None = None
    samples_per_s: float | None = None
    flops_per_sample: int | None = None  # forward pass, one example; a multiply-add is 2
    gflops: float | None = None  # achieved training GFLOP/s: about 3 forward passes a step
    mfu: float | None = None  # gflops over the device's measured matrix-multiply peak
    warmup_steps: int | None = None  # steps at train.warmup_lr, when that warm-up is on
    compiled: bool | None = None  # train.compile asked: whether torch.compile really compiled
    device: str = ""
    attempts: int = 1
    resumed_at: int | None = Field(None, description="the step a checkpoint resumed the run from")
    resumed_from_device: str | None = Field(
        None,
        description="the device type of a checkpoint made elsewhere (resumed with a fresh "
        "augmentation stream: like any run on another device, another draw)",
    )
    started_at: str = ""
    env: dict[str, str] = {}
    curve: list[CurvePoint] = []
    layers: list[LayerPoint] = []  # train.diagnostics: at step 0, every curve point, the end


def finite(value: float) -> float | None:
    """`value`, or None when it is not finite: records keep no NaN or infinity."""
    return value if math.isfinite(value) else None
