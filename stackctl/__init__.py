"""stackctl: a real local observability stack in one command."""

__version__ = "0.1.0"
