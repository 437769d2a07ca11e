# SPDX-License-Identifier: MIT
"""The warning page (deploy/warning-page/) as a subscriber meets it: a real sinkholed
answers a blocked name with the warning server's address, Debian's nginx serves the shipped
site file there (only its listen lines, document root and proxy target rewritten for
loopback), and headless Chromium renders the page. Checked: the page for any Host and
path (status 451, no-store, host written in for browsers without JavaScript), the
/sinkholed/explain proxy (own host and own client address only), the rendered host,
category in Vietnamese and English and legal basis (the EDE text, then the list's basis:
authority · reference · date and a link to its url), a screenshot with the stylesheet
applied, "no blocking information" for a host that is not blocked, and the generic page
when sinkholed cannot be reached.

Chromium never leaves loopback: *.warn.test maps to the test's nginx, every other name
fails to resolve (--host-resolver-rules), and background networking is off. The screenshot is kept in
$SINKHOLE_TEST_OUTPUT/warning-page/ (default: <build tree>/test-output/, else a
directory under /tmp)."""

import http.client
import json
import os
import pwd
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from policy_harness import PolicyTestCase, ede_of  # noqa: E402
from processes import (  # noqa: E402
    REPO, free_port, free_tcp_port, require_ipv6, sinkholed_binary, unused_port_upstream,
)

SITE_DIR = os.path.join(REPO, "deploy", "warning-page")
SITE_CONF = os.path.join(SITE_DIR, "nginx-site.conf")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
# The browser itself, not Debian's /usr/bin/chromium wrapper: the wrapper adds flags of its
# own (--enable-remote-extensions) and exports Google API keys.
CHROMIUM = next((p for p in ("/usr/lib/chromium/chromium", shutil.which("chromium"))
                 if p and os.path.exists(p)), "/usr/bin/chromium")

WARNING_ADDR = "127.0.0.1"  # the sinkhole action's a: and the address nginx listens on
SUBSCRIBER = "127.0.0.1"    # urllib/http.client and Chromium connect from here
STAFF = "127.0.0.9"         # a client of another policy, for which nothing is blocked
BLOCKED_HOST = "www.casino.warn.test"
OPEN_HOST = "www.open.warn.test"
LEGAL = "Blocked under Decree 147/2024/ND-CP (list casinos, category gambling)"

POLICY = """\
metrics:
  listen: "127.0.0.1:{mport}"
lists:
  casinos:
    path: casinos.txt
    category: gambling
    basis: {{ authority: "Bộ TT&TT", reference: "QĐ 1234/QĐ-BTTTT", date: 2024-11-09,
             url: "https://regulator.example/d/1234?a=1&b=2" }}
actions:
  warning-page:
    type: sinkhole
    a: {warning}
    ede: censored
    ede_text: "Blocked under Decree 147/2024/ND-CP (list {{list}}, category {{category}})"
policies:
  - name: subscribers
    clients: ["{subscriber}/32", "::1/128"]
    block:
      - {{ list: casinos, action: warning-page }}
  - name: staff
    clients: ["127.0.0.0/8"]
"""

FILES = {"casinos.txt": "casino.warn.test\n"}

# What the page says, as warning.js and index.html write it.
TITLE_BLOCKED = ("Trang web này đã bị chặn", "This website has been blocked")
TITLE_NOT_BLOCKED = ("Không có thông tin chặn", "No blocking information")
GAMBLING = ("Cờ bạc", "Gambling")
UNAVAILABLE = ("Hiện không lấy được thông tin chi tiết", "The details (category, legal basis) "
               "are not available right now")


def output_dir():
    """$SINKHOLE_TEST_OUTPUT/warning-page, else <build tree>/test-output/warning-page (the
    build tree of $SINKHOLED), else /tmp/sinkholed-test-output/warning-page."""
    base = os.environ.get("SINKHOLE_TEST_OUTPUT")
    if not base:
        build = os.path.dirname(os.path.dirname(os.path.abspath(sinkholed_binary())))
        if os.path.exists(os.path.join(build, "CMakeCache.txt")):
            base = os.path.join(build, "test-output")
        else:
            base = os.path.join(tempfile.gettempdir(), "sinkholed-test-output")
    path = os.path.join(base, "warning-page")
    os.makedirs(path, exist_ok=True)
    return path


def http_get(port, path, host, src=SUBSCRIBER, addr=WARNING_ADDR, method="GET", timeout=5):
    """(status, headers, body bytes) of one request with this Host, sent from `src`."""
    conn = http.client.HTTPConnection(addr, port, timeout=timeout, source_address=(src, 0))
    try:
        conn.request(method, path, headers={"Host": host, "Connection": "close"})
        r = conn.getresponse()
        return r.status, r.headers, r.read()
    finally:
        conn.close()


def stop_group(proc, sig=signal.SIGTERM, timeout=5.0):
    """Stops a child started with start_new_session=True, and whatever it started in its
    own process group (Chromium's helpers), by that group's id."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        except ProcessLookupError:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if proc.poll() is None:
        proc.wait(5)


# ---------------------------------------------------------------------------------------
# nginx
# ---------------------------------------------------------------------------------------

def site_conf_for_test(listen_port, explain_port):
    """The shipped site file with loopback listen lines, the source tree as document root and
    the test's metrics port as proxy target. Each rewrite must hit exactly once: a changed
    site file fails here rather than being tested in a shape nobody ships."""
    with open(SITE_CONF) as f:
        text = f.read()
    v6 = f"listen [::1]:{listen_port} default_server;"
    rewrites = [
        (r"^(\s*)listen 80 default_server;", rf"\1listen 127.0.0.1:{listen_port} default_server;"),
        (r"^(\s*)listen \[::\]:80 default_server;", rf"\g<1>{v6}"),
        (r"^(\s*)root /var/www/sinkholed-warning;", rf"\1root {SITE_DIR};"),
        (r"proxy_pass http://127\.0\.0\.1:9153/", f"proxy_pass http://127.0.0.1:{explain_port}/"),
    ]
    for pattern, repl in rewrites:
        text, n = re.subn(pattern, repl, text, flags=re.M)
        if n != 1:
            raise AssertionError(f"{SITE_CONF}: expected one line matching {pattern!r}, "
                                 f"found {n}")
    return text


class Nginx:
    """Debian's nginx in the foreground as this user, with a generated top-level config
    that includes the rewritten site file. Stopped through its own process group (the
    master and its worker)."""

    def __init__(self, explain_port):
        self.explain_port = explain_port
        self.dir = None
        self.proc = None
        self.port = None

    def start(self, timeout=10.0):
        if not os.path.exists(NGINX):
            raise RuntimeError(f"{NGINX} not found: run deploy/install-deps.sh")
        self.dir = tempfile.mkdtemp(prefix="nginx-warning-")
        for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            os.mkdir(os.path.join(self.dir, sub))
        self.error_log = os.path.join(self.dir, "error.log")
        require_ipv6()  # the shipped site listens on [::]:80 too; here on [::1]
        for _ in range(4):
            self.port = free_port([WARNING_ADDR, "::1"])
            with open(os.path.join(self.dir, "nginx-site.conf"), "w") as f:
                f.write(site_conf_for_test(self.port, self.explain_port))
            conf = os.path.join(self.dir, "nginx.conf")
            with open(conf, "w") as f:
                f.write(self._top_conf())
            self.proc = subprocess.Popen(
                [NGINX, "-e", self.error_log, "-c", conf, "-p", self.dir + "/", "-g",
                 f"daemon off; pid {self.dir}/nginx.pid; error_log {self.error_log} info;"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True)  # its worker goes with it (stop_group)
            if self._wait_ready(timeout):
                return self
            stop_group(self.proc, signal.SIGKILL)
            if "Address already in use" not in self.log_text():
                break
        raise RuntimeError(f"nginx did not start:\n{self.log_text()[-3000:]}")

    def _top_conf(self):
        d = self.dir
        # As root, the workers would otherwise run as nobody; stay the user we are.
        user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""
        return (f"{user}worker_processes 1;\n"
                "events { worker_connections 64; }\n"
                "http {\n"
                "    include /etc/nginx/mime.types;\n"
                "    default_type application/octet-stream;\n"
                f"    access_log {d}/access.log;\n"
                f"    client_body_temp_path {d}/client_body;\n"
                f"    proxy_temp_path {d}/proxy;\n"
                f"    fastcgi_temp_path {d}/fastcgi;\n"
                f"    uwsgi_temp_path {d}/uwsgi;\n"
                f"    scgi_temp_path {d}/scgi;\n"
                f"    include {d}/nginx-site.conf;\n"
                "}\n")

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                status, _, _ = http_get(self.port, "/sinkholed/warning.css", "ready.test",
                                        timeout=1)
                if status == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def log_text(self):
        try:
            with open(self.error_log, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None:
            stop_group(self.proc, signal.SIGQUIT)  # graceful: finish requests, then exit
            self.proc = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


# ---------------------------------------------------------------------------------------
# Chromium
# ---------------------------------------------------------------------------------------

# Nothing but the page: no updates, sync, crash reports, metrics, safe browsing, DNS
# prefetch, QUIC, or HTTPS upgrades of the test's http:// URLs.
CHROMIUM_QUIET = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--no-first-run", "--no-default-browser-check", "--disable-default-apps",
    "--disable-extensions", "--disable-component-update", "--disable-background-networking",
    "--disable-sync", "--disable-breakpad", "--disable-crash-reporter",
    "--disable-domain-reliability", "--disable-client-side-phishing-detection",
    "--metrics-recording-only", "--no-pings", "--dns-prefetch-disable", "--disable-quic",
    "--no-proxy-server", "--password-store=basic", "--use-mock-keychain", "--mute-audio",
    "--hide-scrollbars", "--force-color-profile=srgb", "--disable-field-trial-config",
    "--disable-component-extensions-with-background-pages",
    "--disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable,Translate,"
    "OptimizationHints,MediaRouter,DialMediaRouteProvider,AutofillServerCommunication,"
    "CertificateTransparencyComponentUpdater,SafeBrowsing,DnsOverHttps,"
    "NetworkTimeServiceQuerying",
]

# The test's names (*.warn.test) go to the test's nginx; every other name fails to
# resolve, so whatever Chromium still tries on its own never leaves the machine.
TEST_DOMAIN = "warn.test"


def chromium(nginx_port, url, *action, timeout=90):
    """Runs headless Chromium once on `url` with `action` (--dump-dom, --screenshot=...)
    and returns its stdout. Only *.warn.test resolves (to 127.0.0.1:nginx_port). A private
    profile (and HOME) is removed afterwards; the process group is killed in any case."""
    if not os.path.exists(CHROMIUM):
        raise RuntimeError(f"{CHROMIUM} not found: run deploy/install-deps.sh")
    profile = tempfile.mkdtemp(prefix="chromium-warning-")
    env = {**os.environ, "HOME": profile, "XDG_CONFIG_HOME": os.path.join(profile, "config"),
           "XDG_CACHE_HOME": os.path.join(profile, "cache")}
    argv = [CHROMIUM, *CHROMIUM_QUIET, f"--user-data-dir={profile}/data",
            f"--host-resolver-rules=MAP *.{TEST_DOMAIN} 127.0.0.1:{nginx_port}, MAP * ~NOTFOUND",
            "--virtual-time-budget=5000", *action, url]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, start_new_session=True)
    try:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_group(proc, signal.SIGKILL)
            out, err = proc.communicate()
            raise AssertionError(f"chromium did not finish within {timeout}s:\n"
                                 f"{err.decode(errors='replace')[-3000:]}")
        if proc.returncode != 0:
            raise AssertionError(f"chromium exited {proc.returncode}:\n"
                                 f"{err.decode(errors='replace')[-3000:]}")
        return out.decode("utf-8", errors="replace")
    finally:
        stop_group(proc, signal.SIGKILL)
        shutil.rmtree(profile, ignore_errors=True)


# ---------------------------------------------------------------------------------------
# PNG (enough of it to read the first rows of an 8-bit RGB/RGBA screenshot)
# ---------------------------------------------------------------------------------------

def png_rows(path, nrows):
    """(width, height, [rows of (r, g, b) tuples]) for the first `nrows` rows."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack("!I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            ihdr = struct.unpack("!IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, ctype, _, _, interlace = ihdr
    assert depth == 8 and ctype in (2, 6) and interlace == 0, f"unexpected PNG format {ihdr}"
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompressobj().decompress(idat, (width * bpp + 1) * nrows)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(nrows):
        line = raw[y * (stride + 1):(y + 1) * (stride + 1)]
        ftype, cur = line[0], bytearray(line[1:])
        for i in range(stride):
            a = cur[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                cur[i] = (cur[i] + a) & 0xFF
            elif ftype == 2:
                cur[i] = (cur[i] + b) & 0xFF
            elif ftype == 3:
                cur[i] = (cur[i] + ((a + b) >> 1)) & 0xFF
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                cur[i] = (cur[i] + pred) & 0xFF
        rows.append([tuple(cur[x:x + 3]) for x in range(0, stride, bpp)])
        prev = cur
    return width, height, rows


# ---------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------

class WarningPageTest(PolicyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.mport = free_tcp_port("127.0.0.1")
        # Nothing is forwarded in these tests: the upstream only has to be a valid address.
        upstream = "%s:%d" % unused_port_upstream()
        cls.sinkholed = cls.class_policy_sinkholed(
            [upstream], POLICY.format(mport=cls.mport, warning=WARNING_ADDR,
                                      subscriber=SUBSCRIBER), FILES)
        cls.nginx = Nginx(cls.mport)
        cls.addClassCleanup(cls.nginx.stop)
        cls.nginx.start()
        cls.out = output_dir()

    def get(self, path, host=BLOCKED_HOST, **kw):
        return http_get(self.nginx.port, path, host, **kw)

    def explain(self, **kw):
        status, headers, body = self.get("/sinkholed/explain", **kw)
        self.assertEqual(status, 200, body)
        self.assertEqual(headers.get("Content-Type"), "application/json")
        self.assertEqual(headers.get_all("Cache-Control"), ["no-store"])
        return json.loads(body)

    def render(self, host, path="/", nginx=None):
        port = (nginx or self.nginx).port
        return chromium(port, f"http://{host}{path}", "--dump-dom")

    # -- (a) nginx serves the page ------------------------------------------------------
    def test_page_for_any_host_and_path(self):
        # The DNS side: the blocked name points at the warning server, with the reason.
        msg = self.sinkholed.ask(SUBSCRIBER, BLOCKED_HOST, "A", edns=True)
        self.assertEqual(msg.values("A"), [WARNING_ADDR])
        self.assertEqual(ede_of(msg), [(16, LEGAL)])

        with open(os.path.join(SITE_DIR, "index.html"), encoding="utf-8") as f:
            shipped = f.read()
        for host, path in ((BLOCKED_HOST, "/some/path"), (BLOCKED_HOST, "/"),
                           ("casino.warn.test", "/index.php?id=7&x=<b>"),
                           ("other.example", "/a/b/c.html")):
            status, headers, body = self.get(path, host=host)
            page = body.decode("utf-8")
            self.assertEqual(status, 451, f"{host}{path}")
            self.assertEqual(headers.get("Content-Type"), "text/html; charset=utf-8",
                             f"{host}{path}")
            self.assertEqual(headers.get_all("Cache-Control"), ["no-store"], f"{host}{path}")
            self.assertIn("default-src 'none'", headers.get("Content-Security-Policy", ""))
            self.assertIn('<html lang="vi">', page)
            self.assertIn('<script src="/sinkholed/warning.js" defer></script>', page)
            # Without JavaScript the host is still named: SSI wrote it in, escaped.
            self.assertIn(f'translate="no">{host}</p>', page, f"{host}{path}")
            self.assertNotIn("<!--#", page)
            # Otherwise the shipped file, byte for byte.
            self.assertEqual(page.replace(host, ""),
                             shipped.replace('<!--# echo var="host" default="" -->', ""))

        # nginx's mime.types says application/javascript up to 1.22, text/javascript later.
        for asset, ctypes in (("warning.js", ("application/javascript; charset=utf-8",
                                              "text/javascript; charset=utf-8")),
                              ("warning.css", ("text/css; charset=utf-8",))):
            status, headers, body = self.get(f"/sinkholed/{asset}")
            self.assertEqual(status, 200, asset)
            self.assertIn(headers.get("Content-Type"), ctypes)
            self.assertEqual(headers.get_all("Cache-Control"), ["no-store"], asset)
            with open(os.path.join(SITE_DIR, asset), "rb") as f:
                self.assertEqual(body, f.read(), asset)

    def test_page_loads_nothing_from_elsewhere(self):
        refs = []
        for name in ("index.html", "warning.js", "warning.css"):
            with open(os.path.join(SITE_DIR, name), encoding="utf-8") as f:
                text = f.read()
            refs += [(name, m.group(0)) for m in
                     re.finditer(r'(?:src|href|action)\s*=\s*"[^"]*"|url\([^)]*\)|@import[^;]*'
                                 r'|fetch\([^)]*\)', text)]
        self.assertGreaterEqual(len(refs), 3, refs)  # the scan finds the page's own links
        for name, ref in refs:
            self.assertNotRegex(ref, r"//|https?:|data:", f"{name}: {ref}")
            self.assertRegex(ref, r"""["'(]/sinkholed/""", f"{name}: {ref}")

    # -- (a) /sinkholed/explain through nginx ---------------------------------------------
    def test_explain_through_nginx_is_for_own_host_and_address(self):
        doc = self.explain()
        self.assertEqual((doc["verdict"], doc["name"], doc["category"], doc["list"],
                          doc["ede_text"], doc["client"], doc["policy"]),
                         ("blocked", BLOCKED_HOST, "gambling", "casinos", LEGAL, SUBSCRIBER,
                          "subscribers"))
        # The request's own arguments are not passed on: still this host, this client.
        status, _, body = self.get(f"/sinkholed/explain?name={OPEN_HOST}&client={STAFF}")
        doc = json.loads(body)
        self.assertEqual((status, doc["name"], doc["client"]), (200, BLOCKED_HOST, SUBSCRIBER))
        # The client is the connection's address: another client, another policy.
        doc = self.explain(src=STAFF)
        self.assertEqual((doc["verdict"], doc["client"], doc["policy"]),
                         ("allowed", STAFF, "staff"))
        doc = self.explain(src="::1", addr="::1")
        self.assertEqual((doc["verdict"], doc["client"]), ("blocked", "::1"))
        # A Host that would add its own query arguments never reaches sinkholed (nginx
        # accepts these Host headers; sinkholed would take the first client= it sees).
        for host in (f"{BLOCKED_HOST}&client={STAFF}", f"{BLOCKED_HOST}%26client%3D{STAFF}"):
            status, _, _ = self.get("/sinkholed/explain", host=host)
            self.assertEqual(status, 400, host)
        self.assertEqual(self.explain(host=OPEN_HOST)["verdict"], "allowed")

    # -- (b) the rendered page ----------------------------------------------------------
    def test_chromium_shows_host_category_and_legal_basis(self):
        dom = self.render(BLOCKED_HOST, "/some/path")
        self.assertIn('data-state="blocked"', dom)
        self.assertIn(f">{BLOCKED_HOST}</p>", dom)
        for text in TITLE_BLOCKED + GAMBLING + (LEGAL,):
            self.assertIn(text, dom)
        # The category's human names in their own elements, not the raw "gambling".
        self.assertIn(f'id="category-vi">{GAMBLING[0]}</span>', dom)
        self.assertIn(f'id="category-en">{GAMBLING[1]}</span>', dom)
        self.assertIn(f'id="legal" lang="">{LEGAL}</dd>', dom)
        self.assertIn('id="rule" lang="" translate="no">casino.warn.test</dd>', dom)
        # The list's legal basis under the EDE text, with a link to the decision (the DOM
        # escapes & as &amp;, in the text and the attribute alike).
        self.assertIn('<dd id="basis" lang=""><span id="basis-text">Bộ TT&amp;TT · QĐ '
                      '1234/QĐ-BTTTT · 2024-11-09</span> <a id="basis-url" rel="noreferrer" '
                      'translate="no" href="https://regulator.example/d/1234?a=1&amp;b=2">'
                      'https://regulator.example/d/1234?a=1&amp;b=2</a></dd>', dom)
        for text in TITLE_NOT_BLOCKED + UNAVAILABLE:
            self.assertNotIn(text, dom)

    # -- (c) screenshot -----------------------------------------------------------------
    def test_screenshot(self):
        path = os.path.join(self.out, "warning-page-blocked.png")
        if os.path.exists(path):
            os.unlink(path)  # a stale screenshot must not pass
        chromium(self.nginx.port, f"http://{BLOCKED_HOST}/some/path",
                 f"--screenshot={path}", "--window-size=1280,900")
        print(f"\nwarning page screenshot: {path}", file=sys.stderr)
        self.assertTrue(os.path.exists(path), path)
        self.assertGreater(os.path.getsize(path), 10 * 1024)
        # The stylesheet applied: the banner across the top of the card is the alert red.
        width, height, rows = png_rows(path, 80)
        self.assertEqual((width, height), (1280, 900))
        r, g, b = rows[60][width // 2]
        self.assertTrue(abs(r - 0xB4) < 16 and abs(g - 0x23) < 16 and abs(b - 0x18) < 16,
                        f"banner pixel {(r, g, b)}")
        bg = rows[5][5]
        self.assertTrue(all(abs(x - y) < 8 for x, y in zip(bg, (0xF5, 0xF6, 0xF8))),
                        f"page background {bg}")

    # -- (d) a host that is not blocked -----------------------------------------------------
    def test_host_not_blocked_gets_no_blocking_information(self):
        dom = self.render(OPEN_HOST, "/x")
        self.assertIn('data-state="not-blocked"', dom)
        self.assertIn(f">{OPEN_HOST}</p>", dom)
        for text in TITLE_NOT_BLOCKED:
            self.assertIn(text, dom)
        for text in TITLE_BLOCKED + GAMBLING + (LEGAL, "Vì sao?", "Why?"):
            self.assertNotIn(text, dom)

    # -- sinkholed unreachable --------------------------------------------------------------
    def test_endpoint_down_keeps_the_generic_page(self):
        down = Nginx(free_tcp_port("127.0.0.1"))  # nothing listens there
        self.addCleanup(down.stop)
        down.start()
        status, _, _ = http_get(down.port, "/sinkholed/explain", BLOCKED_HOST)
        self.assertEqual(status, 502)
        dom = self.render(BLOCKED_HOST, "/some/path", nginx=down)
        self.assertIn('data-state="unavailable"', dom)
        self.assertIn(f">{BLOCKED_HOST}</p>", dom)
        for text in TITLE_BLOCKED + UNAVAILABLE:
            self.assertIn(text, dom)
        for text in GAMBLING + (LEGAL,):
            self.assertNotIn(text, dom)


if __name__ == "__main__":
    unittest.main(verbosity=2)
