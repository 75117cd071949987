"""What the prompt hook costs: microseconds per prompt in bash, zsh and fish, beside an empty hook and
direnv's hook (in a folder with no .envrc), measured in the same run; and the processes an ordinary prompt
starts, counted with strace in real interactive shells.

    python bench/prompt.py [--prompts 20000] [--direnv-prompts 300] [--rounds 3]

Each figure is the best of the rounds; within a round every hook of a shell is measured once, so a busy
moment of the machine falls on all of them alike. A measure is N calls of the hook function in one shell
process: wall time (bash and zsh time their loop with $EPOCHREALTIME; fish has no clock, so its loop is
timed from outside, less the same script with no calls) and CPU time (user + system of the shell and its
children, less the script with no calls), which a loaded machine disturbs less.
"""

from __future__ import annotations

import argparse
import os
import resource
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
    "shellenv-nokeys": "__shellenv_precmd",
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
    code = [] if hook == "shellenv-nokeys" else [shells.get(shell).export(env)]
    if hook.startswith("shellenv"):
        code.append(shells.get(shell).hook(PROGRAM, {}))
    elif hook == "direnv":
        code.append(subprocess.run(["direnv", "hook", shell], capture_output=True, text=True,
                                   check=True).stdout)
    code.append("function __bench_empty; end" if shell == "fish" else "__bench_empty() { :; }")
    return "\n".join(code)


def per_prompt_us(shell: str, hook: str, calls: int, folder: Path) -> tuple[float, float]:
    """Wall and CPU microseconds per call of the hook's function, from N calls and from none."""
    function = HOOKS[hook] if isinstance(HOOKS[hook], str) else HOOKS[hook][shell]
    script = folder / f"bench.{shell}"
    setup = setup_code(shell, hook, folder / "stamp")
    measured = {}
    for n in (calls, 0):
        if shell == "fish":
            script.write_text(setup + f"\nfor __i in (seq {n}); {function}; end\n")
            argv = ["fish", "--no-config", str(script)]
        else:
            loop = (f"{'zmodload zsh/datetime' if shell == 'zsh' else ''}\n"
                    f"__t0=$EPOCHREALTIME; for ((__i = 0; __i < {n}; __i++)); do {function}; done\n"
                    f"__t1=$EPOCHREALTIME; echo $(( ${{__t1/./}} - ${{__t0/./}} ))\n")
            script.write_text(setup + "\n" + loop)
            argv = (["bash", "--norc", "--noprofile", str(script)] if shell == "bash"
                    else ["zsh", "-f", str(script)])
        measured[n] = _run(argv, folder)
    (wall, cpu, said), (empty_wall, empty_cpu, _) = measured[calls], measured[0]
    if shell == "bash":
        wall = int(said) * 1e-6
    elif shell == "zsh":  # $EPOCHREALTIME has nanoseconds in zsh
        wall = int(said) * 1e-9
    else:
        wall -= empty_wall
    return wall * 1e6 / calls, (cpu - empty_cpu) * 1e6 / calls


def _run(argv: list[str], folder: Path) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (the shell and its children) and the last line the script printed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SHELLENV_", "DIRENV_"))}
    env["HOME"] = str(folder)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=folder, env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    out = done.stdout.strip()
    return wall, cpu, out.splitlines()[-1] if out else ""


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
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    have = {tool: shutil.which(tool) is not None for tool in ("bash", "zsh", "fish", "direnv", "strace")}
    hooks = [h for h in HOOKS if h != "direnv" or have["direnv"]]
    print(f"{'shell':<6} {'hook':<16} {'wall µs':>9} {'cpu µs':>9} {'processes/prompt':>17}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for shell in ("bash", "zsh", "fish"):
            if not have[shell]:
                print(f"{shell:<6} (not installed)")
                continue
            best: dict[str, tuple[float, float]] = {}
            for _ in range(args.rounds):
                for hook in hooks:
                    calls = args.direnv_prompts if hook == "direnv" else args.prompts
                    if shell == "fish":
                        calls = max(calls // 10, 100)
                    wall, cpu = per_prompt_us(shell, hook, calls, folder)
                    old = best.get(hook, (wall, cpu))
                    best[hook] = (min(old[0], wall), min(old[1], cpu))
            for hook in hooks:
                forks = processes_per_prompt(shell, hook, folder) if have["strace"] else float("nan")
                wall, cpu = best[hook]
                print(f"{shell:<6} {hook:<16} {wall:>9.1f} {cpu:>9.1f} {forks:>17.1f}", flush=True)
            if "direnv" in best:
                ratios = [f"{name} {best['direnv'][0] / best[name][0]:.0f}x wall, "
                          f"{best['direnv'][1] / best[name][1]:.0f}x cpu"
                          for name in ("shellenv", "shellenv-nokeys", "shellenv-window")]
                print(f"{shell:<6} direnv / " + "; ".join(ratios))


if __name__ == "__main__":
    main()
