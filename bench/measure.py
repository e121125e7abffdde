#!/usr/bin/env python3
"""Runs one command in a fresh cgroup and reports what it cost the controller.

    measure.py [--stdout FILE] [--stdin FILE] -- CMD ARG...

Prints one JSON object on stdout: wall seconds, CPU seconds (user, system) of
every process the command started -- including daemonized ones such as ssh
ControlMaster processes, which plain getrusage() misses -- the peak memory
charged to the cgroup, and the exit status. Whatever is still running in the
cgroup when the command exits (Ansible's ControlPersist masters, say) is
killed before the next measurement, so every run starts cold.

Needs root and cgroup v1 (memory + cpuacct) or cgroup v2 (memory + cpu).
Only the Python standard library is used.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time

ROOT = "/sys/fs/cgroup"


def die(msg):
    print(f"measure: error: {msg}", file=sys.stderr)
    sys.exit(2)


def own_cgroup(controller):
    """This process's cgroup path for a v1 controller ('' for v2)."""
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if controller in ctrls.split(","):
                return path
            if controller == "" and ctrls == "":
                return path
    return None


class V1:
    """cgroup v1: one directory in the memory and one in the cpuacct hierarchy."""

    def __init__(self, name):
        self.dirs = {}
        try:
            for ctrl in ("memory", "cpuacct"):
                base = os.path.join(ROOT, ctrl)
                parent = own_cgroup(ctrl)
                if parent is None or not os.path.isdir(base):
                    raise OSError(f"no cgroup v1 {ctrl} hierarchy")
                d = os.path.join(base, parent.lstrip("/"), name)
                os.mkdir(d)
                self.dirs[ctrl] = d
        except OSError:
            self.remove()
            raise

    def enter(self, pid):
        for d in self.dirs.values():
            with open(os.path.join(d, "cgroup.procs"), "w") as f:
                f.write(str(pid))

    def pids(self):
        out = set()
        for d in self.dirs.values():
            with open(os.path.join(d, "cgroup.procs")) as f:
                out.update(int(p) for p in f.read().split())
        return out

    def usage(self):
        d = self.dirs["cpuacct"]
        with open(os.path.join(d, "cpuacct.usage_user")) as f:
            user = int(f.read()) / 1e9
        with open(os.path.join(d, "cpuacct.usage_sys")) as f:
            sys_ = int(f.read()) / 1e9
        with open(os.path.join(self.dirs["memory"], "memory.max_usage_in_bytes")) as f:
            peak = int(f.read())
        return user, sys_, peak

    def remove(self):
        for d in list(self.dirs.values()):
            os.rmdir(d)
        self.dirs = {}


class V2:
    """cgroup v2: one directory right under the root, where the memory and cpu
    controllers can always be enabled (a cgroup that holds processes, such
    as a login session's, cannot enable them for its children)."""

    def __init__(self, name):
        if not os.path.exists(os.path.join(ROOT, "cgroup.controllers")):
            raise OSError("no cgroup v2 hierarchy")
        control = os.path.join(ROOT, "cgroup.subtree_control")
        with open(control) as f:
            enabled = f.read().split()
        for ctrl in ("memory", "cpu"):
            if ctrl not in enabled:
                with open(control, "w") as f:
                    f.write(f"+{ctrl}")
        self.dir = os.path.join(ROOT, name)
        os.mkdir(self.dir)

    def enter(self, pid):
        with open(os.path.join(self.dir, "cgroup.procs"), "w") as f:
            f.write(str(pid))

    def pids(self):
        with open(os.path.join(self.dir, "cgroup.procs")) as f:
            return {int(p) for p in f.read().split()}

    def usage(self):
        stat = {}
        with open(os.path.join(self.dir, "cpu.stat")) as f:
            for line in f:
                k, v = line.split()
                stat[k] = int(v)
        with open(os.path.join(self.dir, "memory.peak")) as f:
            peak = int(f.read())
        return stat["user_usec"] / 1e6, stat["system_usec"] / 1e6, peak

    def remove(self):
        os.rmdir(self.dir)


def make_cgroup():
    name = f"sshfix-bench-{os.getpid()}-{time.monotonic_ns()}"
    errors = []
    for kind in (V1, V2):
        try:
            return kind(name)
        except OSError as e:
            errors.append(str(e))
    die("cannot create a cgroup to measure in (" + "; ".join(errors) + ")")


def kill_all(cg):
    """Kills whatever is left in the cgroup and waits until it is empty."""
    left = 0
    for _ in range(500):
        pids = cg.pids()
        if not pids:
            return left
        left = max(left, len(pids))
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.01)
    die(f"processes still in the cgroup after SIGKILL: {sorted(cg.pids())}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stdout", help="write the command's stdout here (default: discard)")
    ap.add_argument("--stderr", help="write the command's stderr here (default: discard)")
    ap.add_argument("--stdin", help="feed this file to the command (default: /dev/null)")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        die("no command given")
    if os.geteuid() != 0:
        die("must run as root (it creates cgroups)")

    cg = make_cgroup()
    try:
        out = open(a.stdout, "wb") if a.stdout else subprocess.DEVNULL
        err = open(a.stderr, "wb") if a.stderr else subprocess.DEVNULL
        inp = open(a.stdin, "rb") if a.stdin else subprocess.DEVNULL
        # The child joins the cgroup before it execs, so nothing it starts escapes.
        t0 = time.monotonic()
        proc = subprocess.Popen(
            cmd,
            stdin=inp,
            stdout=out,
            stderr=err,
            preexec_fn=lambda: cg.enter(os.getpid()),
        )
        rc = proc.wait()
        wall = time.monotonic() - t0
        user, sys_, peak = cg.usage()
        leftover = kill_all(cg)
    finally:
        try:
            kill_all(cg)
        finally:
            cg.remove()
    print(
        json.dumps(
            {
                "rc": rc,
                "wall_s": round(wall, 4),
                "cpu_user_s": round(user, 4),
                "cpu_sys_s": round(sys_, 4),
                "cpu_s": round(user + sys_, 4),
                "peak_mem_bytes": peak,
                "leftover_processes": leftover,
            }
        )
    )


if __name__ == "__main__":
    main()
