"""A local AWS STS that checks SAML assertions the way AWS does and answers in AWS's query protocol.

It owns the validation AWS applies to AssumeRoleWithSAML (signature, audience, recipient, times, role
pairs, durations) and the SigV4 check of GetCallerIdentity; moto mints the keys. It never logs a key,
token or assertion, and it never listens anywhere itself (see serve.py).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote
from xml.sax.saxutils import escape

from shellenv.sandbox import world
from shellenv.sandbox.saml import (
    NS_SAML,
    NS_SAMLP,
    ROLE_ATTRIBUTE,
    SESSION_DURATION_ATTRIBUTE,
    SESSION_NAME_ATTRIBUTE,
)

log = logging.getLogger(__name__)

NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
VERSION = "2011-06-15"
DEFAULT_DURATION = 3600
MIN_DURATION = 900
MAX_DURATION = 43200
REDEEM_WITHIN = 300  # seconds after IssueInstant that AWS still accepts an assertion
CLOCK_SKEW = 60  # seconds an IdP's clock may run ahead of ours before NotBefore refuses an assertion
SESSION_NAME = re.compile(r"[\w+=,.@-]*")
SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
NAMEID_PREFIX = "urn:oasis:names:tc:SAML:2.0:nameid-format:"
SOURCE_IDENTITY_ATTRIBUTE = "https://aws.amazon.com/SAML/Attributes/SourceIdentity"

# Audiences and recipients AWS accepts, per partition: the sign-in SAML URL (global or regional).
AUDIENCES = {
    "aws": {"https://signin.aws.amazon.com/saml", "urn:amazon:webservices"},
    "aws-cn": {"https://signin.amazonaws.cn/saml", "urn:amazon:webservices:cn"},
    "aws-us-gov": {"https://signin.amazonaws-us-gov.com/saml", "urn:amazon:webservices:govcloud"},
}
RECIPIENTS = {
    "aws": re.compile(r"https://([a-z0-9-]+\.)?signin\.aws\.amazon\.com/saml/?"),
    "aws-cn": re.compile(r"https://([a-z0-9-]+\.)?signin\.amazonaws\.cn/saml/?"),
    "aws-us-gov": re.compile(r"https://([a-z0-9-]+\.)?signin\.amazonaws-us-gov\.com/saml/?"),
}

NOT_AUTHORIZED = "Not authorized to perform sts:AssumeRoleWithSAML"
DURATION_TOO_LONG = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
BAD_SIGNATURE = "Response signature invalid"
INVALID_TOKEN = "The security token included in the request is invalid."
EXPIRED_TOKEN = "The security token included in the request is expired"
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)

WSGIApp = Callable[..., Iterable[bytes]]


class Fault(Exception):
    """An STS error answer: AWS's code, message and HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400, kind: str = "Sender") -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.kind = kind


def _validation(value: object, member: str, constraint: str) -> Fault:
    """AWS's wording for a parameter that breaks its model's constraints."""
    shown = "null" if value is None else f"'{value}'"
    return Fault(
        "ValidationError",
        f"1 validation error detected: Value {shown} at '{member}' failed to satisfy constraint: "
        f"Member must {constraint}",
    )


@dataclass
class IssuedKey:
    """One set of keys the emulator handed out, with what they stand for. Shared with federation.py."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: float  # epoch seconds
    role_arn: str
    assumed_role_arn: str
    assumed_role_id: str
    account: str
    partition: str
    session_name: str

    def __repr__(self) -> str:
        return f"IssuedKey(****{self.access_key_id[-4:]}, {self.assumed_role_arn})"


class KeyStore:
    """The keys issued so far, by access key ID; safe to use from the server's threads."""

    def __init__(self) -> None:
        self._keys: dict[str, IssuedKey] = {}
        self._lock = threading.Lock()

    def add(self, key: IssuedKey) -> None:
        with self._lock:
            self._keys[key.access_key_id] = key

    def get(self, access_key_id: str) -> IssuedKey | None:
        with self._lock:
            return self._keys.get(access_key_id)

    def __len__(self) -> int:
        with self._lock:
            return len(self._keys)


@dataclass
class Claims:
    """What a verified assertion says, read only from the signed element."""

    issuer: str
    subject: str
    subject_format: str
    recipient: str
    not_on_or_after: float | None
    not_before: float | None
    conditions_not_on_or_after: float | None
    issue_instant: float | None
    audiences: list[str]
    session_not_on_or_after: float | None
    roles: list[tuple[str, str]]  # (role ARN, provider ARN)
    session_names: list[str]
    session_duration: str | None
    source_identity: str | None


class StsApp:
    """The WSGI app. `keys` holds what it issued; `calls` counts requests by Action."""

    __name__ = "sts"

    def __init__(
        self,
        *,
        trusted: Mapping[str, bytes],
        roles: Mapping[str, int] = world.ROLES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.trusted = dict(trusted)
        self.roles = dict(roles)
        self.clock = clock
        self.keys = KeyStore()
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._moto = _Moto()

    @property
    def assume_role_with_saml_calls(self) -> int:
        return self.calls["AssumeRoleWithSAML"]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        from werkzeug.wrappers import Request

        request = Request(environ)
        if request.path == "/__sandbox/stats":
            body = json.dumps({**self.calls, "keys": len(self.keys)}).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        request_id = str(uuid.uuid4())
        try:
            status, body = self._dispatch(request, request_id)
        except Fault as fault:
            log.info("answering %s: %s", fault.code, fault.message)
            status, body = fault.status, _error_xml(fault, request_id)
        except Exception as exc:  # a bug here: answer as AWS does, never with a traceback page
            # Only the type is logged: a message could quote the assertion.
            log.error("the STS emulator failed on a request: %s", type(exc).__name__)
            fault = Fault("InternalFailure", "The request processing has failed.", 500, "Receiver")
            status, body = fault.status, _error_xml(fault, request_id)
        headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]
        start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
        return [body.encode("utf-8")]

    def _dispatch(self, request: Any, request_id: str) -> tuple[int, str]:
        body = request.get_data(cache=True)
        params = dict(parse_qsl(request.query_string.decode("latin-1"), keep_blank_values=True))
        if request.method == "POST":
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        action = params.get("Action", "")
        with self._lock:
            self.calls[action] += 1
        if action == "AssumeRoleWithSAML":
            result = self.assume_role_with_saml(params)
        elif action == "GetCallerIdentity":
            result = self.get_caller_identity(request, body)
        else:
            raise Fault("InvalidAction", f"Could not find operation {action} for version {VERSION}")
        return 200, _result_xml(action, result, request_id)

    # -- AssumeRoleWithSAML ----------------------------------------------------------------------

    def assume_role_with_saml(self, params: Mapping[str, str]) -> str:
        role_arn, principal_arn, assertion, duration = _saml_params(params)
        now = self.clock()
        certificate = self.trusted.get(principal_arn)
        if certificate is None:
            raise Fault("InvalidIdentityToken", "Specified provider doesn't exist")
        document = _decode(assertion)
        claims = _verified_claims(document, certificate)
        partition = principal_arn.split(":")[1]
        _check_claims(claims, partition=partition, now=now)
        if (role_arn, principal_arn) not in claims.roles:
            log.info("role %s with %s is not in the assertion", role_arn, principal_arn)
            raise Fault("AccessDenied", NOT_AUTHORIZED, 403)
        max_duration = self.roles.get(role_arn)
        if max_duration is None or _account(role_arn) != _account(principal_arn):
            log.info("no role %s trusts %s here", role_arn, principal_arn)
            raise Fault("AccessDenied", NOT_AUTHORIZED, 403)
        session_name = _session_name(claims)
        if duration > max_duration:
            raise Fault("ValidationError", DURATION_TOO_LONG)
        expiration = now + duration
        if claims.session_not_on_or_after is not None:
            expiration = min(expiration, claims.session_not_on_or_after)
        key = self._mint(role_arn, principal_arn, session_name, now=now, expiration=expiration)
        log.info("issued keys for %s until %s", key.assumed_role_arn, _iso(expiration))
        return _saml_result(key, claims, principal_arn)

    def _mint(
        self, role_arn: str, principal_arn: str, session_name: str, *, now: float, expiration: float
    ) -> IssuedKey:
        with self._lock:
            key = self._moto.assume(role_arn, principal_arn, session_name, int(expiration - now))
        key.expiration = expiration
        self.keys.add(key)
        return key

    # -- GetCallerIdentity -----------------------------------------------------------------------

    def get_caller_identity(self, request: Any, body: bytes) -> str:
        key = self._authenticate(request, body)
        with self._lock:
            user_id, arn, account = self._moto.caller_identity(key)
        return (
            f"<Arn>{escape(arn)}</Arn><UserId>{escape(user_id)}</UserId>"
            f"<Account>{escape(account)}</Account>"
        )

    def _authenticate(self, request: Any, body: bytes) -> IssuedKey:
        """The issued key that signed this request (SigV4), or the Fault AWS would answer."""
        header = request.headers.get("Authorization", "")
        if not header:
            raise Fault("MissingAuthenticationToken", "Request is missing Authentication Token", 403)
        fields = _authorization_fields(header)
        access_key_id = fields["Credential"].split("/", 1)[0]
        key = self.keys.get(access_key_id)
        if key is None or request.headers.get("X-Amz-Security-Token") != key.session_token:
            raise Fault("InvalidClientTokenId", INVALID_TOKEN, 403)
        expected = _signature(request, body, fields, key.secret_access_key)
        if not hmac.compare_digest(expected, fields["Signature"]):
            raise Fault("SignatureDoesNotMatch", SIGNATURE_MISMATCH, 403)
        if self.clock() >= key.expiration:
            raise Fault("ExpiredToken", EXPIRED_TOKEN, 403)
        return key


def make_app(
    *,
    trusted: Mapping[str, bytes],
    roles: Mapping[str, int] = world.ROLES,
    clock: Callable[[], float] = time.time,
) -> StsApp:
    """The STS emulator. `trusted` maps a SAML provider ARN to its IdP's certificate PEM (what IAM
    holds from the uploaded metadata); `roles` maps role ARNs to their MaxSessionDuration."""
    return StsApp(trusted=trusted, roles=roles, clock=clock)


def sandbox_trusted(cert_pem: bytes) -> dict[str, bytes]:
    """`trusted` for make_app: the sandbox provider of every account and partition, with this cert."""
    return {arn: cert_pem for arn in world.provider_arns()}


# -- request parameters ------------------------------------------------------------------------


def _saml_params(params: Mapping[str, str]) -> tuple[str, str, str, int]:
    role_arn = params.get("RoleArn")
    principal_arn = params.get("PrincipalArn")
    assertion = params.get("SAMLAssertion")
    for member, value in (("roleArn", role_arn), ("principalArn", principal_arn)):
        if value is None:
            raise _validation(None, member, "not be null")
        if not 20 <= len(value) <= 2048:
            raise _validation(value, member, "have length greater than or equal to 20")
    if assertion is None:
        raise _validation(None, "SAMLAssertion", "not be null")
    if not 4 <= len(assertion) <= 100000:
        raise _validation("***", "SAMLAssertion", "have length less than or equal to 100000")
    raw = params.get("DurationSeconds")
    if raw is None:
        return role_arn, principal_arn, assertion, DEFAULT_DURATION  # type: ignore[return-value]
    try:
        duration = int(raw)
    except ValueError:
        raise _validation(raw, "durationSeconds", "be an integer") from None
    if duration < MIN_DURATION:
        raise _validation(raw, "durationSeconds", f"have value greater than or equal to {MIN_DURATION}")
    if duration > MAX_DURATION:
        raise _validation(raw, "durationSeconds", f"have value less than or equal to {MAX_DURATION}")
    return role_arn, principal_arn, assertion, duration  # type: ignore[return-value]


def _decode(assertion: str) -> bytes:
    try:
        return base64.b64decode(assertion.strip(), validate=False)
    except (binascii.Error, ValueError):
        raise Fault("InvalidIdentityToken", "Invalid base64 SAMLResponse") from None


# -- the assertion -----------------------------------------------------------------------------


def _verified_claims(document: bytes, certificate: bytes) -> Claims:
    """Check the document is safe XML signed with `certificate`; read the claims from the signed part."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring as defused_fromstring
    from lxml import etree
    from signxml import SignatureConfiguration, XMLVerifier
    from signxml.exceptions import InvalidInput, InvalidSignature

    try:
        defused_fromstring(document, forbid_dtd=True)
    except (DefusedXmlException, etree.ParseError, SyntaxError, ValueError):
        raise Fault("InvalidIdentityToken", "Invalid SAML response: not well-formed XML") from None
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    root = etree.fromstring(document, parser)
    if root.tag != f"{{{NS_SAMLP}}}Response":
        raise Fault("InvalidIdentityToken", "Invalid SAML response: the root is not a samlp:Response")
    assertions = root.findall(f"{{{NS_SAML}}}Assertion")
    if len(assertions) != 1:
        raise Fault("InvalidIdentityToken", "Invalid SAML response: expected exactly one Assertion")
    status = root.find(f"{{{NS_SAMLP}}}Status/{{{NS_SAMLP}}}StatusCode")
    if status is not None and status.get("Value") != SUCCESS:
        raise Fault("InvalidIdentityToken", "The SAML response does not report a successful login")
    verifier = XMLVerifier()
    signed = None
    # An IdP signs the assertion, the response around it, or both; AWS accepts either signature.
    for location, signed_tag in (
        (f"./{{{NS_SAML}}}Assertion/", f"{{{NS_SAML}}}Assertion"),
        ("./", f"{{{NS_SAMLP}}}Response"),
    ):
        if root.find(location + "{http://www.w3.org/2000/09/xmldsig#}Signature") is None:
            continue
        config = SignatureConfiguration(location=location)
        try:
            result = verifier.verify(
                document, x509_cert=certificate.decode("ascii"), parser=parser, expect_config=config
            )
        except (InvalidSignature, InvalidInput, ValueError) as exc:
            log.info("signature check failed: %s", type(exc).__name__)
            raise Fault("InvalidIdentityToken", BAD_SIGNATURE) from None
        element = result.signed_xml  # type: ignore[union-attr]
        if element is not None and element.tag == signed_tag and _is_the_one(root, element):
            signed = element
            break
    if signed is None:
        raise Fault("InvalidIdentityToken", BAD_SIGNATURE)
    if signed.tag == f"{{{NS_SAMLP}}}Response":
        signed = signed.find(f"{{{NS_SAML}}}Assertion")
    return _claims(signed)


def _is_the_one(root: Any, signed: Any) -> bool:
    """True when the signed element is the response itself or its one Assertion, and no other element
    shares its ID: a signature must not vouch for a copy hidden elsewhere (signature wrapping)."""
    identifier = signed.get("ID")
    if not identifier or len(root.xpath("//*[@ID=$id]", id=identifier)) != 1:
        return False
    if signed.tag == f"{{{NS_SAMLP}}}Response":
        return root.get("ID") == identifier
    return root.find(f"{{{NS_SAML}}}Assertion").get("ID") == identifier


def _claims(assertion: Any) -> Claims:
    def find(path: str) -> Any:
        return assertion.find(path.replace("saml:", f"{{{NS_SAML}}}"))

    def findall(path: str) -> list[Any]:
        return assertion.findall(path.replace("saml:", f"{{{NS_SAML}}}"))

    confirmations = findall("saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData")
    if len(confirmations) != 1:
        raise Fault(
            "InvalidIdentityToken",
            "Invalid SAML response: expected exactly one SubjectConfirmationData",
        )
    confirmation = confirmations[0]
    name_id = find("saml:Subject/saml:NameID")
    conditions = find("saml:Conditions")
    authn = find("saml:AuthnStatement")
    attributes: dict[str, list[str]] = {}
    for attribute in findall("saml:AttributeStatement/saml:Attribute"):
        values = [(v.text or "").strip() for v in attribute.findall(f"{{{NS_SAML}}}AttributeValue")]
        attributes.setdefault(attribute.get("Name", ""), []).extend(values)
    issuer = find("saml:Issuer")
    return Claims(
        issuer=(issuer.text or "").strip() if issuer is not None else "",
        subject=(name_id.text or "").strip() if name_id is not None else "",
        subject_format=name_id.get("Format", "") if name_id is not None else "",
        recipient=confirmation.get("Recipient", ""),
        not_on_or_after=_epoch(confirmation.get("NotOnOrAfter")),
        not_before=_epoch(conditions.get("NotBefore")) if conditions is not None else None,
        conditions_not_on_or_after=(
            _epoch(conditions.get("NotOnOrAfter")) if conditions is not None else None
        ),
        issue_instant=_epoch(assertion.get("IssueInstant")),
        audiences=[(a.text or "").strip() for a in findall(".//saml:AudienceRestriction/saml:Audience")],
        session_not_on_or_after=(
            _epoch(authn.get("SessionNotOnOrAfter")) if authn is not None else None
        ),
        roles=_role_pairs(attributes.get(ROLE_ATTRIBUTE, [])),
        session_names=attributes.get(SESSION_NAME_ATTRIBUTE, []),
        session_duration=(attributes.get(SESSION_DURATION_ATTRIBUTE) or [None])[0],
        source_identity=(attributes.get(SOURCE_IDENTITY_ATTRIBUTE) or [None])[0],
    )


def _role_pairs(values: list[str]) -> list[tuple[str, str]]:
    """(role, provider) for each Role value, whichever order the IdP wrote them in."""
    pairs = []
    for value in values:
        halves = [half.strip() for half in value.split(",")]
        if len(halves) != 2:
            continue
        providers = [h for h in halves if ":saml-provider/" in h]
        roles = [h for h in halves if ":role/" in h]
        if len(providers) == 1 and len(roles) == 1:
            pairs.append((roles[0], providers[0]))
    return pairs


def _check_claims(claims: Claims, *, partition: str, now: float) -> None:
    if not claims.recipient or claims.not_on_or_after is None:
        raise Fault(
            "InvalidIdentityToken",
            "SubjectConfirmationData must have both a Recipient and a NotOnOrAfter",
        )
    if not RECIPIENTS.get(partition, RECIPIENTS["aws"]).fullmatch(claims.recipient):
        raise Fault(
            "InvalidIdentityToken",
            f"The SAML assertion's Recipient {claims.recipient!r} is not an AWS sign-in URL",
        )
    accepted = AUDIENCES.get(partition, AUDIENCES["aws"])
    if not any(audience.rstrip("/") in accepted for audience in claims.audiences):
        raise Fault(
            "InvalidIdentityToken",
            "The SAML assertion's AudienceRestriction does not name AWS "
            f"({' or '.join(sorted(accepted))})",
        )
    if claims.issue_instant is not None and now > claims.issue_instant + REDEEM_WITHIN + CLOCK_SKEW:
        raise Fault("ExpiredTokenException", "Token must be redeemed within 5 minutes of issuance")
    for until in (claims.not_on_or_after, claims.conditions_not_on_or_after):
        if until is not None and now >= until:
            raise Fault("ExpiredTokenException", f"The SAML assertion expired at {_iso(until)}")
    if claims.not_before is not None and now + CLOCK_SKEW < claims.not_before:
        when = _iso(claims.not_before)
        raise Fault("InvalidIdentityToken", f"The SAML assertion is not valid before {when}")
    if claims.session_not_on_or_after is not None and now >= claims.session_not_on_or_after:
        raise Fault("ExpiredTokenException", "The IdP session of the SAML assertion has ended")


def _session_name(claims: Claims) -> str:
    if not claims.session_names:
        raise Fault("InvalidIdentityToken", "RoleSessionName is required in AuthnResponse")
    name = claims.session_names[0]
    if len(name) < 2:
        raise _validation(name, "roleSessionName", "have length greater than or equal to 2")
    if len(name) > 64:
        raise _validation(name, "roleSessionName", "have length less than or equal to 64")
    if not SESSION_NAME.fullmatch(name):
        raise _validation(name, "roleSessionName", r"satisfy regular expression pattern: [\w+=,.@-]*")
    return name


def _account(arn: str) -> str:
    parts = arn.split(":")
    return f"{parts[1]}:{parts[4]}" if len(parts) > 4 else arn


def _epoch(text: str | None) -> float | None:
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Fault("InvalidIdentityToken", f"Invalid SAML response: bad time {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.timestamp()


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- SigV4 -------------------------------------------------------------------------------------


def _authorization_fields(header: str) -> dict[str, str]:
    algorithm, _, rest = header.partition(" ")
    fields = {}
    for part in rest.split(","):
        name, _, value = part.strip().partition("=")
        fields[name] = value
    required = {"Credential", "SignedHeaders", "Signature"}
    if algorithm != "AWS4-HMAC-SHA256" or not required <= set(fields):
        raise Fault(
            "IncompleteSignature",
            "Authorization header requires Credential, SignedHeaders and Signature "
            "with the AWS4-HMAC-SHA256 algorithm",
        )
    if fields["Credential"].count("/") != 4:
        raise Fault(
            "IncompleteSignature", "Credential must have the form KEY/date/region/service/aws4_request"
        )
    return fields


def _signature(request: Any, body: bytes, fields: Mapping[str, str], secret: str) -> str:
    """The SigV4 signature the request should carry if it was signed with `secret`."""
    _, date, region, service, terminator = fields["Credential"].split("/")
    signed_headers = fields["SignedHeaders"].split(";")
    headers = "".join(
        f"{name}:{' '.join(request.headers.get(name, '').split())}\n" for name in signed_headers
    )
    query = sorted(parse_qsl(request.query_string.decode("latin-1"), keep_blank_values=True))
    canonical_query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in query)
    payload = request.headers.get("X-Amz-Content-Sha256") or hashlib.sha256(body).hexdigest()
    canonical = "\n".join(
        [
            request.method,
            quote(request.path or "/", safe="/-_.~"),
            canonical_query,
            headers,
            fields["SignedHeaders"],
            payload,
        ]
    )
    scope = f"{date}/{region}/{service}/{terminator}"
    amz_date = request.headers.get("X-Amz-Date", "")
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    signing_key = ("AWS4" + secret).encode()
    for part in (date, region, service, terminator):
        signing_key = hmac.new(signing_key, part.encode(), hashlib.sha256).digest()
    return hmac.new(signing_key, to_sign.encode(), hashlib.sha256).hexdigest()


# -- answers -----------------------------------------------------------------------------------


def _saml_result(key: IssuedKey, claims: Claims, principal_arn: str) -> str:
    provider_name = principal_arn.rsplit("/", 1)[-1]
    # AWS documents NameQualifier as BASE64(SHA1(Issuer + account ID + "/" + provider name)).
    seed = (claims.issuer + key.account + "/" + provider_name).encode()
    name_qualifier = base64.b64encode(hashlib.sha1(seed, usedforsecurity=False).digest()).decode()
    subject_type = claims.subject_format
    if subject_type.startswith(NAMEID_PREFIX):
        subject_type = subject_type[len(NAMEID_PREFIX):]
    source = ""
    if claims.source_identity:
        source = f"<SourceIdentity>{escape(claims.source_identity)}</SourceIdentity>"
    return (
        f"<Audience>{escape(claims.recipient)}</Audience>"
        f"<AssumedRoleUser><AssumedRoleId>{escape(key.assumed_role_id)}</AssumedRoleId>"
        f"<Arn>{escape(key.assumed_role_arn)}</Arn></AssumedRoleUser>"
        f"<Credentials><AccessKeyId>{key.access_key_id}</AccessKeyId>"
        f"<SecretAccessKey>{escape(key.secret_access_key)}</SecretAccessKey>"
        f"<SessionToken>{escape(key.session_token)}</SessionToken>"
        f"<Expiration>{_iso(key.expiration)}</Expiration></Credentials>"
        f"<Issuer>{escape(claims.issuer)}</Issuer>"
        f"<NameQualifier>{name_qualifier}</NameQualifier>"
        f"<PackedPolicySize>0</PackedPolicySize>{source}"
        f"<Subject>{escape(claims.subject)}</Subject>"
        f"<SubjectType>{escape(subject_type)}</SubjectType>"
    )


def _result_xml(action: str, result: str, request_id: str) -> str:
    return (
        f'<{action}Response xmlns="{NAMESPACE}">'
        f"<{action}Result>{result}</{action}Result>"
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
        f"</{action}Response>\n"
    )


def _error_xml(fault: Fault, request_id: str) -> str:
    return (
        f'<ErrorResponse xmlns="{NAMESPACE}"><Error><Type>{fault.kind}</Type>'
        f"<Code>{escape(fault.code)}</Code><Message>{escape(fault.message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>\n"
    )


_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 500: "Server Error"}


# -- moto --------------------------------------------------------------------------------------


class _Moto:
    """moto's STS and IAM backends, used in-process to mint keys and to answer GetCallerIdentity.

    moto takes a single-role assertion only and reads nothing else, so it is handed a reduced one
    for the role already chosen and checked here. Its roles are created in its IAM backend so that
    the role ID, and with it AssumedRoleId and UserId, stays the same from call to call.
    Callers hold a lock: moto's backends are not meant for concurrent use.
    """

    def assume(self, role_arn: str, principal_arn: str, session_name: str, seconds: int) -> IssuedKey:
        from moto.sts.models import sts_backends

        partition, account = role_arn.split(":")[1], role_arn.split(":")[4]
        self._ensure_role(role_arn)
        reduced = _reduced_assertion(role_arn, principal_arn, session_name, max(seconds, 1))
        backend = sts_backends[account][partition]
        assumed = backend.assume_role_with_saml(
            role_arn=role_arn, principal_arn=principal_arn, saml_assertion=reduced
        )
        return IssuedKey(
            access_key_id=assumed.access_key_id,
            secret_access_key=assumed.secret_access_key,
            session_token=assumed.session_token,
            expiration=assumed.expiration.timestamp(),
            role_arn=role_arn,
            assumed_role_arn=assumed.arn,
            assumed_role_id=assumed.user_id,
            account=account,
            partition=partition,
            session_name=session_name,
        )

    def caller_identity(self, key: IssuedKey) -> tuple[str, str, str]:
        """(UserId, Arn, Account) from moto; from the issued record if moto was reset meanwhile."""
        from moto.sts.models import sts_backends

        backend = sts_backends[key.account][key.partition]
        if backend.get_assumed_role_from_access_key(key.access_key_id) is None:
            log.debug("moto forgot key ****%s; answering from the record", key.access_key_id[-4:])
            return key.assumed_role_id, key.assumed_role_arn, key.account
        return backend.get_caller_identity(key.access_key_id, key.partition)

    @staticmethod
    def _ensure_role(role_arn: str) -> None:
        from moto.iam.exceptions import NotFoundException
        from moto.iam.models import iam_backends

        partition, account = role_arn.split(":")[1], role_arn.split(":")[4]
        iam = iam_backends[account][partition]
        try:
            iam.get_role_by_arn(role_arn)
            return
        except NotFoundException:
            log.debug("creating %s in moto's IAM", role_arn)
        resource = role_arn.split(":role", 1)[1]
        path, name = resource.rsplit("/", 1)
        iam.create_role(
            role_name=name,
            assume_role_policy_document="{}",
            path=path + "/",
            permissions_boundary=None,
            description="shellenv sandbox role",
            tags=[],
            max_session_duration=None,
        )


def _reduced_assertion(role_arn: str, principal_arn: str, session_name: str, seconds: int) -> str:
    """An unsigned assertion with just what moto reads: one role, the session name and duration."""

    def attribute(name: str, value: str) -> str:
        return (
            f'<saml:Attribute Name="{name}"><saml:AttributeValue>{escape(value)}'
            "</saml:AttributeValue></saml:Attribute>"
        )

    document = (
        f'<samlp:Response xmlns:samlp="{NS_SAMLP}" xmlns:saml="{NS_SAML}"><saml:Assertion>'
        "<saml:AttributeStatement>"
        + attribute(ROLE_ATTRIBUTE, f"{role_arn},{principal_arn}")
        + attribute(SESSION_NAME_ATTRIBUTE, session_name)
        + attribute(SESSION_DURATION_ATTRIBUTE, str(seconds))
        + "</saml:AttributeStatement></saml:Assertion></samlp:Response>"
    )
    return base64.b64encode(document.encode()).decode()
