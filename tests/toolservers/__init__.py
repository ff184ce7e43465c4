"""Fake tool servers for the bridges' integration tests: each answers with
the documented JSON shapes of one tool's API and misbehaves on demand
(see base.ToolServer)."""
