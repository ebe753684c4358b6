#!/usr/bin/env python3
"""Prints the "Compared with the previous run" section of docs/benchmarks.md.

Usage: compare.py PREVIOUS.md CURRENT.md

Both files are reports written by bench/run.sh. Their per-round figures
("- key: rate p50 p99; ..." lines) are read back; for each scenario the
median-rate round is taken, as the report does, and shown as a ratio to the
reference measured in its own run (nginx's constant body, or nginx reading the
POST for the event scenarios). Absolute rates on this shared machine move
from run to run; the ratios are what should hold.

A scenario present in only one of the two runs is listed with "-" for the other.
Exits 2 when a file holds no per-round figures at all (not a report).
"""
import re
import sys

# Scenario key -> (label, reference key). The reference of a ratio is measured
# in the same run as the scenario.
SCENARIOS = [
    ("healthz", "GET /healthz", "nginx"),
    ("get_app", "GET /v1/apps/{id}", "nginx"),
    ("submit", "POST a form response", "nginx"),
    ("submit_actions", "the same, two webhook integrations", "nginx"),
    ("event", "POST one event", "nginx_post"),
    ("event_batch", "POST batches of 100 events", "nginx_post"),
    ("session", "GET /v1/sessions/{id}, 64 connections", "nginx"),
    ("session_latency", "the same, 8 connections", "nginx"),
    ("search", "GET /search, provider up", "nginx"),
    ("search_down", "the same, provider down", "nginx"),
    ("search_hang", "the same, provider hanging", "nginx"),
    ("search_latency", "the same as up, 8 connections", "nginx"),
    ("pg_submit", "PostgreSQL: POST a form response", "nginx"),
    ("pg_event", "PostgreSQL: POST one event", "nginx_post"),
    ("pg_event_batch", "PostgreSQL: batches of 100 events", "nginx_post"),
]

ROUND_LINE = re.compile(r"^- ([a-z0-9_]+): (.*)$")
RUN_LINE = re.compile(r"^- Run: (\S+), .*commit ([0-9a-f]+)")


def rate_of(round_text):
    fields = round_text.split()
    return float(fields[0]) if fields else None


def median_rate(rounds_text):
    """-> (median rate, (max - min) / median over the rounds)"""
    rates = sorted(r for r in (rate_of(t) for t in rounds_text.split(";")) if r is not None)
    if not rates:
        return None
    median = rates[(len(rates) + 1) // 2 - 1]
    return median, (rates[-1] - rates[0]) / median


def read_report(path):
    """-> (run description, {key: median rate})"""
    medians = {}
    run = "unknown run"
    with open(path, encoding="utf-8") as report:
        for line in report:
            line = line.rstrip("\n")
            found = RUN_LINE.match(line)
            if found and run == "unknown run":  # the first is the report's; the soak section has its own
                run = f"{found.group(1)}, commit {found.group(2)}"
                continue
            if line.startswith("- Per round: "):
                # The PostgreSQL line: "key: r p50 p99; r p50 p99. key: ..."
                for part in re.split(r"\. (?=[a-z0-9_]+: )", line[len("- Per round: "):].strip().rstrip(".")):
                    key, _, rounds = part.partition(": ")
                    medians[key] = median_rate(rounds)
                continue
            found = ROUND_LINE.match(line)
            if found and re.match(r"^[\d.]+ ", found.group(2)):
                medians[found.group(1)] = median_rate(found.group(2))
    return run, medians


def rate(medians, key):
    return medians[key][0] if medians.get(key) else None


def spread(medians, key):
    return medians[key][1] if medians.get(key) else None


def ratio(medians, key, reference):
    scenario, ref = rate(medians, key), rate(medians, reference)
    if scenario is None or not ref:
        return None
    return scenario / ref


def cell(value, form):
    return "-" if value is None else form.format(value)


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    previous_run, previous = read_report(argv[1])
    current_run, current = read_report(argv[2])
    if not previous or not current:
        print("compare.py: no per-round figures in one of the reports", file=sys.stderr)
        return 2
    print("## Compared with the previous run")
    print()
    print(f"The previous report ({previous_run}) beside this one ({current_run}). Each ratio is to the")
    print("reference of its own run (nginx's constant body; nginx reading the POST for the event rows), so the")
    print("change column compares like with like on a shared machine. Rates are the median rounds; the spread")
    print("is (fastest - slowest) / median over this run's rounds of the scenario, the noise to read a change against.")
    print()
    print("| scenario | previous req/s | previous ratio | this run req/s | this run ratio | change of the ratio "
          "| spread of this run's rounds |")
    print("|---|---|---|---|---|---|---|")
    for key, label, reference in SCENARIOS:
        before, now = ratio(previous, key, reference), ratio(current, key, reference)
        change = None if before is None or now is None else (now / before - 1) * 100
        print(f"| {label} | {cell(rate(previous, key), '{:.0f}')} | {cell(before, '{:.3f}')} | "
              f"{cell(rate(current, key), '{:.0f}')} | {cell(now, '{:.3f}')} | {cell(change, '{:+.0f}%')} "
              f"| {cell(spread(current, key), '{:.0%}')} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
