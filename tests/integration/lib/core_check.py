#!/usr/bin/env python3
"""core_check.py - does a process killed by SIGQUIT leave a core?

usage: core_check.py DIR READY_FILE READY_TEXT CMD...

Runs CMD in DIR with the core size limit raised as far as it goes
(`ulimit -c unlimited` for root), waits until READY_FILE contains
READY_TEXT (the process then holds its secrets), prints the process's core
limit as /proc/PID/limits shows it, sends SIGQUIT and prints one line:
`core-limit SOFT HARD signal N coredump 0|1 files NAMES`, where coredump is
the kernel's own word (WCOREDUMP of the wait status: 1 whenever a core was
written anywhere, a file or a core_pattern pipe) and files are the entries
of DIR whose name starts with "core".
"""
import os
import resource
import signal
import subprocess
import sys
import time


def raise_core_limit():
    hard = resource.getrlimit(resource.RLIMIT_CORE)[1]
    try:
        resource.setrlimit(resource.RLIMIT_CORE,
                           (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))


def main():
    d, ready_file, ready_text, cmd = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    with open(os.path.join(d, "cmd.out"), "wb") as out:
        p = subprocess.Popen(cmd, cwd=d, preexec_fn=raise_core_limit, stdout=out,
                             stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with open(ready_file, errors="replace") as f:
                if ready_text in f.read():
                    break
        except FileNotFoundError:
            pass
        if p.poll() is not None:
            print("exited early with status", p.returncode)
            return 1
        time.sleep(0.05)
    else:
        p.kill()
        print("never ready")
        return 1
    soft = hard = "?"
    with open(f"/proc/{p.pid}/limits") as f:
        for line in f:
            if line.startswith("Max core file size"):
                soft, hard = line.split()[4:6]
    os.kill(p.pid, signal.SIGQUIT)
    _, status = os.waitpid(p.pid, 0)
    p.returncode = 0  # reaped here; keep Popen from waiting again
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
    dumped = 1 if os.WIFSIGNALED(status) and os.WCOREDUMP(status) else 0
    files = sorted(n for n in os.listdir(d) if n.startswith("core"))
    print(f"core-limit {soft} {hard} signal {sig} coredump {dumped} files {' '.join(files)}")
    return 0


sys.exit(main())
