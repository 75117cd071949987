"""The saml-form provider against a real SimpleSAMLphp, and against small form IdPs for the odd cases.

Everything goes over HTTP to 127.0.0.1; the code is typed on a real pseudo-terminal; the assertions
SimpleSAMLphp signs are redeemed at the sandbox STS.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from pty_helper import ScriptedTty
from simplesamlphp_fixtures import CAROL_TOTP_SEED, PASSWORDS, ROLES, SimpleSamlPhp

from shellenv import saml
from shellenv.config import IdpConfig
from shellenv.errors import (
    AuthenticationError,
    ConfigError,
    ExitCode,
    IdpDeniedError,
    MfaError,
    ServiceError,
    ShellenvError,
    TlsError,
)
from shellenv.providers import FIELDS, provider_class
from shellenv.providers.base import SamlResponse, Secrets
from shellenv.providers.samlform import MAX_PAGES, SamlForm, parse_page
from shellenv.sandbox.serve import Server
from shellenv.terminal import Terminal

NO_TTY = "/nonexistent/tty"


class RecordingSecrets(Secrets):
    """The real Secrets, counting how often the provider says the password was refused."""

    rejected = 0

    def reject_password(self) -> None:
        self.rejected += 1
        super().reject_password()


def login(settings: dict[str, Any], terminal: Terminal | None = None) -> tuple[SamlResponse, Secrets]:
    idp = IdpConfig(name="test-idp", type="saml-form", settings=settings)
    terminal = terminal or Terminal(tty_path=NO_TTY)
    secrets = RecordingSecrets(idp, terminal)
    return SamlForm(idp, terminal, secrets).fetch_assertion(), secrets


def fails(settings: dict[str, Any], error: type[ShellenvError]) -> ShellenvError:
    with pytest.raises(error) as caught:
        login(settings)
    return caught.value


# -- the real SimpleSAMLphp ---------------------------------------------------------------------------


def test_the_registry_finds_the_provider() -> None:
    assert provider_class("saml-form") is SamlForm
    assert {"url", "username_field", "password_field", "code_field", "ca_bundle"} <= set(FIELDS["saml-form"])


def test_password_only_login(simplesamlphp: SimpleSamlPhp) -> None:
    response, _ = login(simplesamlphp.settings("bob"))

    assertion = saml.parse(response.assertion)
    assert [(r.role_arn, r.principal_arn) for r in assertion.roles] == ROLES["bob"]
    assert assertion.session_name == "bob@example.com"
    assert response.destination == "https://signin.aws.amazon.com/saml"
    assert saml.partition_of(response.destination) == "aws"


def test_a_user_with_several_roles_gets_them_all(simplesamlphp: SimpleSamlPhp) -> None:
    response, _ = login(simplesamlphp.settings("alice"))

    assertion = saml.parse(response.assertion)
    # One of alice's values is written provider-first; the parser puts every pair the right way round.
    assert sorted((r.role_arn, r.principal_arn) for r in assertion.roles) == sorted(ROLES["alice"])
    assert assertion.session_duration == 3600


def test_totp_page_answered_from_the_stored_seed(simplesamlphp: SimpleSamlPhp) -> None:
    response, _ = login(simplesamlphp.settings("carol"))

    assert [(r.role_arn, r.principal_arn) for r in saml.parse(response.assertion).roles] == ROLES["carol"]


def test_password_and_code_typed_on_the_terminal(simplesamlphp: SimpleSamlPhp) -> None:
    code = pyotp.TOTP(CAROL_TOTP_SEED).now()  # valid for this step and the next: the IdP allows one of skew
    tty = ScriptedTty([(r"Password for test-idp: ", PASSWORDS["carol"]), (r"Code from .*: ", code)])
    try:
        response, _ = login(simplesamlphp.settings("carol", password=None, totp_secret=None), tty.terminal())
    finally:
        tty.close()

    assert saml.parse(response.assertion).session_name == "carol@example.com"
    assert "Two-step verification" in tty.screen  # the prompt names the IdP's page
    assert PASSWORDS["carol"] not in tty.screen  # typed with echo off


def test_wrong_password_is_reported_in_the_idps_words(
    simplesamlphp: SimpleSamlPhp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "not-bobs-password-9f3"

    with pytest.raises(AuthenticationError) as caught:
        login(simplesamlphp.settings("bob", password=wrong))

    error = caught.value
    assert error.exit_code == ExitCode.AUTH
    assert "Incorrect username or password" in error.message
    assert "\n" not in error.message
    assert wrong not in error.message and wrong not in caplog.text


def test_a_rejected_password_is_dropped_and_never_retried(simplesamlphp: SimpleSamlPhp) -> None:
    idp = IdpConfig(
        name="test-idp", type="saml-form", settings=simplesamlphp.settings("bob", password="wrong-one")
    )
    terminal = Terminal(tty_path=NO_TTY)
    secrets = RecordingSecrets(idp, terminal)

    with pytest.raises(AuthenticationError):
        SamlForm(idp, terminal, secrets).fetch_assertion()

    assert secrets.rejected == 1


def test_wrong_code_from_the_seed(simplesamlphp: SimpleSamlPhp) -> None:
    other_seed = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"

    error = fails(simplesamlphp.settings("carol", totp_secret=other_seed), MfaError)

    assert "The verification code you entered is not valid" in error.message
    assert "totp_secret" in error.message  # says where to look
    assert other_seed not in error.message


def test_wrong_code_typed(simplesamlphp: SimpleSamlPhp) -> None:
    good = pyotp.TOTP(CAROL_TOTP_SEED)
    wrong = next(c for c in ("000000", "111111", "222222") if not good.verify(c, valid_window=1))
    tty = ScriptedTty([(r"Code from .*: ", wrong)])
    try:
        with pytest.raises(MfaError) as caught:
            login(simplesamlphp.settings("carol", totp_secret=None), tty.terminal())
    finally:
        tty.close()

    assert "not valid" in caught.value.message
    assert caught.value.exit_code == ExitCode.MFA


def test_an_invalid_seed_is_a_config_error(simplesamlphp: SimpleSamlPhp) -> None:
    error = fails(simplesamlphp.settings("carol", totp_secret="AAAA"), ConfigError)
    assert "totp_secret" in error.message


def test_an_sp_simplesamlphp_does_not_know_is_reported_by_its_page_title(
    simplesamlphp: SimpleSamlPhp,
) -> None:
    url = simplesamlphp.sso_url.replace("urn:amazon:webservices", "urn:example:nobody")

    error = fails(simplesamlphp.settings("bob", url=url), ServiceError)

    assert "'Metadata not found'" in error.message
    assert f"{simplesamlphp.url}/saml2/idp/SSOService.php " in error.message


def test_simplesamlphp_assertions_are_accepted_by_the_sandbox_sts(
    simplesamlphp: SimpleSamlPhp, simplesamlphp_sts: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shellenv import sts

    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", simplesamlphp_sts.url)
    response, _ = login(simplesamlphp.settings("alice"))
    assertion = saml.parse(response.assertion)

    for role in assertion.roles:
        keys = sts.assume_role_with_saml(role, response.assertion, region="eu-west-1", duration=None)
        who = sts.caller_identity(
            access_key_id=keys.access_key_id,
            secret_access_key=keys.secret_access_key,
            session_token=keys.session_token,
            region="eu-west-1",
        )
        assert who["Account"] == role.account_id
        assert who["Arn"] == f"arn:aws:sts::{role.account_id}:assumed-role/{role.name}/alice@example.com"
        assert keys.expiration - dt.datetime.now(dt.timezone.utc) > dt.timedelta(minutes=50)
    assert simplesamlphp_sts.app.assume_role_with_saml_calls >= len(assertion.roles)


def test_the_toml_snippet_is_a_valid_idp_table(simplesamlphp: SimpleSamlPhp) -> None:
    import tomllib

    table = tomllib.loads(simplesamlphp.toml("corp", user="carol"))["idp"]["corp"]
    assert table == simplesamlphp.settings("carol")
    assert set(table) <= set(FIELDS["saml-form"])


# -- small form IdPs for the cases a real IdP will not show on demand -------------------------------

PAGE = "<!doctype html><html><head><title>{title}</title></head><body>{body}</body></html>"


def _app(routes: dict[str, Callable[[Any], Any]]) -> Any:
    """A WSGI app from path -> handler(request) returning a werkzeug Response or an HTML string."""
    from werkzeug.wrappers import Request, Response

    @Request.application
    def app(request: Request) -> Response:
        handler = routes.get(request.path)
        if handler is None:
            return Response(
                PAGE.format(title="Not Found", body="<h1>Not Found</h1>"), 404, mimetype="text/html"
            )
        answer = handler(request)
        return answer if isinstance(answer, Response) else Response(answer, mimetype="text/html")

    return app


def _saml_page() -> str:
    from shellenv.sandbox import saml as sandbox_saml
    from shellenv.sandbox import world

    signer = sandbox_saml.Signer.generate()
    response = sandbox_saml.issue_response(
        signer, issuer="https://idp.test", name_id="dana", roles=list(world.ROLES)[:2], session_name="dana"
    )
    return sandbox_saml.form_page(response, action="https://signin.amazonaws.cn/saml")


@pytest.fixture(scope="module")
def saml_page() -> str:
    return _saml_page()


def _login_form(action: str = "/login", method: str = "post", extra: str = "") -> str:
    return (
        f'<form action="{action}" method="{method}">'
        '<input type="email" name="identifier"><input type="password" name="secret">'
        f'<input type="hidden" name="csrf" value="t0k">{extra}'
        '<button name="go" value="1">Sign in</button></form>'
    )


@pytest.fixture
def form_idp() -> Iterator[Callable[[dict[str, Callable[[Any], Any]]], str]]:
    """Serve a small form IdP made of the given routes; returns its URL."""
    servers: list[Server] = []

    def serve(routes: dict[str, Callable[[Any], Any]]) -> str:
        server = Server(_app(routes)).start()
        servers.append(server)
        return server.url

    yield serve
    for server in servers:
        server.stop()


def test_username_first_then_password_then_auto_post(form_idp: Any, saml_page: str) -> None:
    """A two-step login (username page, password page), then an intermediate auto-posting form."""
    seen: dict[str, Any] = {}

    def password_page(request: Any) -> str:
        seen["user"] = request.form.get("login_hint")
        return PAGE.format(
            title="Password",
            body='<form method="post" action="relay"><input type="password" name="pw"></form>',
        )

    def relay(request: Any) -> str:
        if "pw" in request.form:
            seen["pw"] = request.form["pw"]
            auto = '<form method="post" action="/final"><input type="hidden" name="step" value="2"></form>'
            return PAGE.format(title="Working...", body=auto + "<script>document.forms[0].submit()</script>")
        return "unexpected"

    def final(request: Any) -> str:
        seen["step"] = request.form.get("step")
        return saml_page

    url = form_idp(
        {
            "/start": lambda r: PAGE.format(
                title="Sign in",
                body='<form method="post" action="/sso/pw"><input name="login_hint" type="text"></form>',
            ),
            "/sso/pw": password_page,
            "/sso/relay": relay,
            "/final": final,
        }
    )

    response, _ = login({"type": "saml-form", "url": f"{url}/start", "username": "dana", "password": "pw-1"})

    assert seen == {"user": "dana", "pw": "pw-1", "step": "2"}
    assert saml.partition_of(response.destination) == "aws-cn"
    assert len(saml.parse(response.assertion).roles) == 2


def test_hidden_fields_and_the_named_button_are_kept(form_idp: Any, saml_page: str) -> None:
    posted: dict[str, str] = {}

    def check(request: Any) -> str:
        posted.update(request.form.to_dict())
        return saml_page

    url = form_idp(
        {"/login": lambda r: PAGE.format(title="Log in", body=_login_form("/check")), "/check": check}
    )

    login({"type": "saml-form", "url": f"{url}/login", "username": "dana", "password": "pw-2"})

    assert posted == {"identifier": "dana", "secret": "pw-2", "csrf": "t0k", "go": "1"}


def test_field_overrides(form_idp: Any, saml_page: str) -> None:
    """Fields no heuristic could guess, named in the config."""
    posted: dict[str, str] = {}
    body = (
        '<form method="post" action="/check"><input type="text" name="f1"><input type="text" name="f2">'
        '<input type="password" name="f3"><input type="password" name="f4"></form>'
    )

    def check(request: Any) -> str:
        posted.update(request.form.to_dict())
        if "f9" in request.form:
            return saml_page
        return PAGE.format(
            title="More", body='<form method="post" action="/check"><input name="f9"><input name="f8"></form>'
        )

    url = form_idp({"/login": lambda r: PAGE.format(title="Log in", body=body), "/check": check})
    settings = {
        "type": "saml-form",
        "url": f"{url}/login",
        "username": "dana",
        "password": "pw-3",
        "username_field": "f2",
        "password_field": "f4",
        "code_field": "f9",
        "totp_secret": CAROL_TOTP_SEED,
    }

    login(settings)

    assert posted["f2"] == "dana" and posted["f4"] == "pw-3"
    assert pyotp.TOTP(CAROL_TOTP_SEED).verify(posted["f9"], valid_window=1)


def test_an_error_box_marked_as_alert_is_quoted(form_idp: Any) -> None:
    def check(request: Any) -> str:
        alert = '<div role="alert"><span>Your password has expired.</span> Call the help desk.</div>'
        return PAGE.format(title="Log in", body=alert + _login_form("/check"))

    url = form_idp(
        {"/login": lambda r: PAGE.format(title="Log in", body=_login_form("/check")), "/check": check}
    )

    error = fails(
        {"type": "saml-form", "url": f"{url}/login", "username": "d", "password": "p"}, ShellenvError
    )

    assert error.exit_code == ExitCode.LOCKED
    assert "Your password has expired. Call the help desk." in error.message


def test_an_unknown_page_is_named_by_its_title_and_url(form_idp: Any) -> None:
    body = '<p>Pick a colour</p><form method="post"><input name="colour"><input name="shade"></form>'
    url = form_idp({"/sso": lambda r: PAGE.format(title="Choose your theme", body=body)})

    error = fails({"type": "saml-form", "url": f"{url}/sso?SAMLRequest=abc", "username": "d"}, ServiceError)

    assert f"'Choose your theme' at {url}/sso " in error.message
    assert "SAMLRequest" not in error.message
    assert error.exit_code == ExitCode.SERVICE


def test_a_refusal_is_idp_denied(form_idp: Any) -> None:
    from werkzeug.wrappers import Response

    page = PAGE.format(title="Access denied", body='<div class="alert">You are not assigned to AWS.</div>')
    url = form_idp({"/sso": lambda r: Response(page, 403, mimetype="text/html")})

    error = fails({"type": "saml-form", "url": f"{url}/sso"}, IdpDeniedError)

    assert "You are not assigned to AWS." in error.message and error.exit_code == ExitCode.IDP_DENIED


def test_a_missing_page_is_a_config_error(form_idp: Any) -> None:
    url = form_idp({})

    error = fails({"type": "saml-form", "url": f"{url}/wrong/path", "username": "d"}, ConfigError)

    assert "HTTP 404" in error.message and "url" in error.message


def test_a_page_that_loops_is_stopped(form_idp: Any) -> None:
    hits = []

    def again(request: Any) -> str:
        hits.append(1)
        return PAGE.format(
            title="Redirecting", body='<form method="post"><input type="hidden" name="n"></form>'
        )

    url = form_idp({"/loop": again})

    error = fails({"type": "saml-form", "url": f"{url}/loop"}, ServiceError)

    assert len(hits) == MAX_PAGES + 1
    assert "'Redirecting'" in error.message


def test_a_password_is_never_sent_in_a_url(form_idp: Any) -> None:
    url = form_idp(
        {"/login": lambda r: PAGE.format(title="Log in", body=_login_form("/check", method="get"))}
    )

    error = fails(
        {"type": "saml-form", "url": f"{url}/login", "username": "d", "password": "p"}, ServiceError
    )

    assert "in a URL" in error.message


def test_a_code_is_never_sent_in_a_url(form_idp: Any) -> None:
    code_page = PAGE.format(title="Code", body='<form action="/c"><input name="otp"></form>')
    url = form_idp({"/login": lambda r: PAGE.format(title="Log in", body=_login_form("/check")),
                    "/check": lambda r: code_page})  # fmt: skip
    settings = {"type": "saml-form", "url": f"{url}/login", "username": "d", "password": "p"}

    error = fails({**settings, "totp_secret": CAROL_TOTP_SEED}, ServiceError)

    assert "code in a URL" in error.message


def test_a_refused_username_on_a_username_page(form_idp: Any) -> None:
    page = PAGE.format(
        title="Sign in",
        body='<p class="error-text">We could not find that account.</p>'
        '<form method="post" action="/start"><input name="username"></form>',
    )
    url = form_idp({"/start": lambda r: page})

    error = fails({"type": "saml-form", "url": f"{url}/start", "username": "nobody"}, AuthenticationError)

    assert "We could not find that account" in error.message


def test_a_password_is_never_sent_over_plain_http_beyond_this_machine(form_idp: Any) -> None:
    form = _login_form("http://idp.example.invalid/login")
    url = form_idp({"/login": lambda r: PAGE.format(title="Log in", body=form)})

    error = fails({"type": "saml-form", "url": f"{url}/login", "username": "d", "password": "p"}, ConfigError)

    assert "plain HTTP" in error.message and "http://idp.example.invalid" in error.message


# -- TLS with a private CA ---------------------------------------------------------------------------


def _private_ca(folder: Path) -> tuple[Path, ssl.SSLContext]:
    """A CA certificate file, and a server context whose certificate that CA signed for 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shellenv test private CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = folder / "private-ca.pem"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    chain = folder / "server.pem"
    chain.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        + cert.public_bytes(serialization.Encoding.PEM)
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain)
    return ca_file, context


def test_tls_with_a_private_ca(tmp_path: Path, saml_page: str) -> None:
    ca_file, context = _private_ca(tmp_path)
    app = _app(
        {
            "/login": lambda r: PAGE.format(title="Log in", body=_login_form("/check")),
            "/check": lambda r: saml_page,
        }
    )
    with Server(app, ssl_context=context) as server:
        settings = {"type": "saml-form", "url": f"{server.url}/login", "username": "d", "password": "p"}

        error = fails(settings, TlsError)
        assert "ca_bundle" in error.message and error.exit_code == ExitCode.TLS

        response, _ = login({**settings, "ca_bundle": str(ca_file)})
        assert len(saml.parse(response.assertion).roles) == 2


# -- reading pages --------------------------------------------------------------------------------------


def test_parse_page_reads_forms_like_a_browser() -> None:
    html = (
        "<title> Sign &amp; in </title><form action='../post?x=1'>"
        "<input name=a value=1><input type=checkbox name=keep value=yes checked>"
        "<input type=checkbox name=skip value=no><select name=lang><option value=en>"
        "<option value=fr selected></select><input type=submit name=ok value=Go>"
        "<input type=submit name=cancel value=No><input type=reset name=r>"
        "</form><div class='alert alert-danger'>Bad <b>thing</b></div><script>var error = 1</script>"
    )

    page = parse_page("https://idp.test/a/b/c", 200, html)

    assert page.title == "Sign & in"
    assert page.errors == ["Bad thing"]
    [form] = page.forms
    assert form.action == "https://idp.test/a/post?x=1" and form.method == "get"
    assert form.values({"a": "2"}) == {"a": "2", "keep": "yes", "lang": "fr", "ok": "Go"}


# -- the program, end to end ---------------------------------------------------------------------------


def test_export_through_simplesamlphp(
    cli: Any, simplesamlphp: SimpleSamlPhp, simplesamlphp_sts: Server
) -> None:
    """`shellenv export` logs in to SimpleSAMLphp (password and TOTP page) and redeems the assertion."""
    cli.write_config(simplesamlphp.config("carol"))
    code = pyotp.TOTP(CAROL_TOTP_SEED).now()

    result = cli.run(
        ["export", "--shell", "bash", "ssp"], env={"AWS_ENDPOINT_URL_STS": simplesamlphp_sts.url}
    )

    assert result.exit_code == 0, result.stderr
    assert "export AWS_ACCESS_KEY_ID=" in result.stdout
    assert "SHELLENV_ROLE_ARN=arn:aws:iam::222222222222:role/Admin" in result.stdout.replace("'", "")
    everything = result.stdout + result.stderr + result.screen
    assert PASSWORDS["carol"] not in everything and code not in result.stderr + result.screen
