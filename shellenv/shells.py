"""One small adapter per shell (bash, zsh, fish): quoting, export/unset code, and the init text of the hook.

It only writes text for a shell to evaluate, from the standard library; it never runs a shell, and it never
lets a name or value reach that text unquoted or unchecked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from shellenv import logs
from shellenv.credentials import EXPORTED
from shellenv.errors import UsageError

log = logs.get_logger(__name__)

NAMES = ("bash", "zsh", "fish")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# The variables `shellenv clear` removes: every one shellenv may set.
CLEARED = (*EXPORTED, "SHELLENV_REFRESH")

# The hook scripts: packaged as shellenv/hooks (a link to shell/ in a checkout, real files in a wheel).
_HOOKS = Path(__file__).resolve().parent / "hooks"


def check_name(name: str) -> str:
    """A variable name, or ValueError: shell code is built from names, so only plain identifiers pass."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ValueError(f"not a valid variable name: {name!r}")
    return name


def _check_value(value: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"a variable's value must be text, not {type(value).__name__}")
    if "\0" in value:
        raise ValueError("a variable's value cannot hold a NUL character")
    return value


class Shell:
    """What every shell offers: quote a value, set and unset variables, and print the hook."""

    name = ""

    def quote(self, value: str) -> str:
        raise NotImplementedError

    def set_line(self, name: str, value: str) -> str:
        raise NotImplementedError

    def unset_line(self, name: str) -> str:
        raise NotImplementedError

    def setting_line(self, name: str, value: str, *, listing: bool = False) -> str:
        """A shell variable (not exported) holding `value`, already quoted; `listing`: a list of words."""
        raise NotImplementedError

    def export(self, env: Mapping[str, str], unset: Iterable[str] = ()) -> str:
        """Code that exports `env` and removes the variables in `unset`, valid when eval'ed in one go."""
        lines = [self.set_line(check_name(k), self.quote(_check_value(v))) for k, v in env.items()]
        lines += [self.unset_line(check_name(name)) for name in unset if name not in env]
        log.debug("export code for %s: set %s, unset %s", self.name, " ".join(env), " ".join(unset))
        return "".join(line + "\n" for line in lines)

    def hook(self, program: str, settings: Mapping[str, object]) -> str:
        """The init text: the program's path and the settings as shell variables, then the hook script."""
        from shellenv.config import SHELL_DEFAULTS

        settings = {**SHELL_DEFAULTS, **settings}
        lines = [f"# shellenv {self.name} hook: eval this from your rc file (see `shellenv init --help`)",
                 self.setting_line("__shellenv_prog", self.quote(_check_value(program)))]
        for key, value in sorted(settings.items()):
            lines.append(self.setting_line(f"__shellenv_{check_name(key)}", self._setting(key, value)))
        lines.append(self.setting_line("__shellenv_cleared", " ".join(CLEARED), listing=True))
        return "\n".join(lines) + "\n" + self.script()

    def _setting(self, key: str, value: object) -> str:
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(int(value))
        if isinstance(value, str):
            return self.quote(_check_value(value))
        raise ValueError(f"shell setting {key} must be a boolean, a number or text")

    def script(self) -> str:
        """The hook script of this shell, as shipped."""
        return (_HOOKS / f"shellenv.{self.name}").read_text(encoding="utf-8")


class _PosixShell(Shell):
    """bash and zsh share single-quote quoting and `export`."""

    def quote(self, value: str) -> str:
        _check_value(value)
        if value == "":
            return "''"
        # Inside single quotes nothing is special; a quote ends the string, so write it as \' outside.
        quoted = "'" + value.replace("'", "'\\''") + "'"
        # Drop the empty '' pairs at either end (zsh's RC_QUOTES reads '' inside quotes as a quote).
        if quoted.startswith("''\\'"):
            quoted = quoted[2:]
        if quoted.endswith("\\'''"):
            quoted = quoted[:-2]
        return quoted

    def set_line(self, name: str, value: str) -> str:
        return f"export {name}={value}"

    def unset_line(self, name: str) -> str:
        return f"unset {name}"

    def setting_line(self, name: str, value: str, *, listing: bool = False) -> str:
        return f"{name}=({value})" if listing else f"{name}={value}"


class Bash(_PosixShell):
    name = "bash"


class Zsh(_PosixShell):
    name = "zsh"


class Fish(Shell):
    name = "fish"

    def quote(self, value: str) -> str:
        # In fish's single quotes only \\ and \' are escapes.
        _check_value(value)
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

    def set_line(self, name: str, value: str) -> str:
        return f"set -gx {name} {value}"

    def unset_line(self, name: str) -> str:
        # Only the global: a universal variable of the same name belongs to the user's other shells.
        return f"set -e -g {name}"

    def setting_line(self, name: str, value: str, *, listing: bool = False) -> str:
        return f"set -g {name} {value}"


_SHELLS: dict[str, Shell] = {shell.name: shell for shell in (Bash(), Zsh(), Fish())}


def get(name: str) -> Shell:
    """The adapter for a shell by name, or UsageError."""
    try:
        return _SHELLS[name]
    except KeyError:
        raise UsageError(f"unknown shell '{name}'; use bash, zsh or fish") from None
