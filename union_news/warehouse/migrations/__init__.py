"""Alembic migrations of the warehouse (``script_location`` is this package's directory)."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config

SCRIPT_LOCATION = Path(__file__).resolve().parent


def alembic_config() -> Config:
    """An ini-free Alembic configuration that works from a source tree or an installed wheel."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.set_main_option("version_path_separator", "os")
    return config
