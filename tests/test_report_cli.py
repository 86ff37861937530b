"""``clearsight report`` as a user runs it: files and standard output, the audit entry
with the output's digest, and one-line errors with exit status 2."""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path

import pytest
from lxml import etree

from clearsight import __version__
from clearsight.store.sql import SqlCaseStore

from .conftest import run_cli
from .test_report_case import build_case


@pytest.fixture
def case_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "case"
    store = SqlCaseStore.open_folder(folder, __version__)
    build_case(store)
    store.close()
    return folder


def last_export(case_dir: Path) -> dict[str, object]:
    store = SqlCaseStore.open_folder(case_dir, __version__)
    try:
        (entry,) = store.audit_log().entries(newest_first=True, limit=1)
    finally:
        store.close()
    assert entry.action == "export" and entry.actor.startswith("cli:")
    return entry.detail


def test_report_to_a_file_and_to_standard_output(case_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = run_cli("report", "--case", case_dir, "--format", "html", "--out", out)
    assert result.returncode == 0, result.stderr
    detail = last_export(case_dir)
    assert detail["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert f"sha256 {detail['sha256']}" in result.stderr
    result = run_cli("report", "--case", case_dir, "--format", "json", "--select", "series:S-2")
    assert result.returncode == 0, result.stderr
    detail = last_export(case_dir)
    assert detail["sha256"] == hashlib.sha256(result.stdout.encode()).hexdigest()
    assert detail["selection"] == "series:2" and detail["destination"] == "standard output"
    assert [i["item_id"] for i in json.loads(result.stdout)["items"]] == [4, 5]


def test_a_cybertip_report_from_the_command_line_validates(case_dir: Path, tmp_path: Path) -> None:
    scheme = tmp_path / "scheme.toml"
    scheme.write_text(
        'name = "test-scheme"\n'
        '[[category]]\ncode = "test-category-1"\nkey = "1"\nlabel = "Test 1"\n'
        'vics_meaning = "test"\ncybertip = "A1"\n'
    )
    out = tmp_path / "tip.xml"
    result = run_cli(
        "report", "--case", case_dir, "--format", "cybertip", "--select", "series:S-1",
        "--incident-type", "child-pornography", "--incident-time", "2026-03-01T14:00:00+00:00",
        "--reporter-email", "analyst@example.org", "--category-scheme", scheme, "--out", out,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    schema = (resources.files("clearsight.report") / "schema" / "cybertip.xsd").read_bytes()
    document = etree.parse(str(out))
    etree.XMLSchema(etree.fromstring(schema)).assertValid(document)
    assert document.findtext("incidentSummary/incidentDateTime") == "2026-03-01T14:00:00Z"
    assert document.xpath("//industryClassification/text()") == ["A1"]
    assert len(document.findall("fileDetails")) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "cybertip"], "say which with --select"),
        (["--format", "cybertip", "--select", "all"], "--incident-type and --incident-time"),
        (["--format", "json", "--select", "series:S-9"], "no series S-9"),
        (["--format", "json", "--thumbnails", "blurred"], "thumbnails go only in the HTML"),
        (["--format", "json", "--select", "nonsense"], "--select"),
        (
            [
                "--format",
                "cybertip",
                "--select",
                "all",
                "--incident-type",
                "online-enticement",
                "--incident-time",
                "2026-03-01T14:00:00",
                "--reporter-email",
                "nobody",
            ],
            "not an email address",
        ),
    ],
)
def test_mistakes_exit_2_with_one_line(case_dir: Path, args: list[str], message: str) -> None:
    result = run_cli("report", "--case", case_dir, *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


def test_no_case_here_is_a_user_error(tmp_path: Path) -> None:
    result = run_cli("report", "--case", tmp_path, "--format", "json")
    assert result.returncode == 2 and "not a clearsight case" in result.stderr
