#!/usr/bin/env python3
"""Pieces of the monitoring drill (scripts/check-monitoring.sh).

    monitoring.py rules CRD OVERLAY OUT            PrometheusRule -> rules file + test overlay
    monitoring.py prom-config OUT --target H:P --alertmanager H:P --rules FILE
    monitoring.py am-config OUT --webhook URL
    monitoring.py webhook PORT FILE                Alertmanager webhook receiver (JSON lines)
    monitoring.py load BASE DIR --stop FILE        mixed API load + a kubelet-like readiness prober
    monitoring.py drill ...                        the phases, see `drill --help`

Python 3 standard library plus PyYAML (Debian python3-yaml). Every wait has
a deadline; every check prints what it saw.
"""

import argparse
import http.client
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MONITORING = os.path.join(ROOT, "k8s", "components", "monitoring")

# Metrics that come from kube-state-metrics, which only exists in a
# Kubernetes cluster: the queries that use them cannot have data in the
# drill. They are named here, and reported as excluded; any other metric
# without data fails the check.
KUBE_STATE_METRICS = {
    "kube_deployment_status_replicas_available",
    "kube_pod_container_status_restarts_total",
}


def say(msg):
    print(f"[monitoring] {msg}", flush=True)


def parse_duration(text):
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    total = 0.0
    for num, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)", str(text)):
        total += float(num) * units[unit]
    return total


# ---------------------------------------------------------------------------
# rules: PrometheusRule CRD -> plain rules file, plus the drill's overlay
# ---------------------------------------------------------------------------
def cmd_rules(args):
    with open(args.crd, encoding="utf-8") as fh:
        crd = yaml.safe_load(fh)
    with open(args.overlay, encoding="utf-8") as fh:
        overlay = yaml.safe_load(fh) or {}
    groups = crd["spec"]["groups"]
    shipped = json.dumps(groups, sort_keys=True)
    shipped_exprs = [r["expr"] for g in groups for r in g["rules"]]
    alerts = {r["alert"]: r for g in groups for r in g["rules"] if "alert" in r}
    for name, dur in (overlay.get("for") or {}).items():
        if name not in alerts:
            sys.exit(f"overlay names alert {name}, which the PrometheusRule does not define")
        alerts[name]["for"] = dur
    if overlay.get("interval"):
        for g in groups:
            g["interval"] = overlay["interval"]
    if [r["expr"] for g in groups for r in g["rules"]] != shipped_exprs:
        sys.exit("the overlay changed an expression")
    with open(args.out, "w", encoding="utf-8") as fh:
        yaml.safe_dump({"groups": groups}, fh, sort_keys=False)
    changed = [f"{n} for {alerts[n]['for']}" for n in (overlay.get("for") or {})]
    say(f"rules: {len(shipped_exprs)} rules from {os.path.relpath(args.crd, ROOT)}; "
        f"overlay: interval {overlay.get('interval')}, {', '.join(changed)}"
        f" (shipped {len(shipped)} bytes of spec, expressions unchanged)")


# ---------------------------------------------------------------------------
# Prometheus / Alertmanager configuration
# ---------------------------------------------------------------------------
def load_yaml(*path):
    with open(os.path.join(ROOT, *path), encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def target_labels():
    """The labels the Prometheus Operator gives a target of the ServiceMonitor:
    job = the Service's `jobLabel` label (else its name), namespace, service,
    pod, container, endpoint. The Service is the base's one whose labels the
    ServiceMonitor selects (the admin Service); the labels kustomize adds
    come from k8s/base/kustomization.yaml."""
    sm = load_yaml("k8s", "components", "monitoring", "servicemonitor.yaml")
    base = load_yaml("k8s", "base", "kustomization.yaml")
    dep = load_yaml("k8s", "base", "deployment.yaml")
    prod = load_yaml("k8s", "overlays", "production", "kustomization.yaml")
    added = {k: v for entry in base.get("labels", []) for k, v in entry.get("pairs", {}).items()}
    want = sm["spec"]["selector"]["matchLabels"]
    services = []
    for name in base["resources"]:
        doc = load_yaml("k8s", "base", name)
        if doc.get("kind") == "Service":
            doc["metadata"]["labels"] = {**added, **doc["metadata"].get("labels", {})}
            if want.items() <= doc["metadata"]["labels"].items():
                services.append(doc)
    if len(services) != 1:
        sys.exit(f"the ServiceMonitor selects {len(services)} Services of k8s/base, not one")
    svc = services[0]
    endpoint = sm["spec"]["endpoints"][0]
    ports = {p["name"]: p for p in svc["spec"]["ports"]}
    if endpoint["port"] not in ports:
        sys.exit(f"ServiceMonitor port {endpoint['port']} is not a port of Service {svc['metadata']['name']}")
    container = dep["spec"]["template"]["spec"]["containers"][0]
    target_port = ports[endpoint["port"]]["targetPort"]
    if target_port not in {p["name"] for p in container["ports"]}:
        sys.exit(f"Service {svc['metadata']['name']} targets port {target_port}, which the container does not name")
    job = svc["metadata"]["labels"].get(sm["spec"].get("jobLabel", ""), svc["metadata"]["name"])
    labels = {
        "job": job,
        "namespace": prod["namespace"],
        "service": svc["metadata"]["name"],
        "pod": f"{job}-drill-0",
        "container": container["name"],
        "endpoint": endpoint["port"],
    }
    return endpoint, labels


def cmd_prom_config(args):
    endpoint, labels = target_labels()
    cfg = {
        "global": {"scrape_interval": args.interval, "evaluation_interval": args.interval},
        "rule_files": [args.rules],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [args.alertmanager]}]}]},
        "scrape_configs": [{
            # The job name the Prometheus Operator generates for the endpoint.
            "job_name": f"serviceMonitor/{labels['namespace']}/splitlyr/0",
            "scrape_interval": args.interval,
            "scrape_timeout": args.interval,
            "metrics_path": endpoint.get("path", "/metrics"),
            "scheme": endpoint.get("scheme", "http"),
            "honor_labels": bool(endpoint.get("honorLabels", False)),
            "static_configs": [{"targets": [args.target], "labels": {k: v for k, v in labels.items() if k != "job"}}],
            # The operator sets job from the Service's jobLabel label.
            "relabel_configs": [{"target_label": "job", "replacement": labels["job"]}],
        }],
    }
    with open(args.out, "w", encoding="utf-8") as fh:
        yaml.safe_dump(cfg, fh, sort_keys=False)
    say(f"prometheus: scrape {args.target}{cfg['scrape_configs'][0]['metrics_path']} every {args.interval} "
        f"as {', '.join(f'{k}={v}' for k, v in labels.items())}")


def cmd_am_config(args):
    cfg = {
        "route": {
            "receiver": "drill-webhook",
            "group_by": ["alertname", "namespace", "job"],
            "group_wait": "0s",
            "group_interval": "1s",
            "repeat_interval": "1h",
        },
        "receivers": [{"name": "drill-webhook", "webhook_configs": [{"url": args.webhook, "send_resolved": True}]}],
    }
    with open(args.out, "w", encoding="utf-8") as fh:
        yaml.safe_dump(cfg, fh, sort_keys=False)


# ---------------------------------------------------------------------------
# webhook receiver
# ---------------------------------------------------------------------------
def cmd_webhook(args):
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received = time.time()
            try:
                payload = json.loads(body)
            except ValueError:
                payload = {"unparsable": body.decode(errors="replace")}
            with lock, open(args.file, "a", encoding="utf-8") as fh:
                fh.write(json.dumps({"received": received, "payload": payload}) + "\n")
            self.send_response(200)
            self.end_headers()

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.serve_forever()


def webhook_events(path):
    """(received, alertname, status, labels) for every alert of every notification."""
    out = []
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line)
                for a in rec["payload"].get("alerts", []):
                    out.append((rec["received"], a["labels"].get("alertname"), a.get("status"), a))
    except FileNotFoundError:
        pass
    return out


# ---------------------------------------------------------------------------
# load: a mixed API load and a readiness prober, until the stop file appears
# ---------------------------------------------------------------------------
class Client:
    def __init__(self, base, timeout=30):
        u = urllib.parse.urlparse(base)
        self.host, self.port, self.timeout = u.hostname, u.port, timeout
        self.conn = None

    def request(self, method, path, body=None, token=None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        for attempt in (0, 1):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                self.conn.request(method, path, body=data, headers=headers)
                res = self.conn.getresponse()
                raw = res.read()
                if res.getheader("Connection", "").lower() == "close":
                    self.close()
                try:
                    return res.status, json.loads(raw) if raw else None
                except ValueError:
                    return res.status, None
            except (OSError, http.client.HTTPException):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def find_key(obj, key):
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        for v in obj.values():
            found = find_key(v, key)
            if found is not None:
                return found
    elif isinstance(obj, list):
        for v in obj:
            found = find_key(v, key)
            if found is not None:
                return found
    return None


def cmd_load(args):
    stop_at = time.time() + args.max_seconds
    stop = threading.Event()
    counts, lock = {}, threading.Lock()

    def count(key):
        with lock:
            counts[key] = counts.get(key, 0) + 1

    def stopped():
        return stop.is_set() or os.path.exists(args.stop) or time.time() > stop_at

    # Users and groups to work on.
    setup = Client(args.base)
    run = f"{int(time.time())}-{os.getpid()}"
    users = []
    for i in range(args.users):
        body = {"name": f"Drill {i}", "email": f"drill-{run}-{i}@example.com", "password": f"Drill-Password-{run}-{i}!"}
        status, res = setup.request("POST", "/v1/auth/register", body)
        if status != 201:
            sys.exit(f"load: register -> {status} {res}")
        token = find_key(res, "token")
        status, res = setup.request("POST", "/v1/groups", {"name": f"Drill group {i}", "description": "drill"}, token)
        if status != 201:
            sys.exit(f"load: create group -> {status} {res}")
        users.append({"token": token, "groups": [find_key(res, "_id")]})
    setup.close()
    with open(os.path.join(args.dir, "load.ready"), "w") as fh:
        fh.write("ready\n")

    # A kubelet-like readiness prober: GET /v1/healthz every period, timeout 2s.
    def prober():
        c = Client(args.base, timeout=2)
        while not stopped():
            t = time.time()
            try:
                status, _ = c.request("GET", "/v1/healthz")
                count(f"healthz {status}")
            except (OSError, http.client.HTTPException):
                count("healthz error")
            time.sleep(max(0.0, args.probe_period - (time.time() - t)))
        c.close()

    # A shared pace for the API workers, without catch-up bursts: after a
    # stall, the next request starts at once, not the missed ones.
    pace = {"next": time.time()}

    def slot():
        with lock:
            t = max(time.time(), pace["next"])
            pace["next"] = t + 1.0 / args.rate
        time.sleep(max(0.0, t - time.time()))

    missing = "0123456789abcdef01234567"

    def worker(n):
        c = Client(args.base)
        rnd = random.Random(n)
        while not stopped():
            slot()
            u = rnd.choice(users)
            r = rnd.random()
            try:
                if r < 0.30:
                    req = ("GET", "/v1/users/profile", None, u["token"])
                elif r < 0.55:
                    req = ("GET", "/v1/groups", None, u["token"])
                elif r < 0.70:
                    req = ("GET", f"/v1/groups/{rnd.choice(u['groups'])}", None, u["token"])
                elif r < 0.80:
                    req = ("POST", "/v1/groups", {"name": f"g{rnd.randrange(10**6)}", "description": "drill"}, u["token"])
                elif r < 0.90:
                    req = ("GET", "/v1/users/balances", None, u["token"])
                elif r < 0.95:
                    req = ("GET", f"/v1/groups/{missing}", None, u["token"])
                elif r < 0.98:
                    req = ("GET", "/v1/users/profile", None, None)
                else:
                    req = ("GET", "/v1/no-such-route", None, None)
                status, res = c.request(*req)
                count(f"{req[0]} {status}")
                if req[0] == "POST" and status == 201 and len(u["groups"]) < 50:
                    u["groups"].append(find_key(res, "_id"))
            except (OSError, http.client.HTTPException):
                count("error")
                time.sleep(0.2)
        c.close()

    threads = [threading.Thread(target=prober, daemon=True)]
    threads += [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(args.workers)]
    for t in threads:
        t.start()
    while not stopped():
        with lock:
            snapshot = dict(counts)
        with open(os.path.join(args.dir, "load.json.tmp"), "w") as fh:
            json.dump(snapshot, fh)
        os.replace(os.path.join(args.dir, "load.json.tmp"), os.path.join(args.dir, "load.json"))
        time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join(timeout=35)
    with open(os.path.join(args.dir, "load.json"), "w") as fh:
        json.dump(counts, fh)


# ---------------------------------------------------------------------------
# PromQL: the vector selectors of an expression (metric name, matchers) and
# the labels it groups or matches by
# ---------------------------------------------------------------------------
TOKEN = re.compile(r"""
    (?P<ws>\s+) | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`) | (?P<brace>\{) | (?P<range>\[[^\]]*\])
  | (?P<num>\d+(?:\.\d+)?(?:e[+-]?\d+)?) | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*) | (?P<punct>.)
""", re.X)
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
            "bool", "offset", "inf", "nan"}
AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
                "bottomk", "topk", "quantile"}
MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*")\s*,?')


def read_braces(expr, i):
    """expr[i] == '{': returns (content, index after the closing brace)."""
    j, depth, quote = i + 1, 1, None
    while j < len(expr):
        ch = expr[j]
        if quote:
            if ch == "\\":
                j += 1
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return expr[i + 1:j], j + 1
        j += 1
    raise ValueError(f"unbalanced braces in {expr!r}")


def analyse(expr):
    """[(metric, [(label, op, value)])], grouping labels."""
    tokens, i = [], 0
    while i < len(expr):
        if expr[i] == "{":
            content, i = read_braces(expr, i)
            tokens.append(("brace", content))
            continue
        m = TOKEN.match(expr, i)
        kind = m.lastgroup
        if kind != "ws":
            tokens.append((kind, m.group(kind)))
        i = m.end()
    selectors, grouping = [], set()
    k = 0
    while k < len(tokens):
        kind, val = tokens[k]
        nxt = tokens[k + 1] if k + 1 < len(tokens) else (None, None)
        if kind == "ident" and val in ("by", "without", "on", "ignoring", "group_left", "group_right") and nxt[1] == "(":
            k += 2
            while k < len(tokens) and tokens[k][1] != ")":
                if tokens[k][0] == "ident":
                    grouping.add(tokens[k][1])
                k += 1
        elif kind == "ident" and (nxt[1] == "(" or (val in AGGREGATIONS and nxt[1] in ("by", "without"))):
            pass  # a function or an aggregation (`sum by (x) (...)`)
        elif kind == "ident" and val.lower() not in KEYWORDS:
            matchers = []
            if nxt[0] == "brace":
                matchers = [(l, op, json.loads(v)) for l, op, v in MATCHER.findall(nxt[1])]
                k += 1
            selectors.append((val, matchers))
        elif kind == "brace":  # {__name__=...} selector without a name
            matchers = [(l, op, json.loads(v)) for l, op, v in MATCHER.findall(val)]
            selectors.append((None, matchers))
        k += 1
    return selectors, grouping


def selector_text(metric, matchers):
    inner = ", ".join(f"{l}{op}{json.dumps(v)}" for l, op, v in matchers)
    return f"{metric or ''}{{{inner}}}"


# ---------------------------------------------------------------------------
# the drill
# ---------------------------------------------------------------------------
class Prom:
    def __init__(self, url):
        self.url = url.rstrip("/")

    def get(self, path, **params):
        q = urllib.parse.urlencode(params, doseq=True)
        with urllib.request.urlopen(f"{self.url}{path}?{q}", timeout=10) as res:
            body = json.load(res)
        if body.get("status") != "success":
            raise RuntimeError(f"{path}: {body}")
        return body["data"]

    def query(self, expr):
        return self.get("/api/v1/query", query=expr)["result"]

    def alerts(self):
        return self.get("/api/v1/alerts")["alerts"]

    def alert(self, name):
        """(state, activeAt as epoch seconds) of alert NAME, or (None, None)."""
        states = [(a["state"], a.get("activeAt")) for a in self.alerts() if a["labels"].get("alertname") == name]
        if not states:
            return None, None
        state = "firing" if any(s == "firing" for s, _ in states) else states[0][0]
        active = min(parse_ts(t) for _, t in states if t)
        return state, active


def parse_ts(text):
    # RFC 3339 with nanoseconds: 2026-11-30T19:20:01.123456789Z
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)", text)
    base = time.mktime(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")) - time.timezone
    frac = float(m.group(2) or 0)
    if m.group(3) != "Z":
        sign = 1 if m.group(3)[0] == "+" else -1
        base -= sign * (int(m.group(3)[1:3]) * 3600 + int(m.group(3)[4:6]) * 60)
    return base + frac


class Drill:
    def __init__(self, args):
        self.a = args
        self.prom = Prom(args.prom)
        with open(args.rules, encoding="utf-8") as fh:
            self.rules = yaml.safe_load(fh)
        self.alert_rules = {r["alert"]: r for g in self.rules["groups"] for r in g["rules"] if "alert" in r}
        self.eval = max(parse_duration(g.get("interval", args.eval_interval)) for g in self.rules["groups"])
        self.report = []
        self.failures = []

    # -- helpers ------------------------------------------------------------
    def check(self, cond, msg):
        if cond:
            say(f"ok: {msg}")
            self.report.append(f"ok   {msg}")
        else:
            say(f"FAIL: {msg}")
            self.report.append(f"FAIL {msg}")
            self.failures.append(msg)
        return cond

    def wait(self, what, fn, deadline_s, poll=0.25):
        t0 = time.time()
        while True:
            v = fn()
            if v:
                return v
            if time.time() - t0 > deadline_s:
                raise TimeoutError(f"{what}: not within {deadline_s:.0f}s")
            time.sleep(poll)

    def for_s(self, name):
        return parse_duration(self.alert_rules[name].get("for", "0s"))

    def inactive(self, names):
        return [n for n in names if self.prom.alert(n)[0] is not None]

    def webhook_after(self, name, status, since, full=False):
        for received, alert, st, a in webhook_events(self.a.webhook_file):
            if alert == name and st == status and received >= since:
                return (received, a) if full else received
        return None

    def fire_and_notify(self, name, since, detect_budget):
        """Waits for alert NAME to go pending (activeAt), firing, and reach the
        webhook; checks the time from activeAt to the webhook against for: plus
        two evaluation intervals, and from SINCE to activeAt against
        DETECT_BUDGET (None: reported only)."""
        f = self.for_s(name)
        state_seen = {}

        def fired():
            state, active = self.prom.alert(name)
            if state and state not in state_seen:
                state_seen[state] = time.time()
            if active and active >= since - 1:
                state_seen.setdefault("activeAt", active)
            return self.webhook_after(name, "firing", since)

        got = self.wait(f"{name} firing at the webhook", fired, (detect_budget or 120) + f + 4 * self.eval + 30)
        active = state_seen.get("activeAt")
        if active is None:
            # Pending and firing happened between two polls: use the API's activeAt.
            active = self.prom.alert(name)[1]
        budget = f + 2 * self.eval
        detect = active - since
        notify = got - active
        say(f"{name}: condition true (activeAt) {detect:.1f}s after the event, webhook 'firing' "
            f"{notify:.1f}s after activeAt (for: {f:.0f}s + 2 x {self.eval:.0f}s = {budget:.0f}s), "
            f"{got - since:.1f}s after the event")
        _, alert = self.webhook_after(name, "firing", since, full=True)
        runbook = alert.get("annotations", {}).get("runbook_url", "")
        self.check(runbook.endswith("/docs/operations.md#" + name.lower()) and alert["annotations"].get("summary"),
                   f"{name}: the notification carries labels {sorted(alert['labels'])}, a summary and runbook_url {runbook}")
        if detect_budget is not None:
            self.check(detect <= detect_budget,
                       f"{name}: condition true {detect:.1f}s after the event (budget {detect_budget:.0f}s)")
        self.check(notify <= budget,
                   f"{name}: firing notification {notify:.1f}s after the condition held (for {f:.0f}s + 2 evaluations = {budget:.0f}s)")
        return got

    # -- phases -------------------------------------------------------------
    def run(self):
        drill_names = ["SplitlyrNotReady", "SplitlyrHigh5xxRatio", "SplitlyrHighLatencyP95", "SplitlyrTargetsDown"]
        for n in drill_names:
            if n not in self.alert_rules:
                self.check(False, f"rule {n} exists")
                return
        say(f"evaluation interval {self.eval:.0f}s; for: " + ", ".join(f"{n} {self.for_s(n):.0f}s" for n in drill_names))

        # Baseline: the target is up, readiness is 1, load flows, nothing fires.
        self.wait("target up", lambda: self.prom.query('up{job="splitlyr"} == 1'), 30)
        self.wait("splitlyr_ready 1", lambda: self.prom.query('splitlyr_ready{job="splitlyr"} == 1'), 30)
        self.wait("API traffic in Prometheus", lambda: self.prom.query('sum(rate(http_requests_total{job="splitlyr", route!="/v1/healthz"}[1m])) > 0'), 30)
        say(f"baseline: {self.a.baseline:.0f}s of mixed load")
        time.sleep(self.a.baseline)
        burst = self.burst_429()
        self.check(burst > 0, f"rate limiting: {burst} of the login burst answered 429")
        p95 = self.prom.query("splitlyr:http_request_duration_seconds:p95_5m")
        p95v = max((float(r["value"][1]) for r in p95), default=float("nan"))
        self.check(p95v < 0.5, f"baseline p95 (recording rule) {p95v * 1000:.0f} ms < 500 ms")
        busy = self.inactive(drill_names)
        self.check(not busy, f"baseline: no drill alert pending or firing ({busy or 'none'})")

        self.latency()
        self.database_down()
        self.metrics_exist()
        self.targets_down()

    def burst_429(self):
        c = Client(self.a.base)
        codes = []
        for i in range(self.a.burst):
            status, _ = c.request("POST", "/v1/auth/login", {"email": f"nobody-{i}@example.com", "password": "not-the-password"})
            codes.append(status)
        c.close()
        return codes.count(429)

    def latency(self):
        name = "SplitlyrHighLatencyP95"
        say("(d) latency: SIGSTOP/SIGCONT cycles of the database under load until the p95 alert fires")
        pid = int(open(self.a.db_pidfile).read())
        start = time.time()
        cycles = 0
        # Stalls shorter than the server's 1 s database timeouts (server
        # selection, health ping): requests get slow, none fails. Longer
        # stalls made some 503s, and with the drill's light load those could
        # lift the 5xx ratio past its alert before the outage drill began.
        stall, gap = 0.8, 0.2
        try:
            while time.time() - start < 90:
                os.kill(pid, signal.SIGSTOP)
                time.sleep(stall)
                os.kill(pid, signal.SIGCONT)
                cycles += 1
                time.sleep(gap)
                state, _ = self.prom.alert(name)
                if state == "firing":
                    break
        finally:
            os.kill(pid, signal.SIGCONT)
        say(f"{cycles} SIGSTOP cycles of {stall}s over {time.time() - start:.1f}s")
        self.fire_and_notify(name, start, None)
        p95 = self.prom.query("splitlyr:http_request_duration_seconds:p95_5m")
        self.check(any(float(r["value"][1]) > 0.5 for r in p95),
                   "p95 after the stalls: " + ", ".join(f"{float(r['value'][1]):.2f}s" for r in p95) + " > 0.5s")

    def database_down(self):
        names = ["SplitlyrNotReady", "SplitlyrHigh5xxRatio"]
        # The stalls may have made readiness fail for a moment: start clean.
        self.wait("SplitlyrNotReady inactive before the outage",
                  lambda: self.prom.alert("SplitlyrNotReady")[0] is None and self.prom.query('splitlyr_ready{job="splitlyr"} == 1'), 60)
        busy = self.inactive(names)
        self.check(not busy, f"before the outage: {', '.join(names)} inactive ({busy or 'none'})")
        say("(b)+(c) database down under load: scripts/db.sh stop")
        t_kill = time.time()
        subprocess.run([self.a.db_sh, "stop"], check=True, env=os.environ)
        stopping = time.time() - t_kill
        say(f"database stopped in {stopping:.1f}s")
        # Readiness: the database's own shutdown + probe period + probe answer
        # (database ping timeout) + scrape + evaluation, and a second of slack.
        detect = stopping + self.a.probe_period + self.a.health_timeout + 2 * self.eval + 1
        self.fire_and_notify("SplitlyrNotReady", t_kill, detect)
        self.fire_and_notify("SplitlyrHigh5xxRatio", t_kill, None)
        r5 = self.prom.query("splitlyr:http_requests_5xx:rate5m / splitlyr:http_requests:rate5m")
        say("5xx ratio now " + ", ".join(f"{float(r['value'][1]):.1%}" for r in r5))
        say("database back: scripts/db.sh start")
        t_up = time.time()
        subprocess.run([self.a.db_sh, "start"], check=True, env=os.environ, stdout=subprocess.DEVNULL)
        got = self.wait("SplitlyrNotReady resolved at the webhook",
                        lambda: self.webhook_after("SplitlyrNotReady", "resolved", t_up), 90)
        budget = self.a.probe_period + self.a.health_timeout + 4 * self.eval + 5
        self.check(got - t_up <= budget,
                   f"SplitlyrNotReady: 'resolved' at the webhook {got - t_up:.1f}s after the database came back (budget {budget:.0f}s)")
        self.outage = (t_kill, t_up)

    def metrics_exist(self):
        say("(a) every metric the dashboard and the rules query has data, with the labels they use")
        with open(os.path.join(MONITORING, "dashboard.json"), encoding="utf-8") as fh:
            dash = json.load(fh)
        recorded = {r["record"] for g in self.rules["groups"] for r in g["rules"] if "record" in r}
        # Template variables, resolved the way Grafana would ("All" = every value).
        tmpl = {t["name"]: t for t in dash.get("templating", {}).get("list", [])}
        values = {}
        for var in ("namespace", "job"):
            q = tmpl[var]["query"]["query"] if isinstance(tmpl[var]["query"], dict) else tmpl[var]["query"]
            m = re.match(r"label_values\((.*),\s*(\w+)\)$", q.strip())
            match = m.group(1)
            for k, v in values.items():
                match = match.replace(f"${k}", v)
            found = self.prom.get(f"/api/v1/label/{m.group(2)}/values", **{"match[]": match})
            if tmpl[var].get("regex"):
                found = [f for f in found if re.fullmatch(tmpl[var]["regex"], f)]
            self.check(bool(found), f"dashboard variable ${var}: {q} -> {found}")
            values[var] = "(" + "|".join(re.escape(f) for f in found) + ")" if found else "none"
        queries = []
        for p in dash["panels"]:
            for t in p.get("targets", []):
                expr = t["expr"]
                for k, v in values.items():
                    expr = expr.replace(f"${{{k}}}", v).replace(f"${k}", v)
                queries.append((f"panel '{p['title']}'", expr))
        for g in self.rules["groups"]:
            for r in g["rules"]:
                queries.append((f"rule {r.get('alert') or r.get('record')}", r["expr"]))
        excluded, used_ksm = [], set()
        for where, expr in queries:
            selectors, grouping = analyse(expr)
            names = {m for m, _ in selectors}
            ksm = names & KUBE_STATE_METRICS
            used_ksm |= ksm
            if ksm and names <= KUBE_STATE_METRICS:
                excluded.append(f"{where}: {', '.join(sorted(ksm))}")
                continue
            if where.startswith("panel"):
                res = self.prom.query(expr)
                self.check(bool(res), f"{where}: the query returns data ({len(res)} series)")
            for metric, matchers in selectors:
                if metric in KUBE_STATE_METRICS:
                    continue
                sel = selector_text(metric, matchers)
                res = self.prom.query(f"last_over_time({sel}[30m])")
                if metric in recorded:
                    want = {l for l, _, _ in matchers}
                else:
                    want = {l for l, _, _ in matchers} | (grouping - {"le"} if not metric.endswith("_bucket") else grouping)
                have = set().union(*(r["metric"].keys() for r in res)) if res else set()
                missing = sorted(want - have)
                self.check(bool(res) and not missing,
                           f"{where}: {sel} has data ({len(res)} series)" + (f", lacks labels {missing}" if missing else "")
                           + (f" with labels {sorted(want)}" if want and not missing else ""))
        stale = KUBE_STATE_METRICS - used_ksm
        self.check(not stale, f"every kube-state-metrics exclusion is used by a query (unused: {sorted(stale) or 'none'})")
        for e in excluded:
            say(f"EXCLUDED (kube-state-metrics, exists only in Kubernetes): {e}")
            self.report.append(f"excl {e} (kube-state-metrics)")

    def targets_down(self):
        name = "SplitlyrTargetsDown"
        say("(e) the server stops: SplitlyrTargetsDown")
        open(self.a.stop_file, "w").close()
        t_stop = time.time()
        os.kill(self.a.server_pid, signal.SIGTERM)
        # The server drains (no requests left in flight), the next scrape fails,
        # the next evaluation sees no `up == 1`.
        self.fire_and_notify(name, t_stop, 2 * self.eval + 5)


def cmd_drill(args):
    d = Drill(args)
    t0 = time.time()
    try:
        d.run()
    except (TimeoutError, RuntimeError, OSError, subprocess.CalledProcessError) as e:
        d.check(False, str(e))
    say(f"drill phases took {time.time() - t0:.0f}s")
    print("[monitoring] ----------------------------------------------")
    for line in d.report:
        print(f"[monitoring]   {line}")
    return 1 if d.failures else 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("rules")
    p.add_argument("crd")
    p.add_argument("overlay")
    p.add_argument("out")
    p = sub.add_parser("prom-config")
    p.add_argument("out")
    p.add_argument("--target", required=True)
    p.add_argument("--alertmanager", required=True)
    p.add_argument("--rules", required=True)
    p.add_argument("--interval", default="1s")
    p = sub.add_parser("am-config")
    p.add_argument("out")
    p.add_argument("--webhook", required=True)
    p = sub.add_parser("webhook")
    p.add_argument("port", type=int)
    p.add_argument("file")
    p = sub.add_parser("load")
    p.add_argument("base")
    p.add_argument("dir")
    p.add_argument("--stop", required=True)
    p.add_argument("--users", type=int, default=4)
    p.add_argument("--workers", type=int, default=16)
    p.add_argument("--rate", type=float, default=10.0, help="API requests per second, all workers together")
    p.add_argument("--probe-period", type=float, default=1.0)
    p.add_argument("--max-seconds", type=float, default=600)
    p = sub.add_parser("drill")
    p.add_argument("--prom", required=True)
    p.add_argument("--base", required=True)
    p.add_argument("--rules", required=True)
    p.add_argument("--webhook-file", required=True)
    p.add_argument("--db-sh", required=True)
    p.add_argument("--db-pidfile", required=True)
    p.add_argument("--server-pid", type=int, required=True)
    p.add_argument("--stop-file", required=True)
    p.add_argument("--eval-interval", default="1s")
    p.add_argument("--probe-period", type=float, default=1.0)
    p.add_argument("--health-timeout", type=float, default=1.0)
    p.add_argument("--baseline", type=float, default=15)
    p.add_argument("--burst", type=int, default=20)
    args = ap.parse_args()
    fn = {"rules": cmd_rules, "prom-config": cmd_prom_config, "am-config": cmd_am_config,
          "webhook": cmd_webhook, "load": cmd_load, "drill": cmd_drill}[args.cmd]
    sys.exit(fn(args) or 0)


if __name__ == "__main__":
    main()
