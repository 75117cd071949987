"""The sandbox IdP's signing key and the signed SAML responses it issues for AWS.

It owns how an assertion for AWS is shaped and signed, so every emulated IdP issues the same kind of
assertion. It never reads a real IdP's key: the key it makes is for the sandbox alone.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import html
import logging
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from shellenv import cache
from shellenv.sandbox import world

log = logging.getLogger(__name__)

SIGNIN_URL = "https://signin.aws.amazon.com/saml"
# The sign-in URL an IdP posts to in each partition.
SIGNIN_URLS = {
    "aws": SIGNIN_URL,
    "aws-cn": "https://signin.amazonaws.cn/saml",
    "aws-us-gov": "https://signin.amazonaws-us-gov.com/saml",
}
ATTRIBUTE = "https://aws.amazon.com/SAML/Attributes/"
ROLE_ATTRIBUTE = ATTRIBUTE + "Role"
SESSION_NAME_ATTRIBUTE = ATTRIBUTE + "RoleSessionName"
SESSION_DURATION_ATTRIBUTE = ATTRIBUTE + "SessionDuration"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"

NS_SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
NS_SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
NS_DS = "http://www.w3.org/2000/09/xmldsig#"

KEY_FILE = "idp-signing.pem"  # the private key and its certificate, one file so both change together
CERT_DAYS = 3650
IDP_SESSION_SECONDS = world.TWELVE_HOURS  # how long the IdP's own login lasts: SessionNotOnOrAfter


@dataclass(frozen=True)
class Signer:
    """An IdP's RSA key and self-signed certificate, both PEM. AWS would trust the certificate."""

    key_pem: bytes
    cert_pem: bytes

    def __repr__(self) -> str:
        return f"Signer(cert={self.fingerprint()})"

    @classmethod
    def generate(cls, common_name: str = "shellenv sandbox IdP") -> Signer:
        """A fresh RSA 2048 key with a self-signed certificate."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = dt.datetime.now(dt.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=CERT_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return cls(key_pem=key_pem, cert_pem=cert.public_bytes(serialization.Encoding.PEM))

    @classmethod
    def load_or_create(cls, folder: Path) -> Signer:
        """The signer kept in `folder`, made on first use (file 0600, folder 0700) and reused after.

        Two processes starting together agree on one key: the file is created with a hard link,
        which fails if another process got there first, and then that one's key is read.
        """
        folder = Path(folder)
        path = folder / KEY_FILE
        if not path.exists():
            # Not mkdir(parents=True): the cache folder it may create would get the umask's 0755,
            # and `shellenv doctor` then rightly calls the whole cache open to others.
            cache.private_dir(folder)
            signer = cls.generate()
            _create_private(path, signer.key_pem + signer.cert_pem)
        data = path.read_bytes()
        marker = b"-----BEGIN CERTIFICATE-----"
        if marker not in data:
            raise ValueError(f"{path} holds no certificate; delete it to make a new signing key")
        at = data.index(marker)
        return cls(key_pem=data[:at], cert_pem=data[at:])

    def fingerprint(self) -> str:
        """The SHA-256 fingerprint of the certificate, for logs and metadata."""
        import hashlib

        der = base64.b64decode(b"".join(self.cert_pem.strip().splitlines()[1:-1]))
        return hashlib.sha256(der).hexdigest()[:16]


def _create_private(path: Path, data: bytes) -> None:
    """Create `path` (0600) holding `data` unless it exists; never leave it half written."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
        os.fsync(fd)
        os.close(fd)
        try:
            os.link(temp, path)
        except FileExistsError:
            log.debug("another process created %s first; using its key", path)
    finally:
        os.unlink(temp)


def signin_url(partition: str = "aws") -> str:
    """The AWS sign-in SAML URL of a partition."""
    return SIGNIN_URLS[partition]


def _time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _attribute(name: str, values: list[str]) -> str:
    rendered = "".join(f"<saml:AttributeValue>{escape(v)}</saml:AttributeValue>" for v in values)
    return (
        f"<saml:Attribute Name={quoteattr(name)}"
        f' NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri">{rendered}</saml:Attribute>'
    )


def role_values(roles: list[str], *, partition: str = "aws", role_first: bool = True) -> list[str]:
    """The Role attribute's values: each role ARN paired with the sandbox provider in its account.

    Roles are moved into `partition` when it is not the commercial one, so world.ROLES serve there too.
    """
    values = []
    for role in roles:
        if partition != "aws":
            role = world.in_partition(role, partition)
        _, role_partition, _, _, account, _ = role.split(":", 5)
        provider = world.provider_arn(account, role_partition)
        values.append(f"{role},{provider}" if role_first else f"{provider},{role}")
    return values


def issue_response(
    signer: Signer,
    *,
    issuer: str,
    name_id: str,
    roles: list[str],
    session_name: str,
    session_duration: int | None = None,
    recipient: str = SIGNIN_URL,
    audience: str = SIGNIN_URL,
    lifetime: int = 300,
    role_first: bool = True,
    partition: str = "aws",
    now: dt.datetime | None = None,
    session_lifetime: int | None = IDP_SESSION_SECONDS,
    name_id_format: str = PERSISTENT,
) -> str:
    """A base64 SAMLResponse holding one assertion for AWS, signed: enveloped, RSA-SHA256, exc-c14n.

    `lifetime` bounds the assertion (Conditions and SubjectConfirmationData NotOnOrAfter);
    `session_lifetime` sets SessionNotOnOrAfter (None leaves it out). Outside the commercial partition,
    recipient and audience left at the commercial sign-in URL move to that partition's sign-in URL.
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    if partition != "aws":
        recipient = signin_url(partition) if recipient == SIGNIN_URL else recipient
        audience = signin_url(partition) if audience == SIGNIN_URL else audience
    until = now + dt.timedelta(seconds=lifetime)
    attributes = [
        _attribute(ROLE_ATTRIBUTE, role_values(roles, partition=partition, role_first=role_first)),
        _attribute(SESSION_NAME_ATTRIBUTE, [session_name]),
    ]
    if session_duration is not None:
        attributes.append(_attribute(SESSION_DURATION_ATTRIBUTE, [str(session_duration)]))
    session_end = ""
    if session_lifetime is not None:
        end = now + dt.timedelta(seconds=session_lifetime)
        session_end = f' SessionNotOnOrAfter="{_time(end)}"'
    assertion_id = "_" + secrets.token_hex(16)
    document = f"""<samlp:Response xmlns:samlp="{NS_SAMLP}" xmlns:saml="{NS_SAML}" \
ID="_{secrets.token_hex(16)}" Version="2.0" IssueInstant="{_time(now)}" \
Destination={quoteattr(recipient)}>\
<saml:Issuer>{escape(issuer)}</saml:Issuer>\
<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>\
<saml:Assertion ID="{assertion_id}" Version="2.0" IssueInstant="{_time(now)}">\
<saml:Issuer>{escape(issuer)}</saml:Issuer>\
<ds:Signature xmlns:ds="{NS_DS}" Id="placeholder"/>\
<saml:Subject><saml:NameID Format={quoteattr(name_id_format)}>{escape(name_id)}</saml:NameID>\
<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">\
<saml:SubjectConfirmationData NotOnOrAfter="{_time(until)}" Recipient={quoteattr(recipient)}/>\
</saml:SubjectConfirmation></saml:Subject>\
<saml:Conditions NotBefore="{_time(now)}" NotOnOrAfter="{_time(until)}">\
<saml:AudienceRestriction><saml:Audience>{escape(audience)}</saml:Audience></saml:AudienceRestriction>\
</saml:Conditions>\
<saml:AuthnStatement AuthnInstant="{_time(now)}"{session_end} SessionIndex="{assertion_id}">\
<saml:AuthnContext><saml:AuthnContextClassRef>\
urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport\
</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>\
<saml:AttributeStatement>{"".join(attributes)}</saml:AttributeStatement>\
</saml:Assertion></samlp:Response>"""
    signed = sign_assertion(signer, document.encode("utf-8"), assertion_id)
    log.debug("issued an assertion for %s with %d roles", name_id, len(roles))
    return base64.b64encode(signed).decode("ascii")


def sign_assertion(signer: Signer, document: bytes, assertion_id: str) -> bytes:
    """Sign the Assertion with ID `assertion_id` in `document`, the signature at its placeholder."""
    from lxml import etree
    from signxml import XMLSigner, methods
    from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod

    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.fromstring(document, parser)
    xml_signer = XMLSigner(
        method=methods.enveloped,
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    xml_signer.namespaces = {"ds": NS_DS}
    signed = xml_signer.sign(
        root, key=_private_key(signer.key_pem), cert=signer.cert_pem.decode("ascii"),
        reference_uri=assertion_id,
    )
    return etree.tostring(signed, xml_declaration=False, encoding="utf-8")


@functools.lru_cache(maxsize=8)
def _private_key(key_pem: bytes) -> Any:
    """The loaded key, once per key: loading checks the RSA key, which costs ~50 ms a time."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    return load_pem_private_key(key_pem, password=None)


def form_page(response_b64: str, action: str = SIGNIN_URL, relay_state: str = "") -> str:
    """The page an IdP answers with: a form that posts the SAMLResponse to AWS as soon as it loads."""
    relay = ""
    if relay_state:
        relay = f'\n<input type="hidden" name="RelayState" value="{html.escape(relay_state)}">'
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Signing in to AWS</title></head>
<body onload="document.forms[0].submit()">
<form method="post" action="{html.escape(action)}">
<input type="hidden" name="SAMLResponse" value="{html.escape(response_b64)}">{relay}
<noscript><button type="submit">Continue to AWS</button></noscript>
</form>
</body></html>
"""
