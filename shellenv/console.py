"""The AWS console sign-in URL for a set of role keys, through the federation endpoint of their partition.

It asks the endpoint for a sign-in token and builds the login URL around it. The keys travel only in a
POST body, never in a URL; the URL (which holds the token) is returned, never logged.
"""

from __future__ import annotations

import json
import logging
import os
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from shellenv.errors import ServiceError, StsError, UsageError

if TYPE_CHECKING:
    from shellenv.credentials import Credentials

log = logging.getLogger(__name__)

# Each partition signs in on its own host and serves its console on its own host.
SIGNIN_HOSTS = {
    "aws": "signin.aws.amazon.com",
    "aws-cn": "signin.amazonaws.cn",
    "aws-us-gov": "signin.amazonaws-us-gov.com",
}
CONSOLE_HOSTS = {
    "aws": "console.aws.amazon.com",
    "aws-cn": "console.amazonaws.cn",
    "aws-us-gov": "console.amazonaws-us-gov.com",
}
FEDERATION_URL_VARIABLE = "SHELLENV_FEDERATION_URL"  # the sandbox (or a proxy) in place of AWS's host
ISSUER = "shellenv"
MIN_SESSION = 900  # the console session limits AWS documents for SessionDuration
MAX_SESSION = 43200


def federation_url(partition: str) -> str:
    """The federation endpoint for a partition, or the one SHELLENV_FEDERATION_URL names."""
    explicit = os.environ.get(FEDERATION_URL_VARIABLE)
    if explicit:
        return explicit
    return f"https://{_host(SIGNIN_HOSTS, partition)}/federation"


def destination(partition: str, region: str | None, service: str | None = None) -> str:
    """The console page to land on: a service's home, or the console home, in the keys' region."""
    path = f"/{service.strip('/')}/home" if service else "/console/home"
    query = f"?{urlencode({'region': region})}" if region else ""
    return f"https://{_host(CONSOLE_HOSTS, partition)}{path}{query}"


def signin_url(credentials: Credentials, *, session_duration: int | None = None,
               landing: str | None = None) -> str:
    """A one-time console login URL for `credentials` (valid for 15 minutes, as AWS issues it)."""
    if session_duration is not None and not MIN_SESSION <= session_duration <= MAX_SESSION:
        raise UsageError(f"--duration must be between {MIN_SESSION // 60}m and {MAX_SESSION // 3600}h")
    endpoint = federation_url(credentials.partition)
    token = _signin_token(endpoint, credentials, session_duration)
    landing = landing or destination(credentials.partition, credentials.region)
    query = urlencode({"Action": "login", "Issuer": ISSUER, "Destination": landing,
                       "SigninToken": token})
    log.info("console sign-in URL made for %s through %s", credentials.role_arn, endpoint)
    return f"{endpoint}?{query}"


def _signin_token(endpoint: str, credentials: Credentials, session_duration: int | None) -> str:
    from shellenv import http

    session = json.dumps({"sessionId": credentials.access_key_id,
                          "sessionKey": credentials.secret_access_key,
                          "sessionToken": credentials.session_token})
    form = {"Action": "getSigninToken", "Session": session}
    if session_duration is not None:
        form["SessionDuration"] = str(session_duration)
    what = f"the AWS sign-in endpoint at {endpoint}"
    response = http.request(http.session(), "POST", endpoint, what=what, data=form)
    if response.status_code != 200:
        raise StsError(
            f"{what} refused the keys of {credentials.profile} (HTTP {response.status_code}); "
            f"get fresh ones with `shellenv refresh {credentials.profile}` and try again"
        )
    try:
        return str(response.json()["SigninToken"])
    except (ValueError, KeyError, TypeError):
        raise ServiceError(f"{what} answered without a sign-in token; try again later") from None


def _host(hosts: dict[str, str], partition: str) -> str:
    try:
        return hosts[partition]
    except KeyError:
        raise UsageError(
            f"shellenv knows no console for the {partition} partition (it knows {', '.join(hosts)})"
        ) from None
