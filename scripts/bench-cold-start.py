#!/usr/bin/env python3
"""Cold start: the time from starting a function's release binary to its
first call to the Lambda Runtime API (GET /2018-06-01/runtime/invocation/next),
against a stub runtime API on loopback, with the environment a Lambda gets.
The same for bench/'s hello-world lambda_http binary, the floor.

usage: scripts/bench-cold-start.py [RUNS per binary, default 30] [FUNCTION ...]
(every function under functions/ when none is named)
Build first: cargo build --release -p accounts-bench -p accounts-admin $(ls functions | sed 's/^/-p /')

The functions read their signing keys from a key file (JWT_KEYS_FILE) made
here with accounts-admin; on AWS they read a Secrets Manager secret instead,
a network call this stub does not stand in for.
"""
import http.server
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 30
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASE = os.path.join(ROOT, "target", "release")

first_poll = threading.Event()
polled_at = [0]


class RuntimeApi(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.endswith("/runtime/invocation/next"):
            polled_at[0] = time.perf_counter_ns()
            first_poll.set()
        # Never hand out an event: the process is killed once it has asked.
        time.sleep(2)

    def log_message(self, *args):
        pass


KEYS_DIR = tempfile.mkdtemp(prefix="cold-start-keys-")
subprocess.run(
    [os.path.join(RELEASE, "accounts-admin"), "--data", KEYS_DIR, "key", "rotate"],
    check=True,
    stdout=subprocess.DEVNULL,
)

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
server.daemon_threads = True
threading.Thread(target=server.serve_forever, daemon=True).start()
port = server.server_address[1]


def measure(binary, function_name):
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_LAMBDA_LOG_GROUP_NAME": "bench",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
        "TABLE_NAME": "accounts",
        "JWT_KEYS_FILE": os.path.join(KEYS_DIR, "jwt-keys.json"),
        "JWT_ISSUER": "https://accounts.example.com",
        "RUST_LOG": "info",
    }
    times = []
    for _ in range(RUNS):
        first_poll.clear()
        started = time.perf_counter_ns()
        process = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not first_poll.wait(10):
            process.kill()
            raise SystemExit(f"{binary} never polled the runtime API")
        times.append((polled_at[0] - started) / 1e6)
        process.kill()
        process.wait()
    return statistics.median(times), min(times), max(times)


functions = sys.argv[2:] or sorted(os.listdir(os.path.join(ROOT, "functions")))
floor = measure(os.path.join(RELEASE, "hello-lambda"), "hello")
print(f"| binary | median ms | min ms | max ms | / floor |")
print(f"|---|---|---|---|---|")
print(f"| hello-lambda (floor) | {floor[0]:.2f} | {floor[1]:.2f} | {floor[2]:.2f} | 1.00 |")
for name in functions:
    median, low, high = measure(os.path.join(RELEASE, name), name)
    print(f"| {name} | {median:.2f} | {low:.2f} | {high:.2f} | {median / floor[0]:.2f} |")
print(f"\n{RUNS} runs each; x86_64 release binaries; stub runtime API on loopback.")
