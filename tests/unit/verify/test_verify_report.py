"""JUnit XML shape (what CI systems parse) and the JSON report."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from stackctl.verify.checks import CheckResult
from stackctl.verify.report import as_json, junit_xml, write_junit

RESULTS = [
    CheckResult("panel", "Preview", "Jobs", "rate(a[5m])", "populated", "2 series"),
    CheckResult("panel", "Preview", "Typo", "rate(typo[5m])", "empty", "no data over 60m"),
    CheckResult("panel", "Preview", "Logs", '{service="x"}', "skipped", "Loki is not part of this stack"),
    CheckResult("panel", "Broken", "Bad", "sum(", "error", "prometheus rejected the query: bad_data: parse error"),
    CheckResult("rules", "preview.yml:preview", "preview", "", "ok", "5 rules healthy"),
    CheckResult("metric", "metrics", "typo", "rate(typo[5m])", "empty", "no series named typo"),
    CheckResult("alert", "preview-failures", "PreviewGenerationHighFailureRate", "", "ok", "expected pending"),
]


def test_junit_suites_cases_failures_and_skips() -> None:
    root = ET.fromstring(junit_xml(RESULTS))
    assert root.tag == "testsuites" and root.get("tests") == "7" and root.get("failures") == "3"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["dashboard: Preview", "dashboard: Broken", "rules", "metrics", "alerts"]
    preview = suites["dashboard: Preview"]
    assert (preview.get("tests"), preview.get("failures"), preview.get("skipped")) == ("3", "1", "1")
    typo = preview.find("testcase[@name='Typo']")
    assert typo is not None and typo.get("classname") == "dashboard: Preview"
    failure = typo.find("failure")
    assert failure is not None and failure.get("type") == "empty" and "rate(typo[5m])" in (failure.text or "")
    assert preview.find("testcase[@name='Logs']/skipped") is not None
    assert preview.find("testcase[@name='Jobs']/failure") is None
    bad = suites["dashboard: Broken"].find("testcase/failure")
    assert bad is not None and bad.get("type") == "error" and "parse error" in (bad.get("message") or "")
    metric = suites["metrics"].find("testcase")
    assert metric is not None and metric.get("name") == "metrics: typo"


def test_write_junit(tmp_path: Path) -> None:
    path = tmp_path / "out" / "verify.xml"
    write_junit(RESULTS, path)
    assert path.read_bytes().startswith(b"<?xml")


def test_json_report() -> None:
    data = as_json(RESULTS, scenario="x")
    assert data["passed"] is False and data["scenario"] == "x"
    assert data["summary"] == {"populated": 1, "empty": 2, "error": 1, "skipped": 1, "ok": 2}
    assert data["results"][1] == {"kind": "panel", "dashboard": "Preview", "panel": "Typo", "query": "rate(typo[5m])",
                                  "status": "empty", "detail": "no data over 60m"}
    assert as_json(RESULTS[:1])["passed"] is True
