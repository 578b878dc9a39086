"""Context on every event: cgroup and container, mount and net namespaces, the parent's entity
id, the terminal and the session leader (issue 12)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ebpf_monitor.cgroups import _v2_mount
from tests.monitor_harness import Doc, Monitor, wait_until

HEX = "5e" * 32
POD = "1d2c3b4a-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
RUNTIMES = {
    # cgroup below the test's own parent -> what the documents must say
    f"system.slice/docker-{HEX}.scope": {"container": {"id": HEX, "runtime": "docker"}},
    f"kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{POD.replace('-', '_')}"
    f".slice/cri-containerd-{HEX}.scope": {
        "container": {"id": HEX, "runtime": "containerd"},
        "orchestrator": {"type": "kubernetes", "resource": {"type": "pod", "id": POD}}},
    f"machine.slice/libpod-{HEX}.scope/container": {
        "container": {"id": HEX, "runtime": "podman"}},
    "machine.slice/machine-odd\\x2dbox.scope/payload": {
        "container": {"name": "odd-box", "runtime": "systemd-nspawn"}},
}


def _docs(mon: Monitor, marker: Path) -> list[Doc]:
    docs = mon.wait_for(lambda d: d.get("file", {}).get("path") == str(marker))
    return [d for d in docs if d.get("file", {}).get("path") == str(marker)]


@pytest.fixture
def cgroup_root() -> Iterator[Path]:
    """A cgroup v2 directory of the test's own, removed (deepest first) afterwards."""
    mount = _v2_mount()
    assert mount, "no cgroup2 mount on this host"
    root = Path(mount) / f"ebpf-monitor-test-{os.getpid()}"
    root.mkdir()
    try:
        yield root
    finally:
        for d in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            d.rmdir()
        root.rmdir()


class TestContainer:
    """A process moved into a real cgroup named as a runtime names its containers is reported
    in that container: the parser is tested against the kernel's cgroup id and path (the
    cgroups are made here, not by docker, containerd, podman or systemd-nspawn)."""

    @pytest.mark.parametrize("rel", list(RUNTIMES))
    def test_runtime(self, monitor: Monitor, cgroup_root: Path, tmp_path: Path,
                     rel: str) -> None:
        """container.* (and orchestrator.*) from the cgroup path; ebpf.cgroup id and path."""
        cg = cgroup_root / rel
        cg.mkdir(parents=True)
        marker = tmp_path / "in-container"
        # The shell moves itself into the cgroup, then exec's touch: its events are there.
        subprocess.run(["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec touch "$1"', str(cg),
                        str(marker)], check=True)
        docs = _docs(monitor, marker)
        assert docs
        mount = _v2_mount()
        for doc in docs:
            assert doc["ebpf"]["cgroup"] == {"id": cg.stat().st_ino,
                                             "path": str(cg).removeprefix(str(mount))}
            want = RUNTIMES[rel]
            assert {k: doc.get(k) for k in ("container", "orchestrator")} == {
                "container": want.get("container"), "orchestrator": want.get("orchestrator")}

    def test_host_process_has_no_container(self, monitor: Monitor, tmp_path: Path) -> None:
        """A process in the monitor's own cgroup gets no container; its cgroup is named."""
        marker = tmp_path / "host"
        subprocess.run(["touch", str(marker)], check=True)
        (doc,) = _docs(monitor, marker)
        assert "container" not in doc and "orchestrator" not in doc
        mine = [ln[3:] for ln in Path("/proc/self/cgroup").read_text().splitlines()
                if ln.startswith("0::")]
        assert doc["ebpf"]["cgroup"]["path"] == mine[0]


NS_WORKLOAD = """
import os, sys
print(os.stat("/proc/self/ns/mnt").st_ino, os.stat("/proc/self/ns/net").st_ino, flush=True)
open(sys.argv[1], "w").close()
"""


class TestNamespaces:
    """ebpf.mnt_ns and ebpf.net_ns name the process's own namespaces."""

    def test_host(self, monitor: Monitor, tmp_path: Path) -> None:
        """A host process: the initial namespaces (the test's own)."""
        marker = tmp_path / "host-ns"
        subprocess.run([sys.executable, "-c", NS_WORKLOAD, str(marker)], check=True)
        (doc,) = _docs(monitor, marker)
        assert doc["ebpf"]["mnt_ns"] == {"inode": os.stat("/proc/self/ns/mnt").st_ino}
        assert doc["ebpf"]["net_ns"] == {"inode": os.stat("/proc/self/ns/net").st_ino}

    def test_unshared(self, monitor: Monitor, tmp_path: Path) -> None:
        """`unshare --mount --net`: the new namespaces, as the process itself saw them."""
        marker = tmp_path / "unshared-ns"
        out = subprocess.run(["unshare", "--mount", "--net", sys.executable, "-c",
                              NS_WORKLOAD, str(marker)], check=True, capture_output=True,
                             text=True).stdout
        mnt, net = (int(x) for x in out.split())
        (doc,) = _docs(monitor, marker)
        assert doc["ebpf"]["mnt_ns"] == {"inode": mnt}
        assert doc["ebpf"]["net_ns"] == {"inode": net}
        assert mnt != os.stat("/proc/self/ns/mnt").st_ino
        assert net != os.stat("/proc/self/ns/net").st_ino


PARENT_WORKLOAD = """
import os, sys
open(sys.argv[1], "w").close()
pid = os.fork()
if pid == 0:
    open(sys.argv[2], "w").close()
    os._exit(0)
os.waitpid(pid, 0)
"""


class TestParent:
    """process.parent.entity_id is the parent's own process.entity_id."""

    def test_forked_child(self, monitor: Monitor, tmp_path: Path) -> None:
        """A child's document names its parent by the entity id of the parent's documents."""
        parent_marker, child_marker = tmp_path / "parent", tmp_path / "child"
        subprocess.run([sys.executable, "-c", PARENT_WORKLOAD, str(parent_marker),
                        str(child_marker)], check=True)
        (parent,) = _docs(monitor, parent_marker)
        (child,) = _docs(monitor, child_marker)
        assert child["process"]["parent"]["pid"] == parent["process"]["pid"]
        assert child["process"]["parent"]["entity_id"] == parent["process"]["entity_id"]
        assert parent["process"]["parent"]["pid"] == os.getpid()
        assert len(parent["process"]["parent"]["entity_id"]) == 24


TTY_WORKLOAD = """
import os, sys
st = os.stat(os.ttyname(0))
print(os.major(st.st_rdev), os.minor(st.st_rdev), os.getsid(0), flush=True)
open(sys.argv[1], "w").close()
"""


class TestTerminal:
    """process.tty and process.session_leader of a process on a terminal, and of one without."""

    def test_on_a_pty(self, monitor: Monitor, tmp_path: Path) -> None:
        """Under script(1) (a new session on a pseudo-terminal): its major/minor and the
        session leader's pid."""
        assert shutil.which("script")
        marker = tmp_path / "on-tty"
        cmd = f"{sys.executable} -c '{TTY_WORKLOAD}' {marker}"
        out = subprocess.run(["script", "-qec", cmd, "/dev/null"], check=True,
                             capture_output=True, text=True, stdin=subprocess.DEVNULL).stdout
        major, minor, sid = (int(x) for x in out.split())
        (doc,) = _docs(monitor, marker)
        assert doc["process"]["tty"] == {"char_device": {"major": major, "minor": minor}}
        assert major == 136  # a pseudo-terminal
        assert doc["process"]["session_leader"]["pid"] == sid
        assert len(doc["process"]["session_leader"]["entity_id"]) == 24

    def test_no_terminal(self, monitor: Monitor, tmp_path: Path) -> None:
        """setsid without a terminal: no process.tty; the new session's leader is itself."""
        marker = tmp_path / "no-tty"
        subprocess.run(["setsid", "-w", "touch", str(marker)], check=True,
                       stdin=subprocess.DEVNULL)
        (doc,) = _docs(monitor, marker)
        assert "tty" not in doc["process"]
        assert doc["process"]["session_leader"] == {
            "pid": doc["process"]["pid"], "entity_id": doc["process"]["entity_id"]}


class TestWorkingDirectory:
    """process.working_directory: named in the kernel at exec, inherited at fork."""

    def test_exec_and_fork(self, monitor: Monitor, tmp_path: Path) -> None:
        """A process exec'd in an oddly named directory, and its forked child, carry it."""
        where = tmp_path / "work dir\nwith newline \u00e9"
        where.mkdir()
        parent_marker, child_marker = tmp_path / "cwd-parent", tmp_path / "cwd-child"
        subprocess.run([sys.executable, "-c", PARENT_WORKLOAD, str(parent_marker),
                        str(child_marker)], check=True, cwd=where)
        (parent,) = _docs(monitor, parent_marker)
        (child,) = _docs(monitor, child_marker)
        assert parent["process"]["working_directory"] == str(where)
        assert child["process"]["working_directory"] == str(where)
        execs = monitor.wait_for(lambda d: d["event"]["action"] == "execve"
                                 and d["process"]["pid"] == parent["process"]["pid"])
        (ex,) = [d for d in execs if d["event"]["action"] == "execve"
                 and d["process"]["pid"] == parent["process"]["pid"]]
        assert ex["process"]["working_directory"] == str(where)

    def test_root(self, monitor: Monitor, tmp_path: Path) -> None:
        """The root directory is named `/`."""
        marker = tmp_path / "cwd-root"
        subprocess.run(["touch", str(marker)], check=True, cwd="/")
        (doc,) = _docs(monitor, marker)
        assert doc["process"]["working_directory"] == "/"


class TestExecutableHash:
    """process.hash.sha256 (capture.hash_executables, on by default): the exit document of a
    first run, the exec document once the file was hashed."""

    def test_hash_of_a_copied_binary(self, monitor: Monitor, tmp_path: Path) -> None:
        """A binary copied here (a file no run has hashed) run twice: the sha256 of its bytes
        in the first run's exit or the second run's exec, and never a wrong one."""
        exe = tmp_path / "my true"
        shutil.copy("/bin/true", exe)
        want = hashlib.sha256(exe.read_bytes()).hexdigest()
        first = subprocess.run([str(exe)], check=True)
        assert first.returncode == 0
        docs = monitor.wait_for(lambda d: d["event"]["action"] == "exit"
                                and d["process"].get("executable") == str(exe))
        mine = [d for d in docs if d["process"].get("executable") == str(exe)]
        first_exit = [d for d in mine if d["event"]["action"] == "exit"]
        # The worker has finished by now or soon: a second run's exec carries the hash.
        for attempt in range(50):
            subprocess.run([str(exe), f"run {attempt}"], check=True)
            docs = monitor.wait_for(lambda d, a=attempt: d["event"]["action"] == "execve"
                                    and d["process"].get("args", [None, None])[1:] == [f"run {a}"])
            (ex,) = [d for d in docs if d["event"]["action"] == "execve"
                     and d["process"].get("args", [None, None])[1:] == [f"run {attempt}"]]
            if "hash" in ex["process"]:
                break
        assert ex["process"]["hash"] == {"sha256": want}
        hashed = [d["process"]["hash"]["sha256"] for d in monitor.events()
                  if d["process"].get("executable") == str(exe) and "hash" in d["process"]]
        assert set(hashed) == {want}
        assert first_exit  # the first run's exit was seen (with or without the hash)


SPAWN_WORKLOAD = """
import os, subprocess, sys
for i in range(5):
    subprocess.run(["/bin/true", sys.argv[1], str(i)], check=True)   # vfork + exec
    pid = os.fork()
    if pid == 0:
        os.execv("/bin/true", ["/bin/true", sys.argv[1], "fork", str(i)])
    os.waitpid(pid, 0)
"""


class TestCreationTime:
    """A fork record is stamped when the kernel created the child (sched_process_fork), so no
    document of a child is earlier than its parent's clone document."""

    def test_children_never_before_their_creation(self, monitor: Monitor,
                                                 tmp_path: Path) -> None:
        """vfork (subprocess) and fork children: clone time <= each child document's time."""
        tag = f"creation-{tmp_path.name}"
        subprocess.run([sys.executable, "-c", SPAWN_WORKLOAD, tag], check=True)
        want = 10

        def execs(docs: list[Doc]) -> list[Doc]:
            return [d for d in docs if d["event"]["action"] == "execve"
                    and d["process"].get("args", [""])[:2] == ["/bin/true", tag]]

        wait_until(lambda: len(execs(monitor.events())) >= want, timeout=60,
                   what=f"{want} execs of /bin/true")
        docs = monitor.events()
        children = {d["process"]["pid"] for d in execs(docs)}
        assert len(children) == want
        forks = {d["ebpf"]["child_pid"]: d for d in docs
                 if d["event"]["category"] == ["process"] and "child_pid" in d["ebpf"]
                 and d["ebpf"]["child_pid"] in children}
        assert set(forks) == children
        assert {f["event"]["action"] for f in forks.values()} >= {"clone"}
        for d in docs:
            pid = d.get("process", {}).get("pid")
            if pid in children:
                assert forks[pid]["@timestamp"] <= d["@timestamp"], (forks[pid], d)


class TestExecEnvironment:
    """process.env_vars: the configured variables only, as NAME=value, read at exec."""

    def test_kept_and_left_out(self, monitor: Monitor, tmp_path: Path) -> None:
        """The default names are kept in environment order, others (and near-misses) are not,
        odd values stay exact, and an entry too long to keep sets ebpf.truncated."""
        tag = f"env-{tmp_path.name}"
        env = {"SECRET_TOKEN": "not-kept", "LD_LIBRARY_PATH": "/opt/odd lib",
               "HTTP_PROXY": "http://proxy:3128", "LD_PRELOADX": "near-miss",
               "PYTHONPATH": "a\nb\u00e9", "https_proxy": "http://p2:8080"}
        subprocess.run(["/bin/true", tag], env=env, check=True)
        long_env = {"GLIBC_TUNABLES": "x" * 600, "LD_AUDIT": "/a.so"}
        subprocess.run(["/bin/true", tag, "long"], env=long_env, check=True)

        def execs() -> list[Doc]:
            return [d for d in monitor.events() if d["event"]["action"] == "execve"
                    and d["process"].get("args", [""])[1:2] == [tag]]

        docs = wait_until(lambda: (lambda x: x if len(x) >= 2 else None)(execs()),
                          timeout=60, what="both execs")
        (plain,) = [d for d in docs if len(d["process"]["args"]) == 2]
        (long,) = [d for d in docs if len(d["process"]["args"]) == 3]
        assert plain["process"]["env_vars"] == [
            "LD_LIBRARY_PATH=/opt/odd lib", "HTTP_PROXY=http://proxy:3128",
            "PYTHONPATH=a\nb\u00e9", "https_proxy=http://p2:8080"]
        assert "truncated" not in plain["ebpf"]
        assert long["process"]["env_vars"] == ["LD_AUDIT=/a.so"]
        assert long["ebpf"]["truncated"] is True
