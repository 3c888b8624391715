"""Records are the truth, and only records: a record must be the run its name says and hold
numbers a run can record, the --force ledger cannot be fooled by its file, and the tables are
derived, made afresh from the records where they are no longer what the records make. Each case
is a damaged folder, as a user or a copy may leave one: what `run`, `report` and `check` make of
it."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import TINY_SWEEP
from typer.testing import CliRunner

import resbench
from resbench.cli import app
from resbench.executors.events import RunStarted, SweepStarted
from resbench.results import Results
from resbench.train.run_result import RECORD_FORMAT

INLINE = {"name": "inline"}
cli = CliRunner()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny sweep, trained once: each test works on a copy."""
    root = tmp_path_factory.mktemp("trained")
    (root / "tiny.yaml").write_text(TINY_SWEEP)
    resbench.run(root / "tiny.yaml", out=root / "res", executor=INLINE, progress=False)
    return root


@pytest.fixture
def folder(trained: Path, tmp_path: Path) -> Results:
    shutil.copytree(trained, tmp_path, dirs_exist_ok=True)
    return Results(tmp_path / "res" / "tiny")


def rerun(results: Results, **options: object) -> tuple[SweepStarted, list[str], Results]:
    """The same sweep again: its start, the run ids it trained, and its results."""
    events: list[object] = []
    again = resbench.run(
        results.path.parent.parent / "tiny.yaml",
        out=results.path.parent,
        executor=INLINE,
        on_event=events.append,
        **options,
    )
    (start,) = [e for e in events if isinstance(e, SweepStarted)]
    return start, [e.spec.run_id for e in events if isinstance(e, RunStarted)], again


def records(results: Results) -> list[Path]:
    return sorted(results.runs_dir.glob("*.json"))


def edit(path: Path, change) -> None:
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


# --------------------------------------------------------------------------- a record's name


def test_a_record_copied_under_another_runs_name_is_set_aside_and_that_run_made(
    folder: Results,
) -> None:
    a, b = records(folder)[:2]
    b_before = b.read_bytes()
    shutil.copy(a, b)
    start, trained, again = rerun(folder)
    assert trained == [b.stem]  # run B is made, and nothing else
    assert any("1 record that cannot be used" in n and "not its file's name" in n
               for n in start.notes), start.notes  # fmt: skip
    assert (folder.unread_dir / b.name).read_bytes() == a.read_bytes()  # nothing lost
    assert json.loads(b.read_text())["run_id"] == b.stem and b.read_bytes() != b_before
    assert sorted(again.runs["run_id"]) == sorted(p.stem for p in records(folder))
    assert again.runs["run_id"].is_unique and len(again.runs) == 8


def test_a_record_given_another_runs_id_and_name_is_not_believed(folder: Results) -> None:
    a, b = records(folder)[:2]
    record = json.loads(a.read_text())
    record["run_id"] = b.stem  # the name matches; the spec is still A's
    b.write_text(json.dumps(record))
    start, trained, _ = rerun(folder)
    assert trained == [b.stem]
    assert any(f"its spec is run {a.stem}'s, not {b.stem}'s" in n for n in start.notes)


# --------------------------------------------------------------------------- a record's numbers


@pytest.mark.parametrize(
    ("field", "text", "why"),
    [
        ("train_error", "NaN", "train_error nan is not a number a run can record"),
        ("train_error", "Infinity", "train_error inf is not a number a run can record"),
        ("train_loss", "1e400", "train_loss inf is not a number a run can record"),
        ("train_error", "1.5", "train_error 1.5 is not a number a run can record"),
        ("steps", "-3", "steps -3 is not a number a run can record"),
        ("seconds", "1" + "0" * 300, "seconds 1e+300 is not a number a run can record"),
        ("params", "1" + "0" * 20, "params 100000000000000000000 is not a number a run can"),
        ("train_error", "null", "status ok without a train_error"),
    ],
)
def test_an_ok_record_with_a_number_no_run_records_is_set_aside_and_redone(
    folder: Results, field: str, text: str, why: str
) -> None:
    damaged = records(folder)[0]
    record = damaged.read_text()
    old = json.loads(record)[field]
    # As an editor or a bit flip leaves it: the bytes of the number replaced in place.
    damaged.write_text(record.replace(f'"{field}": {json.dumps(old)}', f'"{field}": {text}', 1))
    assert damaged.read_text() != record
    start, trained, again = rerun(folder)
    assert trained == [damaged.stem]
    assert any(why in n for n in start.notes), start.notes
    assert (folder.unread_dir / damaged.name).is_file()
    # Nothing impossible reaches the tables, nor the report of them.
    report = cli.invoke(app, ["report", str(again.path)])
    assert report.exit_code == 0, report.output
    assert "8 ok" in report.output and " inf " not in report.output, report.output
    assert not again.runs[["train_error", "train_loss", "seconds"]].isin([float("inf")]).any().any()


def test_a_record_set_aside_twice_keeps_both_files(folder: Results) -> None:
    damaged = records(folder)[0]
    damaged.write_text("{ torn")
    rerun(folder)
    damaged.write_text("{ torn again")
    rerun(folder)
    kept = sorted(p.read_text() for p in folder.unread_dir.iterdir())
    assert kept == ["{ torn", "{ torn again"]


# --------------------------------------------------------------------------- --force


def test_force_neither_reruns_nor_overwrites_a_record_of_a_newer_format(folder: Results) -> None:
    newer = records(folder)[0]
    edit(newer, lambda r: r.update(format=RECORD_FORMAT + 1, heat=3))
    content = newer.read_bytes()
    start, trained, _ = rerun(folder, force=True)
    assert newer.read_bytes() == content
    assert newer.stem not in trained and len(trained) == 7
    assert any("1 record of a newer format" in n for n in start.notes)


# --------------------------------------------------------------------------- the --force ledger


def test_a_ledger_of_bytes_that_are_not_text_is_one_line_and_forces_nothing(
    folder: Results,
) -> None:
    folder.force_path.write_bytes(b"\xff\xfe\x00garbage\x80")
    start, trained, _ = rerun(folder)
    assert trained == []
    assert any(".force: not a --force ledger (not text): ignored" in n for n in start.notes)


def test_a_folder_in_the_ledgers_place_is_read_as_none_and_force_says_it_cannot_write(
    folder: Results,
) -> None:
    folder.force_path.mkdir()
    start, trained, _ = rerun(folder)
    assert trained == [] and any("not a --force ledger" in n for n in start.notes)
    out = cli.invoke(app, ["run", str(folder.path.parent.parent / "tiny.yaml"), "--out",
                           str(folder.path.parent), "--executor", "inline", "--force"])  # fmt: skip
    assert out.exit_code == 3, out.output
    assert "Traceback" not in out.output and ".force: cannot write there" in out.output


def test_a_ledger_from_the_future_is_ignored_not_obeyed_forever(folder: Results) -> None:
    forced = records(folder)[0].stem
    folder.force_path.write_text(f"{forced}\nffffffffffff\n")
    future = time.time() + 10 * 24 * 3600
    os.utime(folder.force_path, (future, future))
    start, trained, _ = rerun(folder)
    assert trained == []  # no record can be newer: it cannot say which were redone
    assert any("whose time is in the future: ignored" in n for n in start.notes), start.notes
    assert not folder.force_path.exists()  # and it is gone: the next call says nothing
    start, trained, _ = rerun(folder)
    assert trained == [] and not start.notes


def test_a_ledgers_unknown_ids_and_lines_end_with_the_runs_it_names(folder: Results) -> None:
    forced = records(folder)[0].stem
    folder.force_path.write_text(f"{forced}\nffffffffffff\nnot-a-run-id\n")
    past = time.time() + 5
    for path in records(folder):
        os.utime(path, (past - 100, past - 100))
    os.utime(folder.force_path, (past - 50, past - 50))
    start, trained, _ = rerun(folder)
    assert trained == [forced]  # redone once, as it asks; the unknown id is no run of the sweep
    assert any("1 line(s) that are not run ids: ignored" in n for n in start.notes)
    assert not folder.force_path.exists()
    _, trained, _ = rerun(folder)
    assert trained == []


# --------------------------------------------------------------------------- the tables


def cut_mid_row(csv: Path) -> None:
    text = csv.read_text()
    last = text.rstrip("\n").rfind("\n")
    csv.write_text(text[: last + (len(text) - last) // 3])


def test_a_torn_runs_csv_is_made_afresh_from_the_records(folder: Results) -> None:
    cut_mid_row(folder.runs_csv)
    fresh = Results(folder.path)
    assert len(fresh.runs) == 8 and set(fresh.runs["status"]) == {"ok"}
    (note,) = [n for n in fresh.table_notes() if "made afresh" in n]
    assert "runs.csv is not the file written" in note
    report = cli.invoke(app, ["report", str(folder.path)])
    assert report.exit_code == 0, report.output
    assert "other" not in report.output and "8 ok" in report.output
    assert "made afresh from the records" in report.output
    page = cli.invoke(app, ["report", str(folder.path), "--format", "html"])
    assert page.exit_code == 0, page.output


def test_tables_older_than_their_records_are_made_afresh(folder: Results) -> None:
    changed = records(folder)[0]
    edit(changed, lambda r: r.update(train_error=0.123456))  # a rerun stopped before the tables
    fresh = Results(folder.path)
    row = fresh.runs[fresh.runs["run_id"] == changed.stem]
    assert row["train_error"].item() == 0.123456
    assert any(f"the record of {changed.stem} changed since" in n for n in fresh.table_notes())
    assert len(fresh.curves) == len(Results(folder.path).curves)


def test_tables_shared_without_their_records_are_read_as_they_are(folder: Results) -> None:
    shutil.rmtree(folder.runs_dir)
    fresh = Results(folder.path)
    assert len(fresh.runs) == 8 and not any("afresh" in n for n in fresh.table_notes())


def test_a_torn_runs_csv_without_records_to_make_it_from_is_one_line(folder: Results) -> None:
    shutil.rmtree(folder.runs_dir)
    (folder.path / "tables.json").unlink()
    cut_mid_row(folder.runs_csv)
    for command in (["report"], ["check"], ["plot"], ["report", "--format", "html"]):
        out = cli.invoke(app, [*command, str(folder.path)])
        assert out.exit_code == 2, (command, out.output)
        (line,) = out.output.strip().splitlines()
        assert "runs.csv: row 8 has" in line and "not read" in line, line


def test_a_runs_csv_with_a_number_no_run_records_is_not_read(folder: Results) -> None:
    shutil.rmtree(folder.runs_dir)
    runs = pd.read_csv(folder.runs_csv)
    runs.loc[0, "train_error"] = float("inf")
    runs.to_csv(folder.runs_csv, index=False)
    out = cli.invoke(app, ["report", str(folder.path)])
    assert out.exit_code == 2 and "row 1: train_error inf is not a number" in out.output
