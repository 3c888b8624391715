"""Records that outlive a release: a format in every record, older ones migrated, newer ones
kept, unreadable ones set aside and redone; each said in one line before any run starts, and
nothing fails after the training."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from conftest import TINY_SWEEP
from typer.testing import CliRunner

import resbench
from resbench.cli import app
from resbench.core.strict import STORED
from resbench.executors.events import RunStarted, SweepStarted
from resbench.results import Results
from resbench.store.record_format import read_record
from resbench.sweep.schema import RunSpec
from resbench.train.provenance import code_identity
from resbench.train.run_result import RECORD_FORMAT

INLINE = {"name": "inline"}
cli = CliRunner()


def made(tmp_path: Path, sweep: str = TINY_SWEEP) -> Results:
    path = tmp_path / "tiny.yaml"
    path.write_text(sweep)
    return resbench.run(path, out=tmp_path / "res", executor=INLINE, progress=False)


def edit(path: Path, change) -> None:
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


def rerun(tmp_path: Path) -> tuple[SweepStarted, list[object], Results]:
    events: list[object] = []
    results = resbench.run(
        tmp_path / "tiny.yaml", out=tmp_path / "res", executor=INLINE, on_event=events.append
    )
    (start,) = [e for e in events if isinstance(e, SweepStarted)]
    return start, events, results


def test_a_record_names_its_format_and_the_code_that_made_it(tmp_path: Path) -> None:
    results = made(tmp_path)
    record = json.loads(next(results.runs_dir.glob("*.json")).read_text())
    assert record["format"] == RECORD_FORMAT
    assert record["env"]["code"] == code_identity() and record["env"]["resbench"]
    assert (results.runs["code"] == code_identity()).all()


def test_the_code_identity_changes_with_the_training_code(tmp_path: Path, monkeypatch) -> None:
    import resbench.train.provenance as provenance

    root = tmp_path / "pkg"
    for name in ("train/run.py", "models/nets.py"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x = 1\n")
    monkeypatch.setattr(provenance, "__file__", str(root / "train" / "provenance.py"))
    provenance.code_identity.cache_clear()
    try:
        before = provenance.code_identity()
        (root / "models/nets.py").write_text("x = 2\n")
        provenance.code_identity.cache_clear()
        assert provenance.code_identity() != before
    finally:
        monkeypatch.undo()
        provenance.code_identity.cache_clear()


def test_an_older_record_is_migrated_not_rerun(tmp_path: Path) -> None:
    results = made(tmp_path)
    old = next(results.runs_dir.glob("*.json"))

    def as_format_1(record: dict) -> None:
        del record["format"], record["env"]["code"]

    edit(old, as_format_1)
    start, events, again = rerun(tmp_path)
    assert start.todo == 0 and not any(isinstance(e, RunStarted) for e in events)
    assert any("1 record of an older format (1) migrated" in n for n in start.notes), start.notes
    assert len(again.runs) == 8
    row = again.runs[again.runs["run_id"] == old.stem]
    assert row["code"].isna().all()
    # One table of two codes: the report says so.
    report = cli.invoke(app, ["report", str(again.path)])
    assert report.exit_code == 0, report.output
    assert "2 code versions" in report.output and "unrecorded (1 runs)" in report.output


def test_a_record_with_fields_this_release_does_not_know_is_read_without_them(
    tmp_path: Path,
) -> None:
    """The issue's case: a two-run sweep, a field added to a record as a later release would
    write it, the sweep grown to four runs. The two new runs train and the tables hold all."""
    two = TINY_SWEEP.replace("seed: [0, 1]", "seed: [0]").replace("arch: [plain, residual]",
                                                                    "arch: [plain]")  # fmt: skip
    results = made(tmp_path, two)
    assert len(results.runs) == 2
    first = next(results.runs_dir.glob("*.json"))
    edit(first, lambda record: record.update(energy_joules=12.5))
    (tmp_path / "tiny.yaml").write_text(two.replace("seed: [0]", "seed: [0, 1]"))
    out = cli.invoke(app, ["run", str(tmp_path / "tiny.yaml"), "--out", str(tmp_path / "res"),
                           "--executor", "inline"])  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "4 runs, 2 recorded, 2 to run" in out.output
    assert "does not know (energy_joules): read without them" in out.output
    assert len(pd.read_csv(tmp_path / "res" / "tiny" / "runs.csv")) == 4
    assert "energy_joules" in first.read_text()  # the file itself is left as it was


def test_a_newer_record_is_kept_not_rerun_and_said_before_any_run(tmp_path: Path) -> None:
    results = made(tmp_path)
    newer = next(results.runs_dir.glob("*.json"))
    edit(newer, lambda record: record.update(format=RECORD_FORMAT + 1, heat=3))
    content = newer.read_bytes()
    unread = sorted(results.runs_dir.glob("*.json"))[1]
    unread.write_text("{ half a rec")
    start, events, again = rerun(tmp_path)
    assert start.todo == 1  # the unreadable one only
    assert events.index(start) < min(i for i, e in enumerate(events) if isinstance(e, RunStarted))
    notes = " | ".join(start.notes)
    assert "1 record of a newer format" in notes and "not rerun" in notes
    assert "1 record that cannot be used" in notes and ".unread" in notes
    assert newer.read_bytes() == content  # neither redone nor overwritten
    assert (results.runs_dir / ".unread" / unread.name).read_text() == "{ half a rec"
    assert read_record(unread).result is not None  # redone
    assert len(again.runs) == 7 and newer.stem not in set(again.runs["run_id"])
    # report and check say what the tables lack, one line each.
    for command in (["report"], ["check", "--baseline", str(again.path)]):
        out = cli.invoke(app, [*command, str(again.path)])
        lines = [x for x in out.output.splitlines() if "newer format" in x]
        assert len(lines) == 1, out.output


def test_a_record_of_a_user_family_that_no_longer_imports_still_reads(tmp_path: Path) -> None:
    results = made(tmp_path)
    source = next(results.runs_dir.glob("*.json"))
    record = json.loads(source.read_text())
    record["spec"]["model"] |= {"family": "gone_module:build", "version": "source:abc", "arch":
                                "dense"}  # fmt: skip
    # and of a user dataset whose package is gone (an entry point's name, no module:callable)
    record["spec"]["dataset"] = {"name": "gone_datasets", "options": {"n": 3}, "version": "1.0"}
    run_id = RunSpec.model_validate(record["spec"], context=STORED).run_id  # its own name
    record["run_id"] = run_id
    (results.runs_dir / f"{run_id}.json").write_text(json.dumps(record))
    read = read_record(results.runs_dir / f"{run_id}.json")
    assert read.result is not None, read.why
    assert read.result.spec.model.family == "gone_module:build"
    assert read.result.spec.dataset.name == "gone_datasets"
    from resbench.models import registry

    assert "gone_module:build" not in registry.family_names()  # nothing was imported
    assert len(Results(results.path).records()) == 9
    # Not a run of the sweep: running it again reads nothing of it and trains nothing.
    start, _, again = rerun(tmp_path)
    assert start.todo == 0 and not start.notes and len(again.runs) == 8


def test_report_says_when_the_tables_miss_records_written_since(tmp_path: Path) -> None:
    results = made(tmp_path)
    later = next(results.runs_dir.glob("*.json"))
    copy = results.runs_dir / "0123456789ab.json"
    copy.write_text(later.read_text().replace(later.stem, copy.stem))
    out = cli.invoke(app, ["report", str(results.path)])
    assert "1 record written after the tables were made" in out.output
    # File times say nothing: a clone gives every file a new one.
    copy.unlink()
    import os

    for path in results.runs_dir.glob("*.json"):
        os.utime(path, (results.runs_csv.stat().st_mtime + 10,) * 2)
    out = cli.invoke(app, ["report", str(results.path)])
    assert "written after" not in out.output
