"""What the prompt hook costs: microseconds per prompt in bash, zsh and fish, beside an empty hook and
direnv's hook (in a folder with no .envrc), measured in the same run; and the processes an ordinary prompt
starts, counted with strace in real interactive shells.

    python bench/prompt.py [--prompts 20000] [--direnv-prompts 300]

Each figure is the best of three runs of N calls of the hook function inside one shell process (bash and
zsh time themselves with $EPOCHREALTIME; fish has no clock, so its loop is timed from outside, less the
same loop with no calls).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

from shellenv import shells  # noqa: E402

PROGRAM = str(Path(sys.executable).parent / "shellenv")
HOOKS = {  # the function each hook runs on a prompt
    "empty": "__bench_empty",
    "shellenv": "__shellenv_precmd",
    "shellenv-window": "__shellenv_precmd",
    "direnv": {"bash": "_direnv_hook", "zsh": "_direnv_hook", "fish": "__direnv_export_eval"},
}


def setup_code(shell: str, hook: str, stamp: Path) -> str:
    """Shell code that loads one hook with keys in place, as in a user's shell after `shellenv use`."""
    left = 100 if hook == "shellenv-window" else 7000
    expiry = int(time.time()) + left
    stamp.write_text(f"{expiry}\n")
    os.utime(stamp, (expiry, expiry))
    env = {"SHELLENV_PROFILE": "dev", "SHELLENV_EXPIRY": str(expiry), "SHELLENV_STAMP": str(stamp),
           "AWS_ACCESS_KEY_ID": "ASIABENCH"}
    code = [shells.get(shell).export(env)]
    if hook.startswith("shellenv"):
        code.append(shells.get(shell).hook(PROGRAM, {}))
    elif hook == "direnv":
        code.append(subprocess.run(["direnv", "hook", shell], capture_output=True, text=True,
                                   check=True).stdout)
    code.append("function __bench_empty; end" if shell == "fish" else "__bench_empty() { :; }")
    return "\n".join(code)


def per_prompt_us(shell: str, hook: str, calls: int, folder: Path) -> float:
    function = HOOKS[hook] if isinstance(HOOKS[hook], str) else HOOKS[hook][shell]
    script = folder / f"bench.{shell}"
    setup = setup_code(shell, hook, folder / "stamp")
    if shell in ("bash", "zsh"):
        loop = (f"{'zmodload zsh/datetime' if shell == 'zsh' else ''}\n"
                f"__t0=$EPOCHREALTIME; for ((__i = 0; __i < {calls}; __i++)); do {function}; done\n"
                f"__t1=$EPOCHREALTIME; echo $(( ${{__t1/./}} - ${{__t0/./}} ))\n")
        script.write_text(setup + "\n" + loop)
        if shell == "bash":
            argv, unit = ["bash", "--norc", "--noprofile", str(script)], 1.0
        else:  # zsh's $EPOCHREALTIME has nanoseconds
            argv, unit = ["zsh", "-f", str(script)], 1e-3
        best = min(int(_run(argv, folder)) for _ in range(3))
        return best * unit / calls
    timings = []
    for n in (calls, 0):
        script.write_text(setup + f"\nfor __i in (seq {n}); {function}; end\n")
        argv = ["fish", "--no-config", str(script)]
        runs = []
        for _ in range(3):
            start = time.perf_counter()
            _run(argv, folder)
            runs.append(time.perf_counter() - start)
        timings.append(min(runs))
    return (timings[0] - timings[1]) * 1e6 / calls


def _run(argv: list[str], folder: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SHELLENV_", "DIRENV_"))}
    env["HOME"] = str(folder)
    done = subprocess.run(argv, cwd=folder, env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def processes_per_prompt(shell: str, hook: str, folder: Path, prompts: int = 5) -> float:
    """Processes started per ordinary prompt of a real interactive shell, traced with strace."""
    from shell_harness import Session

    log = folder / f"strace.{shell}.{hook}"
    session = Session(shell, folder, setup_code(shell, hook, folder / "stamp"),
                      wrapper=["strace", "-f", "-qq", "-o", str(log),
                               "-e", "trace=clone,clone3,fork,vfork,execve"])
    session.run("")
    started = len(log.read_text().splitlines())
    for _ in range(prompts):
        session.run("")
    events = log.read_text().splitlines()[started:]
    session.close()
    count = sum(1 for e in events if "execve(" in e or "fork(" in e
                or ("clone" in e and "CLONE_THREAD" not in e and "resumed" not in e))
    return count / prompts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=20000)
    parser.add_argument("--direnv-prompts", type=int, default=300)
    args = parser.parse_args()
    have = {tool: shutil.which(tool) is not None for tool in ("bash", "zsh", "fish", "direnv", "strace")}
    print(f"{'shell':<6} {'hook':<16} {'µs/prompt':>10} {'processes/prompt':>17}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for shell in ("bash", "zsh", "fish"):
            if not have[shell]:
                print(f"{shell:<6} (not installed)")
                continue
            results = {}
            for hook in ("empty", "shellenv", "shellenv-window", "direnv"):
                if hook == "direnv" and not have["direnv"]:
                    continue
                calls = args.direnv_prompts if hook == "direnv" else args.prompts
                if shell == "fish":
                    calls = max(calls // 10, 100)
                micros = per_prompt_us(shell, hook, calls, folder)
                forks = processes_per_prompt(shell, hook, folder) if have["strace"] else float("nan")
                results[hook] = micros
                print(f"{shell:<6} {hook:<16} {micros:>10.1f} {forks:>17.1f}", flush=True)
            if "direnv" in results:
                print(f"{shell:<6} direnv / shellenv: {results['direnv'] / results['shellenv']:.0f}x "
                      f"(in the warning window: {results['direnv'] / results['shellenv-window']:.0f}x)")


if __name__ == "__main__":
    main()
