"""Source profiles: one YAML file per site, merged onto ``_defaults.yaml``."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PROFILE_DIR = Path(__file__).parent


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _substitute(obj: Any, base: str) -> Any:
    if isinstance(obj, str):
        return obj.replace("{base}", base.rstrip("/"))
    if isinstance(obj, list):
        return [_substitute(x, base) for x in obj]
    if isinstance(obj, dict):
        return {k: _substitute(v, base) for k, v in obj.items()}
    return obj


@dataclass
class SourceProfile:
    name: str
    hosts: list[str]
    allow_private_addresses: bool = False
    discover: dict[str, Any] = field(default_factory=dict)
    fetch: dict[str, Any] = field(default_factory=dict)
    clean: dict[str, Any] = field(default_factory=dict)

    def allows_host(self, host: str | None) -> bool:
        if not host:
            return False
        host = host.lower().split(":")[0]
        return any(host == h or host.endswith("." + h) for h in self.hosts)


def available() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml") if not p.stem.startswith("_"))


def load_profile(name_or_path: str, base_url: str | None = None) -> SourceProfile:
    """Load a profile by name (``laodongthudo.vn``, ``sample``) or from a YAML path."""
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = PROFILE_DIR / f"{name_or_path}.yaml"
    if not path.exists():
        raise ValueError(
            f"unknown source {name_or_path!r}: expected one of {', '.join(available())} "
            "or a path to a profile YAML file"
        )
    defaults = yaml.safe_load((PROFILE_DIR / "_defaults.yaml").read_text(encoding="utf-8"))
    data = _merge(defaults, yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    if base_url is not None:
        data = _substitute(data, base_url)
    elif "{base}" in yaml.safe_dump(data):
        raise ValueError(f"profile {data['name']!r} needs a base URL (it is served at run time)")
    if base_url is not None and data.get("allow_private_addresses"):
        from urllib.parse import urlsplit

        host = urlsplit(base_url).hostname
        if host and host not in data["hosts"]:
            data["hosts"] = [*data["hosts"], host]
    return SourceProfile(
        name=data["name"],
        hosts=[h.lower() for h in data["hosts"]],
        allow_private_addresses=bool(data.get("allow_private_addresses")),
        discover=data["discover"],
        fetch=data["fetch"],
        clean=data["clean"],
    )
