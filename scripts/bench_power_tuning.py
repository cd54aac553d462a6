"""A power-tuning sweep, as AWS Lambda Power Tuning runs one, on this
machine: each function's release binary at each memory size, with the CPU
Lambda gives that size (one vCPU at 1,769 MB, in proportion below and
above: a cgroup v1 CPU quota of size/1769 of each period), handed real API
Gateway HTTP API events by the stub Runtime API of bench_cold_start.py,
against DynamoDB on moto. Run by scripts/bench-power-tuning.sh (which
builds, starts moto, makes the table and the keys); see BENCHMARKS.md.

Each process gets 1 + WARM events: the first answer is the cold start
(spawn to first response), the others warm requests (handed to answered).
Sizes and binaries are measured round-robin, RUNS processes each.

moto is not DynamoDB: it serves one request at a time, its transactions
copy the table, and its garbage collections pause it (scripts/
moto_serialized.py). Its own time, which it logs per request under
MOTO_SERVICE_LOG, is taken out of each request's time: what is left is the
function's own work (the part its memory size buys CPU for), to which
DYNAMODB_MS per DynamoDB round trip is added for the estimate on AWS.

Cost per million requests at each size, from that estimate's mean and the
prices below: Lambda duration (billed per 1 ms, GB-s at the size) and
requests, for x86_64 and arm64 (arm64 assumed to run as fast as this
machine: only its price differs), plus API Gateway HTTP API requests, plus
the DynamoDB request units the route uses (DYNAMODB). The size chosen per
function is the cheapest (arm64) whose estimated warm p99 meets its bound.

usage: bench_power_tuning.py RUNS WARM RELEASE_DIR SIZES BINARY...
       bench_power_tuning.py --report target/bench/power-tuning.json (the tables again)
(SIZES: comma-separated MB, e.g. 128,256,512,1024,1769,3008)
must run as root (the cgroup); prints Markdown tables."""
import json
import math
import os
import statistics
import sys

import bench_cold_start as bench

CGROUP = "/sys/fs/cgroup/cpu"
PERIOD_US = 100_000
FULL_VCPU_MB = 1769

# us-east-1 list prices (USD): Lambda per GB-second and per request, API
# Gateway HTTP API per request (first 300 million a month), DynamoDB
# on-demand per write and read request unit (since November 2024).
PRICE = {
    "x86_64_gb_s": 0.0000166667,
    "arm64_gb_s": 0.0000133334,
    "lambda_request": 0.20 / 1e6,
    "http_api_request": 1.00 / 1e6,
    "dynamodb_wru": 0.625 / 1e6,
    "dynamodb_rru": 0.125 / 1e6,
}

# DynamoDB request units per request (reads, writes) and round trips, from
# the requests the round-trip test (tests/round_trips.rs) lists per route
# (BENCHMARKS.md, "DynamoDB round trips per endpoint"): strongly consistent
# reads of items under 4 KB (1 RRU each, a transaction's 2), writes of items
# under 1 KB (1 WRU each, a transaction's items 2 each); a query or batch
# of a few small items counted as one unit an item.
DYNAMODB = {
    # function: (read units, write units, round trips)
    "get-jwks": (0, 0, 0),
    "get-openid-configuration": (0, 0, 0),
    "default-route": (0, 0, 0),
    "get-health": (1, 0, 1),
    # BatchGetItem of the caller and its session.
    "get-user-profile": (2, 0, 1),
    "get-user": (3, 0, 1),
    # The caller and session with the subscription; the plan and the counters.
    "get-user-quota": (5, 0, 2),
    # The caller and session with the members' index, then their records.
    "get-organization-users": (4, 0, 2),
    "get-sessions": (4, 0, 2),
    "put-user": (3, 1, 2),
    "put-user-role": (3, 4, 2),
    # The caller with the invitation counts, then one transaction:
    # organization, user, email lock, counts, invitation token, its mail.
    "post-organization-users": (4, 12, 2),
    # The throttle record and the email lock, then the user; then a
    # transaction: the session, the throttle reset, the user's sign-in time.
    "post-user-login": (3, 6, 3),
    # The session, then a conditional rotation of it and the user's read.
    "post-user-refresh": (2, 1, 2),
    # One transaction: user, email lock, organization, subscription,
    # session, verification token, MAILTOKEN#, outbox record.
    "post-user-register": (0, 16, 1),
    # Account, MFA record and count; the count; the code spent with the session.
    "post-mfa-verify-login": (4, 6, 3),
}

# What a DynamoDB request is taken to cost in time on AWS, in place of
# moto's (taken out of every figure): AWS's "single-digit milliseconds"
# for a GetItem or PutItem inside a region, at its upper end.
DYNAMODB_MS = 8

# The estimated warm p99 on AWS (the function's own time with moto's taken
# out, plus DYNAMODB_MS per round trip) each function must meet: a password
# hash or check (argon2id, 19 MiB, t=2) is the user's sign-in wait;
# everything else is a read or a write a page waits on.
BOUND_MS = {"post-user-login": 250, "post-user-register": 250}
DEFAULT_BOUND_MS = 50


def cgroup_for(size):
    path = os.path.join(CGROUP, f"accounts-power-tuning-{size}")
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "cpu.cfs_period_us"), "w") as f:
        f.write(str(PERIOD_US))
    with open(os.path.join(path, "cpu.cfs_quota_us"), "w") as f:
        f.write(str(round(PERIOD_US * size / FULL_VCPU_MB)))
    procs = os.path.join(path, "cgroup.procs")

    def enter():
        with open(procs, "w") as f:
            f.write(str(os.getpid()))

    return enter


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def cost_per_million(binary, size, warm_mean_ms, arch):
    billed_s = math.ceil(warm_mean_ms) / 1000
    lambda_cost = billed_s * size / 1024 * PRICE[f"{arch}_gb_s"] + PRICE["lambda_request"]
    reads, writes, _ = DYNAMODB[binary]
    dynamodb = reads * PRICE["dynamodb_rru"] + writes * PRICE["dynamodb_wru"]
    return 1e6 * (lambda_cost + PRICE["http_api_request"] + dynamodb)


def main():
    runs, warm, release = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    sizes = [int(s) for s in sys.argv[4].split(",")]
    binaries = sys.argv[5:]
    unknown = [b for b in binaries if b not in bench.MEASURED or b not in DYNAMODB]
    if unknown:
        sys.exit(f"bench_power_tuning.py: no request or no DynamoDB figures for {unknown}")
    moto = bench.MotoTime(os.environ["MOTO_SERVICE_LOG"])
    bench.RUNS = runs
    bench.serve_runtime_api()
    scenario = bench.Scenario(release, set(binaries))
    # Logins of their own user: hundreds of sign-ins pass the cap of 100
    # live sessions, which would end the session the read functions use.
    signing_in = scenario.invoke("post-user-register", scenario.registration(), 201)
    login = bench.event("POST", "/user/login", "/user/login",
                        {"email": signing_in["user"]["email"], "password": bench.PASSWORD})

    def events(binary):
        return (login, 200) if binary == "post-user-login" else scenario.events(binary)

    enter = {size: cgroup_for(size) for size in sizes}
    samples = {b: {s: {"first": [], "warm": [], "own": []} for s in sizes} for b in binaries}
    lost = {}
    for _ in range(runs):
        for size in sizes:
            for binary in binaries:
                scenario.prepare(binary, 1 + warm)
                run = bench.Run(lambda: events(binary), 1 + warm,
                                lambda body: scenario.after(binary, body))
                try:
                    bench.start(os.path.join(release, binary), run,
                                {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(size)}, enter[size])
                except bench.Lost:
                    # The process never answered an event it was handed:
                    # the answers before it count, and the count is printed.
                    if not run.answers:
                        raise
                    lost[binary] = lost.get(binary, 0) + 1
                for (_, _, _, status, body), want in zip(run.answers, run.wanted):
                    if status != want:
                        sys.exit(f"{binary} at {size} MB answered {status}, expected "
                                 f"{want}: {body}\nlog: {run.log}")
                moto.refresh()
                s = samples[binary][size]
                first_at = run.answers[0][2]
                s["first"].append((first_at - run.started
                                   - moto.within(run.started, first_at)) / 1e6)
                for _, handed, answered, _, _ in run.answers[1:]:
                    s["warm"].append((answered - handed) / 1e6)
                    s["own"].append((answered - handed - moto.within(handed, answered)) / 1e6)

    out = os.environ.get("BENCH_OUT", ".")
    with open(os.path.join(out, "power-tuning.json"), "w") as f:
        json.dump({"runs": runs, "warm": warm, "sizes": sizes, "samples": samples,
                   "lost": lost}, f)
    report(runs, warm, sizes, binaries, samples, lost)


def report(runs, warm, sizes, binaries, samples, lost):
    """The tables, from the samples (`--report FILE`: again from a run's JSON)."""
    print(f"{runs} processes per function and size, {warm} warm requests each, "
          f"round-robin; CPU quota size/{FULL_VCPU_MB} of a vCPU. moto's own time "
          f"(its service log) is taken out of every figure but the one against moto; "
          f"on AWS: own + {DYNAMODB_MS} ms per DynamoDB round trip.\n")
    print("| function | MB | cold start p50 ms | warm p50 / p99 ms against moto "
          "| own p50 / p99 ms | on AWS p99 ms | bound ms | $/M x86_64 | $/M arm64 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    chosen = {}
    for binary in binaries:
        bound = BOUND_MS.get(binary, DEFAULT_BOUND_MS)
        trips = DYNAMODB[binary][2]
        best = None
        for size in sizes:
            s = samples[binary][size]
            on_aws = [own + trips * DYNAMODB_MS for own in s["own"]]
            p99 = percentile(on_aws, 0.99)
            mean = statistics.fmean(on_aws)
            x86 = cost_per_million(binary, size, mean, "x86_64")
            arm = cost_per_million(binary, size, mean, "arm64")
            print(f"| {binary} | {size} | {statistics.median(s['first']):.1f} "
                  f"| {statistics.median(s['warm']):.1f} / {percentile(s['warm'], 0.99):.1f} "
                  f"| {statistics.median(s['own']):.1f} / {percentile(s['own'], 0.99):.1f} "
                  f"| {p99:.1f} | {bound} | {x86:.2f} | {arm:.2f} |")
            if p99 <= bound and (best is None or arm < best[1]):
                best = (size, arm, p99, x86)
        chosen[binary] = best
    print("\n| function | chosen MB (cheapest arm64 meeting its bound) | $/M arm64 | $/M x86_64 "
          "| on AWS p99 ms |")
    print("|---|---:|---:|---:|---:|")
    for binary, best in chosen.items():
        if best is None:
            print(f"| {binary} | none meets {BOUND_MS.get(binary, DEFAULT_BOUND_MS)} ms | | | |")
        else:
            print(f"| {binary} | {best[0]} | {best[1]:.2f} | {best[3]:.2f} | {best[2]:.1f} |")
    if lost:
        print(f"\nProcesses that never answered an event (their earlier answers counted): {lost}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--report"]:
        run = json.load(open(sys.argv[2]))
        samples = {b: {int(size): s for size, s in by_size.items()}
                   for b, by_size in run["samples"].items()}
        report(run["runs"], run["warm"], run["sizes"], list(samples), samples, run["lost"])
    else:
        main()
