"""The OneLogin provider against the emulator: every kind of factor, both API versions, every refusal.

Questions are answered on a real pseudo-terminal; pushes are approved through the emulator's test endpoint.
"""

from __future__ import annotations

import threading
import time
import urllib.error

import pyotp
import pytest
from pty_helper import ScriptedTty

from shellenv import saml
from shellenv.config import IdpConfig
from shellenv.errors import (
    AccountLockedError,
    AuthenticationError,
    ConfigError,
    IdpDeniedError,
    MfaError,
    NetworkError,
    RateLimitedError,
    ServiceError,
    ShellenvError,
    TlsError,
)
from shellenv.providers import provider_class
from shellenv.providers.base import Secrets
from shellenv.providers.onelogin import OneLogin
from shellenv.sandbox import onelogin as ol
from shellenv.sandbox.serve import Server

CODE_PROMPT = r"Code from .*: $"


class Later:
    """An answer computed when the prompt appears (the pty helper types whatever .encode() gives)."""

    def __init__(self, compute) -> None:
        self.compute = compute

    def encode(self) -> bytes:
        return self.compute().encode()


def totp(seed: str = ol.TOTP_SEED) -> Later:
    return Later(lambda: pyotp.TOTP(seed).now())


class RecordingSecrets(Secrets):
    """The real Secrets, counting how often the provider said the password was refused."""

    rejected = 0

    def reject_password(self) -> None:
        self.rejected += 1
        super().reject_password()


@pytest.fixture
def login(onelogin_sandbox):
    """login(script, **settings) -> (assertion, tty, secrets); raises what the provider raises."""
    ttys = []

    def run(script=(), *, push_timeout=5.0, timeout=(2.0, 5.0), **settings):
        tty = ScriptedTty(script)
        ttys.append(tty)
        idp = IdpConfig("work", "onelogin", onelogin_sandbox.settings(**settings))
        terminal = tty.terminal()
        secrets = RecordingSecrets(idp, terminal)
        provider = OneLogin(
            idp, terminal, secrets, push_timeout=push_timeout, push_interval=0.05, timeout=timeout
        )
        run.tty, run.secrets = tty, secrets
        run.response = provider.fetch_assertion()
        return saml.parse(run.response.assertion), tty

    yield run
    for tty in ttys:
        tty.close()


def fails(login, error: type[ShellenvError], *words: str, script=(), **settings) -> str:
    """Run a login that must fail with `error`; check its one-line message names `words`."""
    with pytest.raises(error) as caught:
        login(script, **settings)
    message = caught.value.message
    assert "\n" not in message
    for secret in (*ol.PASSWORDS.values(), ol.CLIENT_SECRET, ol.TOTP_SEED):
        assert secret not in message
    for word in words:
        assert word in message
    return message


def approve_soon(sandbox, verdict: str = "approve") -> threading.Thread:
    """A person approving (or denying) the push on their phone, once it has arrived."""

    def act():
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                sandbox.call("POST", f"/__sandbox/push/latest/{verdict}", {})
                return
            except urllib.error.HTTPError:
                time.sleep(0.05)

    thread = threading.Thread(target=act, daemon=True)
    thread.start()
    return thread


def dev_roles(assertion: saml.Assertion) -> set[str]:
    return {role.role_arn for role in assertion.roles}


# -- logins ----------------------------------------------------------------------------------------


def test_registry_names_this_class():
    assert provider_class("onelogin") is OneLogin


@pytest.mark.parametrize("version", [1, 2])
def test_login_without_mfa(login, onelogin_sandbox, version):
    assertion, _ = login(username=ol.BOB, password=ol.PASSWORDS[ol.BOB], api_version=version)
    assert dev_roles(assertion) == {"arn:aws:iam::111111111111:role/ReadOnly"}
    assert onelogin_sandbox.stats()["assertions_issued"] == 1


@pytest.mark.parametrize("version", [1, 2])
def test_typed_authenticator_code(login, version):
    assertion, tty = login([(CODE_PROMPT, totp())], mfa="totp", api_version=version)
    assert len(assertion.roles) == 3
    assert "Code from your authenticator app" in tty.screen


@pytest.mark.parametrize("version", [1, 2])
def test_authenticator_code_from_the_stored_seed_needs_no_question(login, version):
    assertion, tty = login(totp_secret=ol.TOTP_SEED, api_version=version)
    assert assertion.roles and tty.screen == ""


def test_password_is_asked_on_the_terminal_when_not_stored(login):
    script = [(r"Password for work: $", ol.PASSWORDS[ol.BOB])]
    assertion, tty = login(script, username=ol.BOB, password=None)
    assert assertion.roles
    assert ol.PASSWORDS[ol.BOB] not in tty.screen  # typed with echo off


def test_an_empty_password_is_never_sent(login, onelogin_sandbox):
    fails(login, AuthenticationError, "no password was entered for work",
          script=[(r"Password for work: $", "")], username=ol.BOB, password=None)
    assert onelogin_sandbox.stats()["saml_assertion_calls"] == 0  # no failed attempt toward a lockout


def test_protect_code(login):
    assertion, tty = login([(CODE_PROMPT, totp(ol.PROTECT_SEED))], mfa="protect-code")
    assert assertion.roles and "Code from OneLogin Protect" in tty.screen


@pytest.mark.parametrize("version", [1, 2])
def test_protect_push_approved(login, onelogin_sandbox, version):
    approve_soon(onelogin_sandbox)
    assertion, tty = login(mfa="push", api_version=version)
    assert assertion.roles
    assert "the OneLogin Protect push approved" in tty.stderr.getvalue()


def test_only_factor_protect_is_pushed_without_asking(login, onelogin_sandbox):
    approve_soon(onelogin_sandbox)
    assertion, tty = login(username=ol.DAVE, password=ol.PASSWORDS[ol.DAVE])
    assert assertion.roles and tty.screen == ""


def test_protect_push_denied(login, onelogin_sandbox):
    approve_soon(onelogin_sandbox, "deny")
    fails(login, MfaError, "denied", mfa="push")


def test_protect_push_timed_out_falls_back_to_a_code(login, onelogin_sandbox):
    assertion, tty = login([(CODE_PROMPT, totp(ol.PROTECT_SEED))], mfa="push", push_timeout=0.3)
    assert assertion.roles
    assert "was not answered within" in tty.stderr.getvalue()
    assert "Code from OneLogin Protect: " in tty.screen


@pytest.mark.parametrize("version", [1, 2])
def test_yubikey(login, version):
    assertion, _ = login([(CODE_PROMPT, ol.YUBIKEY_OTP)], mfa="yubikey", api_version=version)
    assert assertion.roles


@pytest.mark.parametrize("mfa, to", [("sms", "+1 555 0100"), ("email", ol.ALICE)])
@pytest.mark.parametrize("version", [1, 2])
def test_sms_and_email_codes(login, onelogin_sandbox, mfa, to, version):
    code = Later(lambda: onelogin_sandbox.outbox(to)[-1]["code"])
    assertion, tty = login([(CODE_PROMPT, code)], mfa=mfa, api_version=version)
    assert assertion.roles
    assert "OneLogin sent a code" in tty.stderr.getvalue()


def test_factor_is_picked_on_the_terminal_when_not_configured(login):
    script = [(r"Pick 1-5: $", "1"), (CODE_PROMPT, totp())]
    assertion, tty = login(script)
    assert assertion.roles
    assert "OneLogin Protect (push)" in tty.screen


def test_a_wrong_code_may_be_retyped_once(login):
    assertion, tty = login([(CODE_PROMPT, "000000"), (CODE_PROMPT, totp())], mfa="totp")
    assert assertion.roles
    assert "rejected that code" in tty.stderr.getvalue()


def test_two_wrong_codes_end_the_login(login):
    fails(
        login,
        MfaError,
        "rejected the code",
        "Google Authenticator",
        script=[(CODE_PROMPT, "000000"), (CODE_PROMPT, "000001")],
        mfa="totp",
    )


def test_a_wrong_seed_is_named(login):
    fails(login, MfaError, "totp_secret", totp_secret="A" * 32)


def test_a_seed_that_is_not_base32_is_a_config_error(login):
    fails(login, ConfigError, "totp_secret", "base32", totp_secret="not a seed!")


def test_expired_login_says_start_over(login, onelogin_sandbox):
    def late_code():
        onelogin_sandbox.advance(ol.STATE_TOKEN_SECONDS + 1)
        return pyotp.TOTP(ol.TOTP_SEED).now()

    fails(login, MfaError, "start over", script=[(CODE_PROMPT, Later(late_code))], mfa="totp")


def test_other_app_other_organization(login):
    assertion, _ = login(totp_secret=ol.TOTP_SEED, app_id=ol.PROD_APP_ID)
    assert {role.account_id for role in assertion.roles} == {"222222222222"}


def test_assertion_buys_keys_from_the_sandbox_sts(login, sts_server):
    assertion, _ = login(totp_secret=ol.TOTP_SEED)
    role = next(r for r in assertion.roles if r.name == "Deploy")
    answer = sts_server.client().assume_role_with_saml(
        RoleArn=role.role_arn, PrincipalArn=role.principal_arn, SAMLAssertion=login.response.assertion
    )
    assert answer["AssumedRoleUser"]["Arn"].endswith(f":assumed-role/Deploy/{ol.ALICE}")


def test_allow_listed_address_skips_mfa(login):
    assertion, tty = login(ip_address=ol.MFA_BYPASS_IP)
    assert assertion.roles and tty.screen == ""


# -- refusals --------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [1, 2])
def test_wrong_password_is_dropped_and_never_retried(login, onelogin_sandbox, version):
    fails(
        login, AuthenticationError, "username or password", ol.ALICE, password="not-it", api_version=version
    )
    assert login.secrets.rejected == 1
    assert onelogin_sandbox.stats()["saml_assertion_calls"] == 1


@pytest.mark.parametrize("version", [1, 2])
def test_locked_account(login, version):
    fails(
        login,
        AccountLockedError,
        "locked",
        ol.LOCKED_USER,
        username=ol.LOCKED_USER,
        password=ol.PASSWORDS[ol.LOCKED_USER],
        api_version=version,
    )
    assert login.secrets.rejected == 0


def test_ip_not_allowed(login):
    fails(login, IdpDeniedError, "network", username=ol.OFFICE_USER, password=ol.PASSWORDS[ol.OFFICE_USER])


def test_ip_address_setting_is_sent(login):
    assertion, _ = login(
        username=ol.OFFICE_USER, password=ol.PASSWORDS[ol.OFFICE_USER], ip_address=ol.OFFICE_IP
    )
    assert assertion.roles


@pytest.mark.parametrize("version", [1, 2])
def test_unknown_app_names_the_app_id(login, version):
    fails(login, ConfigError, ol.UNKNOWN_APP_ID, "app_id", app_id=ol.UNKNOWN_APP_ID, api_version=version)


def test_app_not_assigned(login):
    fails(
        login,
        IdpDeniedError,
        "administrator",
        username=ol.BOB,
        password=ol.PASSWORDS[ol.BOB],
        app_id=ol.PROD_APP_ID,
    )


def test_unknown_subdomain(login):
    fails(login, ConfigError, "subdomain", subdomain="elsewhere")


def test_wrong_client_secret(login):
    fails(login, ConfigError, "client_id", "client_secret", client_secret="nope")


def test_rate_limited(login, onelogin_sandbox):
    onelogin_sandbox.fail("/api/2/saml_assertion", 429, retry_after=17)
    fails(login, RateLimitedError, "17 seconds")


@pytest.mark.parametrize(
    "path", ["/auth/oauth2/v2/token", "/api/2/saml_assertion", "/api/2/saml_assertion/verify_factor"]
)
def test_server_error(login, onelogin_sandbox, path):
    onelogin_sandbox.fail(path, 503)
    fails(login, ServiceError, "HTTP 503", totp_secret=ol.TOTP_SEED)


def test_slow_answer_times_out(login, onelogin_sandbox):
    onelogin_sandbox.fail("/api/2/saml_assertion", None, delay=1.0)
    fails(login, NetworkError, "did not answer in time", timeout=(1.0, 0.3))


def test_unreachable(login):
    with Server(lambda environ, start: []) as gone:
        url = gone.url
    fails(login, NetworkError, "could not reach", base_url=url)


def test_untrusted_certificate(login, onelogin_server):
    with Server(onelogin_server.app, ssl_context="adhoc") as tls:
        fails(login, TlsError, "certificate", "ca_bundle", base_url=tls.url)


@pytest.mark.parametrize(
    "settings, words",
    [
        ({"api_version": 3}, ["api_version"]),
        ({"base_url": None, "region": "mars"}, ["region"]),
        ({"base_url": "ftp://example.com"}, ["base_url"]),
        ({"mfa": "carrier-pigeon"}, ["mfa", "Google Authenticator"]),
    ],
)
def test_bad_settings(login, settings, words):
    fails(login, ConfigError, *words, **settings)


def test_region_picks_the_api_host(onelogin_sandbox):
    for region, host in (("us", "https://api.us.onelogin.com"), ("eu", "https://api.eu.onelogin.com")):
        idp = IdpConfig("work", "onelogin", onelogin_sandbox.settings(base_url=None, region=region))
        tty = ScriptedTty()
        terminal = tty.terminal()
        assert OneLogin(idp, terminal, Secrets(idp, terminal)).base_url == host
        tty.close()
