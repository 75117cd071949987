"""Start-up bench: `shellenv use` on a cached profile beside bare Python and beside awsume, in one run.

A cached `use` is served by the hook in the shell itself; the program runs only when something must change.
Both are timed: the hook's `use` in a loop inside one bash (and zsh), and the program it would otherwise run.

It times real processes in a throwaway HOME and prints a table; it never touches the user's files and
never asserts anything (tests check what is imported, not how fast).

    python bench/use.py                    # the install beside sys.executable (often editable)
    python bench/use.py --install regular  # a wheel install into a throwaway venv, built from this checkout
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROFILE = "bench-dev"
ROLE_ARN = "arn:aws:iam::111111111111:role/Admin"
AWSUME_VENV = Path("/tmp/awsume-venv")
# A closed port: if awsume (or anything) tried to reach STS, it would fail fast instead of going out.
DEAD_ENDPOINT = "http://127.0.0.1:9"

CONFIG = f"""\
[idp.corp]
type = "onelogin"
base_url = "{DEAD_ENDPOINT}"
subdomain = "acme"
app_id = "123456"
client_id = "bench"
username = "bench@example.com"

[profile.{PROFILE}]
idp = "corp"
role_arn = "{ROLE_ARN}"
region = "eu-west-1"
"""
AWS_CREDENTIALS = f"""\
[{PROFILE}]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
"""
AWS_CONFIG = f"""\
[profile {PROFILE}]
region = eu-west-1
"""


def say(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)


@dataclass
class Case:
    """One command to time; `minus` names a case whose median is subtracted for the net figure."""

    name: str
    argv: list[str]
    env: dict[str, str]
    minus: str | None = None
    samples: list[float] | None = None  # wall seconds
    cpu: list[float] | None = None  # user + system seconds of the process and its children


# -- the world the commands run in ------------------------------------------------------------------------


def clean_env(home: Path, bindir: Path) -> dict[str, str]:
    """A small, fixed environment: nothing from the caller's AWS, XDG or PYTHON* settings leaks in.

    PYTHONDONTWRITEBYTECODE in particular is left out, so every Python here starts from cached bytecode
    as it does on a user's machine.
    """
    return {
        "HOME": str(home),
        "PATH": f"{bindir}:/usr/local/bin:/usr/bin:/bin",
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "AWS_CONFIG_FILE": str(home / ".aws" / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / ".aws" / "credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL_STS": DEAD_ENDPOINT,
    }


def seed_shellenv(home: Path, python: Path) -> None:
    """The config with one profile, and valid keys for it in the cache (hours before they expire)."""
    config = home / ".config" / "shellenv" / "config.toml"
    config.parent.mkdir(parents=True, mode=0o700)
    config.write_text(CONFIG)
    expiry = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=8)).isoformat()
    # As a login stores them: the keys, and the shell code and note the hook serves a cached `use` from.
    store = (
        "import datetime as dt, sys\n"
        "from shellenv import config\n"
        "from shellenv.credentials import Credentials\n"
        "from shellenv.login import Login\n"
        "Login(config.load(), None).store(Credentials(access_key_id='ASIABENCHEXAMPLE0001',"
        " secret_access_key='bench-secret', session_token='bench-token',"
        " expiration=dt.datetime.fromisoformat(sys.argv[1]), role_arn=sys.argv[2],"
        f" profile={PROFILE!r}, region='eu-west-1', idp='corp'))\n"
    )
    env = clean_env(home, python.parent)
    subprocess.run([str(python), "-c", store, expiry, ROLE_ARN], env=env, check=True)


def seed_awsume(home: Path) -> None:
    """A plain profile of static keys: awsume switches to it without MFA and without calling AWS."""
    aws = home / ".aws"
    aws.mkdir(mode=0o700)
    (aws / "credentials").write_text(AWS_CREDENTIALS)
    (aws / "config").write_text(AWS_CONFIG)


def ensure_awsume(venv: Path) -> Path | None:
    """awsume's `awsumepy` in a throwaway venv, created on first use (never in this project)."""
    program = venv / "bin" / "awsumepy"
    if program.exists():
        return program
    say(f"creating {venv} and installing awsume from PyPI into it (once)")
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "awsume"], check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        say(f"could not install awsume ({exc}); its rows are left out")
        return None
    return program


def regular_install(workdir: Path) -> Path:
    """A non-editable install of this checkout in a throwaway venv; returns its python.

    Without dependencies: a cache hit must import none of them, and one that did would fail here.
    """
    venv = workdir / "venv"
    source = workdir / "source"  # a copy, so that the build leaves nothing in the checkout
    say(f"building a regular (non-editable) install of {REPO} into {venv}")
    shutil.copytree(REPO, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", "build", "*.egg-info", "__pycache__", ".venv", ".hypothesis"))
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--no-deps", str(source)], check=True)
    return venv / "bin" / "python"


# -- timing -----------------------------------------------------------------------------------------------


def run_once(case: Case) -> tuple[float, float]:
    """Wall and CPU seconds of one run. CPU time (from wait4) barely moves when others load the machine."""
    start = time.perf_counter()
    child = subprocess.Popen(case.argv, env=case.env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    child.returncode = 0  # reaped above; keep Popen from waiting again
    return elapsed, usage.ru_utime + usage.ru_stime


def check_outputs(cases: dict[str, Case]) -> None:
    """A failing command is fast: make sure each one does its job before timing it."""
    export = cases["shellenv export"]
    out = subprocess.run(export.argv, env=export.env, capture_output=True, text=True)
    if out.returncode != 0 or "export AWS_ACCESS_KEY_ID='ASIABENCHEXAMPLE0001'" not in out.stdout:
        raise SystemExit(f"bench: `shellenv export` did not serve the cached keys: {out.stderr.strip()}")
    for name in ("hook: use", "hook: use, program"):
        if name in cases:
            hook = cases[name]
            probe = hook.argv[:-1] + [hook.argv[-1] + '; printf %s "$AWS_ACCESS_KEY_ID"']
            out = subprocess.run(probe, env=hook.env, capture_output=True, text=True)
            if out.stdout != "ASIABENCHEXAMPLE0001":
                raise SystemExit(f"bench: `{name}` did not set the keys: {out.stderr.strip()}")
    if "awsumepy" in cases:
        awsume = cases["awsumepy"]
        out = subprocess.run(awsume.argv, env=awsume.env, capture_output=True, text=True)
        if "AKIAIOSFODNN7EXAMPLE" not in out.stdout:
            raise SystemExit(f"bench: awsumepy did not switch the profile: {out.stderr.strip()}")


def measure(cases: dict[str, Case], rounds: int, warmup: int) -> None:
    """Interleaved: every round runs every case once, in an order rotated from round to round."""
    order = list(cases.values())
    for _ in range(warmup):
        for case in order:
            run_once(case)
    check_outputs(cases)
    for case in order:
        case.samples, case.cpu = [], []
    for number in range(rounds):
        shift = number % len(order)
        for case in order[shift:] + order[:shift]:
            wall, cpu = run_once(case)
            case.samples.append(wall)
            case.cpu.append(cpu)


def quantile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def median_ms(case: Case, *, cpu: bool = False) -> float:
    return statistics.median(case.cpu if cpu else case.samples) * 1000


def net_ms(cases: dict[str, Case], name: str, *, cpu: bool = False) -> float:
    case = cases[name]
    return median_ms(case, cpu=cpu) - (median_ms(cases[case.minus], cpu=cpu) if case.minus else 0.0)


def report(cases: dict[str, Case], *, label: str, rounds: int) -> None:
    print(f"\n{label}: {rounds} interleaved rounds, in ms")
    print(f"{'command':<24}{'wall median':>12}{'p90':>8}{'net':>8}{'cpu median':>12}{'p90':>8}{'net':>8}")
    for case in cases.values():
        walls = f"{median_ms(case):12.1f}{quantile(case.samples, 0.9) * 1000:8.1f}"
        cpus = f"{median_ms(case, cpu=True):12.1f}{quantile(case.cpu, 0.9) * 1000:8.1f}"
        wall_net = f"{net_ms(cases, case.name):8.1f}" if case.minus else " " * 8
        cpu_net = f"{net_ms(cases, case.name, cpu=True):8.1f}" if case.minus else ""
        print(f"{case.name:<24}{walls}{wall_net}{cpus}{cpu_net}")

    print(f"\n{'ratio (medians)':<52}{'wall':>9}{'cpu':>9}")
    ratios = [("shellenv export / python -c pass (target <= 3)", "shellenv export", "python -c pass")]
    if "hook: use" in cases:
        ratios.append(("hook use in bash (net) / python -c pass", "hook: use",
                       "python -c pass"))
    if "awsumepy" in cases:
        ratios.append(("awsumepy / shellenv export (target >= 5)", "awsumepy", "shellenv export"))
    if "hook: use" in cases and "awsume wrapper" in cases:
        ratios.append(("awsume in bash / shellenv use in bash (net)", "awsume wrapper", "hook: use"))
        ratios.append(("awsume in bash / shellenv use in bash, program (net)", "awsume wrapper",
                       "hook: use, program"))
    for text, top, bottom in ratios:
        wall = net_ms(cases, top) / net_ms(cases, bottom)
        cpu = net_ms(cases, top, cpu=True) / net_ms(cases, bottom, cpu=True)
        print(f"{text:<52}{wall:8.2f}x{cpu:8.2f}x")


# -- the hook's `use`, timed inside one shell ------------------------------------------------------------

# N calls of `shellenv use PROFILE` in one shell, less N turns of an empty loop, timed with $EPOCHREALTIME:
# no process per call. The program is /bin/false here, so a `use` that the hook did not serve fails the run.
IN_SHELL = {
    "bash": """
. "$1"; __shellenv_prog=/bin/false; n=$2
shellenv use "$3" || exit 1
s=${EPOCHREALTIME//[!0-9]/}; for ((i = 0; i < n; i++)); do :; done; e=${EPOCHREALTIME//[!0-9]/}
empty=$((e - s))
s=${EPOCHREALTIME//[!0-9]/}
for ((i = 0; i < n; i++)); do shellenv use "$3" || exit 1; done
e=${EPOCHREALTIME//[!0-9]/}
printf '%s\n' "$(((e - s - empty) * 1000 / n))"
""",
    "zsh": """
. "$1"; zmodload -F zsh/datetime p:EPOCHREALTIME; __shellenv_prog=/bin/false; n=$2
shellenv use "$3" || exit 1
s=$EPOCHREALTIME; for ((i = 0; i < n; i++)); do :; done; e=$EPOCHREALTIME
empty=$((e - s))
s=$EPOCHREALTIME
for ((i = 0; i < n; i++)); do shellenv use "$3" || exit 1; done
e=$EPOCHREALTIME
printf '%d\n' $(((e - s - empty) * 1e9 / n))
""",
}


def in_shell(shell: str, program: Path, env: dict[str, str], *, calls: int, rounds: int) -> list[float]:
    """Milliseconds per `shellenv use PROFILE` inside one shell, one figure per round (one shell each)."""
    binary = shutil.which(shell)
    if binary is None:
        return []
    hook = Path(env["HOME"]) / f"hook.{shell}"
    hook.write_text(subprocess.run([str(program), "init", shell, "--no-prompt"], env=env, check=True,
                                   capture_output=True, text=True).stdout)
    argv = [binary, "-f" if shell == "zsh" else "--norc", "-c", IN_SHELL[shell], shell, str(hook),
            str(calls), PROFILE]
    figures = []
    for _ in range(rounds):
        done = subprocess.run(argv, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"bench: the {shell} hook did not serve `shellenv use {PROFILE}`")
        figures.append(int(done.stdout) / 1e6)  # nanoseconds per call
    return figures


def report_in_shell(figures: dict[str, list[float]], cases: dict[str, Case], calls: int) -> None:
    if not any(figures.values()):
        return
    python = median_ms(cases["python -c pass"])
    program = net_ms(cases, "hook: use, program") if "hook: use, program" in cases else None
    print(f"\nhook `shellenv use {PROFILE}`, cached, in-shell: {calls} calls per shell, median of "
          f"{len(next(iter(figures.values())))} shells")
    print(f"{'shell':<8}{'ms/call':>10}{'/ python -c pass':>19}{'/ program path':>17}")
    for shell, samples in figures.items():
        if not samples:
            continue
        per_call = statistics.median(samples)
        versus = f"{per_call / program:16.3f}x" if program else ""
        print(f"{shell:<8}{per_call:10.3f}{per_call / python:18.3f}x{versus}")


# -- the cases --------------------------------------------------------------------------------------------


def build_cases(python: Path, home: Path, awsume: Path | None, awsume_home: Path) -> dict[str, Case]:
    program = python.parent / "shellenv"
    env = clean_env(home, python.parent)
    cases = {
        "python -c pass": Case("python -c pass", [str(python), "-c", "pass"], env),
        "python -S -E -c pass": Case("python -S -E -c pass", [str(python), "-S", "-E", "-c", "pass"], env),
        "shellenv export": Case("shellenv export", [str(program), "export", "--shell", "bash", PROFILE],
                                env),
        "shellenv init bash": Case("shellenv init bash", [str(program), "init", "bash", "--no-prompt"],
                                   env),
    }
    bash = shutil.which("bash")
    if bash:
        hook = home / "hook.bash"
        text = subprocess.run([str(program), "init", "bash", "--no-prompt"], env=env, check=True,
                              capture_output=True, text=True).stdout
        hook.write_text(text)
        loaded = f". {hook}"
        cases["bash -c :"] = Case("bash -c :", [bash, "--norc", "--noprofile", "-c", ":"], env)
        cases["hook: loaded"] = Case("hook: loaded", [bash, "--norc", "--noprofile", "-c", loaded], env,
                                     minus="bash -c :")
        cases["hook: use"] = Case("hook: use", [bash, "--norc", "--noprofile", "-c",
                                                f"{loaded}; shellenv use {PROFILE}"], env,
                                  minus="hook: loaded")
        # A flag leaves the `use` to the program: what the hook costs when something must change.
        cases["hook: use, program"] = Case(
            "hook: use, program",
            [bash, "--norc", "--noprofile", "-c", f"{loaded}; shellenv use --cached {PROFILE}"], env,
            minus="hook: loaded")
    if awsume:
        awsume_env = clean_env(awsume_home, awsume.parent)
        cases["awsumepy"] = Case("awsumepy", [str(awsume), PROFILE], awsume_env)
        if bash:
            wrapper = awsume.parent / "awsume"
            cases["awsume wrapper"] = Case("awsume wrapper", [bash, "--norc", "--noprofile", "-c",
                                                              f". {wrapper} {PROFILE}"], awsume_env,
                                           minus="bash -c :")
    return cases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30, help="timed rounds (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds first (default 3)")
    parser.add_argument("--install", choices=("current", "regular"), default="current",
                        help="current: the shellenv beside this python; regular: a fresh wheel install")
    parser.add_argument("--awsume-venv", type=Path, default=AWSUME_VENV,
                        help=f"where awsume lives or is installed (default {AWSUME_VENV})")
    parser.add_argument("--no-awsume", action="store_true", help="leave awsume out")
    parser.add_argument("--calls", type=int, default=2000,
                        help="`shellenv use` calls per shell for the in-shell figure (default 2000)")
    parser.add_argument("--shell-rounds", type=int, default=5,
                        help="shells started for the in-shell figure, the median is kept (default 5)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="shellenv-bench-") as scratch:
        workdir = Path(scratch)
        python = Path(sys.executable)
        if args.install == "regular":
            python = regular_install(workdir)
        if not (python.parent / "shellenv").exists():
            raise SystemExit(f"bench: no shellenv program beside {python}; pip install the project first")
        home = workdir / "home"
        awsume_home = workdir / "awsume-home"
        home.mkdir(mode=0o700)
        awsume_home.mkdir(mode=0o700)
        seed_shellenv(home, python)
        awsume = None if args.no_awsume else ensure_awsume(args.awsume_venv)
        if awsume:
            seed_awsume(awsume_home)
        cases = build_cases(python, home, awsume, awsume_home)
        say(f"timing {len(cases)} commands, {args.rounds} rounds; shellenv from {python.parent}")
        measure(cases, args.rounds, args.warmup)
        env = clean_env(home, python.parent)
        figures = {shell: in_shell(shell, python.parent / "shellenv", env, calls=args.calls,
                                   rounds=args.shell_rounds) for shell in ("bash", "zsh")}
        label = f"{args.install} install ({python.parent})"
        report(cases, label=label, rounds=args.rounds)
        report_in_shell(figures, cases, args.calls)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
