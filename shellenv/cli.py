"""The command line: one small function per subcommand, and the one place that turns errors into exit codes.

Commands that may be `eval`ed (`init`, `export`, `clear`, `refresh --shell`) write shell code to stdout and
nothing else; every message goes to stderr. Heavy imports happen inside the commands that need them.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Callable

from shellenv import __version__, logs
from shellenv.errors import ExitCode, ShellenvError, UsageError

log = logs.get_logger("shellenv")

EXAMPLES = {
    "init": 'eval "$(shellenv init bash)"       # in ~/.bashrc; zsh alike; fish: shellenv init fish | source',
    "use": "shellenv use dev-admin             # log in if needed, keys into this shell",
    "export": 'eval "$(shellenv export --shell bash dev-admin)"   # the same, by hand or in a script',
    "clear": "shellenv clear                     # remove the keys from this shell",
    "refresh": "shellenv refresh                   # renew the active profile's keys now",
    "list": "shellenv list                      # profiles, roles, and how long cached keys last",
    "whoami": "shellenv whoami                    # who AWS says the active keys are",
    "sandbox": "mkdir -p ~/.config/shellenv && shellenv sandbox > ~/.config/shellenv/config.toml",
    "credential-process": "shellenv credential-process dev-admin   # what ~/.aws/config runs",
    "configure-aws": "shellenv configure-aws dev-admin   # aws --profile dev-admin ... refreshes itself",
    "exec": "shellenv exec dev-admin -- terraform plan   # one command with the keys",
    "console": "shellenv console dev-admin --open   # the AWS console as that role",
    "secret": "shellenv secret set work password     # asks on the terminal, keeps it in the keyring",
    "secret set": "shellenv secret set work password     # then write password = \"keyring\" in [idp.work]",
    "secret delete": "shellenv secret delete work totp_secret   # forget the stored TOTP seed",
    "doctor": "shellenv doctor                    # check the hook, config, IdPs, clock, files, keyring",
    "completions": "shellenv completions zsh > ~/.zfunc/_shellenv   # when not loaded by `shellenv init`",
    "allow": "shellenv allow                     # trust this project's .shellenv.toml as it is now",
    "deny": "shellenv deny ~/src/fork           # never use that folder's .shellenv.toml",
    "status": "shellenv status                    # which rule chose the active profile, what was ignored",
}
DIRECTORY_HOOK = "__dir"  # `shellenv __dir --shell SH --pid N --state S -- PWD`: the hook's, hidden
COMPLETE = "__complete"  # `shellenv __complete profile|idp`: names for tab completion, hidden from --help


# -- the commands -----------------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    from shellenv import config, shells

    shell = shells.get(args.shell)
    cfg = None
    try:
        cfg = config.load(required=False)
        settings = dict(cfg.shell)
    except ShellenvError as exc:
        # A broken config must not break the user's shell start-up: warn, and hook with the defaults.
        _print_error(exc)
        settings = dict(config.SHELL_DEFAULTS)
    if args.no_prompt:
        settings["prompt"] = False
    sys.stdout.write(shell.hook(_program_path(), settings))
    from shellenv import directories

    sys.stdout.write(directories.init_lines(shell, cfg, warn=True))
    if not args.no_completions:
        from shellenv import completions

        sys.stdout.write(completions.script(args.shell, build_parser()))
    return ExitCode.OK


def cmd_export(args: argparse.Namespace) -> int:
    from shellenv import shells

    shell = shells.get(args.shell or _detect_shell())
    login = _login()
    if args.profile:
        credentials = login.credentials(args.profile, cached_only=args.cached)
    elif args.cached:
        raise UsageError("--cached needs a profile name")
    else:
        credentials = login.pick()
    _write_credentials_file(login, credentials, args.credentials_file)
    sys.stdout.write(shell.export(*login.shell_variables(credentials)))
    if not args.quiet:
        _say_active(login, credentials)
    return ExitCode.OK


def cmd_use(args: argparse.Namespace) -> int:
    raise _hook_needed("use", "export", args.profile)


def _hook_needed(verb: str, instead: str, profile: str | None) -> UsageError:
    shell = _detect_shell()
    hook = "shellenv init fish | source" if shell == "fish" else f'eval "$(shellenv init {shell})"'
    return UsageError(
        f"`shellenv {verb}` changes the current shell only through the shell hook: add `{hook}` to "
        f"your shell's rc file and open a new shell, or run `eval \"$(shellenv {instead} {profile or ''})\"`"
        .replace(" )", ")")
    )


def cmd_clear(args: argparse.Namespace) -> int:
    from shellenv import shells
    from shellenv.credentials import EXPORTED

    shell = shells.get(args.shell or _detect_shell())
    sys.stdout.write(shell.export({}, [*EXPORTED, "SHELLENV_REFRESH"]))
    return ExitCode.OK


def cmd_refresh(args: argparse.Namespace) -> int:
    profile = args.profile or os.environ.get("SHELLENV_PROFILE")
    if not profile:
        raise UsageError("no active profile to refresh; name one: shellenv refresh PROFILE")
    if args.background:
        return _refresh_in_background(profile)
    if not args.shell and sys.stdout.isatty():
        # Run without the hook, the keys would only be printed on the screen, not set in the shell.
        raise _hook_needed("refresh", "refresh", args.profile)
    from shellenv import shells

    shell = shells.get(args.shell or _detect_shell())
    login = _login()
    credentials = login.credentials(profile, force=True)
    _write_credentials_file(login, credentials, args.credentials_file)
    sys.stdout.write(shell.export(*login.shell_variables(credentials)))
    _say_active(login, credentials)
    return ExitCode.OK


def _refresh_in_background(profile: str) -> int:
    """Renew a profile's cache without a human: only when no question would be asked."""
    from shellenv.terminal import Terminal

    login = _login(Terminal(tty_path="/nonexistent"))
    # Every open shell of the profile may start one of these: the first renews the keys under the login
    # lock, the others find keys newer than the ones their shell holds and stop there.
    held = os.environ.get("SHELLENV_EXPIRY", "")
    credentials = login.credentials(profile, newer_than=int(held) if held.isdigit() else None,
                                    force=not held.isdigit())
    _write_credentials_file(login, credentials, False)
    return ExitCode.OK


def cmd_list(args: argparse.Namespace) -> int:
    from shellenv import config
    from shellenv.cache import KeyCache

    cfg = config.load()
    cache = KeyCache()
    active = os.environ.get("SHELLENV_PROFILE")
    rows = []
    for name in [*cfg.profiles, *sorted(set(cache.profiles()) - set(cfg.profiles))]:
        rows.append(_profile_row(cfg, cache, name, active))
    if args.json:
        import json

        print(json.dumps(rows, indent=2))
        return ExitCode.OK
    table = [("PROFILE", "ACCOUNT", "ROLE", "KEYS")]
    for row in rows:
        keys = "-" if row["expires"] is None else (
            f"valid {_duration_words(row['seconds_left'])}" if row["seconds_left"] > 0 else "expired")
        label = f"{row['alias']} ({row['account']})" if row["alias"] else row["account"]
        table.append((("* " if row["active"] else "  ") + row["profile"], label, row["role"], keys))
    table[0] = ("  " + table[0][0], *table[0][1:])
    widths = [max(len(line[i]) for line in table) for i in range(3)]
    for line in table:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line[:3])) + "  " + line[3])
    return ExitCode.OK


def _profile_row(cfg: Any, cache: Any, name: str, active: str | None) -> dict[str, Any]:
    """One profile for `list`: from the config, or an ad-hoc role found only in the cache."""
    cached = cache.load(name)
    profile = cfg.profiles.get(name)
    if profile is not None:
        account = profile.account or "?"
        role = profile.role_name or (profile.role_arn or "").split(":role/", 1)[-1]
    else:
        account, role = cached.account_id, cached.role_arn.split(":role/", 1)[-1]
    return {
        "profile": name,
        "account": account,
        "alias": cfg.alias(account) or (cached.account_alias if cached else None),
        "role": role,
        "expires": cached.expiration.strftime("%Y-%m-%dT%H:%M:%SZ") if cached else None,
        "seconds_left": max(0, int(cached.seconds_left())) if cached else None,
        "active": name == active,
    }


def cmd_whoami(args: argparse.Namespace) -> int:
    from shellenv import sts

    if args.profile:
        login = _login()
        credentials = login.credentials(args.profile, cached_only=True)
        key, secret, token = (credentials.access_key_id, credentials.secret_access_key,
                              credentials.session_token)
        region, role_arn, profile = credentials.region, credentials.role_arn, credentials.profile
        expiry = _rfc3339(credentials.expiration)
    else:
        key = os.environ.get("AWS_ACCESS_KEY_ID")
        secret = os.environ.get("AWS_SECRET_ACCESS_KEY")
        if not key or not secret:
            raise UsageError("no AWS keys in this shell; run `shellenv use PROFILE` first, "
                             "or name a profile: shellenv whoami PROFILE")
        token = os.environ.get("AWS_SESSION_TOKEN")
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        role_arn = os.environ.get("SHELLENV_ROLE_ARN", "arn:aws:")
        profile = os.environ.get("SHELLENV_PROFILE")
        expiry = os.environ.get("AWS_CREDENTIAL_EXPIRATION")
    identity = sts.caller_identity(access_key_id=key, secret_access_key=secret, session_token=token,
                                   region=region, partition=role_arn.split(":")[1] or "aws")
    if profile:
        print(f"Profile: {profile}")
    print(f"Account: {identity['Account']}")
    print(f"Arn:     {identity['Arn']}")
    print(f"UserId:  {identity['UserId']}")
    if expiry:
        print(f"Expires: {expiry}")
    return ExitCode.OK


def cmd_credential_process(args: argparse.Namespace) -> int:
    """The AWS CLI's and SDKs' way in: keys as credential_process JSON on stdout, and nothing else."""
    import json

    from shellenv import awsfiles

    login = _login()
    profile = login.config.profiles.get(args.profile)
    window = awsfiles.process_refresh_window(profile.duration if profile else None)
    credentials = login.credentials(args.profile, min_validity=window)
    sys.stdout.write(json.dumps(awsfiles.process_output(credentials)) + "\n")
    return ExitCode.OK


def cmd_configure_aws(args: argparse.Namespace) -> int:
    from shellenv import awsfiles, config
    from shellenv.terminal import Terminal

    profile = config.load().profile(args.profile)
    aws_profile = args.aws_profile or profile.name
    argv = [_program_path(), "credential-process", profile.name]
    path = awsfiles.write_credential_process(aws_profile, argv, region=profile.region)
    Terminal().message(f"[{awsfiles.config_section(aws_profile)}] in {path} now gets its keys from "
                       f"shellenv; try: aws sts get-caller-identity --profile {aws_profile}")
    return ExitCode.OK


def cmd_exec(args: argparse.Namespace) -> int:
    from shellenv.credentials import CONTRADICTING, EXPORTED

    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise UsageError("name the command to run: shellenv exec PROFILE -- COMMAND [ARGS...]")
    program = _find_program(command[0])  # before the login: a typo must not cost a password and a code
    credentials = _login().credentials(args.profile)
    env = {k: v for k, v in os.environ.items() if k not in CONTRADICTING and k not in EXPORTED}
    env.update(credentials.environment())
    return _run([program, *command[1:]], env)


def _find_program(name: str) -> str:
    import shutil

    program = shutil.which(name)
    if program is None:
        from shellenv.errors import NotFoundError

        raise NotFoundError(f"command not found: {name}; check its name or your PATH")
    return program


def _run(command: list[str], env: dict[str, str]) -> int:
    """Run `command` (no shell) and pass its exit status through; death by signal N becomes 128+N.

    Ctrl-C and Ctrl-\\ reach the command from the terminal itself, so shellenv only outlives them; the
    signals a supervisor sends to shellenv alone (TERM, HUP, USR1, USR2) are handed on to the command.
    """
    import signal
    import subprocess

    # The handlers go in before the command starts, so a signal that arrives at once is not lost: until
    # the command exists it waits in `early`. Caught signals are reset for the command by exec.
    children: list[subprocess.Popen[bytes]] = []
    early: list[int] = []

    def forward(number: int, _frame: Any) -> None:
        if children:
            children[0].send_signal(number)
        else:
            early.append(number)

    for number in (signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(number, forward)
    for number in (signal.SIGINT, signal.SIGQUIT):
        signal.signal(number, lambda *_: None)
    child = subprocess.Popen(command, env=env)  # noqa: S603 - the user's own command
    children.append(child)
    for number in early:
        child.send_signal(number)
    status = child.wait()
    return 128 - status if status < 0 else status


def cmd_console(args: argparse.Namespace) -> int:
    from shellenv import console

    name = args.profile or os.environ.get("SHELLENV_PROFILE")
    if not name:
        raise UsageError("no active profile; name one: shellenv console PROFILE")
    credentials = _login().credentials(name)
    landing = console.destination(credentials.partition, credentials.region, args.service)
    url = console.signin_url(credentials, session_duration=args.duration, landing=landing)
    if args.open:
        from shellenv.terminal import Terminal, open_browser

        if open_browser(url):
            Terminal().message(f"opened the AWS console as {credentials.role_arn} in your browser")
            return ExitCode.OK
        Terminal().message("could not open a browser; open this URL within 15 minutes:")
    print(url)
    return ExitCode.OK


def cmd_secret(args: argparse.Namespace) -> int:
    raise UsageError("say what to do with the secret: shellenv secret set|delete IDP KIND "
                     "(see shellenv secret --help)")


def cmd_secret_set(args: argparse.Namespace) -> int:
    from shellenv import config, secrets
    from shellenv.terminal import Terminal

    cfg, idp = _secret_target(args)
    secrets.backend()  # no keyring: say so before asking for anything
    terminal = Terminal()
    words = args.kind.replace("_", " ")
    value = terminal.ask(f"{words.capitalize()} for {idp.name} (hidden): ", secret=True, why=f"the {words}")
    value = value.strip()
    if not value:
        raise UsageError(f"nothing was typed, so no {words} was stored for {idp.name}")
    if args.kind == "totp_secret":
        value = _totp_seed(value, idp.name)
    secrets.store(idp.name, args.kind, value)
    message = f"stored the {words} of {idp.name} in the keyring"
    if idp.get(args.kind) != config.KEYRING:
        message += f'; to use it, write {args.kind} = "{config.KEYRING}" in [idp.{idp.name}] of {cfg.path}'
    terminal.message(message)
    return ExitCode.OK


def cmd_secret_delete(args: argparse.Namespace) -> int:
    from shellenv import secrets
    from shellenv.errors import NotFoundError
    from shellenv.terminal import Terminal

    _, idp = _secret_target(args)
    words = args.kind.replace("_", " ")
    if not secrets.delete(idp.name, args.kind):
        raise NotFoundError(f"the keyring holds no {words} for {idp.name}; nothing to delete")
    Terminal().message(f"deleted the {words} of {idp.name} from the keyring")
    return ExitCode.OK


def _secret_target(args: argparse.Namespace) -> tuple[Any, Any]:
    """The config and the IdP a secret is for, once the IdP is known to take that kind of secret."""
    from shellenv import config
    from shellenv.providers import FIELDS

    cfg = config.load()
    idp = cfg.idp(args.idp)
    if args.kind not in FIELDS[idp.type]:
        kinds = [kind for kind in config.SECRET_KEYS if kind in FIELDS[idp.type]]
        raise UsageError(f"[idp.{idp.name}] is of type {idp.type}, which takes no {args.kind}; "
                         f"it takes: {', '.join(kinds) or 'no secret at all'}")
    return cfg, idp


def _totp_seed(text: str, idp_name: str) -> str:
    """A TOTP seed as an authenticator shows it ("jbsw y3dp ..."), checked and written as base32."""
    import base64
    import binascii

    seed = "".join(text.split()).upper()
    try:
        base64.b32decode(seed + "=" * (-len(seed) % 8))
    except (binascii.Error, ValueError):
        raise UsageError(f"that is not a TOTP seed (base32: letters A-Z and digits 2-7); nothing was "
                         f"stored for {idp_name}") from None
    return seed


def cmd_doctor(args: argparse.Namespace) -> int:
    from shellenv import doctor

    return doctor.run(timeout=args.timeout)


def cmd_completions(args: argparse.Namespace) -> int:
    from shellenv import completions

    sys.stdout.write(completions.script(args.shell, build_parser()))
    return ExitCode.OK


def _complete_names(words: Sequence[str]) -> int:
    """`shellenv __complete KIND`: profile or IdP names, one a line; nothing at all on any problem."""
    from shellenv import completions

    if len(words) == 1:
        for name in completions.names(words[0]):
            print(name)
    return ExitCode.OK


def cmd_allow(args: argparse.Namespace) -> int:
    from shellenv import directories
    from shellenv.terminal import Terminal

    Terminal().message(directories.allow(args.path))
    return ExitCode.OK


def cmd_deny(args: argparse.Namespace) -> int:
    from shellenv import directories
    from shellenv.terminal import Terminal

    Terminal().message(directories.deny(args.path))
    return ExitCode.OK


def cmd_status(args: argparse.Namespace) -> int:
    from shellenv import directories

    for line in directories.status(pwd=os.path.abspath(args.path) if args.path else None):
        print(line)
    return ExitCode.OK


def cmd_directory_hook(args: argparse.Namespace) -> int:
    """What the hook runs when its folder's resolution changed: shell code on stdout, notices on stderr."""
    from shellenv import directories, shells
    from shellenv.terminal import Terminal

    shell = shells.get(args.shell)
    sys.stdout.write(directories.hook(shell, args.pwd, args.state, args.pid, terminal=Terminal()))
    return ExitCode.OK


def cmd_sandbox(args: argparse.Namespace) -> int:
    from shellenv.sandbox import run

    return run.main(args)


# -- helpers ----------------------------------------------------------------------------------------------


def _login(terminal: Any = None) -> Any:
    from shellenv import config
    from shellenv.login import Login
    from shellenv.terminal import Terminal

    return Login(config.load(), terminal or Terminal())


def _write_credentials_file(login: Any, credentials: Any, asked: bool) -> None:
    """Also put the keys into ~/.aws/credentials, when asked on the command line or by the profile."""
    profile = login.config.profiles.get(credentials.profile)
    if asked or (profile is not None and profile.credentials_file):
        from shellenv import awsfiles

        awsfiles.write_keys(credentials)


def _rfc3339(timestamp: Any) -> str:
    from shellenv.credentials import rfc3339

    return rfc3339(timestamp)


def _say_active(login: Any, credentials: Any) -> None:
    from shellenv.terminal import Terminal

    Terminal().message(f"{credentials.summary()}, valid {_duration_words(credentials.whole_seconds_left())}")


def _duration_words(seconds: float) -> str:
    minutes = max(0, int(seconds // 60))
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"


def _seconds(text: str) -> int:
    from shellenv.config import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _detect_shell() -> str:
    """The shell to write code for when --shell is not given: the hook's, else the login shell's."""
    from shellenv.shells import NAMES

    for candidate in (os.environ.get("SHELLENV_SHELL"), os.path.basename(os.environ.get("SHELL", ""))):
        if candidate in NAMES:
            return candidate
    return "bash"


def _program_path() -> str:
    """The absolute path of this program, for the hook to call without depending on PATH."""
    candidates = []
    if os.path.basename(sys.argv[0]) == "shellenv":
        candidates.append(sys.argv[0])
    candidates.append(str(Path(sys.executable).parent / "shellenv"))
    for candidate in candidates:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return os.path.abspath(candidate)
    import shutil  # only now: every new shell runs `init`, and shutil costs milliseconds to import

    found = shutil.which("shellenv")
    if found:
        return os.path.abspath(found)
    raise UsageError("cannot find the installed `shellenv` program; install the package with pip first")


# -- the parser -------------------------------------------------------------------------------------------


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """argparse's formatter, given the terminal's width: argparse builds one for every argument it adds,
    and finding the width itself imports shutil and its compression modules, a cost on every run."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        if width is None:
            width = _terminal_columns() - 2
        super().__init__(prog, indent_increment, max_help_position, width)


def _terminal_columns() -> int:
    """What shutil.get_terminal_size() answers: $COLUMNS, else stdout's terminal, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _Skipped:
    """The parser of a command that is not being run: every call on it does nothing.

    Building all the sub-parsers costs milliseconds on every run; `main` builds only the one it needs.
    """

    def __getattr__(self, name: str) -> Callable[..., _Skipped]:
        return lambda *args, **kwargs: self


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with `only`, just the sub-parser of that command (a stand-in for the rest)."""
    common = argparse.ArgumentParser(add_help=False, formatter_class=_HelpFormatter)
    common.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                        help="say more: -v tells each decision, -vv each request")
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show everything -vv does, and a traceback on internal errors")

    parser = argparse.ArgumentParser(
        prog="shellenv", parents=[common], formatter_class=_HelpFormatter,
        description="Short-lived AWS keys from your identity provider, in the shell you are working in.",
        epilog="examples:\n  " + "\n  ".join(EXAMPLES[k] for k in ("init", "use", "clear", "sandbox")))
    parser.add_argument("--version", action="version", version=f"shellenv {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, handler: Callable[[argparse.Namespace], int], text: str,
                **kwargs: Any) -> Any:
        if only is not None and name != only:
            return _Skipped()
        sub = commands.add_parser(name, parents=[common], help=text, description=text,
                                  epilog=f"example:\n  {EXAMPLES[name]}" if name in EXAMPLES else None,
                                  formatter_class=_HelpFormatter, **kwargs)
        sub.set_defaults(handler=handler)
        return sub

    shells = ("bash", "zsh", "fish")
    sub = command("init", cmd_init, "print the shell hook to load in your shell's rc file")
    sub.add_argument("shell", choices=shells, help="the shell to hook into")
    sub.add_argument("--no-prompt", action="store_true", help="do not add the segment to the prompt")
    sub.add_argument("--no-completions", action="store_true",
                     help="leave out tab completion (e.g. when loading completions/ files yourself)")

    # The hook turns `use` into `export --shell SH`: both take the same options, so that `use --help`
    # tells what `use` accepts and completion offers it.
    for name, handler, text in (
            ("use", cmd_use, "log in (if needed) and put a profile's keys in this shell"),
            ("export", cmd_export, "print shell code that sets a profile's keys (for eval)")):
        sub = command(name, handler, text)
        sub.add_argument("profile", nargs="?", help="a profile of the config; none: pick a role")
        if name == "export":
            sub.add_argument("--shell", choices=shells, help="the shell to write code for (default: yours)")
        sub.add_argument("--cached", action="store_true", help="only from the cache; never log in")
        sub.add_argument("--quiet", "-q", action="store_true", help="no message about the active role")
        sub.add_argument("--credentials-file", action="store_true",
                         help="also write the keys to ~/.aws/credentials ($AWS_SHARED_CREDENTIALS_FILE)")

    sub = command("clear", cmd_clear, "print shell code that removes the keys shellenv set")
    sub.add_argument("--shell", choices=shells, help="the shell to write code for (default: yours)")

    sub = command("refresh", cmd_refresh, "log in again for the active profile and renew its keys")
    sub.add_argument("profile", nargs="?", help="default: the active profile ($SHELLENV_PROFILE)")
    sub.add_argument("--shell", choices=shells, help="the shell to write code for (default: yours)")
    sub.add_argument("--background", action="store_true",
                     help=argparse.SUPPRESS)  # the hook's automatic refresh: renew the cache, ask nothing
    sub.add_argument("--credentials-file", action="store_true",
                     help="also write the keys to ~/.aws/credentials ($AWS_SHARED_CREDENTIALS_FILE)")

    sub = command("list", cmd_list, "list profiles, their roles, and how long their cached keys last")
    sub.add_argument("--json", action="store_true", help="print the list as JSON")
    sub = command("whoami", cmd_whoami, "ask AWS who the keys in this shell (or a profile) belong to")
    sub.add_argument("profile", nargs="?", help="a profile whose cached keys to ask about")

    sub = command("credential-process", cmd_credential_process,
                  "print a profile's keys as AWS credential_process JSON (for ~/.aws/config)")
    sub.add_argument("profile", help="a profile of the config")
    sub = command("configure-aws", cmd_configure_aws,
                  "point an AWS CLI profile in ~/.aws/config at `shellenv credential-process`")
    sub.add_argument("profile", help="a profile of the config")
    sub.add_argument("--aws-profile", metavar="NAME", help="the AWS CLI profile to write (default: same)")
    sub = command("exec", cmd_exec, "run one command with a profile's keys in its environment")
    sub.add_argument("profile", help="a profile of the config")
    sub.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    sub = command("console", cmd_console, "print (or open) an AWS console sign-in URL for a profile")
    sub.add_argument("profile", nargs="?", help="default: the active profile ($SHELLENV_PROFILE)")
    sub.add_argument("--open", action="store_true", help="open it in the browser instead of printing it")
    sub.add_argument("--service", metavar="NAME", help="land on this service's page, e.g. s3")
    sub.add_argument("--duration", type=_seconds, metavar="TIME",
                     help="how long the console session lasts, 15m-12h (default: AWS's)")

    sub = command("sandbox", cmd_sandbox, "run local IdP and STS emulators and print a config for them")
    sub.add_argument("--port", type=int, default=8900, help="first of the ports to use (default 8900)")
    sub.add_argument("--state", type=Path, help="folder for the sandbox's signing key (default: cache)")
    sub.add_argument("--demo", action="store_true",
                     help="run the whole flow once in a real bash on the sandbox, then stop")

    sub = command("secret", cmd_secret, "store or delete an IdP's password, client secret or TOTP seed in "
                  "the OS keyring")
    actions = sub.add_subparsers(dest="action", metavar="ACTION")
    for name, handler, text in (
            ("set", cmd_secret_set, "ask for a secret on the terminal and store it in the keyring"),
            ("delete", cmd_secret_delete, "remove a secret from the keyring")):
        action = actions.add_parser(name, parents=[common], help=text, description=text,
                                    epilog=f"example:\n  {EXAMPLES['secret ' + name]}",
                                    formatter_class=_HelpFormatter)
        action.set_defaults(handler=handler)
        action.add_argument("idp", help="an [idp.NAME] of the config")
        action.add_argument("kind", choices=("password", "client_secret", "totp_secret"),
                            help="which secret")

    sub = command("doctor", cmd_doctor, "check the setup and explain, one finding a line, what is wrong")
    sub.add_argument("--timeout", type=float, default=5.0, metavar="SECONDS",
                     help="how long to wait for each IdP (default 5)")

    sub = command("completions", cmd_completions, "print the tab completion script for a shell")
    sub.add_argument("shell", choices=shells, help="the shell to complete in")

    sub = command("allow", cmd_allow, "trust a project's .shellenv.toml as it is now (an edit needs a new "
                  "allow)")
    sub.add_argument("path", nargs="?", help="its folder or the file (default: the nearest one)")
    sub = command("deny", cmd_deny, "never use a project's .shellenv.toml, whatever it says")
    sub.add_argument("path", nargs="?", help="its folder or the file (default: the nearest one)")
    sub = command("status", cmd_status, "say which rule chose the active profile and which files were "
                  "ignored")
    sub.add_argument("path", nargs="?", help="the folder to explain (default: this one)")
    if only in (None, DIRECTORY_HOOK):  # no help text: hidden from --help and from completion
        sub = commands.add_parser(DIRECTORY_HOOK, parents=[common])
        sub.set_defaults(handler=cmd_directory_hook)
        sub.add_argument("--shell", choices=shells, required=True)
        sub.add_argument("--pid", type=int, required=True)
        sub.add_argument("--state", default="")
        sub.add_argument("pwd")
    _mark_names(parser)
    return parser


def _mark_names(parser: argparse.ArgumentParser) -> None:
    """Positionals named `profile` or `idp` complete to the config's names (see completions.py)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _mark_names(sub)
        elif not action.option_strings and action.dest in ("profile", "idp"):
            action.shellenv_complete = action.dest  # type: ignore[attr-defined]


# -- the entry point --------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == [COMPLETE]:  # on every Tab: no parser, no logging, nothing but names
        return _complete_names(argv[1:])
    parser = _parser_for(argv)
    typo = _unknown_command(parser, argv)
    if typo is not None:
        _print_error(typo)
        return ExitCode.USAGE
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed its usage message
        return ExitCode.USAGE if exc.code else ExitCode.OK
    debug = getattr(args, "debug", False)
    _setup_logging(getattr(args, "verbose", 0), debug)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return ExitCode.USAGE
    try:
        return int(args.handler(args))
    except ShellenvError as exc:
        if debug:
            log.debug("failure", exc_info=True)
        _print_error(exc)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("\nshellenv: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        return ExitCode.INTERNAL
    except Exception as exc:
        if debug:
            raise
        print(f"shellenv: internal error ({type(exc).__name__}); run again with --debug for details "
              "and report it", file=sys.stderr)
        return ExitCode.INTERNAL


def _parser_for(argv: list[str]) -> argparse.ArgumentParser:
    """The parser with only the named command's sub-parser, or the whole one when none is named."""
    word = next((arg for arg in argv if not arg.startswith("-")), None)
    if word is not None:
        parser = build_parser(only=word)
        if word in parser._subparsers._group_actions[0].choices:  # a command, not a typo
            return parser
    return build_parser()


def _unknown_command(parser: argparse.ArgumentParser, argv: list[str]) -> UsageError | None:
    """`shellenv uze`: one line with a suggestion, not argparse's list that shows the hidden commands."""
    word = next((arg for arg in argv if not arg.startswith("-")), None)
    choices = parser._subparsers._group_actions[0].choices if parser._subparsers else {}
    if word is None or word in choices:
        return None
    import difflib  # only on a typo: start-up pays for every import

    names = [name for name in choices if not name.startswith("__")]
    close = difflib.get_close_matches(word, names, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return UsageError(f"'{word}' is not a shellenv command{hint}; `shellenv --help` lists them")


def _print_error(exc: ShellenvError) -> None:
    from shellenv.terminal import printable  # a message may quote an IdP's words

    print(f"shellenv: {printable(exc.message)}", file=sys.stderr)


def _setup_logging(verbose: int, debug: bool) -> None:
    level = logs.WARNING
    if verbose == 1:
        level = logs.INFO
    elif verbose >= 2 or debug:
        level = logs.DEBUG
    logs.set_level(level)  # at WARNING, `logging` stays unloaded until something logs
