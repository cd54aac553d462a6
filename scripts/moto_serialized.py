"""moto_server with one request at a time, so that DynamoDB's per-item
atomicity (conditional writes, transactions) holds as it does on AWS.
Plain moto_server handles requests on parallel threads without a lock:
its condition checks and transaction rollbacks race.

usage: moto_serialized.py [host] [port]"""
import sys
import threading

from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()


def serialized(environ, start_response):
    with lock:
        return list(app(environ, start_response))


host = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
port = int(sys.argv[2]) if len(sys.argv) > 2 else 5600
run_simple(host, port, serialized, threaded=True, request_handler=MotoRequestHandler)
