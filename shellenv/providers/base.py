"""The contract between shellenv and an identity provider, and the pieces every provider shares.

A provider logs the user in (password, MFA) and returns a SAML response; it never calls STS, touches the
cache or writes shell code. Secrets pass through `Secrets`, so none is read from argv or written anywhere.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from shellenv.errors import AuthenticationError, ConfigError, Interrupted, MfaError

if TYPE_CHECKING:
    from shellenv.config import IdpConfig
    from shellenv.terminal import Terminal

log = logging.getLogger(__name__)

PUSH_POLL_SECONDS = 2.0
PUSH_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class SamlResponse:
    """A base64 SAMLResponse and the URL its form was to be posted to, if the IdP said.

    That URL is the AWS sign-in URL, which names the partition.
    """

    assertion: str
    destination: str | None = None


class Secrets:
    """Hands a provider the user's secrets for one IdP: from the config (or the keyring), else the terminal.

    A config value of "keyring" (`password = "keyring"`) means the OS keyring holds it (`shellenv secret
    set`). A provider calls `reject_password()` when the IdP refuses the password, so that a stored one is
    dropped and never retried into a lockout.
    """

    def __init__(self, idp: IdpConfig, terminal: Terminal) -> None:
        self.idp = idp
        self.terminal = terminal
        self._password: str | None = None
        self._password_from_keyring = False
        self._from_keyring: dict[str, str | None] = {}
        self.dropped_stored_password = False  # the keyring's password was refused and removed

    def username(self) -> str:
        name = self.idp.get("username")
        if name:
            return str(name)
        return self.terminal.ask(f"Username for {self.idp.name}: ", why="a username")

    def password(self) -> str:
        if self._password is None:
            stored = self.stored("password")
            if stored:
                self._password = stored
                self._password_from_keyring = self.in_keyring("password")
            else:
                typed = self.terminal.ask(
                    f"Password for {self.idp.name}: ", secret=True, why="a password"
                )
                if not typed:
                    # Sent, an empty password would be one more failed login toward a lockout.
                    raise AuthenticationError(
                        f"no password was entered for {self.idp.name}; run the command again")
                self._password = typed
        return self._password

    def reject_password(self) -> None:
        """The IdP refused the password: forget it, here and wherever it is stored."""
        if self._password_from_keyring:
            from shellenv import secrets

            secrets.delete(self.idp.name, "password")
            self._from_keyring["password"] = None
            self.dropped_stored_password = True
            self.terminal.message(f"{self.idp.name} refused the password stored in the keyring; "
                                  "it was removed from the keyring")
        self._password = None
        self._password_from_keyring = False

    def keep_password(self) -> None:
        """After a login that worked with a password typed in place of a refused stored one: store it."""
        if self.dropped_stored_password and self._password and not self._password_from_keyring:
            from shellenv import secrets

            secrets.store(self.idp.name, "password", self._password)
            self.terminal.message(f"stored the new password for {self.idp.name} in the keyring")
            self.dropped_stored_password = False

    def in_keyring(self, kind: str) -> bool:
        from shellenv.config import KEYRING

        return self.idp.get(kind) == KEYRING

    def stored(self, kind: str) -> str | None:
        """A secret kept for this IdP ("password", "client_secret", "totp_secret"), or None."""
        if self.in_keyring(kind):
            return self._keyring(kind)
        value = self.idp.get(kind)
        return str(value) if value else None

    def _keyring(self, kind: str) -> str | None:
        """The keyring's secret, read once per login; a missing one is said once, then asked for."""
        if kind not in self._from_keyring:
            from shellenv import secrets

            value = secrets.get(self.idp.name, kind)
            self._from_keyring[kind] = value
            if value is None:
                self.terminal.message(
                    f"the config says the {kind} of {self.idp.name} is in the keyring, but it is not "
                    f"there; store it with `shellenv secret set {self.idp.name} {kind}`")
        return self._from_keyring[kind]

    def totp_code(self) -> str | None:
        """The current TOTP code when a seed is stored for this IdP, else None."""
        seed = self.stored("totp_secret")
        if not seed:
            return None
        import pyotp

        log.debug("computing the TOTP code from the stored seed")
        try:
            return pyotp.TOTP(seed.replace(" ", "").upper()).now()
        except (ValueError, TypeError):  # binascii.Error is a ValueError
            raise ConfigError(
                f"the totp_secret of [idp.{self.idp.name}] is not a base32 TOTP seed; "
                "copy it again from the IdP's enrolment page"
            ) from None

    def ask_code(self, factor_label: str) -> str:
        code = self.terminal.ask(f"Code from {factor_label}: ", why="an MFA code").strip()
        if not code:
            raise MfaError(f"no code was entered for {factor_label}; run the command again")
        return code


class SamlProvider(Protocol):
    """What every SAML identity provider offers."""

    def __init__(self, idp: IdpConfig, terminal: Terminal, secrets: Secrets) -> None: ...

    def fetch_assertion(self) -> SamlResponse:
        """Log in with the password and MFA; return the SAML response for the AWS app."""
        ...


def wait_for_push(
    poll: Callable[[], bool],
    terminal: Terminal,
    *,
    label: str,
    timeout: float = PUSH_TIMEOUT_SECONDS,
    interval: float = PUSH_POLL_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Poll until the push is approved; show that we are waiting.

    `poll()` returns True once approved, False while pending, and raises MfaError when rejected.
    Returns False on time-out or when the user presses Ctrl-C, so the caller can fall back to a code.
    """
    start = clock()
    try:
        while True:
            if poll():
                terminal.message(f"{label} approved")
                return True
            waited = clock() - start
            if waited >= timeout:
                terminal.message(f"{label} was not answered within {int(timeout)}s")
                return False
            terminal.status(
                f"waiting for you to approve {label}... {int(waited)}s (Ctrl-C to type a code instead)"
            )
            sleep(interval)
    except KeyboardInterrupt:
        terminal.message("stopped waiting for the push")
        return False
    except Interrupted:
        return False
