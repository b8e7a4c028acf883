"""Grafana dashboards as stackctl reads them: loading JSON with line-numbered errors, mapping export inputs, and the panel/target model that verify, provisioning and seeding share."""
