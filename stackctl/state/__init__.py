"""The facts about one project on this machine: its state dir (atomic writes, secrets, the lock), the record of the running stack, host ports and readiness probes. Imports only the foundation."""
