"""Shared pytest setup: fixtures live in tests/plugins/<area>.py, one module per area."""

pytest_plugins = [
    "tests.plugins.db",
    "tests.plugins.site",
    "tests.plugins.prefect",
    "tests.plugins.crash",
]
