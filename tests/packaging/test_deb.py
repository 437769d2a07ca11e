# SPDX-License-Identifier: MIT
"""The Debian package, built from this tree by deploy/build-deb.sh (CTest: packaging_deb):

  - it holds the daemon, sinkholectl, the unit under /lib/systemd/system, the config as a
    conffile, the sysusers.d entry for the `sinkholed` user and the man pages (sinkholed(8)
    and sinkholectl(8) made by help2man from --help under a UTF-8 locale: no "???" for the
    em dash; sinkholed.yaml(5) from the configuration key table), each file as shipped in
    deploy/;
  - Depends names the package of every shared library the binaries link (shlibs), and
    Build-Depends names the package of every library the CMake build looks for;
  - the maintainer scripts create the user before the service starts, and remove it on
    purge; the packaged binary runs and accepts the packaged config.

Run by hand:  SINKHOLED=build/resolver/programs/sinkholed python3 tests/packaging/test_deb.py
"""

import glob
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEPLOY = os.path.join(REPO, "deploy")


def run(*argv, **kw):
    kw.setdefault("timeout", 120)
    return subprocess.run(argv, capture_output=True, text=True, check=True, **kw).stdout


def relations(field):
    """Package names of a Depends-style field (alternatives flattened, versions dropped)."""
    names = set()
    for part in re.split(r"[,|]", field):
        part = part.strip()
        if part:
            names.add(re.split(r"[\s(:\[]", part, 1)[0])
    return names


def package_owning(path):
    """The Debian package that ships `path` (trying both sides of the /usr merge)."""
    candidates = [path]
    if path.startswith("/usr/lib/"):
        candidates.append(path[len("/usr"):])
    elif path.startswith("/lib/"):
        candidates.append("/usr" + path)
    for p in candidates:
        r = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.split(":", 1)[0].split(",")[0].strip()
    return None


def control_field(text, name):
    """One field of the first paragraph of a debian/control text (continuation lines
    joined, comment lines dropped)."""
    lines = [l for l in text.splitlines() if not l.startswith("#")]
    out, on = [], False
    for line in lines:
        if on and line[:1] in (" ", "\t"):
            out.append(line.strip())
            continue
        on = line.startswith(name + ":")
        if on:
            out.append(line.split(":", 1)[1].strip())
    return " ".join(out)


class DebTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.out = tempfile.mkdtemp(prefix="sinkholed-deb-out-")
        cls.addClassCleanup(shutil.rmtree, cls.out, True)
        t0 = time.monotonic()
        p = subprocess.run(["bash", os.path.join(DEPLOY, "build-deb.sh"), cls.out],
                           capture_output=True, text=True, timeout=840)
        cls.build_seconds = time.monotonic() - t0
        if p.returncode != 0:
            raise AssertionError(f"build-deb.sh failed ({p.returncode}):\n"
                                 f"{(p.stdout + p.stderr)[-6000:]}")
        print(f"build-deb.sh: {cls.build_seconds:.0f} s", file=sys.stderr)
        debs = [d for d in glob.glob(os.path.join(cls.out, "sinkholed_*.deb"))]
        if len(debs) != 1:
            raise AssertionError(f"want one sinkholed_*.deb in {os.listdir(cls.out)}")
        cls.deb = debs[0]
        cls.contents = {}
        for line in run("dpkg", "-c", cls.deb).splitlines():
            # -rwxr-xr-x root/root 123 2026-01-01 00:00 ./usr/sbin/sinkholed
            fields = line.split(None, 5)
            path = fields[5].split(" -> ")[0]
            cls.contents[path[1:] if path.startswith("./") else path] = (fields[0], fields[1])
        cls.root = os.path.join(cls.out, "root")
        run("dpkg-deb", "-x", cls.deb, cls.root)
        cls.control = os.path.join(cls.out, "control")
        run("dpkg-deb", "-e", cls.deb, cls.control)

    def field(self, name):
        return run("dpkg-deb", "-f", self.deb, name).strip()

    def control_file(self, name):
        path = os.path.join(self.control, name)
        self.assertTrue(os.path.exists(path), f"no {name} in the package's control area")
        with open(path) as f:
            return f.read()

    def test_files(self):
        want = {
            "/usr/sbin/sinkholed": "-rwxr-xr-x",
            "/usr/bin/sinkholectl": "-rwxr-xr-x",
            "/lib/systemd/system/sinkholed.service": "-rw-r--r--",
            "/etc/sinkholed/sinkholed.yaml": "-rw-r--r--",
            "/usr/lib/sysusers.d/sinkholed.conf": "-rw-r--r--",
            "/usr/share/man/man8/sinkholed.8.gz": "-rw-r--r--",
            "/usr/share/man/man8/sinkholectl.8.gz": "-rw-r--r--",
            "/usr/share/man/man5/sinkholed.yaml.5.gz": "-rw-r--r--",
            "/usr/share/doc/sinkholed/copyright": "-rw-r--r--",
            "/usr/share/doc/sinkholed/examples/policy.yaml": "-rw-r--r--",
            # README command (1)'s config and its demo list, beside it (relative path).
            "/usr/share/doc/sinkholed/examples/sinkholed.yaml": "-rw-r--r--",
            "/usr/share/doc/sinkholed/examples/lists/demo-gambling.txt": "-rw-r--r--",
        }
        for path, mode in want.items():
            self.assertIn(path, self.contents, f"{path} missing from {sorted(self.contents)}")
            self.assertEqual(self.contents[path], (mode, "root/root"), path)

    def test_shipped_files_are_the_ones_in_deploy(self):
        for packaged, source in [
                ("lib/systemd/system/sinkholed.service", "systemd/sinkholed.service"),
                ("etc/sinkholed/sinkholed.yaml", "systemd/sinkholed.yaml"),
                ("usr/lib/sysusers.d/sinkholed.conf", "debian/sinkholed.sysusers")]:
            with open(os.path.join(self.root, packaged)) as a, \
                    open(os.path.join(DEPLOY, source)) as b:
                self.assertEqual(a.read(), b.read(), packaged)

    def test_config_is_a_conffile(self):
        conffiles = self.control_file("conffiles").split()
        self.assertEqual(conffiles, ["/etc/sinkholed/sinkholed.yaml"])

    def test_man_pages_come_from_help(self):
        for name, option in (("sinkholed", "--config"), ("sinkholectl", "--socket")):
            with gzip.open(os.path.join(self.root, f"usr/share/man/man8/{name}.8.gz"),
                           "rt") as f:
                page = f.read()
            self.assertRegex(page, rf'\.TH {name.upper()} "?8"?')
            self.assertIn(option.replace("-", r"\-"), page)
            self.assertNotIn("???", page)
        with gzip.open(os.path.join(self.root, "usr/share/man/man8/sinkholed.8.gz"), "rt",
                       encoding="utf-8") as f:
            self.assertIn("sinkholed \u2014 a DNS resolver", f.read())
        with gzip.open(os.path.join(self.root, "usr/share/man/man5/sinkholed.yaml.5.gz"), "rt",
                       encoding="utf-8") as f:
            page = f.read()
        self.assertIn(".TH SINKHOLED.YAML 5", page)
        self.assertIn("server.listen", page)
        self.assertNotIn("???", page)

    def test_depends_name_every_linked_library(self):
        depends = relations(self.field("Depends"))
        for name in ("libc6", "libstdc++6", "libuv1", "libhyperscan5", "libsystemd0",
                     "libldns3", "libyaml-cpp0.7"):
            self.assertIn(name, depends)
        # Every NEEDED library of every binary is some Depends package.
        libs = {}
        for line in run("ldconfig", "-p").splitlines()[1:]:
            m = re.match(r"\s*(\S+) \(([^)]*)\) => (\S+)", line)
            if m and "x86-64" in m.group(2):
                libs.setdefault(m.group(1), m.group(3))
        for binary in ("usr/sbin/sinkholed", "usr/bin/sinkholectl"):
            dynamic = run("readelf", "-d", os.path.join(self.root, binary))
            for soname in re.findall(r"\(NEEDED\).*\[(.+)\]", dynamic):
                path = libs.get(soname)
                self.assertIsNotNone(path, f"{binary} needs {soname}: not on this system")
                owner = package_owning(path)
                self.assertIsNotNone(owner, f"{soname} ({path}) belongs to no package")
                # Or a virtual package it provides (the shlibs of libspdlog1.10 name
                # libspdlog1.10-fmt9, the ABI it was built against).
                names = {owner} | relations(run("dpkg-query", "-W", "-f=${Provides}", owner))
                self.assertTrue(names & depends, f"{binary} links {soname} from {owner}")

    def test_build_depends_cover_the_cmake_build(self):
        with open(os.path.join(DEPLOY, "debian", "control")) as f:
            build_depends = relations(control_field(f.read(), "Build-Depends"))
        for tool in ("debhelper-compat", "cmake", "ninja-build", "pkg-config", "help2man"):
            self.assertIn(tool, build_depends)
        # The libraries every CMakeLists.txt of the packaged build (not tests/, perf/) asks for.
        modules, packages, programs = set(), set(), set()
        for dirpath, dirnames, filenames in os.walk(REPO):
            rel = os.path.relpath(dirpath, REPO)
            if rel.split(os.sep)[0] in ("tests", "perf", ".git") or rel.startswith("build"):
                dirnames[:] = []
                continue
            if "CMakeLists.txt" in filenames:
                with open(os.path.join(dirpath, "CMakeLists.txt")) as f:
                    text = f.read()
                for args in re.findall(r"pkg_check_modules\(([^)]*)\)", text):
                    # (PREFIX [REQUIRED|QUIET|IMPORTED_TARGET...] module[>=version]...)
                    modules.update(re.split(r"[<>=]", w)[0] for w in args.split()[1:]
                                   if not w.isupper())
                packages.update(re.findall(r"find_package\(([\w-]+)", text))
                programs.update(re.findall(r"find_program\(\w+\s+([\w.+-]+)", text))
        self.assertIn("libsystemd", modules)
        for module in sorted(modules):
            pc = run("pkg-config", "--variable=pcfiledir", module).strip()
            owner = package_owning(os.path.join(pc, module + ".pc"))
            self.assertIn(owner, build_depends, f"pkg-config module {module} ({owner})")
        builtin = {"PkgConfig", "Threads", "Python3"}  # shipped with cmake itself
        for name in sorted(packages - builtin):
            owner = None
            for pattern in (f"*/{name}Config.cmake", f"*/{name.lower()}-config.cmake",
                            f"*/{name}-config.cmake"):
                r = subprocess.run(["dpkg", "-S", pattern], capture_output=True, text=True)
                if r.returncode == 0:
                    owner = r.stdout.split(":", 1)[0].split(",")[0].strip()
                    break
            self.assertIsNotNone(owner, f"find_package({name}): no package ships its config")
            self.assertIn(owner, build_depends, f"find_package({name}) needs {owner}")
        for program in sorted(programs):
            path = shutil.which(program)
            self.assertIsNotNone(path, f"find_program({program}): not installed")
            owner = package_owning(os.path.realpath(path)) or package_owning(path)
            self.assertIn(owner, build_depends, f"find_program({program}) needs {owner}")

    def test_user_created_before_start_and_removed_on_purge(self):
        postinst = self.control_file("postinst")
        create = postinst.find("systemd-sysusers")
        self.assertGreaterEqual(create, 0, postinst)
        self.assertIn("sinkholed.conf", postinst[create:create + 200])
        start = postinst.find("deb-systemd-invoke")
        self.assertGreater(start, create, "the user must exist before the service starts")
        self.assertIn("sinkholed.service", postinst)
        postrm = self.control_file("postrm")
        self.assertRegex(postrm, r'"\$1" = "purge"[\s\S]*deluser --quiet --system sinkholed')

    def test_metadata(self):
        with open(os.path.join(REPO, "CMakeLists.txt")) as f:
            version = re.search(r"project\(sinkholed VERSION (\S+)", f.read()).group(1)
        self.assertEqual(self.field("Package"), "sinkholed")
        self.assertEqual(self.field("Version"), version)
        self.assertEqual(self.field("Architecture"),
                         run("dpkg", "--print-architecture").strip())

    def test_packaged_binary_runs_with_the_packaged_config(self):
        binary = os.path.join(self.root, "usr/sbin/sinkholed")
        with open(os.path.join(REPO, "CMakeLists.txt")) as f:
            version = re.search(r"project\(sinkholed VERSION (\S+)", f.read()).group(1)
        self.assertEqual(run(binary, "--version").strip(), f"sinkholed {version}")
        out = run(binary, "--check", "--config",
                  os.path.join(self.root, "etc/sinkholed/sinkholed.yaml"))
        self.assertIn(": OK: 2 listen address(es)", out)

    def test_packaged_examples_pass_check(self):
        # Each example reads its lists relative to itself, so the copies under
        # /usr/share/doc must still load (dh_compress leaves examples/ alone at compat 13).
        binary = os.path.join(self.root, "usr/sbin/sinkholed")
        examples = os.path.join(self.root, "usr/share/doc/sinkholed/examples")
        for name in ("sinkholed.yaml", "policy.yaml"):
            with self.subTest(example=name):
                out = run(binary, "--check", "--config", os.path.join(examples, name))
                self.assertIn(": OK:", out)
                self.assertIn("0 rejected lines", out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
