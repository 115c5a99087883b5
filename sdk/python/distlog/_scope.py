"""Scopes: nested, parent/child, through contextvars (threads and asyncio), as W3C trace
context across processes. A scope is a span: its records carry its trace and span id and
its (inherited) attributes; its start and end are records themselves."""

import contextvars
import functools
import inspect
import logging
import os
import re
import time
import traceback

_current = contextvars.ContextVar("distlog_scope", default=None)
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
SCOPE_LOGGER = "distlog.scope"


class Scope:
    __slots__ = ("name", "trace_id", "span_id", "parent_span_id", "attributes", "flags", "baggage")

    def __init__(self, name, trace_id, span_id, parent_span_id, attributes, flags="01", baggage=""):
        self.name = name
        self.trace_id = trace_id
        self.span_id = span_id
        self.parent_span_id = parent_span_id
        self.attributes = attributes
        self.flags = flags
        self.baggage = baggage


def current():
    return _current.get()


# The OpenTelemetry API, when installed: imported once, here, in the thread that imports
# Distlog. Tried at each record instead (as before), a missing package was an import attempt
# per record from every thread that logs, and a fork while another thread held that import's
# lock (gunicorn, Celery, multiprocessing) left the child's first record waiting for ever.
try:
    from opentelemetry import trace as _otel_trace  # type: ignore
except ImportError:
    _otel_trace = None


def _otel_span():
    """The OpenTelemetry API's current span, when that package is installed and has one."""
    if _otel_trace is None:
        return None
    ctx = _otel_trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return "%032x" % ctx.trace_id, "%016x" % ctx.span_id


def trace_context():
    """(trace_id, span_id, attributes) of the innermost scope, else of an OTel span, else None."""
    scope = _current.get()
    if scope is not None:
        return scope.trace_id, scope.span_id, scope.attributes
    otel = _otel_span()
    if otel:
        return otel[0], otel[1], {}
    return None


def _new_id(nbytes):
    return os.urandom(nbytes).hex()


class _ScopeRun:
    """`with scope(...)` and `async with scope(...)`: a child of the current scope (or of `parent`)."""

    def __init__(self, name, attributes, parent=None, own=None):
        self.name = name
        self.attributes = attributes
        self.parent = parent
        # On the scope's own start and end records only, not inherited (a gRPC call's rpc.*).
        self.own = own or {}
        self._token = None
        self._start = 0.0
        self.scope = None
        # Known only at the end (an HTTP response's status code), added to the end record;
        # `failed` ends the scope as failed without an exception (a 5xx answer).
        self.ending = {}
        self.failed = None

    def __enter__(self):
        parent = self.parent if self.parent is not None else _current.get()
        if parent is None:
            otel = _otel_span()
            trace_id, parent_span, inherited, flags, baggage = (
                (otel[0], otel[1], {}, "01", "") if otel else (_new_id(16), "", {}, "01", "")
            )
        else:
            trace_id, parent_span = parent.trace_id, parent.span_id
            inherited, flags, baggage = parent.attributes, parent.flags, parent.baggage
        attributes = dict(inherited)
        attributes.update(self.attributes)
        self.scope = Scope(self.name, trace_id, _new_id(8), parent_span, attributes, flags, baggage)
        self._token = _current.set(self.scope)
        self._start = time.perf_counter()
        extra = dict(self.own)
        extra.update({"distlog_event": "distlog.scope.start", "scope.name": self.name, "scope.parent_span_id": parent_span})
        logging.getLogger(SCOPE_LOGGER).info("%s started", self.name, extra=extra)
        return self.scope

    def __exit__(self, exc_type, exc, tb):
        duration = (time.perf_counter() - self._start) * 1000.0
        extra = dict(self.own)
        extra.update({
            "distlog_event": "distlog.scope.end",
            "scope.name": self.name,
            "scope.parent_span_id": self.scope.parent_span_id,
            "scope.status": "error" if exc_type or self.failed else "ok",
            "scope.duration_ms": round(duration, 3),
        })
        extra.update(self.ending)
        log = logging.getLogger(SCOPE_LOGGER)
        if exc_type:
            from ._crash import remember_scope  # (a cycle at import time otherwise)

            remember_scope(exc, self.scope)
            extra.update(
                {
                    "exception.type": exc_type.__name__,
                    "exception.message": str(exc),
                    "exception.stacktrace": "".join(traceback.format_exception(exc_type, exc, tb)),
                }
            )
            log.error("%s failed after %.3f ms: %s", self.name, duration, exc, extra=extra)
        elif self.failed:
            log.error("%s failed after %.3f ms: %s", self.name, duration, self.failed, extra=extra)
        else:
            log.info("%s finished in %.3f ms", self.name, duration, extra=extra)
        _current.reset(self._token)
        return False

    async def __aenter__(self):
        return self.__enter__()

    async def __aexit__(self, exc_type, exc, tb):
        return self.__exit__(exc_type, exc, tb)


def scope(name, **attributes):
    """A child scope of the current one: `with distlog.scope("charge card", order_id=42):`."""
    return _ScopeRun(name, attributes)


def scoped(name=None, **attributes):
    """Runs each call of the decorated function (sync or async) in a scope."""

    def decorate(fn):
        label = name or fn.__qualname__
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(*args, **kwargs):
                async with _ScopeRun(label, attributes):
                    return await fn(*args, **kwargs)

            return run_async

        @functools.wraps(fn)
        def run(*args, **kwargs):
            with _ScopeRun(label, attributes):
                return fn(*args, **kwargs)

        return run

    return decorate


def inject_headers(headers=None):
    """Adds `traceparent` (and `baggage`, when the scope came with one) for an outgoing call."""
    headers = {} if headers is None else headers
    context = trace_context()
    if context is None:
        return headers
    scope = _current.get()
    headers["traceparent"] = "00-%s-%s-%s" % (context[0], context[1], scope.flags if scope else "01")
    if scope is not None and scope.baggage:
        headers["baggage"] = scope.baggage
    return headers


_ID_SEGMENT = re.compile(
    r"^(\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{16,})$"
)


def request_scope_name(method, path):
    """`GET /orders/:id` for `GET /orders/1042`: path segments that are ids (numbers, UUIDs,
    long hex, mixed letter-and-digit tokens of 12+ characters) written `:id`, as the Node
    SDK names request scopes, so that scope metrics group them."""

    def is_id(segment):
        if _ID_SEGMENT.match(segment):
            return True
        return (
            len(segment) >= 12
            and re.match(r"^[\w-]+$", segment) is not None
            and re.search(r"\d", segment) is not None
            and re.search(r"[a-zA-Z]", segment) is not None
        )

    joined = "/".join(":id" if segment and is_id(segment) else segment for segment in (path or "").split("/"))
    return "%s %s" % (method or "GET", joined or "/")


def scope_from_headers(headers, name, _own=None, **attributes):
    """A scope that continues the caller's trace (W3C `traceparent`), or starts one.
    `_own`: attributes of the scope's own start and end records only."""
    lower = {str(k).lower(): v for k, v in (headers or {}).items()}
    match = _TRACEPARENT.match(str(lower.get("traceparent", "")).strip())
    parent = None
    if match and match.group(1) != "0" * 32 and match.group(2) != "0" * 16:
        parent = Scope("remote", match.group(1), match.group(2), "", {}, match.group(3), str(lower.get("baggage", "")))
    return _ScopeRun(name, attributes, parent, _own)
