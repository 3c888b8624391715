"""A place that cannot be written, met by every command that writes: a read-only results folder,
a full disk, a parent that is a file. Each ends in one line naming what could not be written and
where, exit code 3 (not check's 1, "a claim failed"), and changes nothing.

Read-only is real: a read-only bind mount as root (root writes through file modes), the modes
otherwise; a full disk is a small tmpfs filled to its last byte (root only)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TINY_SWEEP, checkout_env

import resbench

CLAIM = "expect:\n  - {claim: holds, arch: residual, tolerance: 0.5}\n"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("trained")
    (root / "tiny.yaml").write_text(TINY_SWEEP + CLAIM)
    resbench.run(root / "tiny.yaml", out=root / "res", executor={"name": "inline"}, progress=False)
    return root


@pytest.fixture
def copy(trained: Path, tmp_path: Path) -> Path:
    shutil.copytree(trained, tmp_path / "copy")
    return tmp_path / "copy"


def mount(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["mount", *args], capture_output=True, text=True)


@pytest.fixture
def read_only(copy: Path) -> Iterator[Path]:
    """The copy's results root (res/), read-only."""
    root = copy / "res"
    if os.geteuid() != 0:
        paths = [root, *root.rglob("*")]
        for path in paths:
            path.chmod(path.stat().st_mode & ~0o222)
        yield root
        for path in paths:
            path.chmod(path.stat().st_mode | 0o200)
        return
    made = mount("--bind", str(root), str(root))
    if made.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {made.stderr.strip()}")
    try:
        remount = mount("-o", "remount,ro,bind", str(root))
        if remount.returncode != 0:
            pytest.skip(f"cannot make a bind mount read-only here: {remount.stderr.strip()}")
        yield root
    finally:
        subprocess.run(["umount", "-l", str(root)], check=False)


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs, every byte of it taken."""
    disk = tmp_path / "disk"
    disk.mkdir()
    made = mount("-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk))
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {made.stderr.strip()}")
    try:
        fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            with pytest.raises(OSError, match="No space left"):
                while True:
                    os.write(fd, b"\0" * 4096)
        finally:
            os.close(fd)
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def resbench_cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "resbench", *map(str, args)],
        env=checkout_env(),
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def contents(root: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(root)): p.read_bytes() if p.is_file() else None for p in root.rglob("*")
    }


def one_line(result: subprocess.CompletedProcess, where: Path) -> str:
    """The one line of a refusal to write: exit code 3, naming a place under `where`."""
    output = result.stdout + result.stderr
    assert result.returncode == 3, output
    assert "Traceback" not in output, output
    (line,) = [x for x in result.stderr.splitlines() if x.strip()]
    assert line.startswith(f"error: {where}") and "cannot write there" in line, line
    return line


COMMANDS = {
    "run": lambda c: ["run", c / "tiny.yaml", "--out", c / "res", "--executor", "inline"],
    "run --force": lambda c: ["run", c / "tiny.yaml", "--out", c / "res", "--force"],
    "report --format html": lambda c: ["report", c / "res" / "tiny", "--format", "html"],
    "check --html": lambda c: ["check", c / "res" / "tiny", "--html", c / "res" / "check.html"],
    "plot": lambda c: ["plot", c / "res" / "tiny"],
    "plot --curves": lambda c: ["plot", c / "res" / "tiny", "--curves", c / "res" / "c.png"],
    "export --tensorboard": lambda c: [
        "export",
        c / "res" / "tiny",
        "--tensorboard",
        c / "res" / "tb",
    ],
    "schema -o": lambda c: ["schema", "-o", c / "res" / "sweep.schema.json"],
}


@pytest.mark.parametrize("command", COMMANDS)
def test_a_read_only_results_folder_is_one_line_and_exit_3(
    read_only: Path, copy: Path, command: str
) -> None:
    before = contents(read_only)
    result = resbench_cli(*COMMANDS[command](copy))
    line = one_line(result, read_only)
    assert "ead-only file system" in line or "ermission denied" in line, line
    assert contents(read_only) == before


def test_init_in_a_read_only_folder_is_one_line_and_exit_3(read_only: Path) -> None:
    result = resbench_cli("init", "depth", cwd=read_only)
    assert result.returncode == 3 and "depth.yaml: cannot write there" in result.stderr


def test_what_only_reads_a_read_only_folder_works(read_only: Path) -> None:
    for args in (["report"], ["check"], ["report", "--format", "json"]):
        result = resbench_cli(*args, read_only / "tiny")
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("command", ["report --format html", "plot", "export --tensorboard"])
def test_a_full_disk_is_one_line_and_exit_3(full_disk: Path, copy: Path, command: str) -> None:
    target = {
        "report --format html": ["report", copy / "res" / "tiny", "-f", "html", "-o",
                                 full_disk / "page.html"],
        "plot": ["plot", copy / "res" / "tiny", "-o", full_disk / "depth.png"],
        "export --tensorboard": ["export", copy / "res" / "tiny", "--tensorboard",
                                 full_disk / "tb"],
    }[command]  # fmt: skip
    line = one_line(resbench_cli(*target), full_disk)
    assert "No space left on device" in line, line
    assert sorted(p.name for p in full_disk.iterdir()) in (["filler"], ["filler", "tb"])


def test_a_run_onto_a_full_disk_is_one_line_and_exit_3(full_disk: Path, copy: Path) -> None:
    result = resbench_cli("run", copy / "tiny.yaml", "--out", full_disk, "--executor", "inline")
    line = one_line(result, full_disk)
    assert "No space left on device" in line, line


def test_a_parent_that_is_a_file_is_one_line_and_exit_3(copy: Path) -> None:
    blocker = copy / "not-a-folder"
    blocker.write_text("a file where a folder would be\n")
    for args in (
        ["report", copy / "res" / "tiny", "-f", "html", "-o", blocker / "page.html"],
        ["plot", copy / "res" / "tiny", "-o", blocker / "depth.png"],
        ["run", copy / "tiny.yaml", "--out", blocker, "--executor", "inline"],
        ["export", copy / "res" / "tiny", "--tensorboard", blocker / "tb"],
    ):
        one_line(resbench_cli(*args), blocker)
    assert blocker.read_text() == "a file where a folder would be\n"


def test_a_file_where_the_records_go_is_one_line_before_any_run(copy: Path) -> None:
    runs = copy / "res" / "tiny" / "runs"
    shutil.rmtree(runs)
    runs.write_text("not a folder\n")
    result = resbench_cli("run", copy / "tiny.yaml", "--out", copy / "res", "--executor", "inline")
    line = one_line(result, runs)
    assert "start" not in result.stdout + result.stderr  # no run started, none lost
    assert runs.read_text() == "not a folder\n", line


def test_a_dataset_cache_that_cannot_be_written_fails_no_run(copy: Path) -> None:
    sweep = copy / "m.yaml"
    sweep.write_text(
        TINY_SWEEP.replace("{name: synthetic, shape: [1, 16], classes: 4, n_train: 64, n_test: 32}",
                           "{name: mnist1d, num_samples: 200}")
        .replace("name: tiny", "name: m").replace("depth: [8, 14]", "depth: [8]")
    )  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "resbench", "run", sweep, "--out", copy / "res", "--executor",
         "inline", "-s", "grid.seed=[0]", "-s", "grid.arch=[plain]"],
        env=checkout_env(RESBENCH_CACHE="/proc/no-such-cache"),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr  # made in memory instead
    assert "ok plain-8 seed 0" in result.stderr


def test_standard_output_that_cannot_be_written_is_one_line_and_exit_3(copy: Path) -> None:
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "resbench", "report", copy / "res" / "tiny", "-f", "csv"],
            env=checkout_env(), stdout=full, stderr=subprocess.PIPE, text=True, timeout=300,
        )  # fmt: skip
    assert result.returncode == 3, result.stderr
    assert result.stderr.strip() == (
        "error: standard output: cannot write there (No space left on device)"
    )


def test_init_refuses_a_name_that_is_no_sweeps_in_one_line(tmp_path: Path) -> None:
    result = resbench_cli("init", "[/bogus]", cwd=tmp_path)
    assert result.returncode == 2 and "not a sweep's name" in result.stderr
    assert list(tmp_path.iterdir()) == []
