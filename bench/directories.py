"""What a `cd` costs with folder profiles, beside direnv's hook doing the same walk, in one run.

    python bench/directories.py [--steps 400] [--switch-steps 20]

Two walks, each followed by what a prompt runs (the hook function), in bash and zsh:
- same: cd between folders of one project and back (the resolution never changes). shellenv forks
  nothing here; direnv runs its binary on every prompt.
- switch: cd into the project and out again (every cd changes the resolution). shellenv starts the program
  once per cd, served from the cache; direnv loads or unloads the project's .envrc (AWS_PROFILE=...).
Each shell times itself with $EPOCHREALTIME; figures are milliseconds per cd, best of three runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

PROGRAM = str(Path(sys.executable).parent / "shellenv")
CONFIG = """[idp.work]
type = "onelogin"
base_url = "http://127.0.0.1:9"
subdomain = "bench"
app_id = "1"
client_id = "bench"
username = "bench"

[profile.dev]
idp = "work"
role_arn = "arn:aws:iam::111111111111:role/Admin"
region = "eu-west-1"
"""
HOOK = {"shellenv": "__shellenv_precmd", "direnv": "_direnv_hook"}
WALK = {  # (from, to) folders relative to HOME: each step is `cd to; hook`, then `cd from; hook`
    "same": ("proj/a", "proj/a/b"),
    "switch": (".", "proj"),
}


def prepare(home: Path) -> dict[str, str]:
    """A HOME with a config, cached keys for `dev`, and ~/proj naming it (allowed), plus its .envrc."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SHELLENV_", "XDG_", "DIRENV"))}
    env.update(HOME=str(home), PATH=f"{Path(PROGRAM).parent}:{env.get('PATH', '')}")
    os.environ.update(HOME=str(home))
    (home / ".config" / "shellenv").mkdir(parents=True)
    (home / ".config" / "shellenv" / "config.toml").write_text(CONFIG)
    (home / "proj" / "a" / "b").mkdir(parents=True)
    (home / "proj" / ".shellenv.toml").write_text('profile = "dev"\n')
    (home / "proj" / ".envrc").write_text("export AWS_PROFILE=dev\n")
    subprocess.run([PROGRAM, "allow", str(home / "proj")], env=env, check=True, capture_output=True)
    subprocess.run(["direnv", "allow", str(home / "proj")], env=env, check=True, capture_output=True)

    import datetime as dt
    import time

    from shellenv.cache import KeyCache
    from shellenv.credentials import Credentials

    expiry = dt.datetime.fromtimestamp(int(time.time()) + 7200, dt.timezone.utc)
    KeyCache().store(Credentials(access_key_id="ASIABENCH", secret_access_key="s", session_token="t",
                                 expiration=expiry, role_arn="arn:aws:iam::111111111111:role/Admin",
                                 profile="dev", region="eu-west-1"))
    return env


def script(shell: str, tool: str, walk: str, steps: int, env: dict[str, str]) -> str:
    if tool == "shellenv":
        init = subprocess.run([PROGRAM, "init", shell, "--no-completions"], env=env, check=True,
                              capture_output=True, text=True).stdout
    else:
        init = subprocess.run(["direnv", "hook", shell], env=env, check=True, capture_output=True,
                              text=True).stdout
    start, other = WALK[walk]
    hook = HOOK[tool]
    body = f"""
{init}
cd ~/{start}; {hook}
best=999999999
for run in 1 2 3; do
    t0=$EPOCHREALTIME
    for ((i = 0; i < {steps}; i++)); do
        cd ~/{other}; {hook}
        cd ~/{start}; {hook}
    done
    t1=$EPOCHREALTIME
    us=$(( (${{t1/./}} - ${{t0/./}}) / ({steps} * 2 * SCALE) ))
    (( us < best )) && best=$us
done
echo "RESULT $best"
"""
    # $EPOCHREALTIME has microseconds in bash and nanoseconds in zsh.
    if shell == "zsh":
        return "zmodload zsh/datetime\nSCALE=1000\n" + body
    return "SCALE=1\n" + body


def measure(shell: str, tool: str, walk: str, steps: int, env: dict[str, str], folder: Path) -> float:
    path = folder / f"{tool}-{walk}.{shell}"
    path.write_text(script(shell, tool, walk, steps, env))
    argv = [shell, "--norc", "--noprofile", str(path)] if shell == "bash" else [shell, "-f", str(path)]
    done = subprocess.run(argv, env={**env, "TERM": "dumb"}, capture_output=True, text=True, cwd=env["HOME"],
                          stdin=subprocess.DEVNULL, timeout=600)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return int(line.split()[1]) / 1000
    raise SystemExit(f"{shell} {tool} {walk} failed:\n{done.stdout}\n{done.stderr}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400, help="cd pairs in the walk that keeps the profile")
    parser.add_argument("--switch-steps", type=int, default=20, help="cd pairs in the walk that switches")
    args = parser.parse_args()
    if not shutil.which("direnv"):
        raise SystemExit("direnv is not installed; it is the yardstick")
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        env = prepare(home)
        print(f"{'walk':8} {'shell':6} {'shellenv ms/cd':>15} {'direnv ms/cd':>13} {'direnv/shellenv':>16}")
        for walk, steps in (("same", args.steps), ("switch", args.switch_steps)):
            for shell in ("bash", "zsh"):
                if not shutil.which(shell):
                    continue
                ours = measure(shell, "shellenv", walk, steps, env, Path(tmp))
                theirs = measure(shell, "direnv", walk, steps if walk == "switch" else max(20, steps // 10),
                                 env, Path(tmp))
                print(f"{walk:8} {shell:6} {ours:15.3f} {theirs:13.3f} {theirs / ours:15.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
