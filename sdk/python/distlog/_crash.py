"""Crashes and warnings as records, as the Node SDK does: an uncaught exception is one
CRITICAL (FATAL) record, an exception that ends a thread one ERROR record, each with
exception.type/message/stacktrace and the trace context of the innermost scope it left;
`warnings` a WARNING record. Python still prints and exits as it would — the previous
hooks run after ours — and the records go straight to Distlog's handler, never through
the app's other handlers (which would print them a second time). The process's atexit
flush (distlog.shutdown) sends them before it ends."""

import logging
import sys
import threading
import traceback
import warnings

from . import _scope

LOGGER_NAME = "distlog.process"

# The innermost scope an exception left rides on the exception itself (exceptions cannot
# be weakly referenced; they have a __dict__).
_SCOPE_ATTRIBUTE = "_distlog_scope"


def remember_scope(exc, scope):
    """Called by a scope an exception leaves: keeps the innermost one."""
    try:
        if exc is not None and getattr(exc, _SCOPE_ATTRIBUTE, None) is None:
            setattr(exc, _SCOPE_ATTRIBUTE, (scope.trace_id, scope.span_id, scope.attributes))
    except Exception:  # an exception type without a __dict__
        pass


def raised_in(exc):
    return getattr(exc, _SCOPE_ATTRIBUTE, None) if exc is not None else None


def install(handler):
    """Chains sys.excepthook, threading.excepthook and warnings.showwarning; returns the undo."""
    previous_excepthook = sys.excepthook
    previous_thread_hook = threading.excepthook
    previous_showwarning = warnings.showwarning

    def emit(level, message, event, exc_info=None, extra=None, context=None):
        try:
            record = logging.LogRecord(LOGGER_NAME, level, "", 0, message, None, None)
            record.distlog_event = event
            for key, value in (extra or {}).items():
                setattr(record, key, value)
            exc = None
            if exc_info is not None:
                exc_type, value, tb = exc_info
                exc = (exc_type.__name__, str(value), "".join(traceback.format_exception(exc_type, value, tb)))
            handler.exporter.enqueue(LOGGER_NAME, (record, message, exc, context or _scope.trace_context()))
        except Exception:  # never change how the process ends
            pass

    def excepthook(exc_type, exc, tb):
        try:
            if not issubclass(exc_type, KeyboardInterrupt):
                emit(
                    logging.CRITICAL,
                    "%s: %s" % (exc_type.__name__, exc),
                    "distlog.process.uncaught_exception",
                    (exc_type, exc, tb),
                    context=raised_in(exc),
                )
        except Exception:  # never change how the process ends
            pass
        previous_excepthook(exc_type, exc, tb)

    def thread_hook(args):
        try:
            if args.exc_type is not SystemExit:
                emit(
                    logging.ERROR,
                    "%s: %s" % (args.exc_type.__name__, args.exc_value),
                    "distlog.process.thread_exception",
                    (args.exc_type, args.exc_value, args.exc_traceback),
                    {"thread.name": args.thread.name if args.thread else ""},
                    context=raised_in(args.exc_value),
                )
        except Exception:
            pass
        previous_thread_hook(args)

    def showwarning(message, category, filename, lineno, file=None, line=None):
        previous_showwarning(message, category, filename, lineno, file, line)
        try:
            emit(
                logging.WARNING,
                "%s: %s" % (category.__name__, message),
                "distlog.process.warning",
                extra={"warning.category": category.__name__, "code.filepath": filename, "code.lineno": lineno},
            )
        except Exception:
            pass

    sys.excepthook = excepthook
    threading.excepthook = thread_hook
    warnings.showwarning = showwarning

    def undo():
        if sys.excepthook is excepthook:
            sys.excepthook = previous_excepthook
        if threading.excepthook is thread_hook:
            threading.excepthook = previous_thread_hook
        if warnings.showwarning is showwarning:
            warnings.showwarning = previous_showwarning

    return undo
