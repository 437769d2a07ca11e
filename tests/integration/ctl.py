# SPDX-License-Identifier: MIT
"""sinkholectl, the control client, as the tests run it: the binary built next to
sinkholed (`$SINKHOLED`'s directory), talking to a test's own control socket."""

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
