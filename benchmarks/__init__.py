"""stackctl's benchmarks: how fast the stack is ready, populated, backfilled and verified.

Run from the repo root: ``python -m benchmarks [--quick] [--repeat N] [--json]``. Every
benchmark starts its own isolated stacks (unique project, free ports, own state dir) and
tears them down again, so it never touches a stack you are running.
"""
