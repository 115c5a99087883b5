"""stock: a Python service in the shop's trace. Standard library only (wsgiref), logging
through Distlog: each request is a scope continuing the caller's trace (traceparent), so a
Node service's call and this service's records form one tree.

    PYTHONPATH=sdk/python OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 python3 sdk/examples/python/stock.py
"""

import json
import logging
import os
import sys
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, make_server

import distlog

distlog.init(service_name=os.environ.get("OTEL_SERVICE_NAME", "stock"))
log = logging.getLogger("stock")
db = logging.getLogger("stock.db")


@distlog.scoped("check stock")
def available(item):
    db.debug("SELECT quantity FROM stock WHERE item = %s", item, extra={"item": item})
    return 0 if item == "unobtainium" else 7


def app(environ, start_response):
    item = parse_qs(environ.get("QUERY_STRING", "")).get("item", ["book"])[0]
    quantity = available(item)
    if quantity == 0:
        log.warning("%s is out of stock", item, extra={"item": item})
    else:
        log.info("%d of %s in stock", quantity, item, extra={"item": item, "quantity": quantity})
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"item": item, "quantity": quantity}).encode()]


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):  # the access log goes through Distlog's records instead
        pass


if __name__ == "__main__":
    server = make_server("127.0.0.1", int(os.environ.get("STOCK_PORT", "3004")), distlog.WSGIMiddleware(app), handler_class=QuietHandler)
    sys.stdout.write(json.dumps({"listening": server.server_port}) + "\n")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
