"""Distlog for Python: standard `logging` into a Distlog collector (or any OTLP/HTTP
endpoint), with scopes, W3C trace context and run-time levels. Standard library only;
uses the OpenTelemetry API's current span when that package is installed.

    import distlog, logging
    distlog.init(service_name="billing")          # or OTEL_SERVICE_NAME
    log = logging.getLogger("billing.cards")
    with distlog.scope("charge card", order_id=42):
        log.info("charging %s EUR", 12.5, extra={"card": "visa"})
"""

import atexit
import logging
import os
import threading

from . import _attach, _crash, _grpc, _http, _threads
from ._config import Config
from ._export import Exporter
from ._handler import DistlogHandler, severity_number
from ._levels import LevelControl, TRACE, effective_rule
from ._scope import current, inject_headers, request_scope_name, scope, scope_from_headers, scoped, trace_context
from ._middleware import ASGIMiddleware, WSGIMiddleware

__all__ = [
    "init",
    "shutdown",
    "flush",
    "stats",
    "levels",
    "scope",
    "scoped",
    "current",
    "inject_headers",
    "scope_from_headers",
    "request_scope_name",
    "trace_context",
    "WSGIMiddleware",
    "ASGIMiddleware",
    "DistlogHandler",
    "severity_number",
    "effective_rule",
    "TRACE",
]

_lock = threading.Lock()
_state = None


class _State:
    def __init__(self, config, exporter, handler, control, undo_crashes):
        self.config = config
        self.exporter = exporter
        self.handler = handler
        self.control = control
        self.undo_crashes = undo_crashes


def init(
    service_name=None,
    endpoint=None,
    level_control=None,
    level=logging.NOTSET,
    crashes=None,
    http=None,
    threads=None,
    grpc=None,
):
    """Installs the handler on the root logger (once): every library's records are sent.
    Returns the handler. Calling it again returns the same one. `crashes` (default on;
    DISTLOG_CAPTURE_CRASHES=0 turns it off): uncaught exceptions, thread exceptions and
    warnings as records too (see _crash). `http` (default on; DISTLOG_CAPTURE_HTTP=0 turns
    it off): requests made through http.client (urllib, requests) carry the current scope's
    `traceparent` (see _http). `threads` (default on; DISTLOG_CAPTURE_THREADS=0 turns it
    off): work handed to a thread inside a scope (run_in_executor, a ThreadPoolExecutor, a
    Thread) goes on in that scope (see _threads). `grpc` (default on; DISTLOG_CAPTURE_GRPC=0
    turns it off): calls a grpcio server answers run in a scope continuing the caller's, and
    calls on its channels carry the current scope's `traceparent` (see _grpc)."""
    global _state
    with _lock:
        if _state is not None:
            return _state.handler
        config = Config(service_name=service_name, endpoint=endpoint)
        exporter = Exporter(config)
        handler = DistlogHandler(exporter, level)
        root = logging.getLogger()
        root.addHandler(handler)
        if root.level == logging.WARNING and not root.handlers[:-1]:
            # Unconfigured logging drops INFO and DEBUG before any handler sees them; Distlog
            # takes what the loggers' own levels let through, as it does in Node.
            root.setLevel(logging.INFO)
        control = None
        if (config.level_control if level_control is None else level_control):
            control = LevelControl(config)
        if crashes is None:
            crashes = os.environ.get("DISTLOG_CAPTURE_CRASHES", "1") != "0"
        undo_crashes = _crash.install(handler) if crashes else None
        if http is None:
            http = os.environ.get("DISTLOG_CAPTURE_HTTP", "1") != "0"
        if http:
            _http.install()
        if grpc is None:
            grpc = os.environ.get("DISTLOG_CAPTURE_GRPC", "1") != "0"
        if grpc:
            _grpc.install()
        if threads is None:
            threads = os.environ.get("DISTLOG_CAPTURE_THREADS", "1") != "0"
        if threads:
            _threads.install()
        exporter.on_wake = _attach.install(handler)
        _state = _State(config, exporter, handler, control, undo_crashes)
        atexit.register(shutdown)
        _follow_forks()
        return handler


_forks_followed = False


def _follow_forks():
    global _forks_followed
    if _forks_followed or not hasattr(os, "register_at_fork"):
        return
    _forks_followed = True
    os.register_at_fork(after_in_child=_after_fork)


def _after_fork():
    """A forked child (gunicorn --preload, Celery prefork, multiprocessing) sends its own
    records: before, the parent's export thread did not exist in it and they were never sent."""
    global _lock
    _lock = threading.Lock()  # another thread may have held it at the fork
    state = _state
    if state is None:
        return
    state.config.after_fork()
    state.exporter.after_fork()
    if state.control:
        state.control.after_fork()


def flush(timeout=5.0):
    """Sends what is queued; False when it took longer than `timeout`."""
    state = _state
    return state.exporter.flush(timeout) if state else True


def stats():
    """Records queued, exported, dropped (queue full, oldest first) and failed."""
    state = _state
    return state.exporter.stats() if state else {"queued": 0, "exported": 0, "dropped": 0, "failed": 0}


def levels():
    """Per logger: its effective level, the level its code gave it, and the rule that set it."""
    state = _state
    return state.control.effective() if state and state.control else {}


def shutdown(timeout=5.0):
    """Flushes and stops; safe to call twice (it also runs at exit)."""
    global _state
    with _lock:
        state, _state = _state, None
    if state is None:
        return
    if state.control:
        state.control.stop()
    if state.undo_crashes:
        state.undo_crashes()
    _http.uninstall()
    _grpc.uninstall()
    _threads.uninstall()
    state.exporter.on_wake = None
    _attach.uninstall()
    logging.getLogger().removeHandler(state.handler)
    state.exporter.shutdown(timeout)
