"""gRPC calls followed across services (grpcio; on by default with init(); init(grpc=False)
or DISTLOG_CAPTURE_GRPC=0 turns it off), as the Node SDK follows them:

- Served: each call a `grpc.server(...)` made after init() answers runs in a scope that
  continues the caller's `traceparent` (from the call's metadata), named as OpenTelemetry
  names RPC spans — `shop.Orders/Place` — with `rpc.system`, `rpc.service`, `rpc.method` on
  its start and end records and `rpc.grpc.status_code` on its end record; a status other
  than OK (`context.abort`, `context.set_code`, an exception: UNKNOWN) ends it failed. A
  response stream's scope lasts while the stream is produced.
- Made: each call on a channel from `grpc.insecure_channel` / `grpc.secure_channel` made
  after init() carries the current scope's `traceparent` (and `baggage`) in its metadata,
  unless the caller set a `traceparent`.

grpc's own extension points do it: a server interceptor added to the ones the app gives
`grpc.server`, and `grpc.intercept_channel` around the channels. grpc imported after init()
is patched as it is imported; a server or channel made before init() is not followed.
(`grpc.aio` is not followed yet.)"""

import sys

from ._scope import inject_headers, scope_from_headers

_patched = None  # (module, {name: original})
_finder = None


def _status_name(code):
    return getattr(code, "name", str(code))


def _status_number(code):
    value = getattr(code, "value", None)
    return value[0] if isinstance(value, tuple) else 0


def _rpc_of(method):
    name = (method or "").lstrip("/")
    service, _, short = name.rpartition("/")
    return name, {"rpc.system": "grpc", "rpc.service": service, "rpc.method": short or name}


def _server_interceptor(grpc):
    class DistlogServerInterceptor(grpc.ServerInterceptor):
        def intercept_service(self, continuation, details):
            handler = continuation(details)
            if handler is None:
                return None
            name, own = _rpc_of(details.method)
            metadata = {}
            for key, value in details.invocation_metadata or ():
                if isinstance(value, str):
                    metadata.setdefault(key.lower(), value)

            def finish(run, context, error=None):
                """Ends the call's scope: its status code; failed unless OK. An abort (an
                exception with a status set) fails by its status, another exception by itself."""
                code = getattr(context, "code", lambda: None)()
                aborted = error is not None and code is not None and code != grpc.StatusCode.OK
                if code is None:
                    code = grpc.StatusCode.UNKNOWN if error is not None else grpc.StatusCode.OK
                run.ending["rpc.grpc.status_code"] = _status_number(code)
                if error is not None and not aborted:
                    run.__exit__(type(error), error, error.__traceback__)
                    return
                if code != grpc.StatusCode.OK:
                    text = getattr(context, "details", lambda: None)() or ""
                    if isinstance(text, bytes):
                        text = text.decode("utf-8", "replace")
                    run.failed = "answered with gRPC status %s%s" % (_status_name(code), ": " + text if text else "")
                run.__exit__(None, None, None)

            def unary_response(behavior):
                def served(request_or_iterator, context):
                    run = scope_from_headers(metadata, name, _own=own)
                    run.__enter__()
                    try:
                        response = behavior(request_or_iterator, context)
                    except BaseException as error:
                        finish(run, context, error)
                        raise
                    finish(run, context)
                    return response

                return served

            def stream_response(behavior):
                def served(request_or_iterator, context):
                    run = scope_from_headers(metadata, name, _own=own)
                    run.__enter__()
                    try:
                        for response in behavior(request_or_iterator, context):
                            yield response
                    except BaseException as error:
                        finish(run, context, error)
                        raise
                    finish(run, context)

                return served

            kinds = (
                ("unary_unary", grpc.unary_unary_rpc_method_handler, unary_response),
                ("unary_stream", grpc.unary_stream_rpc_method_handler, stream_response),
                ("stream_unary", grpc.stream_unary_rpc_method_handler, unary_response),
                ("stream_stream", grpc.stream_stream_rpc_method_handler, stream_response),
            )
            for attribute, make, wrap in kinds:
                behavior = getattr(handler, attribute, None)
                if behavior is not None:
                    return make(
                        wrap(behavior),
                        request_deserializer=handler.request_deserializer,
                        response_serializer=handler.response_serializer,
                    )
            return handler

    return DistlogServerInterceptor()


def _client_interceptor(grpc):
    class CallDetails(grpc.ClientCallDetails):
        def __init__(self, details, metadata):
            self.method = details.method
            self.timeout = details.timeout
            self.metadata = metadata
            self.credentials = details.credentials
            self.wait_for_ready = getattr(details, "wait_for_ready", None)
            self.compression = getattr(details, "compression", None)

    def with_trace(details):
        metadata = list(details.metadata or [])
        if any(str(key).lower() == "traceparent" for key, _ in metadata):
            return details
        headers = inject_headers({})
        if not headers:
            return details
        return CallDetails(details, metadata + list(headers.items()))

    class DistlogClientInterceptor(
        grpc.UnaryUnaryClientInterceptor,
        grpc.UnaryStreamClientInterceptor,
        grpc.StreamUnaryClientInterceptor,
        grpc.StreamStreamClientInterceptor,
    ):
        def intercept_unary_unary(self, continuation, details, request):
            return continuation(with_trace(details), request)

        def intercept_unary_stream(self, continuation, details, request):
            return continuation(with_trace(details), request)

        def intercept_stream_unary(self, continuation, details, requests):
            return continuation(with_trace(details), requests)

        def intercept_stream_stream(self, continuation, details, requests):
            return continuation(with_trace(details), requests)

    return DistlogClientInterceptor()


def _patch(grpc):
    global _patched
    if _patched is not None or not all(
        hasattr(grpc, name) for name in ("server", "insecure_channel", "secure_channel", "intercept_channel")
    ):
        return
    originals = {name: getattr(grpc, name) for name in ("server", "insecure_channel", "secure_channel")}
    server_interceptor = _server_interceptor(grpc)
    client_interceptor = _client_interceptor(grpc)

    def server(*args, **kwargs):
        # grpc.server(thread_pool, handlers=None, interceptors=None, ...): Distlog's first.
        if len(args) >= 3:
            args = list(args)
            args[2] = [server_interceptor] + list(args[2] or [])
        else:
            kwargs["interceptors"] = [server_interceptor] + list(kwargs.get("interceptors") or [])
        return originals["server"](*args, **kwargs)

    def insecure_channel(*args, **kwargs):
        return grpc.intercept_channel(originals["insecure_channel"](*args, **kwargs), client_interceptor)

    def secure_channel(*args, **kwargs):
        return grpc.intercept_channel(originals["secure_channel"](*args, **kwargs), client_interceptor)

    grpc.server, grpc.insecure_channel, grpc.secure_channel = server, insecure_channel, secure_channel
    _patched = (grpc, originals, (server, insecure_channel, secure_channel))


class _PatchOnImport:
    """A meta path finder that patches grpc right after its module ran (an app importing it after init())."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "grpc" or _finder is not self:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
                exec_module = spec.loader.exec_module

                def exec_and_patch(module, exec_module=exec_module):
                    exec_module(module)
                    _patch(module)

                spec.loader.exec_module = exec_and_patch
                return spec
            if spec is not None:
                return spec
        return None


def install():
    global _finder
    if "grpc" in sys.modules:
        _patch(sys.modules["grpc"])
    elif _finder is None:
        _finder = _PatchOnImport()
        sys.meta_path.insert(0, _finder)


def uninstall():
    global _patched, _finder
    if _finder is not None:
        if _finder in sys.meta_path:
            sys.meta_path.remove(_finder)
        _finder = None
    if _patched is not None:
        grpc, originals, ours = _patched
        for (name, original), mine in zip(originals.items(), ours):
            if getattr(grpc, name) is mine:
                setattr(grpc, name, original)
        _patched = None
