#!/usr/bin/env python3
"""Project-specific assertions on rendered kustomize output.

Schema validation (kubernetes-validate) proves the YAML is *valid*; this proves
it says what Splitlyr's operations contract requires (docs/operations.md):
probes, resources, security context, drain timing, HPA, PDB, NetworkPolicy,
monitoring CRDs (structure only; no CRD schema is available offline), the
rate limiter's trusted proxy ranges, the admin port (metrics and detailed
health) reachable by Prometheus only, no Secret rendered, images pinned to a
registry.

Usage: assert-manifests.py OVERLAY_NAME RENDERED.yaml
"""
import ipaddress
import re
import sys

import yaml

DRAIN_SECONDS = 30
APP = "splitlyr"
API_PORT = 3000
ADMIN_PORT = 3001


def check_trusted_proxies(where: str, value: "str | None", errors: list[str]) -> None:
    """APP__RATE_LIMIT__TRUSTED_PROXIES: the ingress-nginx pods reach the API
    from the cluster's pod range, so it must be set (otherwise every client
    behind one ingress pod shares one rate-limit bucket). The server accepts
    single addresses and CIDR ranges, comma-separated; anything else makes it
    exit at startup. Stricter than the server: a range with host bits set
    (10.24.0.1/14) is probably a typo, and a range that covers (nearly) the
    whole internet would let any client choose its own rate-limit key."""
    if value is None or not value.strip():
        errors.append(f"{where}: APP__RATE_LIMIT__TRUSTED_PROXIES is not set (set it to the cluster's pod CIDR)")
        return
    for item in (x.strip() for x in value.split(",")):
        if not item:
            errors.append(f"{where}: APP__RATE_LIMIT__TRUSTED_PROXIES {value!r} has an empty entry")
            continue
        try:
            net = ipaddress.ip_network(item, strict=True)
        except ValueError as e:
            errors.append(f"{where}: APP__RATE_LIMIT__TRUSTED_PROXIES entry {item!r} is not an IP address or CIDR range ({e})")
            continue
        if net.prefixlen < (8 if net.version == 4 else 16):
            errors.append(f"{where}: APP__RATE_LIMIT__TRUSTED_PROXIES entry {item!r} is too broad (/{net.prefixlen}): "
                          "anyone in it could forge X-Forwarded-For")


def main() -> int:
    overlay, path = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as fh:
        docs = [d for d in yaml.safe_load_all(fh) if d]
    errors: list[str] = []

    def check(cond: bool, msg: str) -> None:
        if not cond:
            errors.append(msg)

    by_kind: dict[str, list[dict]] = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
        check(d["kind"] == "Namespace" or bool(d["metadata"].get("namespace")),
              f"{d['kind']}/{d['metadata']['name']}: no namespace set")

    check("Secret" not in by_kind, "a Secret is rendered; secrets must be created from Secret Manager, not applied from git")

    deployments = [d for d in by_kind.get("Deployment", []) if d["metadata"]["name"].startswith(APP)]
    check(len(deployments) == 1, f"expected exactly one splitlyr Deployment, found {len(deployments)}")
    for dep in deployments:
        name = dep["metadata"]["name"]
        spec = dep["spec"]
        ru = spec.get("strategy", {}).get("rollingUpdate", {})
        check(ru.get("maxSurge") == 1 and ru.get("maxUnavailable") == 0, f"{name}: rollingUpdate must be maxSurge 1 / maxUnavailable 0")
        pod = spec["template"]["spec"]
        psc = pod.get("securityContext", {})
        check(psc.get("runAsNonRoot") is True and psc.get("runAsUser") == 65532, f"{name}: pod must run as non-root uid 65532")
        check(psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", f"{name}: seccomp RuntimeDefault missing")
        keys = {c["topologyKey"] for c in pod.get("topologySpreadConstraints", [])}
        check({"kubernetes.io/hostname", "topology.kubernetes.io/zone"} <= keys, f"{name}: topology spread over hostname and zone missing")
        check(pod.get("automountServiceAccountToken") is False, f"{name}: service account token must not be mounted")
        containers = pod["containers"]
        check(len(containers) == 1, f"{name}: expected one container")
        c = containers[0]
        image = c["image"]
        check(re.match(r"^[a-z0-9.-]+-docker\.pkg\.dev/[^/]+/[^/]+/splitlyr(:[\w.-]+|@sha256:[0-9a-f]{64})$", image) is not None,
              f"{name}: image {image!r} is not an Artifact Registry splitlyr image with a tag or digest")
        check(not image.endswith(":latest"), f"{name}: image uses :latest")
        ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
        check(ports == {"http": API_PORT, "admin": ADMIN_PORT},
              f"{name}: container ports must be http {API_PORT} and admin {ADMIN_PORT}, got {ports}")
        probes = {k: c.get(k, {}).get("httpGet", {}).get("path") for k in ("startupProbe", "readinessProbe", "livenessProbe")}
        check(probes == {"startupProbe": "/v1/livez", "readinessProbe": "/v1/healthz", "livenessProbe": "/v1/livez"},
              f"{name}: probes must be readiness /v1/healthz and startup+liveness /v1/livez, got {probes}")
        # Probes need only a status code: the public port's minimal answers.
        probe_ports = {c.get(k, {}).get("httpGet", {}).get("port") for k in ("startupProbe", "readinessProbe", "livenessProbe")}
        check(probe_ports == {"http"}, f"{name}: probes must use the API port (http), got {probe_ports}")
        res = c.get("resources", {})
        check(res.get("requests") == {"cpu": "250m", "memory": "256Mi"}, f"{name}: requests must be 250m/256Mi, got {res.get('requests')}")
        check(res.get("limits") == {"cpu": "500m", "memory": "512Mi"}, f"{name}: limits must be 500m/512Mi, got {res.get('limits')}")
        csc = c.get("securityContext", {})
        check(csc.get("readOnlyRootFilesystem") is True, f"{name}: readOnlyRootFilesystem must be true")
        check(csc.get("allowPrivilegeEscalation") is False, f"{name}: allowPrivilegeEscalation must be false")
        check(csc.get("capabilities", {}).get("drop") == ["ALL"], f"{name}: capabilities must drop ALL")
        pre = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
        check(3 <= pre <= 10, f"{name}: preStop sleep should be ~5s, got {pre}")
        tgp = pod.get("terminationGracePeriodSeconds", 30)
        check(tgp > pre + DRAIN_SECONDS, f"{name}: terminationGracePeriodSeconds {tgp} must exceed preStop {pre}s + drain {DRAIN_SECONDS}s")
        env_from = c.get("envFrom", [])
        check(any("secretRef" in e and e["secretRef"]["name"] == "splitlyr-secrets" for e in env_from), f"{name}: Secret splitlyr-secrets not injected")
        cm_refs = [e["configMapRef"]["name"] for e in env_from if "configMapRef" in e]
        cms = {d["metadata"]["name"]: d for d in by_kind.get("ConfigMap", [])}
        for ref in cm_refs:
            check(ref in cms, f"{name}: envFrom ConfigMap {ref} is not rendered")
            data = cms.get(ref, {}).get("data", {})
            for key in data:
                check(not re.search(r"SECRET|PASSWORD|TOKEN|DATABASE__URI|MONGO_URL", key), f"ConfigMap {ref}: secret-looking key {key}")
            check_trusted_proxies(f"ConfigMap {ref}", data.get("APP__RATE_LIMIT__TRUSTED_PROXIES"), errors)
            # Prometheus is another pod: the admin listener binds the pod's
            # addresses, on the port the container names `admin`, and
            # /metrics leaves the public port.
            admin = (data.get("APP__SERVER__ADMIN_HOST"), data.get("APP__SERVER__ADMIN_PORT"), data.get("APP__SERVER__PUBLIC_METRICS"))
            check(admin == ("0.0.0.0", str(ADMIN_PORT), "false"),
                  f"ConfigMap {ref}: APP__SERVER__ADMIN_HOST/ADMIN_PORT/PUBLIC_METRICS must be 0.0.0.0/{ADMIN_PORT}/false, got {admin}")
            grace = int(data.get("APP__SERVER__SHUTDOWN_GRACE_SECONDS", DRAIN_SECONDS))
            check(tgp > pre + grace, f"{name}: terminationGracePeriodSeconds {tgp} must exceed preStop {pre}s + configured drain {grace}s")

        hpas = [h for h in by_kind.get("HorizontalPodAutoscaler", []) if h["spec"]["scaleTargetRef"]["name"] == name]
        check(len(hpas) == 1, f"{name}: expected one HPA targeting it")
        for h in hpas:
            hs = h["spec"]
            if overlay == "production":
                check((hs["minReplicas"], hs["maxReplicas"]) == (2, 10), f"HPA {h['metadata']['name']}: production must scale 2-10")
            metrics = {m["resource"]["name"]: m["resource"]["target"].get("averageUtilization") for m in hs.get("metrics", [])}
            check(metrics == {"cpu": 70, "memory": 80}, f"HPA {h['metadata']['name']}: metrics must be cpu 70% / memory 80%, got {metrics}")
            check(hs.get("behavior", {}).get("scaleDown", {}).get("stabilizationWindowSeconds") == 300, "HPA: scaleDown stabilization must be 300s")
        if overlay == "production":
            check(spec.get("replicas") == 2, f"{name}: production must start with 2 replicas")

        labels = spec["selector"]["matchLabels"]
        pdbs = [p for p in by_kind.get("PodDisruptionBudget", []) if p["spec"]["selector"]["matchLabels"] == labels]
        check(len(pdbs) == 1, f"{name}: expected one PDB selecting exactly its pods")
        svcs = [s for s in by_kind.get("Service", []) if s["spec"].get("selector") == labels]
        svc_ports = {s["metadata"]["name"]: {p.get("targetPort") for p in s["spec"]["ports"]} for s in svcs}
        public = [n for n, p in svc_ports.items() if p == {"http"}]
        admin = [s for s in svcs if {p.get("targetPort") for p in s["spec"]["ports"]} == {"admin"}]
        check(len(public) == 1 and len(admin) == 1 and len(svcs) == 2,
              f"{name}: expected one public Service (port http only) and one admin Service (port admin only) "
              f"selecting exactly its pods, got {svc_ports}")
        for s in admin:
            check(s["spec"].get("clusterIP") == "None", f"Service {s['metadata']['name']}: the admin Service must be headless")
        nps = [n for n in by_kind.get("NetworkPolicy", []) if n["spec"]["podSelector"].get("matchLabels") == labels]
        check(len(nps) == 1, f"{name}: expected one NetworkPolicy for its pods")
        for n in nps:
            # Which namespace may reach which port.
            allowed = sorted((f["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], p["port"])
                             for rule in n["spec"].get("ingress", []) for f in rule.get("from", [])
                             for p in rule.get("ports", []))
            check(allowed == [("ingress-nginx", API_PORT), ("monitoring", ADMIN_PORT)],
                  f"NetworkPolicy {n['metadata']['name']}: ingress must be ingress-nginx -> {API_PORT} and "
                  f"monitoring -> {ADMIN_PORT} only, got {allowed}")
            out = {(p.get("protocol", "TCP"), p["port"]) for rule in n["spec"].get("egress", []) for p in rule.get("ports", [])}
            check(out == {("UDP", 53), ("TCP", 53), ("TCP", 27017)}, f"NetworkPolicy {n['metadata']['name']}: egress {out}")

    public_services = {s["metadata"]["name"] for s in by_kind.get("Service", [])
                       if {p.get("targetPort") for p in s["spec"]["ports"]} == {"http"}}
    for ing in by_kind.get("Ingress", []):
        paths = [p["path"] for r in ing["spec"]["rules"] for p in r["http"]["paths"]]
        check("/" not in paths and all(p.startswith("/v1") for p in paths), f"Ingress {ing['metadata']['name']}: must not expose /metrics (paths {paths})")
        backends = {(p["backend"]["service"]["name"], p["backend"]["service"]["port"].get("name"))
                    for r in ing["spec"]["rules"] for p in r["http"]["paths"]}
        check(all(svc in public_services and port == "http" for svc, port in backends),
              f"Ingress {ing['metadata']['name']}: must route only to the public Service's http port, got {sorted(backends)}")
        ann = ing["metadata"].get("annotations", {})
        if overlay == "canary":
            check(ann.get("nginx.ingress.kubernetes.io/canary") == "true", "canary Ingress lacks the canary annotation")
            check("nginx.ingress.kubernetes.io/canary-weight" in ann and "nginx.ingress.kubernetes.io/canary-by-header" in ann,
                  "canary Ingress must route by weight and by header")
        else:
            check("nginx.ingress.kubernetes.io/canary" not in ann, f"Ingress {ing['metadata']['name']}: unexpected canary annotation")

    if overlay != "canary":
        sms = by_kind.get("ServiceMonitor", [])
        check(len(sms) == 1, "expected one ServiceMonitor")
        for sm in sms:
            eps = sm["spec"]["endpoints"]
            check(len(eps) == 1 and eps[0].get("port") == "admin" and eps[0].get("path") == "/metrics",
                  "ServiceMonitor must scrape the admin port's /metrics")
            check(sm["spec"].get("jobLabel") == "app.kubernetes.io/instance",
                  "ServiceMonitor: job must come from the instance label (splitlyr / splitlyr-canary, as the dashboards and rules expect)")
            want = sm["spec"]["selector"]["matchLabels"]
            picked = [s for s in by_kind.get("Service", [])
                      if want.items() <= s["metadata"].get("labels", {}).items()]
            check(picked and all({p["name"] for p in s["spec"]["ports"]} == {"admin"} for s in picked),
                  f"ServiceMonitor must select the admin Services only, got {[s['metadata']['name'] for s in picked]}")
        rules = by_kind.get("PrometheusRule", [])
        check(len(rules) == 1, "expected one PrometheusRule")
        alerts = {r["alert"] for pr in rules for g in pr["spec"]["groups"] for r in g["rules"] if "alert" in r}
        want = {"SplitlyrHigh5xxRatio", "SplitlyrHighLatencyP95", "SplitlyrNoReadyPods", "SplitlyrSustained429", "SplitlyrPodRestarting"}
        check(want <= alerts, f"PrometheusRule misses alerts {sorted(want - alerts)}")
        dash = [c for c in by_kind.get("ConfigMap", []) if c["metadata"].get("labels", {}).get("grafana_dashboard") == "1"]
        check(len(dash) == 1, "expected one ConfigMap labelled grafana_dashboard: \"1\"")
    else:
        for kind in ("ServiceMonitor", "PrometheusRule", "CronJob", "Namespace"):
            check(kind not in by_kind, f"canary overlay must not duplicate {kind}")

    if overlay == "production":
        cjs = by_kind.get("CronJob", [])
        check(len(cjs) == 1 and cjs[0]["spec"]["schedule"] == "0 */6 * * *", "production needs the 6-hourly backup CronJob")

    for e in errors:
        print(f"  FAIL [{overlay}] {e}")
    if not errors:
        print(f"  ok   [{overlay}] {len(docs)} objects satisfy the deployment contract")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
