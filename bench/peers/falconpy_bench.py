#!/usr/bin/env python3
"""FalconPy side of the falcon-users benchmarks, run against the same local simulator.

Usage (the Rust harness `falcon-users-bench` runs this for you):

    python3 bench/peers/falconpy_bench.py setup
    python3 bench/peers/falconpy_bench.py overhead   --base-url URL --client-id ID --client-secret S [--calls 2000] [--limit 100]
    python3 bench/peers/falconpy_bench.py inventory  --base-url URL --client-id ID --client-secret S [--max-seconds 600]
    python3 bench/peers/falconpy_bench.py cold-start --base-url URL --client-id ID --client-secret S

The last line of stdout is one JSON object; chatter goes to stderr.

* `setup` creates `bench/peers/.venv` (next to this script; `scripts/falconpy_env.py`, shared
  with the tests, does it) and installs FalconPy into it, then prints {"python": ...,
  "falconpy_version": ...}. Any other scenario run outside that venv bootstraps the same way and
  re-executes itself inside it. When the venv or pip cannot be had it prints {"skipped": reason}
  and exits 3 (set FALCONPY_BENCH_FORCE_SKIP=1 to try that path).
* `overhead`: sequential `query_users` calls; CPU (process_time) and wall time of the loop.
* `inventory`: the straightforward sequential loop a FalconPy user writes to list every user with
  their grants, sleeping until `X-RateLimit-RetryAfter` on a 429.
* `cold-start`: import, construct, one call. The harness times the process from outside.

Safety: before FalconPy is imported, name resolution and connections are limited to loopback,
so nothing can leave the machine. FalconPy switches `base_url` to a real CrowdStrike host when
the token answer's `X-Cs-Region` names another region (`autodiscover_region`); the simulator the
harness starts plays a region that is no real one, so FalconPy keeps the local URL, and the guard
makes sure of it.
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "scripts"))
from falconpy_env import VENV_PYTHON, answer, bootstrap, guard_loopback, installed_version  # noqa: E402


def parse_args(argv):
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=["setup", "overhead", "inventory", "cold-start"])
    parser.add_argument("--base-url", default="http://127.0.0.1:8080")
    parser.add_argument("--client-id", default="sim-rw-client")
    parser.add_argument("--client-secret", default="sim-rw-secret")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--max-seconds", type=float, default=600.0)
    return parser.parse_args(argv)


def connect(args):
    from falconpy import UserManagement

    falcon = UserManagement(client_id=args.client_id, client_secret=args.client_secret,
                            base_url=args.base_url)
    if falcon.base_url.rstrip("/") != args.base_url.rstrip("/"):
        answer({"error": f"FalconPy moved to {falcon.base_url}"}, 1)
    return falcon


def overhead(args, version):
    falcon = connect(args)
    for _ in range(20):
        falcon.query_users(limit=args.limit)
    failures = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(args.calls):
        if falcon.query_users(limit=args.limit)["status_code"] != 200:
            failures += 1
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    answer({
        "calls": args.calls, "failures": failures, "cpu_s": cpu, "wall_s": wall,
        "cpu_per_call_us": cpu * 1e6 / args.calls, "calls_per_s": args.calls / wall,
        "falconpy_version": version,
    })


def inventory(args, version):
    """Every user with their grants, one call at a time, as a FalconPy user would write it."""
    falcon = connect(args)
    deadline = time.perf_counter() + args.max_seconds
    counts = {"requests": 1, "rate_limited": 0}  # the token request made by connect()

    def call(method, **kwargs):
        while True:
            counts["requests"] += 1
            reply = method(**kwargs)
            if reply["status_code"] != 429:
                return reply
            counts["rate_limited"] += 1
            retry_at = float(reply["headers"].get("X-Ratelimit-Retryafter", time.time()))
            time.sleep(max(retry_at - time.time(), 0.1))

    cpu0, wall0 = time.process_time(), time.perf_counter()
    ids, total, truncated = [], None, False
    while total is None or len(ids) < total:
        page = call(falcon.query_users, limit=500, offset=len(ids))
        body = page["body"]
        total = body["meta"]["pagination"]["total"]
        resources = body.get("resources") or []
        if not resources:
            break
        ids.extend(resources)
    users = []
    for start in range(0, len(ids), 100):
        reply = call(falcon.retrieve_users, ids=ids[start:start + 100])
        users.extend(reply["body"].get("resources") or [])
    grants = 0
    listed = 0
    for user in users:
        if time.perf_counter() > deadline:
            truncated = True
            break
        offset = 0
        while True:
            reply = call(falcon.get_user_grants, user_uuid=user["uuid"], limit=500, offset=offset)
            body = reply["body"]
            got = body.get("resources") or []
            grants += len(got)
            offset += len(got)
            if not got or offset >= body["meta"]["pagination"]["total"]:
                break
        listed += 1
    answer({
        "users": listed, "grants": grants, "requests": counts["requests"],
        "rate_limited": counts["rate_limited"], "wall_s": time.perf_counter() - wall0,
        "cpu_s": time.process_time() - cpu0, "truncated": truncated,
        "falconpy_version": version,
    })


def cold_start(args):
    falcon = connect(args)
    if falcon.query_users(limit=1)["status_code"] != 200:
        answer({"error": "the first call failed"}, 1)
    answer({"ok": True})


def main():
    args = parse_args(sys.argv[1:])
    bootstrap(__file__)
    guard_loopback()
    if args.scenario == "cold-start":
        cold_start(args)
    version = installed_version()
    if args.scenario == "setup":
        answer({"python": VENV_PYTHON, "falconpy_version": version})
    if args.scenario == "overhead":
        overhead(args, version)
    inventory(args, version)


if __name__ == "__main__":
    main()
