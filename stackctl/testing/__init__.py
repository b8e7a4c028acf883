"""TestStack, an isolated stack for tests, and the pytest plugin that wraps it as the observability_stack fixture."""
