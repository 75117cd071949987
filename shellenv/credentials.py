"""The Credentials value object: a set of temporary AWS keys, their expiry, and what they are for.

It knows how to become the environment a shell should hold, and how to show itself in logs without
revealing a secret. It never fetches anything.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

# Variables shellenv sets in the shell, and the ones it removes because they would contradict them.
EXPORTED = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_SESSION_EXPIRATION",
    "SHELLENV_PROFILE",
    "SHELLENV_ROLE_ARN",
    "SHELLENV_ACCOUNT",
    "SHELLENV_ACCOUNT_ID",
    "SHELLENV_EXPIRY",
    "SHELLENV_STAMP",
)
CONTRADICTING = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SECURITY_TOKEN")


def mask(secret: str | None) -> str:
    """A key shown in logs: only its last four characters."""
    if not secret:
        return "<none>"
    return "****" + secret[-4:]


def utc(timestamp: dt.datetime) -> dt.datetime:
    if timestamp.tzinfo is None:
        return timestamp.replace(tzinfo=dt.timezone.utc)
    return timestamp.astimezone(dt.timezone.utc)


def rfc3339(timestamp: dt.datetime) -> str:
    return utc(timestamp).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str) -> dt.datetime:
    return utc(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))


class Credentials(NamedTuple):
    """Immutable; `credentials._replace(region=...)` makes a changed copy.

    A NamedTuple, not a dataclass: `dataclasses` loads `inspect`, a cost on every `shellenv use`.
    """

    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: dt.datetime
    role_arn: str
    profile: str
    region: str | None = None
    account_alias: str | None = None
    assumed_role_arn: str | None = None
    idp: str | None = None

    def __repr__(self) -> str:
        """Everything but the keys, which must never reach a log or a traceback."""
        shown = ("expiration", "role_arn", "profile", "region", "account_alias", "assumed_role_arn", "idp")
        return "Credentials(" + ", ".join(f"{name}={getattr(self, name)!r}" for name in shown) + ")"

    @property
    def account_id(self) -> str:
        return self.role_arn.split(":")[4]

    @property
    def partition(self) -> str:
        return self.role_arn.split(":")[1]

    @property
    def expiry_epoch(self) -> int:
        return int(utc(self.expiration).timestamp())

    def seconds_left(self, now: dt.datetime | None = None) -> float:
        now = now or dt.datetime.now(dt.timezone.utc)
        return (utc(self.expiration) - now).total_seconds()

    def whole_seconds_left(self) -> int:
        """Seconds left as the shells count them (expiry less the current whole second), so that a
        message and the prompt segment say the same minutes."""
        return self.expiry_epoch - int(dt.datetime.now(dt.timezone.utc).timestamp())

    def valid_for(self, seconds: float, now: dt.datetime | None = None) -> bool:
        """True when the keys stay valid for at least `seconds` more."""
        return self.seconds_left(now) >= seconds

    def environment(self, *, stamp: str | None = None) -> dict[str, str]:
        """The variables a shell should hold for these keys, in EXPORTED's order."""
        expiry = rfc3339(self.expiration)
        env = {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
            "AWS_REGION": self.region or "",
            "AWS_DEFAULT_REGION": self.region or "",
            "AWS_CREDENTIAL_EXPIRATION": expiry,
            "AWS_SESSION_EXPIRATION": expiry,
            "SHELLENV_PROFILE": self.profile,
            "SHELLENV_ROLE_ARN": self.role_arn,
            "SHELLENV_ACCOUNT": self.account_alias or self.account_id,
            "SHELLENV_ACCOUNT_ID": self.account_id,
            "SHELLENV_EXPIRY": str(self.expiry_epoch),
            "SHELLENV_STAMP": stamp or "",
        }
        if not self.region:
            del env["AWS_REGION"], env["AWS_DEFAULT_REGION"]
        if not stamp:
            del env["SHELLENV_STAMP"]
        return env

    def to_json(self) -> dict[str, Any]:
        data = self._asdict()
        data["expiration"] = rfc3339(self.expiration)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Credentials:
        data = dict(data)
        data["expiration"] = parse_rfc3339(data["expiration"])
        known = set(cls._fields)
        return cls(**{k: v for k, v in data.items() if k in known})

    def summary(self) -> str:
        """For the user: "dev-admin: team/Admin in acme-dev"."""
        role = self.role_arn.split(":role/", 1)[-1]
        return f"{self.profile}: {role} in {self.account_alias or self.account_id}"

    def describe(self) -> str:
        """For logs: which role, which key (masked), how long it lasts."""
        minutes = int(self.seconds_left() // 60)
        return f"{self.role_arn} key {mask(self.access_key_id)}, {minutes} min left"
