"""Reads the JSON lines of bench/pages.py for two databases and prints a table with ratios."""

import json
import sys


def main():
    rows = [json.loads(line) for line in sys.stdin if line.startswith("{")]
    labels = list(dict.fromkeys(r["db"] for r in rows))
    base, big = labels[0], labels[-1]
    by = {(r["db"], r["scenario"]): r for r in rows}
    scenarios = list(dict.fromkeys(r["scenario"] for r in rows))
    counts = {r["db"]: r["referrals"] for r in rows}
    print(f"\nbaseline {base}: {counts[base]:,} referrals", end="   ")
    print(f"measured {big}: {counts[big]:,} referrals")
    head = f"{'scenario':28} {base + ' med':>10} {base + ' p95':>10} {big + ' med':>10} "
    print(head + f"{big + ' p95':>10} {'p95 ratio':>9} {'queries':>8}")
    for name in scenarios:
        a, b = by[(base, name)], by[(big, name)]
        ratio = b["p95_ms"] / a["p95_ms"] if a["p95_ms"] else float("nan")
        queries = f"{a['queries']}/{b['queries']}"
        print(
            f"{name:28} {a['median_ms']:>10} {a['p95_ms']:>10} {b['median_ms']:>10} "
            f"{b['p95_ms']:>10} {ratio:>8.2f}x {queries:>8}"
        )


if __name__ == "__main__":
    main()
