"""``stackctl report``: every panel verify checks, drawn from the live stack into one
self-contained HTML file (and optionally one PNG per panel).

``build`` runs verify's scope and panel checks with recording clients (``collect``) over the
dashboards as ``source`` sees them; ``page`` lays them out on Grafana's grid (``layout``) and
draws each body (``bodies``: ``charts`` and ``values`` with matplotlib, ``units`` and
``colors`` as Grafana formats and colours values).
"""
