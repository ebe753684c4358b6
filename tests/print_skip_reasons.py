#!/usr/bin/env python3
"""Prints each skipped test of the last ctest run with the reason it gave.

ctest reports a skipped test as "Skipped" and keeps its output only in
Testing/Temporary/LastTest.log; this reads that log. A gtest skip's reason is
the message after "<file>:<line>: Skipped"; a script's is its "skipped: ..."
line.

Usage: tests/print_skip_reasons.py <build dir>
"""
import pathlib
import re
import sys


def skipped_tests(log_text):
    """Yields (test name, reason) for every skipped test in a LastTest.log."""
    sections = re.split(r"\n-{58}\n\n(?=\d+/\d+ Testing: )", log_text)
    for section in sections:
        name = re.search(r"^\d+/\d+ Testing: (.+)$", section, re.M)
        if not name:
            continue
        skipped = ("Skip regular expression found" in section or "SKIP_RETURN_CODE" in section
                   or re.search(r"^Test Skipped", section, re.M))
        if not skipped:
            continue
        lines = section.splitlines()
        reason = ""
        for i, line in enumerate(lines):
            if line.endswith(": Skipped") and i + 1 < len(lines):
                reason = lines[i + 1].strip()
                break
            if line.startswith("skipped: "):
                reason = line[len("skipped: "):].strip()
                break
        yield name.group(1), reason or "(the test gave no reason)"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    log = pathlib.Path(sys.argv[1]) / "Testing" / "Temporary" / "LastTest.log"
    if not log.exists():
        return
    skips = list(skipped_tests(log.read_text(errors="replace")))
    if not skips:
        return
    print(f"\n{len(skips)} tests skipped, and why:")
    for name, reason in sorted(skips):
        print(f"  {name}: {reason}")


if __name__ == "__main__":
    main()
