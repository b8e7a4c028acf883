"""stackctl's pytest plugin: a ready observability stack in one fixture.

Registered through the ``pytest11`` entry point, so ``pip install stackctl`` is all it takes::

    def test_failures_alert(observability_stack):
        observability_stack.seed("preview-failures")
        assert observability_stack.query('sum(rate(preview_generation_jobs_completed_total{outcome="failed"}[10m]))') > 0
        observability_stack.wait_for_alert("PreviewGenerationHighFailureRate", state="firing", timeout=15)
        observability_stack.wait_for_notification(receiver="local-page", alertname="PreviewGenerationHighFailureRate")

``--stackctl-report PATH`` (ini ``stackctl_report``) draws every dashboard of the stack into
one HTML file (``stackctl report``) when the session ends, before the stack stops; and, when a
test using the stack fails, right then, beside it (``PATH`` stem + the test's name), so the
panels show the moment of the failure.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Generator, Iterator

import pytest

from stackctl.errors import StackctlError
from stackctl.testing.stack import TestStack

_LEFT_OUT_KEY = pytest.StashKey[list[str]]()
_STACK_KEY = pytest.StashKey[TestStack]()
_FAILED_KEY = pytest.StashKey[list[Path]]()
MAX_FAILURE_REPORTS = 10


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("stackctl", "stackctl observability stack")
    options = (
        ("runtime", "docker, native or auto (docker where an engine answers, native otherwise)", "auto"),
        ("services", "comma-separated services to start (default: every one this machine can run)", ""),
    )
    for name, help_text, default in options:
        group.addoption(f"--stackctl-{name}", dest=f"stackctl_{name}", default=None, help=f"{help_text}; ini: stackctl_{name}")
        parser.addini(f"stackctl_{name}", help_text, default=default)
    group.addoption("--stackctl-keep", dest="stackctl_keep", action="store_true", default=None,
                    help="leave the stack running after the session and print its URLs; ini: stackctl_keep")
    parser.addini("stackctl_keep", "leave the stack running after the session", type="bool", default=False)
    group.addoption("--stackctl-report", dest="stackctl_report", default=None, metavar="PATH",
                    help="write an HTML report of every dashboard at the end of the session and when a test using "
                         "the stack fails; ini: stackctl_report")
    parser.addini("stackctl_report", "HTML report of every dashboard (end of session, and on failures)", default="")


def _option(config: pytest.Config, name: str) -> object:
    value = config.getoption(f"stackctl_{name}")
    return value if value is not None else config.getini(f"stackctl_{name}")


@pytest.fixture(scope="session")
def observability_stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestStack]:
    """A running, isolated stack (unique project, free ports, own state dir), torn down at the end."""
    config = request.config
    services = [s.strip() for s in str(_option(config, "services")).split(",") if s.strip()] or None
    keep = bool(_option(config, "keep"))
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    say = (lambda m: reporter.write_line(f"stackctl: {m}")) if reporter else (lambda m: None)
    try:
        handle = TestStack.start(tmp_path_factory.mktemp("stackctl"), runtime=str(_option(config, "runtime")), services=services, on_message=say)
    except StackctlError as exc:
        pytest.fail(f"stackctl could not start the observability stack: {exc}", pytrace=False)
    lines = config.stash.setdefault(_LEFT_OUT_KEY, [])
    lines.append(handle.summary())
    if keep:
        lines.append(f"--stackctl-keep: left running; stop it with: "
                     f"STACKCTL_STATE_DIR={handle.cfg.state_dir} stackctl down --project {handle.cfg.project} --volumes")
    config.stash[_STACK_KEY] = handle
    try:
        yield handle
    finally:
        try:
            _write_report(config, handle, _report_path(config))
        finally:
            handle.stop(keep=keep)


def _report_path(config: pytest.Config) -> Path | None:
    value = str(_option(config, "report") or "").strip()
    return Path(config.invocation_params.dir, value) if value else None


def _write_report(config: pytest.Config, handle: TestStack, path: Path | None) -> None:
    """Draw the stack's dashboards into ``path``; a failure to do so is a line, not an error."""
    if path is None:
        return
    lines = config.stash.setdefault(_LEFT_OUT_KEY, [])
    try:
        from stackctl.report.build import build_report, write_report
        from stackctl.verify.run import VerifyOptions

        report = build_report(handle.cfg, VerifyOptions(scenario=handle.last_scenario, all_packs=True))
        write_report(report, path)
    except StackctlError as exc:
        lines.append(f"stackctl: could not write the report {path}: {exc}")
        return
    except OSError as exc:  # the report is an artefact: a full disk must not fail the user's tests
        lines.append(f"stackctl: could not write the report {path}: {type(exc).__name__}: {exc}")
        return
    counts: dict[str, int] = {}
    for v in report.verdicts:
        counts[v.status] = counts.get(v.status, 0) + 1
    lines.append(f"stackctl report: {path} ({', '.join(f'{n} {s}' for s, n in counts.items()) or 'no panels'})")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    rep = outcome.get_result()
    config = item.config
    handle = config.stash.get(_STACK_KEY, None)
    path = _report_path(config)
    if not (rep.failed and rep.when == "call" and path is not None and handle is not None
            and "observability_stack" in getattr(item, "fixturenames", ())):
        return
    written = config.stash.setdefault(_FAILED_KEY, [])
    if len(written) >= MAX_FAILURE_REPORTS:
        return
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.name)[:80]
    target = path.with_name(f"{path.stem}.{name}{path.suffix or '.html'}")
    written.append(target)
    _write_report(config, handle, target)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    for line in config.stash.get(_LEFT_OUT_KEY, []):
        terminalreporter.write_line(line)
