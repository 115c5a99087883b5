"""Settings from the standard OpenTelemetry variables (OTEL_*), as the Node SDK reads them."""

import os
import sys
import socket
import uuid
from urllib.parse import unquote


def _split_pairs(raw):
    out = {}
    for pair in (raw or "").split(","):
        if "=" not in pair:
            continue
        key, value = pair.split("=", 1)
        key = unquote(key.strip())
        if key:
            out[key] = unquote(value.strip())
    return out


class Config:
    """Where records go and what describes this process."""

    def __init__(self, service_name=None, endpoint=None, env=None):
        env = os.environ if env is None else env
        resource = _split_pairs(env.get("OTEL_RESOURCE_ATTRIBUTES"))
        self.service_name = (
            service_name or env.get("OTEL_SERVICE_NAME") or resource.get("service.name") or "unknown_service:python"
        )
        self.instance_id = env.get("DISTLOG_SERVICE_INSTANCE_ID") or str(uuid.uuid4())
        resource.update(
            {
                "service.name": self.service_name,
                "service.instance.id": self.instance_id,
                "host.name": socket.gethostname(),
                "process.pid": str(os.getpid()),
                "process.runtime.name": "python",
                "telemetry.sdk.name": "distlog",
                "telemetry.sdk.language": "python",
            }
        )
        self.resource = resource
        self._instance_from_env = bool(env.get("DISTLOG_SERVICE_INSTANCE_ID"))
        # OTLP/HTTP: the signal's own variable is the full URL of /v1/logs; the others are base URLs.
        logs = env.get("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT")
        if endpoint:
            base = endpoint
        elif logs:
            base = logs
        else:
            base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or "http://localhost:4318"
        base = base.rstrip("/")
        if "://" not in base:
            # `collector:4318`, a common slip: urllib would only say "unknown url type".
            sys.stderr.write(
                "distlog: the OTLP endpoint %r has no scheme: OTLP/HTTP needs a URL such as http://%s; using that\n"
                % (base, base)
            )
            base = "http://" + base
        protocol = (env.get("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "").strip()
        if protocol == "grpc":
            # Set for every service of a deployment, Node's among them: Python's records go
            # as OTLP/HTTP JSON all the same, to an HTTP port.
            sys.stderr.write(
                "distlog: OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not followed: the Python SDK sends OTLP/HTTP "
                "(JSON), to %s/v1/logs — on a Distlog collector that is its OTLP/HTTP port (4318), "
                "not the gRPC one (4317)\n" % base
            )
        if base.endswith("/v1/logs"):
            base = base[: -len("/v1/logs")]
        self.base_url = base
        self.logs_url = base + "/v1/logs"
        self.headers = _split_pairs(env.get("OTEL_EXPORTER_OTLP_HEADERS"))
        self.headers.update(_split_pairs(env.get("OTEL_EXPORTER_OTLP_LOGS_HEADERS")))
        self.ca_file = env.get("OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE") or env.get("OTEL_EXPORTER_OTLP_CERTIFICATE")
        self.control_url = (env.get("DISTLOG_CONTROL_ENDPOINT") or self.base_url).rstrip("/")
        self.level_control = env.get("DISTLOG_LEVELS", "on") != "off"
        self.max_queue = int(env.get("OTEL_BLRP_MAX_QUEUE_SIZE") or 2048)
        self.max_batch = int(env.get("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE") or 512)
        self.max_request_bytes = _max_request_bytes(env.get("DISTLOG_EXPORT_MAX_BYTES"))
        self.schedule_delay = int(env.get("OTEL_BLRP_SCHEDULE_DELAY") or 1000) / 1000.0
        self.timeout = int(env.get("OTEL_EXPORTER_OTLP_TIMEOUT") or 10000) / 1000.0

    def after_fork(self):
        """A forked child is a process of its own: its pid, and its own instance id (unless
        DISTLOG_SERVICE_INSTANCE_ID names one), so that its loggers and records are its own."""
        if not self._instance_from_env:
            self.instance_id = str(uuid.uuid4())
            self.resource["service.instance.id"] = self.instance_id
        self.resource["process.pid"] = str(os.getpid())


def _max_request_bytes(raw):
    """DISTLOG_EXPORT_MAX_BYTES (at least 64 KiB), else 4 MiB: requests larger than most OTLP
    endpoints take are split (a batch of large records, e.g. stack traces)."""
    default = 4 * 1024 * 1024
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 64 * 1024:
        sys.stderr.write(
            "distlog: DISTLOG_EXPORT_MAX_BYTES=%s is not a size of at least 65536 bytes; using %d\n" % (raw, default)
        )
        return default
    return value
