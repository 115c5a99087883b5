"""Keeps Distlog's handler on the root logger through the app's own logging configuration.

`logging.config.dictConfig` with a `root` section (Django's LOGGING, most apps' set-up) and
`fileConfig` replace the root logger's handlers: called after `distlog.init()`, they took
Distlog's handler off and nothing more was sent, without a word. `logging.basicConfig`
does nothing on a root logger that has a handler: after `init()` the app's own console
output never appeared. Wrapped here: the configuration runs as the app wrote it, on a root
logger as it would be without Distlog, and Distlog's handler is put back after it. Any
other removal (`root.handlers = [...]`) is found by the export thread, which puts the
handler back and says so once.
"""

import logging
import logging.config
import sys

_wrapped = []


def install(handler):
    """Wraps the configuration functions; returns `check()`, which puts the handler back
    if something took it off (True then)."""

    def attached():
        return handler in logging.getLogger().handlers

    def put_back():
        if not attached():
            logging.getLogger().addHandler(handler)

    def wrap(owner, name):
        original = getattr(owner, name)

        def configured(*args, **kwargs):
            root = logging.getLogger()
            # As without Distlog: basicConfig configures a root logger that has no handler.
            root.removeHandler(handler)
            try:
                return original(*args, **kwargs)
            finally:
                put_back()

        configured.__wrapped__ = original
        configured.__doc__ = original.__doc__
        setattr(owner, name, configured)
        _wrapped.append((owner, name, original, configured))

    wrap(logging.config, "dictConfig")
    wrap(logging.config, "fileConfig")
    wrap(logging, "basicConfig")

    said = []

    def check():
        if attached():
            return False
        put_back()
        if not said:
            said.append(True)
            sys.stderr.write(
                "distlog: its handler was taken off the root logger (by the app's logging set-up?); "
                "put back — records logged meanwhile were not sent\n"
            )
        return True

    return check


def uninstall():
    while _wrapped:
        owner, name, original, configured = _wrapped.pop()
        if getattr(owner, name) is configured:
            setattr(owner, name, original)
