#!/usr/bin/env python3
"""tty_run.py - run a command on a pseudo-terminal as an operator at a
terminal would, with a watchdog: a command that stops making progress is
killed and reported, never left to hang the test suite.

    tty_run.py TRANSCRIPT SCRIPT -- COMMAND [ARGS...]

SCRIPT is a file of lines, each one action:
    expect REGEX       wait (at most 60 s) until the output so far matches
    changes REGEX N    wait until the last match of REGEX (group 1) has taken
                       N different values: a live display that moves
    signal NAME        send the signal (INT, TERM, HUP, ...) to the command
    sleep S            wait S seconds, reading the output
    touch PATH         create the file PATH (a signal to a helper of the test)
    hangup             close the terminal: the kernel sends SIGHUP to the
                       command, whose writes to the terminal then fail
    exit               wait (at most 60 s) for the command to end
The whole output goes to TRANSCRIPT. Exits with the command's status, 98
when it did not end in time (it is then killed: a hang), 99 when an
expectation timed out.
"""
import os
import pty
import re
import select
import signal
import sys
import time

LIMIT = 60.0


def main():
    if len(sys.argv) < 5 or sys.argv[3] != "--":
        sys.stderr.write(__doc__)
        return 2
    transcript, script = sys.argv[1], sys.argv[2]
    actions = [l.rstrip("\n") for l in open(script) if l.strip()]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(sys.argv[4], sys.argv[4:])
    out = b""
    open_fd = [True]

    def pump(timeout):
        nonlocal out
        if not open_fd[0]:
            time.sleep(timeout)
            return
        r, _, _ = select.select([fd], [], [], timeout)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            out += chunk

    def wait_for(pred, limit=LIMIT):
        deadline = time.time() + limit
        while time.time() < deadline:
            if pred():
                return True
            pump(min(0.2, max(0.0, deadline - time.time())))
        return pred()

    def finish(status, note=None):
        with open(transcript, "wb") as f:
            f.write(out)
            if note:
                f.write(("\n[tty_run] %s\n" % note).encode())
        return status

    for a in actions:
        verb, _, arg = a.partition(" ")
        if verb == "expect":
            if not wait_for(lambda: re.search(arg.encode(), out)):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return finish(99, "timed out waiting for: %s" % arg)
        elif verb == "changes":
            rx, _, n = arg.rpartition(" ")
            seen = set()

            def moved():
                for m in re.finditer(rx.encode(), out):
                    seen.add(m.group(1))
                return len(seen) >= int(n)

            if not wait_for(moved):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return finish(99, "the display did not move: %s took %d values" % (rx, len(seen)))
        elif verb == "signal":
            os.kill(pid, getattr(signal, "SIG" + arg))
        elif verb == "sleep":
            deadline = time.time() + float(arg)
            while time.time() < deadline:
                pump(min(0.2, deadline - time.time()))
        elif verb == "touch":
            open(arg, "a").close()
        elif verb == "hangup":
            os.close(fd)
            open_fd[0] = False
        elif verb == "exit":
            deadline = time.time() + LIMIT
            while time.time() < deadline:
                done, st = os.waitpid(pid, os.WNOHANG)
                if done:
                    while open_fd[0]:
                        r, _, _ = select.select([fd], [], [], 0.2)
                        if not r:
                            break
                        try:
                            chunk = os.read(fd, 65536)
                        except OSError:
                            break
                        if not chunk:
                            break
                        out += chunk
                    if os.WIFEXITED(st):
                        return finish(os.WEXITSTATUS(st))
                    return finish(128 + os.WTERMSIG(st))
                pump(0.2)
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return finish(98, "HANG: the command did not end within %d s" % LIMIT)
        else:
            sys.stderr.write("tty_run: unknown action %s\n" % verb)
            return 2
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return finish(97, "the script ended without 'exit'")


if __name__ == "__main__":
    sys.exit(main())
