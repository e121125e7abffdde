#!/usr/bin/env python3
"""The fleet benchmark: sshfix against the bare ssh fan-out, Ansible and pyinfra.

Run it through bench/fleet.sh (which installs what it needs). For each fleet
size it brings up a namespace lab with that many sshd hosts and a jump host,
then runs every case --reps times, interleaved (rep 1 of every case, then rep
2, ...), each in a fresh cgroup (bench/measure.py): wall time, controller CPU
(every process the command starts, ssh masters included) and controller peak
memory. Then it turns 20% of the hosts faulty and plans that fleet too. It
prints the medians and the ratios the targets are about, and writes them as
JSON and Markdown into --out.

Everything here runs on one machine: the lab's hosts share the controller's
CPUs, so work a tool makes the *hosts* do shows up in its wall time too. The
`script-ssh` case (the bare fan-out running sshfix's facts script) separates
the two.
"""

import argparse
import base64
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
LAB = os.path.join(REPO, "tests", "lab", "lab.sh")
MEASURE = os.path.join(HERE, "measure.py")
CTL_ADDR = "10.77.0.1"
JUMP_ADDR = "10.77.0.2"
# the faults of the 20% faulty fleet, in turn: each leaves a working path
# (the jump host or the console), as in a real incident
FAULTS = ["wrappers-deny", "sshd-stopped", "maxstartups", "banner-missing", "nft-drop"]


def log(msg):
    print(f"fleet: {msg}", file=sys.stderr, flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


class Lab:
    """A lab of N hosts, owned by this process (gone when it exits)."""

    def __init__(self, hosts, work):
        self.dir = os.path.join(work, f"lab-{hosts}")
        log(f"bringing up a lab of {hosts} hosts in {self.dir}")
        out = run(
            ["bash", LAB, "up", "--hosts", str(hosts), "--dir", self.dir, "--owner", str(os.getpid())],
            stdout=subprocess.PIPE,
            text=True,
        ).stdout
        assert f"LAB_DIR={self.dir}" in out, out
        self.env = {}
        with open(os.path.join(self.dir, "lab.env")) as f:
            for line in f:
                if "=" in line and not line.startswith("#"):
                    k, v = line.rstrip("\n").split("=", 1)
                    self.env[k] = v.strip('"')
        self.ns = self.env["LAB_CTL_NS"]
        self.names = self.env["LAB_HOSTS"].split()
        self.addrs = [self.env[f"LAB_ADDR_{h}"] for h in self.names]

    def fault(self, host, kind):
        run(["bash", LAB, "fault", self.dir, host, kind], stdout=subprocess.DEVNULL)

    def down(self):
        subprocess.run(["bash", LAB, "down", self.dir], stdout=subprocess.DEVNULL)


def facts_script(body_path, marker="sshfix-benchbenchbenchbench"):
    """sshfix's facts script with the prelude src/facts/script.rs generates."""
    with open(body_path) as f:
        body = f.read()
    half = len(marker) // 2
    prelude = (
        f"N={marker[:half]}\nN=\"$N\"{marker[half:]}\nSSHFIX_CAP=1048576\nSSHFIX_PORT=22\n"
        f"SSHFIX_CLIENTS={CTL_ADDR}\nSSHFIX_USER=root\n"
    )
    return prelude + body, marker


class Bench:
    def __init__(self, a, lab, work):
        self.a = a
        self.lab = lab
        self.work = work
        self.n = len(lab.names)
        d = lab.dir
        self.cfg = os.path.join(d, "ssh_config")
        # curve25519-sha256 on the client: what pyinfra's paramiko negotiates
        self.cfg_curve = os.path.join(work, "ssh_config_curve")
        with open(self.cfg) as f, open(self.cfg_curve, "w") as out:
            out.write("# the lab's ssh_config with curve25519-sha256 forced (benchmark only)\n")
            out.write("Host *\n\tKexAlgorithms curve25519-sha256\n")
            out.write(f.read())
        # the floor through the jump host: one shared master to it
        self.cfg_jump = os.path.join(work, "ssh_config_jump")
        with open(self.cfg) as f, open(self.cfg_jump, "w") as out:
            out.write(
                f"Host jump\n\tHostName {JUMP_ADDR}\n\tControlPath {work}/jump.sock\n\tControlMaster no\n"
            )
            out.write(f.read())
        self.inv = os.path.join(d, "inventory.ini")
        self.inv_jump = os.path.join(work, "inventory-jump.ini")
        with open(self.inv) as f, open(self.inv_jump, "w") as out:
            out.write(f.read())
            out.write("\n[targets:vars]\nsshfix_paths=jump\n")
        self.addr_file = os.path.join(work, "addrs")
        with open(self.addr_file, "w") as f:
            f.write("\n".join(lab.addrs) + "\n")
        script, self.marker = facts_script(os.path.join(REPO, "src", "facts", "script.sh"))
        self.script_cmd = "sh -c " + shlex.quote(script)
        self.script_file = os.path.join(work, "facts-cmd")
        with open(self.script_file, "w") as f:
            f.write(self.script_cmd)
        # Ansible templates raw's argument (the script's `${#var}` opens a
        # Jinja comment), so there it travels base64-encoded: one `base64 -d`
        # more on each host
        b64 = base64.b64encode(script.encode()).decode()
        self.script_cmd_b64 = f"sh -c \"$(echo {b64} | base64 -d)\""
        self.script_body = os.path.join(work, "facts-script")
        with open(self.script_body, "w") as f:
            f.write(script)
        # Ansible and pyinfra: same hosts, same key, same known_hosts
        self.ans_inv = os.path.join(work, "ansible.ini")
        with open(self.ans_inv, "w") as f:
            f.write("[targets]\n" + "\n".join(lab.addrs) + "\n")
        self.py_inv = os.path.join(work, "pyinfra_inventory.py")
        with open(self.py_inv, "w") as f:
            f.write("targets = [\n" + "".join(f"    ({a!r}, {{}}),\n" for a in lab.addrs) + "]\n")

    # ------------------------------------------------------------ the cases

    def fanout(self, cfg, remote, jump=False):
        """`ssh HOST REMOTE` for every target, --forks at a time (xargs -P)."""
        ssh = f"ssh -F {cfg}" + (" -J jump" if jump else "")
        fan = f"xargs -P {self.a.forks} -I{{}} {ssh} {{}} {remote} < {self.addr_file}"
        if jump:
            # warm the shared master first, stop it at the end (as sshfix does)
            fan = f"ssh -F {cfg} -M -N -f jump && {fan}; rc=$?; ssh -F {cfg} -O exit jump 2>/dev/null; exit $rc"
        return ["sh", "-c", fan]

    def sshfix(self, sub, inv, cfg, *extra):
        state = tempfile.mkdtemp(prefix="state-", dir=self.work)
        return [
            self.a.sshfix, sub, "-i", inv, "-l", "targets", "-f", str(self.a.forks),
            "--ssh-config", cfg, "--state-dir", state, *extra,
        ]

    def ansible(self, module, *args):
        return [
            os.path.join(self.a.venv or "/nonexistent-venv", "bin", "ansible"), "targets", "-i", self.ans_inv,
            "-m", module, *args, "-f", str(self.a.forks), "-o",
        ]

    def ansible_env(self):
        cp = os.path.join(self.work, "ansible-cp")
        subprocess.run(["rm", "-rf", cp])
        return {
            "ANSIBLE_SSH_COMMON_ARGS": f"-F {self.cfg}",
            "ANSIBLE_PYTHON_INTERPRETER": "/usr/bin/python3",
            "ANSIBLE_SSH_CONTROL_PATH_DIR": cp,
            "ANSIBLE_LOCAL_TEMP": os.path.join(self.work, "ansible-tmp"),
            "ANSIBLE_DEPRECATION_WARNINGS": "False",
            "ANSIBLE_HOME": os.path.join(self.work, "ansible-home"),
        }

    def cases(self):
        addrs = set(self.lab.addrs)
        lines_in = lambda out: len({l.strip() for l in out.decode(errors="replace").splitlines()} & addrs)
        marker_done = lambda out: out.count(f"{self.marker} done".encode())

        def sshfix_json(key):
            def count(out):
                d = json.loads(out)
                return sum(1 for h in d["hosts"] if h.get(key))
            return count

        def plan_file(out_path):
            def count(_):
                with open(out_path) as f:
                    return sum(1 for h in json.load(f)["hosts"] if h.get("reached_via"))
            return count

        def ansible_ok(out):
            return sum(1 for l in out.decode(errors="replace").splitlines() if " | SUCCESS" in l or " | CHANGED" in l)

        def pyinfra_ok(out):
            d = json.loads(out)
            return sum(1 for v in d.get("server.Hostname", {}).values() if v)

        plan_out = os.path.join(self.work, "plan.json")
        plan_jump_out = os.path.join(self.work, "plan-jump.json")
        v = self.a.venv or "/nonexistent-venv"
        return {
            "floor": (self.fanout(self.cfg, "echo {}"), lines_in, {}),
            "floor-curve": (self.fanout(self.cfg_curve, "echo {}"), lines_in, {}),
            "floor-jump": (self.fanout(self.cfg_jump, "echo {}", jump=True), lines_in, {}),
            "script-ssh": (
                ["sh", "-c", f"xargs -P {self.a.forks} -I{{}} sh -c 'ssh -F {self.cfg} {{}} \"$(cat {self.script_file})\"' < {self.addr_file}"],
                marker_done,
                {},
            ),
            "sshfix-probe": (
                [self.a.sshfix, "probe", "-i", self.inv, "-l", "targets", "-f", str(self.a.forks), "--format", "json"],
                lambda out: sum(1 for h in json.loads(out)["hosts"] if h["symptom"] == "ok"),
                {},
            ),
            "sshfix-facts": (self.sshfix("facts", self.inv, self.cfg, "--format", "json"), sshfix_json("reached_via"), {}),
            "sshfix-facts-curve": (
                self.sshfix("facts", self.inv, self.cfg_curve, "--format", "json"),
                sshfix_json("reached_via"),
                {},
            ),
            "sshfix-plan": (self.sshfix("plan", self.inv, self.cfg, "--out", plan_out), plan_file(plan_out), {}),
            "sshfix-facts-jump": (
                self.sshfix("facts", self.inv_jump, self.cfg, "--format", "json"),
                sshfix_json("reached_via"),
                {},
            ),
            "sshfix-plan-jump": (
                self.sshfix("plan", self.inv_jump, self.cfg, "--out", plan_jump_out),
                plan_file(plan_jump_out),
                {},
            ),
            "ansible-setup": (self.ansible("setup"), ansible_ok, "ansible"),
            "ansible-raw": (self.ansible("raw", "-a", self.script_cmd_b64), ansible_ok, "ansible"),
            # the script's own cost on a host: 10 runs on h1 (its CPU / 10 is one run)
            "script-on-host-x10": (
                [
                    "nsenter", "-t", self.lab.env[f"LAB_PID_{self.lab.names[0]}"], "-m", "-n", "-p", "-u", "-i",
                    "--", "sh", "-c", 'script=$(cat); for i in 1 2 3 4 5 6 7 8 9 10; do sh -c "$script"; done',
                ],
                lambda out: self.n if marker_done(out) == 10 else 0,
                {"stdin": self.script_body, "netns": False},
            ),
            "pyinfra-curve": (
                [
                    os.path.join(v, "bin", "pyinfra"), self.py_inv, "fact", "server.Hostname",
                    "--parallel", str(self.a.forks), "--ssh-user", "root",
                    "--ssh-key", os.path.join(self.lab.dir, "id_ed25519"),
                    "--data", f"ssh_known_hosts_file={self.lab.env['LAB_KNOWN_HOSTS']}",
                    "--data", "ssh_strict_host_key_checking=yes", "--json",
                ],
                pyinfra_ok,
                {},
            ),
        }

    def measure(self, name, cmd, count, env):
        out = os.path.join(self.work, f"{name}.out")
        err = os.path.join(self.work, f"{name}.err")
        full_env = dict(os.environ)
        opts = env if isinstance(env, dict) else {}
        if env == "ansible":
            full_env.update(self.ansible_env())
        stdin = ["--stdin", opts["stdin"]] if "stdin" in opts else []
        netns = ["ip", "netns", "exec", self.lab.ns] if opts.get("netns", True) else []
        r = subprocess.run(
            [sys.executable, MEASURE, "--stdout", out, "--stderr", err, *stdin, "--",
             *netns, *cmd],
            stdout=subprocess.PIPE,
            env=full_env,
            check=True,
        )
        m = json.loads(r.stdout)
        with open(out, "rb") as f:
            data = f.read()
        try:
            m["reached"] = count(data)
        except (ValueError, KeyError, OSError) as e:
            m["reached"] = 0
            m["count_error"] = str(e)
        m["hosts"] = self.n
        if m["reached"] != self.n or m["rc"] not in (0, 2):
            with open(err, "rb") as f:
                tail = f.read()[-600:].decode(errors="replace")
            log(f"  {name}: rc {m['rc']}, {m['reached']}/{self.n} reached; stderr tail: {tail}")
        return m


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def summarize(n, forks, runs):
    """Medians per case and the ratios the targets are about."""
    med = {}
    for case, ms in runs.items():
        med[case] = {
            "wall_s": median([m["wall_s"] for m in ms]),
            "cpu_s": median([m["cpu_s"] for m in ms]),
            "peak_mib": median([m["peak_mem_bytes"] for m in ms]) / 2**20,
            "reached": min(m["reached"] for m in ms),
            "runs": len(ms),
            "walls": [m["wall_s"] for m in ms],
        }
    in_flight = min(forks, n)

    def ratio(a, b):
        if a in med and b in med and med[b]["wall_s"] > 0:
            return med[a]["wall_s"] / med[b]["wall_s"]
        return None

    ratios = [
        ("sshfix facts / ssh fan-out", ratio("sshfix-facts", "floor"), "<= 1.2"),
        ("sshfix plan / ssh fan-out", ratio("sshfix-plan", "floor"), "<= 1.5"),
        ("sshfix facts via jump / ssh -J fan-out", ratio("sshfix-facts-jump", "floor-jump"), "<= 1.3"),
        ("sshfix plan via jump / ssh -J fan-out", ratio("sshfix-plan-jump", "floor-jump"), "-"),
        ("ansible -m setup / sshfix plan", ratio("ansible-setup", "sshfix-plan"), ">= 3"),
        ("ansible -m raw (facts script) / sshfix facts", ratio("ansible-raw", "sshfix-facts"), "-"),
        ("sshfix facts (curve25519) / pyinfra fact (curve25519)", ratio("sshfix-facts-curve", "pyinfra-curve"), "<= 1.0"),
        ("sshfix facts / ssh fan-out running the facts script", ratio("sshfix-facts", "script-ssh"), "-"),
        ("sshfix plan, 20% faulty / ssh fan-out (healthy)", ratio("sshfix-plan-faulty", "floor"), "-"),
    ]
    cpu = []
    for a, b in [("sshfix-facts", "floor"), ("sshfix-plan", "floor"), ("sshfix-facts", "script-ssh"),
                 ("sshfix-facts-jump", "floor-jump"), ("ansible-setup", "sshfix-plan")]:
        if a in med and b in med and med[b]["cpu_s"] > 0:
            cpu.append((f"controller CPU: {a} / {b}", med[a]["cpu_s"] / med[b]["cpu_s"]))
    mem = {c: med[c]["peak_mib"] / in_flight for c in med}
    return {"hosts": n, "forks": forks, "in_flight": in_flight, "cases": med,
            "ratios": [(k, v, t) for k, v, t in ratios if v is not None],
            "cpu_ratios": cpu, "mib_per_host_in_flight": mem}


def markdown(summaries):
    lines = []
    for s in summaries:
        lines.append(f"### {s['hosts']} hosts, {s['forks']} at a time (medians of {max(c['runs'] for c in s['cases'].values())})\n")
        lines.append("| case | wall s | controller CPU s | peak MiB | MiB per host in flight | reached |")
        lines.append("|---|---:|---:|---:|---:|---:|")
        for c, m in s["cases"].items():
            lines.append(
                f"| {c} | {m['wall_s']:.2f} | {m['cpu_s']:.2f} | {m['peak_mib']:.0f} | "
                f"{s['mib_per_host_in_flight'][c]:.2f} | {m['reached']}/{s['hosts']} |"
            )
        if "script-on-host-x10" in s["cases"]:
            lines.append("")
            lines.append(f"The facts script on one host: {s['cases']['script-on-host-x10']['cpu_s'] * 100:.0f} ms of CPU per run "
                         "(`script-on-host-x10`: 10 runs; the CPU above is all of them).")
        lines.append("")
        lines.append("| ratio (wall time) | measured | target |")
        lines.append("|---|---:|---|")
        for k, v, t in s["ratios"]:
            lines.append(f"| {k} | {v:.2f} | {t} |")
        for k, v in s["cpu_ratios"]:
            lines.append(f"| {k} | {v:.2f} | - |")
        lines.append("")
    if len(summaries) >= 2:
        a, b = summaries[0], summaries[-1]
        scale = b["hosts"] / a["hosts"]
        lines.append(f"Growth from {a['hosts']} to {b['hosts']} hosts ({scale:.0f}x the hosts; linear = {scale:.1f}x the time):\n")
        lines.append("| case | time ratio |")
        lines.append("|---|---:|")
        for c in a["cases"]:
            if c in b["cases"] and a["cases"][c]["wall_s"] > 0:
                lines.append(f"| {c} | {b['cases'][c]['wall_s'] / a['cases'][c]['wall_s']:.2f} |")
        lines.append("")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description="sshfix fleet benchmark (see docs/performance.md)")
    ap.add_argument("--hosts", default="40,200", help="fleet sizes, comma-separated (default 40,200)")
    ap.add_argument("--reps", type=int, default=3, help="runs of each case per size (default 3)")
    ap.add_argument("--forks", type=int, default=50, help="hosts in flight, for every tool (default 50)")
    ap.add_argument("--only", default="", help="comma-separated cases to run (default: all)")
    ap.add_argument("--no-faulty", action="store_true", help="skip the 20%%-faulty fleet")
    ap.add_argument("--sshfix", required=True, help="the sshfix binary (a release build)")
    ap.add_argument("--venv", help="virtualenv with ansible-core and pyinfra (for their cases)")
    ap.add_argument("--out", required=True, help="directory for results.json and results.md")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("fleet: must run as root (the lab and the cgroups need it)")
    a.sshfix = os.path.abspath(a.sshfix)
    os.makedirs(a.out, exist_ok=True)
    only = set(filter(None, a.only.split(",")))
    summaries = []
    # every case must reach every host: a time for a partial fleet compares nothing
    missed = []
    for n in [int(x) for x in a.hosts.split(",")]:
        work = tempfile.mkdtemp(prefix=f"sshfix-bench-{n}-")
        lab = Lab(n, work)
        try:
            b = Bench(a, lab, work)
            cases = {k: v for k, v in b.cases().items() if not only or k in only}
            unknown = only - set(b.cases()) - {"sshfix-plan-faulty"}
            if unknown:
                sys.exit(f"fleet: unknown case(s) {', '.join(sorted(unknown))}; known: {', '.join(b.cases())}")
            if not a.venv and any(k.startswith(("ansible", "pyinfra")) for k in cases):
                sys.exit("fleet: --venv is needed for the ansible and pyinfra cases (bench/fleet.sh makes one)")
            runs = {k: [] for k in cases}
            for rep in range(a.reps):
                for name, (cmd, count, env) in cases.items():
                    m = b.measure(name, cmd, count, env)
                    runs[name].append(m)
                    if m["reached"] != n:
                        missed.append(f"{n} hosts, rep {rep + 1}: {name}: {m['reached']}/{n} reached")
                    log(f"{n} hosts, rep {rep + 1}: {name}: {m['wall_s']:.2f} s wall, "
                        f"{m['cpu_s']:.2f} s CPU, {m['peak_mem_bytes'] / 2**20:.0f} MiB, "
                        f"{m['reached']}/{n} reached")
            if not a.no_faulty and (not only or "sshfix-plan-faulty" in only):
                faulty = lab.names[::5]
                log(f"{n} hosts: faults on {len(faulty)} hosts ({', '.join(FAULTS)} in turn)")
                for i, h in enumerate(faulty):
                    lab.fault(h, FAULTS[i % len(FAULTS)])
                cmd, count, env = cases.get("sshfix-plan") or b.cases()["sshfix-plan"]
                runs["sshfix-plan-faulty"] = []
                for rep in range(a.reps):
                    m = b.measure("sshfix-plan-faulty", cmd, count, env)
                    runs["sshfix-plan-faulty"].append(m)
                    if m["reached"] != n:
                        missed.append(f"{n} hosts, rep {rep + 1}: sshfix-plan-faulty: {m['reached']}/{n} reached")
                    log(f"{n} hosts, rep {rep + 1}: sshfix-plan-faulty: {m['wall_s']:.2f} s wall, "
                        f"{m['reached']}/{n} reached")
            s = summarize(n, a.forks, runs)
            s["raw"] = runs
            summaries.append(s)
        finally:
            lab.down()
            shutil.rmtree(work, ignore_errors=True)
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump({"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "sizes": summaries}, f, indent=1)
    md = markdown(summaries)
    with open(os.path.join(a.out, "results.md"), "w") as f:
        f.write(md + "\n")
    print(md)
    if missed:
        print("fleet: error: not every host was reached:\n  " + "\n  ".join(missed), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
