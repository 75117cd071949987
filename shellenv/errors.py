"""The errors shellenv reports, each with a named exit code of its own.

Every failure a user can meet is one of these, raised with a one-line message that says what is wrong and what
to do. The messages never carry a password, token, key or assertion.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Exit codes, distinct so that scripts can tell failures apart. Listed in the README."""

    OK = 0
    INTERNAL = 1  # a bug in shellenv: the traceback is shown with --debug
    USAGE = 2  # bad command line
    CONFIG = 3  # the config file is missing, unreadable or invalid
    AUTH = 4  # the IdP rejected the username or password
    LOCKED = 5  # the account is locked, disabled or its password expired: the IdP's admin or site must help
    IDP_DENIED = 6  # the IdP refuses this login: IP not allowed, app not assigned, policy
    MFA = 7  # the second factor failed: wrong code, push rejected or timed out, login state expired
    STS = 8  # AWS STS refused the assertion or the role
    NETWORK = 9  # the IdP or AWS could not be reached: refused, DNS, time-out
    TLS = 10  # the server's certificate could not be verified
    SERVICE = 11  # the IdP or AWS answered with a server error (5xx) or something unreadable
    RATE_LIMITED = 12  # too many requests (HTTP 429); try again later
    NEEDS_LOGIN = 13  # a login is needed but there is no terminal to ask on
    NOT_FOUND = 14  # no such profile, role or cached session
    INTERRUPTED = 130  # Ctrl-C


class ShellenvError(Exception):
    """A failure with a message for the user and an exit code."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        return str(self.args[0])


class UsageError(ShellenvError):
    exit_code = ExitCode.USAGE


class ConfigError(ShellenvError):
    exit_code = ExitCode.CONFIG


class AuthenticationError(ShellenvError):
    exit_code = ExitCode.AUTH


class AccountLockedError(ShellenvError):
    exit_code = ExitCode.LOCKED


class IdpDeniedError(ShellenvError):
    exit_code = ExitCode.IDP_DENIED


class MfaError(ShellenvError):
    exit_code = ExitCode.MFA


class StsError(ShellenvError):
    exit_code = ExitCode.STS


class NetworkError(ShellenvError):
    exit_code = ExitCode.NETWORK


class TlsError(ShellenvError):
    exit_code = ExitCode.TLS


class ServiceError(ShellenvError):
    exit_code = ExitCode.SERVICE


class RateLimitedError(ShellenvError):
    exit_code = ExitCode.RATE_LIMITED


class NeedsLoginError(ShellenvError):
    exit_code = ExitCode.NEEDS_LOGIN


class NotFoundError(ShellenvError):
    exit_code = ExitCode.NOT_FOUND


class Interrupted(ShellenvError):
    exit_code = ExitCode.INTERRUPTED

    def __init__(self, message: str = "interrupted") -> None:
        super().__init__(message)
