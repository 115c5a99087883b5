"""Scopes that go on in threads started inside them.

A thread starts with an empty context: a record logged from `loop.run_in_executor(...)`, a
`ThreadPoolExecutor`, or a `threading.Thread` started inside a scope had no trace context
(asyncio.to_thread alone copies the context). After `init()`, work handed to a thread inside
a scope runs in a copy of the caller's context, as `asyncio.to_thread` does; outside a
scope nothing changes. `init(threads=False)` or DISTLOG_CAPTURE_THREADS=0 turns it off.
"""

import concurrent.futures
import contextvars
import threading

from . import _scope

_restore = []


def _in_scope():
    return _scope.current() is not None


def install():
    if _restore:
        return
    pool = concurrent.futures.ThreadPoolExecutor
    submit = pool.submit

    def submit_in_context(self, fn, /, *args, **kwargs):
        if not _in_scope():
            return submit(self, fn, *args, **kwargs)
        return submit(self, contextvars.copy_context().run, fn, *args, **kwargs)

    submit_in_context.__wrapped__ = submit
    pool.submit = submit_in_context
    _restore.append((pool, "submit", submit, submit_in_context))

    thread = threading.Thread
    start = thread.start
    bootstrap = getattr(thread, "_bootstrap_inner", None)
    if bootstrap is None:  # a Python without it: thread pools only
        return

    def start_in_context(self):
        if _in_scope():
            self._distlog_context = contextvars.copy_context()
        return start(self)

    def bootstrap_in_context(self):
        context = self.__dict__.pop("_distlog_context", None)
        if context is None:
            return bootstrap(self)
        return context.run(bootstrap, self)

    start_in_context.__wrapped__ = start
    thread.start = start_in_context
    thread._bootstrap_inner = bootstrap_in_context
    _restore.append((thread, "start", start, start_in_context))
    _restore.append((thread, "_bootstrap_inner", bootstrap, bootstrap_in_context))


def uninstall():
    while _restore:
        owner, name, original, ours = _restore.pop()
        if getattr(owner, name) is ours:
            setattr(owner, name, original)
