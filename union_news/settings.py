"""Settings: shipped defaults, a user's TOML file on top, then environment variables."""

from __future__ import annotations

import copy
import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

DEFAULTS_PATH = Path(__file__).with_name("defaults.toml")


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _coerce(raw: str, like: Any) -> Any:
    if isinstance(like, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(like, int):
        return int(raw)
    if isinstance(like, float):
        return float(raw)
    return raw


@lru_cache(maxsize=8)
def load_settings(config_path: str | None = None) -> dict[str, Any]:
    """Return the merged settings as nested dicts (cached; call ``load_settings.cache_clear()``)."""
    with DEFAULTS_PATH.open("rb") as fh:
        settings = tomllib.load(fh)
    path = config_path or os.environ.get("UNION_NEWS_CONFIG")
    if path:
        with open(path, "rb") as fh:
            settings = _merge(settings, tomllib.load(fh))
    for section, values in settings.items():
        if not isinstance(values, dict):
            continue
        for key, value in values.items():
            env = os.environ.get(f"UNION_NEWS_{section}_{key}".upper())
            if env is not None:
                values[key] = _coerce(env, value)
    return settings


def warehouse_url(explicit: str | None = None) -> str:
    """The warehouse URL: an explicit value, else UNION_NEWS_WAREHOUSE_URL, else the default."""
    if explicit:
        return explicit
    return os.environ.get("UNION_NEWS_WAREHOUSE_URL") or load_settings()["warehouse"]["url"]
