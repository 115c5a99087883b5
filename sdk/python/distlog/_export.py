"""The export queue: bounded (drops oldest, counts), batched, sent by one background thread
as OTLP/HTTP JSON, retried with backoff while the collector is away."""

import collections
import encodings.idna  # noqa: F401 — see below
import http.client
import json
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request

from ._handler import to_otlp

RETRYABLE = {429, 502, 503, 504}

# `encodings.idna` is imported above, in the thread that imports Distlog: the first request
# would import it from the export thread (socket.getaddrinfo encodes the host name with it),
# and a fork while that import runs (gunicorn, Celery, multiprocessing) leaves the child a
# half-imported codec — "LookupError: unknown encoding: idna" on each of its requests.


class Exporter:
    def __init__(self, config):
        self.config = config
        # Appends from any thread without a lock (deque operations are atomic); the bound
        # drops the oldest record, counted below.
        self._queue = collections.deque(maxlen=config.max_queue)
        self._wake = threading.Event()
        self._lock = threading.Condition()  # flush and shutdown only
        self._closed = False
        self._flush_requests = 0
        self._flushed = 0
        self._inflight = 0  # records taken for a request that has not succeeded yet
        self.dropped = 0
        self.exported = 0
        self.failed = 0
        self._said_unreachable = False
        # Called by the export thread each time it wakes (the root handler's check: _attach).
        self.on_wake = None
        # Requests of at most this many bytes: DISTLOG_EXPORT_MAX_BYTES, else 4 MiB (what most
        # OTLP endpoints take); lowered when the collector refuses a request as too large.
        self._max_bytes = config.max_request_bytes
        self._said_limit = False
        self._said_oversized = False
        # The last answer's partial_success (records refused in a request that was taken),
        # and the reasons said on stderr already (each once).
        self._rejected = None
        self._said_rejections = set()
        self._ssl = ssl.create_default_context(cafile=config.ca_file) if config.ca_file else None
        self._thread = threading.Thread(target=self._run, name="distlog-export", daemon=True)
        self._thread.start()

    def after_fork(self):
        """In a forked child (gunicorn's workers with --preload, Celery's prefork pool,
        multiprocessing): the parent's export thread does not exist here, so nothing the child
        logged was ever sent. A thread of its own, and an empty queue — what was queued
        before the fork is the parent's to send."""
        self._queue = collections.deque(maxlen=self.config.max_queue)
        self._wake = threading.Event()
        self._lock = threading.Condition()
        self._flush_requests = 0
        self._flushed = 0
        self._inflight = 0
        self.dropped = self.exported = self.failed = 0
        self._said_unreachable = False
        if not self._closed:
            self._thread = threading.Thread(target=self._run, name="distlog-export", daemon=True)
            self._thread.start()

    def enqueue(self, scope_name, item):
        queue = self._queue
        if len(queue) == queue.maxlen:
            self.dropped += 1
        queue.append((scope_name, item))
        if len(queue) == self.config.max_batch:
            self._wake.set()

    def stats(self):
        return {
            "queued": len(self._queue) + self._inflight,
            "exported": self.exported,
            "dropped": self.dropped,
            "failed": self.failed,
        }

    def flush(self, timeout=5.0):
        """Sends what is queued; returns False if that took longer than `timeout`."""
        with self._lock:
            self._flush_requests += 1
            wanted = self._flush_requests
            self._wake.set()
            deadline = time.monotonic() + timeout
            while self._flushed < wanted and self._thread.is_alive():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
        return True

    def shutdown(self, timeout=5.0):
        failed_before = self.failed
        self.flush(timeout)
        self._closed = True
        self._wake.set()
        self._thread.join(timeout)
        # What the process takes with it: said, as the queue's "records wait" promised otherwise.
        lost = len(self._queue) + self._inflight + (self.failed - failed_before)
        if lost > 0:
            sys.stderr.write(
                "distlog: %d log records not sent at exit: the collector at %s did not take them "
                "(is OTEL_EXPORTER_OTLP_ENDPOINT right, and the collector up?)\n" % (lost, self.config.logs_url)
            )

    def _run(self):
        while True:
            if not self._queue and not self._closed:
                self._wake.wait(self.config.schedule_delay)
            self._wake.clear()
            on_wake = self.on_wake
            if on_wake is not None:
                try:
                    on_wake()
                except Exception:
                    pass
            with self._lock:
                flushing = self._flush_requests
            if self._closed and not self._queue:
                with self._lock:
                    self._flushed = flushing
                    self._lock.notify_all()
                return
            batch = []
            while self._queue and len(batch) < self.config.max_batch:
                batch.append(self._queue.popleft())
            self._inflight = len(batch)
            if batch:
                try:
                    self._send(batch)
                except Exception as err:  # nothing may end this thread: records after it would wait forever
                    self._inflight = 0
                    self.failed += len(batch)
                    sys.stderr.write("distlog: %d log records could not be sent: %r\n" % (len(batch), err))
            self._inflight = 0
            if not self._queue:
                with self._lock:
                    self._flushed = flushing
                    self._lock.notify_all()

    def _send(self, batch):
        undelivered = self._deliver(batch)
        # Not delivered: back to the front of the queue as far as the bound allows (the
        # oldest of the batch are the ones dropped), unless the process is ending.
        self._inflight = 0
        if not undelivered:
            return
        if self._closed:
            self.failed += len(undelivered)
            return
        room = self.config.max_queue - len(self._queue)
        keep = undelivered[len(undelivered) - max(0, room) :] if room < len(undelivered) else undelivered
        self.dropped += len(undelivered) - len(keep)
        self._queue.extendleft(reversed(keep))

    def _deliver(self, batch):
        """Sends `batch` in requests the collector takes; returns the records that could not
        be sent (the collector unreachable), in order."""
        body = json.dumps(self._request(batch)).encode("utf-8")
        if len(body) > self._max_bytes and len(batch) > 1:
            # Over the limit (a batch of large records): in parts of about equal count.
            parts = max(2, -(-len(body) // int(self._max_bytes * 0.9)))
            return self._deliver_parts(batch, parts)
        outcome = self._post(body, len(batch))
        if outcome == "sent":
            rejected, reason = self._rejected or (0, "")
            self._rejected = None
            rejected = min(rejected, len(batch))
            self.exported += len(batch) - rejected
            if rejected:
                self._refused_in_answer(rejected, len(batch), reason)
            return []
        if outcome == "too large":
            if len(batch) > 1:
                if len(body) <= self._max_bytes:
                    self._lower_limit(len(body))
                return self._deliver_parts(batch, 2)
            self.failed += 1
            if not self._said_oversized:
                self._said_oversized = True
                sys.stderr.write(
                    "distlog: a log record of %d bytes is larger than the collector at %s takes (HTTP 413); "
                    "it was dropped\n" % (len(body), self.config.logs_url)
                )
            return []
        if outcome == "refused":
            self.failed += len(batch)
            return []
        return batch

    def _deliver_parts(self, batch, parts):
        per = max(1, -(-len(batch) // parts))
        for start in range(0, len(batch), per):
            left = self._deliver(batch[start : start + per])
            if left:
                # The collector is away: this part and the ones after it wait, in order.
                return left + batch[start + per :]
        return []

    def _refused_in_answer(self, rejected, count, reason):
        """The collector took the request but refused some of its records (OTLP's
        partial_success: a `reject` rule, records it could not read): counted as failed,
        said once for each reason."""
        self.failed += rejected
        reason = reason or "no reason given"
        if reason in self._said_rejections or len(self._said_rejections) >= 20:
            return
        self._said_rejections.add(reason)
        sys.stderr.write(
            "distlog: the collector at %s refused %d of %d log records: %s; they are not stored "
            "(counted: stats()['failed']; said once for this reason)\n" % (self.config.logs_url, rejected, count, reason)
        )

    def _lower_limit(self, size):
        self._max_bytes = max(64 * 1024, size // 2)
        if not self._said_limit:
            self._said_limit = True
            sys.stderr.write(
                "distlog: the collector at %s refused a request of %d bytes as too large (HTTP 413); "
                "sending requests of at most %d bytes from now on (DISTLOG_EXPORT_MAX_BYTES sets the limit)\n"
                % (self.config.logs_url, size, self._max_bytes)
            )

    def _post(self, body, count):
        """One request, retried with backoff: "sent", "too large" (413), "refused" (another
        status that retrying does not change; said) or "unreachable" (after the retries)."""
        delay = 0.5
        for attempt in range(6):
            try:
                request = urllib.request.Request(
                    self.config.logs_url,
                    data=body,
                    method="POST",
                    headers={"Content-Type": "application/json", **self.config.headers},
                )
                with urllib.request.urlopen(request, timeout=self.config.timeout, context=self._ssl) as response:
                    self._rejected = _partial_success(response.read())
                if self._said_unreachable:
                    self._said_unreachable = False
                    sys.stderr.write("distlog: the collector at %s takes records again\n" % self.config.logs_url)
                return "sent"
            except urllib.error.HTTPError as err:
                if err.code == 413:
                    return "too large"
                if err.code not in RETRYABLE:
                    sys.stderr.write(
                        "distlog: the collector refused %d records (HTTP %d): %s\n"
                        % (count, err.code, err.read()[:300].decode("utf-8", "replace"))
                    )
                    return "refused"
                retry_after = err.headers.get("Retry-After")
                wait = float(retry_after) if retry_after and retry_after.isdigit() else delay
            except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
                # HTTPException: an answer that is not HTTP/1.1 (BadStatusLine: the collector's
                # OTLP/gRPC port); it used to end this thread, and every record after it waited forever.
                if not self._said_unreachable:
                    self._said_unreachable = True
                    sys.stderr.write(
                        "distlog: cannot reach the collector at %s (%s)%s; records wait in the queue (at most %d)\n"
                        % (self.config.logs_url, _reason(err), _wrong_port_hint(err), self.config.max_queue)
                    )
                wait = delay
            if self._closed and attempt >= 1:
                break
            time.sleep(min(wait, 5.0))
            delay = min(delay * 2, 5.0)
        return "unreachable"

    def _request(self, batch):
        scopes = collections.OrderedDict()
        for scope_name, record in batch:
            scopes.setdefault(scope_name, []).append(record)
        resource = [{"key": k, "value": {"stringValue": v}} for k, v in self.config.resource.items()]
        return {
            "resourceLogs": [
                {
                    "resource": {"attributes": resource},
                    "scopeLogs": [
                        {"scope": {"name": name}, "logRecords": [to_otlp(r) for r in records]}
                        for name, records in scopes.items()
                    ],
                }
            ]
        }


def _partial_success(answer):
    """(rejected records, message) from an OTLP/JSON ExportLogsServiceResponse, or None."""
    try:
        partial = json.loads(answer.decode("utf-8") or "{}").get("partialSuccess") or {}
        rejected = int(partial.get("rejectedLogRecords") or 0)
    except (ValueError, AttributeError, TypeError):
        return None
    return (rejected, str(partial.get("errorMessage") or "")) if rejected > 0 else None


def _reason(err):
    reason = getattr(err, "reason", None) or err
    text = str(reason).strip()
    return text if text and not text.startswith("\x00") else type(reason).__name__


def _wrong_port_hint(err):
    """An answer that is not HTTP/1.1 at all: the port speaks gRPC (HTTP/2)."""
    if isinstance(err, http.client.BadStatusLine):
        return (
            " — that port does not answer HTTP/1.1: is it the collector's OTLP/gRPC port (4317)?"
            " The Python SDK sends OTLP/HTTP: use its HTTP port (4318)"
        )
    return ""

