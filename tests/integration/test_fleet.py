# SPDX-License-Identifier: MIT
"""deploy/fleet/README.md followed end to end on loopback, with the files we ship: knotd
primary of the national RPZ (knot/knot.conf, TSIG, NOTIFY to every node), three sinkholed
secondaries (sinkholed/node1..3.yaml), dnsdist in front with PROXY v2 and health checks
(dnsdist/dnsdist.conf) and Prometheus scraping every node (prometheus/prometheus.yml with
the fleet's rule file). Only addresses, ports and paths are substituted in those files (and,
for Prometheus, the scrape/evaluation interval and the rules' `for:`; see below).

  - a name added on the primary (knotc zone-begin/zone-set/zone-commit) is blocked through
    dnsdist and on every node directly within 2 s of the commit, in every build (each
    node's time measured and printed; a miss is waited for and reported with its time.
    Measured on a loaded 2-core machine: 0.1-0.55 s RelWithDebInfo, 0.15 s ASan, 0.17-0.65 s
    TSan). Every other wait is generous (× the sanitizer factor);
  - clients in 127.0.2.0/24 and 127.0.3.0/24 asking dnsdist get their own groups' answers
    (warning page vs NXDOMAIN), so the nodes see the subscriber's address, not dnsdist's;
    dnsdist's health checks (PROXY v2 LOCAL) pass and no header is ever missing;
  - Prometheus scrapes all three nodes (its HTTP API); `SinkholedFeedBehind` fires for the
    node cut off from the primary (its path to knotd goes through a relay the test stops)
    while the other two follow, and the node catches up once the path is back;
  - one node killed: dnsdist marks it down and clients keep getting answers.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctl import ctl_list, sinkholectl_binary  # noqa: E402
from dnswire import NOERROR, NXDOMAIN, build_query, parse, udp_from  # noqa: E402
from processes import (REPO, Sinkholed, SinkholedTestCase, free_port,  # noqa: E402
                       free_tcp_port, random_loopback, sinkholed_binary, stop_process)
from test_rpz_secondary import KNOTC, KNOTD, sanitizer_factor  # noqa: E402

FLEET = os.path.join(REPO, "deploy", "fleet")
DNSDIST = shutil.which("dnsdist") or "/usr/bin/dnsdist"
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"

# The trial values of the shipped files (README "Try it on one machine").
TRIAL_DIR = "/tmp/sinkholed-fleet"
TRIAL_UPSTREAM = "127.0.0.1:53"
PRIMARY, DNSDIST_ADDR, PROM_ADDR = "127.0.1.1", "127.0.1.2", "127.0.1.3"
NODES = {"node1": "127.0.1.11", "node2": "127.0.1.12", "node3": "127.0.1.13"}
DNS_PORT, METRICS_PORT, CONSOLE_PORT, WEB_PORT, PROM_PORT = 5300, 9153, 5199, 8083, 9090
WEB_SECRET = "TEST-ONLY-change-me"  # dnsdist's API key in dnsdist.conf (hashed there)
ZONE = "national.rpz"
WARNING_PAGE = "203.0.113.10"       # the `warning-page` action of the node files
RESIDENTIAL = [f"127.0.2.{i}" for i in range(10, 20)]
BUSINESS = [f"127.0.3.{i}" for i in range(10, 20)]
CUT_NODE = "node3"                  # reaches the primary through the test's relay


class Relay:
    """The cut-off node's path to the primary, which the test can break and mend: TCP on
    `addr`:port to the primary (zone transfers), and TCP and UDP on `notify_addr`:port
    (where knotd sends that node's NOTIFY) relayed to the node from `addr`, the node's
    `primary` address, so the node accepts it. stop() closes everything: transfers and
    NOTIFY fail."""

    def __init__(self, addr, notify_addr, port, primary, node):
        self.addr, self.notify_addr, self.port = addr, notify_addr, port
        self.primary, self.node = primary, node
        self.socks = []
        self.lock = threading.Lock()
        self.running = False

    def start(self):
        self.running = True
        self.socks = []
        # Transfers: node → primary. NOTIFY (knotd sends it over TCP or UDP): knotd → node,
        # from the node's `primary` address.
        for addr, target, source in ((self.addr, self.primary, None),
                                     (self.notify_addr, self.node, (self.addr, 0))):
            lsn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            lsn.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            lsn.bind((addr, self.port))
            lsn.listen(16)
            self.socks.append(lsn)
            threading.Thread(target=self.accept, args=(lsn, target, source), daemon=True).start()
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind((self.notify_addr, self.port))
        self.socks.append(udp)
        threading.Thread(target=self.datagrams, args=(udp,), daemon=True).start()
        return self

    def keep(self, s):
        with self.lock:
            if not self.running:
                s.close()
                return False
            self.socks.append(s)
            return True

    def accept(self, lsn, target, source):
        while True:
            try:
                conn, _ = lsn.accept()
            except OSError:
                return
            try:
                up = socket.create_connection(target, timeout=5, source_address=source)
            except OSError:
                conn.close()
                continue
            if not self.keep(conn):
                up.close()
                return
            if not self.keep(up):
                return
            for a, b in ((conn, up), (up, conn)):
                threading.Thread(target=self.pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def pipe(a, b):
        try:
            a.settimeout(None)
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def datagrams(self, udp):
        while True:
            try:
                data, sender = udp.recvfrom(65536)
            except OSError:
                return
            threading.Thread(target=self.notify, args=(udp, data, sender), daemon=True).start()

    def notify(self, udp, data, sender):
        reply = udp_from(self.addr, self.node[0], self.node[1], data, 5.0)
        if reply is not None and self.running:
            try:
                udp.sendto(reply, sender)
            except OSError:
                pass

    def stop(self):
        with self.lock:
            self.running = False
            socks, self.socks = self.socks, []
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


class FleetNode(Sinkholed):
    """One sinkholed run with a node file of deploy/fleet/sinkholed/ (substituted in place,
    so its relative key paths hold); the Sinkholed fixture's stats(), logs and stop()."""

    def __init__(self, name, config_path, addr, port, control_socket, metrics):
        super().__init__([], ipv6=False, listen=(addr, port))
        self.name = name
        self.node_config = config_path
        self.node_control_socket = control_socket
        self.metrics_url = f"http://{metrics}"

    @property
    def control_socket(self):
        return self.node_control_socket

    def start(self, timeout=5.0):
        self.dir = tempfile.mkdtemp(prefix=f"fleet-{self.name}-")
        self.addr, self.port = self.listen
        self.config_path = self.node_config
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen([sinkholed_binary(), "--config", self.config_path],
                                     stdout=self._stderr, stderr=self._stderr,
                                     stdin=subprocess.DEVNULL)
        if not self._wait_ready(timeout):
            log = self.log_text()[-3000:]
            stop_process(self.proc, signal.SIGKILL)
            self.forget_exited()
            raise RuntimeError(f"{self.name} did not answer within {timeout}s:\n{log}")
        return self

    def kill(self):
        """SIGKILL (a crashed node); nothing left for cleanup to stop."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.forget_exited()

    def metrics(self):
        with urllib.request.urlopen(self.metrics_url + "/metrics", timeout=10) as r:
            return r.read().decode()


def answer_of(msg):
    """What a subscriber sees: 'nxdomain', the A address, or the rcode name."""
    if msg.rcode == NXDOMAIN:
        return "nxdomain"
    if msg.rcode == NOERROR:
        addrs = [r.value() for r in msg.answer if r.type_name == "A"]
        return addrs[0] if addrs else "nodata"
    return msg.rcode_name


def ask(src, server, port, name, timeout=2.0, tries=1):
    """A stub resolver's question from `src`: the parsed reply, or None after `tries`."""
    for _ in range(tries):
        reply = udp_from(src, server, port, build_query(name, "A"), timeout)
        if reply is not None:
            return parse(reply)
    return None


class FleetTest(SinkholedTestCase):
    @classmethod
    def setUpClass(cls):
        cls.factor = sanitizer_factor()
        cls.tmp = tempfile.mkdtemp(prefix="sinkholed-fleet-test-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.upstream = cls.class_knot()  # the recursive resolvers' stand-in (example.test)
        cls.install()
        cls.start_primary()
        cls.start_nodes()
        cls.start_dnsdist()
        cls.start_prometheus()

    # -- README "Try it on one machine", with this test's addresses ---------------------
    @classmethod
    def install(cls):
        """Copies deploy/fleet, then substitutes addresses, ports and paths. The cut-off
        node's `primary` is the relay's address, and knotd's NOTIFY for that node goes to
        the relay's other address."""
        used = set()

        def fresh():
            while True:
                a = random_loopback()
                if a not in used:
                    used.add(a)
                    return a
        cls.addr = {a: fresh() for a in [PRIMARY, DNSDIST_ADDR, PROM_ADDR, *NODES.values()]}
        cls.relay_addr, cls.relay_notify_addr = fresh(), fresh()
        cls.dns_port = free_port(list(used))
        cls.ports = {DNS_PORT: cls.dns_port}
        for p in (METRICS_PORT, CONSOLE_PORT, WEB_PORT, PROM_PORT):
            cls.ports[p] = free_tcp_port(cls.addr[PROM_ADDR]) if p == PROM_PORT else None
        # One TCP port per (address, port) that is not DNS: free where it is used.
        cls.pair = {}
        for node_addr in NODES.values():
            cls.pair[(node_addr, METRICS_PORT)] = free_tcp_port(cls.addr[node_addr])
        cls.pair[(DNSDIST_ADDR, CONSOLE_PORT)] = free_tcp_port(cls.addr[DNSDIST_ADDR])
        cls.pair[(DNSDIST_ADDR, WEB_PORT)] = free_tcp_port(cls.addr[DNSDIST_ADDR])
        cls.pair[(PROM_ADDR, PROM_PORT)] = cls.ports[PROM_PORT]
        cls.trial = os.path.join(cls.tmp, "trial")  # README: /tmp/sinkholed-fleet
        cls.fleet = os.path.join(cls.tmp, "fleet")  # README: deploy/fleet
        shutil.copytree(FLEET, cls.fleet)
        overrides = {
            os.path.join("knot", "knot.conf"): {NODES[CUT_NODE]: cls.relay_notify_addr},
            os.path.join("sinkholed", f"{CUT_NODE}.yaml"): {PRIMARY: cls.relay_addr},
        }
        for root, _, files in os.walk(cls.fleet):
            for f in files:
                if f.endswith(".md"):
                    continue
                path = os.path.join(root, f)
                rel = os.path.relpath(path, cls.fleet)
                with open(path) as fh:
                    text = fh.read()
                new = cls.substitute(text, overrides.get(rel, {}))
                with open(path, "w") as fh:
                    fh.write(new)
        # README: the keys are for the owner only (the fleet key is refused otherwise), and
        # each process has its directory.
        for f in os.listdir(os.path.join(cls.fleet, "keys")):
            os.chmod(os.path.join(cls.fleet, "keys", f), 0o600)
        for d in ("knot", "prometheus", *NODES):
            os.makedirs(os.path.join(cls.trial, d), exist_ok=True)
        shutil.copy(os.path.join(cls.fleet, "knot", f"{ZONE}.zone"),
                    os.path.join(cls.trial, "knot"))

    @classmethod
    def substitute(cls, text, override):
        def addr_port(m):
            a, sep, p = m.group(1), m.group(2), int(m.group(3))
            new_a = override.get(a, cls.addr[a])
            new_p = cls.pair.get((a, p)) or cls.ports.get(p) or p
            return f"{new_a}{sep}{new_p}"
        text = re.sub(r"\b(127\.0\.1\.\d+)([:@])(\d+)\b", addr_port, text)
        text = re.sub(r"\b127\.0\.1\.\d+\b",
                      lambda m: override.get(m.group(0), cls.addr[m.group(0)]), text)
        text = text.replace(TRIAL_UPSTREAM, cls.upstream.upstream)
        return text.replace(TRIAL_DIR, cls.trial)

    # -- knotd ------------------------------------------------------------------------
    @classmethod
    def start_primary(cls):
        cls.knot_conf = os.path.join(cls.fleet, "knot", "knot.conf")
        log = open(os.path.join(cls.tmp, "knotd.log"), "wb")
        cls.addClassCleanup(log.close)
        cls.knotd = subprocess.Popen([KNOTD, "-c", cls.knot_conf], stdout=log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        cls.addClassCleanup(stop_process, cls.knotd)
        deadline = time.monotonic() + 30
        while cls.knotc("zone-status", ZONE, check=False).returncode != 0:
            if time.monotonic() > deadline or cls.knotd.poll() is not None:
                raise RuntimeError(f"knotd did not start:\n{cls.file_text('knotd.log')}")
            time.sleep(0.1)
        cls.relay = Relay(cls.relay_addr, cls.relay_notify_addr, cls.dns_port,
                          (cls.addr[PRIMARY], cls.dns_port), (cls.addr[NODES[CUT_NODE]],
                                                              cls.dns_port))
        cls.addClassCleanup(cls.relay.stop)
        cls.relay.start()

    @classmethod
    def knotc(cls, *args, check=True):
        p = subprocess.run([KNOTC, "-c", cls.knot_conf, *args], capture_output=True, text=True,
                           timeout=30)
        if check and p.returncode != 0:
            raise AssertionError(f"knotc {args}: {p.stdout}{p.stderr}")
        return p

    def add_names(self, *names):
        """README "Add a name": one knotc transaction; the time just before the commit."""
        self.knotc("zone-begin", ZONE)
        for n in names:
            self.knotc("zone-set", ZONE, f"{n}.{ZONE}.", "60", "CNAME", ".")
        t = time.monotonic()
        self.knotc("zone-commit", ZONE)
        return t

    @classmethod
    def file_text(cls, rel):
        try:
            with open(os.path.join(cls.tmp, rel), "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    # -- the nodes ----------------------------------------------------------------------
    @classmethod
    def start_nodes(cls):
        cls.nodes = {}
        for name, trial_addr in NODES.items():
            addr = cls.addr[trial_addr]
            node = FleetNode(name, os.path.join(cls.fleet, "sinkholed", f"{name}.yaml"), addr,
                             cls.dns_port, os.path.join(cls.trial, name, "run", "control.sock"),
                             f"{addr}:{cls.pair[(trial_addr, METRICS_PORT)]}")
            cls.addClassCleanup(node.cleanup)
            node.start(timeout=20 * cls.factor)
            cls.nodes[name] = node
        # The first AXFR: every node serves the zone (the residential warning page).
        for node in cls.nodes.values():
            cls.wait_until(lambda n=node: cls.direct(n, RESIDENTIAL[0], "casino.example")
                           == WARNING_PAGE, 30 * cls.factor,
                           f"{node.name}: no first AXFR:\n{node.log_text()[-2000:]}")

    @staticmethod
    def direct(node, src, name, timeout=2.0):
        msg = ask(src, node.addr, node.port, name, timeout)
        return None if msg is None else answer_of(msg)

    @staticmethod
    def wait_until(pred, timeout, what="condition", step=0.01):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return time.monotonic()
            time.sleep(step)
        raise AssertionError(f"not within {timeout} s: {what}")

    # -- dnsdist ------------------------------------------------------------------------
    @classmethod
    def start_dnsdist(cls):
        conf = os.path.join(cls.fleet, "dnsdist", "dnsdist.conf")
        check = subprocess.run([DNSDIST, "--check-config", "-C", conf], capture_output=True,
                               text=True, timeout=30)
        if check.returncode != 0:
            raise AssertionError(f"dnsdist --check-config: {check.stdout}{check.stderr}")
        log = open(os.path.join(cls.tmp, "dnsdist.log"), "wb")
        cls.addClassCleanup(log.close)
        cls.dnsdist = subprocess.Popen([DNSDIST, "--supervised", "--disable-syslog", "-C", conf],
                                       stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL)
        cls.addClassCleanup(stop_process, cls.dnsdist)
        cls.lb = (cls.addr[DNSDIST_ADDR], cls.dns_port)
        cls.web = f"http://{cls.addr[DNSDIST_ADDR]}:{cls.pair[(DNSDIST_ADDR, WEB_PORT)]}"
        # Every node up (two health checks in a row) before the test asks.
        cls.wait_until(lambda: cls.dnsdist_states() == {n: "up" for n in NODES},
                       30 * cls.factor,
                       f"dnsdist backends not all up:\n{cls.file_text('dnsdist.log')[-2000:]}",
                       step=0.2)

    @classmethod
    def dnsdist_states(cls):
        """{node name: 'up'/'down'} from dnsdist's API (README "Check the nodes")."""
        req = urllib.request.Request(cls.web + "/api/v1/servers/localhost",
                                     headers={"X-API-Key": WEB_SECRET})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                doc = json.load(r)
        except OSError:
            return {}
        return {s["name"]: s["state"].lower() for s in doc["servers"]}

    def via_lb(self, src, name, timeout=2.0, tries=1):
        msg = ask(src, self.lb[0], self.lb[1], name, timeout, tries)
        return None if msg is None else answer_of(msg)

    # -- Prometheus -----------------------------------------------------------------------
    @classmethod
    def start_prometheus(cls):
        """prometheus.yml as shipped (addresses substituted), with a 1 s scrape and rule
        evaluation and the rules' `for:` cut to 5 s, so that the feed-behind alert fires
        within the test; the rule file is the fleet's alerts.yml."""
        d = os.path.join(cls.fleet, "prometheus")
        with open(os.path.join(d, "prometheus.yml")) as f:
            text = f.read()
        text = re.sub(r"(scrape_interval|evaluation_interval): \S+", r"\1: 1s", text)
        with open(os.path.join(d, "prometheus.yml"), "w") as f:
            f.write(text)
        rules = os.path.join(d, "alerts.yml")
        if not os.path.exists(rules):
            # deploy/fleet/prometheus/alerts.yml comes from the `alerts` branch; until it is
            # merged, the rule the issue defines, as it will be written there.
            with open(rules, "w") as f:
                f.write(FEED_BEHIND_STANDIN)
        with open(rules) as f:
            text = f.read()
        with open(rules, "w") as f:
            f.write(re.sub(r"(\bfor:\s*)\d+[smhd]", r"\g<1>5s", text))
        cls.prom = f"http://{cls.addr[PROM_ADDR]}:{cls.ports[PROM_PORT]}"
        log = open(os.path.join(cls.tmp, "prometheus.log"), "wb")
        cls.addClassCleanup(log.close)
        proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={os.path.join(d, 'prometheus.yml')}",
             f"--storage.tsdb.path={os.path.join(cls.trial, 'prometheus')}",
             f"--web.listen-address={cls.addr[PROM_ADDR]}:{cls.ports[PROM_PORT]}",
             "--log.level=warn"], stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
        cls.addClassCleanup(lambda: (proc.terminate(), proc.wait(30)))
        cls.prometheus = proc

    def prom_get(self, path, **params):
        url = self.prom + path + ("?" + urllib.parse.urlencode(params) if params else "")
        with urllib.request.urlopen(url, timeout=10) as r:
            doc = json.load(r)
        self.assertEqual(doc["status"], "success", doc)
        return doc["data"]

    def prom_query(self, expr):
        return {tuple(sorted(x["metric"].items())): float(x["value"][1])
                for x in self.prom_get("/api/v1/query", query=expr)["result"]}

    def prom_wait(self, what, pred, timeout):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = pred()
                if last:
                    return last
            except OSError as e:  # Prometheus still starting
                last = e
            time.sleep(0.5)
        self.fail(f"Prometheus: {what} not within {timeout} s (last: {last});\n"
                  f"{self.file_text('prometheus.log')[-2000:]}")

    # -- the tests, in the README's order -------------------------------------------------
    def test_0_node_files_differ_only_in_the_node_lines(self):
        """The shipped node files: node2/node3 are node1 with its name and address replaced,
        so a change made to one node file and not the others fails here."""
        with open(os.path.join(FLEET, "sinkholed", "node1.yaml")) as f:
            one = f.read()
        for i, (name, addr) in enumerate(list(NODES.items())[1:], start=2):
            with open(os.path.join(FLEET, "sinkholed", f"{name}.yaml")) as f:
                text = f.read()
            want = (one.replace("node1", name).replace(NODES["node1"], addr)
                    .replace("node 1 of 3", f"node {i} of 3"))
            self.assertEqual(text, want, name)
        node_lines = [ln for ln in one.splitlines() if "# NODE" in ln]
        self.assertTrue(all("node1" in ln or NODES["node1"] in ln for ln in node_lines),
                        node_lines)

    def test_1_a_name_added_on_the_primary_is_blocked_everywhere_within_2s(self):
        name = "new-casino.example"
        for node in self.nodes.values():
            self.assertNotEqual(self.direct(node, BUSINESS[0], name), "nxdomain")
        before = {n: s.stats() for n, s in self.nodes.items()}
        limit = 2.0  # the figure, not scaled for sanitizers (see the docstring)
        t_commit = self.add_names(name)
        # Each node (and dnsdist) polled in its own thread: the first moment it blocks.
        seen = {}

        def watch(key, check):
            deadline = t_commit + limit + 5 * self.factor  # a miss is still measured
            while time.monotonic() < deadline:
                if check():
                    seen[key] = time.monotonic() - t_commit
                    return
                time.sleep(0.005)
        checks = {n: (lambda s=s: self.direct(s, BUSINESS[1], name, 0.5) == "nxdomain")
                  for n, s in self.nodes.items()}
        checks["dnsdist"] = lambda: self.via_lb(BUSINESS[2], name, 0.5) == "nxdomain"
        threads = [threading.Thread(target=watch, args=kv, daemon=True) for kv in checks.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(f"\nfleet: a name added on knotd blocked (s after zone-commit, limit {limit} s; "
              f"sanitizer factor {self.factor} for the other waits): "
              + ", ".join(f"{k} {seen[k]:.3f}" if k in seen else f"{k} never"
                          for k in checks))
        for k in checks:
            self.assertIn(k, seen, f"{k} did not block {name} within "
                          f"{limit + 5 * self.factor} s")
            self.assertLessEqual(seen[k], limit, f"{k}: time to enforce")
        for n, s in self.nodes.items():
            self.assertCountersAtLeast(s, before[n], notify_accepted=1)
            serial = re.search(r'sinkholed_list_serial\{list="national"\} (\d+)', s.metrics())
            self.assertIsNotNone(serial, n)
            self.assertGreaterEqual(int(serial.group(1)), 2, n)
            m = re.search(r'sinkholed_list_time_to_enforce_seconds\{list="national"\} '
                          r'([0-9.e+-]+)', s.metrics())
            print(f"fleet: {n} serial {serial.group(1)}, its own time to enforce "
                  f"(NOTIFY seen → serving) {float(m.group(1)):.3f} s")
            # README "Check enforcement": sinkholectl with the node file.
            self.assertEqual(ctl_list("national", config=s.config_path)["serial"],
                             int(serial.group(1)), n)
        # Both groups, through dnsdist: the subscriber's own group decides the answer.
        self.assertEqual(self.via_lb(RESIDENTIAL[3], name), WARNING_PAGE)
        self.assertEqual(self.via_lb(BUSINESS[3], name), "nxdomain")

    def test_2_client_groups_through_dnsdist(self):
        before = {n: s.stats() for n, s in self.nodes.items()}
        for src in RESIDENTIAL:
            self.assertEqual(self.via_lb(src, "www.casino.example"), WARNING_PAGE, src)
            self.assertEqual(self.via_lb(src, "www.example.test"), "192.0.2.1", src)
        for src in BUSINESS:
            self.assertEqual(self.via_lb(src, "www.casino.example"), "nxdomain", src)
            self.assertEqual(self.via_lb(src, "www.example.test"), "192.0.2.1", src)
        # A client in no group is refused: its own address reached the nodes, not dnsdist's
        # (dnsdist's own address would get the load-balancer policy's answer).
        msg = ask("127.0.4.9", self.lb[0], self.lb[1], "www.casino.example")
        self.assertIsNotNone(msg)
        self.assertEqual(msg.rcode_name, "REFUSED")
        # Carried by PROXY v2 headers; health checks (LOCAL) never counted as missing.
        after = {n: s.stats() for n, s in self.nodes.items()}
        proxied = sum(after[n].get("queries_proxied", 0) - before[n].get("queries_proxied", 0)
                      for n in self.nodes)
        self.assertGreaterEqual(proxied, 4 * len(RESIDENTIAL) + 1)
        for n in self.nodes:
            self.assertEqual(after[n].get("proxy_header_missing"), 0, n)
            self.assertEqual(after[n].get("proxy_header_untrusted"), 0, n)
        self.assertEqual(self.dnsdist_states(), {n: "up" for n in NODES})

    def test_3_prometheus_scrapes_every_node(self):
        def all_up():
            got = self.prom_query('up{job="sinkholed"}')
            nodes = {dict(k)["node"]: v for k, v in got.items()}
            return nodes if nodes == {n: 1.0 for n in NODES} else None
        self.prom_wait("up{job=sinkholed} for node1..3", all_up, 60 * self.factor)
        serials = self.prom_wait(
            "sinkholed_list_serial of every node",
            lambda: (lambda r: r if len(r) == 3 else None)(
                {dict(k)["node"]: v
                 for k, v in self.prom_query('sinkholed_list_serial{list="national"}').items()}),
            60 * self.factor)
        self.assertEqual(len(set(serials.values())), 1, serials)
        rules = [r["name"] for g in self.prom_get("/api/v1/rules")["groups"]
                 for r in g["rules"]]
        self.assertIn("SinkholedFeedBehind", rules)

    def test_4_feed_behind_alert_for_a_node_cut_off_from_the_primary(self):
        cut = self.nodes[CUT_NODE]
        others = [s for n, s in self.nodes.items() if n != CUT_NODE]
        self.relay.stop()
        t_commit = self.add_names("cut-off.example")
        for s in others:
            self.wait_until(lambda s=s: self.direct(s, BUSINESS[0], "cut-off.example")
                            == "nxdomain", 10 * self.factor, s.name)
        self.assertNotEqual(self.direct(cut, BUSINESS[0], "cut-off.example"), "nxdomain")

        def firing():
            alerts = self.prom_get("/api/v1/alerts")["alerts"]
            return [a for a in alerts if a["labels"].get("alertname") == "SinkholedFeedBehind"
                    and a["state"] == "firing"]
        alerts = self.prom_wait("SinkholedFeedBehind firing", firing, 90 * self.factor)
        print(f"\nfleet: SinkholedFeedBehind firing {time.monotonic() - t_commit:.1f} s after "
              f"the commit (for: 5s in the test, 5m as shipped): "
              f"{[a['labels'] for a in alerts]}")
        self.assertEqual({a["labels"].get("node") for a in alerts}, {CUT_NODE})
        # The path back: the next change reaches it (NOTIFY → IXFR of both changes).
        self.relay.start()
        self.add_names("after-cut.example")
        for name in ("cut-off.example", "after-cut.example"):
            self.wait_until(lambda n=name: self.direct(cut, BUSINESS[0], n) == "nxdomain",
                            30 * self.factor, f"{CUT_NODE} catching up ({name})")
        self.prom_wait("SinkholedFeedBehind resolved", lambda: not firing(), 60 * self.factor)

    def test_5_fleet_report_merges_the_nodes_protected_users(self):
        """README "The fleet report": subscribers seen by several nodes count once."""
        # Through dnsdist every subscriber of both groups was protected (test 2); some ask
        # node2 and node3 directly too, as if dnsdist had sent them there.
        for src in RESIDENTIAL[:5] + BUSINESS[:5]:
            self.assertEqual(self.direct(self.nodes["node2"], src, "bet.example") is not None,
                             True)
        for src in RESIDENTIAL[3:8]:
            self.assertIsNotNone(self.direct(self.nodes["node3"], src, "www.bet.example"))
        nodes = [s.metrics_url for s in self.nodes.values()]
        argv = [sinkholectl_binary(), "fleet-report", "--json"]
        for url in nodes:
            argv += ["--node", url]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                             stdin=subprocess.DEVNULL)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        report = json.loads(out.stdout)
        rows = {(r["category"], r["window"]): r for r in report["rows"]}
        row = rows[("regulator", "last_hour")]
        # The subscribers (20). dnsdist's health checks (PROXY v2 LOCAL) are answered by the
        # national zone's rule on every node, but a load balancer is not a subscriber: not
        # counted.
        union = len(RESIDENTIAL) + len(BUSINESS)
        print(f"\nfleet: fleet-report regulator/last_hour: fleet {row['fleet_distinct_clients']}"
              f", sum of nodes {row['sum_of_nodes']}, per node {row['per_node']}; "
              f"true union {union}")
        self.assertEqual(row["nodes_merged"], 3)
        self.assertAlmostEqual(row["fleet_distinct_clients"], union, delta=0.5)
        self.assertGreater(row["sum_of_nodes"], union + 10)
        self.assertEqual(len(report["nodes"]), 3, report["nodes"])
        self.assertRegex(report["key_fingerprint"], r"^[0-9a-f]{16}$")  # the shared key's
        # The table, as README shows it.
        table = subprocess.run(argv[:2] + argv[3:], capture_output=True, text=True, timeout=60,
                               stdin=subprocess.DEVNULL)
        self.assertEqual(table.returncode, 0, table.stderr)
        self.assertIn("3 nodes merged", table.stdout)

    def test_6_a_node_killed_dnsdist_routes_around_it(self):
        # leastOutstanding sends a quiet fleet's queries to one node (the lowest latency):
        # kill the one that answers now (README: `id.server CH TXT` names it).
        reply = udp_from(RESIDENTIAL[0], self.lb[0], self.lb[1],
                         build_query("id.server.", "TXT", "CH"), 5.0)
        self.assertIsNotNone(reply)
        found = re.search(r"node\d", repr(parse(reply).answer))
        self.assertIsNotNone(found, repr(parse(reply).answer))
        dead = found.group(0)
        alive = [n for n in NODES if n != dead]
        victim = self.nodes[dead]
        victim.kill()
        t_kill = time.monotonic()
        answered = 0
        # A stub's retries (1 s, 3 tries) for every question while dnsdist finds out.
        while self.dnsdist_states().get(dead) != "down":
            self.assertLess(time.monotonic() - t_kill, 30 * self.factor, f"{dead} never down")
            for src, want in ((RESIDENTIAL[5], WARNING_PAGE), (BUSINESS[5], "nxdomain")):
                self.assertEqual(self.via_lb(src, "bet.example", 1.0, tries=3), want)
                answered += 1
        t_down = time.monotonic() - t_kill
        for i in range(20):
            self.assertEqual(self.via_lb(RESIDENTIAL[i % 10], f"x{i}.bet.example"),
                             WARNING_PAGE)
            self.assertEqual(self.via_lb(BUSINESS[i % 10], f"x{i}.casino.example"), "nxdomain")
        print(f"\nfleet: {dead} killed: dnsdist marked it down after {t_down:.2f} s; "
              f"{answered} questions meanwhile and 40 after, all answered")
        self.assertEqual(self.dnsdist_states(), {dead: "down", **{n: "up" for n in alive}})
        # README "Check the nodes": the console, and dnsdist's and the nodes' metrics.
        conf = os.path.join(self.fleet, "dnsdist", "dnsdist.conf")
        out = subprocess.run([DNSDIST, "-C", conf, "-c", "-e", "showServers()"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        states = {m.group(1): m.group(2) for m in
                  re.finditer(r"^\s*\d+\s+(node\d)\s+\S+\s+(up|down)\b", out.stdout, re.M)}
        self.assertEqual(states, {dead: "down", **{n: "up" for n in alive}}, out.stdout)

        def seen_down():
            status = {dict(k)["server"]: v
                      for k, v in self.prom_query("dnsdist_server_status").items()}
            up = {dict(k)["node"]: v for k, v in self.prom_query('up{job="sinkholed"}').items()}
            want_status = {dead: 0.0, **{n: 1.0 for n in alive}}
            return (status, up) if status == want_status and up == want_status else None
        self.prom_wait(f"{dead} down in dnsdist_server_status and up", seen_down,
                       60 * self.factor)

    def test_7_dnsdist_health_checks_carry_a_proxy_v2_local_header(self):
        """What the nodes rely on (they drop a query without a header from dnsdist's
        address): the shipped dnsdist.conf, its nodes replaced by Python listeners, sends
        every health check from `source` with a PROXY v2 LOCAL header (no address) and then
        the check's question."""
        override = {DNSDIST_ADDR: random_loopback()}
        listeners = {}
        for name, trial_addr in NODES.items():
            override[trial_addr] = random_loopback()
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.addCleanup(u.close)
            u.bind((override[trial_addr], self.dns_port))
            u.settimeout(20 * self.factor)
            listeners[name] = u
        with open(os.path.join(FLEET, "dnsdist", "dnsdist.conf")) as f:
            text = self.substitute(f.read(), override)
        conf = os.path.join(self.tmp, "probe-dnsdist.conf")
        with open(conf, "w") as f:
            f.write(text)
        log = open(os.path.join(self.tmp, "probe-dnsdist.log"), "wb")
        self.addCleanup(log.close)
        proc = subprocess.Popen([DNSDIST, "--supervised", "--disable-syslog", "-C", conf],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.addCleanup(stop_process, proc)
        for name, u in listeners.items():
            data, (src, _) = u.recvfrom(65535)
            self.assertEqual(src, override[DNSDIST_ADDR], name)
            self.assertEqual(data[:12], PROXY_V2_SIGNATURE, (name, data[:16].hex()))
            # version 2 + command LOCAL, family UNSPEC, no address block.
            self.assertEqual(data[12:16], b"\x20\x00\x00\x00", (name, data[:16].hex()))
            q = parse(data[16:])
            self.assertEqual([(n.lower(), t) for n, t, _ in q.questions],
                             [("health.fleet.invalid.", 1)], name)  # A
        print(f"\nfleet: dnsdist's health checks (useProxyProtocol=true): PROXY v2 LOCAL "
              f"header 0d0a0d0a000d0a515549540a 20 00 0000 + the question, from `source`")


PROXY_V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"

# The feed-behind rule as the issue defines it, used only while the branch that ships
# deploy/fleet/prometheus/alerts.yml is not merged into this one.
FEED_BEHIND_STANDIN = """\
groups:
  - name: sinkholed-fleet
    rules:
      - alert: SinkholedFeedBehind
        expr: |
          sinkholed_list_serial
            < on (list) group_left max by (list) (sinkholed_list_serial)
        for: 5m
        labels: { severity: warning }
        annotations:
          summary: "{{ $labels.node }}: list {{ $labels.list }} behind the fleet"
"""


if __name__ == "__main__":
    unittest.main(verbosity=2)
