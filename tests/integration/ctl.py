# SPDX-License-Identifier: MIT
"""sinkholectl, the control client, as the tests run it: the binary built next to
sinkholed (`$SINKHOLED`'s directory), talking to a test's own control socket."""

import json
import os
import subprocess

from processes import sinkholed_binary


def sinkholectl_binary():
    """The sinkholectl next to the sinkholed under test; a missing one fails the test."""
    path = os.path.join(os.path.dirname(os.path.abspath(sinkholed_binary())), "sinkholectl")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"sinkholectl not found next to sinkholed: {path}")
    return path


def sinkholectl(sock, *args, timeout=30):
    """Runs `sinkholectl -s SOCK ARGS...`; the CompletedProcess (text stdout and stderr)."""
    return subprocess.run([sinkholectl_binary(), "-s", sock, *args], capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def ctl_lists(sock=None, config=None):
    """`sinkholectl --json lists` against the control socket `sock` (or, with `config`, the
    socket a node's config file names: `-c`), as {list name: its entry}; exit 0 asserted."""
    where = ["-s", sock] if sock else ["-c", config]
    out = subprocess.run([sinkholectl_binary(), *where, "--json", "lists"], capture_output=True,
                         text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, f"sinkholectl lists: exit {out.returncode}: {out.stderr}"
    return {entry["name"]: entry for entry in json.loads(out.stdout)}


def ctl_list(name, sock=None, config=None):
    """The entry of list `name` in `sinkholectl --json lists` (see ctl_lists)."""
    lists = ctl_lists(sock, config)
    assert name in lists, f"list {name} not in sinkholectl lists: {sorted(lists)}"
    return lists[name]
