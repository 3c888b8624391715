"""Model families by import path and installed plugins: user code beside the sweep file, its
identity in the run id, validation against what it declares, and every way it can be wrong said
in one line or kept as a failed run."""

from __future__ import annotations

import json
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from resbench.cli import app
from resbench.core import plugins
from resbench.sweep.load import expand, load_sweep, schema_json
from resbench.sweep.schema import SweepError
from resbench.train.run import train_run

MODULE = '''
import torch
from torch import nn


def build(cfg, input_shape, num_classes):
    """A stack of `depth` linear layers, `options.hidden` wide; arch `wide` doubles it."""
    hidden = cfg.options.get("hidden", 8) * (2 if cfg.arch == "wide" else 1)
    layers = [nn.Flatten(), nn.Linear(input_shape[0] * input_shape[1], hidden), nn.ReLU()]
    for _ in range(cfg.depth - 2):
        layers += [nn.Linear(hidden, hidden), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(hidden, num_classes))


build.archs = ("narrow", "wide")
build.depths = range(2, 9)
build.input_shape = (1, 40)
build.options = ("hidden",)


def raises(cfg, input_shape, num_classes):
    raise RuntimeError("the user's builder broke")


def not_a_module(cfg, input_shape, num_classes):
    return [1, 2, 3]


def bad_depths(cfg, input_shape, num_classes):
    raise AssertionError("never built")


bad_depths.depths = "deep"
not_callable = 3


def needs_pyyaml(cfg, input_shape, num_classes):
    """`build`, where the worker that builds it must import PyYAML as `yaml`."""
    import yaml

    if not hasattr(yaml, "safe_load"):
        raise RuntimeError(f"yaml is {yaml.__file__}, not PyYAML")
    return build(cfg, input_shape, num_classes)


for _key in ("archs", "depths", "input_shape", "options"):
    setattr(needs_pyyaml, _key, getattr(build, _key))
'''

SWEEP = """
name: own-model
dataset: {{name: synthetic, n_train: 64, n_test: 32}}
model: {{family: "{family}", options: {options}}}
train: {{epochs: 1, batch_size: 32, device: cpu}}
grid: {{depth: {depths}, arch: {archs}, seed: [0]}}
"""


@pytest.fixture
def own(tmp_path: Path):
    """A module of the user's beside a sweep file: write(attr, ...) -> the sweep file."""
    name = f"usernets_{uuid.uuid4().hex[:8]}"  # a fresh module each test: imports are cached
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(MODULE))

    def write(
        attr: str = "build",
        options: str = "{hidden: 8}",
        depths: str = "[3]",
        archs: str = "[narrow, wide]",
    ) -> Path:
        sweep = tmp_path / "own.yaml"
        text = SWEEP.format(family=f"{name}:{attr}", options=options, depths=depths, archs=archs)
        sweep.write_text(text)
        return sweep

    write.module = name  # type: ignore[attr-defined]
    write.folder = tmp_path  # type: ignore[attr-defined]
    return write


def test_a_family_beside_the_sweep_file_trains_with_its_options(own) -> None:
    narrow, wide = expand(load_sweep(own()))
    assert narrow.model.version.startswith("source:") and narrow.model.options == {"hidden": 8}
    results = [train_run(spec) for spec in (narrow, wide)]
    assert [r.status for r in results] == ["ok", "ok"], [r.error for r in results]
    hidden = 8  # 40 inputs -> hidden -> hidden -> 10 classes
    assert results[0].params == (40 * hidden + hidden) + (hidden * hidden + hidden) + (
        hidden * 10 + 10
    )
    assert results[1].params > results[0].params  # the arch reached the builder
    other = expand(load_sweep(own(options="{hidden: 16}")))[0]
    assert other.run_id != narrow.run_id and other.model.options == {"hidden": 16}


def test_the_builders_net_is_used_as_it_is_seeded_by_the_run(own) -> None:
    import torch

    from resbench.models import build_model

    spec = expand(load_sweep(own()))[0]
    torch.manual_seed(spec.seed)
    first = build_model(spec.model, (1, 40), 10)
    torch.manual_seed(spec.seed)
    again = build_model(spec.model, (1, 40), 10)
    for a, b in zip(first.parameters(), again.parameters(), strict=True):
        assert torch.equal(a, b)
    # Not re-initialised by resbench: PyTorch's own Linear init keeps |w| <= 1/sqrt(fan_in).
    assert float(first[1].weight.detach().abs().max()) <= 40**-0.5


def test_editing_the_family_makes_new_runs(own) -> None:
    before = expand(load_sweep(own()))[0]
    module = own.folder / f"{own.module}.py"
    module.write_text(module.read_text() + "\n# a change\n")
    del sys.modules[own.module]
    after = expand(load_sweep(own()))[0]
    assert before.model.version != after.model.version and before.run_id != after.run_id


def _yaml_origin() -> str:
    import yaml

    return str(yaml.__file__)


def test_code_beside_a_sweep_never_shadows_an_installed_module(
    own, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The user's project has its own yaml.py: resbench and its workers must still get PyYAML,
    # and the user's family must still import.
    monkeypatch.setattr(sys, "path", list(sys.path))  # what loading adds is forgotten after
    (own.folder / "yaml.py").write_text('"""A helper of the user\'s, not PyYAML."""\nMINE = 1\n')
    narrow, _ = expand(load_sweep(own()))
    assert train_run(narrow).status == "ok"  # the family beside the sweep imported
    # A local worker starts as a fresh interpreter given this sys.path, and imports anew.
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as worker:
        origin = worker.apply(_yaml_origin)
    assert Path(origin).parent != own.folder, "the yaml.py beside the sweep shadowed PyYAML"


def test_a_local_rays_workers_find_the_code_beside_the_sweep_and_pyyaml_first(
    own, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Ray's workers start afresh: they must be told where the sweep's code is, and put it last.
    import resbench

    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(plugins, "_SEARCHED", [])
    (own.folder / "yaml.py").write_text('"""A helper of the user\'s, not PyYAML."""\nMINE = 1\n')
    sweep = own(attr="needs_pyyaml")
    results = resbench.run(sweep, out=tmp_path / "res", executor={"name": "ray"}, progress=False)
    runs = results.runs
    assert list(runs["status"]) == ["ok", "ok"], list(runs["error"])


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"depths": "[3, 12]"}, "grid.depth: {family} depth must be from 2 to 8"),
        (
            {"archs": "[narrow, residual]"},
            "grid.arch: {family} has no arch 'residual' (valid: narrow, wide)",
        ),
        (
            {"options": "{hiden: 8}"},
            "model.options: {family} takes no option 'hiden' (its options: hidden)",
        ),
        ({"attr": "nothere"}, "model.family: {module} has no 'nothere'"),
        ({"attr": "not_callable"}, "model.family: {module}:not_callable is not callable"),
        ({"attr": "bad_depths"}, "model.family: {module}:bad_depths.depths is a str"),
    ],
)
def test_a_bad_family_is_one_line_at_load(own, kwargs: dict[str, str], says: str) -> None:
    sweep = own(**kwargs)
    family = f"{own.module}:{kwargs.get('attr', 'build')}"
    with pytest.raises(SweepError) as e:
        expand(load_sweep(sweep))
    assert says.format(family=family, module=own.module) in str(e.value)
    assert "\n" not in str(e.value)


def test_a_family_that_does_not_import_is_one_line_and_exit_2(tmp_path: Path) -> None:
    sweep = tmp_path / "s.yaml"
    sweep.write_text(
        SWEEP.format(family="no_such_nets:build", options="{}", depths="[3]", archs="[plain]")
    )
    result = CliRunner().invoke(app, ["run", str(sweep), "--out", str(tmp_path)])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert "model.family: cannot import no_such_nets (ModuleNotFoundError" in line


@pytest.mark.parametrize(
    ("attr", "says"),
    [
        ("raises", "RuntimeError: the user's builder broke"),
        ("not_a_module", ":not_a_module returned a list, not a torch.nn.Module"),
    ],
)
def test_a_builder_that_fails_fails_its_runs_not_the_sweep(
    own, tmp_path: Path, attr: str, says: str
) -> None:
    # The user's builder raises or returns a list; the built-in family next to it still trains.
    sweep = own(attr, options="{}", depths="[4]", archs="[plain]")
    text = sweep.read_text().replace(f'family: "{own.module}:{attr}"', "family: mlp")
    sweep.write_text(text + f'zip:\n  - {{model.family: [mlp, "{own.module}:{attr}"]}}\n')
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(sweep), "--out", str(out), "--executor", "inline"])
    assert result.exit_code == 1, result.output  # some run failed; the sweep went on
    records = [json.loads(p.read_text()) for p in (out / "own-model" / "runs").glob("*.json")]
    status = {r["spec"]["model"]["family"]: r for r in records}
    assert status["mlp"]["status"] == "ok"
    failed = status[f"{own.module}:{attr}"]
    assert failed["status"] == "failed" and says in failed["error"]
    assert "Traceback" in failed["traceback"]


def _install(site: Path, dist: str, version: str, module: str, entry_points: str) -> None:
    """An installed package as importlib.metadata sees one: a dist-info folder beside it."""
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "top_level.txt").write_text(module + "\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))


def test_installed_plugins_are_named_listed_and_versioned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tag = uuid.uuid4().hex[:8]
    module, dist = f"labnets_{tag}", f"labnets-{tag}"
    site = tmp_path / "site"
    (site / module).mkdir(parents=True)
    (site / module / "__init__.py").write_text(textwrap.dedent(MODULE) + "\n" + DATA)
    _install(
        site,
        dist,
        "1.2.3",
        module,
        f"""
        [resbench.families]
        lab-{tag} = {module}:build

        [resbench.datasets]
        bumps-{tag} = {module}:bumps
        """,
    )
    monkeypatch.syspath_prepend(str(site))
    plugins.forget_installed()
    try:
        sweep = tmp_path / "s.yaml"
        sweep.write_text(
            f"name: lab\ndataset: {{name: bumps-{tag}}}\n"
            f"model: {{family: lab-{tag}}}\ntrain: {{epochs: 1, batch_size: 16, device: cpu}}\n"
            "grid: {depth: [3], arch: [wide], seed: [0]}\n"
        )
        (spec,) = expand(load_sweep(sweep))
        assert spec.model.version == spec.dataset.version == f"{dist} 1.2.3"
        result = train_run(spec)
        assert result.status == "ok", result.error

        listed = CliRunner().invoke(app, ["models"])
        assert listed.exit_code == 0 and f"lab-{tag}" in listed.output
        sized = CliRunner().invoke(
            app, ["models", f"lab-{tag}", "--depths", "3", "--format", "csv"]
        )
        assert sized.exit_code == 0, sized.output
        assert sized.output.splitlines()[1].startswith("3,narrow,")

        defs = json.loads(schema_json())["$defs"]
        assert f"lab-{tag}" in defs["ModelSection"]["properties"]["family"]["anyOf"][0]["enum"]
        assert f"bumps-{tag}" in defs["PluginOptions"]["properties"]["name"]["examples"]
    finally:
        plugins.forget_installed()


DATA = """
def bumps(n=64, length=40):
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 2, (n,), generator=g)
    x = 0.1 * torch.randn(n, 1, length, generator=g)
    x[:, 0, : length // 2] += y.float().unsqueeze(1)
    return x[:48], y[:48], x[48:], y[48:]
"""


def test_options_are_refused_for_a_built_in_family() -> None:
    from conftest import TINY_SWEEP

    from resbench.sweep.load import parse_sweep

    with pytest.raises(SweepError, match=r"model\.options: conv1d takes no options"):
        parse_sweep(TINY_SWEEP, "tiny", {"model.options": {"growth": 4}})


def test_a_swept_family_is_identified_by_its_own_code(own, tmp_path: Path) -> None:
    other = f"othernets_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{other}.py").write_text(textwrap.dedent(MODULE) + "\n# other code\n")
    sweep = own(options="{}", archs="[narrow]")
    families = f'["{own.module}:build", "{other}:build"]'
    sweep.write_text(sweep.read_text() + f"zip:\n  - {{model.family: {families}}}\n")
    first, second = expand(load_sweep(sweep))
    assert first.model.version == plugins.identity(f"{own.module}:build")
    assert second.model.version == plugins.identity(f"{other}:build")
    assert first.model.version != second.model.version
