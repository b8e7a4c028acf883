"""Binaries for the native runtime: pinned releases, downloads verified by sha256, hostile-archive-safe unpacking, and the shared cache the native runtime reads."""
