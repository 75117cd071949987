"""shellenv's Okta provider against the local Okta emulator: every factor, state, app choice and failure.

Prompts are answered on a real pseudo-terminal; a person's phone (push approval, device-code
confirmation) is the emulator's test endpoint, answered from a thread while the provider waits.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import stat
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pyotp
import pytest

from shellenv import paths
from shellenv.config import IdpConfig
from shellenv.errors import (
    AccountLockedError,
    AuthenticationError,
    ConfigError,
    ExitCode,
    IdpDeniedError,
    MfaError,
    NetworkError,
    RateLimitedError,
    ServiceError,
    ShellenvError,
)
from shellenv.providers.base import SamlResponse, Secrets
from shellenv.providers.okta import Okta
from shellenv.saml import parse
from shellenv.sandbox import okta as emulator
from tests.pty_helper import ScriptedTty

ALICE_PASSWORD = emulator.PASSWORDS[emulator.ALICE]
AWS = "https://signin.aws.amazon.com/saml"


def totp(seed: str) -> str:
    return pyotp.TOTP(seed).now()


class Run:
    """One login by the provider, with its terminal: the answer or the error, and what was shown."""

    def __init__(self, sandbox: Any, script: list[tuple[str, str]] = (), *,  # type: ignore[assignment]
                 on_screen: Callable[[ScriptedTty], None] | None = None, **settings: Any) -> None:
        self.tty = ScriptedTty(script)
        self.idp = IdpConfig("okta", "okta", sandbox.settings(**settings))
        terminal = self.tty.terminal()
        self.secrets = Secrets(self.idp, terminal)
        self.provider = Okta(self.idp, terminal, self.secrets, sleep=lambda _: time.sleep(0.02),
                             open_browser=lambda url: None)
        self.helper = threading.Thread(target=on_screen, args=(self.tty,), daemon=True) \
            if on_screen else None

    def __call__(self) -> SamlResponse:
        if self.helper:
            self.helper.start()
        try:
            return self.provider.fetch_assertion()
        finally:
            self.tty.wait_quiet(0.05)
            self.tty.close()

    @property
    def stderr(self) -> str:
        return self.tty.stderr.getvalue()

    @property
    def screen(self) -> str:
        return self.tty.screen


def login(sandbox: Any, script: list[tuple[str, str]] = (), **settings: Any) -> SamlResponse:  # type: ignore[assignment]
    return Run(sandbox, script, **settings)()


def fails(kind: type[ShellenvError], run: Run, pattern: str) -> ShellenvError:
    with pytest.raises(kind) as caught:
        run()
    assert re.search(pattern, caught.value.message), caught.value.message
    assert "\n" not in caught.value.message
    return caught.value


def roles_of(response: SamlResponse) -> set[str]:
    return {role.role_arn for role in parse(response.assertion).roles}


def in_thread(action: Callable[[], Any], *, until: Callable[[Any], bool] = bool) -> Callable[..., None]:
    """A screen helper that retries `action` (e.g. answering a push) until it succeeds."""
    def run(_tty: ScriptedTty) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if until(action()):
                    return
            except Exception:  # noqa: BLE001 - 404 until the push or code exists
                pass
            time.sleep(0.05)
    return run


def type_outbox_code(sandbox: Any, prompt: str = "Code from") -> Callable[[ScriptedTty], None]:
    """Type the code the emulator "sent" once the provider asks for it, as the person would."""
    def run(tty: ScriptedTty) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and prompt not in tty.screen:
            time.sleep(0.02)
        code = sandbox.outbox()[-1]["code"]
        os.write(tty.master, code.encode() + b"\n")
    return run


# -- factors --------------------------------------------------------------------------------------------


def test_google_authenticator_code_from_the_stored_seed(okta_sandbox: Any) -> None:
    response = login(okta_sandbox)
    assert response.destination == AWS
    assert "arn:aws:iam::111111111111:role/Admin" in roles_of(response)
    assert all(":111111111111:" in arn for arn in roles_of(response))
    assert okta_sandbox.stats()["logins"] == 1


def test_okta_verify_code_typed_at_the_prompt(okta_sandbox: Any) -> None:
    run = Run(okta_sandbox, [("Code from Okta Verify: $", totp(emulator.OKTA_VERIFY_SEED))],
              mfa="okta-totp", totp_secret=None)
    assert run().destination == AWS
    assert totp(emulator.OKTA_VERIFY_SEED) not in run.stderr


def test_push_with_number_matching_shows_the_number(okta_sandbox: Any) -> None:
    answers: list[Any] = []

    def approve() -> Any:
        answer = okta_sandbox.push("approve")
        answers.append(answer)
        return answer

    run = Run(okta_sandbox, mfa="push", totp_secret=None, on_screen=in_thread(approve))
    assert run().destination == AWS
    number = answers[-1]["correctAnswer"]
    assert f"tap {number} in Okta Verify" in run.stderr
    assert "approved" in run.stderr


def test_push_without_number_matching(okta_sandbox: Any) -> None:
    okta_sandbox.configure(number_matching=False)
    run = Run(okta_sandbox, mfa="push", on_screen=in_thread(lambda: okta_sandbox.push("approve")))
    run()
    assert "tap" not in run.stderr


@pytest.mark.parametrize(("action", "words"), [("reject", "rejected"), ("timeout", "expired")])
def test_push_rejected_or_timed_out_is_one_clear_error(okta_sandbox: Any, action: str,
                                                       words: str) -> None:
    run = Run(okta_sandbox, mfa="push", on_screen=in_thread(lambda: okta_sandbox.push(action)))
    error = fails(MfaError, run, words)
    assert error.exit_code == ExitCode.MFA


def test_ctrl_c_while_waiting_for_a_push_offers_a_code(okta_sandbox: Any) -> None:
    main = threading.main_thread().ident
    assert main is not None

    def interrupt(_tty: ScriptedTty) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and okta_sandbox.stats()["pushes_sent"] == 0:
            time.sleep(0.02)
        time.sleep(0.1)
        signal.pthread_kill(main, signal.SIGINT)

    run = Run(okta_sandbox, [("Pick", "Google")], mfa="push", on_screen=interrupt)
    assert run().destination == AWS
    assert "stopped waiting for the push" in run.stderr
    assert "Use a code instead" in run.screen


@pytest.mark.parametrize("kind", ["sms", "call", "email"])
def test_codes_sent_by_sms_call_and_email(okta_sandbox: Any, kind: str) -> None:
    run = Run(okta_sandbox, mfa=kind, totp_secret=None, on_screen=type_outbox_code(okta_sandbox))
    assert run().destination == AWS
    assert okta_sandbox.outbox()[-1]["factor"] == kind
    assert "Okta sent a code" in run.stderr


def test_yubikey_otp(okta_sandbox: Any) -> None:
    run = Run(okta_sandbox, [("Code from YubiKey", emulator.yubikey_otp())], mfa="yubikey",
              totp_secret=None)
    assert run().destination == AWS


def test_factor_picker_lists_only_factors_a_terminal_can_use(okta_sandbox: Any) -> None:
    script = [("Pick", "Google"), ("Code from Google Authenticator: $", totp(emulator.GOOGLE_SEED))]
    run = Run(okta_sandbox, script, mfa=None, totp_secret=None)
    run()
    assert "Okta Verify push to Alice's iPhone" in run.screen
    assert "YubiKey" in run.screen
    assert "Security Key" not in run.screen and "webauthn" not in run.screen


def test_a_mistyped_code_may_be_typed_again(okta_sandbox: Any) -> None:
    good = totp(emulator.GOOGLE_SEED)
    bad = f"{(int(good) + 500000) % 1000000:06d}"
    run = Run(okta_sandbox, [("Code from", bad), ("Code from", good)], totp_secret=None)
    assert run().destination == AWS
    assert "refused that code" in run.stderr


def test_three_wrong_codes_end_the_login(okta_sandbox: Any) -> None:
    script = [("Code from", "000001"), ("Code from", "000002"), ("Code from", "000003")]
    fails(MfaError, Run(okta_sandbox, script, totp_secret=None),
          "refused 3 codes from Google Authenticator; run this again")


def test_a_wrong_stored_seed_is_not_retried(okta_sandbox: Any) -> None:
    fails(MfaError, Run(okta_sandbox, totp_secret="GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
          "stored totp_secret")
    assert okta_sandbox.stats()["verify_calls"] == 1


def test_too_many_wrong_codes_lock_the_account(okta_sandbox: Any) -> None:
    for _ in range(emulator.MFA_LOCKOUT_AFTER - 1):
        fails(MfaError, Run(okta_sandbox, totp_secret="GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"), "seed")
    error = fails(AccountLockedError, Run(okta_sandbox, totp_secret="GEZDGNBVGY3TQOJQGEZDGNBV"
                                          "GY3TQOJQ"), "locked")
    assert error.exit_code == ExitCode.LOCKED


# -- transaction states ----------------------------------------------------------------------------------


def test_a_user_without_factors_gets_in_with_the_password(okta_sandbox: Any) -> None:
    response = login(okta_sandbox, username=emulator.NOMFA,
                     password=emulator.PASSWORDS[emulator.NOMFA])
    assert roles_of(response) == {"arn:aws:iam::111111111111:role/ReadOnly"}


def test_password_warning_is_shown_and_skipped(okta_sandbox: Any) -> None:
    run = Run(okta_sandbox, username=emulator.WARN, password=emulator.PASSWORDS[emulator.WARN])
    assert run().destination == AWS
    assert "password expires in 3 days" in run.stderr


@pytest.mark.parametrize(("login_name", "kind", "words"), [
    (emulator.EXPIRED, AccountLockedError, "password of .* has expired"),
    (emulator.RECOVERY, AccountLockedError, "password recovery"),
    (emulator.ENROLL, IdpDeniedError, "set up a second factor"),
    (emulator.LOCKED, AccountLockedError, "is locked"),
])
def test_states_a_terminal_cannot_finish(okta_sandbox: Any, login_name: str, kind: type,
                                         words: str) -> None:
    run = Run(okta_sandbox, username=login_name, password=emulator.PASSWORDS[login_name])
    fails(kind, run, words)


@pytest.mark.parametrize(("status", "kind", "words"), [
    ("PASSWORD_RESET", AccountLockedError, "reset the password"),
    ("RECOVERY_CHALLENGE", AccountLockedError, "recovery"),
    ("MFA_ENROLL_ACTIVATE", IdpDeniedError, "half set up"),
    ("UNAUTHENTICATED", MfaError, "ended the login"),
    ("SOME_FUTURE_STATE", ServiceError, "'SOME_FUTURE_STATE'.*browser"),
])
def test_every_other_state_gets_words_not_a_crash(okta_sandbox: Any, status: str, kind: type,
                                                  words: str) -> None:
    okta_sandbox.user_status(emulator.NOMFA, status)
    run = Run(okta_sandbox, username=emulator.NOMFA, password=emulator.PASSWORDS[emulator.NOMFA])
    fails(kind, run, words)


def test_a_rejected_password_is_dropped_and_never_retried(okta_sandbox: Any,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    run = Run(okta_sandbox, password="not-the-password")
    error = fails(AuthenticationError, run, "rejected the username or password")
    assert error.exit_code == ExitCode.AUTH
    assert okta_sandbox.stats()["password_failures"] == 1
    assert run.secrets._password is None
    assert "not-the-password" not in caplog.text + run.stderr + error.message


def test_a_typed_password_is_asked_on_the_terminal(okta_sandbox: Any) -> None:
    run = Run(okta_sandbox, [("Password for okta", ALICE_PASSWORD)], password=None)
    assert run().destination == AWS
    assert ALICE_PASSWORD not in run.screen + run.stderr


# -- the AWS apps ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("pick", "account", "destination"), [
    ("AWS sandbox-prod", "222222222222", AWS),
    ("China", "111111111111", "https://signin.amazonaws.cn/saml"),
    ("GovCloud", "222222222222", "https://signin.amazonaws-us-gov.com/saml"),
])
def test_several_aws_apps_are_listed_and_one_is_chosen(okta_sandbox: Any, pick: str, account: str,
                                                       destination: str) -> None:
    run = Run(okta_sandbox, [("Pick", pick)], app_url=None)
    response = run()
    assert response.destination == destination
    assert all(f":{account}:" in arn for arn in roles_of(response))
    assert "Sandbox Wiki" not in run.screen
    assert run.screen.count("AWS ") >= 4


def test_one_aws_app_is_taken_without_asking(okta_sandbox: Any) -> None:
    run = Run(okta_sandbox, app_url=None, username=emulator.BOB,
              password=emulator.PASSWORDS[emulator.BOB], totp_secret=emulator.world.BOB_TOTP_SECRET)
    assert roles_of(run()) == {"arn:aws:iam::111111111111:role/ReadOnly"}
    assert "Pick" not in run.screen


def test_app_id_names_the_embed_link(okta_sandbox: Any) -> None:
    response = login(okta_sandbox, app_url=None, app_id=emulator.PROD_APP_ID)
    assert all(":222222222222:" in arn for arn in roles_of(response))


def test_step_up_page_is_reported_in_words(okta_sandbox: Any) -> None:
    okta_sandbox.app_mode(emulator.DEV_APP_ID, "step-up")
    error = fails(IdpDeniedError, Run(okta_sandbox), "extra verification")
    assert error.exit_code == ExitCode.IDP_DENIED


def test_error_page_is_reported_in_words(okta_sandbox: Any) -> None:
    okta_sandbox.app_mode(emulator.DEV_APP_ID, "error")
    fails(IdpDeniedError, Run(okta_sandbox), "did not open .*permission")


def test_an_app_not_assigned_is_reported(okta_sandbox: Any) -> None:
    run = Run(okta_sandbox, app_url=okta_sandbox.app_url(emulator.PROD_APP_ID),
              username=emulator.BOB, password=emulator.PASSWORDS[emulator.BOB],
              totp_secret=emulator.world.BOB_TOTP_SECRET)
    fails(IdpDeniedError, run, "not assigned")


# -- remembered device -----------------------------------------------------------------------------------


def test_a_remembered_device_skips_mfa_on_the_next_login(okta_sandbox: Any) -> None:
    login(okta_sandbox)
    assert okta_sandbox.stats()["verify_calls"] == 1
    login(okta_sandbox)
    stats = okta_sandbox.stats()
    assert stats["verify_calls"] == 1 and stats["mfa_skipped"] == 1 and stats["logins"] == 2
    folder = paths.state_dir("okta")
    files = list(folder.iterdir())
    assert len(files) == 1
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600


def test_remember_device_off_asks_every_time(okta_sandbox: Any) -> None:
    login(okta_sandbox, remember_device=False)
    login(okta_sandbox, remember_device=False)
    assert okta_sandbox.stats()["verify_calls"] == 2
    assert not paths.state_dir("okta").exists()


# -- failures --------------------------------------------------------------------------------------------


def test_rate_limit(okta_sandbox: Any) -> None:
    okta_sandbox.fail("/api/v1/authn", 429)
    error = fails(RateLimitedError, Run(okta_sandbox), r"too many requests; try again in (59|60) seconds")
    assert error.exit_code == ExitCode.RATE_LIMITED


def test_server_error(okta_sandbox: Any) -> None:
    okta_sandbox.fail("/api/v1/authn/factors/*", 503)
    fails(ServiceError, Run(okta_sandbox), "server error .*503")


def test_unreachable_org(okta_sandbox: Any) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    fails(NetworkError, Run(okta_sandbox, org_url=f"http://127.0.0.1:{port}"), "could not reach")


def test_org_url_must_be_an_address(okta_sandbox: Any) -> None:
    with pytest.raises(ConfigError, match="org_url"):
        Run(okta_sandbox, org_url="example.okta.com")


# -- Identity Engine -------------------------------------------------------------------------------------


@pytest.fixture
def idx(okta_sandbox: Any) -> Iterator[Any]:
    okta_sandbox.configure(pipeline="idx", device_interval=0)
    yield okta_sandbox


def test_identity_engine_device_sign_in(idx: Any) -> None:
    run = Run(idx, client_id=emulator.OIDC_CLIENT_ID, password=None, totp_secret=None,
              on_screen=in_thread(lambda: idx.device("approve", username=emulator.ALICE)))
    response = run()
    assert response.destination == AWS
    assert "/activate?user_code=" in run.stderr
    stats = idx.stats()
    assert stats["device_authorizations"] == 1 and stats["token_exchanges"] == 1
    assert stats["authn_calls"] == 0


def test_identity_engine_denied_in_the_browser(idx: Any) -> None:
    run = Run(idx, client_id=emulator.OIDC_CLIENT_ID, on_screen=in_thread(lambda: idx.device("deny")))
    fails(MfaError, run, "denied in the browser")


def test_identity_engine_unknown_client(idx: Any) -> None:
    fails(ConfigError, Run(idx, client_id="0oa-nobody"), "client_id")


def test_identity_engine_without_native_sso_says_what_to_enable(idx: Any) -> None:
    idx.configure(native_sso=False)
    run = Run(idx, client_id=emulator.OIDC_CLIENT_ID,
              on_screen=in_thread(lambda: idx.device("approve")))
    fails(IdpDeniedError, run, "Token Exchange")


def test_identity_engine_without_client_id_says_what_the_admin_must_enable(idx: Any) -> None:
    fails(IdpDeniedError, Run(idx), "Identity Engine.*Device Authorization.*client_id")


def test_identity_engine_org_that_still_takes_classic_logins(idx: Any) -> None:
    idx.configure(classic_sso_on_idx=True)
    assert login(idx).destination == AWS
