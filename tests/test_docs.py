"""Every code block of the README and of docs/ is run or checked, by a rule for its kind, and a
block of no known kind fails; the docs build as a site of pages a reader can reach.

- `python`: runs (docs/api.md's in a Jupyter kernel, in order: tests/test_api_doc.py).
- `yaml`: a whole sweep loads and expands; the sections of one load in place of the quick
  preset's (against the JSON Schema where they name the reader's own `my_pkg`); a CI workflow's
  `run:` steps are checked as `sh`.
- `toml`: entry points in the groups resbench reads, naming callables that import.
- `sh`, `bash`: every command real: resbench's commands, options, sweeps, `-s` keys and results
  folders, checked by the Typer app and the sweep loader, the short ones (`sweeps`, `models`,
  `init`, `schema`, `run --dry-run`) run; scripts and the flags they read; pip's extras.
- `console`: each `$ command` checked as `sh`, then run and its output shown found in what it
  prints, except where it needs a Ray or SLURM cluster.
- `text`: a diagram or a folder's layout; every file or folder it names is real.
- `output`: what resbench prints; its fixed words are in resbench's code.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from docblocks import (
    OWN_SWEEP,
    ROOT,
    Block,
    Workspace,
    all_blocks,
    check_command,
    commands,
    pages,
    run_python,
    source_strings,
    tomllib,
)
from test_api_doc import doc_cells

from resbench.cli import app
from resbench.core import plugins
from resbench.core.key_values import parse_key_values
from resbench.sweep.load import (
    expand,
    load_sweep,
    parse_sweep,
    preset_names,
    preset_path,
    schema_json,
)

BLOCKS = all_blocks()


def bad_sweep() -> str:
    """The quick preset at a depth conv1d cannot build: the `bad.yaml` of docs/sweeps.md."""
    sweep = yaml.safe_load(preset_path("quick").read_text())
    sweep["grid"]["depth"] = [10]
    return yaml.safe_dump(sweep)


# Files the docs' commands name as the reader's own.
DOC_FILES = {"bad.yaml": bad_sweep()}
RUNS = {"sweeps", "models", "init", "schema"}  # commands short enough to run in a test
CLUSTER = re.compile(r"--executor[ =](ray|slurm)")


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.syspath_prepend(str(ROOT / "examples"))  # the docs' own package, depthlab
    return Workspace(tmp_path, DOC_FILES)


def sweep_names(ws: Workspace) -> set[str]:
    """The sweeps whose results a command may name: presets, examples, and files written."""
    names = set(preset_names()) | {p.stem for p in ws.cwd.glob("*.yaml")}
    for path in (ROOT / "examples").glob("*.yaml"):
        names.add(yaml.safe_load(path.read_text())["name"])
    return names


def parameter(command: Any, opt: str) -> Any:
    return next(p for p in command.params if opt in p.opts)


def check_resbench(args: list[str], ws: Workspace, load: bool = True) -> None:
    """`resbench ARGS` parses as the app's command and options; the sweep it runs loads with
    its `-s` overrides, the results folders it reads are real; the short ones run."""
    group = typer.main.get_command(app)
    assert args and args[0] in group.commands, f"resbench {args[:1]}: no such command"
    name, command = args[0], group.commands[args[0]]
    with ws.inside():
        ctx = command.make_context(name, list(args[1:]))  # raises on an unknown option
    for token in args[1:]:
        if re.match(r"results/[^/]", token):
            check_results_folder(token, ws)
    if name == "run" and load:
        (sweep,) = [p for p in command.params if p.param_type_name == "argument"]
        ref = ctx.params[sweep.name]
        overrides = parse_key_values(
            ctx.params[parameter(command, "-s").name] or [], "-s", "train.epochs=5"
        )
        with ws.inside():
            load_sweep("quick" if not ref or OWN_SWEEP.fullmatch(ref) else ref, overrides)
    if name in RUNS or (name == "run" and ctx.params[parameter(command, "--dry-run").name]):
        done = ws.run(args)
        assert done.returncode == 0, f"resbench {' '.join(args)}:\n{done.stdout}{done.stderr}"


def check_results_folder(token: str, ws: Workspace) -> None:
    """`results/reference/NAME/...` is committed; `results/NAME/...` is what running NAME makes."""
    parts = Path(token).parts
    if parts[1] == "reference":
        assert (ROOT / "results" / "reference" / parts[2]).is_dir(), f"{token}: no such reference"
    else:
        assert parts[1] in sweep_names(ws), f"{token}: no sweep is named {parts[1]}"


def check_shell(script: str, ws: Workspace) -> None:
    argvs = commands(script)
    assert argvs, "no command"
    for argv in argvs:
        check_command(argv, ws, check_resbench)


def rule_python(block: Block, ws: Workspace) -> None:
    if block.page == "docs/api.md":
        assert block.body in doc_cells()  # run there, in order, in a kernel
        return
    with ws.inside():
        run_python(block.body, str(block))


def rule_yaml(block: Block, ws: Workspace) -> None:
    data = yaml.safe_load(block.body)
    assert isinstance(data, dict), "a yaml block is a mapping"
    if "jobs" in data:  # a CI workflow
        steps = [s for job in data["jobs"].values() for s in job["steps"] if "run" in s]
        assert steps, "a workflow that runs nothing"
        for step in steps:
            check_shell(step["run"], ws)
        return
    whole = "name" in data and "grid" in data
    raw = data if whole else {**yaml.safe_load(preset_path("quick").read_text()), **data}
    if "my_pkg." in block.body:  # the reader's own code, which no test can import
        import jsonschema

        jsonschema.validate(raw, yaml.safe_load(schema_json()))
    else:
        assert expand(parse_sweep(yaml.safe_dump(raw), str(block)))


def rule_toml(block: Block, ws: Workspace) -> None:
    points = tomllib.loads(block.body)["project"]["entry-points"]
    assert points and set(points) <= {plugins.FAMILIES, plugins.DATASETS}, set(points)
    for group in points.values():
        for target in group.values():
            module, _, name = target.partition(":")
            assert callable(getattr(__import__(module, fromlist=[name]), name)), target


def rule_sh(block: Block, ws: Workspace) -> None:
    check_shell(block.body, ws)


def rule_console(block: Block, ws: Workspace) -> None:
    sessions = re.findall(r"^\$ (.*)\n((?:(?!\$ ).*\n)*)", block.body, flags=re.M)
    assert sessions, "a console block shows `$ command` lines"
    for line, shown in sessions:
        (argv,) = commands(line)
        assert argv[0] == "resbench", line
        check_resbench(argv[1:], ws, load=False)
        if CLUSTER.search(line):
            continue  # its output needs a cluster to show
        done = ws.run(argv[1:])
        printed = (done.stdout + done.stderr).splitlines()
        missing = [row for row in shown.splitlines() if row not in printed]
        assert not missing, f"{line} printed:\n" + "\n".join(printed)


PATHLIKE = re.compile(r"[\w.<>-]*(?:/[\w.<>-]*)+|[\w<>-]+\.(?:py|csv|json|yaml|ckpt|html|png)\b")


def rule_text(block: Block, ws: Workspace) -> None:
    named = PATHLIKE.findall(block.body)
    assert named, "a text block here is a diagram or a layout that names files"
    for token in named:
        parts = [p for p in token.split("/") if p and not re.fullmatch(r"<[^>]+>", p)]
        last = parts[-1]
        fixed = re.sub(r"<[^>]+>", "", last)
        assert (ROOT / "resbench" / last).is_dir() or fixed in source_strings(), token


def rule_output(block: Block, ws: Workspace) -> None:
    text = block.body
    while re.search(r"\([^()]*\)", text):
        text = re.sub(r" ?\([^()]*\)", "", text)  # what is filled in: values, places
    fragments = [f for f in re.split(r": |; |\n", text) if len(f.split()) >= 3]
    assert fragments, "an output block shows a message"
    for fragment in fragments:
        assert fragment in source_strings(), f"not in resbench's code: {fragment!r}"


RULES = {
    "python": rule_python,
    "yaml": rule_yaml,
    "toml": rule_toml,
    "sh": rule_sh,
    "bash": rule_sh,
    "console": rule_console,
    "text": rule_text,
    "output": rule_output,
}


@pytest.mark.parametrize("block", BLOCKS, ids=str)
def test_every_code_block_passes_the_rule_of_its_kind(block: Block, ws: Workspace) -> None:
    assert block.kind in RULES, f"{block}: a ```{block.kind} block, of no kind with a rule"
    RULES[block.kind](block, ws)


def test_the_sweep_reference_expands_to_the_runs_it_says() -> None:
    (reference,) = [b for b in BLOCKS if b.page == "docs/sweeps.md" and b.kind == "yaml"][:1]
    specs = expand(parse_sweep(reference.body, str(reference)))
    # zip (4 depth/lr pairs) x arch 2 x seed 3 x weight decay 2, minus 3 excluded, plus 1.
    assert len(specs) == 4 * 2 * 3 * 2 - 3 + 1


def test_an_unknown_option_or_preset_fails_the_sh_rule(ws: Workspace) -> None:
    for script, error in [
        ("resbench run quick --epochs 3", "No such option: --epochs"),
        ("resbench run quik", "quik: no such sweep file"),
        ("resbench plt", "no such command"),
        ("resbench run quick -s train.epoch=3", "train.epoch"),
        ("resbench report results/quik", "no sweep is named quik"),
        ("python benchmarks/gate.py --draw 3", "has no option --draw"),
    ]:
        with pytest.raises(Exception, match=error):
            check_shell(script, ws)


def nav_pages(nav: Any) -> list[str]:
    if isinstance(nav, str):
        return [nav]
    items = nav.values() if isinstance(nav, dict) else nav
    return [page for item in items for page in nav_pages(item)]


def test_every_page_is_in_the_sites_nav() -> None:
    loader = type("Loader", (yaml.SafeLoader,), {})
    loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda *_: None)
    site = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=loader)
    listed = nav_pages(site["nav"])
    docs = ROOT / site["docs_dir"]
    on_disk = sorted(str(p.relative_to(docs)) for p in docs.rglob("*.md"))
    assert sorted(listed) == on_disk


def test_the_readme_sections_the_site_includes_are_marked() -> None:
    for page in pages():
        for file, section in re.findall(r'--8<-- "([^":]+):([\w-]+)"', page.read_text()):
            text = (ROOT / file).read_text()
            assert f"--8<-- [start:{section}]" in text and f"--8<-- [end:{section}]" in text


def test_the_site_builds_with_strict_where_mkdocs_is_installed(tmp_path: Path) -> None:
    pytest.importorskip("material", reason='the docs extra: pip install -e ".[docs]"')
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "site" / "findings" / "remedies" / "index.html").is_file()
