"""The export queue: bounded (drops oldest, counts), batched, sent by one background thread
as OTLP/HTTP JSON, retried with backoff while the collector is away."""

import collections
import json
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request

RETRYABLE = {429, 502, 503, 504}


class Exporter:
    def __init__(self, config):
        self.config = config
        self._queue = collections.deque()
        self._inflight = 0  # records taken for a request that has not succeeded yet
        self._lock = threading.Condition()
        self._closed = False
        self._flush_requests = 0
        self._flushed = 0
        self.dropped = 0
        self.exported = 0
        self.failed = 0
        self._said_unreachable = False
        self._ssl = ssl.create_default_context(cafile=config.ca_file) if config.ca_file else None
        self._thread = threading.Thread(target=self._run, name="distlog-export", daemon=True)
        self._thread.start()

    def enqueue(self, scope_name, record):
        with self._lock:
            if len(self._queue) >= self.config.max_queue:
                self._queue.popleft()
                self.dropped += 1
            self._queue.append((scope_name, record))
            if len(self._queue) >= self.config.max_batch:
                self._lock.notify()

    def stats(self):
        with self._lock:
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
            self._lock.notify()
            deadline = time.monotonic() + timeout
            while self._flushed < wanted and self._thread.is_alive():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
        return True

    def shutdown(self, timeout=5.0):
        self.flush(timeout)
        with self._lock:
            self._closed = True
            self._lock.notify()
        self._thread.join(timeout)

    def _run(self):
        while True:
            with self._lock:
                if not self._queue and not self._closed and self._flushed >= self._flush_requests:
                    self._lock.wait(self.config.schedule_delay)
                if self._closed and not self._queue:
                    self._flushed = self._flush_requests
                    self._lock.notify_all()
                    return
                flushing = self._flush_requests
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), self.config.max_batch))]
                self._inflight = len(batch)
            if batch:
                self._send(batch)
            with self._lock:
                self._inflight = 0
                if not self._queue:
                    self._flushed = flushing
                    self._lock.notify_all()

    def _send(self, batch):
        body = json.dumps(self._request(batch)).encode("utf-8")
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
                    response.read()
                with self._lock:
                    self.exported += len(batch)
                    self._inflight = 0
                if self._said_unreachable:
                    self._said_unreachable = False
                    sys.stderr.write("distlog: the collector at %s takes records again\n" % self.config.logs_url)
                return
            except urllib.error.HTTPError as err:
                if err.code not in RETRYABLE:
                    self.failed += len(batch)
                    sys.stderr.write(
                        "distlog: the collector refused %d records (HTTP %d): %s\n"
                        % (len(batch), err.code, err.read()[:300].decode("utf-8", "replace"))
                    )
                    return
                retry_after = err.headers.get("Retry-After")
                wait = float(retry_after) if retry_after and retry_after.isdigit() else delay
            except (urllib.error.URLError, OSError) as err:
                if not self._said_unreachable:
                    self._said_unreachable = True
                    sys.stderr.write(
                        "distlog: cannot reach the collector at %s (%s); records wait in the queue (at most %d)\n"
                        % (self.config.logs_url, getattr(err, "reason", err), self.config.max_queue)
                    )
                wait = delay
            if self._closed and attempt >= 1:
                break
            time.sleep(min(wait, 5.0))
            delay = min(delay * 2, 5.0)
        # Not delivered: back to the front of the queue (bounded), unless the process is ending.
        with self._lock:
            self._inflight = 0
            if self._closed:
                self.failed += len(batch)
                return
            for item in reversed(batch):
                if len(self._queue) >= self.config.max_queue:
                    self.dropped += 1
                    continue
                self._queue.appendleft(item)

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
                        {"scope": {"name": name}, "logRecords": records} for name, records in scopes.items()
                    ],
                }
            ]
        }
