#!/usr/bin/env python3
"""A throw-away local Elasticsearch for tests and trying the sink by hand.

    python3 scripts/elasticsearch.py fetch            # download + unpack once (Maven Central)
    python3 scripts/elasticsearch.py start [--tls] [--port N]
    python3 scripts/elasticsearch.py status
    python3 scripts/elasticsearch.py stop [--port N]  # all instances without --port

Environment: EBPF_MONITOR_ES_CACHE (where the distribution and instances live, default
/var/cache/ebpf-monitor-es), EBPF_MONITOR_ES_HEAP (JVM heap, default 512m).

Why these choices:
- Maven Central is the one place here that serves Elasticsearch; Elastic publishes the
  `integ-test-zip` distribution there (no bundled JDK, few modules, but x-pack-security is in it,
  so HTTPS and basic auth work). We run it on the system Java 17.
- Elasticsearch refuses to run as root, so each instance runs as the unprivileged system user
  `ebpf-es`, created on first use, in its own directory `<cache>/instances/<port>` (config, data,
  logs, pid); the unpacked distribution stays root-owned and read-only.
- Bound to 127.0.0.1 only, which also keeps the node in development mode (no production bootstrap
  checks such as vm.max_map_count). Disk watermarks are off: a nearly full test disk must not turn
  the indices read-only.
- TLS mode makes a CA and a server certificate with openssl (CA kept in the instance dir) and sets
  the `elastic` password through `bootstrap.password` in the keystore.

Stdlib only: it runs before the venv exists. The Python API (`fetch`, `start`, `stop`) serves the
pytest fixtures.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["VERSION", "EsServer", "fetch", "instances", "kill", "restart", "start", "stop"]

VERSION = "8.19.21"
"""Newest 8.19 patch of integ-test-zip on Maven Central (it publishes only 8.19.0, .2, .4, .21)."""

ARTIFACT = f"org.elasticsearch.distribution.integ-test-zip:elasticsearch:{VERSION}:zip"
ES_USER = "ebpf-es"
HEAP = "-Xms512m -Xmx512m"
"""The JVM heap of a test node; EBPF_MONITOR_ES_HEAP=4g gives a benchmark node more."""
START_TIMEOUT = 180.0
STOP_TIMEOUT = 30.0


def cache_dir() -> Path:
    return Path(os.environ.get("EBPF_MONITOR_ES_CACHE", "/var/cache/ebpf-monitor-es"))


def es_home() -> Path:
    return cache_dir() / f"elasticsearch-{VERSION}"


@dataclass(frozen=True)
class EsServer:
    """A running instance: what a client needs, plus where it lives."""

    url: str
    port: int
    pid: int
    ca: Path | None
    user: str | None
    password: str | None
    instance_dir: Path

    def to_json(self) -> str:
        data = asdict(self)
        data["ca"] = str(self.ca) if self.ca else None
        data["instance_dir"] = str(self.instance_dir)
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> EsServer:
        data = json.loads(text)
        data["ca"] = Path(data["ca"]) if data["ca"] else None
        data["instance_dir"] = Path(data["instance_dir"])
        return cls(**data)


class EsScriptError(Exception):
    """A step failed; the message says which and why."""


# --- fetch ---------------------------------------------------------------------------------


def _extract(archive: Path, dest: Path) -> None:
    # zipfile drops Unix modes; bin/ and the JVM launchers need their exec bits back.
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            path = Path(zf.extract(info, dest))
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                path.chmod(mode)


def fetch() -> Path:
    """Download and unpack the distribution once; return its home directory."""
    home = es_home()
    if (home / ".unpacked").exists():
        return home
    cache = cache_dir()
    cache.mkdir(mode=0o755, parents=True, exist_ok=True)
    cache.chmod(0o755)  # the ebpf-es user must traverse it
    download = cache / "download"
    archive = download / f"elasticsearch-{VERSION}.zip"
    if not archive.exists():
        if shutil.which("mvn") is None:
            raise EsScriptError("fetch: mvn not found (apt-get install maven)")
        cmd = ["mvn", "-q", "-B", "dependency:copy", f"-Dartifact={ARTIFACT}",
               f"-DoutputDirectory={download}"]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not archive.exists():
            tail = (result.stdout + result.stderr).strip().splitlines()[-5:]
            raise EsScriptError(f"fetch: mvn dependency:copy {ARTIFACT} failed: "
                                + " | ".join(tail))
    # Unpack beside the target and rename, so a crash never leaves a half tree that looks done.
    staging = Path(tempfile.mkdtemp(prefix="unpack-", dir=cache))
    try:
        _extract(archive, staging)
        unpacked = staging / f"elasticsearch-{VERSION}"
        if not (unpacked / "bin" / "elasticsearch").exists():
            raise EsScriptError(f"fetch: {archive} lacks elasticsearch-{VERSION}/bin/elasticsearch")
        if home.exists():
            shutil.rmtree(home)
        unpacked.rename(home)
        home.chmod(0o755)
        (home / ".unpacked").write_text(VERSION + "\n")
        archive.unlink()  # ~/.m2 keeps a copy; no need for a third
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return home


# --- start -----------------------------------------------------------------------------------


def _ensure_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(ES_USER)
    except KeyError:
        pass
    subprocess.run(
        ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
         "--shell", "/usr/sbin/nologin", ES_USER],
        check=True,
    )
    return pwd.getpwnam(ES_USER)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _java_home() -> Path:
    if os.environ.get("ES_JAVA_HOME"):
        return Path(os.environ["ES_JAVA_HOME"])
    java = shutil.which("java")
    if java is None:
        raise EsScriptError("start: java not found (apt-get install openjdk-17-jre-headless)")
    return Path(java).resolve().parent.parent


def _openssl(*args: str, cwd: Path) -> None:
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        raise EsScriptError(f"start: openssl {args[0]} failed: {result.stderr.strip()}")


def _make_certs(certs: Path) -> None:
    """A CA and a server certificate for 127.0.0.1/localhost, valid for a few days."""
    certs.mkdir()
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
             "-subj", "/CN=ebpf-monitor test CA", "-keyout", "ca.key", "-out", "ca.crt",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=certs)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
             "-keyout", "server.key", "-out", "server.csr", cwd=certs)
    (certs / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "extendedKeyUsage=serverAuth\n"
        "basicConstraints=CA:FALSE\n"
    )
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "30", "-extfile", "server.ext", "-out", "server.crt",
             cwd=certs)


def _settings(inst: Path, port: int, transport_port: int, tls: bool) -> str:
    lines = [
        "cluster.name: ebpf-monitor-test",
        f"node.name: node-{port}",
        f"path.data: {inst / 'data'}",
        f"path.logs: {inst / 'logs'}",
        "network.host: 127.0.0.1",
        f"http.port: {port}",
        f"transport.port: {transport_port}",
        "discovery.type: single-node",
        # The test disk may be nearly full: never block writes for it.
        "cluster.routing.allocation.disk.threshold_enabled: false",
        "action.destructive_requires_name: false",
    ]
    if tls:
        lines += [
            "xpack.security.enabled: true",
            "xpack.security.http.ssl.enabled: true",
            "xpack.security.http.ssl.certificate: certs/server.crt",
            "xpack.security.http.ssl.key: certs/server.key",
            "xpack.security.http.ssl.certificate_authorities: [certs/ca.crt]",
            "xpack.security.transport.ssl.enabled: false",
        ]
    else:
        lines.append("xpack.security.enabled: false")
    return "\n".join(lines) + "\n"


def _request(server: EsServer, path: str, timeout: float = 5.0) -> dict[str, object]:
    ctx: ssl.SSLContext | None = None
    if server.ca is not None:
        ctx = ssl.create_default_context(cafile=str(server.ca))
    req = urllib.request.Request(server.url + path)
    if server.user is not None and server.password is not None:
        token = base64.b64encode(f"{server.user}:{server.password}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(req, timeout=timeout, context=ctx) as resp:
        result: dict[str, object] = json.load(resp)
        return result


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _log_tail(inst: Path, lines: int = 15) -> str:
    logs = [*sorted((inst / "logs").glob("*.log")), inst / "stdout.log"]
    out: list[str] = []
    for log in logs:
        if log.name == "gc.log" or not log.exists() or not log.stat().st_size:
            continue
        text = log.read_text(errors="replace").splitlines()
        # The cause is often far above the shutdown chatter at the end.
        causes = [line for line in text if "ERROR" in line or "Exception:" in line][:4]
        out += [f"--- {log}", *causes, "...", *text[-lines:]]
    return "\n".join(out)


def _wait_ready(server: EsServer, deadline: float) -> None:
    last = "no answer"
    while time.monotonic() < deadline:
        if not _pid_alive(server.pid):
            raise EsScriptError(f"start: elasticsearch exited\n{_log_tail(server.instance_dir)}")
        try:
            health = _request(server, "/_cluster/health?wait_for_status=yellow&timeout=2s")
            if health.get("status") in ("yellow", "green"):
                return
            last = f"status {health.get('status')}"
        except (OSError, urllib.error.URLError, ValueError) as exc:
            last = str(exc)
        time.sleep(0.5)
    raise EsScriptError(f"start: not ready after {START_TIMEOUT:.0f}s ({last})\n"
                        f"{_log_tail(server.instance_dir)}")


def start(tls: bool = False, port: int | None = None) -> EsServer:
    """Start one instance and wait for yellow health; the caller must `stop()` it."""
    home = fetch()
    user = _ensure_user()
    port = port or _free_port()
    inst = cache_dir() / "instances" / str(port)
    if (inst / "server.json").exists():
        old = EsServer.from_json((inst / "server.json").read_text())
        if _pid_alive(old.pid):
            raise EsScriptError(f"start: an instance already runs on port {port} (pid {old.pid})")
    shutil.rmtree(inst, ignore_errors=True)
    try:
        server = _launch(home, user, inst, port, tls)
    except BaseException:
        shutil.rmtree(inst, ignore_errors=True)  # the error message carries the log tail
        raise
    try:
        _wait_ready(server, time.monotonic() + START_TIMEOUT)
    except BaseException:
        stop(server)
        raise
    return server


def _launch(home: Path, user: pwd.struct_passwd, inst: Path, port: int, tls: bool) -> EsServer:
    """Lay out the instance dir and start the node as `ebpf-es`; return once its pid is known."""
    inst.mkdir(parents=True)
    inst.parent.chmod(0o755)
    conf = inst / "config"
    # The distribution's config (jvm.options, log4j2) is the base; elasticsearch.yml is ours.
    shutil.copytree(home / "config", conf)
    (conf / "elasticsearch.yml").write_text(_settings(inst, port, _free_port(), tls))
    for sub in ("data", "logs", "tmp", "run"):
        (inst / sub).mkdir()
    password: str | None = None
    ca: Path | None = None
    if tls:
        _make_certs(conf / "certs")
        ca = conf / "certs" / "ca.crt"
        password = secrets.token_urlsafe(18)
    subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", str(inst)], check=True)
    inst.chmod(0o750)
    os.chown(inst, 0, user.pw_gid)  # root keeps the dir; ebpf-es gets in through its group
    env = _node_env(home, inst)
    if password is not None:
        keystore = str(home / "bin" / "elasticsearch-keystore")
        for args, stdin in (([keystore, "create"], None),
                            ([keystore, "add", "--stdin", "bootstrap.password"], password)):
            result = subprocess.run(args, input=stdin, env=env, capture_output=True, text=True,
                                    check=False, user=user.pw_uid, group=user.pw_gid,
                                    extra_groups=[])
            if result.returncode != 0:
                raise EsScriptError(f"start: {' '.join(args[1:3])} failed: "
                                    f"{(result.stdout + result.stderr).strip()}")
    return _run_node(home, user, inst, port, env, ca=ca, password=password)


def _heap() -> str:
    size = os.environ.get("EBPF_MONITOR_ES_HEAP", "").strip()
    if not size:
        return HEAP
    if not size[:-1].isdigit() or size[-1].lower() not in "mg":
        raise EsScriptError(f"EBPF_MONITOR_ES_HEAP={size!r}: a size like 512m or 4g")
    return f"-Xms{size} -Xmx{size}"


def _node_env(home: Path, inst: Path) -> dict[str, str]:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(inst),
        "LANG": "C.UTF-8",
        "ES_HOME": str(home),
        "ES_PATH_CONF": str(inst / "config"),
        "ES_JAVA_HOME": str(_java_home()),
        "ES_JAVA_OPTS": _heap(),
        "ES_TMPDIR": str(inst / "tmp"),
    }


def _run_node(home: Path, user: pwd.struct_passwd, inst: Path, port: int, env: dict[str, str],
              *, ca: Path | None, password: str | None) -> EsServer:
    """Start the node of a laid-out instance dir; return once its pid is known."""
    tls = ca is not None
    pid_file = inst / "run" / "es.pid"
    pid_file.unlink(missing_ok=True)
    with open(inst / "stdout.log", "ab") as out:
        # -d: the launcher returns once the node started (or failed); the server pid is in -p.
        result = subprocess.run(
            [str(home / "bin" / "elasticsearch"), "-d", "-p", str(pid_file)],
            env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=inst, check=False, start_new_session=True,
            user=user.pw_uid, group=user.pw_gid, extra_groups=[],
        )
    deadline = time.monotonic() + START_TIMEOUT
    while not pid_file.exists():
        if result.returncode != 0 or time.monotonic() > deadline:
            raise EsScriptError(f"start: elasticsearch failed to start (exit {result.returncode})\n"
                                f"{_log_tail(inst)}")
        time.sleep(0.2)
    pid = int(pid_file.read_text().strip())
    scheme = "https" if tls else "http"
    server = EsServer(url=f"{scheme}://127.0.0.1:{port}", port=port, pid=pid, ca=ca,
                      user="elastic" if tls else None, password=password, instance_dir=inst)
    (inst / "server.json").write_text(server.to_json() + "\n")
    (inst / "server.json").chmod(0o600)
    return server



def kill(server: EsServer) -> None:
    """SIGKILL the node, as a crash or an outage would, keeping its data for `restart`."""
    if _pid_alive(server.pid):
        os.kill(server.pid, signal.SIGKILL)
        while _pid_alive(server.pid):
            time.sleep(0.1)


def restart(server: EsServer) -> EsServer:
    """Start a stopped node again on its port with its data; wait for health."""
    home = fetch()
    user = _ensure_user()
    inst = server.instance_dir
    new = _run_node(home, user, inst, server.port, _node_env(home, inst), ca=server.ca,
                    password=server.password)
    _wait_ready(new, time.monotonic() + START_TIMEOUT)
    return new


# --- stop / status ---------------------------------------------------------------------------


def stop(server: EsServer, *, keep: bool = False) -> None:
    """SIGTERM, then SIGKILL after a grace period; remove the instance dir unless `keep`."""
    if _pid_alive(server.pid):
        os.kill(server.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while _pid_alive(server.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _pid_alive(server.pid):
            os.kill(server.pid, signal.SIGKILL)
            while _pid_alive(server.pid):
                time.sleep(0.1)
    if not keep:
        shutil.rmtree(server.instance_dir, ignore_errors=True)


def instances() -> list[EsServer]:
    """Instances recorded in the cache, running or not."""
    root = cache_dir() / "instances"
    if not root.is_dir():
        return []
    found = []
    for state in sorted(root.glob("*/server.json")):
        try:
            found.append(EsServer.from_json(state.read_text()))
        except (OSError, ValueError, TypeError, KeyError):
            continue
    return found


def _status(server: EsServer) -> str:
    if not _pid_alive(server.pid):
        return "dead"
    try:
        return str(_request(server, "/_cluster/health").get("status", "?"))
    except (OSError, urllib.error.URLError, ValueError) as exc:
        return f"unreachable ({exc})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("fetch", help="download and unpack the distribution (once)")
    p_start = sub.add_parser("start", help="start an instance; prints one JSON line")
    p_start.add_argument("--tls", action="store_true", help="HTTPS with our CA, user elastic")
    p_start.add_argument("--port", type=int, help="HTTP port (default: a free one)")
    p_stop = sub.add_parser("stop", help="stop instances")
    p_stop.add_argument("--port", type=int, help="only this one (default: all)")
    sub.add_parser("status", help="one JSON line per instance, with its health")
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch":
            print(fetch())
        elif args.command == "start":
            print(start(tls=args.tls, port=args.port).to_json())
        elif args.command == "stop":
            targets = [s for s in instances() if args.port in (None, s.port)]
            if args.port is not None and not targets:
                raise EsScriptError(f"stop: no instance on port {args.port}")
            for server in targets:
                stop(server)
                print(f"stopped {server.url} (pid {server.pid})")
        elif args.command == "status":
            for server in instances():
                data = json.loads(server.to_json())
                data["status"] = _status(server)
                print(json.dumps(data))
    except (EsScriptError, subprocess.CalledProcessError) as exc:
        print(f"elasticsearch.py: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
