"""GitHub annotations, job summary and outputs (pure rendering and the files GitHub reads)."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from mops.errors import MopsError, RecordError
from mops.output import github as gh
from mops.policy.results import Result
from mops.trust.verify import Problem, Verification
from tests.ci.actions import workflow_commands


def result(rule: str = "ACME-4.3", status: str = "fail", *, model: str = "credit-pd",
           version: str = "1.0.0", weight: int = 0, message: str = "no validator sign-off",
           file: str = "models/credit-pd/versions/1.0.0/version.yaml", cite: str = "Acme §4.3",
           waiver: str | None = None, related: tuple[str, ...] = ()) -> Result:
    return Result(model=model, version=version, rule=rule, title=f"title of {rule}", status=status,
                  message=message, cite=cite, file=file, pack="acme", weight=weight, waiver=waiver,
                  related=related)


# The toolkit's own behaviour (actions/toolkit packages/core/src/command.ts), worked by hand.
@pytest.mark.parametrize(("raw", "data", "prop"), [
    ("100%", "100%25", "100%25"),
    ("a\r\nb", "a%0D%0Ab", "a%0D%0Ab"),
    ("key: value, more", "key: value, more", "key%3A value%2C more"),
    ("%0A is literal", "%250A is literal", "%250A is literal"),
    ("::error::x", "::error::x", "%3A%3Aerror%3A%3Ax"),
    ("", "", ""),
])
def test_escaping_matches_actions_core(raw: str, data: str, prop: str):
    assert gh.escape_data(raw) == data
    assert gh.escape_property(raw) == prop


def test_command_leaves_out_empty_properties():
    assert gh.command("error", "m", file="", title="T") == "::error title=T::m"
    assert gh.command("error", "m") == "::error::m"
    assert gh.command("error", "a\nb", file="x,y.md", title="R:1") == \
        "::error file=x%2Cy.md,title=R%3A1::a%0Ab"


def test_annotations_are_errors_for_failures_most_important_first():
    results = [
        result("LOW", weight=1, model="a-model"),
        result("PASSING", status="pass", weight=100),
        result("HIGH", weight=50, model="z-model", file="models/z-model/card.md",
               message="card lacks 'limitations'\nand 'owner'", cite="Acme MRM Standard §3.1, p. 4"),
        result("WAIVED", status="waived", weight=80, waiver="F-1a2b3c"),
        result("NA", status="n/a"),
    ]
    lines = gh.annotations(results)
    assert lines == [
        "::error file=models/z-model/card.md,title=HIGH::z-model@1.0.0: card lacks 'limitations'"
        "%0Aand 'owner' (Acme MRM Standard §3.1, p. 4)",
        "::error file=models/credit-pd/versions/1.0.0/version.yaml,title=LOW::a-model@1.0.0: "
        "no validator sign-off (Acme §4.3)",
        "::notice file=models/credit-pd/versions/1.0.0/version.yaml,title=WAIVED::credit-pd@1.0.0: "
        "waived by F-1a2b3c: title of WAIVED (Acme §4.3)",
    ]


def test_annotation_files_are_relative_to_the_repository():
    [line] = gh.annotations([result(file="models/m/card.md")], prefix="governance/inv")
    assert line.startswith("::error file=governance/inv/models/m/card.md,")


def test_markdown_cells_cannot_break_the_table():
    assert gh.markdown_cell("a | b\nc\r\nd") == "a \\| b<br>c<br>d"
    assert gh.markdown_cell("<script>&") == "&lt;script&gt;&amp;"
    assert gh.markdown_cell("back\\|slash") == "back\\\\\\|slash"
    assert gh.markdown_cell(None) == ""


def _table_rows(markdown: str) -> list[list[str]]:
    rows = []
    for line in markdown.splitlines():
        if line.startswith("| ") and not line.startswith("| ---") and "| Version |" not in line:
            # Split on pipes that are not escaped, as GitHub's table parser does.
            cells, cell, i = [], "", 1
            while i < len(line):
                if line[i] == "\\" and i + 1 < len(line):
                    cell += line[i:i + 2]
                    i += 2
                    continue
                if line[i] == "|":
                    cells.append(cell.strip())
                    cell = ""
                else:
                    cell += line[i]
                i += 1
            rows.append(cells)
    return rows


def test_summary_has_a_table_per_model_with_every_result():
    results = [
        result("R1", model="b-model", message="x | y\nz"),
        result("R2", status="pass", model="b-model", message=""),
        result("R3", status="pass", model="a-model", message="", cite="SR 26-2 §V"),
        result("R4", status="waived", model="a-model", waiver="F-9"),
    ]
    text = gh.summary(results, ok=False, scope="Models changed since abc123: 2 of 7.")
    assert text.startswith("## ❌ mops check failed\n")
    assert "Models changed since abc123: 2 of 7." in text
    assert "1 failing, 1 waived, 2 passing, 0 not applicable across 2 model versions." in text
    # The model with a failure comes first.
    assert text.index("### b-model") < text.index("### a-model")
    rows = _table_rows(text)
    assert len(rows) == 4
    assert all(len(r) == 5 for r in rows), rows
    assert rows[0] == ["1.0.0", "**R1** title of R1", "❌ fail", "x \\| y<br>z", "Acme §4.3"]
    assert rows[2][:3] == ["1.0.0", "**R4** title of R4", "⚠️ waived"]
    assert "exception F-9" in rows[2][3]


def test_summary_of_nothing_and_of_success():
    assert "No model versions to check." in gh.summary([], ok=True)
    assert gh.summary([result(status="pass")], ok=True).startswith("## ✅ mops check passed")


def test_summary_stays_within_githubs_limit():
    results = [result(f"R{i}", status="pass", model=f"m{i // 10:04d}", message="fine " * 20)
               for i in range(20_000)]
    results += [result("BAD", model=f"m{i:04d}", weight=5) for i in range(3)]
    text = gh.summary(results, ok=False)
    assert len(text.encode()) < gh.SUMMARY_BUDGET
    assert text.count("**BAD**") == 3
    assert "20000 passing or not-applicable results are left out" in text

    many = [result("BAD", model=f"m{i:05d}", message="broken " * 40) for i in range(10_000)]
    text = gh.summary(many, ok=False)
    assert len(text.encode()) < gh.SUMMARY_BUDGET
    assert "more models with failing or waived results did not fit" in text


def test_emit_writes_summary_and_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    summary, output = tmp_path / "summary.md", tmp_path / "output"
    output.write_text("earlier=1\n")
    env = {"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(output)}
    results = [result(f"R{i}", weight=i) for i in range(12)] + [result("OK", status="pass")]
    assert gh.emit(results, env=env) is False
    out = capsys.readouterr().out.splitlines()
    assert [line.split("title=")[1].split("::")[0] for line in out[:12]] == \
        [f"R{i}" for i in range(11, -1, -1)]
    assert out[12].startswith("mops check failed: 12 failing of 13 results; GitHub shows the first 10")
    assert output.read_text() == "earlier=1\nok=false\nfailed=12\n"
    assert summary.read_text().startswith("## ❌ mops check failed")

    assert gh.emit([result(status="pass")], env=env) is True
    assert output.read_text().endswith("ok=true\nfailed=0\n")


def test_emit_without_github_files_only_prints(capsys: pytest.CaptureFixture[str]):
    assert gh.emit([result(status="pass")], env={}) is True
    assert capsys.readouterr().out == "mops check passed: 0 failing of 1 results\n"


# ----------------------------------------------------------------------------- related files


def test_a_failure_is_also_annotated_on_its_related_files_that_changed():
    stale = result("SIGNOFF", message="V-1 by carol is stale: the model card changed",
                   related=("models/credit-pd/card.md", "models/credit-pd/versions/1.0.0/x.yaml"))
    changed = {"gov/models/credit-pd/card.md", "gov/README.md"}
    assert gh.annotations([stale], prefix="gov", changed=changed) == [
        "::error file=gov/models/credit-pd/versions/1.0.0/version.yaml,title=SIGNOFF::"
        "credit-pd@1.0.0: V-1 by carol is stale: the model card changed (Acme §4.3)",
        "::error file=gov/models/credit-pd/card.md,title=SIGNOFF::credit-pd@1.0.0: this change "
        "made a sign-off stale: V-1 by carol is stale: the model card changed (Acme §4.3)",
    ]


def test_related_files_need_a_change_a_failure_and_the_repository_path():
    """The twins: an unchanged related file, a waived result, a path without the prefix."""
    related = ("models/credit-pd/card.md",)
    assert len(gh.annotations([result(related=related)], prefix="gov",
                              changed={"models/credit-pd/card.md"})) == 1
    assert len(gh.annotations([result(related=related)], changed=set())) == 1
    assert len(gh.annotations([result(status="waived", waiver="F-1", related=related)],
                              changed={"models/credit-pd/card.md"})) == 1


# ----------------------------------------------------------------------------- verify


def _verification(*problems: tuple[str, str], warnings: tuple[tuple[str, str], ...] = ()
                  ) -> Verification:
    return Verification(problems=[Problem(*p) for p in problems],
                        warnings=[Problem(*w) for w in warnings])


def test_verify_annotations_escape_paths_and_problems():
    v = _verification(("models/m/a,b.yaml", "names x\n::stop-commands::tok"),
                      warnings=(("models/m/.x.mops-abcd1234", "leftover: 100%"),))
    assert gh.verify_annotations(v, prefix="gov") == [
        "::error file=gov/models/m/a%2Cb.yaml,title=mops verify::names x%0A::stop-commands::tok",
        "::warning file=gov/models/m/.x.mops-abcd1234,title=mops verify::leftover: 100%25",
    ]


def test_emit_verify_prints_only_escaped_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    summary, output = tmp_path / "summary.md", tmp_path / "output"
    env = {"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(output)}
    v = _verification(("models/m/card.md", "bad\r\n::stop-commands::tok\n::error::forged"))
    assert gh.emit_verify(v, tally="verify: 1 check\n::error::forged too: FAILED", env=env) is False
    out = capsys.readouterr().out
    assert workflow_commands(out) == [
        "::error file=models/m/card.md,title=mops verify::bad%0D%0A::stop-commands::tok%0A"
        "::error::forged"]
    assert out.splitlines()[-1] == "verify: 1 check%0A::error::forged too: FAILED"
    assert output.read_text() == "ok=false\nproblems=1\n"
    assert "| ❌ | models/m/card.md | bad<br>::stop-commands::tok<br>::error::forged |" in \
        summary.read_text()


def test_verify_summary_stays_within_githubs_limit():
    v = _verification(*[(f"models/m{i}/card.md", "broken " * 40) for i in range(20_000)])
    text = gh.verify_summary(v, tally="t")
    assert len(text.encode()) < gh.SUMMARY_BUDGET
    assert "more problems or warnings did not fit" in text
    assert gh.verify_summary(_verification(), tally="t").startswith("## ✅ mops verify passed")


# ----------------------------------------------------------------------------- errors


def test_errors_annotated_adds_an_annotation_and_reraises(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(MopsError), gh.errors_annotated("mops check"):
        raise MopsError("bad input\n::stop-commands::tok", details=["one: 100%"])
    assert workflow_commands(capsys.readouterr().out) == [
        "::error title=mops check::bad input%0A::stop-commands::tok%0Aone: 100%25"]

    with pytest.raises(RecordError), gh.errors_annotated("mops check") as where:
        where.prefix = "gov"
        raise RecordError("mops.yaml", "bad", line=3, column=7)
    assert capsys.readouterr().out == \
        "::error file=gov/mops.yaml,line=3,col=7,title=mops check::mops.yaml:3:7: bad\n"

    with pytest.raises(ZeroDivisionError), gh.errors_annotated("mops verify"):
        1 / 0  # noqa: B018
    assert capsys.readouterr().out.startswith(
        "::error title=mops verify::internal error (ZeroDivisionError: division by zero)")


def test_errors_annotated_leaves_exit_codes_alone(capsys: pytest.CaptureFixture[str]):
    """The twin: a command's own exit (1: policy says no) is not an error to annotate."""
    with pytest.raises(typer.Exit), gh.errors_annotated("mops check"):
        raise typer.Exit(1)
    assert capsys.readouterr().out == ""
