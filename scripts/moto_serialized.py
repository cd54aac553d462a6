"""moto_server with one request at a time, so that DynamoDB's per-item
atomicity (conditional writes, transactions) holds as it does on AWS.
Plain moto_server handles requests on parallel threads without a lock:
its condition checks and transaction rollbacks race.

usage: moto_serialized.py [host] [port]"""
import sys
import threading

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


def serialized(environ, start_response):
    with lock:
        try:
            return list(app(environ, start_response))
        finally:
            forget_dynamodb_instances()


host = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
port = int(sys.argv[2]) if len(sys.argv) > 2 else 5600
run_simple(host, port, serialized, threaded=True, request_handler=MotoRequestHandler)
