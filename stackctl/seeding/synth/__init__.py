"""Synthesis of seeding scenarios from what dashboards and alert rules ask for.

``collect`` reads dashboards and rule files into query sources; ``exprs`` walks each parsed
PromQL expression into selector uses and joins; ``model`` turns those into metrics with series
(``labels`` picks label values, ``values`` the value ranges by unit convention); ``alerts``
solves alert conditions over the model with ``evaluate``; ``emit`` writes an ordinary scenario.
"""
