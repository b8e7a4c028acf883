"""stackctl's pytest plugin: a ready observability stack in one fixture.

Registered through the ``pytest11`` entry point, so ``pip install stackctl`` is all it takes::

    def test_failures_alert(observability_stack):
        observability_stack.seed("preview-failures")
        assert observability_stack.query('sum(rate(preview_generation_jobs_completed_total{outcome="failed"}[10m]))') > 0
        observability_stack.wait_for_alert("PreviewGenerationHighFailureRate", state="firing", timeout=15)
        observability_stack.wait_for_notification(receiver="local-page", alertname="PreviewGenerationHighFailureRate")
"""

from __future__ import annotations

from typing import Iterator

import pytest

from stackctl.errors import StackctlError
from stackctl.testing.stack import TestStack

_LEFT_OUT_KEY = pytest.StashKey[list[str]]()


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
    try:
        yield handle
    finally:
        handle.stop(keep=keep)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    for line in config.stash.get(_LEFT_OUT_KEY, []):
        terminalreporter.write_line(line)
