#!/usr/bin/env python3
"""pty_drive.py - run a command on a pseudo-terminal and talk to it like a
person at the keyboard, for tests of commands that read secrets only from a
terminal.

    pty_drive.py SCRIPT -- COMMAND [ARGS...]

SCRIPT is a file of lines, each one action:
    expect REGEX        wait (at most 20 s) until the output so far matches
    send TEXT           type TEXT and Enter
    capture NAME REGEX  wait for REGEX; its first group is stored as NAME
    sendcmd SHELL       run SHELL (with captured NAMEs as environment variables
                        CAP_NAME); type its stdout's first line and Enter
    eof                 wait for the command to end
Prints the whole transcript to stdout at the end and exits with the
command's exit status (or 99 when an expectation timed out).
"""
import os
import pty
import re
import select
import subprocess
import sys
import time


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.stderr.write(__doc__)
        return 2
    actions = [l.rstrip("\n") for l in open(sys.argv[1]) if l.strip()]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(sys.argv[3], sys.argv[3:])
    out = b""
    captured = {}

    def read_until(rx, timeout=20.0):
        nonlocal out
        deadline = time.time() + timeout
        while True:
            m = re.search(rx.encode(), out)
            if m:
                return m
            left = deadline - time.time()
            if left <= 0:
                return None
            r, _, _ = select.select([fd], [], [], left)
            if r:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    m = re.search(rx.encode(), out)
                    return m
                out += chunk

    status = None
    for a in actions:
        verb, _, arg = a.partition(" ")
        if verb == "expect":
            if read_until(arg) is None:
                sys.stdout.write(out.decode(errors="replace"))
                sys.stdout.write("\n[pty_drive] timed out waiting for: %s\n" % arg)
                os.kill(pid, 9)
                return 99
        elif verb == "capture":
            name, _, rx = arg.partition(" ")
            m = read_until(rx)
            if m is None:
                sys.stdout.write(out.decode(errors="replace"))
                sys.stdout.write("\n[pty_drive] timed out waiting for: %s\n" % rx)
                os.kill(pid, 9)
                return 99
            captured[name] = m.group(1).decode()
        elif verb == "send":
            time.sleep(0.05)
            os.write(fd, arg.encode() + b"\r")
        elif verb == "sendcmd":
            env = dict(os.environ)
            for k, v in captured.items():
                env["CAP_" + k] = v
            line = subprocess.run(arg, shell=True, env=env, check=True,
                                  stdout=subprocess.PIPE).stdout.decode().splitlines()[0]
            time.sleep(0.05)
            os.write(fd, line.encode() + b"\r")
        elif verb == "eof":
            read_until(r"\Z(?!x)x", timeout=20.0)  # read until the child closes
        else:
            sys.stderr.write("pty_drive: unknown action %s\n" % verb)
            return 2
    while True:
        r, _, _ = select.select([fd], [], [], 20.0)
        if not r:
            break
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    _, st = os.waitpid(pid, 0)
    sys.stdout.write(out.decode(errors="replace"))
    if os.WIFEXITED(st):
        status = os.WEXITSTATUS(st)
    else:
        status = 128 + os.WTERMSIG(st)
    return status


if __name__ == "__main__":
    sys.exit(main())
