"""A logging.Handler that turns every record of every logger into an OTLP log record."""

import base64
import logging
import traceback

from . import _scope

# logging's own LogRecord attributes: everything else on a record came from `extra=`.
_STANDARD = set(logging.LogRecord("x", 0, "x", 0, "x", None, None).__dict__) | {"message", "asctime", "taskName"}
_SKIP = _STANDARD | {"distlog_event"}


def severity_number(levelno):
    """logging's levels on OTel's scale: DEBUG 5, INFO 9, WARNING 13, ERROR 17, CRITICAL 21;
    levels in between (custom ones) keep their place."""
    if levelno < logging.DEBUG:
        return 1
    if levelno >= logging.CRITICAL:
        return 21
    band = (levelno - logging.DEBUG) // 10
    return 5 + band * 4 + min(3, (levelno - logging.DEBUG) % 10 * 4 // 10)


_INT64 = (-(2**63), 2**63 - 1)


def _value(v, depth=0):
    """A Python value as an OTLP/JSON AnyValue (proto3 JSON mapping). Nothing here may make
    the request invalid JSON: one NaN used to get the whole batch refused (HTTP 400) and
    every record in it lost."""
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        if _INT64[0] <= v <= _INT64[1]:
            return {"intValue": str(v)}
        return {"stringValue": str(v)}
    if isinstance(v, float):
        if v != v:
            return {"doubleValue": "NaN"}
        if v in (float("inf"), float("-inf")):
            return {"doubleValue": "Infinity" if v > 0 else "-Infinity"}
        return {"doubleValue": v}
    if isinstance(v, str):
        return {"stringValue": v}
    if isinstance(v, (bytes, bytearray)):
        return {"bytesValue": base64.b64encode(bytes(v)).decode("ascii")}
    if v is None:
        return {}
    if depth < 8 and isinstance(v, dict):
        return {"kvlistValue": {"values": [{"key": str(k), "value": _value(x, depth + 1)} for k, x in v.items()]}}
    if depth < 8 and isinstance(v, (list, tuple, set, frozenset)):
        return {"arrayValue": {"values": [_value(x, depth + 1) for x in v]}}
    # datetime, Decimal, UUID, Path, the app's own objects: their text.
    try:
        return {"stringValue": v.isoformat() if hasattr(v, "isoformat") else str(v)}
    except Exception:  # a __str__ that fails must not lose the record
        return {"stringValue": "<%s>" % type(v).__name__}


class DistlogHandler(logging.Handler):
    """Logger name → instrumentation scope; level → severity; the formatted message → body;
    `extra=` fields, the code location and exception info → attributes; the current
    scope → trace and span id (and the scope's attributes).

    The calling thread does only what cannot wait — the message (its arguments may change
    later), the exception text and the current scope — and queues the record; the OTLP
    form is built by the exporter's thread (see to_otlp)."""

    def __init__(self, exporter, level=logging.NOTSET):
        super().__init__(level)
        self.exporter = exporter

    def emit(self, record):
        try:
            exc = None
            if record.exc_info and record.exc_info[0] is not None:
                exc_type, value, tb = record.exc_info
                exc = (exc_type.__name__, str(value), "".join(traceback.format_exception(exc_type, value, tb)))
            self.exporter.enqueue(record.name, (record, record.getMessage(), exc, _scope.trace_context()))
            # Distlog's own records (scope ends, crashes, warnings: Python prints those itself) not.
            last = logging.lastResort
            if (
                last is not None
                and record.levelno >= last.level
                and "distlog_event" not in record.__dict__
                and self._alone(record)
            ):
                last.handle(record)
        except Exception:  # never into the app: logging's own error path
            self.handleError(record)

    def _alone(self, record):
        """No handler but this one for the record: an app that configured no logging. Without
        Distlog, logging's last resort would print its warnings and errors on stderr; with
        Distlog's handler on the root logger they were no longer printed at all."""
        logger = logging.getLogger(record.name) if record.name != "root" else logging.getLogger()
        while logger is not None:
            for handler in logger.handlers:
                if handler is not self:
                    return False
            if not logger.propagate:
                break
            logger = logger.parent
        return True


def to_otlp(item):
    """A queued (record, message, exception, trace context) → an OTLP/JSON LogRecord."""
    record, message, exc, context = item
    attributes = dict(context[2]) if context is not None else {}
    for key, value in record.__dict__.items():
        if key not in _SKIP and not key.startswith("_"):
            attributes[key] = value
    attributes["code.filepath"] = record.pathname
    attributes["code.lineno"] = record.lineno
    attributes["code.function"] = record.funcName
    if exc is not None:
        attributes["exception.type"], attributes["exception.message"], attributes["exception.stacktrace"] = exc
    otlp = {
        "timeUnixNano": str(int(record.created * 1e9)),
        "severityNumber": severity_number(record.levelno),
        "severityText": record.levelname,
        "body": {"stringValue": message},
        "attributes": [{"key": k, "value": _value(v)} for k, v in attributes.items()],
    }
    event = record.__dict__.get("distlog_event")
    if event:
        otlp["eventName"] = event
    if context is not None:
        otlp["traceId"] = context[0]
        otlp["spanId"] = context[1]
        otlp["flags"] = 1
    return otlp
