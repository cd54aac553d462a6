"""moto_server with one request at a time, so that DynamoDB's per-item
atomicity (conditional writes, transactions) holds as it does on AWS.
Plain moto_server handles requests on parallel threads without a lock:
its condition checks and transaction rollbacks race.

usage: moto_serialized.py [host] [port]"""
import gc
import os
import sys
import threading
import time

from werkzeug.serving import run_simple
from moto.core.model_instances import model_data
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()


def forget_dynamodb_instances():
    """moto keeps every model instance it ever made, for its dashboard
    (/moto-api/data.json): every DynamoDB item ever written, overwritten or
    deleted. Over a whole test run that is millions of objects, gigabytes,
    and garbage-collector pauses long enough to time requests out. The
    tables keep their live items; only the dashboard's list is dropped (the
    SES messages tests/mailer.rs reads there are kept)."""
    for model in model_data.get("dynamodb", {}).values():
        model.instances_tracked.clear()


# The cyclic garbage collector runs at fixed points instead of whenever
# allocations cross its thresholds: moto deep-copies a table for each item
# of a transaction, so its automatic collections fell inside a random half
# of the requests and made request times bimodal (the timing tests compare
# medians). Those copies are cyclic garbage: about 40,000 objects per
# registration once a table holds a hundred accounts. Collecting it all
# every 100 requests took 4 s under load (4.7 million objects), holding the
# 100th answer past the client's timeout (a 503 in tests/login_timing.rs). The
# young generations, where that garbage lies, are collected every 10
# requests (a tenth of the pause); everything every 500.
COLLECT_YOUNG_EVERY = 10
COLLECT_ALL_EVERY = 500
requests_served = 0
gc.disable()

# The benchmarks (scripts/bench_power_tuning.py) take moto's own time out of
# what they measure: with MOTO_SERVICE_LOG set, each request's start and end
# on CLOCK_MONOTONIC (the clock the benchmarks time the functions on), the
# collections above included, one line per request.
service_log = os.environ.get("MOTO_SERVICE_LOG")
service_log = open(service_log, "a", buffering=1) if service_log else None


def serialized(environ, start_response):
    global requests_served
    with lock:
        started = time.monotonic_ns()
        try:
            return list(app(environ, start_response))
        finally:
            forget_dynamodb_instances()
            requests_served += 1
            if requests_served % COLLECT_ALL_EVERY == 0:
                gc.collect()
            elif requests_served % COLLECT_YOUNG_EVERY == 0:
                gc.collect(1)
            if service_log:
                service_log.write(f"{started} {time.monotonic_ns()}\n")


host = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
port = int(sys.argv[2]) if len(sys.argv) > 2 else 5600
run_simple(host, port, serialized, threaded=True, request_handler=MotoRequestHandler)
