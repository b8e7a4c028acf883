"""Synthetic traffic: scenario files, deterministic generators and the sinks that write them.

The pieces, from the outside in: ``catalog`` finds and loads scenarios (``scenario`` models),
``engine.seed`` writes their history at once and then continues live, through three sinks:
``remote_write`` (Prometheus), ``loki`` (log push) and ``redis_streams`` (real stream state).
"""
