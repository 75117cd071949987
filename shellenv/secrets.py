"""The user's IdP secrets in the OS keyring: store, read and delete them under the service `shellenv:IDP`.

It imports `keyring` only when a secret is really needed (the import alone costs over 100 ms), and it never
logs, prints or puts in an error message the value of a secret.
"""

from __future__ import annotations

import logging
from typing import Any

from shellenv.errors import ConfigError

log = logging.getLogger(__name__)

SERVICE_PREFIX = "shellenv:"
KINDS = ("password", "client_secret", "totp_secret")
# Backends that keep secrets in a file readable by anyone who can read the user's files.
PLAINTEXT_BACKENDS = ("PlaintextKeyring",)

NO_BACKEND = (
    "no keyring backend is available here (a server without a desktop session?); keep the secret in "
    "the config file with chmod 600, or pip install keyrings.alt and export "
    "PYTHON_KEYRING_BACKEND=keyrings.alt.file.EncryptedKeyring (it asks for a master password)"
)


def service(idp: str) -> str:
    """The keyring service a secret of this IdP is stored under; the kind is the keyring's user name."""
    return SERVICE_PREFIX + idp


def get(idp: str, kind: str) -> str | None:
    """The secret of `kind` stored for `idp`, or None when there is none."""
    ring = _keyring()
    value = _call(ring, "read", lambda: ring.get_password(service(idp), kind))
    log.debug("keyring %s: %s of %s %s", backend_name(ring), kind, idp, "found" if value else "not found")
    return value or None


def store(idp: str, kind: str, value: str) -> None:
    ring = _keyring()
    _call(ring, "store", lambda: ring.set_password(service(idp), kind, value))
    log.info("stored the %s of %s in the keyring (%s)", kind, idp, backend_name(ring))


def delete(idp: str, kind: str) -> bool:
    """Remove a stored secret; False when there was none."""
    import keyring.errors

    ring = _keyring()
    try:
        ring.delete_password(service(idp), kind)
    except keyring.errors.PasswordDeleteError:
        log.debug("no %s of %s in the keyring to delete", kind, idp)
        return False
    except keyring.errors.KeyringError as exc:
        raise _failure(ring, "delete", exc) from None
    log.info("deleted the %s of %s from the keyring (%s)", kind, idp, backend_name(ring))
    return True


def backend() -> Any:
    """The keyring backend in use; ConfigError with the alternatives when there is none."""
    return _keyring()


def backend_name(ring: Any) -> str:
    """A backend's class and module, e.g. "SecretService (keyring.backends.SecretService)"."""
    kind = type(ring)
    return f"{kind.__name__} ({kind.__module__})"


def is_plaintext(ring: Any) -> bool:
    return type(ring).__name__ in PLAINTEXT_BACKENDS


def _keyring() -> Any:
    import keyring
    import keyring.backends.fail

    try:
        ring = keyring.get_keyring()
    except Exception as exc:  # a broken PYTHON_KEYRING_BACKEND or keyringrc raises anything at all
        raise ConfigError(f"the keyring could not start ({type(exc).__name__}); check "
                          "PYTHON_KEYRING_BACKEND and keyringrc.cfg, or keep the secret in the "
                          "config file (chmod 600)") from None
    if isinstance(ring, keyring.backends.fail.Keyring):
        raise ConfigError(NO_BACKEND)
    return ring


def _call(ring: Any, action: str, operation: Any) -> Any:
    import keyring.errors

    try:
        return operation()
    except keyring.errors.KeyringError as exc:
        raise _failure(ring, action, exc) from None


def _failure(ring: Any, action: str, exc: BaseException) -> ConfigError:
    import keyring.errors

    if isinstance(exc, keyring.errors.NoKeyringError):
        return ConfigError(NO_BACKEND)
    if isinstance(exc, keyring.errors.KeyringLocked):
        return ConfigError(f"the keyring ({backend_name(ring)}) is locked; unlock it and run this again")
    # Only the type of the failure: a backend's message could quote what it was given.
    return ConfigError(f"the keyring ({backend_name(ring)}) could not {action} the secret "
                       f"({type(exc).__name__}); check that it is unlocked and reachable")
