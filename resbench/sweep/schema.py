"""The sweep file's schema: its sections and `RunSpec`, one fully resolved run.

Pydantic models with unknown keys rejected. A `RunSpec`'s `run_id` is a hash of the resolved
spec: what the run is asked to compute (the code that computes it is named in its record,
`resbench.train.provenance.code_identity`, not hashed into the id). Loading a file, applying
overrides and expanding the axes into runs is `resbench.sweep.load`'s job; a validation error's
line `resbench.sweep.messages`'; the claims of `expect:` `resbench.sweep.claims`'.
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BeforeValidator,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    PrivateAttr,
    SerializeAsAny,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from resbench import data
from resbench.core.errors import ResbenchError
from resbench.core.strict import Strict, stored
from resbench.data import DatasetOptions
from resbench.models import registry
from resbench.models.config import ModelConfig, ModelSection
from resbench.sweep import slurm_limits
from resbench.sweep.claims import Claim
from resbench.sweep.probes import PROBE_DEFAULTS, ProbeOptions
from resbench.sweep.seed_budget import SeedBudget

# Short grid keys and the spec fields they set.
GRID_ALIASES = {"depth": "model.depth", "arch": "model.arch", "seed": "seed"}
REQUIRED_GRID_KEYS = ("depth", "arch", "seed")
# Fields that say where a run executes or where its files are read from, not what it computes:
# not part of the run id, so moving data or machines never reruns anything. (CIFAR's binary and
# python versions hold the same images, hence dataset.format.) train.precision and
# train.compile are not here: bf16 and compiled kernels change the numbers a run produces.
# train.checkpoint_every only decides how often progress is saved: a resumed run is unchanged.
EXECUTION_FIELDS = {
    ("train", "device"),
    ("train", "checkpoint_every"),
    ("dataset", "root"),
    ("dataset", "download"),
    ("dataset", "format"),
}

# Fields added after runs were recorded, with their default as JSON: at the default, a field is
# left out of the run id, so that every run recorded before it keeps its id and its record.
LATER_FIELDS: dict[tuple[str, str], Any] = {
    ("train", "diagnostics"): [],
    ("train", "deterministic"): False,
    ("model", "block"): "basic",
    ("model", "init"): "he",
    ("model", "activation"): "relu",
    ("model", "options"): {},
    ("model", "version"): None,
    ("model", "branch_multiplier"): "none",
    ("model", "branch_base_depth"): None,
    ("model", "branch_exponent"): None,
    ("train", "betas"): [0.9, 0.999],
    ("train", "eps"): 1e-8,
    ("train", "clip_norm"): None,
    ("train", "weight_decay_on"): "all",
    ("train", "probes"): PROBE_DEFAULTS,
    ("model", "branch_eps"): None,
}

# What `train.diagnostics` can ask for, in the order they are recorded (resbench.train.diagnostics
# says what each measures, when, and what it costs).
Diagnostic = Literal[
    "grad_norms",
    "activations",
    "signal",
    "jacobian",
    "grad_correlation",
    "lesions",
    "loss_slice",
    "loss_surface",
]
DIAGNOSTICS: tuple[str, ...] = get_args(Diagnostic)


class SweepError(ResbenchError):
    """A sweep that cannot be used, explained in one line."""


def _dataset(value: Any, info: ValidationInfo) -> DatasetOptions:
    """A `dataset:` section's options. Read back from a record, a name that is no registered
    dataset is user code, as it was when the run was made (its package may be gone since)."""
    if stored(info) and isinstance(value, dict) and value.get("name") not in data.names():
        from resbench.data.plugin import PluginOptions

        return PluginOptions.model_validate(value)
    return data.validate(value)


# A registered dataset's options, chosen by `name:` when the sweep is validated (not when
# this module is imported: a dataset registered later is known). Dumped with its own fields.
DatasetConfig = Annotated[SerializeAsAny[DatasetOptions], BeforeValidator(_dataset)]


class TrainConfig(Strict):
    """The `train:` section: length, optimiser, schedule and evaluation."""

    epochs: PositiveInt | None = Field(None, description="training length in epochs")
    steps: PositiveInt | None = Field(None, description="training length in optimiser steps")
    batch_size: PositiveInt = 128
    optimizer: Literal["sgd", "adam", "adamw"] = "sgd"
    lr: PositiveFloat = 0.1
    momentum: NonNegativeFloat = 0.9
    nesterov: bool = False
    betas: tuple[Annotated[float, Field(ge=0, lt=1)], Annotated[float, Field(ge=0, lt=1)]] = Field(
        (0.9, 0.999), description="adam, adamw: the decay rates of the moment estimates"
    )
    eps: PositiveFloat = Field(1e-8, description="adam, adamw: added to the denominator")
    weight_decay: NonNegativeFloat = 1e-4
    weight_decay_on: Literal["all", "weights"] = Field(
        "all",
        description="all parameters, or only weights (matrices, kernels, embeddings: 2 or more "
        "dimensions), not biases, norms' scales and shifts, or scalars like ReZero's α",
    )
    clip_norm: PositiveFloat | None = Field(None, description="the gradient's global norm, at most")
    schedule: Literal["constant", "cosine", "multistep"] = "cosine"
    milestones: tuple[PositiveFloat, ...] = Field(
        (), description="multistep: when lr is multiplied by gamma, in the unit of the length"
    )
    gamma: PositiveFloat = 0.1
    warmup: NonNegativeFloat = Field(0, description="linear warm-up, in the unit of the length")
    warmup_lr: PositiveFloat | None = Field(
        None,
        description="the paper's warm-up (ResNet-110): train at this lr until the running "
        "training error falls below warmup_until_error, then follow the schedule",
    )
    warmup_until_error: float = Field(
        0.8, gt=0, le=1, description="the training error that ends the warm-up at warmup_lr"
    )
    precision: Literal["fp32", "tf32", "bf16"] = Field(
        "fp32",
        description="fp32: IEEE float32 throughout; tf32: float32 tensors, TF32 tensor-core "
        "products on CUDA GPUs since Ampere (fp32 elsewhere); bf16: autocast the forward pass "
        "to bfloat16",
    )
    deterministic: bool = Field(
        False,
        description="CUDA: deterministic kernels only (cuDNN autotuning off), so two identical "
        "runs on one GPU give identical numbers; slower. CPU runs are deterministic anyway",
    )
    compile: bool = Field(False, description="torch.compile the model (slow start, fast steps)")
    eval_every: PositiveInt | None = Field(
        None, description="steps between curve points (default: once per epoch)"
    )
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    checkpoint_every: PositiveInt | None = Field(
        None, description="steps between checkpoints that an interrupted run resumes from"
    )
    # Part of the run id although it changes no trained number (tests check that): a run with
    # diagnostics records what one without lacks, so switching them on must rerun, not reuse.
    diagnostics: tuple[Diagnostic, ...] = Field(
        (),
        description="measured at step 0 and at every curve point: grad_norms (of each weight "
        "layer, input to output), activations (std of the stem's and each block's output), "
        "signal (each output's scale and the cosine similarity between samples, and between "
        "tokens); at step 0: jacobian (the input-output Jacobian's singular values), "
        "grad_correlation (of input gradients along a path of inputs); after training: lesions "
        "(the error with each block removed), loss_slice and loss_surface (the loss along one "
        "or two filter-normalised directions)",
    )
    probes: ProbeOptions = Field(
        default_factory=ProbeOptions,
        description="the sizes of jacobian, grad_correlation, lesions, loss_slice, loss_surface",
    )

    @field_validator("diagnostics")
    @classmethod
    def _canonical_diagnostics(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # One order, no repeats: the same request always hashes to the same run id.
        return tuple(d for d in DIAGNOSTICS if d in value)

    @model_validator(mode="after")
    def _one_length(self) -> TrainConfig:
        if (self.epochs is None) == (self.steps is None):
            raise ValueError("give exactly one of train.epochs or train.steps")
        length = self.epochs or self.steps or 0
        if self.schedule == "multistep" and not self.milestones:
            raise ValueError("schedule multistep needs milestones")
        if list(self.milestones) != sorted(self.milestones) or any(
            m >= length for m in self.milestones
        ):
            raise ValueError(f"milestones must increase and stay below the length ({length})")
        if self.warmup >= length:
            raise ValueError(f"warmup must be shorter than the length ({length})")
        if self.warmup and self.warmup_lr is not None:
            raise ValueError(
                "give train.warmup (a linear ramp) or train.warmup_lr (held until the training "
                "error falls below warmup_until_error), not both"
            )
        return self

    @property
    def unit(self) -> str:
        return "epochs" if self.epochs is not None else "steps"


class RunSpec(Strict):
    """One training run, fully resolved. Its `run_id` is a hash of the spec (not of the code)."""

    sweep: str
    dataset: DatasetConfig
    model: ModelConfig
    train: TrainConfig
    seed: int

    @field_validator("model")
    @classmethod
    def _family_reads_dataset(cls, model: ModelConfig, info: ValidationInfo) -> ModelConfig:
        dataset = info.data.get("dataset")
        if (
            dataset is not None
            and not stored(info)
            and (problem := registry.reads_problem(model.family, dataset.data_kind()))
        ):
            raise ValueError(f"{problem} (dataset {dataset.name})")
        return model

    @cached_property
    def run_id(self) -> str:
        """Short hash of the canonical resolved spec, without the sweep name or EXECUTION_FIELDS."""
        data = self.model_dump(mode="json", exclude={"sweep"})
        for section, key in EXECUTION_FIELDS:
            data[section].pop(key, None)
        for (section, key), default in LATER_FIELDS.items():
            if data[section].get(key) == default:
                del data[section][key]  # at its default, the id is the one runs had before
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]

    def label(self) -> str:
        """e.g. 'residual-56 seed 2'."""
        return f"{self.model.arch}-{self.model.depth} seed {self.seed}"


class ExecutorSection(Strict):
    """The `executor:` section: where runs execute, never what they compute (not in run ids).

    The command line's flags override it.
    """

    name: Literal["inline", "local", "ray", "slurm"] = Field(
        "local",
        description="local: a worker process per slot; inline: one by one, in-process; "
        "ray: a task per run on a Ray cluster; slurm: a SLURM job array",
    )
    workers: PositiveInt | None = Field(
        None, description="worker processes (default: GPUs x runs_per_gpu, else cores / threads)"
    )
    runs_per_gpu: PositiveInt = Field(1, description="runs sharing one GPU at a time")
    threads_per_run: PositiveInt = Field(1, description="CPU threads each run uses")
    retries: NonNegativeInt = Field(
        1, description="times a failed or killed run is retried before its status is final"
    )
    address: str | None = Field(
        None, description="ray: the cluster, `auto` or ray://HOST:PORT (default: a local Ray)"
    )
    num_cpus: PositiveFloat | None = Field(
        None,
        description="ray, slurm: CPUs each run reserves, and its torch threads "
        "(slurm: --cpus-per-task, whole CPUs; default: threads_per_run)",
    )
    num_gpus: NonNegativeFloat | None = Field(
        None,
        description="ray: GPUs each run reserves, fractions allowed (default: 1 / runs_per_gpu "
        "where the cluster has GPUs and runs may use one, else 0); slurm: whole GPUs per task, "
        "--gpus-per-task (default: 1 when train.device is cuda, else 0)",
    )
    partition: str | None = Field(None, description="slurm: the partition (default: SLURM's)")
    time: str | None = Field(
        None,
        description="slurm: each task's time limit, as sbatch's --time: "
        f"{slurm_limits.TIME_FORMATS} (default: the partition's)",
    )
    mem: str | None = Field(
        None,
        description="slurm: each task's memory, as sbatch's --mem: 4G, 500M (default: SLURM's)",
    )
    account: str | None = Field(None, description="slurm: the account charged (--account)")
    qos: str | None = Field(None, description="slurm: the quality of service (--qos)")
    max_running: PositiveInt | None = Field(
        None, description="slurm: most tasks running at once (the array's %N; default: no cap)"
    )
    sbatch_args: list[str] = Field(
        default_factory=list,
        description="slurm: more sbatch options, as on its command line, e.g. "
        "[--constraint=a100, --gres=gpu:a100:1]; they come last and win",
    )
    keep_jobs: bool = Field(
        False,
        description="slurm: a Ctrl-C leaves the array running (default: cancels it); the same "
        "command later re-attaches to it",
    )

    _time = field_validator("time")(lambda value: slurm_limits.validate_time(value))
    _mem = field_validator("mem")(lambda value: slurm_limits.validate_mem(value))

    def run_threads(self) -> int:
        """The torch threads each run uses: on Ray and SLURM the CPUs it reserves (whole ones,
        at least one), elsewhere threads_per_run."""
        if self.name in ("ray", "slurm") and self.num_cpus:
            return max(1, int(self.num_cpus))
        return self.threads_per_run

    def override(self, *, as_fields: bool = False, **flags: Any) -> ExecutorSection:
        """This section with the flags not None in place of its values; an error names the flag,
        or with `as_fields` (the API's `executor=`) the field."""
        values = {**self.model_dump(), **{k: v for k, v in flags.items() if v is not None}}
        try:
            return ExecutorSection.model_validate(values)
        except ValidationError as e:
            err = e.errors()[0]
            field = str(err["loc"][0]) if err["loc"] else "executor"
            flag = "--executor" if field == "name" else "--" + field.replace("_", "-")
            flag = f"executor.{field}" if as_fields else flag
            why = err["msg"].removeprefix("Value error, ")
            raise SweepError(f"{flag}: {why} (got {err.get('input')!r})") from None


GridValue = Any  # validated once placed in a RunSpec
SWEEP_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]*"  # a folder under the results root, not hidden


class Sweep(Strict):
    """A sweep file: fixed sections, the axes that vary them, and the claims to check."""

    name: str = Field(pattern=f"^{SWEEP_NAME}$", description="results go to OUT/NAME")
    description: str = Field("", description="one line, shown by `resbench sweeps`")
    dataset: DatasetConfig = Field(default_factory=lambda: data.validate({"name": "mnist1d"}))
    model: ModelSection = ModelSection()
    train: TrainConfig
    grid: dict[str, list[GridValue]] = Field(
        default_factory=dict,
        description="axes combined as a cartesian product: dotted keys to lists of values",
    )
    zip: list[dict[str, list[GridValue]]] = Field(
        default_factory=list,
        description="groups of keys whose lists advance together; each group is one more axis",
    )
    seeds: SeedBudget | None = Field(None, description="seeds until decided, not grid.seed")
    exclude: list[dict[str, GridValue]] = Field(
        default_factory=list, description="points to drop: axis keys to a value or a list of them"
    )
    include: list[dict[str, GridValue]] = Field(
        default_factory=list, description="extra runs: depth, arch, seed and any dotted field"
    )
    expect: list[Claim] = Field(default_factory=list)
    executor: ExecutorSection = Field(
        default_factory=ExecutorSection,
        description="where runs execute, never part of a run id; command-line flags override it",
    )
    # Its runs, as loading made them to validate each (resbench.sweep.load): expand() reuses them.
    _runs: list[RunSpec] | None = PrivateAttr(None)

    @field_validator("name")
    @classmethod
    def _not_reference(cls, name: str) -> str:
        if name == "reference":
            raise ValueError("'reference' is reserved: results/reference/ holds reference results")
        return name

    def axes(self) -> list[tuple[str, ...]]:
        """Each axis as its keys: a grid key alone, or a zip group's keys together."""
        return [(key,) for key in self.grid] + [tuple(group) for group in self.zip]

    def swept_keys(self) -> list[str]:
        return [key for axis in self.axes() for key in axis]


def split_key(key: str) -> list[str]:
    """A swept key's path in a RunSpec: 'depth' -> ['model', 'depth'], 'train.lr' -> ['train',
    'lr']."""
    return GRID_ALIASES.get(key, key).split(".")
