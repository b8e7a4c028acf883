"""Grafana dashboards as stackctl reads them: the one model (``model``: every layout Grafana
9-12 loads, datasources of every form, variables, annotations), template variables resolved
against a live Prometheus (``variables``), Grafana's interpolation and interval math
(``formats``, ``timing``), per-panel, per-repeat resolved queries (``resolve``), and loading
user files with line-numbered errors and export inputs (``files``). Verify, the pack tests,
provisioning, seeding and rendering all read dashboards through this package.

Public API::

    from stackctl.dashboards import load_dashboard, Resolver
    d = load_dashboard(path)                      # Dashboard
    for panel, target in d.targets(): ...         # every panel, every target (hidden marked)
    r = Resolver(d, Prometheus(url), now=time.time(), scrape=15.0)
    for inst in r.panels():                        # one per panel and repeat value
        inst.skip or [t.expr for t in inst.targets if not t.target.hidden]
"""

from stackctl.dashboards.formats import Value
from stackctl.dashboards.model import (STACK_TYPES, Annotation, Dashboard, Datasource, Panel, Target, Variable,
                                       load_dashboard)
from stackctl.dashboards.resolve import PanelInstance, ResolvedAnnotation, ResolvedTarget, Resolver
from stackctl.dashboards.timing import TimeRange

__all__ = ["STACK_TYPES", "Annotation", "Dashboard", "Datasource", "Panel", "PanelInstance", "ResolvedAnnotation",
           "ResolvedTarget", "Resolver", "Target", "TimeRange", "Value", "Variable", "load_dashboard"]
