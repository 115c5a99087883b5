"""Test helpers: a real collector and ClickHouse, started by the Node test that runs pytest
(tests/e2e/python.test.ts) and named by DISTLOG_TEST_OTLP / DISTLOG_TEST_CLICKHOUSE_URL /
DISTLOG_TEST_DATABASE. Apps run as subprocesses, as a user's would."""

import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.dirname(HERE)


def _need(name):
    value = os.environ.get(name)
    if not value:
        pytest.fail("%s is not set: run these tests through `npm test` (tests/e2e/python.test.ts)" % name)
    return value


@pytest.fixture
def collector():
    return _need("DISTLOG_TEST_OTLP")


def clickhouse(sql):
    url = _need("DISTLOG_TEST_CLICKHOUSE_URL")
    query = sql.replace("{db}", _need("DISTLOG_TEST_DATABASE")) + " FORMAT JSONEachRow"
    with urllib.request.urlopen(url + "/?" + urllib.parse.urlencode({"query": query}), timeout=30) as r:
        return [json.loads(line) for line in r.read().decode("utf-8").splitlines() if line]


def eventually(fn, timeout=10.0):
    deadline = time.time() + timeout
    last = fn()
    while not last and time.time() < deadline:
        time.sleep(0.1)
        last = fn()
    return last


def rows(service, where="1"):
    return clickhouse(
        "SELECT ScopeName, SeverityNumber, SeverityText, EventName, Body, TraceId, SpanId, "
        "arrayMap((k, v) -> (k, v), LogAttributes.key, LogAttributes.value) AS attrs "
        "FROM {db}.all_logs WHERE ServiceName = '%s' AND %s ORDER BY TimeUnixNano" % (service, where)
    )


def attrs(row):
    return dict(row["attrs"])


def run_app(code, service, env=None, timeout=60):
    """Runs `code` in a fresh interpreter with the package importable; returns its stdout's JSON lines."""
    full_env = dict(os.environ)
    full_env.update({"PYTHONPATH": PACKAGE, "OTEL_SERVICE_NAME": service, "OTEL_BLRP_SCHEDULE_DELAY": "200"})
    full_env.update(env or {})
    done = subprocess.run(
        [sys.executable, "-c", code], env=full_env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(l) for l in done.stdout.splitlines() if l.startswith("{")], done.stderr


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])
