"""Each request in a scope that continues the caller's trace: named `GET /orders/:id`
(request_scope_name), with `http.method` and `http.target`, and `http.status_code` in its
end record; a 5xx answer ends it as failed."""

from ._scope import request_scope_name, scope_from_headers


def _request_scope(headers, method, path):
    attributes = {"http.method": method, "http.target": path}
    return scope_from_headers(headers, request_scope_name(method, path), **attributes)


def _answered(run, status):
    run.ending["http.status_code"] = status
    if status >= 500:
        run.failed = "responded with HTTP %d" % status


class WSGIMiddleware:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        headers = {
            key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")
        }
        run = _request_scope(headers, environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/"))

        def answering(status, response_headers, exc_info=None):
            try:
                _answered(run, int(str(status).split(" ", 1)[0]))
            except ValueError:
                pass
            if exc_info:
                return start_response(status, response_headers, exc_info)
            return start_response(status, response_headers)

        with run:
            # The body is produced inside the scope, for apps that log while they stream it.
            return list(self.app(environ, answering))


class ASGIMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope.get("type") != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        run = _request_scope(headers, scope.get("method", "GET"), scope.get("path", "/"))

        async def answering(message):
            if message.get("type") == "http.response.start":
                _answered(run, int(message.get("status", 200)))
            await send(message)

        async with run:
            await self.app(scope, receive, answering)
