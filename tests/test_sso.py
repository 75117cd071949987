"""shellenv's IAM Identity Center client against the emulator: device login, the shared token
cache, listing, role credentials, logout, the error for every refusal; botocore reads the cache."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from shellenv.config import IdpConfig
from shellenv.errors import (
    ExitCode,
    MfaError,
    NeedsLoginError,
    NotFoundError,
    RateLimitedError,
    ShellenvError,
)
from shellenv.providers.sso import IdentityCenter, SsoRole, token_cache_key
from shellenv.sandbox import sso as emulator
from shellenv.terminal import Terminal
from tests.pty_helper import ScriptedTty
from tests.sso_fixtures import SESSION_NAME

NO_BROWSER: Any = lambda url: False  # noqa: E731 - tests never open a browser


@pytest.fixture
def tty() -> Any:
    scripted = ScriptedTty()
    yield scripted
    scripted.close()


def center(
    sso: Any, tty: Any, clock: Any = None, *, max_attempts: int = 3, **settings: Any
) -> IdentityCenter:
    idp = IdpConfig(name="corp", type="sso", settings=sso.settings(**settings))
    seams: dict[str, Any] = {"browser": NO_BROWSER, "max_attempts": max_attempts}
    if clock is not None:
        seams.update(clock=clock, sleep=clock.sleep)
    return IdentityCenter(idp, tty.terminal(), **seams)


def approve_on(sso: Any, clock: Any, nth_sleep: int = 2, action: str = "approve") -> None:
    """The person approves (or denies) in the browser while the client is on its nth wait."""
    clock.on_sleep = lambda n: getattr(sso, action)() if n == nth_sleep else None


def cache_file(home: Path, name: str = SESSION_NAME) -> Path:
    return home / ".aws" / "sso" / "cache" / f"{token_cache_key('', name)}.json"


def test_device_login_lists_every_role_and_writes_the_shared_cache(
    sso: Any, sso_clock: Any, tty: Any, home: Path, capfd: Any
) -> None:
    approve_on(sso, sso_clock)
    roles = center(sso, tty, sso_clock).list_roles()

    expected = sum(len(names) for names in sso.state.assignments.values())
    assert len(roles) == expected > emulator.PAGE_SIZE * 3
    assert SsoRole("111111111111", "sandbox-dev", "Deploy") in roles
    assert roles[0].account_name == "sandbox-dev"  # sorted by account name
    assert sso.stats()["logins"] == 1 and sso.stats()["polls"] == 2

    path = cache_file(home)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    token = json.loads(path.read_text())
    assert set(token) == {
        "startUrl",
        "region",
        "accessToken",
        "expiresAt",
        "clientId",
        "clientSecret",
        "registrationExpiresAt",
        "refreshToken",
    }
    assert token["startUrl"] == sso.start_url and token["expiresAt"].endswith("Z")

    said = tty.stderr.getvalue()
    code = sso.state.devices and next(iter(sso.state.devices.values())).user_code
    assert code in said and f"{sso.oidc_url}/device" in said
    for secret in (token["accessToken"], token["refreshToken"], token["clientSecret"]):
        assert secret not in said
    out, _ = capfd.readouterr()
    assert out == ""  # stdout is the eval channel


def test_slow_down_backs_off_for_good(sso: Any, sso_clock: Any, tty: Any) -> None:
    sso.fail("CreateToken", "SlowDownException")
    approve_on(sso, sso_clock, nth_sleep=3)
    center(sso, tty, sso_clock).login()
    assert sso_clock.sleeps == [1, 1 + 5, 1 + 5]


@pytest.mark.parametrize(
    ("action", "words"), [("deny", "denied in the browser"), ("expire", "expired before")]
)
def test_denied_or_expired_device_code(
    sso: Any, sso_clock: Any, tty: Any, home: Path, action: str, words: str
) -> None:
    sso_clock.on_sleep = lambda n: sso.deny() if action == "deny" else sso.expire("devices")
    with pytest.raises(MfaError, match=words) as caught:
        center(sso, tty, sso_clock).login()
    assert caught.value.exit_code == ExitCode.MFA
    assert not cache_file(home).exists()


def test_cached_login_is_reused_without_asking(sso: Any, sso_clock: Any, tty: Any) -> None:
    approve_on(sso, sso_clock)
    center(sso, tty, sso_clock).login()
    again = center(sso, tty, sso_clock)
    keys = again.role_credentials("222222222222", "ReadOnly")
    assert keys.role_arn == "arn:aws:iam::222222222222:role/ReadOnly" and keys.profile == ""
    assert 3500 < keys.seconds_left(dt.datetime.fromtimestamp(sso_clock(), dt.timezone.utc)) <= 3600
    assert sso.stats()["registrations"] == 1 and sso.stats()["logins"] == 1


def test_near_expiry_token_is_refreshed(sso: Any, sso_clock: Any, tty: Any, home: Path) -> None:
    approve_on(sso, sso_clock)
    center(sso, tty, sso_clock).login()
    before = json.loads(cache_file(home).read_text())
    sso_clock.offset += emulator.TOKEN_LIFETIME - 600  # ten minutes left: inside the refresh window

    center(sso, tty, sso_clock).list_roles()
    after = json.loads(cache_file(home).read_text())
    assert sso.stats()["refreshes"] == 1 and sso.stats()["logins"] == 1
    assert after["accessToken"] != before["accessToken"]
    assert after["refreshToken"] != before["refreshToken"]
    assert after["clientId"] == before["clientId"]


def test_token_revoked_elsewhere_is_refreshed_then_relogged(
    sso: Any, sso_clock: Any, tty: Any
) -> None:
    approve_on(sso, sso_clock)
    center(sso, tty, sso_clock).login()
    sso.expire("tokens")  # the cache still says hours left; the portal says no
    center(sso, tty, sso_clock).role_credentials("111111111111", "Admin")
    assert sso.stats()["refreshes"] == 1 and sso.stats()["logins"] == 1

    sso.expire("tokens")
    sso.expire("refresh_tokens")
    approve_on(sso, sso_clock, nth_sleep=len(sso_clock.sleeps) + 1)
    center(sso, tty, sso_clock).role_credentials("111111111111", "Admin")
    assert sso.stats()["logins"] == 2


def test_no_terminal_means_needs_login(sso: Any, tmp_path: Path) -> None:
    idp = IdpConfig(name="corp", type="sso", settings=sso.settings())
    client = IdentityCenter(idp, Terminal(tty_path=str(tmp_path / "no-tty")), browser=NO_BROWSER)
    with pytest.raises(NeedsLoginError, match="needs a terminal"):
        client.list_roles()
    assert sso.stats().get("device_authorizations", 0) == 0


def test_refusals_in_words(sso: Any, sso_clock: Any, tty: Any) -> None:
    approve_on(sso, sso_clock)
    client = center(sso, tty, sso_clock)
    with pytest.raises(NotFoundError, match="role Billing in account 111111111111 is not assigned"):
        client.role_credentials("111111111111", "Billing")

    impatient = center(sso, tty, sso_clock, max_attempts=1)
    sso.fail("ListAccounts", "TooManyRequestsException")
    with pytest.raises(RateLimitedError, match="too many requests") as caught:
        impatient.list_roles()
    assert caught.value.exit_code == ExitCode.RATE_LIMITED

    sso.fail("ListAccounts", "TooManyRequestsException")
    assert client.list_roles()  # botocore's retry rides out one throttle


def test_unreachable_portal(sso: Any, tty: Any) -> None:
    closed = "http://127.0.0.1:9"  # nothing listens on the discard port
    client = center(sso, tty, max_attempts=1, oidc_url=closed, portal_url=closed)
    with pytest.raises(ShellenvError, match="could not reach IAM Identity Center") as caught:
        client.login()
    assert caught.value.exit_code == ExitCode.NETWORK


def test_logout_ends_the_session_and_forgets_it(
    sso: Any, sso_clock: Any, tty: Any, home: Path
) -> None:
    approve_on(sso, sso_clock)
    client = center(sso, tty, sso_clock)
    client.login()
    token = json.loads(cache_file(home).read_text())["accessToken"]
    client.logout()
    assert not cache_file(home).exists()
    assert sso.stats()["logouts"] == 1
    assert sso.state.tokens[token].revoked
    client.logout()  # nothing left: no error


def test_cache_written_the_aws_cli_way_is_used(
    sso: Any, sso_clock: Any, tty: Any, home: Path
) -> None:
    """A legacy profile's cache (sha1 of the start URL), with the `...UTC` stamps of older CLIs."""
    approve_on(sso, sso_clock)
    center(sso, tty, sso_clock).login()  # a real token from the emulator, then rewritten by hand
    token = json.loads(cache_file(home).read_text())["accessToken"]
    expires = dt.datetime.fromtimestamp(sso_clock() + 3600, dt.timezone.utc)
    legacy = home / ".aws" / "sso" / "cache" / f"{token_cache_key(sso.start_url, None)}.json"
    legacy.write_text(
        json.dumps(
            {
                "startUrl": sso.start_url,
                "region": sso.region,
                "accessToken": token,
                "expiresAt": expires.strftime("%Y-%m-%dT%H:%M:%SUTC"),
            }
        )
    )
    cache_file(home).unlink()

    client = center(sso, tty, sso_clock, session_name=None)
    assert client.role_credentials("111111111111", "ReadOnly").account_id == "111111111111"
    assert sso.stats()["logins"] == 1 and sso.stats()["registrations"] == 1


BOTO = textwrap.dedent(
    """
    import json, sys, boto3
    session = boto3.Session(profile_name=sys.argv[1])
    keys = session.get_credentials().get_frozen_credentials()
    identity = session.client("sts").get_caller_identity()
    print(json.dumps({"arn": identity["Arn"], "key": keys.access_key}))
    """
)


def run_boto(sso: Any, home: Path, profile: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        sso.env(),
        HOME=str(home),
        AWS_CONFIG_FILE=str(home / ".aws" / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / ".aws" / "credentials"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    done = subprocess.run(
        [sys.executable, "-c", BOTO, profile], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_botocore_reads_shellenv_login_and_shellenv_reads_botocore_refresh(
    sso: Any, tty: Any, home: Path
) -> None:
    (home / ".aws").mkdir(mode=0o700, exist_ok=True)
    (home / ".aws" / "config").write_text(sso.aws_config("dev-admin", "111111111111", "Admin"))
    sso.auto_approve()
    center(sso, tty, max_attempts=1).login()  # shellenv signs in; real clock, one 1 s poll

    seen = run_boto(sso, home, "dev-admin")  # a boto3 session on an sso_session profile
    assert seen["arn"] == "arn:aws:sts::111111111111:assumed-role/Admin/alice@example.com"
    assert seen["key"] == sso.state.issued_keys[-1]
    assert sso.stats()["logins"] == 1

    # Ten minutes left: botocore refreshes with shellenv's refresh token and writes the file itself.
    path = cache_file(home)
    token = json.loads(path.read_text())
    soon = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=10)
    path.write_text(json.dumps(dict(token, expiresAt=soon.strftime("%Y-%m-%dT%H:%M:%SZ"))))
    run_boto(sso, home, "dev-admin")
    written = json.loads(path.read_text())
    assert sso.stats()["refreshes"] == 1 and written["accessToken"] != token["accessToken"]

    keys = center(sso, tty).role_credentials("111111111111", "ReadOnly")  # botocore's file, as is
    assert keys.role_arn.endswith(":role/ReadOnly")
    assert sso.stats()["refreshes"] == 1 and sso.stats()["logins"] == 1


def test_debug_logs_carry_no_secret(
    sso: Any, sso_clock: Any, tty: Any, home: Path, caplog: Any
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    approve_on(sso, sso_clock)
    client = center(sso, tty, sso_clock)
    keys = client.role_credentials("111111111111", "Admin")
    token = json.loads(cache_file(home).read_text())
    device_code = next(iter(sso.state.devices))
    assert "IAM Identity Center issued" in caplog.text
    for secret in (token["accessToken"], token["refreshToken"], token["clientSecret"], device_code,
                   keys.secret_access_key, keys.session_token, keys.access_key_id):
        assert secret not in caplog.text
