# SPDX-License-Identifier: MIT
"""The configuration reference with the real sinkholed: `--help` lists the signals and
where the reference is; `sinkholectl config show` (text and --json) prints the settings in
service, a value the file sets as set and the others as defaults; the man page the daemon
generates (`--config-reference man`) renders with `man -l` under LANG=C.UTF-8 with every
key, its em dashes intact and no "???"; `--config-reference markdown` is the committed
docs/CONFIG.md."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctl import sinkholectl  # noqa: E402
from policy_harness import PolicyTestCase  # noqa: E402
from processes import sinkholed_binary, unused_port_upstream  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_sinkholed(*args):
    return subprocess.run([sinkholed_binary(), *args], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


class HelpAndReferenceTest(unittest.TestCase):
    def test_help_lists_signals_and_the_reference(self):
        p = run_sinkholed("--help")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout
        self.assertIn("SIGHUP: reload the configuration and lists", out)
        self.assertIn("SIGTERM, SIGINT: stop gracefully", out)
        self.assertIn("SIGUSR1: log all counters", out)
        self.assertIn("man 5 sinkholed.yaml", out)
        self.assertIn("sinkholectl config show", out)
        self.assertIn("--config-reference", out)

    def test_bad_reference_format_is_a_usage_error(self):
        p = run_sinkholed("--config-reference", "pdf")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("pdf", p.stderr + p.stdout)

    def test_markdown_is_the_committed_docs_config(self):
        p = run_sinkholed("--config-reference", "markdown")
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(REPO, "docs", "CONFIG.md"), encoding="utf-8") as f:
            self.assertEqual(p.stdout, f.read(),
                             "regenerate: sinkholed --config-reference markdown > docs/CONFIG.md")

    def test_man_page_renders_utf8_with_every_key(self):
        p = run_sinkholed("--config-reference", "man")
        self.assertEqual(p.returncode, 0, p.stderr)
        tmp = tempfile.mkdtemp(prefix="sinkholed-man-")
        self.addCleanup(shutil.rmtree, tmp, True)
        page = os.path.join(tmp, "sinkholed.yaml.5")
        with open(page, "w") as f:
            f.write(p.stdout)
        env = {**os.environ, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "MANWIDTH": "120",
               "MANPAGER": "cat", "PAGER": "cat"}
        r = subprocess.run(["man", "-l", page], capture_output=True, env=env, timeout=60,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, r.stderr)
        text = re.sub(r".\x08", "", r.stdout.decode("utf-8"))
        self.assertNotIn("???", text)
        self.assertIn("\u2014", text)  # the em dash of the section titles and the text
        flat = re.sub(r"\s+", " ", text)
        md = run_sinkholed("--config-reference", "markdown").stdout
        keys = re.findall(r"^\| `([^`]+)` \|", md, re.M)
        self.assertGreater(len(keys), 60)
        for key in keys + ["lists.<name>.action", "actions.<name>.log",
                           "control.watch_debounce"]:
            self.assertIn(key, flat)
        self.assertIn("Default: 1232. Reload: restart required.", flat)


class ConfigShowTest(PolicyTestCase):
    def test_config_show_defaults_and_set_values(self):
        sock_dir = tempfile.mkdtemp(prefix="sinkholed-cfg-")
        self.addCleanup(shutil.rmtree, sock_dir, True)
        sock = os.path.join(sock_dir, "control.sock")
        addr, port = unused_port_upstream()  # never asked: config show needs no query
        upstream = f"{addr}:{port}"
        server = self.start_policy_sinkholed([upstream], f'control:\n  socket: "{sock}"\n',
                                             server={"identity": "ns1.reference.test"},
                                             upstream={"socket_reuse": 4})

        p = sinkholectl(sock, "config", "show")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        lines = p.stdout.splitlines()
        self.assertTrue(lines[0].startswith(f"# {server.config_path}: "), lines[0])
        shown = dict(line.split(": ", 1) for line in lines[1:])
        # Set in the file: shown as set.
        self.assertEqual(shown["server.identity"], "ns1.reference.test")
        self.assertEqual(shown["upstream.socket_reuse"], "4")
        self.assertEqual(shown["server.workers"], "1")
        self.assertEqual(shown["control.socket"], sock)
        self.assertEqual(shown["upstreams"], f'["{upstream}"]')
        self.assertEqual(shown["server.listen"],
                         "[" + ", ".join(f'"{a}"' for a in server.listen_strings()) + "]")
        # Not set: the default in force, marked.
        self.assertEqual(shown["server.udp_payload"], "1232  # default")
        self.assertEqual(shown["upstream.timeout"], "1500ms  # default")
        self.assertEqual(shown["control.watch_debounce"], "1s  # default")
        self.assertEqual(shown["metrics.listen"], "null  # default")
        self.assertEqual(shown["rate_limit.table_size"], "65536  # default")

        p = sinkholectl(sock, "config", "show", "--json")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        j = json.loads(p.stdout)
        self.assertEqual(j["config"], server.config_path)
        s = j["settings"]
        self.assertEqual(s["server.identity"], {"value": "ns1.reference.test", "default": False})
        self.assertEqual(s["upstream.socket_reuse"], {"value": 4, "default": False})
        self.assertEqual(s["server.udp_payload"], {"value": 1232, "default": True})
        self.assertEqual(s["log.level"]["value"], "info")
        self.assertEqual(len(s), len(lines) - 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
