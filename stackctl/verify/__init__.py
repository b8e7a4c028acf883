"""Verification against the running stack: dashboards, rules, metrics, alerts and routing.

``run.verify_stack`` is what ``stackctl verify`` calls; ``results`` holds the ``CheckResult``
record; ``dashboards`` checks every panel copy and annotation query of the dashboards read and
resolved by :mod:`stackctl.dashboards`; ``checks`` the rules, metric existence (PromQL through
:mod:`stackctl.query.promql`) and expected alerts; ``report`` writes JSON and JUnit XML; ``alerts`` and
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
