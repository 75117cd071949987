"""The sandbox's world: its AWS accounts, roles, SAML provider and users, shared by every emulator.

It holds plain data only, so that the IdP emulators and the STS emulator agree on one world. Its
passwords and MFA seeds are public test values and must never guard anything real.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ACCOUNTS: dict[str, str] = {
    "111111111111": "sandbox-dev",
    "222222222222": "sandbox-prod",
}

PROVIDER_NAME = "shellenv-sandbox"

PARTITIONS = ("aws", "aws-cn", "aws-us-gov")

ONE_HOUR = 3600
TWELVE_HOURS = 43200

# Role ARN -> MaxSessionDuration in seconds, as IAM would hold it.
ROLES: dict[str, int] = {
    "arn:aws:iam::111111111111:role/Admin": TWELVE_HOURS,
    "arn:aws:iam::111111111111:role/ReadOnly": ONE_HOUR,
    "arn:aws:iam::111111111111:role/team/ops/Deploy": TWELVE_HOURS,
    "arn:aws:iam::222222222222:role/Admin": ONE_HOUR,
    "arn:aws:iam::222222222222:role/ReadOnly": TWELVE_HOURS,
}

ALICE_PASSWORD = "alice-sandbox-password"
BOB_PASSWORD = "bob-sandbox-password"
# Base32 TOTP seeds of the sandbox users, for emulators that ask for an authenticator code.
ALICE_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
BOB_TOTP_SECRET = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"


@dataclass
class User:
    """A person the sandbox IdPs know, and the roles their assertion lists."""

    username: str
    password: str
    email: str
    roles: list[str]
    session_duration: int | None = None
    totp_secret: str | None = None
    display_name: str = ""
    extra: dict[str, str] = field(default_factory=dict)


USERS: dict[str, User] = {
    "alice@example.com": User(
        username="alice@example.com",
        password=ALICE_PASSWORD,
        email="alice@example.com",
        roles=list(ROLES),
        session_duration=TWELVE_HOURS,
        totp_secret=ALICE_TOTP_SECRET,
        display_name="Alice Sandbox",
    ),
    "bob@example.com": User(
        username="bob@example.com",
        password=BOB_PASSWORD,
        email="bob@example.com",
        roles=["arn:aws:iam::111111111111:role/ReadOnly"],
        session_duration=None,
        totp_secret=BOB_TOTP_SECRET,
        display_name="Bob Sandbox",
    ),
}


def provider_arn(account_id: str, partition: str = "aws") -> str:
    """The ARN of the sandbox's SAML provider in an account, e.g. for the Role attribute."""
    return f"arn:{partition}:iam::{account_id}:saml-provider/{PROVIDER_NAME}"


def provider_arns(partitions: tuple[str, ...] = PARTITIONS) -> list[str]:
    """The sandbox provider's ARN in every account and partition."""
    return [provider_arn(account, partition) for partition in partitions for account in ACCOUNTS]


def in_partition(arn: str, partition: str) -> str:
    """The same ARN in another partition: arn:aws:iam::1:role/X -> arn:aws-cn:iam::1:role/X."""
    parts = arn.split(":", 2)
    return f"{parts[0]}:{partition}:{parts[2]}"


def roles_in(partitions: tuple[str, ...] = PARTITIONS) -> dict[str, int]:
    """ROLES copied into each partition, for an STS that answers for China and GovCloud too."""
    return {in_partition(arn, p): seconds for p in partitions for arn, seconds in ROLES.items()}
