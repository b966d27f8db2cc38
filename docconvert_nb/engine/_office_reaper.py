"""Cleans up after a warm LibreOffice when its owner goes away, however it goes (SIGKILL included).

Started by :class:`docconvert_nb.engine.office_server.OfficeServer` with a pipe as stdin; imports
nothing from docconvert_nb. It reads lines ``pid N`` (an office process to stop) and ``pipe PATH``
(an IPC socket to remove). When stdin ends, because the owner stopped the office or because the
kernel closed the pipe of a dead owner, it stops those processes (SIGTERM, then SIGKILL), removes
the pipes and the profile folder, and exits.

    python _office_reaper.py PROFILE_DIR
"""

import os
import shutil
import signal
import sys
import time


def office_alive(pid, profile):
    """True if ``pid`` still runs and is an office of this profile (not a recycled pid)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return profile.encode() in fh.read()
    except OSError:
        return False


def stop(pids, profile):
    for sig, grace in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 2.0)):
        running = [pid for pid in pids if office_alive(pid, profile)]
        if not running:
            return
        for pid in running:
            for kill in (os.killpg, os.kill):  # the office leads its own session
                try:
                    kill(pid, sig)
                    break
                except (ProcessLookupError, PermissionError):
                    continue
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(office_alive(pid, profile) for pid in running):
            time.sleep(0.05)


def main():
    profile = sys.argv[1]
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    pids, pipes = [], []
    for line in sys.stdin:
        kind, _, value = line.rstrip("\n").partition(" ")
        if kind == "pid" and value.isdigit():
            pids.append(int(value))
        elif kind == "pipe" and value:
            pipes.append(value)
    stop(pids, profile)
    for pipe in pipes:  # named after this profile, so no other office's; its office is stopped
        try:
            os.unlink(pipe)
        except OSError:
            pass
    shutil.rmtree(profile, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
