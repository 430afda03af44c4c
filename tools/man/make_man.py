#!/usr/bin/env python3
"""make_man.py - a man page from a program's own --help, so the page and the
help never disagree: one source.

    make_man.py OUT.1 PROGRAM SUMMARY [--subcommands]

Runs `PROGRAM --help` (and, with --subcommands, `PROGRAM CMD --help` for
every command the help lists under "commands:"), and writes a roff page:
NAME, SYNOPSIS (the usage lines), DESCRIPTION (the rest of the help), and
one COMMANDS subsection per command. Text is set verbatim (.nf), with the
characters roff would take for requests escaped.
"""
import datetime
import os
import re
import subprocess
import sys


def helptext(argv):
    # A sanitizer build's leak report at exit must not end up in the page.
    env = dict(os.environ, COLUMNS="80", ASAN_OPTIONS="detect_leaks=0")
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30,
                       env=env)
    return r.stdout.decode("utf-8", "replace")


def roff(text):
    out = []
    for line in text.rstrip("\n").split("\n"):
        line = line.replace("\\", "\\e")
        if line.startswith(".") or line.startswith("'"):
            line = "\\&" + line
        out.append(line)
    return "\n".join(out)


def main():
    if len(sys.argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    out, prog, summary = sys.argv[1], sys.argv[2], sys.argv[3]
    subs = "--subcommands" in sys.argv[4:]
    name = os.path.basename(prog)
    top = helptext([prog, "--help"])
    usage, rest = [], []
    for line in top.split("\n"):
        if not rest and (line.startswith("usage:") or (usage and line.startswith(" ") and line.strip())):
            usage.append(line.replace("usage: ", "", 1).strip())
        else:
            rest.append(line)
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    date = (datetime.datetime.utcfromtimestamp(int(epoch)).date() if epoch.isdigit()
            else datetime.date.today())
    page = [
        '.TH %s 1 "%s" "cardforge" "User Commands"' % (name.upper(), date.isoformat()),
        ".SH NAME",
        "%s \\- %s" % (name, summary),
        ".SH SYNOPSIS",
        ".nf",
        roff("\n".join(usage)),
        ".fi",
        ".SH DESCRIPTION",
        ".nf",
        roff("\n".join(rest).strip("\n")),
        ".fi",
    ]
    if subs:
        cmds = re.findall(r"^  ([a-z][a-z-]*)  ", top, re.M)
        if cmds:
            page.append(".SH COMMANDS")
        for c in cmds:
            page += [".SS %s %s" % (name, c), ".nf", roff(helptext([prog, c, "--help"])), ".fi"]
    page += [".SH SEE ALSO",
             "The documents in the cardforge source tree: README.md and docs/."]
    with open(out, "w") as f:
        f.write("\n".join(page) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
