# SPDX-License-Identifier: MIT
"""HTTP(S) list sources (`lists.<name>.url`) against Debian's real nginx on loopback.

One sinkholed, one nginx (plain HTTP and HTTPS with a CA made by openssl for this run), and
lists that go through their stages side by side, each on its own URL, so that the 10 s
minimum `refresh` is waited out once per stage, not once per list:

  - 200 at start → the names are blocked; the next request of each list carries the
    validators and nginx answers 304 (its access log), nothing is rebuilt (the snapshot
    generation stays), `sinkholed_list_fetches_total{outcome="not_modified"}` counts it;
  - a changed file → the new name is blocked after one refresh (time from the file change
    on nginx to the name blocked, and the logged time to enforce, printed);
  - HTTPS with `ca_file`: blocked; the same server without `ca_file` fails verification:
    a saved copy keeps serving, the failure is counted and logged once;
  - the list guard on a download: an empty body, an HTML error page and a shrink past
    max_shrink are refused (audit log "refused", sinkholed_list_reload_failures_total) and
    the old copy keeps serving;
  - `max_bytes`: an oversized download fails (counted), the copy serving stays;
  - nginx stopped: failures counted, one warning per list, the copies keep serving;
  - sinkholed restarted while nginx is down serves the saved copies at once.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnswire import NOERROR, NXDOMAIN  # noqa: E402
from policy_harness import PolicyTestCase  # noqa: E402
from processes import free_port, free_tcp_port, scrape_metrics  # noqa: E402
from zones import soa_zone_text  # noqa: E402

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
CLIENT = "127.0.0.2"
ADDR = "127.0.0.1"  # nginx listens here (and only here)
REFRESH = 10        # the smallest refresh the configuration accepts
# One refresh plus a build under a sanitizer on a loaded two-core machine.
STAGE = REFRESH + 40


def names(prefix, n):
    return [f"{prefix}{i}.http.test" for i in range(n)]


def body(ns):
    return "".join(n + "\n" for n in ns)


HTML_502 = ("<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n"
            "<center><h1>502 Bad Gateway</h1></center>\n<hr><center>nginx</center>\n"
            "</body>\n</html>\n")

PLAIN = names("plain", 20)
TLS = names("tls", 20)
NOCA = names("noca", 20)
EMPTY = names("empty", 20)
HTML = names("html", 20)
SHRINK = names("shrink", 20)
BIG = names("big", 20)
NEW = "fresh.plain.http.test"


def zones():
    # Every other name answers 192.0.2.1, so a blocked name (NXDOMAIN) is unmistakable.
    return {"http.test": soa_zone_text("http.test", ["* 600 IN A 192.0.2.1"])}


def run(*argv, cwd=None):
    r = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError(f"{argv} exited {r.returncode}:\n{r.stderr[-2000:]}")
    return r.stdout


def make_ca(d):
    """A CA and a server certificate for 127.0.0.1 (IP SAN) signed by it, made now."""
    run(OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=sinkholed test CA", "-keyout", "ca.key", "-out", "ca.pem", cwd=d)
    run(OPENSSL, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", "server.key", "-out", "server.csr", cwd=d)
    with open(os.path.join(d, "san.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n")
    run(OPENSSL, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.pem", cwd=d)
    return os.path.join(d, "ca.pem")


class Nginx:
    """Debian's nginx in the foreground as this user: plain HTTP and HTTPS on 127.0.0.1,
    serving `root` (static files: nginx sends ETag and Last-Modified and answers 304 to
    If-None-Match), one access log line per request: `status uri if-none-match`."""

    def __init__(self, d):
        self.dir = d
        self.root = os.path.join(d, "www")
        os.makedirs(self.root, exist_ok=True)
        for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        self.access_log = os.path.join(d, "access.log")
        self.error_log = os.path.join(d, "error.log")
        self.proc = None
        self.http_port = self.https_port = None

    def put(self, name, text):
        path = os.path.join(self.root, name)
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)

    def conf(self):
        d = self.dir
        user = ""
        if os.geteuid() == 0:
            import pwd
            user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n"
        return (f"{user}worker_processes 1;\n"
                "events { worker_connections 64; }\n"
                "http {\n"
                "    default_type text/plain;\n"
                "    log_format t escape=none '$status $uri \"$http_if_none_match\"';\n"
                f"    access_log {self.access_log} t;\n"
                f"    client_body_temp_path {d}/client_body;\n"
                f"    proxy_temp_path {d}/proxy;\n"
                f"    fastcgi_temp_path {d}/fastcgi;\n"
                f"    uwsgi_temp_path {d}/uwsgi;\n"
                f"    scgi_temp_path {d}/scgi;\n"
                f"    server {{ listen {ADDR}:{self.http_port}; root {self.root}; }}\n"
                f"    server {{ listen {ADDR}:{self.https_port} ssl; root {self.root};\n"
                f"        ssl_certificate {d}/server.pem; ssl_certificate_key {d}/server.key; }}\n"
                "}\n")

    def start(self, timeout=10.0):
        if not os.path.exists(NGINX):
            raise RuntimeError(f"{NGINX} not found: run deploy/install-deps.sh")
        keep_ports = self.http_port is not None
        for _ in range(4):
            if not keep_ports:
                self.http_port = free_tcp_port(ADDR)
                self.https_port = free_tcp_port(ADDR)
            conf = os.path.join(self.dir, "nginx.conf")
            with open(conf, "w") as f:
                f.write(self.conf())
            self.proc = subprocess.Popen(
                [NGINX, "-e", self.error_log, "-c", conf, "-p", self.dir + "/", "-g",
                 f"daemon off; pid {self.dir}/nginx.pid;"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True)
            if self._wait_ready(timeout):
                return self
            self.stop()
            if keep_ports:
                break
        raise RuntimeError(f"nginx did not start:\n{self.log_text()[-3000:]}")

    def _wait_ready(self, timeout):
        self.put("ready.txt", "ok\n")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"http://{ADDR}:{self.http_port}/ready.txt",
                                            timeout=1) as r:
                    if r.status == 200:
                        return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def log_text(self):
        try:
            with open(self.error_log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def requests(self, uri):
        """[(status, if-none-match)] of every request of `uri`, in order."""
        out = []
        try:
            with open(self.access_log) as f:
                for line in f:
                    m = re.match(r'(\d+) (\S+) "(.*)"$', line.rstrip("\n"))
                    if m and m.group(2) == uri:
                        out.append((int(m.group(1)), m.group(3)))
        except OSError:
            pass
        return out

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc = None


def seed_copy(state_dir, name, text, origin):
    """A saved `current` copy of list `name`, as an earlier run would have left it."""
    d = os.path.join(state_dir, "lists", name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "current"), "w") as f:
        f.write(text)
    meta = {"source": "http", "who": "feed", "origin": origin, "version": "etag \"seeded\"",
            "etag": "\"seeded\"", "last_modified": "", "hash": "", "bytes": len(text),
            "seen_unix_ms": 1, "written_unix_ms": 1}
    with open(os.path.join(d, "current.meta.json"), "w") as f:
        json.dump(meta, f)


class HttpSourceTest(PolicyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.knot = cls.class_knot(zones=zones(), signed=())

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="sinkholed-http-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.state_dir = os.path.join(self.tmp, "state")
        os.makedirs(self.state_dir)
        self.nginx = Nginx(os.path.join(self.tmp, "nginx"))
        self.ca = make_ca(self.nginx.dir)
        self.addCleanup(self.nginx.stop)
        self.mport = free_tcp_port("127.0.0.1")

    # -- helpers ----------------------------------------------------------------------
    def policy(self):
        http = f"http://{ADDR}:{self.nginx.http_port}"
        https = f"https://{ADDR}:{self.nginx.https_port}"
        lists = {
            "plain": f"url: {http}/plain.txt",
            "tls": f"url: {https}/tls.txt, ca_file: {self.ca}",
            "noca": f"url: {https}/noca.txt",
            "empty": f"url: {http}/empty.txt",
            "html": f"url: {http}/html.txt",
            "shrink": f"url: {http}/shrink.txt",
            "big": f"url: {http}/big.txt, max_bytes: 2KiB",
        }
        rows = "".join(f"  {n}: {{ {src}, refresh: {REFRESH}s, format: domains, "
                       f"category: gambling }}\n" for n, src in lists.items())
        block = ", ".join(f"{{ list: {n}, action: nxdomain }}" for n in lists)
        return (f"metrics:\n  listen: \"127.0.0.1:{self.mport}\"\n"
                f"lists:\n{rows}"
                "policies:\n"
                "  - name: subscribers\n"
                f"    clients: [\"{CLIENT}/32\"]\n"
                f"    block: [{block}]\n")

    def start_sinkholed(self):
        return self.start_policy_sinkholed([self.knot.upstream], self.policy(),
                                           server={"state_dir": self.state_dir})

    def blocked(self, s, name):
        return s.ask(CLIENT, name).rcode == NXDOMAIN

    def assertBlocked(self, s, *ns):
        for n in ns:
            self.assertEqual(s.ask(CLIENT, n).rcode, NXDOMAIN, f"{n} is not blocked:\n"
                             f"{s.log_text()[-3000:]}")

    def wait(self, what, pred, timeout=STAGE, s=None):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            v = pred()
            if v:
                return v
            time.sleep(0.1)
        log = s.log_text()[-4000:] if s else ""
        self.fail(f"{what}: not within {timeout} s\n{log}")

    def metrics(self):
        return scrape_metrics(self.mport)

    def metric(self, text, family, **labels):
        want = ",".join(f'{k}="{v}"' for k, v in labels.items())
        for line in text.splitlines():
            if line.startswith(family + "{" + want + "}") or (
                    not labels and line.startswith(family + " ")):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    def metric_sum(self, text, family, **labels):
        """The sum of every sample of `family` whose labels include `labels`."""
        total = 0.0
        for line in text.splitlines():
            if not line.startswith(family + "{"):
                continue
            if all(f'{k}="{v}"' in line for k, v in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def fetches(self, list_, outcome):
        return self.metric(self.metrics(), "sinkholed_list_fetches_total", list=list_,
                           outcome=outcome)

    def generation(self):
        return self.metric(self.metrics(), "sinkholed_snapshot_generation")

    def audit(self):
        path = os.path.join(self.state_dir, "audit.log")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def audited(self, list_, event):
        return [e for e in self.audit() if e.get("list") == list_ and e.get("event") == event]

    # -- the test ---------------------------------------------------------------------
    def test_http_sources(self):
        n = self.nginx
        n.http_port = free_tcp_port(ADDR)
        n.https_port = free_tcp_port(ADDR)
        for f, ns in (("plain", PLAIN), ("tls", TLS), ("noca", NOCA), ("empty", EMPTY),
                      ("html", HTML), ("shrink", SHRINK), ("big", BIG)):
            n.put(f + ".txt", body(ns))
        n.start()
        # noca's copy from an earlier run: it serves although its server cannot be verified.
        seed_copy(self.state_dir, "noca", body(NOCA),
                  f"https://{ADDR}:{n.https_port}/noca.txt")
        s = self.start_sinkholed()

        # 1. At start: every list downloaded (200) and built; noca serves its saved copy.
        self.assertBlocked(s, NOCA[0], NOCA[-1])
        for ns in (PLAIN, TLS, EMPTY, HTML, SHRINK, BIG):
            self.wait(f"{ns[0]} blocked", lambda ns=ns: self.blocked(s, ns[-1]), s=s)
        self.assertEqual(s.ask(CLIENT, "other.http.test").rcode, NOERROR)
        self.assertEqual(n.requests("/plain.txt")[0], (200, ""))  # no If-None-Match
        self.assertEqual(n.requests("/tls.txt")[0][0], 200)
        self.assertEqual(self.audited("plain", "installed")[0]["source"], "http")
        self.assertTrue(self.audited("plain", "installed")[0]["new_version"].startswith("etag "))
        with open(os.path.join(self.state_dir, "lists/plain/current.meta.json")) as f:
            meta = json.load(f)
        self.assertTrue(meta["etag"].startswith('"'), meta)
        self.assertEqual(meta["origin"], f"http://{ADDR}:{n.http_port}/plain.txt")
        # Without ca_file the test CA is unknown: verification fails, counted, logged once.
        self.wait("noca's failure counted", lambda: self.fetches("noca", "failed") >= 1, s=s)
        self.assertRegex(s.log_text(), r"list noca: https://.*certificate")
        self.assertEqual(n.requests("/noca.txt"), [])  # no request got through the handshake
        self.assertBlocked(s, NOCA[0])

        # 2. The next round: 304 Not Modified for every list, no rebuild.
        gen = self.generation()
        for uri in ("/plain.txt", "/tls.txt", "/empty.txt"):
            self.wait(f"a second request of {uri}", lambda uri=uri: len(n.requests(uri)) >= 2, s=s)
        second = n.requests("/plain.txt")[1]
        self.assertEqual(second[0], 304, n.requests("/plain.txt"))
        self.assertEqual(second[1], meta["etag"])  # If-None-Match: the saved ETag
        self.assertEqual(n.requests("/tls.txt")[1][0], 304)
        self.wait("the 304 counted", lambda: self.fetches("plain", "not_modified") >= 1, s=s)
        self.assertEqual(self.fetches("plain", "downloaded"), 1)
        self.assertEqual(self.generation(), gen, "a 304 must not rebuild")
        self.assertEqual(len(self.audited("plain", "installed")), 1)

        # 3. Changes on nginx, all at once: a new name, an empty file, an HTML page, a
        # shrink to 5 of 20 names, a file over max_bytes.
        seen_before = s.log_size()
        changed = time.monotonic()
        n.put("plain.txt", body(PLAIN + [NEW]))
        n.put("empty.txt", "")
        n.put("html.txt", HTML_502)
        n.put("shrink.txt", body(SHRINK[:5]))
        n.put("big.txt", body(names("bigger", 200)))
        self.wait(f"{NEW} blocked", lambda: self.blocked(s, NEW), s=s)
        to_block = time.monotonic() - changed
        m = self.wait("the time to enforce logged", lambda: re.search(
            r"list plain: http etag \S+ serving \(was etag \S+; ([0-9.]+) s after",
            s.log_since(seen_before)), s=s)
        print(f"\nfile changed on nginx -> {NEW} blocked: {to_block:.2f} s "
              f"(refresh {REFRESH} s); download -> serving (time to enforce): "
              f"{float(m.group(1)):.3f} s", file=sys.stderr)
        self.assertLess(to_block, STAGE)
        for lst in ("empty", "html", "shrink"):
            self.wait(f"{lst} refused", lambda lst=lst: self.audited(lst, "refused"), s=s)
            ev = self.audited(lst, "refused")[0]
            self.assertEqual(ev["source"], "http")
            self.assertIn(lst, ev["reason"])
        self.wait("big failed", lambda: self.fetches("big", "failed") >= 1, s=s)
        self.assertIn("max_bytes (2048 bytes)", s.log_since(seen_before))
        # Every old copy still serves.
        self.assertBlocked(s, EMPTY[0], HTML[0], SHRINK[-1], BIG[-1], PLAIN[0], NEW)
        text = self.metrics()
        for lst, reason in (("empty", "empty"), ("html", None), ("shrink", "shrink")):
            labels = {"list": lst, **({"reason": reason} if reason else {})}
            self.assertGreaterEqual(self.metric_sum(text, "sinkholed_list_reload_failures_total",
                                                    **labels), 1, text)
        self.assertEqual(self.metric(text, "sinkholed_list_fetches_total", list="big",
                                     outcome="downloaded"), 1)
        # The refused copies are asked for again with their own validators: 304, not a
        # second refusal each round.
        for uri in ("/empty.txt", "/shrink.txt"):
            k = len(n.requests(uri))
            self.wait(f"{uri} asked again", lambda uri=uri, k=k: len(n.requests(uri)) > k, s=s)
            self.assertEqual(n.requests(uri)[-1][0], 304, n.requests(uri))
        self.assertEqual(len(self.audited("empty", "refused")), 1)
        self.assertNotIn("candidate", os.listdir(os.path.join(self.state_dir, "lists/empty")))

        # 4. nginx stopped: failures counted, one warning per list, the copies serve.
        before = {lst: self.fetches(lst, "failed") for lst in ("plain", "tls")}
        log_at = s.log_size()
        n.stop()
        for lst in ("plain", "tls"):
            self.wait(f"{lst} failing", lambda lst=lst: self.fetches(lst, "failed")
                      >= before[lst] + 2, timeout=2 * STAGE, s=s)
        warned = re.findall(r" warning list plain: http://\S+: .*connect",
                            s.log_since(log_at))
        self.assertEqual(len(warned), 1, s.log_since(log_at))
        self.assertBlocked(s, PLAIN[0], NEW, TLS[0])

        # 5. A restart with nginx still down serves the saved copies at once.
        s.stop()
        t0 = time.monotonic()
        s = self.start_sinkholed()
        self.assertBlocked(s, PLAIN[0], NEW, TLS[-1], NOCA[0], EMPTY[0], SHRINK[-1], BIG[0])
        print(f"restart with nginx down -> saved copies blocking: "
              f"{time.monotonic() - t0:.2f} s", file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
