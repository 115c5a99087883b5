"""Each request in a scope named `METHOD /path` that continues the caller's trace."""

from ._scope import scope_from_headers


class WSGIMiddleware:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        headers = {
            key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")
        }
        name = "%s %s" % (environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/"))
        with scope_from_headers(headers, name):
            # The body is produced inside the scope, for apps that log while they stream it.
            return list(self.app(environ, start_response))


class ASGIMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope.get("type") != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        async with scope_from_headers(headers, "%s %s" % (scope.get("method", "GET"), scope.get("path", "/"))):
            await self.app(scope, receive, send)
