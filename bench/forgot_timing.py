#!/usr/bin/env python3
"""Whether the answer time of forgot-password and request-verify-token tells a
known address from an unknown one. Sends SAMPLES requests for each kind,
interleaved, one at a time, and prints the time distributions side by side.
Usage: bench/forgot_timing.py BASE_URL KNOWN_EMAIL [SAMPLES]
(KNOWN_EMAIL: an active, unverified user; nothing is changed but hook events.)"""
import statistics
import sys
import time
import uuid

import requests


def sample(session, base, path, email):
    start = time.perf_counter()
    r = session.post(base + path, json={"email": email})
    spent = time.perf_counter() - start
    if r.status_code != 202:
        raise SystemExit(f"{path}: {r.status_code} {r.text}")
    return spent * 1000


def describe(values):
    q = statistics.quantiles(values, n=20)
    return (f"n={len(values)} min={min(values):.2f} p5={q[0]:.2f} median={statistics.median(values):.2f} "
            f"mean={statistics.mean(values):.2f} p95={q[-1]:.2f} max={max(values):.2f} ms")


def main():
    base, known = sys.argv[1], sys.argv[2]
    samples = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    session = requests.Session()
    for path in ("/auth/forgot-password", "/auth/request-verify-token"):
        times = {"known": [], "unknown": []}
        for i in range(samples):
            order = ("known", "unknown") if i % 2 == 0 else ("unknown", "known")
            for kind in order:
                email = known if kind == "known" else f"nobody.{uuid.uuid4().hex[:12]}@camelot.bt"
                times[kind].append(sample(session, base, path, email))
        print(path)
        for kind, values in times.items():
            print(f"  {kind:8} {describe(values)}")
            print(f"  {kind:8} first 20 (just after a restart, if it was): {describe(values[:20])}")
        cut = statistics.median(times["known"] + times["unknown"])
        below = {kind: sum(v < cut for v in values) / len(values) for kind, values in times.items()}
        print(f"  below the joint median {cut:.2f} ms: known {below['known']:.0%}, "
              f"unknown {below['unknown']:.0%} (50%/50% when the time tells nothing)")


if __name__ == "__main__":
    main()
