"""Reading a SAML response the IdP gave us: the roles it offers, the session name, and its time limits.

Parsing is done with defusedxml (no entity expansion, no DTDs, no network). This module does not check
the signature: AWS does, and we never trust the assertion for anything but choosing what to ask STS for.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shellenv.errors import ServiceError

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

log = logging.getLogger(__name__)

NS = {
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
}
ROLE_ATTRIBUTE = "https://aws.amazon.com/SAML/Attributes/Role"
SESSION_NAME_ATTRIBUTE = "https://aws.amazon.com/SAML/Attributes/RoleSessionName"
SESSION_DURATION_ATTRIBUTE = "https://aws.amazon.com/SAML/Attributes/SessionDuration"
SIGNIN_HOSTS = {
    "signin.aws.amazon.com": "aws",
    "signin.amazonaws.cn": "aws-cn",
    "signin.amazonaws-us-gov.com": "aws-us-gov",
}


@dataclass(frozen=True)
class Role:
    """A role the assertion lets us assume, with the SAML provider that vouches for it."""

    role_arn: str
    principal_arn: str

    @property
    def account_id(self) -> str:
        return self.role_arn.split(":")[4]

    @property
    def name(self) -> str:
        """The role's name without its path: what AWS puts in assumed-role ARNs."""
        return self.role_arn.rsplit("/", 1)[-1]

    @property
    def partition(self) -> str:
        return self.role_arn.split(":")[1]


@dataclass(frozen=True)
class Assertion:
    roles: tuple[Role, ...]
    session_name: str | None
    session_duration: int | None
    not_on_or_after: dt.datetime | None
    destination: str | None

    def role(self, role_arn: str, principal_arn: str | None = None) -> Role | None:
        for role in self.roles:
            if role.role_arn == role_arn and principal_arn in (None, role.principal_arn):
                return role
        return None


def parse(saml_response: str) -> Assertion:
    """Parse a base64 SAMLResponse. Raises ServiceError when it is not one we can read."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    try:
        xml = base64.b64decode(saml_response.strip(), validate=False)
        root = fromstring(xml, forbid_dtd=True)
    except (binascii.Error, ValueError, ParseError, DefusedXmlException) as exc:
        raise ServiceError(
            f"the IdP's SAML response could not be read ({type(exc).__name__}); "
            "ask its admin to check the AWS app"
        ) from None
    if root.find(".//saml:EncryptedAssertion", NS) is not None:
        raise ServiceError(
            "the IdP encrypted its SAML assertion, so the roles cannot be read; "
            "ask its admin to turn off assertion encryption for the AWS app"
        )
    assertion = root.find(".//saml:Assertion", NS)
    if assertion is None:
        status = root.find("samlp:Status/samlp:StatusCode", NS)
        code = status.get("Value", "").rsplit(":", 1)[-1] if status is not None else "no assertion"
        raise ServiceError(f"the IdP answered without a SAML assertion ({code})")
    roles = _roles(_values(assertion, ROLE_ATTRIBUTE))
    names = _values(assertion, SESSION_NAME_ATTRIBUTE)
    durations = _values(assertion, SESSION_DURATION_ATTRIBUTE)
    result = Assertion(
        roles=roles,
        session_name=names[0] if names else None,
        session_duration=int(durations[0]) if durations and durations[0].isdigit() else None,
        not_on_or_after=_not_on_or_after(assertion),
        destination=root.get("Destination"),
    )
    log.debug("assertion offers %d role(s), session %s", len(roles), result.session_name)
    return result


def partition_of(url: str | None) -> str | None:
    """The AWS partition an IdP's form posts to, from the sign-in host in its URL."""
    if not url:
        return None
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    for signin, partition in SIGNIN_HOSTS.items():
        if host == signin or host.endswith("." + signin):
            return partition
    return None


def _values(assertion: Element, name: str) -> list[str]:
    values: list[str] = []
    for attribute in assertion.iterfind(".//saml:Attribute", NS):
        if attribute.get("Name") == name:
            found = attribute.iterfind("saml:AttributeValue", NS)
            values.extend((value.text or "").strip() for value in found)
    return [value for value in values if value]


def _roles(values: list[str]) -> tuple[Role, ...]:
    """Role attribute values are 'role,provider' pairs in either order; tell the halves apart by kind."""
    roles: list[Role] = []
    for value in values:
        parts = [part.strip() for part in value.split(",")]
        if len(parts) != 2:
            log.debug("skipping a Role value that is not a pair")
            continue
        providers = [part for part in parts if ":saml-provider/" in part]
        others = [part for part in parts if ":role/" in part]
        if len(providers) != 1 or len(others) != 1:
            log.debug("skipping a Role value without one role and one provider")
            continue
        role = Role(role_arn=others[0], principal_arn=providers[0])
        if role not in roles:
            roles.append(role)
    return tuple(roles)


def _not_on_or_after(assertion: Element) -> dt.datetime | None:
    for path in ("saml:Conditions", "saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData"):
        element = assertion.find(path, NS)
        if element is not None and element.get("NotOnOrAfter"):
            try:
                text = element.get("NotOnOrAfter", "").replace("Z", "+00:00")
                return dt.datetime.fromisoformat(text)
            except ValueError:
                return None
    return None
