"""The soak's report: requests, errors, latencies and worker memory, in Markdown."""

from __future__ import annotations

import argparse
import os
import platform
from datetime import UTC, datetime

from .load import MIX, Tally
from .memory import Sample


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def mib(kib: int | None) -> str:
    return "gone" if kib is None else f"{kib / 1024:.1f}"


def report(
    args: argparse.Namespace,
    tally: Tally,
    samples: list[Sample],
    elapsed: float,
    interrupted: bool,
) -> str:
    everything = [value for values in tally.latencies.values() for value in values]
    errors = sum(tally.errors.values())
    lines = [
        "# mything soak test",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {platform.node()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}. gunicorn "
        f"with {args.workers} sync workers, PostgreSQL, rate limits in Redis; "
        f"{args.threads} client threads as {args.users} users on loopback, on "
        "the same machine (whatever else ran there shares the CPUs).",
        "",
        f"- Duration: {elapsed:.1f} s"
        + (" (interrupted)" if interrupted else "")
        + f" of {args.seconds} s planned, at most {args.max_requests} requests",
        f"- Requests served: {tally.served} ({tally.served / elapsed:.1f} per second)",
        f"- Errors: {errors}",
        f"- Latency: p50 {percentile(everything, 0.5) * 1000:.1f} ms, "
        f"p99 {percentile(everything, 0.99) * 1000:.1f} ms, "
        f"max {max(everything, default=float('nan')) * 1000:.1f} ms",
        "",
        "## Errors by status",
        "",
    ]
    if errors:
        lines += ["| status | count | first body |", "|---|---:|---|"]
        for outcome, count in tally.errors.most_common():
            sample_body = tally.error_samples.get(outcome, "").replace("|", "\\|")
            lines.append(f"| {outcome} | {count} | `{sample_body[:120]}` |")
    else:
        lines.append("None.")
    lines += [
        "",
        "## Latency by operation",
        "",
        "| operation | share of mix | requests | p50 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for operation, weight in MIX.items():
        values = tally.latencies.get(operation, [])
        lines.append(
            f"| {operation} | {weight}% | {len(values)} "
            f"| {percentile(values, 0.5) * 1000:.1f} "
            f"| {percentile(values, 0.99) * 1000:.1f} "
            f"| {max(values, default=float('nan')) * 1000:.1f} |"
        )
    lines += ["", "## Worker memory (VmRSS, MiB)", ""]
    pids = sorted({pid for entry in samples for pid in entry.rss})
    lines.append("| at s | served | " + " | ".join(f"pid {pid}" for pid in pids) + " |")
    lines.append("|---:|---:|" + "---:|" * len(pids))
    for entry in samples:
        cells = " | ".join(
            mib(entry.rss[pid]) if pid in entry.rss else "-" for pid in pids
        )
        lines.append(f"| {entry.seconds:.0f} | {entry.served} | {cells} |")
    if len(samples) >= 2:
        first, last = samples[0], samples[-1]
        growth = [
            (last.rss[pid] or 0) - (first.rss[pid] or 0)
            for pid in first.rss
            if pid in last.rss
        ]
        restarted = set(first.rss) != set(last.rss)
        lines += [
            "",
            "Growth from start to end: "
            + ", ".join(f"{kib / 1024:+.1f} MiB" for kib in growth)
            + (". Workers were replaced during the run." if restarted else "."),
        ]
    return "\n".join(lines) + "\n"
