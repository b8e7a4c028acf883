"""Query languages and the read APIs that answer them: PromQL through a real parser (selectors,
matchers, functions, aggregations, vector matching, set operators), LogQL stream selectors and
metric queries, and a small Prometheus HTTP reader. No knowledge of dashboards or the stack."""
