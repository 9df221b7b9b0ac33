#!/usr/bin/env python3
"""The deployment files agree with the binaries.

No Docker engine runs here, so deploy/docker/Dockerfile,
deploy/docker-compose.yml and deploy/systemd/*.service are kept honest by
comparing what they use with what the built binaries print in --help:

- every SAFESTREAM_* variable a daemon is given is one its --help names
  (`(Env:SAFESTREAM_...)`), every --flag on its command line is one of its flags;
- every REQUIRED option of a daemon is set (variable or flag) by each way of
  running it;
- every port exposed, published or scraped is a port the daemon listens on
  (its default in --help or the value its *_PORT variable is given);
- images run as a non-root user; compose secrets are declared in the example
  env file; systemd units pass `systemd-analyze verify`.

Usage: deploy_flags_test.py BUILD_DIR
"""
import fnmatch
import os
import re
import shlex
import shutil
import subprocess
import sys

import yaml

from checks import check, finish

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BINARIES = {
    "safestream-ingest": "ingest/safestream-ingest",
    "safestream-processor": "processor/safestream-processor",
    "safestream-api": "api/safestream-api",
    "safestream-migrate": "core/safestream-migrate",
}



class Help:
    """What one binary (optionally one subcommand) accepts, parsed from --help."""

    def __init__(self, build, binary, sub=None):
        path = os.path.join(build, BINARIES[binary])
        if not os.access(path, os.X_OK):
            raise SystemExit(f"FAIL: {path} is not built")
        args = [path] + ([sub] if sub else []) + ["--help"]
        out = subprocess.run(args, capture_output=True, text=True, timeout=30)
        self.text = out.stdout + out.stderr
        if out.returncode != 0:
            raise SystemExit(f"FAIL: {' '.join(args)} exited {out.returncode}: {self.text[:300]}")
        # Only the text before "Subcommands:" is this command's own; CLI11
        # may print each subcommand's options below it.
        top, _, subs = self.text.partition("\nSubcommands:\n")
        self.flags = set(re.findall(r"(?<![\w-])(--[a-z0-9][a-z0-9-]*)", top))
        self.envs = set(re.findall(r"Env:(SAFESTREAM_[A-Z0-9_]+)", top))
        # Option lines: "--flag TYPE[=default] [REQUIRED] [(Env:NAME)]"
        self.options = {}
        for m in re.finditer(r"^\s+(?:-\w,)?(--[a-z0-9-]+)([^\n]*)", top, re.M):
            rest = m.group(2)
            env = re.search(r"Env:(SAFESTREAM_[A-Z0-9_]+)", rest)
            default = re.search(r"=(\S+)", rest.split("(Env:")[0])
            self.options[m.group(1)] = {
                "env": env.group(1) if env else None,
                "default": default.group(1) if default else None,
                "required": "REQUIRED" in rest,
            }
        # Subcommand names: "name" alone on a line, or "  name   description".
        self.subcommands = set(re.findall(r"^([a-z][\w-]*)\s*$", subs, re.M)) | \
            set(re.findall(r"^  ([a-z][\w-]*)\s{2,}\S", subs, re.M))

    def ports(self, env_values):
        """Ports the daemon listens on: *-port defaults, overridden by the given env values."""
        ports = set()
        for flag, o in self.options.items():
            if not flag.endswith("-port"):
                continue
            value = env_values.get(o["env"]) if o["env"] else None
            value = value if value is not None else o["default"]
            if value and str(value).isdigit() and int(value) != 0:  # 0: not listening
                ports.add(int(value))
        return ports


HELP_CACHE = {}


def help_for(build, binary, args):
    """--help of the binary, merged with that of a subcommand named in args."""
    base = HELP_CACHE.setdefault((binary, None), Help(build, binary))
    sub = next((a for a in args if a in base.subcommands), None)
    if not sub:
        return base
    h = HELP_CACHE.setdefault((binary, sub), Help(build, binary, sub))
    merged = Help.__new__(Help)
    merged.text = base.text + h.text
    merged.flags = base.flags | h.flags
    merged.envs = base.envs | h.envs
    merged.options = {**base.options, **h.options}
    merged.subcommands = base.subcommands
    return merged


def check_daemon(where, binary, h, env, args, listen_ports=(), own_env=None):
    """One way of running one binary: its environment, arguments and ports.
    own_env: the variables set for this binary alone (default: all of env);
    a file shared by several daemons may hold settings of the others."""
    for name in sorted(n for n in (env if own_env is None else own_env) if n.startswith("SAFESTREAM_")):
        check(name in h.envs, f"{where}: {name} is not a setting of {binary} (see {binary} --help)")
    for a in args:
        flag = a.split("=", 1)[0]
        if flag.startswith("--"):
            check(flag in h.flags, f"{where}: {flag} is not a flag of {binary}")
    for flag, o in h.options.items():
        if o["required"]:
            given = (o["env"] in env) or any(a.split("=", 1)[0] == flag for a in args)
            check(given, f"{where}: required {flag} / {o['env']} of {binary} is not set")
    listening = h.ports(env)
    for p in listen_ports:
        check(p in listening, f"{where}: port {p} is not one {binary} listens on ({sorted(listening)})")
    return listening


# ---- Dockerfile ----------------------------------------------------------------
def dockerfile_stages(path):
    """Stages of a Dockerfile: name -> {base, env, entry, cmd, expose, user, copies}."""
    stages, cur = {}, None
    lines, buf = [], ""
    for raw in open(path, encoding="utf-8"):
        line = raw.rstrip("\n")
        if line.lstrip().startswith("#") and not buf:
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        lines.append(buf + line)
        buf = ""
    for line in lines:
        parts = line.strip().split(None, 1)
        if not parts:
            continue
        ins, rest = parts[0].upper(), (parts[1] if len(parts) > 1 else "")
        if ins == "FROM":
            m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?", rest, re.I)
            name = m.group(2) or f"stage{len(stages)}"
            cur = stages[name] = {"base": m.group(1), "env": {}, "entry": None, "cmd": [], "expose": [],
                                  "user": None, "copies": []}
        elif cur is None:
            continue
        elif ins == "ENV":
            for tok in shlex.split(rest):
                if "=" in tok:
                    k, v = tok.split("=", 1)
                    cur["env"][k] = v
        elif ins in ("ENTRYPOINT", "CMD"):
            value = yaml.safe_load(rest) if rest.startswith("[") else shlex.split(rest)
            cur["entry" if ins == "ENTRYPOINT" else "cmd"] = value
        elif ins == "EXPOSE":
            cur["expose"] += [int(p.split("/")[0]) for p in rest.split()]
        elif ins == "USER":
            cur["user"] = rest.split(":")[0]
        elif ins == "COPY":
            cur["copies"].append(rest)
    return stages


def inherited(stages, name, key):
    """A stage's value of key, looking through FROM <stage> parents."""
    while name in stages:
        if stages[name][key]:
            return stages[name][key]
        name = stages[name]["base"]
    return None


def check_dockerfile(build):
    path = os.path.join(ROOT, "deploy/docker/Dockerfile")
    stages = dockerfile_stages(path)
    daemon_stages = {}
    for name, s in stages.items():
        if not s["entry"]:
            continue
        binary = os.path.basename(s["entry"][0])
        check(binary in BINARIES, f"Dockerfile stage {name}: entrypoint {binary} is not one of {sorted(BINARIES)}")
        if binary not in BINARIES:
            continue
        daemon_stages[name] = binary
        check(any(binary in c and "--from=build" in c for c in s["copies"]),
              f"Dockerfile stage {name}: does not copy {binary} from the build stage")
        user = inherited(stages, name, "user")
        check(user not in (None, "0", "root"), f"Dockerfile stage {name}: runs as root (no USER)")
        args = s["entry"][1:] + (s["cmd"] or [])
        h = help_for(build, binary, args)
        # Required settings come from the runtime environment, not the image.
        for n in s["env"]:
            if n.startswith("SAFESTREAM_"):
                check(n in h.envs, f"Dockerfile stage {name}: {n} is not a setting of {binary}")
        for a in args:
            if a.startswith("--"):
                check(a.split("=", 1)[0] in h.flags, f"Dockerfile stage {name}: {a} is not a flag of {binary}")
        listening = h.ports(s["env"])
        for p in s["expose"]:
            check(p in listening, f"Dockerfile stage {name}: EXPOSE {p} but {binary} listens on {sorted(listening)}")
        check(not s["expose"] or listening <= set(s["expose"]) or binary == "safestream-migrate",
              f"Dockerfile stage {name}: {binary} listens on {sorted(listening)} but EXPOSE says {s['expose']}")
    for binary in ("safestream-ingest", "safestream-processor", "safestream-api", "safestream-migrate"):
        check(binary in daemon_stages.values(), f"Dockerfile: no stage runs {binary}")
    # Files copied from the build context exist (the context is the repository root).
    for name, s in stages.items():
        for c in s["copies"]:
            parts = [p for p in c.split() if not p.startswith("--")]
            if "--from=" in c or len(parts) < 2:
                continue
            for src in parts[:-1]:
                check(os.path.exists(os.path.join(ROOT, src)), f"Dockerfile stage {name}: COPY source {src} does not exist")
    return stages, daemon_stages


def dockerignore_allows(path):
    """True when deploy/docker/Dockerfile.dockerignore lets `path` into the
    build context (the last matching rule wins; "!" lets in)."""
    allowed = True
    for raw in open(os.path.join(ROOT, "deploy/docker/Dockerfile.dockerignore"), encoding="utf-8"):
        rule = raw.strip()
        if not rule or rule.startswith("#"):
            continue
        neg = rule.startswith("!")
        pat = rule.lstrip("!").rstrip("/")
        if pat == "**" or path == pat or path.startswith(pat + "/") or fnmatch.fnmatchcase(path, pat):
            allowed = neg
    return allowed


def cmake_inputs():
    """Paths (relative to the repository root) that configuring the build
    reads: the CMakeLists.txt of every add_subdirectory() reached from the
    top-level one (tests/ aside: the image is built without tests), and the
    files those name through ${PROJECT_SOURCE_DIR} outside quotes (sources,
    file(READ))."""
    needed, queue, seen = {"CMakeLists.txt"}, [""], set()
    while queue:
        d = queue.pop()
        if d in seen:
            continue
        seen.add(d)
        text = open(os.path.join(ROOT, d, "CMakeLists.txt"), encoding="utf-8").read()
        # Comments and quoted strings (compile definitions naming run-time
        # defaults such as deploy/cities.json) are not read at configure.
        text = re.sub(r"#[^\n]*", "", text)
        text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
        for m in re.finditer(r"add_subdirectory\(\s*(\S+)", text):
            arg = m.group(1).rstrip(")")
            sub = arg.replace("${PROJECT_SOURCE_DIR}/", "") if "${PROJECT_SOURCE_DIR}" in arg else os.path.join(d, arg)
            sub = os.path.normpath(sub)
            if sub == "tests" or sub.startswith("tests/"):
                continue
            needed.add(os.path.join(sub, "CMakeLists.txt"))
            queue.append(sub)
        for m in re.finditer(r"\$\{PROJECT_SOURCE_DIR\}/([\w./-]+)", text):
            p = m.group(1)
            if os.path.isfile(os.path.join(ROOT, p)):
                needed.add(p)
    return needed


def check_build_context(stages):
    """The build stage has what configuring reads, and the context lets it in:
    an image build that misses a folder fails at cmake's configure step."""
    build = stages.get("build")
    check(build is not None, "Dockerfile: no stage named build")
    if build is None:
        return
    sources = []
    for c in build["copies"]:
        parts = [p for p in c.split() if not p.startswith("--")]
        if "--from=" not in c and len(parts) >= 2:
            sources += [p.rstrip("/") for p in parts[:-1]]
    for path in sorted(cmake_inputs()):
        check(any(path == s or path.startswith(s + "/") for s in sources),
              f"Dockerfile stage build: configuring reads {path}, which no COPY brings in")
    for name, s in stages.items():
        for c in s["copies"]:
            parts = [p for p in c.split() if not p.startswith("--")]
            if "--from=" in c or len(parts) < 2:
                continue
            for src in parts[:-1]:
                check(dockerignore_allows(src.rstrip("/")),
                      f"Dockerfile stage {name}: COPY {src} is left out of the context by Dockerfile.dockerignore")


# ---- docker-compose.yml ---------------------------------------------------------
def check_compose(build, stages, daemon_stages):
    path = os.path.join(ROOT, "deploy/docker-compose.yml")
    text = open(path, encoding="utf-8").read()
    compose = yaml.safe_load(text)
    services = compose["services"]
    for want in ("kafka", "postgres", "redis", "minio", "prometheus", "grafana"):
        check(want in services, f"compose: no {want} service")
    check("KRaft" in text or "KAFKA_PROCESS_ROLES" in str(services.get("kafka", {})),
          "compose: kafka is not configured for KRaft")
    metrics_ports = {}
    for name, svc in services.items():
        b = svc.get("build")
        if not b:
            continue
        target = b.get("target")
        check(b.get("dockerfile") == "deploy/docker/Dockerfile" and target in daemon_stages,
              f"compose service {name}: builds target {target!r}, not a daemon stage of deploy/docker/Dockerfile")
        if target not in daemon_stages:
            continue
        binary = daemon_stages[target]
        env = dict(stages[target]["env"])  # the image's ENV, then the service's
        svc_env = svc.get("environment") or {}
        if isinstance(svc_env, list):
            svc_env = dict(e.split("=", 1) for e in svc_env)
        env.update({k: str(v) for k, v in svc_env.items()})
        cmd = svc.get("command") or []
        cmd = shlex.split(cmd) if isinstance(cmd, str) else [str(c) for c in cmd]
        args = (stages[target]["entry"][1:] or []) + cmd
        h = help_for(build, binary, args)
        published = []
        for p in svc.get("ports") or []:
            published.append(int(str(p).split(":")[-1].split("/")[0]))
        listening = check_daemon(f"compose service {name}", binary, h,
                                 {k: v for k, v in env.items()}, args, published)
        metrics_ports[name] = int(env.get(h.options.get("--metrics-port", {}).get("env") or "", 0) or
                                  h.options.get("--metrics-port", {}).get("default") or 0)
        check(not metrics_ports[name] or metrics_ports[name] in listening, f"compose service {name}: metrics port")
    # Every ${VAR:?...} secret is in the example env file.
    example = open(os.path.join(ROOT, "deploy/docker/compose.env.example"), encoding="utf-8").read()
    uncommented = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    for var in sorted(set(re.findall(r"\$\{([A-Z0-9_]+):\?", uncommented))):
        check(re.search(rf"^{var}=", example, re.M) is not None,
              f"compose: secret {var} is not in deploy/docker/compose.env.example")
    # Prometheus under compose scrapes the daemons where they listen.
    prom = yaml.safe_load(open(os.path.join(ROOT, "deploy/prometheus/prometheus-compose.yml"), encoding="utf-8"))
    targets = {t for sc in prom["scrape_configs"] for st in sc.get("static_configs", []) for t in st["targets"]}
    for name, port in metrics_ports.items():
        if port:
            check(f"{name}:{port}" in targets, f"prometheus-compose.yml: does not scrape {name}:{port}")
    for t in targets:
        host, port = t.rsplit(":", 1)
        if host in metrics_ports:
            check(metrics_ports[host] == int(port), f"prometheus-compose.yml: scrapes {t}, {host} serves metrics on {metrics_ports[host]}")


# ---- systemd ----------------------------------------------------------------------
def read_env_file(path):
    env = {}
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            env[k] = v
    return env


def check_systemd(build):
    d = os.path.join(ROOT, "deploy/systemd")
    shared = read_env_file(os.path.join(d, "safestream.env.example"))
    local_prom = yaml.safe_load(open(os.path.join(ROOT, "deploy/prometheus/prometheus.yml"), encoding="utf-8"))
    local_targets = {t for sc in local_prom["scrape_configs"] for st in sc.get("static_configs", []) for t in st["targets"]}
    seen = set()
    known_everywhere = set()
    for f in sorted(os.listdir(d)):
        if not f.endswith(".service"):
            continue
        unit = open(os.path.join(d, f), encoding="utf-8").read()
        m = re.search(r"^ExecStart=(.*)$", unit, re.M)
        check(m is not None, f"systemd {f}: no ExecStart")
        if not m:
            continue
        argv = shlex.split(m.group(1))
        binary = os.path.basename(argv[0])
        if binary not in BINARIES:
            continue  # e.g. the partitions job runs psql
        seen.add(binary)
        env = {}
        if "EnvironmentFile=/etc/safestream/safestream.env" in unit:
            env.update(shared)
        for k, v in re.findall(r"^Environment=([A-Z0-9_]+)=(.*)$", unit, re.M):
            env[k] = v
        h = help_for(build, binary, argv[1:])
        known_everywhere |= h.envs
        # The shared file is read by every unit: a daemon ignores the
        # variables of the others, so only the unit's own lines must match.
        own = dict(re.findall(r"^Environment=([A-Z0-9_]+)=(.*)$", unit, re.M))
        check_daemon(f"systemd {f}", binary, h, env, argv[1:], own_env=own)
        check(re.search(r"^User=(?!root$)\S+", unit, re.M) is not None, f"systemd {f}: runs as root")
        if binary != "safestream-migrate":
            port = h.ports(env)
            metrics = int(env.get(h.options["--metrics-port"]["env"]) or h.options["--metrics-port"]["default"])
            check(metrics in port, f"systemd {f}: metrics port {metrics}")
            check(f"127.0.0.1:{h.options['--metrics-port']['default']}" in local_targets,
                  f"prometheus.yml: does not scrape {binary}'s default metrics port {h.options['--metrics-port']['default']}")
    for binary in ("safestream-ingest", "safestream-processor", "safestream-api", "safestream-migrate"):
        check(binary in seen, f"systemd: no unit runs {binary}")
    for name in shared:
        check(name in known_everywhere, f"safestream.env.example: {name} is not a setting of any daemon")
    if shutil.which("systemd-analyze"):
        units = [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.endswith((".service", ".timer"))]
        out = subprocess.run(["systemd-analyze", "verify", "--man=no"] + units, capture_output=True, text=True,
                             timeout=60)
        # The binaries are not installed on the test machine; anything else is a unit error.
        problems = [l for l in (out.stdout + out.stderr).splitlines()
                    if l.strip() and "is not executable" not in l and "No such file or directory" not in l]
        check(not problems, "systemd-analyze verify: " + "; ".join(problems))


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: deploy_flags_test.py BUILD_DIR")
    build = os.path.abspath(sys.argv[1])
    stages, daemon_stages = check_dockerfile(build)
    check_build_context(stages)
    check_compose(build, stages, daemon_stages)
    check_systemd(build)
    finish()


if __name__ == "__main__":
    main()
