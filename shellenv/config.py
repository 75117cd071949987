"""The user's configuration: one TOML file of IdP apps, profiles, account aliases and shell settings.

This module reads and validates it and hands out typed objects, with one-line errors that name the file, the
line or key, and what to write instead. It imports only the standard library and never writes the file.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from shellenv import paths
from shellenv.errors import ConfigError, NotFoundError
from shellenv.providers import FIELDS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MIN_DURATION = 900  # STS refuses shorter sessions
MAX_DURATION = 43200  # and longer ones
SECRET_KEYS = ("password", "client_secret", "totp_secret")
# `password = "keyring"`: the secret is in the OS keyring (`shellenv secret set IDP password`), not here.
KEYRING = "keyring"
ROLE_ARN = re.compile(r"^arn:aws(-cn|-us-gov)?:iam::\d{12}:role/[\w+=,.@/-]+$")
ACCOUNT_ID = re.compile(r"^\d{12}$")
REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")

PROFILE_FIELDS: dict[str, tuple[type, bool]] = {
    "idp": (str, True),
    "role_arn": (str, False),
    "account_id": (str, False),
    "role_name": (str, False),
    "principal_arn": (str, False),
    "region": (str, False),
    "duration": (object, False),
    "auto_refresh": (bool, False),
    "credentials_file": (bool, False),
}
SHELL_FIELDS: dict[str, tuple[type, bool]] = {
    "prompt": (bool, False),
    "warn_before": (object, False),
    "warn_again": (object, False),
    "refresh_before": (object, False),
    "clear_expired": (bool, False),
    "on_directory": (str, False),
}
SHELL_DEFAULTS: dict[str, Any] = {
    "prompt": True,
    "warn_before": 900,
    "warn_again": 300,
    "refresh_before": 600,
    "clear_expired": True,
    "on_directory": "login",
}
DIRECTORY_FIELDS: dict[str, tuple[type, bool]] = {
    "path": (str, True),
    "profile": (str, True),
    "region": (str, False),
}
TOP_LEVEL = ("idp", "profile", "accounts", "shell", "directory")


# The config's objects are NamedTuples, not dataclasses: `dataclasses` loads `inspect`, a cost on every
# `shellenv use`. They are immutable; `x._replace(...)` makes a changed copy.


class IdpConfig(NamedTuple):
    """One `[idp.NAME]` table, validated against the fields of its type."""

    name: str
    type: str
    settings: Mapping[str, Any]
    source: Path | None = None

    def __repr__(self) -> str:
        """Without the settings, which may hold a password or a client secret."""
        return f"IdpConfig(name={self.name!r}, type={self.type!r}, source={self.source!r})"

    def get(self, key: str, default: Any = None) -> Any:
        return self.settings.get(key, default)


class Profile(NamedTuple):
    """One `[profile.NAME]`: which IdP, which role, where and for how long."""

    name: str
    idp: str
    role_arn: str | None = None
    account_id: str | None = None
    role_name: str | None = None
    principal_arn: str | None = None
    region: str | None = None
    duration: int | None = None
    auto_refresh: bool = False
    credentials_file: bool = False

    @property
    def account(self) -> str | None:
        if self.role_arn:
            return self.role_arn.split(":")[4]
        return self.account_id


class DirectoryRule(NamedTuple):
    """One `[[directory]]` entry: folders matching `path` use `profile`."""

    path: str
    profile: str
    region: str | None = None


class Config(NamedTuple):
    path: Path
    idps: Mapping[str, IdpConfig] = MappingProxyType({})
    profiles: Mapping[str, Profile] = MappingProxyType({})
    accounts: Mapping[str, str] = MappingProxyType({})
    shell: Mapping[str, Any] = MappingProxyType(SHELL_DEFAULTS)
    directories: tuple[DirectoryRule, ...] = ()

    def profile(self, name: str) -> Profile:
        try:
            return self.profiles[name]
        except KeyError:
            raise NotFoundError(
                f"no profile '{name}' in {self.path}{_suggest(name, self.profiles)}; "
                "`shellenv list` shows the profiles"
            ) from None

    def idp(self, name: str) -> IdpConfig:
        try:
            return self.idps[name]
        except KeyError:
            raise NotFoundError(f"no [idp.{name}] in {self.path}{_suggest(name, self.idps)}") from None

    def alias(self, account_id: str) -> str | None:
        return self.accounts.get(account_id)


def load(path: Path | None = None, *, required: bool = True) -> Config:
    """Read and validate the config. A missing file is an error when `required`, else an empty config."""
    path = path or paths.config_file()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise ConfigError(
                f"no config file at {path}; create it (the README shows one, "
                "`shellenv sandbox` prints one for the local sandbox) or set SHELLENV_CONFIG"
            ) from None
        return Config(path=path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    return parse(text, path)


def parse(text: str, path: Path) -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_syntax_error(path, str(exc))) from None
    return _Reader(text, path).read(data)


class _Reader:
    """Validates the parsed TOML, remembering the text to name line numbers in errors."""

    def __init__(self, text: str, path: Path) -> None:
        self.lines = text.splitlines()
        self.path = path

    def fail(self, table: str, key: str | None, problem: str) -> ConfigError:
        line = self._line_of(table, key)
        where = f"{self.path}:{line}" if line else str(self.path)
        what = f"[{table}] {key}" if key else f"[{table}]"
        return ConfigError(f"{where}: {what}: {problem}")

    def _line_of(self, table: str, key: str | None) -> int | None:
        """The line of `key` inside `[table]` (or of the table header), found by reading the text."""
        header = re.compile(r"^\s*\[\[?\s*" + _table_pattern(table) + r"\s*\]\]?\s*(#.*)?$")
        inside = False
        for number, line in enumerate(self.lines, 1):
            if header.match(line):
                if key is None:
                    return number
                inside = True
                continue
            if inside and re.match(r"^\s*\[", line):
                inside = False
            if inside and re.match(r"^\s*\"?" + re.escape(key) + r"\"?\s*=", line):
                return number
        return None

    def read(self, data: dict[str, Any]) -> Config:
        for key in data:
            if key not in TOP_LEVEL:
                raise self.fail(key, None, f"unknown table{_suggest(key, TOP_LEVEL)}; "
                                f"the config has {', '.join('[' + t + ']' for t in TOP_LEVEL)}")
        idps = {name: self._idp(name, table) for name, table in self._tables(data, "idp").items()}
        profiles = {
            name: self._profile(name, table, idps) for name, table in self._tables(data, "profile").items()
        }
        accounts = self._accounts(data.get("accounts", {}))
        shell = self._shell(data.get("shell", {}))
        self._check_refresh_window(shell, profiles)
        directories = tuple(self._directory(i, entry, profiles)
                            for i, entry in enumerate(data.get("directory", [])))
        if any(idp.settings.get(key) not in (None, KEYRING) for idp in idps.values() for key in SECRET_KEYS):
            self._check_private()
        return Config(self.path, idps, profiles, accounts, shell, directories)

    def _tables(self, data: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
        tables = data.get(kind, {})
        if not isinstance(tables, dict):
            raise self.fail(kind, None, f"write it as tables: [{kind}.NAME]")
        for name, table in tables.items():
            if not isinstance(table, dict):
                raise self.fail(f"{kind}.{name}", None, f"must be a table, written [{kind}.{name}]")
        return tables

    def _fields(self, table_name: str, table: dict[str, Any],
                fields: Mapping[str, tuple[type, bool]]) -> None:
        for key, value in table.items():
            if key not in fields:
                raise self.fail(table_name, key, f"unknown key{_suggest(key, fields)}; "
                                f"known keys: {', '.join(fields)}")
            wanted = fields[key][0]
            if wanted is not object and not _is_type(value, wanted):
                raise self.fail(table_name, key, f"must be {_type_words(wanted)}, "
                                f"not {_type_words(type(value))}")
        for key, (_, required) in fields.items():
            if required and key not in table:
                raise self.fail(table_name, None, f"'{key}' is missing; add {key} = ...")

    def _idp(self, name: str, table: dict[str, Any]) -> IdpConfig:
        table_name = f"idp.{name}"
        kind = table.get("type")
        if kind not in FIELDS:
            known = ", ".join(f'"{t}"' for t in FIELDS)
            if kind is None:
                raise self.fail(table_name, None, f"'type' is missing; add type = one of {known}")
            raise self.fail(table_name, "type", f"unknown type {kind!r}; use one of {known}")
        self._fields(table_name, table, FIELDS[kind])
        if kind == "onelogin":
            region = table.get("region")
            if region is not None and region not in ("us", "eu"):
                raise self.fail(table_name, "region", 'must be "us" or "eu" (or set base_url)')
            if "base_url" not in table and region is None:
                raise self.fail(table_name, None, 'set base_url = "https://api.us.onelogin.com" '
                                '(or region = "us" | "eu")')
            if table.get("api_version", 2) not in (1, 2):
                raise self.fail(table_name, "api_version", "must be 1 or 2")
        for key in ("base_url", "org_url", "start_url", "url", "app_url"):
            if key in table and not re.match(r"^https?://[^\s/]+", table[key]):
                raise self.fail(table_name, key, f"must be an http(s) URL, not {table[key]!r}")
        return IdpConfig(name, kind, dict(table), self.path)

    def _profile(self, name: str, table: dict[str, Any], idps: Mapping[str, IdpConfig]) -> Profile:
        table_name = f"profile.{name}"
        self._fields(table_name, table, PROFILE_FIELDS)
        idp_name = table["idp"]
        if idp_name not in idps:
            raise self.fail(table_name, "idp", f"names no [idp.{idp_name}]{_suggest(idp_name, idps)}; "
                            f"defined: {', '.join(idps) or 'none'}")
        role_arn = table.get("role_arn")
        account_id = table.get("account_id")
        role_name = table.get("role_name")
        if role_arn is not None and not ROLE_ARN.match(role_arn):
            raise self.fail(table_name, "role_arn", "must look like arn:aws:iam::111111111111:role/Name")
        if account_id is not None and not ACCOUNT_ID.match(account_id):
            raise self.fail(table_name, "account_id", "must be the 12-digit account id, in quotes")
        if role_arn and (account_id or role_name):
            raise self.fail(table_name, "role_arn", "give either role_arn or account_id + role_name")
        if not role_arn and not (account_id and role_name):
            hint = ("add account_id and role_name" if idps[idp_name].type == "sso"
                    else 'add role_arn = "arn:aws:iam::ACCOUNT:role/NAME"')
            raise self.fail(table_name, None, f"which role? {hint}")
        region = table.get("region")
        if region is not None and not REGION.match(region):
            raise self.fail(table_name, "region", f"{region!r} is not an AWS region like eu-west-1")
        duration = None
        if "duration" in table:
            try:
                duration = parse_duration(table["duration"])
            except ValueError as exc:
                raise self.fail(table_name, "duration", str(exc)) from None
            if not MIN_DURATION <= duration <= MAX_DURATION:
                raise self.fail(table_name, "duration", 'must be between "15m" and "12h"')
        return Profile(name, idp_name, role_arn, account_id, role_name, table.get("principal_arn"),
                       region, duration, table.get("auto_refresh", False),
                       table.get("credentials_file", False))

    def _check_refresh_window(self, shell: Mapping[str, Any], profiles: Mapping[str, Profile]) -> None:
        """Keys renewed inside the refresh window would be renewed again at once, in a loop of logins."""
        for profile in profiles.values():
            if profile.auto_refresh and profile.duration and shell["refresh_before"] * 2 > profile.duration:
                raise self.fail("shell", "refresh_before",
                                f"{shell['refresh_before']} s is more than half of the {profile.duration} s "
                                f"keys of [profile.{profile.name}], which refreshes automatically; "
                                "lower it or lengthen that profile's duration")

    def _accounts(self, table: Any) -> dict[str, str]:
        if not isinstance(table, dict):
            raise self.fail("accounts", None, 'write it as a table: "111111111111" = "alias"')
        for account, alias in table.items():
            if not ACCOUNT_ID.match(account):
                raise self.fail("accounts", account, "account ids are 12 digits, in quotes")
            if not isinstance(alias, str) or not alias:
                raise self.fail("accounts", account, 'the alias must be a string, e.g. "acme-dev"')
        return dict(table)

    def _shell(self, table: Any) -> dict[str, Any]:
        if not isinstance(table, dict):
            raise self.fail("shell", None, "must be a table")
        self._fields("shell", table, SHELL_FIELDS)
        settings = dict(SHELL_DEFAULTS)
        for key, value in table.items():
            if key in ("warn_before", "warn_again", "refresh_before"):
                try:
                    value = parse_duration(value)
                except ValueError as exc:
                    raise self.fail("shell", key, str(exc)) from None
            settings[key] = value
        if settings["on_directory"] not in ("login", "notice"):
            raise self.fail("shell", "on_directory", 'must be "login" or "notice"')
        return settings

    def _directory(self, index: int, entry: Any, profiles: Mapping[str, Profile]) -> DirectoryRule:
        if not isinstance(entry, dict):
            raise self.fail("directory", None, 'write [[directory]] tables with path and profile')
        self._fields("directory", entry, DIRECTORY_FIELDS)
        if entry["profile"] not in profiles:
            raise self.fail("directory", "profile",
                            f"names no [profile.{entry['profile']}]{_suggest(entry['profile'], profiles)}")
        return DirectoryRule(entry["path"], entry["profile"], entry.get("region"))

    def _check_private(self) -> None:
        try:
            mode = self.path.stat().st_mode
        except OSError:
            return
        if mode & (stat.S_IRWXG | stat.S_IRWXO) and os.name == "posix":
            raise ConfigError(
                f"{self.path} holds secrets but others can read it; run: chmod 600 {self.path}"
            )


def parse_duration(value: Any) -> int:
    """Seconds from 3600, "3600", "90m", "12h" or "1h30m"."""
    if isinstance(value, bool):
        raise ValueError('write a duration such as "1h", "90m" or 3600')
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text.isdigit():
            return int(text)
        match = re.fullmatch(r"(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?", text)
        if match and any(match.groups()):
            hours, minutes, seconds = (int(part or 0) for part in match.groups())
            return hours * 3600 + minutes * 60 + seconds
    raise ValueError(f'{value!r} is not a duration; write e.g. "1h", "90m" or 3600')


def _is_type(value: Any, wanted: type) -> bool:
    if wanted is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if wanted is str:
        return isinstance(value, str)
    return isinstance(value, wanted)


def _type_words(kind: type) -> str:
    return {str: "a string in quotes", int: "a whole number", bool: "true or false",
            float: "a number", list: "a list", dict: "a table"}.get(kind, kind.__name__)


def _table_pattern(table: str) -> str:
    parts = table.split(".", 1)
    if len(parts) == 1:
        return re.escape(parts[0])
    return re.escape(parts[0]) + r"\s*\.\s*[\"']?" + re.escape(parts[1]) + r"[\"']?"


# What the TOML parser's words usually mean in a hand-edited config.
_SYNTAX_HINTS = (
    ("Illegal character '\\n'", "a quoted string is not closed: end it with its quote"),
    ("Invalid value", 'a value without quotes: write text in quotes, e.g. region = "eu-west-1"'),
    ("Cannot overwrite a value", "a key (or table) is written twice: keep one"),
)


def _syntax_error(path: Path, said: str) -> str:
    """`path:LINE: what is wrong (the parser's words); what to do`, like the other config errors."""
    match = re.search(r"\(at line (\d+), column \d+\)", said)
    where = f"{path}:{match.group(1)}" if match else str(path)
    words = re.sub(r"\s*\(at line \d+, column \d+\)", "", said)
    hint = next((text for key, text in _SYNTAX_HINTS if key in words), None)
    if hint:
        return f"{where}: {hint} ({words})"
    return f"{where}: {words}; fix the TOML syntax there"


def _suggest(word: str, choices: Any) -> str:
    import difflib  # only on an error: start-up pays for every import

    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""
