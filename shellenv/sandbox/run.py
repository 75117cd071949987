"""`shellenv sandbox`: every emulator on 127.0.0.1 from one command, and a config that points at them.

It prints the config on stdout (to redirect into a file) and what to do next on stderr; with `--demo` it
runs the whole flow once in a real bash and stops. It never listens beyond the loopback address.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shellenv import paths
from shellenv.sandbox import world
from shellenv.sandbox.saml import Signer
from shellenv.sandbox.serve import Server

HOST = "127.0.0.1"


@dataclass
class Sandbox:
    """The running emulators, by name, and the signer they share."""

    signer: Signer
    servers: dict[str, Server] = field(default_factory=dict)
    apps: dict[str, Any] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return self.servers[name].url

    def environment(self) -> dict[str, str]:
        """What a shell needs to send AWS calls to the sandbox: the standard endpoint variables."""
        env = {"AWS_ENDPOINT_URL_STS": self.url("sts")}
        if "federation" in self.servers:
            # `shellenv console` asks this endpoint for sign-in tokens instead of AWS's sign-in host.
            env["SHELLENV_FEDERATION_URL"] = self.url("federation") + "/federation"
        if "sso" in self.servers:
            env["AWS_ENDPOINT_URL_SSO"] = self.url("sso")
            env["AWS_ENDPOINT_URL_SSO_OIDC"] = self.url("sso-oidc")
        return env

    def config(self) -> str:
        """A config.toml for the sandbox: the dev and prod OneLogin apps side by side, and their profiles."""
        from shellenv.sandbox import okta, onelogin

        lines = [
            "# shellenv config for the local sandbox (`shellenv sandbox`). Users and passwords are the",
            "# sandbox's own public test values.",
            "",
        ]
        for name, app_id in (("sandbox-dev", onelogin.DEV_APP_ID), ("sandbox-prod", onelogin.PROD_APP_ID)):
            lines += [
                f"[idp.{name}]",
                'type = "onelogin"',
                f'base_url = "{self.url("onelogin")}"',
                f'subdomain = "{onelogin.SUBDOMAIN}"',
                f'app_id = "{app_id}"',
                f'client_id = "{onelogin.CLIENT_ID}"',
                f'client_secret = "{onelogin.CLIENT_SECRET}"',
                f'username = "{onelogin.ALICE}"',
                'mfa = "google"',
                "",
            ]
        lines += [
            "[idp.sandbox-okta]",
            'type = "okta"',
            f'org_url = "{self.url("okta")}"',
            f'app_url = "{self.url("okta")}/home/amazon_aws/{okta.DEV_APP_ID}/272"',
            f'username = "{okta.ALICE}"',
            'mfa = "google"',
            "",
            "[idp.sandbox-sso]",
            'type = "sso"',
            'start_url = "https://sandbox.awsapps.com/start"',
            'sso_region = "us-east-1"',
            f'oidc_url = "{self.url("sso-oidc")}"',
            f'portal_url = "{self.url("sso")}"',
            "",
            "[profile.dev-admin]",
            'idp = "sandbox-dev"',
            'role_arn = "arn:aws:iam::111111111111:role/Admin"',
            'region = "eu-west-1"',
            'duration = "12h"',
            "",
            "[profile.dev-readonly]",
            'idp = "sandbox-dev"',
            'role_arn = "arn:aws:iam::111111111111:role/ReadOnly"',
            'region = "eu-west-1"',
            'duration = "1h"',
            "",
            "[profile.prod-readonly]",
            'idp = "sandbox-prod"',
            'role_arn = "arn:aws:iam::222222222222:role/ReadOnly"',
            'region = "eu-central-1"',
            "",
            "[profile.okta-dev-admin]",
            'idp = "sandbox-okta"',
            'role_arn = "arn:aws:iam::111111111111:role/Admin"',
            'region = "eu-west-1"',
            "",
            "[profile.sso-dev-admin]",
            'idp = "sandbox-sso"',
            'account_id = "111111111111"',
            'role_name = "Admin"',
            'region = "eu-west-1"',
            "",
            "[accounts]",
        ]
        lines += [f'"{account}" = "{alias}"' for account, alias in world.ACCOUNTS.items()]
        return "\n".join(lines) + "\n"

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()


def start(*, port: int = 0, state: Path | None = None) -> Sandbox:
    """Start the emulators; `port` 0 takes free ports, otherwise consecutive ports from `port`."""
    from shellenv.sandbox import federation, okta, onelogin, sso, sts

    if state or port:
        signer = Signer.load_or_create(state or paths.state_dir("sandbox"))
    else:
        signer = Signer.generate()
    sandbox = Sandbox(signer)
    trusted = {arn: signer.cert_pem for arn in world.provider_arns()}
    sts_app = sts.make_app(trusted=trusted, roles=world.roles_in())
    sso_state = sso.SsoState(mint=sso.sts_minter(sts_app.keys))
    apps: dict[str, Any] = {
        "onelogin": onelogin.make_app(signer),
        "sts": sts_app,
        "okta": okta.make_app(signer),
        "sso-oidc": sso.make_oidc_app(sso_state),
        "sso": sso.make_portal_app(sso_state),
        "federation": federation.make_app(sts_app),
    }
    if port:
        _check_free(range(port + 1, port + 1 + len(apps)))
    for name, app in apps.items():
        offset = len(sandbox.servers) + 1
        sandbox.servers[name] = Server(app, port=port + offset if port else 0, host=HOST).start()
        sandbox.apps[name] = app
    sandbox.apps["sso-state"] = sso_state
    return sandbox


def _check_free(ports: range) -> None:
    """Raise OSError when one of `ports` is taken (werkzeug would print and exit instead)."""
    import socket

    for number in ports:
        with socket.socket() as probe:
            probe.bind((HOST, number))


@contextlib.contextmanager
def running(**kwargs: Any) -> Iterator[Sandbox]:
    sandbox = start(**kwargs)
    try:
        yield sandbox
    finally:
        sandbox.stop()


def main(args: argparse.Namespace) -> int:
    if args.demo:
        from shellenv.sandbox import demo

        return demo.main()
    try:
        sandbox = start(port=args.port, state=args.state)
    except OSError as exc:
        from shellenv.errors import UsageError

        raise UsageError(f"cannot listen on 127.0.0.1 ports {args.port + 1}-{args.port + 6}: {exc.strerror}; "
                         "pass --port N for other ports, or --port 0 for free ones") from None
    saved = _make_private_if_a_file(sys.stdout)
    sys.stdout.write(sandbox.config())
    sys.stdout.flush()
    config_path = paths.config_file()
    exports = " ".join(f"{k}={v}" for k, v in sandbox.environment().items())
    if saved is None:
        where = f"save the config above as {config_path} (or point SHELLENV_CONFIG at it)"
    elif saved == config_path:
        where = f"wrote the config to {saved} (mode 600: it holds a client secret)"
    else:
        where = f"wrote the config to {saved} (mode 600); point SHELLENV_CONFIG at it"
    for line in (
        "the sandbox is running on 127.0.0.1:",
        *(f"  {name:<10} {server.url}" for name, server in sandbox.servers.items()),
        f"{where}, then in another shell:",
        f"  export {exports}",
        "  shellenv use dev-admin",
        f"password: {world.ALICE_PASSWORD}   TOTP seed: {world.ALICE_TOTP_SECRET} "
        "(or add totp_secret to the idp)",
        "press Ctrl-C to stop",
    ):
        print(f"shellenv sandbox: {line}", file=sys.stderr)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    sandbox.stop()
    return 0


def _make_private_if_a_file(stream: Any) -> Path | None:
    """chmod 600 the file stdout is redirected to, as shellenv wants of a config holding a secret.

    `shellenv sandbox > config.toml` creates the file with the umask's mode (0644), and shellenv
    would then refuse that config. A pipe or a terminal is left alone (None); a file's path is
    returned when the system can say it (Linux's /proc), else the name "the file".
    """
    import stat

    try:
        fd = stream.fileno()
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        os.fchmod(fd, 0o600)
    except (OSError, ValueError, AttributeError):
        return None
    try:
        return Path(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        return Path("the file")


def temporary_home() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="shellenv-sandbox-")


def environ_for(home: Path, sandbox: Sandbox, *, program_dir: str) -> dict[str, str]:
    """An environment for a shell that lives in `home` and talks to the sandbox."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "SHELLENV_"))}
    env.update(sandbox.environment())
    env.update(HOME=str(home), PATH=f"{program_dir}:{env.get('PATH', '/usr/bin:/bin')}",
               AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE=str(home / ".aws" / "config"),
               AWS_SHARED_CREDENTIALS_FILE=str(home / ".aws" / "credentials"))
    for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        env.pop(name, None)
    return env
