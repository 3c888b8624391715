"""Sweeps: a YAML file -> a validated `Sweep` -> `expand()` -> frozen `RunSpec`s.

A sweep file has fixed sections (`dataset`, `model`, `train`) and a `grid` of dotted keys to
lists; the runs are the cartesian product of the grid and the `zip` groups, minus `exclude`,
plus `include`. `depth`, `arch` and `seed` are always swept. Every problem is raised as one
`SweepError` line naming the file, the field path and the offending value. The schema itself
is `resbench.sweep.schema`.
"""

from __future__ import annotations

import itertools
import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from resbench.core import plugins
from resbench.core.arguments import require_count, require_instance, require_mapping
from resbench.sweep.budget import seed_axis, validate_budget
from resbench.sweep.claims import Claim
from resbench.sweep.fields import has_value
from resbench.sweep.messages import Invalid, describe
from resbench.sweep.overrides import apply_overrides, blame, shown_yaml
from resbench.sweep.schema import REQUIRED_GRID_KEYS, RunSpec, Sweep, SweepError, split_key
from resbench.sweep.sections import read_section
from resbench.sweep.size import MAX_RUNS, axis_rows, matches, validate_size

UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# --------------------------------------------------------------------------- loading


def preset_names() -> list[str]:
    """Names of the presets shipped with resbench."""
    root = resources.files("resbench.sweep") / "presets"
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def preset_path(name: str) -> Path:
    return Path(str(resources.files("resbench.sweep") / "presets" / f"{name}.yaml"))


def resolve(ref: str) -> Path:
    """A sweep reference -> its file: a path, or the name of a preset."""
    path = Path(ref)
    if path.is_file():
        return path
    if ref in preset_names():
        return preset_path(ref)
    presets = ", ".join(preset_names())
    raise SweepError(f"{ref}: no such sweep file, and not a preset ({presets})")


def load_sweep(
    ref: str | Path, overrides: dict[str, Any] | None = None, max_runs: int | None = MAX_RUNS
) -> Sweep:
    """Read, validate and check-expand the sweep at `ref` (a path or a preset name).

    `overrides` maps dotted keys (`train.epochs`, `grid.seed`) to values replacing the file's.
    A sweep of more than `max_runs` runs is refused before any is made (None: no limit).
    """
    require_instance("ref", ref, (str, os.PathLike), "a sweep file or a preset's name")
    overrides = require_mapping("overrides", overrides, '{"train.epochs": 5}')
    max_runs = require_count("max_runs", max_runs, optional=True)
    path = resolve(os.fspath(ref))
    plugins.search_here(path.parent, Path.cwd())  # where a sweep's own code is looked for
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise SweepError(f"{path}: cannot read: {e.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark, as some editors write, is fine
    except UnicodeDecodeError as e:
        bom = " (it starts with a UTF-16 byte-order mark)" if raw[:2] in UTF16_BOMS else ""
        raise SweepError(
            f"{path}: not UTF-8 text: byte {e.start} is 0x{raw[e.start]:02x}{bom}; "
            "save the sweep as UTF-8"
        ) from None
    return parse_sweep(text, str(path), overrides, max_runs)


def load_claims(path: Path) -> list[Claim]:
    """The `expect:` claims of the sweep file at `path`, the rest of it unread: checking results
    needs no dataset, and no user code (which may not be importable where results are read)."""
    adapter = TypeAdapter(list[Claim])
    return read_section(path, "expect", lambda v: adapter.validate_python(v or []), "claims")


def parse_sweep(
    text: str,
    source: str = "<sweep>",
    overrides: dict[str, Any] | None = None,
    max_runs: int | None = MAX_RUNS,
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
    apply_overrides(raw, overrides)
    try:
        try:
            sweep = Sweep.model_validate(raw)
        except ValidationError as e:
            raise Invalid(*describe(e)) from None
        _validate_axes(sweep)
        validate_size(seed_axis(sweep), source, max_runs)  # before a huge grid takes minutes
        specs = _expand(sweep)  # every run must validate: bad axis values fail at load time
        _validate_claims(sweep, specs)
        sweep._runs = specs
    except Invalid as e:
        raise SweepError(f"{source}: {e.path}: {e.problem}{blame(e.path, overrides)}") from None
    return sweep


def dump_sweep(sweep: Sweep, source: str, overrides: dict[str, Any]) -> str:
    """`sweep` as YAML that loads back to the same runs, headed by where it came from."""
    shown = " ".join(f"-s {k}={shown_yaml(v)}" for k, v in overrides.items())
    body = yaml.safe_dump(sweep.model_dump(mode="json"), sort_keys=False)
    return f"# {source} {shown}\n{body}"


def schema_json() -> str:
    """The JSON Schema of sweep files, naming the datasets registered now."""
    from typing import Annotated, Union

    from pydantic import Field, create_model

    from resbench import data

    # In the schema, `dataset:` is what validation accepts: one of the registered datasets,
    # told apart by name, or user code (any other name: an import path or an installed plugin).
    from resbench.data.plugin import PluginOptions

    registered = Annotated[
        Union[tuple(data.options_classes())],  # type: ignore[valid-type]  # noqa: UP007
        Field(discriminator="name"),
    ]
    datasets = Union[registered, PluginOptions]  # noqa: UP007
    default = Sweep.model_fields["dataset"]
    schema_sweep = create_model(
        "Sweep",
        __base__=Sweep,
        __doc__=Sweep.__doc__,
        dataset=(datasets, Field(default_factory=default.default_factory)),
    )
    schema = schema_sweep.model_json_schema()
    schema["title"] = "resbench sweep"
    _registered_names(schema)
    return json.dumps(schema, indent=2) + "\n"


def _registered_names(schema: dict[str, Any]) -> None:
    """Name the registered families, blocks and archs in the schema, for editors to offer."""
    from resbench.models import registry

    defs = schema["$defs"]
    blocks = sorted({b for f in registry.family_names() for b in registry.get_family(f).blocks})
    model = defs["ModelSection"]["properties"]
    families = [*registry.family_names(), *plugins.entry_points(plugins.FAMILIES)]
    model["family"] |= {"anyOf": [{"enum": list(dict.fromkeys(families))}, _IMPORT_PATH]}
    del model["family"]["type"]
    model["block"]["enum"] = blocks
    installed = list(plugins.entry_points(plugins.DATASETS))
    defs["PluginOptions"]["properties"]["name"]["examples"] = [*installed, "my_pkg.data:load"]
    for claim, fields in (("Degrades", ["arch"]), ("Holds", ["arch"]), ("Beats", ["arch", "than"])):
        for field in fields:
            # Offer the built-in archs; a user family's own archs are checked against the runs.
            defs[claim]["properties"][field]["examples"] = registry.arch_names()


# A user family or dataset: module:callable (docs/plugins.md).
_IMPORT_PATH = {"type": "string", "pattern": r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$"}


def starter_sweep(name: str) -> str:
    """A commented sweep to start from, named `name`."""
    template = (resources.files("resbench.sweep") / "starter.yaml").read_text()
    return template.replace("NAME", name)


def _validate_axes(sweep: Sweep) -> None:
    seen: dict[str, str] = {}
    for key, values in sweep.grid.items():
        _validate_axis_key(f"grid.{key}", key, values, seen)
    for i, group in enumerate(sweep.zip):
        if not group:
            raise Invalid(f"zip[{i}]", "empty group; give keys with lists of equal length")
        for key, values in group.items():
            _validate_axis_key(f"zip[{i}].{key}", key, values, seen)
        lengths = {key: len(values) for key, values in group.items()}
        if len(set(lengths.values())) > 1:
            shown = ", ".join(f"{k}: {n}" for k, n in lengths.items())
            raise Invalid(f"zip[{i}]", f"lists of unequal length ({shown})")
    validate_budget(sweep, seen)
    for key in REQUIRED_GRID_KEYS:
        if key not in seen and not (key == "seed" and sweep.seeds is not None):
            raise Invalid(f"grid.{key}", f"required (sweep {key} in grid: or zip:)")
    for i, pattern in enumerate(sweep.exclude):
        for key in pattern:
            if key not in seen:
                raise Invalid(f"exclude[{i}].{key}", f"not a swept key ({', '.join(seen)})")
    for i, extra in enumerate(sweep.include):
        missing = [k for k in REQUIRED_GRID_KEYS if k not in extra]
        if missing:
            raise Invalid(f"include[{i}]", f"missing {', '.join(missing)}")


def _validate_claims(sweep: Sweep, specs: list[RunSpec]) -> None:
    """A claim names archs of the runs, its `where:` fields of the runs with values some run
    has, recorded metrics, a swept key to take the best of, and depths of the runs."""
    wheres = any(_wheres(claim) for claim in sweep.expect)
    dumps = [spec.model_dump(mode="json") for spec in specs] if wheres else []
    archs = list(dict.fromkeys(spec.model.arch for spec in specs))
    for i, claim in enumerate(sweep.expect):
        for role in ("arch", "than"):
            arch = getattr(claim, role, None)
            if arch is not None and arch not in archs:
                shown = ", ".join(archs)
                raise Invalid(
                    f"expect[{i}].{role}", f"{arch!r} is not an arch of the runs ({shown})"
                )
        for name, where in _wheres(claim).items():
            _validate_where(f"expect[{i}].{name}", where, dumps)
        _validate_claim_axes(f"expect[{i}]", claim, sweep, specs)


def _wheres(claim: Claim) -> dict[str, dict[str, Any]]:
    """A claim's run selections by field name: where, and than_where where it has one."""
    out = {"where": claim.where, "than_where": getattr(claim, "than_where", {})}
    return {name: where for name, where in out.items() if where}


def _validate_where(at: str, where: dict[str, Any], dumps: list[dict[str, Any]]) -> None:
    for key in where:
        try:
            _field(dumps[0], key)
        except KeyError:
            raise Invalid(
                f"{at}.{key}", "not a field of the runs (e.g. model.batch_norm)"
            ) from None
    if not any(all(has_value(_field(d, k), v) for k, v in where.items()) for d in dumps):
        raise Invalid(at, f"no run of the sweep has {shown_yaml(where)}")


def _validate_claim_axes(at: str, claim: Claim, sweep: Sweep, specs: list[RunSpec]) -> None:
    """Recorded metrics, a key the sweep sweeps (beyond depth, arch and seed), a swept depth."""
    from resbench.sweep.claims import METRICS, axis_of

    for name in ("metric", "best_by"):
        metric = getattr(claim, name, None)
        if metric is not None and metric not in METRICS:
            raise Invalid(f"{at}.{name}", f"{metric!r} is not recorded ({', '.join(METRICS)})")
    if key := axis_of(claim):
        swept = {".".join(split_key(k)): k for k in sweep.swept_keys()}
        others = [k for k in sweep.swept_keys() if k not in REQUIRED_GRID_KEYS]
        name = "best_over" if getattr(claim, "best_over", None) else "over"
        if ".".join(split_key(key)) not in swept or key in REQUIRED_GRID_KEYS:
            shown = ", ".join(others) or "nothing but depth, arch and seed"
            raise Invalid(f"{at}.{name}", f"{key!r} is not swept by the sweep (swept: {shown})")
    depth = getattr(claim, "depth", None)
    if depth is not None and depth not in {spec.model.depth for spec in specs}:
        depths = ", ".join(map(str, sorted({spec.model.depth for spec in specs})))
        raise Invalid(f"{at}.depth", f"{depth} is not a depth of the runs ({depths})")


def _field(dump: dict[str, Any], key: str) -> Any:
    """The value of a dumped RunSpec at a swept or dotted key; KeyError when it has none."""
    value: Any = dump
    for part in split_key(key):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(key)
        value = value[part]
    return value


def _validate_axis_key(where: str, key: str, values: list[Any], seen: dict[str, str]) -> None:
    if key in seen:
        raise Invalid(where, f"already swept at {seen[key]}")
    seen[key] = where
    if not values:
        raise Invalid(where, "empty list; give at least one value")
    if split_key(key)[0] not in ("seed", "dataset", "model", "train"):
        raise Invalid(where, "unknown key; use depth, arch, seed or a dotted field like train.lr")


# --------------------------------------------------------------------------- expansion


def expand(sweep: Sweep, source: str = "<sweep>") -> list[RunSpec]:
    """The sweep's runs in axis order: the product of the axes, minus `exclude`, plus `include`."""
    require_instance("sweep", sweep, Sweep, "a Sweep (resbench.load_sweep(...))")
    if sweep._runs is not None:  # made when the sweep was loaded
        return list(sweep._runs)
    try:
        return _expand(sweep)
    except Invalid as e:
        raise SweepError(f"{source}: {e.path}: {e.problem}") from None


def _located_points(sweep: Sweep) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """Each point with where each of its values was written (`grid.depth`, `zip[0].train.lr`)."""
    axes = axis_rows(sweep)
    where = {key: f"grid.{key}" for key in sweep.grid}
    for i, group in enumerate(sweep.zip):
        where.update({key: f"zip[{i}].{key}" for key in group})
    out = []
    for combo in itertools.product(*axes):
        point = {key: value for part in combo for key, value in part.items()}
        if not any(matches(point, pattern) for pattern in sweep.exclude):
            out.append((point, where))
    for i, extra in enumerate(sweep.include):
        out.append((dict(extra), {key: f"include[{i}].{key}" for key in extra}))
    return out


def _expand(sweep: Sweep) -> list[RunSpec]:
    specs: dict[str, RunSpec] = {}
    for point, where in _located_points(seed_axis(sweep)):
        spec = _resolve(sweep, point, where)
        specs.setdefault(spec.run_id, spec)  # the same run reached twice is one run
    if not specs:
        raise Invalid("exclude", "no runs left: every point is excluded")
    return list(specs.values())


# The keys that name user code or its options: a point that sets one is validated afresh.
_USER_CODE_KEYS = {("model", "family"), ("dataset", "name"), ("dataset", "options"), ("dataset",)}


def _resolve(sweep: Sweep, point: dict[str, Any], where: dict[str, str]) -> RunSpec:
    data: dict[str, Any] = {
        "sweep": sweep.name,
        "dataset": sweep.dataset.model_dump(),
        "model": sweep.model.model_dump(),
        "train": sweep.train.model_dump(),
    }
    for key, value in point.items():
        *parents, leaf = split_key(key)
        node = data
        for part in parents:
            if not isinstance(node.get(part), dict):
                raise Invalid(where[key], "unknown key")
            node = node[part]
        node[leaf] = value
        section = data[(parents or [leaf])[0]]
        if tuple([*parents, leaf][:2]) in _USER_CODE_KEYS and isinstance(section, dict):
            # Other user code, or other options to check against it: the section's version
            # says nothing of them, and is taken afresh.
            section.pop("version", None)
    try:
        return RunSpec.model_validate(data)
    except ValidationError as e:
        path, problem = describe(e)
        # A value that came from an axis is reported where the user wrote it.
        key = next((k for k in point if ".".join(split_key(k)) == path), None)
        raise Invalid(where[key] if key else path, problem) from None


def swept_values(sweep: Sweep, spec: RunSpec) -> dict[str, Any]:
    """The values `spec` takes on each of the sweep's swept keys (grid and zip), by key."""
    data = spec.model_dump(mode="json")
    return {key: _field(data, key) for key in sweep.swept_keys()}
