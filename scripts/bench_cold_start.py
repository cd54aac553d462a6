"""Cold start as the caller sees it: from starting a function's release
binary to the moment it posts its answer to its first request, through a
stub Lambda Runtime API on loopback that hands it one real API Gateway
HTTP API (v2) event, against DynamoDB (and Secrets Manager) on moto_server.
Run by scripts/bench-cold-start.sh, which builds, starts moto and makes the
table and the keys; see BENCHMARKS.md.

Each process is handed two events: the first response is the cold start
(`first`); `init` is spawn to the first poll of the Runtime API; `warm` is
the second request of the same process, the same work without the cold
start. The binaries are measured round-robin (run 1 of every binary, then
run 2, ...) so that the machine's noise falls on all of them alike. Every
answer's status is checked: a failing request would look fast.

usage: bench_cold_start.py RUNS RELEASE_DIR KEYS(file|secrets) BINARY[@NAME=VALUE,...]...
(`dynamodb-lambda@FLOOR_TRUST=webpki`: that binary with that environment
added, measured as one more binary; `post-user-refresh@BENCH_BINARY=PATH`:
the executable at PATH, another build of it, measured beside it)
environment: the functions' (TABLE_NAME, AWS_ENDPOINT_URL_*, the keys'
settings), inherited by every binary."""
import base64
import bisect
import hashlib
import hmac
import http.server
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

# Set from the command line by main(), or by a script that imports this one
# (scripts/bench_power_tuning.py).
RUNS = 0
RELEASE = ""
KEYS = "secrets"
BINARIES = []
RUNTIME_API = ""
DOMAIN = "bench.execute-api.us-east-1.amazonaws.com"
PASSWORD = "Secure-pass-123"


class Run:
    """What the stub hands the current process, and when it answered.
    `requests` makes each event when the process asks for it, with what the
    previous answer handed on (`answered`), e.g. a rotated refresh token."""

    def __init__(self, requests, expected, answered=lambda body: None):
        self.requests = requests
        self.answered = answered
        self.expected = expected
        self.wanted = []
        self.handed = {}
        self.polled_at = None
        self.answers = []  # (request id, handed at, answered at, status, body)
        self.done = threading.Event()
        self.first_answer_seen = None
        self.last_answer_seen = None
        # Each process talks to the stub under a path of its own: a call a
        # killed process made just before it died must not take (and lose)
        # the next process's event.
        self.prefix = f"/{uuid.uuid4().hex}"
        self.stop = threading.Event()


current = [None]


class RuntimeApi(http.server.BaseHTTPRequestHandler):
    # One connection per call. Should a process never receive an event it
    # was handed, its first answer, the cold start, still counts.
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        run = current[0]
        now = time.perf_counter_ns()
        if run is None or not self.path.startswith(run.prefix):
            return  # a killed process's last poll
        if not self.path.endswith("/runtime/invocation/next"):
            return self.reply(404, b"{}")
        if run.polled_at is None:
            run.polled_at = now
        if len(run.handed) == run.expected:
            run.stop.wait(10)  # killed before this returns
            return
        event, wanted = run.requests()
        run.wanted.append(wanted)
        request_id = str(uuid.uuid4())
        body = json.dumps(event).encode()
        run.handed[request_id] = time.perf_counter_ns()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.send_header("lambda-runtime-aws-request-id", request_id)
        self.send_header("lambda-runtime-deadline-ms", str(int(time.time() * 1000) + 30_000))
        self.send_header("lambda-runtime-invoked-function-arn",
                         "arn:aws:lambda:us-east-1:123456789012:function:bench")
        self.send_header("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000")
        self.send_header("connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        now = time.perf_counter_ns()
        run = current[0]
        length = int(self.headers.get("content-length") or 0)
        payload = self.rfile.read(length)
        try:
            self.record(run, payload, now)
        finally:
            # Only now: the process asks for its next event as soon as it
            # has this answer, and that event may need what this one said
            # (a rotated refresh token).
            self.reply(202, b"{}")

    def record(self, run, payload, now):
        parts = self.path.split("/")
        if run is None or not self.path.startswith(run.prefix) or len(parts) < 5:
            return
        request_id, kind = parts[-2], parts[-1]
        if kind == "response":
            answer = json.loads(payload)
            body = answer.get("body") or ""
            try:
                body = json.loads(body) if body else None
            except ValueError:
                pass
            run.answers.append((request_id, run.handed.get(request_id), now,
                                answer.get("statusCode"), body))
            if run.first_answer_seen is None:
                run.first_answer_seen = time.monotonic()
            run.last_answer_seen = time.monotonic()
            if answer.get("statusCode") == run.wanted[len(run.answers) - 1]:
                run.answered(body)
        else:  # an invocation or init error
            run.answers.append((request_id, run.handed.get(request_id), now, kind, payload[:300]))
        if len(run.answers) == run.expected or kind != "response":
            run.done.set()

    def reply(self, status, body):
        try:
            self.send_response(status)
            self.send_header("content-length", str(len(body)))
            self.send_header("connection", "close")
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass

    def log_message(self, *args):
        pass


def event(method, route, path, body=None, token=None, params=None):
    headers = {"accept": "application/json", "host": DOMAIN, "user-agent": "bench",
               "x-forwarded-proto": "https"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    if body is not None:
        headers["content-type"] = "application/json"
    return {
        "version": "2.0",
        "routeKey": f"{method} {route}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "bench", "domainName": DOMAIN,
            "domainPrefix": "bench",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.7", "userAgent": "bench"},
            "requestId": str(uuid.uuid4()), "routeKey": f"{method} {route}",
            "stage": "$default", "time": "27/Nov/2026:08:00:00 +0000",
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": False,
        **({"pathParameters": params} if params else {}),
        **({"body": json.dumps(body)} if body is not None else {}),
    }


def start(binary, run, extra_env=None, preexec_fn=None):
    """Runs `binary` until it has answered `run`'s requests (or failed);
    `preexec_fn` runs in the child before it starts (to move it into a
    cgroup: scripts/bench_power_tuning.py)."""
    current[0] = run
    env = dict(os.environ, AWS_LAMBDA_FUNCTION_NAME=os.path.basename(binary),
               AWS_LAMBDA_RUNTIME_API=f"http://{RUNTIME_API}{run.prefix}", **(extra_env or {}))
    # Its log is kept to explain a failure, in a file: a pipe nobody reads
    # until the end fills up (64 KiB) and stalls a process that logs a few
    # lines per request halfway through a run of warm requests.
    log_file = tempfile.TemporaryFile()
    started = time.perf_counter_ns()
    process = subprocess.Popen([binary], env=env, stdout=log_file,
                               stderr=subprocess.STDOUT, preexec_fn=preexec_fn)
    # The first answer may take long (a debug build's argon2, a small CPU
    # share); each next one follows at once or is lost (see RuntimeApi):
    # wait 3 s past the last answer for it.
    deadline = time.monotonic() + 30 + 5 * run.expected
    while not run.done.wait(0.05) and time.monotonic() < deadline:
        if run.last_answer_seen is not None:
            deadline = min(deadline, run.last_answer_seen + 3)
    finished = run.done.is_set()
    run.stop.set()
    process.kill()
    process.wait()
    log_file.seek(0)
    run.log = log_file.read().decode(errors="replace")[-1500:]
    log_file.close()
    current[0] = None
    run.started = started
    if not finished or len(run.answers) < run.expected:
        raise Lost(run, f"{binary}: answered {len(run.answers)} of {run.expected} events; "
                        f"log: {run.log}")
    return run


class MotoTime:
    """moto's own busy time, from the log scripts/moto_serialized.py keeps
    under MOTO_SERVICE_LOG (one `start end` line per request, CLOCK_MONOTONIC
    nanoseconds, the clock of time.perf_counter_ns here): what a request
    spent waiting on moto, to be taken out of the function's time. moto
    serves one request at a time and only the measured process talks to it
    while it is measured, so the time moto was busy inside a request's
    window is that request's wait on it."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.starts = []
        self.ends = []

    def refresh(self):
        with open(self.path) as f:
            f.seek(self.offset)
            for line in f:
                if not line.endswith("\n"):
                    break  # written as we read: the next refresh takes it
                start, end = line.split()
                self.starts.append(int(start))
                self.ends.append(int(end))
                self.offset += len(line)

    def within(self, start, end):
        """Nanoseconds moto was busy between `start` and `end`."""
        busy = 0
        i = bisect.bisect_right(self.ends, start)
        while i < len(self.starts) and self.starts[i] < end:
            busy += max(0, min(self.ends[i], end) - max(self.starts[i], start))
            i += 1
        return busy


class Lost(Exception):
    """The process never answered an event it was handed."""

    def __init__(self, run, message):
        super().__init__(message)
        self.run = run


def totp(secret, at=None):
    """RFC 6238 (SHA-1, 6 digits, 30 s steps): the code an authenticator app shows."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    counter = int(time.time() if at is None else at) // 30
    mac = hmac.new(key, counter.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = int.from_bytes(mac[offset:offset + 4], "big") & 0x7FFFFFFF
    return f"{value % 1000000:06d}"


class Scenario:
    """The events each binary gets, made fresh for every run (a new email
    to register, the refresh token the previous run was given, ...)."""

    def __init__(self, release, needed):
        self.release = release
        self.serial = 0
        owner = self.invoke("post-user-register", self.registration(), 201)
        self.owner_email = owner["user"]["email"]
        self.token = owner["accessToken"]
        self.refresh_token = owner["refreshToken"]
        self.owner_pk = f"USER#{owner['user']['id']}"
        member = self.invoke("post-organization-users", self.new_member(), 201)
        self.member_id = member["data"]["id"]
        self.role = 0
        # The functions that end a session or an account get one of their
        # own per request, made here (by the login, register and member
        # functions) before anything is timed. At most 100 live sessions a
        # user: 2 × RUNS + a margin stays under it up to RUNS = 45.
        wanted = 2 * RUNS + 4
        self.pools = {}
        if "post-user-logout" in needed:
            email = self.invoke("post-user-register", self.registration(), 201)["user"]["email"]
            self.pools["post-user-logout"] = [self.login(email) for _ in range(wanted)]
        if "post-sessions-revoke" in needed:
            email = self.invoke("post-user-register", self.registration(), 201)["user"]["email"]
            self.revoker = self.login(email)["accessToken"]
            self.pools["post-sessions-revoke"] = [self.login(email)["tokenId"]
                                                  for _ in range(wanted)]
        if "post-sessions-revoke-all" in needed:
            self.pools["post-sessions-revoke-all"] = [
                self.invoke("post-user-register", self.registration(), 201)["accessToken"]
                for _ in range(wanted)]
        if "post-user-deactivate" in needed:
            # Members: an organization's last owner may not deactivate itself.
            self.pools["post-user-deactivate"] = [
                self.login(self.invoke("post-organization-users", self.new_member(),
                                       201)["data"]["email"])["accessToken"]
                for _ in range(wanted)]

    def prepare(self, binary, count):
        """Makes, before a process starts, what its `count` requests use up
        and cannot be made while it runs (events are made inside the stub's
        handler, where no other function can be started)."""
        if binary == "post-organization-users":
            # An organization of its own per process: at most 20 invitations
            # an organization an hour.
            self.inviter = self.invoke("post-user-register", self.registration(),
                                       201)["accessToken"]
        if binary != "post-mfa-verify-login":
            return
        pool = self.pools.setdefault(binary, [])
        while len(pool) < count:
            # A pending sign-in (5 minutes) each, answered with one of the
            # account's backup codes: a TOTP step is accepted only once.
            if not getattr(self, "mfa_codes", None):
                self.mfa_email, self.mfa_codes = self.mfa_account()
            pending = self.login(self.mfa_email)
            if not pending.get("mfaRequired"):
                raise SystemExit(f"setup: an MFA account's login did not step up: {pending}")
            pool.append((pending["accessToken"], self.mfa_codes.pop()))

    def mfa_account(self):
        """A new account with TOTP on: its address and its 10 backup codes."""
        owner = self.invoke("post-user-register", self.registration(), 201)
        token = owner["accessToken"]
        setup = self.invoke("post-mfa-setup", event("POST", "/mfa/setup", "/mfa/setup",
                                                    {"mfaType": "GOOGLE_AUTH"}, token=token), 200)
        secret, codes = setup["data"]["secret"], setup["data"]["backupCodes"]
        self.invoke("post-mfa-verify-setup", event(
            "POST", "/mfa/verify-setup", "/mfa/verify-setup",
            {"mfaType": "GOOGLE_AUTH", "code": totp(secret)}, token=token), 200)
        return owner["user"]["email"], list(codes)

    def login(self, email):
        return self.invoke("post-user-login", event("POST", "/user/login", "/user/login",
                                                    {"email": email, "password": PASSWORD}), 200)

    def take(self, binary):
        if not self.pools.get(binary):
            raise SystemExit(f"bench_cold_start.py: no {binary} request left")
        return self.pools[binary].pop()

    def invoke(self, function, ev, expected):
        run = start(os.path.join(self.release, function), Run(lambda: (ev, expected), 1))
        _, _, _, status, body = run.answers[0]
        if status != expected:
            raise SystemExit(f"setup: {function} answered {status}: {body}")
        return body

    def fresh_email(self, kind):
        self.serial += 1
        return f"{kind}-{uuid.uuid4().hex[:10]}@bench.example.com"

    def registration(self):
        return event("POST", "/user/register", "/user/register", {
            "email": self.fresh_email("owner"), "password": PASSWORD, "firstName": "Ada",
            "lastName": "Lovelace", "companyName": "Acme", "isBusiness": True})

    def new_member(self, token=None):
        return event("POST", "/organization/users", "/organization/users", {
            "email": self.fresh_email("member"), "password": PASSWORD, "firstName": "Grace",
            "lastName": "Hopper"}, token=token or self.token)

    def events(self, binary):
        """(event, expected status) for one request of `binary`."""
        member_path = f"/user/{self.member_id}"
        params = {"userId": self.member_id}
        match binary:
            case "hello-lambda" | "dynamodb-lambda":
                return event("GET", "/user/profile", "/user/profile", token=self.token), 200
            case "post-user-register":
                return self.registration(), 201
            case "post-user-login":
                return event("POST", "/user/login", "/user/login",
                             {"email": self.owner_email, "password": PASSWORD}), 200
            case "post-user-refresh":
                return event("POST", "/user/refresh", "/user/refresh",
                             {"refreshToken": self.refresh_token}), 200
            case "get-user-profile":
                return event("GET", "/user/profile", "/user/profile", token=self.token), 200
            case "get-user-quota":
                return event("GET", "/user/quota", "/user/quota", token=self.token), 200
            case "get-organization-users":
                return event("GET", "/organization/users", "/organization/users",
                             token=self.token), 200
            case "post-organization-users":
                return self.new_member(self.inviter), 201
            case "get-user":
                return event("GET", "/user/{userId}", member_path, token=self.token,
                             params=params), 200
            case "put-user":
                self.serial += 1
                return event("PUT", "/user/{userId}", member_path,
                             {"name": "Amazing", "lastName": f"Grace {self.serial}"},
                             token=self.token, params=params), 200
            case "put-user-role":
                self.role = 1 - self.role
                return event("PUT", "/user/{userId}/role", f"{member_path}/role",
                             {"orgRole": self.role}, token=self.token, params=params), 200
            case "get-jwks":
                return event("GET", "/.well-known/jwks.json", "/.well-known/jwks.json"), 200
            case "get-openid-configuration":
                return event("GET", "/.well-known/openid-configuration",
                             "/.well-known/openid-configuration"), 200
            case "default-route":
                return event("GET", "$default", "/no/such/route"), 404
            case "get-health":
                return event("GET", "/health", "/health"), 200
            case "get-sessions":
                return event("GET", "/sessions", "/sessions", token=self.token), 200
            case "post-user-logout":
                session = self.take(binary)
                return event("POST", "/user/logout", "/user/logout",
                             {"refreshToken": session["refreshToken"]},
                             token=session["accessToken"]), 200
            case "post-sessions-revoke":
                session_id = self.take(binary)
                return event("POST", "/sessions/{id}/revoke", f"/sessions/{session_id}/revoke",
                             token=self.revoker, params={"id": session_id}), 200
            case "post-sessions-revoke-all":
                return event("POST", "/sessions/revoke-all", "/sessions/revoke-all",
                             token=self.take(binary)), 200
            case "post-mfa-verify-login":
                pending, code = self.take(binary)
                return event("POST", "/mfa/verify-login", "/mfa/verify-login",
                             {"mfaType": "GOOGLE_AUTH", "code": code}, token=pending), 200
            case "post-user-deactivate":
                return event("POST", "/user/deactivate", "/user/deactivate",
                             token=self.take(binary)), 200
        raise SystemExit(f"bench_cold_start.py: no request defined for {binary}")

    def after(self, binary, body):
        """What a run hands on to the next one."""
        if binary == "post-user-refresh":
            self.refresh_token = body["refreshToken"]


# The binaries Scenario.events knows a request for.
MEASURED = {
    "hello-lambda", "dynamodb-lambda", "post-user-register", "post-user-login",
    "post-user-refresh", "get-user-profile", "get-user-quota", "get-organization-users",
    "post-organization-users", "get-user", "put-user", "put-user-role", "get-jwks",
    "get-openid-configuration", "default-route", "get-health", "get-sessions",
    "post-user-logout", "post-sessions-revoke", "post-sessions-revoke-all",
    "post-user-deactivate", "post-mfa-verify-login",
}


def parse(spec):
    """`binary@NAME=VALUE,...` -> (binary, {NAME: VALUE})."""
    binary, _, settings = spec.partition("@")
    return binary, dict(item.split("=", 1) for item in settings.split(",") if item)


def serve_runtime_api():
    """Starts the stub Runtime API; the processes started after reach it."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    global RUNTIME_API
    RUNTIME_API = f"127.0.0.1:{server.server_address[1]}"
    for name, value in {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
                        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
                        "AWS_LAMBDA_LOG_GROUP_NAME": "bench"}.items():
        os.environ.setdefault(name, value)


def main():
    global RUNS, RELEASE, KEYS, BINARIES
    RUNS, RELEASE, KEYS, BINARIES = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
    serve_runtime_api()

    unknown = [spec for spec in BINARIES if parse(spec)[0] not in MEASURED]
    BINARIES = [spec for spec in BINARIES if spec not in unknown]
    scenario = Scenario(RELEASE, {parse(spec)[0] for spec in BINARIES})
    os.environ["FLOOR_PK"], os.environ["FLOOR_SK"] = scenario.owner_pk, "PROFILE"
    samples = {binary: {"init": [], "first": [], "warm": [], "cold": [], "cold_own": []}
               for binary in BINARIES}
    # With moto's service log (MOTO_SERVICE_LOG), first − warm also without
    # moto's own time in either request (its collections fall on one or the
    # other at random).
    moto = MotoTime(os.environ["MOTO_SERVICE_LOG"]) if os.environ.get("MOTO_SERVICE_LOG") else None
    repeated = {binary: 0 for binary in BINARIES}
    for _ in range(RUNS):
        for spec in BINARIES:
            binary, extra_env = parse(spec)
            run = Run(lambda: scenario.events(binary), 2,
                      lambda body: scenario.after(binary, body))
            path = extra_env.get("BENCH_BINARY") or os.path.join(RELEASE, binary)
            scenario.prepare(binary, 2)
            try:
                start(path, run, extra_env)
            except Lost as lost:
                # The first answer (the cold start) still counts; the warm
                # figure is missing for this run.
                if not run.answers:
                    raise SystemExit(str(lost))
                repeated[spec] += 1
            for (_, handed, answered, status, body), want in zip(run.answers, run.wanted):
                if status != want:
                    raise SystemExit(f"{binary} answered {status}, expected {want}: {body}\n"
                                     f"log: {run.log}")
                if binary == "dynamodb-lambda" and body != "found":
                    raise SystemExit(f"dynamodb-lambda did not find {scenario.owner_pk}: {body}")
            first_at = run.answers[0][2]
            samples[spec]["init"].append((run.polled_at - run.started) / 1e6)
            samples[spec]["first"].append((first_at - run.started) / 1e6)
            if len(run.answers) == 2:
                _, handed_second, second_at, _, _ = run.answers[1]
                samples[spec]["warm"].append((second_at - handed_second) / 1e6)
                samples[spec]["cold"].append(samples[spec]["first"][-1]
                                             - samples[spec]["warm"][-1])
                if moto:
                    moto.refresh()
                    waited = (moto.within(run.started, first_at)
                              - moto.within(handed_second, second_at))
                    samples[spec]["cold_own"].append(samples[spec]["cold"][-1] - waited / 1e6)

    def median(binary, what):
        return statistics.median(samples[binary][what])

    hello = median("hello-lambda", "first") if "hello-lambda" in samples else None
    dynamo = median("dynamodb-lambda", "first") if "dynamodb-lambda" in samples else None
    trust = os.environ.get("SSL_CERT_FILE") or "the system's (no SSL_CERT_* set)"
    if os.environ.get("FLOOR_TRUST") == "webpki":
        trust += "; DynamoDB floor: bundled webpki roots"
    print(f"Keys: {'key file' if KEYS == 'file' else 'Secrets Manager (moto)'}; "
          f"trust store: {trust}; {RUNS} runs each, round-robin.\n")
    def cold(binary, what="cold"):
        """The cold start's own cost: the median over runs of first − warm."""
        return statistics.median(samples[binary][what]) if samples[binary][what] else float("nan")

    floor_cold = cold("dynamodb-lambda") if "dynamodb-lambda" in samples else None
    floor_own = cold("dynamodb-lambda", "cold_own") if "dynamodb-lambda" in samples else None
    print("| binary | bytes | first response: median ms | p10–p90 ms | init (first poll) ms "
          "| warm request ms | first − warm ms | (first − warm) / floor's "
          "| the same, moto's time out: ms | / floor's "
          "| / DynamoDB floor | / hello floor |")
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for binary in BINARIES:
        first = sorted(samples[binary]["first"])
        decile = lambda q: first[min(len(first) - 1, int(q * len(first)))]
        name, extra_env = parse(binary)
        size = os.path.getsize(extra_env.get("BENCH_BINARY") or os.path.join(RELEASE, name))
        m = median(binary, "first")
        c = cold(binary)
        print(f"| {binary} | {size:,} | {m:.2f} | {decile(0.1):.2f}–{decile(0.9):.2f} "
              f"| {median(binary, 'init'):.2f} | {median(binary, 'warm'):.2f} "
              f"| {c:.2f} | {c / floor_cold if floor_cold else float('nan'):.2f} "
              f"| {cold(binary, 'cold_own'):.2f} "
              f"| {cold(binary, 'cold_own') / floor_own if floor_own else float('nan'):.2f} "
              f"| {m / dynamo if dynamo else float('nan'):.2f} "
              f"| {m / hello if hello else float('nan'):.2f} |")
    if unknown:
        print(f"\nNot measured (no request defined for them here yet): {', '.join(unknown)}")
    lost = {binary: n for binary, n in repeated.items() if n}
    if lost:
        print(f"\nRuns whose second event the stub lost (no warm figure): {lost}")
    json.dump({"samples": samples, "lost_second_events": repeated}, open(os.path.join(os.environ.get("BENCH_OUT", "."), f"cold-start-{KEYS}.json"), "w"))


if __name__ == "__main__":
    main()
