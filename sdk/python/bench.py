"""Cost per logger.info() in the calling thread: Distlog's handler against a plain
logging.FileHandler, in one run (medians of BENCH_ROUNDS rounds of BENCH_CALLS calls).
The exporter's thread is not counted in the caller's time; the collector is not needed
(records wait in the queue, which holds every call: nothing is dropped or sent)."""

import logging
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

CALLS = int(os.environ.get("BENCH_CALLS", "50000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))


def measure(logger):
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for i in range(CALLS):
            logger.info("request handled: GET /orders/%d -> 200", i, extra={"route": "/orders/:id", "status": 200})
        times.append((time.perf_counter() - start) / CALLS * 1e9)
    return statistics.median(times)


def main():
    plain = logging.getLogger("bench.file")
    plain.propagate = False
    plain.setLevel(logging.INFO)
    path = os.path.join(tempfile.mkdtemp(), "bench.log")
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    plain.addHandler(handler)
    file_ns = measure(plain)

    os.environ.update({"OTEL_BLRP_MAX_QUEUE_SIZE": str(CALLS * ROUNDS + 1), "DISTLOG_LEVELS": "off"})
    os.environ.setdefault("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    import distlog

    distlog_handler = distlog.init(service_name="bench")
    dl = logging.getLogger("bench.distlog")
    dl.propagate = False
    dl.setLevel(logging.INFO)
    dl.addHandler(distlog_handler)
    with distlog.scope("bench"):
        distlog_ns = measure(dl)
    print("%d calls x %d rounds, median ns per logger.info() in the calling thread" % (CALLS, ROUNDS))
    print("| handler | ns/call | x FileHandler |")
    print("|---|---|---|")
    print("| logging.FileHandler | %.0f | 1.00 |" % file_ns)
    print("| distlog (in a scope: trace context + attributes) | %.0f | %.2f |" % (distlog_ns, distlog_ns / file_ns))
    print("goal <= 1.50x: %s" % ("met" if distlog_ns / file_ns <= 1.5 else "NOT met"))
    sys.stdout.flush()
    os._exit(0)  # the queue holds every record for a collector that is not there; nothing to flush


if __name__ == "__main__":
    main()
