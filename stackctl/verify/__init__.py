"""Verification against the running stack: dashboards, rules, metrics, alerts and routing.

``run.verify_stack`` is what ``stackctl verify`` calls; ``checks`` holds the individual checks
and the ``CheckResult`` record; ``dashboards`` reads panels and resolves Grafana macros;
``promql`` extracts metric names; ``report`` writes JSON and JUnit XML; ``alerts`` and
``routes`` back ``stackctl alerts``, ``fire-alerts`` and ``notifications``; ``rules_test``
backs ``stackctl test-rules``.
"""

from stackctl.errors import StackctlError
from stackctl.verify.checks import CheckResult


class ChecksFailed(StackctlError):
    """Verification ran and found problems (empty/error panels, unrouted alerts, failing suites).

    Raised by the commands after their report is printed, so the error boundary exits non-zero.
    """


__all__ = ["CheckResult", "ChecksFailed"]
