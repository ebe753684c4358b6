#!/usr/bin/env python3
"""Holds the layers of src/: what each folder may include, directly or through
the headers it includes (ctest: unit.Layers).

A folder's files may reach (transitively, through project headers) only the
folders listed for it below, and its own. So an include that climbs fails the
suite: http/ including auth/authenticator.h is allowed, but if that header
included store/store.h, http would compile the store and this check fails.
The order of LAYERS is the architecture, bottom up (docs/architecture.md).

Usage: tests/layers/check_layers.py <source dir>
"""
import os
import re
import sys

LAYERS = {
    "util": set(),
    "observability": {"util"},
    "domain": {"util"},
    "net": {"util", "observability"},
    # the live streams' hub (publishers below the API reach it), and what a
    # resumed stream missed, read back from the store
    "live": {"util", "observability", "domain", "store"},
    "http": {"util", "observability", "domain", "auth"},
    "auth": {"util", "domain", "store", "observability"},
    "store": {"util", "observability", "domain"},
    "script": {"util", "domain"},
    "jobs": {"live", "util", "observability", "domain", "store", "net", "script"},
    "forms": {"live", "util", "observability", "domain", "store", "script", "jobs"},
    "events": {"live", "util", "observability", "domain", "store", "jobs"},
    "feeds": {"live", "util", "observability", "domain", "store", "net"},
    "api": {"live", "util", "observability", "domain", "store", "net", "http", "auth", "script", "jobs", "forms", "events",
            "feeds"},
    # the gRPC transport: beside http/ and api/, calling the same operations
    "rpc": {"live", "util", "observability", "domain", "store", "auth", "script", "jobs", "forms", "events"},
    "runtime": {"live", "util", "observability", "domain", "store", "net", "http", "auth", "script", "jobs", "forms",
                "events", "feeds", "api", "rpc"},
    ".": {"live", "util", "observability", "domain", "store", "net", "http", "auth", "script", "jobs", "forms", "events",
          "feeds", "api", "rpc", "runtime"},  # main.cpp: the top
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def folder_of(path):
    parts = path.split("/")
    return parts[0] if len(parts) > 1 else "."


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    src = os.path.join(sys.argv[1], "src")
    includes = {}  # path relative to src -> project headers it includes (relative to src)
    for root, _, files in os.walk(src):
        for name in files:
            if name.endswith((".h", ".cpp")):
                rel = os.path.relpath(os.path.join(root, name), src)
                with open(os.path.join(src, rel), encoding="utf-8") as f:
                    text = f.read()
                found = []
                for inc in INCLUDE.findall(text):
                    if os.path.exists(os.path.join(src, inc)):
                        found.append(inc)
                    elif os.path.exists(os.path.join(src, os.path.dirname(rel), inc)):
                        found.append(os.path.normpath(os.path.join(os.path.dirname(rel), inc)))
                includes[rel] = found

    problems = []
    unknown = sorted({folder_of(p) for p in includes} - set(LAYERS))
    for folder in unknown:
        problems.append(f"src/{folder}/ is not in LAYERS (tests/layers/check_layers.py): say what it may include")

    for path in sorted(includes):
        folder = folder_of(path)
        allowed = LAYERS.get(folder, set()) | {folder}
        # Walk the headers this file reaches, remembering how, to name the chain.
        seen = {path: None}
        queue = [path]
        while queue:
            current = queue.pop()
            for inc in includes.get(current, []):
                if inc in seen:
                    continue
                seen[inc] = current
                target = folder_of(inc)
                if target not in allowed:
                    chain = [inc]
                    step = current
                    while step is not None:
                        chain.append(step)
                        step = seen[step]
                    problems.append(f"src/{path} reaches {target}/ (not allowed for {folder}/): " +
                                    " -> ".join(reversed(chain)))
                    continue
                queue.append(inc)

    if problems:
        print("layer violations:")
        for p in problems:
            print("  " + p)
        sys.exit(1)
    print(f"layers hold: {len(includes)} files of src/ checked against {len(LAYERS)} folders")


if __name__ == "__main__":
    main()
