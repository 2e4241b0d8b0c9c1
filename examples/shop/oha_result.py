#!/usr/bin/env python3
"""Reads oha's JSON report (`--output-format json`) and prints load.sh's RESULT line for it:
the rate of requests answered 200, the latency percentiles (oha's, from each request's scheduled
time when run with `-q` and `--latency-correction`), and the counts.

Usage: oha_result.py <report.json>"""

import json
import sys


def main():
    with open(sys.argv[1]) as file:
        report = json.load(file)
    statuses = {int(code): n for code, n in report["statusCodeDistribution"].items()}
    errors = sum(report["errorDistribution"].values())
    answered = statuses.get(200, 0)
    responses = sum(statuses.values())
    percentiles = report["latencyPercentiles"]
    print(
        f"RESULT rate={answered / report['summary']['total']:.1f} "
        f"p50_ms={percentiles['p50'] * 1000:.2f} p99_ms={percentiles['p99'] * 1000:.2f} "
        f"requests={responses + errors} non_2xx={responses - answered} errors={errors} "
        f"timeouts=0 answered={answered}"
    )


main()
