#!/usr/bin/python3
"""Source checks run by `make check`:
  - layering: a lower layer never includes an upper layer's header
    (lib < settings, passdb/schemes, mailcore < authd, mechanisms, passdb, userdb
    < master, admin);
  - banned unbounded string functions (strcpy, strcat, sprintf, strncpy,
    gets, vsprintf).
Exit 1 with one line per violation."""
import os
import re
import sys

TOP = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                      os.path.join(os.path.dirname(__file__), ".."))
LAYERS = {
    "lib": 0,
    "settings": 1, "passdb/schemes": 1, "mailcore": 1,
    "authd": 2, "mechanisms": 2, "passdb": 2, "userdb": 2,
    "master": 3, "admin": 3,
}
BANNED = re.compile(r"\b(strcpy|strcat|sprintf|vsprintf|strncpy|gets)\s*\(")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def layer_of(relpath):
    d = os.path.dirname(relpath)
    return LAYERS.get(d)


def main():
    headers = {}
    files = []
    for d in LAYERS:
        full = os.path.join(TOP, d)
        if not os.path.isdir(full):
            continue
        for name in sorted(os.listdir(full)):
            rel = os.path.join(d, name)
            if name.endswith(".h"):
                headers.setdefault(name, rel)
            if name.endswith((".c", ".h")):
                files.append(rel)
    problems = []
    for rel in files:
        mine = layer_of(rel)
        with open(os.path.join(TOP, rel), encoding="utf-8", errors="replace") as f:
            for lineno, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if m:
                    target = headers.get(os.path.basename(m.group(1)))
                    if target is not None and layer_of(target) > mine:
                        problems.append(f"{rel}:{lineno}: includes {target} "
                                        f"from a higher layer")
                code = line.split("//")[0]
                if BANNED.search(code) and not code.lstrip().startswith(("/*", "*")):
                    problems.append(f"{rel}:{lineno}: banned function: {code.strip()}")
    for p in problems:
        print(p)
    print(f"lint: {len(files)} files, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
