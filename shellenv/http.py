"""One HTTP session for talking to identity providers, and the translation of its failures into words.

Providers build their session here, so time-outs, TLS settings and error messages are the same for all of
them. Nothing here logs a request or response body: they carry passwords, tokens and assertions.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from shellenv import __version__
from shellenv.errors import NetworkError, RateLimitedError, ServiceError, TlsError

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

TIMEOUT = (10, 30)  # seconds to connect, seconds to wait for an answer


def session(*, ca_bundle: str | None = None) -> requests.Session:
    """A requests session with shellenv's user agent and, if given, a private CA bundle to verify TLS with."""
    import requests

    http = requests.Session()
    http.headers["User-Agent"] = f"shellenv/{__version__}"
    if ca_bundle:
        http.verify = ca_bundle
    return http


def request(http: requests.Session, method: str, url: str, *, what: str, **kwargs: Any) -> requests.Response:
    """Send a request; turn connection, TLS, time-out, 429 and 5xx failures into errors naming `what`.

    `what` names the service for the user, e.g. "OneLogin at https://api.us.onelogin.com".
    Other statuses are returned for the caller to read.
    """
    import requests

    kwargs.setdefault("timeout", TIMEOUT)
    # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's own `verify` (psf/requests#4726),
    # which would silently drop the idp's ca_bundle: pass it per request, where it wins.
    kwargs.setdefault("verify", http.verify)
    log.debug("%s %s", method, url)
    try:
        response = http.request(method, url, **kwargs)
    except requests.exceptions.SSLError as exc:
        raise TlsError(
            f"could not verify the TLS certificate of {what}: {_reason(exc)}; "
            "if it uses a private CA, set ca_bundle in the idp's config"
        ) from None
    except requests.exceptions.Timeout:
        raise NetworkError(f"{what} did not answer in time; check your network and try again") from None
    except requests.exceptions.ConnectionError as exc:
        raise NetworkError(f"could not reach {what}: {_reason(exc)}") from None
    except requests.exceptions.RequestException as exc:
        raise NetworkError(f"request to {what} failed: {_reason(exc)}") from None
    log.debug("%s %s -> %d", method, url, response.status_code)
    if response.status_code == 429:
        wait = _retry_after(response.headers)
        when = f"in {wait} seconds" if wait is not None else "later"
        raise RateLimitedError(f"{what} says too many requests; try again {when}")
    if response.status_code >= 500:
        raise ServiceError(f"{what} had a server error (HTTP {response.status_code}); try again later")
    return response


def json_body(response: requests.Response, *, what: str) -> Any:
    """The JSON body of a response, or a ServiceError that says the answer was unreadable."""
    try:
        return response.json()
    except ValueError:
        raise ServiceError(
            f"{what} answered HTTP {response.status_code} with something that is not JSON"
        ) from None


def _retry_after(headers: Any) -> int | None:
    """Seconds to wait, from Retry-After (OneLogin, AWS) or Okta's X-Rate-Limit-Reset (an epoch time)."""
    import time

    retry = headers.get("Retry-After", "")
    if retry.isdigit():
        return int(retry)
    reset = headers.get("X-Rate-Limit-Reset", "")
    if reset.isdigit():
        return max(1, int(reset) - int(time.time()))
    return None


def _reason(exc: BaseException) -> str:
    """The innermost cause of a requests failure, in one short line."""
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
