"""How ``validate``, ``demo`` and ``golive`` end: what they print last and their exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from typer.testing import CliRunner

from reach_dq import demo, pipeline
from reach_dq.cli import _finish, _finish_golive, app
from reach_dq.findings import Category, Finding, Outcome
from reach_dq.pipeline import Publication


def publication(*findings: Finding) -> Publication:
    return Publication("snap-1", list(findings), Path("data/docs/index.html"), None)


# Each lifecycle row but isolation has a passed finding. A go-live run with one token has no
# isolation finding, so that row is "not evaluated".
WITHOUT_ISOLATION = [
    Finding(f"{category}.x", category, "company", Outcome.PASSED, "ok", "C001")
    for category in (Category.SECURITY, Category.FORMATTING, Category.ACCURACY,
                     Category.FRESHNESS, Category.RELIABILITY)
]


def exit_code(finish, *arguments, **options) -> int:  # noqa: ANN001
    with pytest.raises(typer.Exit) as ended:
        finish(*arguments, **options)
    return ended.value.exit_code


def test_golive_unevaluated_row_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_code(_finish_golive, publication(*WITHOUT_ISOLATION)) == 1
    printed = capsys.readouterr().out
    assert "verdict: not ready for go-live" in printed
    assert "go-live:   data/docs/golive.html" in printed


def test_demo_scorecard_exits_by_failures(capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_code(_finish, publication(*WITHOUT_ISOLATION), scorecard=True) == 0
    printed = capsys.readouterr().out
    assert "go-live scorecard:" in printed
    assert "go-live:   data/docs/golive.html" in printed


def test_validate_prints_no_scorecard(capsys: pytest.CaptureFixture[str]) -> None:
    failed = Finding("accuracy.x", Category.ACCURACY, "balance_sheet", Outcome.FAILED, "off", "C001")
    assert exit_code(_finish, publication(failed)) == 1
    printed = capsys.readouterr().out
    assert "go-live" not in printed
    assert "data docs: data/docs/index.html" in printed


def test_golive_and_demo_exit_codes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # golive exits by the scorecard (a row not evaluated is not ready), demo by failed checks.
    monkeypatch.setattr(pipeline, "run_golive", lambda options: publication(*WITHOUT_ISOLATION))
    monkeypatch.setattr(demo, "run_demo", lambda **options: publication(*WITHOUT_ISOLATION))
    monkeypatch.setenv("GOLIVE_TOKEN", "t-1")
    runner = CliRunner()
    golive = runner.invoke(app, [
        "golive", "--base-url", "http://127.0.0.1:1", "--token-env", "GOLIVE_TOKEN",
        "--warehouse", str(tmp_path / "w.duckdb"), "--docs-dir", str(tmp_path / "docs"),
    ])
    demo_run = runner.invoke(app, ["demo", "--warehouse", str(tmp_path / "w.duckdb")])

    assert golive.exit_code == 1, golive.output
    assert demo_run.exit_code == 0, demo_run.output
    assert "verdict: not ready for go-live" in golive.output
    assert "verdict: not ready for go-live" in demo_run.output
