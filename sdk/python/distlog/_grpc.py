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
`grpc.aio` the same way: its server's interceptor and its channels' `interceptors`."""

import inspect
import sys

from ._scope import inject_headers, scope_from_headers

_patched = None  # [(module, {name: original}, (ours, …))]: grpc, and grpc.aio
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


def _code_of(grpc, code):
    """A context's status code as a grpc.StatusCode (grpc.aio gives its number), None when unset."""
    if code is None or isinstance(code, grpc.StatusCode):
        return code
    for status in grpc.StatusCode:
        if status.value[0] == code:
            return status
    return grpc.StatusCode.UNKNOWN


def _metadata_of(details):
    """The call's text metadata by lower-case key (the first of each)."""
    metadata = {}
    for key, value in details.invocation_metadata or ():
        if isinstance(value, str):
            metadata.setdefault(key.lower(), value)
    return metadata


def _finisher(grpc):
    def finish(run, context, error=None):
        """Ends the call's scope with its status code; failed unless OK. An abort (an
        exception with a status set) fails by its status, another exception by itself."""
        code = _code_of(grpc, getattr(context, "code", lambda: None)())
        if error is not None and code in (None, grpc.StatusCode.OK):
            # An exception the handler did not turn into a status: grpc answers UNKNOWN.
            run.ending["rpc.grpc.status_code"] = _status_number(grpc.StatusCode.UNKNOWN)
            run.__exit__(type(error), error, error.__traceback__)
            return
        code = code or grpc.StatusCode.OK
        run.ending["rpc.grpc.status_code"] = _status_number(code)
        if code != grpc.StatusCode.OK:
            text = getattr(context, "details", lambda: None)() or ""
            if isinstance(text, bytes):
                text = text.decode("utf-8", "replace")
            run.failed = "answered with gRPC status %s%s" % (_status_name(code), ": " + text if text else "")
        run.__exit__(None, None, None)

    return finish


_KINDS = (
    ("unary_unary", "unary_unary_rpc_method_handler", False),
    ("unary_stream", "unary_stream_rpc_method_handler", True),
    ("stream_unary", "stream_unary_rpc_method_handler", False),
    ("stream_stream", "stream_stream_rpc_method_handler", True),
)


def _rewrapped(grpc, handler, wrap):
    """The handler with its behavior wrapped (`wrap(behavior, streams_out)`)."""
    for attribute, make, streams_out in _KINDS:
        behavior = getattr(handler, attribute, None)
        if behavior is not None:
            return getattr(grpc, make)(
                wrap(behavior, streams_out),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
    return handler


def _server_interceptor(grpc):
    finish = _finisher(grpc)

    class DistlogServerInterceptor(grpc.ServerInterceptor):
        def intercept_service(self, continuation, details):
            handler = continuation(details)
            if handler is None:
                return None
            name, own = _rpc_of(details.method)
            metadata = _metadata_of(details)

            def wrap(behavior, streams_out):
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

                def served_stream(request_or_iterator, context):
                    run = scope_from_headers(metadata, name, _own=own)
                    run.__enter__()
                    try:
                        for response in behavior(request_or_iterator, context):
                            yield response
                    except BaseException as error:
                        finish(run, context, error)
                        raise
                    finish(run, context)

                return served_stream if streams_out else served

            return _rewrapped(grpc, handler, wrap)

    return DistlogServerInterceptor()


def _aio_server_interceptor(grpc, aio):
    finish = _finisher(grpc)

    class DistlogAioServerInterceptor(aio.ServerInterceptor):
        async def intercept_service(self, continuation, details):
            handler = await continuation(details)
            if handler is None:
                return None
            name, own = _rpc_of(details.method)
            metadata = _metadata_of(details)

            def wrap(behavior, streams_out):
                if streams_out and inspect.isasyncgenfunction(behavior):

                    async def served_stream(request_or_iterator, context):
                        run = scope_from_headers(metadata, name, _own=own)
                        run.__enter__()
                        try:
                            async for response in behavior(request_or_iterator, context):
                                yield response
                        except BaseException as error:
                            finish(run, context, error)
                            raise
                        finish(run, context)

                    return served_stream

                if not inspect.iscoroutinefunction(behavior):
                    # A plain function (grpc.aio runs those on its migration thread pool): as it is.
                    return behavior

                # A coroutine (a stream written with context.write, too).
                async def served(request_or_iterator, context):
                    run = scope_from_headers(metadata, name, _own=own)
                    run.__enter__()
                    try:
                        response = await behavior(request_or_iterator, context)
                    except BaseException as error:
                        finish(run, context, error)
                        raise
                    finish(run, context)
                    return response

                return served

            return _rewrapped(grpc, handler, wrap)

    return DistlogAioServerInterceptor()


def _traced_metadata(metadata):
    """The call's metadata with the current scope's trace headers, or None to leave it as it is."""
    entries = list(metadata or ())
    if any(str(key).lower() == "traceparent" for key, _ in entries):
        return None
    headers = inject_headers({})
    return entries + list(headers.items()) if headers else None


def _aio_client_interceptor(aio):
    def with_trace(details):
        metadata = _traced_metadata(details.metadata)
        return details if metadata is None else details._replace(metadata=aio.Metadata(*metadata))

    # One instance per kind: grpc.aio files an interceptor under the first kind it is.
    class UnaryUnary(aio.UnaryUnaryClientInterceptor):
        async def intercept_unary_unary(self, continuation, details, request):
            return await continuation(with_trace(details), request)

    class UnaryStream(aio.UnaryStreamClientInterceptor):
        async def intercept_unary_stream(self, continuation, details, request):
            return await continuation(with_trace(details), request)

    class StreamUnary(aio.StreamUnaryClientInterceptor):
        async def intercept_stream_unary(self, continuation, details, requests):
            return await continuation(with_trace(details), requests)

    class StreamStream(aio.StreamStreamClientInterceptor):
        async def intercept_stream_stream(self, continuation, details, requests):
            return await continuation(with_trace(details), requests)

    return [UnaryUnary(), UnaryStream(), StreamUnary(), StreamStream()]


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
        metadata = _traced_metadata(details.metadata)
        return details if metadata is None else CallDetails(details, metadata)

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
        args, kwargs = _with_first([server_interceptor], args, kwargs, 2)
        return originals["server"](*args, **kwargs)

    def insecure_channel(*args, **kwargs):
        return grpc.intercept_channel(originals["insecure_channel"](*args, **kwargs), client_interceptor)

    def secure_channel(*args, **kwargs):
        return grpc.intercept_channel(originals["secure_channel"](*args, **kwargs), client_interceptor)

    grpc.server, grpc.insecure_channel, grpc.secure_channel = server, insecure_channel, secure_channel
    patched = [(grpc, originals, (server, insecure_channel, secure_channel))]
    aio = getattr(grpc, "aio", None)
    if aio is not None and all(
        hasattr(aio, name)
        for name in ("server", "insecure_channel", "secure_channel", "ServerInterceptor", "Metadata")
    ):
        patched.append(_patch_aio(grpc, aio))
    _patched = patched


def _with_first(interceptors, args, kwargs, position):
    """The call's arguments with `interceptors` first among its own (positional at `position`)."""
    if len(args) > position:
        args = list(args)
        args[position] = list(interceptors) + list(args[position] or [])
    else:
        kwargs["interceptors"] = list(interceptors) + list(kwargs.get("interceptors") or [])
    return args, kwargs


def _patch_aio(grpc, aio):
    originals = {name: getattr(aio, name) for name in ("server", "insecure_channel", "secure_channel")}
    server_interceptor = _aio_server_interceptor(grpc, aio)
    client_interceptors = _aio_client_interceptor(aio)

    def server(*args, **kwargs):
        # grpc.aio.server(migration_thread_pool=None, handlers=None, interceptors=None, ...)
        args, kwargs = _with_first([server_interceptor], args, kwargs, 2)
        return originals["server"](*args, **kwargs)

    def insecure_channel(*args, **kwargs):
        # grpc.aio.insecure_channel(target, options=None, compression=None, interceptors=None)
        args, kwargs = _with_first(client_interceptors, args, kwargs, 3)
        return originals["insecure_channel"](*args, **kwargs)

    def secure_channel(*args, **kwargs):
        # grpc.aio.secure_channel(target, credentials, options=None, compression=None, interceptors=None)
        args, kwargs = _with_first(client_interceptors, args, kwargs, 4)
        return originals["secure_channel"](*args, **kwargs)

    aio.server, aio.insecure_channel, aio.secure_channel = server, insecure_channel, secure_channel
    return (aio, originals, (server, insecure_channel, secure_channel))


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
    for module, originals, ours in _patched or ():
        for (name, original), mine in zip(originals.items(), ours):
            if getattr(module, name) is mine:
                setattr(module, name, original)
    _patched = None
