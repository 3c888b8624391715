"""The fenced code blocks of the README and docs/, and the checks of what their commands name:
the helpers of tests/test_docs.py, which holds the rule for each kind of block."""

from __future__ import annotations

import ast
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from conftest import checkout_env

if sys.version_info >= (3, 11):
    import tomllib
else:  # the same reader, as a package before Python 3.11
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^( *)```(\S*)$")
# What a reader's clone has at its root, and a command in the docs may name.
CLONE = ("examples", "benchmarks", "tests", "sweeps", "results/reference")
# Programs other than resbench, python and pip that the docs' commands may call.
OTHER_PROGRAMS = {
    "apt-get", "cat", "cp", "eval", "exit", "git", "lint-imports", "mkdir", "mkdocs", "pytest",
    "ray", "ruff", "tensorboard", "test",
}  # fmt: skip
SEPARATORS = {"&&", "||", "|", ";", "&"}
REDIRECTS = {">", ">>", "<"}
# A sweep file of the reader's own, which no test can have: `my.yaml`, `my-sweep.yaml`.
OWN_SWEEP = re.compile(r"my[\w-]*\.yaml")


@dataclass(frozen=True)
class Block:
    """One fenced block: where it is, its info string, its text without the fence's indent."""

    page: str
    line: int
    kind: str
    body: str

    def __str__(self) -> str:
        return f"{self.page}:{self.line}"


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def blocks(path: Path) -> list[Block]:
    """Every fenced block of the Markdown file at `path`, in order."""
    found: list[Block] = []
    opened: tuple[int, int, str] | None = None
    body: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        fence = FENCE.match(line)
        if opened is None and fence:
            opened, body = (number, len(fence.group(1)), fence.group(2)), []
        elif opened is not None and fence and fence.group(2) == "":
            start, indent, kind = opened
            text = "".join(f"{row[indent:]}\n" for row in body)
            found.append(Block(str(path.relative_to(ROOT)), start, kind, text))
            opened = None
        elif opened is not None:
            body.append(line)
    assert opened is None, f"{path}:{opened[0]}: a fence that is never closed"
    return found


def all_blocks() -> list[Block]:
    return [block for page in pages() for block in blocks(page)]


def commands(script: str) -> list[list[str]]:
    """Each simple command of a shell script as its argv: continued lines joined, comments
    dropped, split at `&&`, `||`, `|` and `;`, redirections' targets left out."""
    found: list[list[str]] = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens, argv = iter(lexer), []
        for token in tokens:
            if token in SEPARATORS:
                found.append(argv)
                argv = []
            elif token in REDIRECTS:
                next(tokens, None)
            else:
                argv.append(token)
        found.append(argv)
    return [argv for argv in found if argv]


class Workspace:
    """Where a block's commands run, one after another: a fresh folder that sees what a clone's
    root holds (examples, benchmarks, reference results), so a file a command writes (`resbench
    init`) is there for the next one, and nothing is written into the checkout."""

    def __init__(self, folder: Path, files: dict[str, str]) -> None:
        for name in CLONE:
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).symlink_to(ROOT / name)
        for name, text in files.items():
            (folder / name).write_text(text)
        self.cwd = folder

    @contextmanager
    def inside(self) -> Iterator[None]:
        before = Path.cwd()
        os.chdir(self.cwd)
        try:
            yield
        finally:
            os.chdir(before)

    def run(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        """`resbench ARGS` here, as a reader would type it, with this checkout's resbench."""
        return subprocess.run(
            [sys.executable, "-m", "resbench", *args], cwd=self.cwd, env=checkout_env(),
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip


def check_command(argv: list[str], ws: Workspace, check_resbench: Any) -> None:
    """One command of the docs names a real program, script, extra or folder; `resbench`'s
    own are left to `check_resbench(args, ws)`."""
    while argv and re.match(r"[A-Za-z_]\w*=", argv[0]):  # VAR=value before the command
        argv = argv[1:]
    if not argv:
        return
    for token in argv:  # a command substitution is a command too
        for inner in re.findall(r"\$\(([^)]*)\)", token):
            for sub in commands(inner):
                check_command(sub, ws, check_resbench)
    program, args = argv[0], argv[1:]
    if program == "cd":
        ws.cwd = ws.cwd / args[0]
        assert ws.cwd.is_dir(), f"cd {args[0]}: no such folder in a clone"
    elif program == "resbench":
        check_resbench(args, ws)
    elif program in ("python", "python3") and args[:2] == ["-m", "resbench"]:
        check_resbench(args[2:], ws)
    elif program in ("python", "python3", "bash"):
        check_script(args, ws)
    elif program == "pip":
        check_pip(args)
    else:
        assert program in OTHER_PROGRAMS, f"{program}: not a program these docs are known to call"


def check_script(args: list[str], ws: Workspace) -> None:
    """A script of the repository, and every `--flag` given to it is one it reads."""
    script = ws.cwd / args[0]
    assert script.is_file(), f"{args[0]}: no such script in a clone"
    source = script.read_text(encoding="utf-8")
    for flag in (a.split("=")[0] for a in args[1:] if a.startswith("--")):
        assert re.search(re.escape(flag) + r"(?![\w-])", source), f"{args[0]} has no option {flag}"


@cache
def project() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def check_pip(args: list[str]) -> None:
    """`pip install` of resbench (with extras it has) or of one of its dependencies."""
    assert args[0] == "install", f"pip {args[0]}: only pip install is expected"
    extras = project()["optional-dependencies"]
    dependencies = {re.split(r"[<>=\[ ]", d)[0] for d in project()["dependencies"]}
    for arg in args[1:]:
        if arg.startswith("-") or arg == "." or "://" in arg:
            continue
        extra = re.fullmatch(r"(?:resbench|\.)\[([\w,]+)\]", arg)
        if extra:
            missing = set(extra.group(1).split(",")) - set(extras)
            assert not missing, f"pip install {arg}: resbench has no extra {missing}"
        else:
            assert arg in dependencies, f"pip install {arg}: not a dependency of resbench"


@cache
def source_strings() -> str:
    """Every string literal of resbench's code, one a line; an f-string's fields are NULs, so
    no fixed text is found across one."""
    found = []
    for path in (ROOT / "resbench").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.JoinedStr):
                parts = [v.value if isinstance(v, ast.Constant) else "\0" for v in node.values]
                found.append("".join(map(str, parts)))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.append(node.value)
    return "\n".join(found)


def run_python(code: str, name: str) -> Any:
    """Run `code` as a script would; the value of its last line when that is an expression."""
    tree = ast.parse(code, name)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    namespace: dict[str, Any] = {"__name__": "__doc__"}
    exec(compile(tree, name, "exec"), namespace)
    if last is None:
        return None
    return eval(compile(ast.Expression(last.value), name, "eval"), namespace)
