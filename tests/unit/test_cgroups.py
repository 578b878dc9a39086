"""Container and pod from cgroup paths, as the runtimes name their cgroups."""

from __future__ import annotations

from pathlib import Path

import pytest

from ebpf_monitor.cgroups import CgroupResolver, container_of, container_of_lines

ID = "4f1e" * 16
POD = "0e1f2a3b-4c5d-6e7f-8091-a2b3c4d5e6f7"


class TestContainerOf:
    """Each runtime's cgroup naming gives its container id, runtime and pod."""

    @pytest.mark.parametrize(("path", "expected"), [
        (f"/system.slice/docker-{ID}.scope", {"container": {"id": ID, "runtime": "docker"}}),
        (f"/docker/{ID}", {"container": {"id": ID, "runtime": "docker"}}),
        (f"/docker/{ID}/sub", {"container": {"id": ID, "runtime": "docker"}}),
        (f"/machine.slice/libpod-{ID}.scope/container",
         {"container": {"id": ID, "runtime": "podman"}}),
        (f"/system.slice/crio-{ID}.scope", {"container": {"id": ID, "runtime": "cri-o"}}),
        (f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
         f"{POD.replace('-', '_')}.slice/cri-containerd-{ID}.scope",
         {"container": {"id": ID, "runtime": "containerd"},
          "orchestrator": {"type": "kubernetes", "resource": {"type": "pod", "id": POD}}}),
        (f"/kubepods/besteffort/pod{POD}/{ID}",
         {"container": {"id": ID},
          "orchestrator": {"type": "kubernetes", "resource": {"type": "pod", "id": POD}}}),
        (f"/kubepods.slice/kubepods-pod{POD.replace('-', '_')}.slice",
         {"orchestrator": {"type": "kubernetes", "resource": {"type": "pod", "id": POD}}}),
        ("/machine.slice/machine-my\\x2dbox.scope/payload",
         {"container": {"name": "my-box", "runtime": "systemd-nspawn"}}),
        # docker in a Kubernetes pod: the innermost runtime names the container
        (f"/kubepods/pod{POD}/{ID}/docker/{'a1' * 32}",
         {"container": {"id": "a1" * 32, "runtime": "docker"},
          "orchestrator": {"type": "kubernetes", "resource": {"type": "pod", "id": POD}}}),
    ])
    def test_runtimes(self, path: str, expected: dict[str, object]) -> None:
        """The path's container and pod are found."""
        assert container_of(path) == expected

    @pytest.mark.parametrize("path", [
        "/", "", "/user.slice/user-0.slice/session-3.scope", "/system.slice/docker.service",
        f"/system.slice/docker-{ID[:12]}.scope", f"/system.slice/crio-conmon-{ID}.scope",
        "/machine.slice/machine-qemu\\x2d1\\x2dvm.scope", f"/pod{POD}/{ID}",
    ])
    def test_not_containers(self, path: str) -> None:
        """Host services, sessions, short ids, conmon, VMs and a pod-like name outside
        kubepods name no container."""
        assert container_of(path) is None

    def test_v1_lines(self) -> None:
        """On a v1 or hybrid host any hierarchy's line names the container."""
        text = f"12:memory:/docker/{ID}\n1:name=systemd:/docker/{ID}\n0::/\n"
        assert container_of_lines(text) == {"container": {"id": ID, "runtime": "docker"}}
        assert container_of_lines("0::/\n1:name=systemd:/user.slice\n") is None


class TestResolver:
    """A cgroup id is named by the inode of its directory under the cgroup2 mount."""

    def test_walk_finds_a_directory_by_inode(self, tmp_path: Path) -> None:
        """A pid that is gone: the walk of the tree finds the id's directory."""
        scope = tmp_path / "system.slice" / f"docker-{ID}.scope"
        scope.mkdir(parents=True)
        res = CgroupResolver(mount=str(tmp_path))
        assert res.path(2**22 + 7, scope.stat().st_ino) == f"/system.slice/docker-{ID}.scope"
        assert res.path(2**22 + 7, tmp_path.stat().st_ino) == "/"

    def test_no_cgroup2(self) -> None:
        """Without a cgroup2 mount no path is named."""
        assert CgroupResolver(mount=None).path(1, 1) is None
