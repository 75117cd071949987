"""Calls to AWS STS: AssumeRoleWithSAML for a chosen role, GetCallerIdentity for `whoami`.

boto3 is imported here, inside the functions, and nowhere on the start-up path. The endpoint is the regional
one of the profile's region in the role's partition; the standard AWS_ENDPOINT_URL_STS points it elsewhere.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass
from typing import Any

from shellenv.errors import NetworkError, ServiceError, StsError, TlsError
from shellenv.saml import Role

log = logging.getLogger(__name__)

FALLBACK_DURATION = 3600
DEFAULT_REGIONS = {"aws": "us-east-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}
REGION_PREFIXES = {"aws-cn": ("cn-",), "aws-us-gov": ("us-gov-",)}


@dataclass(frozen=True)
class Keys:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: dt.datetime
    assumed_role_arn: str | None = None


def region_for(partition: str, region: str | None) -> str:
    """The profile's region when it lies in the role's partition, else the partition's usual region."""
    if region and _in_partition(region, partition):
        return region
    return DEFAULT_REGIONS.get(partition, "us-east-1")


def _in_partition(region: str, partition: str) -> bool:
    if partition in REGION_PREFIXES:
        return region.startswith(REGION_PREFIXES[partition])
    return not any(region.startswith(p) for prefixes in REGION_PREFIXES.values() for p in prefixes)


def assume_role_with_saml(
    role: Role, assertion: str, *, region: str | None, duration: int | None, on_notice: Any = None
) -> Keys:
    """Trade the assertion for keys of `role`. When STS says the duration exceeds the role's maximum, try
    once more at one hour and say so through `on_notice(text)`."""
    client = _client(region_for(role.partition, region), unsigned=True)
    params = {"RoleArn": role.role_arn, "PrincipalArn": role.principal_arn, "SAMLAssertion": assertion}
    if duration:
        params["DurationSeconds"] = duration
    try:
        answer = _call(client.assume_role_with_saml, **params)
    except _DurationTooLong:
        if on_notice:
            on_notice(f"{role.name} allows no session of {duration // 3600}h{duration % 3600 // 60:02d}m; "
                      "asked for 1h instead (raise the role's MaxSessionDuration or lower duration)")
        params["DurationSeconds"] = FALLBACK_DURATION
        answer = _call(client.assume_role_with_saml, **params)
    credentials = answer["Credentials"]
    return Keys(
        access_key_id=credentials["AccessKeyId"],
        secret_access_key=credentials["SecretAccessKey"],
        session_token=credentials["SessionToken"],
        expiration=credentials["Expiration"],
        assumed_role_arn=answer.get("AssumedRoleUser", {}).get("Arn"),
    )


def caller_identity(*, access_key_id: str, secret_access_key: str, session_token: str | None,
                    region: str | None, partition: str = "aws") -> dict[str, str]:
    """GetCallerIdentity with the given keys: Account, Arn, UserId."""
    client = _client(region_for(partition, region), unsigned=False, keys=(
        access_key_id, secret_access_key, session_token))
    answer = _call(client.get_caller_identity)
    return {key: answer[key] for key in ("Account", "Arn", "UserId")}


class _DurationTooLong(Exception):
    pass


def _client(region: str, *, unsigned: bool, keys: tuple[str, str, str | None] | None = None) -> Any:
    import boto3
    import botocore.session
    from botocore import UNSIGNED
    from botocore.config import Config

    # A profile named in AWS_PROFILE (perhaps one shellenv just replaced) must not break the call.
    session = boto3.Session(
        botocore_session=botocore.session.Session(session_vars={"profile": (None, None, None, None)})
    )
    config = Config(
        region_name=region,
        connect_timeout=10,
        read_timeout=30,
        retries={"max_attempts": 2, "mode": "standard"},
        signature_version=UNSIGNED if unsigned else None,
    )
    kwargs: dict[str, Any] = {"config": config}
    if keys:
        kwargs.update(aws_access_key_id=keys[0], aws_secret_access_key=keys[1], aws_session_token=keys[2])
    log.debug("STS in %s%s", region,
              f" at {os.environ['AWS_ENDPOINT_URL_STS']}" if os.environ.get("AWS_ENDPOINT_URL_STS") else "")
    return session.client("sts", **kwargs)


def _call(method: Any, **params: Any) -> dict[str, Any]:
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
        SSLError,
    )

    try:
        return method(**params)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "Unknown"), error.get("Message", "")
        if code == "ValidationError" and "MaxSessionDuration" in message:
            raise _DurationTooLong() from None
        raise StsError(_explain(code, message)) from None
    except SSLError:
        raise TlsError(
            "could not verify the TLS certificate of AWS STS; check your network's proxy"
        ) from None
    except (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError) as exc:
        raise NetworkError(f"could not reach AWS STS: {exc}") from None
    except Exception as exc:  # botocore's other failures: unreadable answers, parameter checks
        if type(exc).__module__.startswith("botocore"):
            raise ServiceError(f"AWS STS call failed: {type(exc).__name__}") from None
        raise


_EXPLANATIONS = {
    "AccessDenied": "AWS STS refused the role: {message} (is the role's trust policy set for this SAML "
                    "provider?)",
    "InvalidIdentityToken": "AWS STS rejected the SAML assertion: {message} (does the IAM SAML provider "
                            "hold the IdP's current metadata?)",
    "ExpiredTokenException": "the SAML assertion expired before AWS STS saw it: {message} (check this "
                             "machine's clock; then run the command again)",
    "IDPRejectedClaim": "AWS STS rejected the IdP's claim: {message}",
    "RegionDisabledException": "STS is not enabled in this region: {message} (set another region in the "
                               "profile)",
    "InvalidClientTokenId": "AWS does not know these keys: {message} (they may have expired; run "
                            "`shellenv use` again)",
    "ExpiredToken": "the keys have expired: {message} (run `shellenv use` again)",
}


def _explain(code: str, message: str) -> str:
    template = _EXPLANATIONS.get(code, "AWS STS said {code}: {message}")
    return template.format(code=code, message=message.rstrip(".") or code)
