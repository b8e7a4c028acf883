"""Exports of what the local stack runs, for other homes: ``kubernetes`` writes Helm values and
manifests for kube-prometheus-stack (``stackctl export kubernetes``). Reads the renderer's output;
never starts anything."""
