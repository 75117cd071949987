"""Where shellenv keeps its files: the config, the key cache, and small per-IdP state.

Only path arithmetic from the environment (XDG variables, SHELLENV_CONFIG); this module creates nothing.
"""

from __future__ import annotations

import os
from pathlib import Path


def _xdg(variable: str, default: str) -> Path:
    value = os.environ.get(variable)
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home() / default


def config_file() -> Path:
    explicit = os.environ.get("SHELLENV_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    return _xdg("XDG_CONFIG_HOME", ".config") / "shellenv" / "config.toml"


def cache_dir() -> Path:
    """The 0700 folder for cached keys and state; `cache.private_dir()` creates it."""
    return _xdg("XDG_CACHE_HOME", ".cache") / "shellenv"


def state_dir(kind: str) -> Path:
    """A 0700 sub-folder of the cache for one kind of state, e.g. "okta" for remembered devices."""
    return cache_dir() / kind
