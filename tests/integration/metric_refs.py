# SPDX-License-Identifier: MIT
"""The metric names the shipped monitoring refers to — the Prometheus alert rules
(deploy/fleet/prometheus/alerts.yml) and the Grafana dashboard (deploy/grafana/sinkholed.json)
— and the names a sinkholed /metrics page holds, so tests can check that every name referred
to exists (test_alert_rules.py against a live daemon that triggers every event,
test_prometheus.py through Prometheus)."""

import json
import os
import re

import yaml

from processes import REPO

ALERT_RULES = os.path.join(REPO, "deploy", "fleet", "prometheus", "alerts.yml")
ALERT_TESTS = os.path.join(REPO, "deploy", "fleet", "prometheus", "alerts_test.yml")
ALERTS_DOC = os.path.join(REPO, "deploy", "fleet", "ALERTS.md")
DASHBOARDS = [os.path.join(REPO, "deploy", "grafana", "sinkholed.json")]

_NAME = re.compile(r"\bsinkholed_[a-z0-9_]+")

# Series sinkholed writes only once something has happened (or only for some list kinds):
# name → what makes it appear. test_alert_rules.py makes each happen; a test whose daemon
# does not may leave these out of its check.
EVENT_METRICS = {
    "sinkholed_list_serial": "an RPZ list with a copy (only RPZ lists have a serial)",
    "sinkholed_list_time_to_enforce_seconds": "a list change seen and served",
    "sinkholed_list_reload_failures_total": "a list's first refused copy (e.g. emptied)",
    "sinkholed_feed_transfer_failures_total": "an RPZ list's first failed transfer",
    "sinkholed_list_fetches_total": "an HTTP list (url:) configured",
    "sinkholed_protected_users": "a category's first blocked query",
    "sinkholed_blocked_total": "the first blocked query",
}


def load_rules(path=ALERT_RULES):
    """[rule dict] of every group in the rule file."""
    with open(path) as f:
        doc = yaml.safe_load(f)
    return [rule for group in doc["groups"] for rule in group["rules"]]


def rule_metrics(path=ALERT_RULES):
    """Every sinkholed_* name in the rules' expressions and annotation templates (an
    annotation may query Prometheus)."""
    names = set()
    for rule in load_rules(path):
        names.update(_NAME.findall(rule["expr"]))
        for text in rule.get("annotations", {}).values():
            names.update(m for m in _NAME.findall(text) if "{{" not in m)
    return names


def dashboard_panels(dash):
    """Every panel, rows' nested panels included."""
    out = []
    for panel in dash.get("panels", []):
        out.append(panel)
        out.extend(dashboard_panels(panel))
    return out


def dashboard_exprs(path):
    """[(panel title, PromQL)] of every target and every query template variable."""
    with open(path) as f:
        dash = json.load(f)
    exprs = [(p.get("title", ""), t["expr"]) for p in dashboard_panels(dash)
             for t in p.get("targets", [])]
    for var in dash.get("templating", {}).get("list", []):
        if var.get("type") == "query":
            query = var["query"] if isinstance(var["query"], str) else var["query"]["query"]
            exprs.append((f"variable {var['name']}", query))
    return exprs


def dashboard_metrics(paths=None):
    names = set()
    for path in paths or DASHBOARDS:
        for _, expr in dashboard_exprs(path):
            names.update(_NAME.findall(expr))
    return names


def exposition_names(text):
    """The sample names a /metrics page holds (a family declared without a sample does not
    count: Prometheus would store nothing for it)."""
    names = set()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names
