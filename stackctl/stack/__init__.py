"""The orchestrator: plan a stack from the config, preflight ports and rules, start it through a runtime adapter, wait for health, clean up on failure, and stop it."""
