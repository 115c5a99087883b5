"""Run-time levels: the collector's level rules (the SSE stream beside OTLP/HTTP) set the
levels of the matching `logging` loggers — and so of their descendants, which inherit —
with expiry; the effective levels are reported back for `distlog level list`."""

from datetime import datetime
import json
import logging
import re
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

TRACE = 5
LEVELS = {
    "trace": TRACE,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "fatal": logging.CRITICAL,
    "silent": logging.CRITICAL + 10,
}
NAMES = {v: k for k, v in LEVELS.items()}


def _pattern(p):
    glob = lambda s: re.escape(s).replace(r"\*", ".*")  # noqa: E731
    if p.endswith(".*") and len(p) > 2:
        return re.compile("^%s(\\..*)?$" % glob(p[:-2]))
    return re.compile("^%s$" % glob(p))


def _specificity(rule):
    service = 0 if rule["service"] == "*" else 1000000
    logger = rule["logger"]
    logger_score = 0 if logger == "*" else (1 + len(logger.replace("*", "")) if "*" in logger else 100000)
    return service + logger_score


def effective_rule(rules, service, logger, now=None):
    """The rule for one logger: the most specific match (the same as the Node SDK's)."""
    now = time.time() if now is None else now
    best = None
    for rule in rules:
        if rule["service"] not in ("*", service):
            continue
        if not _pattern(rule["logger"]).match(logger):
            continue
        expires = rule.get("expiresAt")
        if expires and _parse_iso(expires) <= now:
            continue
        if best is None or _specificity(rule) >= _specificity(best):
            best = rule
    return best


def _parse_iso(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _name_of(level):
    return NAMES.get(level) or logging.getLevelName(level).lower()


class LevelControl:
    def __init__(self, config):
        self.config = config
        self.rules = []
        self.configured = {}  # logger name → the level its code gave it
        self.connected = False
        self._stop = threading.Event()
        self._said = False
        self._lock = threading.Lock()
        self._timer = None
        self._ssl = ssl.create_default_context(cafile=config.ca_file) if config.ca_file else None
        logging.addLevelName(TRACE, "TRACE")
        self._thread = threading.Thread(target=self._run, name="distlog-levels", daemon=True)
        self._thread.start()

    def after_fork(self):
        """In a forked child: the parent's subscription thread does not exist here; the child
        subscribes on its own (as its own instance) and keeps the levels in force."""
        self._lock = threading.Lock()
        self._timer = None
        self.connected = False
        self._said = False
        if not self._stop.is_set():
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._run, name="distlog-levels", daemon=True)
            self._thread.start()

    def stop(self):
        self._stop.set()
        if self._timer:
            self._timer.cancel()

    def _loggers(self):
        names = [n for n, l in logging.root.manager.loggerDict.items() if isinstance(l, logging.Logger)]
        return ["root"] + sorted(names)

    def _logger(self, name):
        return logging.getLogger() if name == "root" else logging.getLogger(name)

    def apply(self):
        """Sets every known logger that a rule matches; a logger no rule matches any more goes back."""
        with self._lock:
            now = time.time()
            for name in self._loggers():
                logger = self._logger(name)
                rule = effective_rule(self.rules, self.config.service_name, name, now)
                if rule is not None:
                    self.configured.setdefault(name, logger.level)
                    level = LEVELS.get(rule["level"])
                    if level is not None and logger.level != level:
                        logger.setLevel(level)
                elif name in self.configured:
                    logger.setLevel(self.configured.pop(name))
            self._schedule_expiry(now)
        self._report()

    def effective(self):
        out = {}
        for name in self._loggers():
            logger = self._logger(name)
            rule = effective_rule(self.rules, self.config.service_name, name)
            entry = {
                "level": _name_of(logger.getEffectiveLevel()),
                "configured": _name_of(self.configured.get(name, logger.level) or logger.getEffectiveLevel()),
            }
            if rule:
                entry["rule"] = rule["id"]
            out[name] = entry
        return out

    def _schedule_expiry(self, now):
        if self._timer:
            self._timer.cancel()
        times = [_parse_iso(r["expiresAt"]) for r in self.rules if r.get("expiresAt")]
        future = [t for t in times if t > now]
        if future:
            self._timer = threading.Timer(min(future) - now + 0.01, self.apply)
            self._timer.daemon = True
            self._timer.start()

    def _request(self, url, data=None, accept=None):
        headers = dict(self.config.headers)
        if accept:
            headers["Accept"] = accept
        if data is not None:
            headers["Content-Type"] = "application/json"
        return urllib.request.Request(url, data=data, headers=headers, method="POST" if data is not None else "GET")

    def _report(self):
        if not self.connected:
            return
        body = json.dumps(
            {"service": self.config.service_name, "instance": self.config.instance_id, "loggers": self.effective()}
        ).encode("utf-8")
        try:
            with urllib.request.urlopen(
                self._request(self.config.control_url + "/v1/levels/report", body), timeout=5, context=self._ssl
            ) as r:
                r.read()
        except Exception:
            pass  # best effort: the next change reports again

    def _say(self, line):
        if not self._said:
            self._said = True
            sys.stderr.write(line + "\n")

    def _run(self):
        delay = 0.5
        query = urllib.parse.urlencode({"service": self.config.service_name, "instance": self.config.instance_id})
        url = "%s/v1/levels/stream?%s" % (self.config.control_url, query)
        while not self._stop.is_set():
            try:
                with urllib.request.urlopen(
                    self._request(url, accept="text/event-stream"), timeout=60, context=self._ssl
                ) as stream:
                    self.connected = True
                    if self._said:
                        sys.stderr.write("distlog: level control connected to %s\n" % self.config.control_url)
                        self._said = False
                    delay = 0.5
                    self._follow(stream)
            except urllib.error.HTTPError as err:
                self._say(
                    "distlog: the collector at %s refused level control (HTTP %d); run-time levels are off until it accepts"
                    % (self.config.control_url, err.code)
                )
            except Exception as err:  # unreachable, reset, timed out: retried
                self._say(
                    "distlog: level control cannot subscribe at %s (%s); local levels in force, retrying with backoff"
                    % (self.config.control_url, getattr(err, "reason", err))
                )
            was_connected = self.connected
            self.connected = False
            if was_connected or self.rules:
                self.rules = []
                self.apply()
            self._stop.wait(delay)
            delay = min(delay * 2, 10.0)

    def _follow(self, stream):
        event = []
        for raw in stream:
            if self._stop.is_set():
                return
            line = raw.decode("utf-8").rstrip("\r\n")
            if line:
                event.append(line)
                continue
            if event and event[0] == "event: rules":
                data = next((l[6:] for l in event if l.startswith("data: ")), None)
                if data:
                    try:
                        self.rules = json.loads(data)["rules"]
                    except (ValueError, KeyError):
                        continue
                    self.apply()
            event = []
