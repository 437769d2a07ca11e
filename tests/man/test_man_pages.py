# SPDX-License-Identifier: MIT
"""The man pages the build makes (CTest: man_pages): sinkholed(8) and sinkholectl(8) by
help2man from --help, sinkholed.yaml(5) from the configuration key table.

  - each renders with `man -l` under LANG=C.UTF-8 without "???" or a replacement
    character (help2man in the C locale turns the em dash of --help into "???"), and the
    em dash of sinkholed's --help and of the reference comes out as an em dash;
  - sinkholed(8) shows the signals and where the configuration reference is;
    sinkholectl(8) shows `config show`;
  - sinkholed.yaml(5) names every key of the table (the rows of
    `sinkholed --config-reference markdown`) with its default and reload behaviour.

Run by hand:  SINKHOLE_MAN_DIR=build/man SINKHOLED=build/resolver/programs/sinkholed \\
              python3 tests/man/test_man_pages.py
"""

import os
import re
import subprocess
import unittest

MAN_DIR = os.environ.get("SINKHOLE_MAN_DIR", "build/man")
SINKHOLED = os.environ.get("SINKHOLED", "build/resolver/programs/sinkholed")
PAGES = ("sinkholed.8", "sinkholectl.8", "sinkholed.yaml.5")
EM_DASH = "\u2014"


def render(path, lang="C.UTF-8"):
    """The page as `man -l` shows it, overstrike formatting removed."""
    env = {**os.environ, "LANG": lang, "LC_ALL": lang, "MANWIDTH": "120",
           "MANPAGER": "cat", "PAGER": "cat"}
    env.pop("MAN_KEEP_FORMATTING", None)
    out = subprocess.run(["man", "-l", path], capture_output=True, env=env, timeout=60,
                         check=True, stdin=subprocess.DEVNULL).stdout.decode("utf-8")
    return re.sub(r".\x08", "", out)


def flat(text):
    """Words as the page reads, whatever the line breaks and hyphenation at them."""
    return re.sub(r"\s+", " ", re.sub("\u2010\\s+", "", text))


def table_keys():
    md = subprocess.run([SINKHOLED, "--config-reference", "markdown"], capture_output=True,
                        text=True, check=True, timeout=60).stdout
    return re.findall(r"^\| `([^`]+)` \|", md, re.M)


class ManPagesTest(unittest.TestCase):
    def page(self, name):
        path = os.path.join(MAN_DIR, name)
        self.assertTrue(os.path.isfile(path), f"{path} was not built")
        return path

    def test_utf8_rendering(self):
        for name in PAGES:
            with self.subTest(page=name):
                path = self.page(name)
                with open(path, "rb") as f:
                    raw = f.read().decode("utf-8")
                self.assertNotIn("???", raw)
                text = render(path)
                self.assertNotIn("???", text)
                self.assertNotIn("\ufffd", text)
                if name != "sinkholectl.8":
                    self.assertIn(EM_DASH, text)

    def test_sinkholed_page_shows_signals_and_the_reference(self):
        text = flat(render(self.page("sinkholed.8")))
        for word in ("SIGHUP", "SIGTERM", "SIGINT", "SIGUSR1", "man 5 sinkholed.yaml",
                     "config-reference"):
            self.assertIn(word, text)
        self.assertIn(f"sinkholed {EM_DASH} a DNS resolver", text)

    def test_sinkholectl_page_shows_config_show(self):
        text = flat(render(self.page("sinkholectl.8")))
        self.assertIn("config commands: show", text)

    def test_reference_page_names_every_key(self):
        text = flat(render(self.page("sinkholed.yaml.5")))
        keys = table_keys()
        self.assertGreater(len(keys), 60)
        for key in keys:
            self.assertIn(key, text)
        self.assertEqual(text.count("Reload: live.") + text.count("Reload: restart required."),
                         len(keys))
        self.assertIn("SINKHOLED.YAML(5)", text)
        self.assertIn("restart required: server.listen", text)


if __name__ == "__main__":
    unittest.main(verbosity=2)
