#!/usr/bin/env python3
"""commands_used.py - the external commands shell scripts call.

Usage: commands_used.py SCRIPT...   prints "COMMAND SCRIPT" once per command.

Read by tests/integration/test_setup_packages.sh, which checks that
scripts/setup.sh installs every one of them. A shell parser would be exact;
this is a reading of the shapes our scripts use, enough to name the words
in command position:
  - here-documents (C, CMake, Python, job files) and comments are dropped;
  - string contents are blanked, except the $(...) inside double quotes;
  - arithmetic ((...)) and ${...} expansions are dropped, and case patterns;
  - a command starts a line or follows | || && ; & ( $( { or a backtick;
    assignments, options, numbers and redirections before it are skipped,
    and a wrapper (exec env timeout setsid nohup xargs ...) is a command
    whose argument is one too;
  - words that are not plain lower-case names ("$CLI", ./x, /path) are not
    looked at: they are the project's own programs or variables;
  - functions defined in any of the scripts are not commands.
Shell builtins and keywords are left to the caller (it asks bash).
"""
import re
import sys

KEYWORDS = set("if then else elif fi for while until do done case esac in "
               "function select time ! { } [[ ]] coproc".split())
WRAPPERS = {"exec", "env", "timeout", "setsid", "nohup", "sudo", "command",
            "stdbuf", "nice", "xargs", "time", "builtin", "then", "do", "else",
            "if", "while", "until", "!"}
def blank_strings(text):
    """The code with each string's contents blanked (a word _q_ left in its
    place), except the $(...) inside double quotes, which is code."""
    out, i, n = [], 0, len(text)
    stack = ["code"]  # code, sub ($(...)) or dq (double quotes)
    while i < n:
        c, top = text[i], stack[-1]
        if c == "\\" and i + 1 < n:
            out.append("  ")
            i += 2
        elif text.startswith("$(", i):
            stack.append("sub")
            out.append("$(")
            i += 2
        elif top == "dq":
            if c == '"':
                stack.pop()
            out.append("\n" if c == "\n" else " ")
            i += 1
        elif c == "'":
            j = text.find("'", i + 1)
            j = n - 1 if j < 0 else j
            out.append("_q_" + re.sub(r"[^\n]", " ", text[i + 3:j + 1]))
            i = j + 1
        elif c == '"':
            stack.append("dq")
            out.append("_q_")
            i += 1
        else:
            if c == ")" and top == "sub":
                stack.pop()
            out.append(c)
            i += 1
    return "".join(out)


def drop_arithmetic(code):
    """(( ... )) and $(( ... )) hold no commands (up to the line's end)."""
    out, i = [], 0
    while True:
        j = code.find("((", i)
        if j < 0:
            out.append(code[i:])
            return "".join(out)
        out.append(code[i:j])
        depth, k = 0, j
        while k < len(code) and code[k] != "\n":
            if code[k] == "(":
                depth += 1
            elif code[k] == ")":
                depth -= 1
                if depth == 0:
                    break
            k += 1
        out.append(" ")
        i = k + 1 if k < len(code) and code[k] == ")" else k


def strip_heredocs(lines):
    out, end = [], None
    for line in lines:
        if end is not None:
            if line.strip() == end:
                end = None
            out.append("")
            continue
        m = re.search(r"<<-?\s*['\"]?([A-Za-z_][A-Za-z0-9_]*)['\"]?", line)
        if m and "<<<" not in line:
            end = m.group(1)
        out.append(line)
    return out


def first_word(words):
    """The command of a segment's words, and the wrappers before it."""
    found = []
    for w in words:
        if (re.match(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=", w) or w.startswith("-")
                or re.match(r"^[0-9.]+[smh]?$", w) or re.match(r"^[0-9]*[<>]", w)):
            continue
        if w in WRAPPERS:
            if w not in KEYWORDS:
                found.append(w)
            continue
        found.append(w)
        break
    return found


def commands(path):
    """(commands called, functions defined) in the script at path."""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = strip_heredocs(f.read().split("\n"))
    lines = [re.sub(r"(^|\s)#.*$", "", line) for line in lines]
    code = blank_strings("\n".join(lines).replace("\\\n", " "))
    funcs = set(re.findall(r"^\s*(?:function\s+)?([A-Za-z_][\w-]*)\s*\(\)", code, re.M))
    code = drop_arithmetic(re.sub(r"\$\{[^}]*\}", "_v_", code))
    code = re.sub(r"(?m)(^|;;|\bin\b)\s*[^()\s;]+(\s*\|\s*[^()\s;]+)*\)", " ", code)
    found = set()
    for line in code.split("\n"):
        # ")" ends a substitution: what follows is still the outer command's.
        for seg in re.split(r"\|\||&&|[|;&`({]|\$\(", line.replace(")", " ")):
            for w in first_word(seg.split()):
                if re.match(r"^[a-z][a-z0-9_.+-]*$", w) and w not in KEYWORDS:
                    found.add(w)
    return found, funcs


def main(paths):
    used, funcs = {}, set()
    for p in paths:
        found, defined = commands(p)
        funcs |= defined
        for w in found:
            used.setdefault(w, p)
    for w in sorted(used):
        if w not in funcs:
            print(w, used[w])


if __name__ == "__main__":
    main(sys.argv[1:])
