"""Outgoing requests carry the current scope (on by default with init(); init(http=False)
or DISTLOG_CAPTURE_HTTP=0 turns it off): every request made through `http.client` —
urllib.request, requests and urllib3, http.client itself — gets `traceparent` (and
`baggage`) when it is made inside a scope, unless the caller set a `traceparent` itself.

`http.client.HTTPConnection.endheaders` is wrapped: by then the request line and the
caller's headers are in the connection's buffer, and the head is not sent yet."""

import http.client

from ._scope import inject_headers

_original = None


def _headers_so_far(connection):
    return getattr(connection, "_buffer", None) or []


def _endheaders(self, *args, **kwargs):
    try:
        sent = _headers_so_far(self)
        if not any(line[:12].lower() == b"traceparent:" for line in sent[1:]):
            for key, value in inject_headers({}).items():
                self.putheader(key, value)
    except Exception:  # never in the app's way: its request goes as it would have
        pass
    return _original(self, *args, **kwargs)


def install():
    global _original
    if _original is not None:
        return
    _original = http.client.HTTPConnection.endheaders
    http.client.HTTPConnection.endheaders = _endheaders


def uninstall():
    global _original
    if _original is None:
        return
    if http.client.HTTPConnection.endheaders is _endheaders:
        http.client.HTTPConnection.endheaders = _original
    _original = None
