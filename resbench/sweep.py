"""Sweeps: YAML -> validated `Sweep` -> `expand()` -> frozen `RunSpec`s with stable run ids.

A sweep file has fixed sections (`dataset`, `model`, `train`) and a `grid` of dotted keys to
lists; the runs are the cartesian product of the grid, minus `exclude`, plus `include`.
`depth`, `arch` and `seed` are always swept. Every problem is raised as one `SweepError` line
naming the file, the field path and the offending value.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from resbench import ResbenchError
from resbench.data import DATASETS
from resbench.families import depth_problem

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


# What `train.diagnostics` can ask for, in the order they are recorded.
DIAGNOSTICS = ("grad_norms", "activations")
Diagnostic = Literal["grad_norms", "activations"]


class SweepError(ResbenchError):
    """A sweep that cannot be used, explained in one line."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# A discriminated union over the registered datasets' options, chosen by `name:`.
DatasetConfig = Annotated[
    Union[tuple(options for options, _ in DATASETS.values())],  # type: ignore[valid-type]  # noqa: UP007
    Field(discriminator="name"),
]


class ModelSection(Strict):
    """The `model:` section: everything about the network except depth and arch (swept)."""

    family: Literal["mlp", "conv1d", "cifar"] = "conv1d"
    width: PositiveInt = Field(
        16, description="hidden width (mlp); first stage's channels (conv1d, cifar: the paper's 16)"
    )
    batch_norm: bool = True
    shortcut: Literal["A", "B"] = Field(
        "A", description="where widths change: A zero-pads (no parameters), B projects (1x1)"
    )
    zero_init_residual: bool = Field(
        False, description="start each residual branch's last batch norm at 0 (Goyal et al. 2017)"
    )

    @field_validator("zero_init_residual")
    @classmethod
    def _zero_init_needs_batch_norm(cls, value: bool, info: ValidationInfo) -> bool:
        if value and not info.data.get("batch_norm", True):
            raise ValueError("zero_init_residual needs batch_norm: true")
        return value


class ModelConfig(ModelSection):
    """A network fully described: the section plus the swept depth and arch."""

    depth: PositiveInt
    arch: Literal["plain", "residual"]

    @field_validator("depth")
    @classmethod
    def _depth_buildable(cls, depth: int, info: ValidationInfo) -> int:
        if "family" in info.data and (problem := depth_problem(info.data["family"], depth)):
            raise ValueError(problem)
        return depth


class TrainConfig(Strict):
    """The `train:` section: length, optimiser, schedule and evaluation."""

    epochs: PositiveInt | None = Field(None, description="training length in epochs")
    steps: PositiveInt | None = Field(None, description="training length in optimiser steps")
    batch_size: PositiveInt = 128
    optimizer: Literal["sgd", "adam", "adamw"] = "sgd"
    lr: PositiveFloat = 0.1
    momentum: NonNegativeFloat = 0.9
    nesterov: bool = False
    weight_decay: NonNegativeFloat = 1e-4
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
    precision: Literal["fp32", "bf16"] = Field(
        "fp32", description="bf16: autocast the forward pass to bfloat16 (fast on recent GPUs)"
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
        "layer, input to output) and activations (std of the stem's and each block's output)",
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


class _Claim(Strict):
    metric: str = "train_error"


class Degrades(_Claim):
    """For `arch`, the deepest net's metric exceeds the best shallower one's by >= min_gap."""

    claim: Literal["degrades"]
    arch: Literal["plain", "residual"] = "plain"
    min_gap: NonNegativeFloat = 0.0


class Holds(_Claim):
    """For `arch`, the deepest net's metric is no worse than the shallowest's + tolerance."""

    claim: Literal["holds"]
    arch: Literal["plain", "residual"] = "residual"
    tolerance: NonNegativeFloat = 0.0


class Beats(_Claim):
    """`arch`'s metric is below `than`'s at `depths` (default: every shared depth) by >= min_gap."""

    claim: Literal["beats"]
    arch: Literal["plain", "residual"] = "residual"
    than: Literal["plain", "residual"] = "plain"
    depths: tuple[PositiveInt, ...] = ()
    min_gap: NonNegativeFloat = 0.0


Claim = Annotated[Degrades | Holds | Beats, Field(discriminator="claim")]


class RunSpec(Strict):
    """One training run, fully resolved. Its `run_id` is a hash of what it computes."""

    sweep: str
    dataset: DatasetConfig
    model: ModelConfig
    train: TrainConfig
    seed: int

    @cached_property
    def run_id(self) -> str:
        """Short hash of the canonical resolved spec, without the sweep name or EXECUTION_FIELDS."""
        data = self.model_dump(mode="json", exclude={"sweep"})
        for section, key in EXECUTION_FIELDS:
            data[section].pop(key, None)
        if not data["train"]["diagnostics"]:
            del data["train"]["diagnostics"]  # off, the id is the one runs had before the field
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]

    def label(self) -> str:
        """e.g. 'residual-56 seed 2'."""
        return f"{self.model.arch}-{self.model.depth} seed {self.seed}"


class ExecutorSection(Strict):
    """The `executor:` section: where runs execute, never what they compute (not in run ids).

    The command line's flags override it.
    """

    name: Literal["inline", "local", "ray"] = Field(
        "local",
        description="local: a worker process per slot; inline: one by one, in-process; "
        "ray: a task per run on a Ray cluster",
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
        None, description="ray: CPUs each run reserves (default: threads_per_run)"
    )
    num_gpus: NonNegativeFloat | None = Field(
        None,
        description="ray: GPUs each run reserves, fractions allowed "
        "(default: 1 / runs_per_gpu where the cluster has GPUs and runs may use one, else 0)",
    )

    def override(self, **flags: Any) -> ExecutorSection:
        """This section with the command line's flags (those not None) in place of its values."""
        values = {**self.model_dump(), **{k: v for k, v in flags.items() if v is not None}}
        try:
            return ExecutorSection.model_validate(values)
        except ValidationError as e:
            err = e.errors()[0]
            flag = "--" + str(err["loc"][0]).replace("_", "-")
            raise SweepError(f"{flag}: {err['msg']} (got {err.get('input')!r})") from None


GridValue = Any  # validated once placed in a RunSpec


class Sweep(Strict):
    """A sweep file: fixed sections, the axes that vary them, and the claims to check."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", description="results go to OUT/NAME")
    description: str = Field("", description="one line, shown by `resbench sweeps`")
    dataset: DatasetConfig = Field(default_factory=lambda: DATASETS["mnist1d"][0]())
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


# --------------------------------------------------------------------------- loading


def preset_names() -> list[str]:
    """Names of the presets shipped with resbench."""
    root = resources.files("resbench") / "sweeps"
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def preset_path(name: str) -> Path:
    return Path(str(resources.files("resbench") / "sweeps" / f"{name}.yaml"))


def resolve(ref: str) -> Path:
    """A sweep reference -> its file: a path, or the name of a preset."""
    path = Path(ref)
    if path.is_file():
        return path
    if ref in preset_names():
        return preset_path(ref)
    presets = ", ".join(preset_names())
    raise SweepError(f"{ref}: no such sweep file, and not a preset ({presets})")


def load_sweep(ref: str | Path, overrides: dict[str, Any] | None = None) -> Sweep:
    """Read, validate and check-expand the sweep at `ref` (a path or a preset name).

    `overrides` maps dotted keys (`train.epochs`, `grid.seed`) to values replacing the file's.
    """
    path = resolve(str(ref))
    try:
        text = path.read_text()
    except OSError as e:
        raise SweepError(f"{path}: cannot read: {e.strerror}") from None
    return parse_sweep(text, str(path), overrides)


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """['train.epochs=5', 'grid.depth=[8, 20]'] -> {'train.epochs': 5, 'grid.depth': [8, 20]}."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise SweepError(f"-s {item}: expected KEY=VALUE, e.g. -s train.epochs=5")
        try:
            out[key.strip()] = yaml.safe_load(text)
        except yaml.YAMLError:
            raise SweepError(f"-s {item}: the value is not valid YAML") from None
    return out


def parse_sweep(
    text: str, source: str = "<sweep>", overrides: dict[str, Any] | None = None
) -> Sweep:
    """Validate sweep YAML `text`; `source` names it in errors, and any override at fault."""
    overrides = overrides or {}
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise SweepError(f"{source}{where}: YAML syntax error: {problem}") from None
    if not isinstance(raw, dict):
        raise SweepError(f"{source}: expected a mapping of sections, got {type(raw).__name__}")
    for key, value in overrides.items():
        *parents, leaf = _split(key)
        node = raw
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise SweepError(f"-s {key}: {part} is not a section that can be overridden")
        node[leaf] = value
    try:
        try:
            sweep = Sweep.model_validate(raw)
        except ValidationError as e:
            raise _Invalid(*_describe(e)) from None
        _check_axes(sweep)
        _expand(sweep)  # every run must validate: bad axis values fail at load time
    except _Invalid as e:
        blame = next((k for k in overrides if _related(e.path, k)), None)
        by = f" (from -s {blame}={_yaml(overrides[blame])})" if blame else ""
        raise SweepError(f"{source}: {e.path}: {e.problem}{by}") from None
    return sweep


def dump_sweep(sweep: Sweep, source: str, overrides: dict[str, Any]) -> str:
    """`sweep` as YAML that loads back to the same runs, headed by where it came from."""
    shown = " ".join(f"-s {k}={_yaml(v)}" for k, v in overrides.items())
    body = yaml.safe_dump(sweep.model_dump(mode="json"), sort_keys=False)
    return f"# {source} {shown}\n{body}"


def schema_json() -> str:
    """The JSON Schema of sweep files."""
    schema = Sweep.model_json_schema()
    schema["title"] = "resbench sweep"
    return json.dumps(schema, indent=2) + "\n"


def starter_sweep(name: str) -> str:
    """A commented sweep to start from, named `name`."""
    template = (resources.files("resbench") / "starter.yaml").read_text()
    return template.replace("NAME", name)


def _related(path: str, key: str) -> bool:
    """Whether a problem at `path` may come from an override of `key` (either holds the other)."""
    return path == key or path.startswith(f"{key}.") or key.startswith(f"{path}.")


class _Invalid(Exception):
    """A problem at a field path, before the source is known."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(path, problem)
        self.path, self.problem = path, problem


def _check_axes(sweep: Sweep) -> None:
    seen: dict[str, str] = {}
    for key, values in sweep.grid.items():
        _check_axis_key(f"grid.{key}", key, values, seen)
    for i, group in enumerate(sweep.zip):
        if not group:
            raise _Invalid(f"zip[{i}]", "empty group; give keys with lists of equal length")
        for key, values in group.items():
            _check_axis_key(f"zip[{i}].{key}", key, values, seen)
        lengths = {key: len(values) for key, values in group.items()}
        if len(set(lengths.values())) > 1:
            shown = ", ".join(f"{k}: {n}" for k, n in lengths.items())
            raise _Invalid(f"zip[{i}]", f"lists of unequal length ({shown})")
    for key in REQUIRED_GRID_KEYS:
        if key not in seen:
            raise _Invalid(f"grid.{key}", f"required (sweep {key} in grid: or zip:)")
    for i, pattern in enumerate(sweep.exclude):
        for key in pattern:
            if key not in seen:
                raise _Invalid(f"exclude[{i}].{key}", f"not a swept key ({', '.join(seen)})")
    for i, extra in enumerate(sweep.include):
        missing = [k for k in REQUIRED_GRID_KEYS if k not in extra]
        if missing:
            raise _Invalid(f"include[{i}]", f"missing {', '.join(missing)}")


def _check_axis_key(where: str, key: str, values: list[Any], seen: dict[str, str]) -> None:
    if key in seen:
        raise _Invalid(where, f"already swept at {seen[key]}")
    seen[key] = where
    if not values:
        raise _Invalid(where, "empty list; give at least one value")
    if _split(key)[0] not in ("seed", "dataset", "model", "train"):
        raise _Invalid(where, "unknown key; use depth, arch, seed or a dotted field like train.lr")


# --------------------------------------------------------------------------- expansion


def expand(sweep: Sweep, source: str = "<sweep>") -> list[RunSpec]:
    """The sweep's runs in axis order: the product of the axes, minus `exclude`, plus `include`."""
    try:
        return _expand(sweep)
    except _Invalid as e:
        raise SweepError(f"{source}: {e.path}: {e.problem}") from None


def points(sweep: Sweep) -> list[dict[str, Any]]:
    """Every run's swept values (key -> value) in order: the product minus exclude, then include."""
    return [point for point, _ in _located_points(sweep)]


def _located_points(sweep: Sweep) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """Each point with where each of its values was written (`grid.depth`, `zip[0].train.lr`)."""
    axes = [[{key: value} for value in values] for key, values in sweep.grid.items()]
    for group in sweep.zip:
        rows = zip(*group.values(), strict=True)
        axes.append([dict(zip(group, row, strict=True)) for row in rows])
    where = {key: f"grid.{key}" for key in sweep.grid}
    for i, group in enumerate(sweep.zip):
        where.update({key: f"zip[{i}].{key}" for key in group})
    out = []
    for combo in itertools.product(*axes):
        point = {key: value for part in combo for key, value in part.items()}
        if not any(_matches(point, pattern) for pattern in sweep.exclude):
            out.append((point, where))
    for i, extra in enumerate(sweep.include):
        out.append((dict(extra), {key: f"include[{i}].{key}" for key in extra}))
    return out


def _expand(sweep: Sweep) -> list[RunSpec]:
    specs: dict[str, RunSpec] = {}
    for point, where in _located_points(sweep):
        spec = _resolve(sweep, point, where)
        specs.setdefault(spec.run_id, spec)  # the same run reached twice is one run
    if not specs:
        raise _Invalid("exclude", "no runs left: every point is excluded")
    return list(specs.values())


def _matches(point: dict[str, Any], pattern: dict[str, Any]) -> bool:
    for key, want in pattern.items():
        options = want if isinstance(want, list) else [want]
        if point.get(key) not in options:
            return False
    return True


def _resolve(sweep: Sweep, point: dict[str, Any], where: dict[str, str]) -> RunSpec:
    data: dict[str, Any] = {
        "sweep": sweep.name,
        "dataset": sweep.dataset.model_dump(),
        "model": sweep.model.model_dump(),
        "train": sweep.train.model_dump(),
    }
    for key, value in point.items():
        *parents, leaf = _split(key)
        node = data
        for part in parents:
            if not isinstance(node.get(part), dict):
                raise _Invalid(where[key], "unknown key")
            node = node[part]
        node[leaf] = value
    try:
        return RunSpec.model_validate(data)
    except ValidationError as e:
        path, problem = _describe(e)
        # A value that came from an axis is reported where the user wrote it.
        key = next((k for k in point if ".".join(_split(k)) == path), None)
        raise _Invalid(where[key] if key else path, problem) from None


def swept_values(sweep: Sweep, spec: RunSpec) -> dict[str, Any]:
    """The values `spec` takes on each of the sweep's swept keys (grid and zip), by key."""
    data = spec.model_dump(mode="json")
    out = {}
    for key in sweep.swept_keys():
        value = data
        for part in _split(key):
            value = value[part]
        out[key] = value
    return out


def _split(key: str) -> list[str]:
    """A key's path in a RunSpec: 'depth' -> ['model', 'depth'], 'train.lr' -> ['train', 'lr']."""
    return GRID_ALIASES.get(key, key).split(".")


def _yaml(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("\n...")


# --------------------------------------------------------------------------- errors


def _describe(error: ValidationError) -> tuple[str, str]:
    """The first validation error as (field path, 'problem (got value)')."""
    err = error.errors()[0]
    loc = [str(part) for part in err["loc"] if not _is_tag(part)]
    path = ".".join(loc)
    msg, kind = err["msg"], err["type"]
    if kind == "extra_forbidden":
        return path, f"unknown key{_valid_keys(loc)}"
    if kind == "missing":
        return path, "required"
    if kind == "union_tag_invalid":
        name = err["input"].get("name")
        return f"{path}.name", f"unknown dataset {name!r} (valid: {', '.join(DATASETS)})"
    if kind == "union_tag_not_found":
        return f"{path}.name", f"required (one of {', '.join(DATASETS)})"
    msg = msg.removeprefix("Value error, ")
    value = err.get("input")
    # Section-level problems carry the whole section as input: the message says enough.
    got = "" if isinstance(value, dict) else f" (got {value!r})"
    return path, f"{msg}{got}"


def _is_tag(part: object) -> bool:
    """Discriminated unions add the tag ('mnist1d', 'degrades') to error locations."""
    return isinstance(part, str) and (part in DATASETS or part in ("degrades", "holds", "beats"))


def _valid_keys(loc: list[str]) -> str:
    """' (valid: a, b, c)' for the section that holds the unknown key at `loc`."""
    sections: dict[str, type[BaseModel]] = {
        "": Sweep,
        "model": ModelSection,
        "train": TrainConfig,
        "executor": ExecutorSection,
    }
    cls = sections.get(".".join(loc[:-1]))
    if cls is None:
        return ""
    hint = (
        " (depth, arch and seed are swept: put them in grid: or zip:)"
        if loc[-1] in GRID_ALIASES
        else ""
    )
    return f"{hint} (valid: {', '.join(cls.model_fields)})"
