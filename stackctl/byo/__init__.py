"""Bring your own app: `stackctl init`, the user's scrape targets, and promtool preflight of the user's rule files."""
