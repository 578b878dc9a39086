"""The golden batch: recorded ring records and the documents made from them, every host input
fixed, so a change to the reader is checked against the documents it made before (issue #10:
"documents identical in content, ids and all"). scripts/golden_record.py writes the files."""

from __future__ import annotations

import contextlib
import grp
import gzip
import hashlib
import pwd
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import orjson

from ebpf_monitor import abi, enrich
from ebpf_monitor.config import Config
from ebpf_monitor.decode import Decoder
from ebpf_monitor.enrich import Enricher
from ebpf_monitor.ringbuf import Batch
from ebpf_monitor.schema import loss_document

from .recorded_abi import description

HERE = Path(__file__).with_name("golden")
MODES = ("all", "first")

USERS = {0: "root", 65534: "nobody"}
GROUPS = {0: "root", 65534: "nogroup"}


CGROUP_WORKLOAD = 0x1F00
CGROUP_CHILD = 0x1F01
CGROUP_GRANDCHILD = 0x1F02
GOLDEN_CGROUPS = {
    CGROUP_WORKLOAD: "/system.slice/docker-" + "d0c4e7" * 10 + "d0c4.scope",
    CGROUP_CHILD: "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod"
                  "0e1f2a3b_4c5d_6e7f_8091_a2b3c4d5e6f7.slice/cri-containerd-" + "c0de" * 16
                  + ".scope",
    CGROUP_GRANDCHILD: "/machine.slice/machine-golden\\x2dbox.scope/payload",
}
"""The cgroup paths of the golden records' cgroup ids (scripts/golden_add_context.py)."""


def _cgroup_path(self: Enricher, pid: int, cgid: int) -> str | None:
    return GOLDEN_CGROUPS.get(cgid)


class GoldenHasher:
    """Stands in for exehash.ExecHasher (which reads the executed files of this host): every
    executable's "hash" is the sha256 of its path, known at once."""

    def request(self, pid: int, path: str | None, *, proc: bool = True) -> Any:
        return path

    def known(self, key: Any) -> str | None:
        return None if key is None else hashlib.sha256(key.encode()).hexdigest()


def records_path(mode: str) -> Path:
    return HERE / f"records-{mode}.bin.gz"


def documents_path(mode: str) -> Path:
    return HERE / f"documents-{mode}.jsonl.gz"


def extra_names() -> list[str]:
    """Recorded fixtures of the kinds added after the batch (issue #12), one per helper:
    `<name>-records.bin.gz` and `<name>-documents.jsonl.gz`, made by capture.read_write "all"
    (e.g. scripts/golden_record_ipc.py)."""
    return sorted(p.name.removesuffix("-records.bin.gz") for p in HERE.glob("*-records.bin.gz"))


def extra_records_path(name: str) -> Path:
    return HERE / f"{name}-records.bin.gz"


def extra_documents_path(name: str) -> Path:
    return HERE / f"{name}-documents.jsonl.gz"


def load_records(mode: str) -> Batch:
    """The recorded records as one ring batch (8-byte aligned, as the ring holds them)."""
    return load_batch(records_path(mode))


def load_batch(path: Path) -> Batch:
    """Recorded records (length-prefixed) as one ring batch."""
    raw = gzip.decompress(path.read_bytes())
    data = bytearray()
    spans = []
    pos = 0
    while pos < len(raw):
        (n,) = struct.unpack_from("<I", raw, pos)
        pos += 4
        spans.append((len(data), n))
        data += raw[pos: pos + n] + b"\0" * (-n % 8)
        pos += n
    return Batch(bytes(data), spans)


def _readlink(path: str) -> str:
    """/proc links as a fixed host would answer them: fds 0-2 are gone, others have names."""
    parts = path.split("/")
    if parts[-1] == "cwd":
        return "/golden/cwd"
    if parts[-1] == "exe":
        return "/golden/bin/exe"
    if parts[-2] == "fd" and int(parts[-1]) > 2:
        return f"/golden/fd/{parts[-1]}"
    raise FileNotFoundError(path)


def _user(uid: int) -> Any:
    return mock.Mock(pw_name=USERS[uid])


def _group(gid: int) -> Any:
    return mock.Mock(gr_name=GROUPS[gid])


@contextlib.contextmanager
def fixed_host() -> Iterator[None]:
    """Every host-dependent input of the reader fixed: /proc links, user and group names,
    cgroup paths, ABI."""
    with abi.recorded(description()), \
            mock.patch.object(enrich, "readlink", _readlink), \
            mock.patch.object(pwd, "getpwuid", _user), mock.patch.object(grp, "getgrgid", _group), \
            mock.patch.object(Enricher, "cgroup_path", _cgroup_path):
        yield


def fixed_enricher() -> Enricher:
    en = Enricher(host_name="goldenhost")
    en.boot_id = "b0" * 16
    en.id_prefix = "601de0b0071d"
    en.offset_ns = 1_700_000_000 * 10**9
    return en


def _text(doc: Any) -> str:
    """The document's JSON; a Document's id and day (the sinks index by them, never parsing
    the JSON again) checked against its event.id and the UTC day of its @timestamp."""
    if isinstance(doc, str):
        return doc
    body = orjson.loads(doc.json)
    stamp = body["@timestamp"]
    assert stamp.endswith("Z"), stamp
    assert doc.id == body["event"]["id"], f"{doc.id!r} is not event.id of {doc.json}"
    assert doc.day == stamp[:10].replace("-", "."), f"{doc.day!r} is not the day of {stamp}"
    return doc.json  # type: ignore[no-any-return]


def decoded(mode: str, *, compiled: bool) -> tuple[Decoder, list[Any]]:
    """The recorded records through a Decoder, with or without the compiled core."""
    with fixed_host():
        dec = Decoder(fixed_enricher(), compiled=compiled,
                      ignored_prefixes=tuple(Config().filters.ignore_path_prefixes))
        dec.state.hasher = GoldenHasher()  # type: ignore[assignment]
        return dec, dec.decode(load_records(mode))


def documents(mode: str, *, compiled: bool = False) -> list[str]:
    """The documents today's code makes of the recorded records, plus three loss documents
    (the third, added after the refactor, with the ring's drops told apart)."""
    with fixed_host():
        en = fixed_enricher()
        dec = Decoder(en, ignored_prefixes=tuple(Config().filters.ignore_path_prefixes),
                      compiled=compiled)
        dec.state.hasher = GoldenHasher()  # type: ignore[assignment]
        out = [_text(d) for d in dec.decode(load_records(mode))]
        out.append(_text(loss_document(en, 9_000_000_000, {"open": 3, "rw": 2}, source="ring",
                                       total=5)))
        out.append(_text(loss_document(en, 9_500_000_000, {}, source="shutdown", total=0)))
        out.append(_text(loss_document(en, 9_750_000_000, {"open": 4}, source="ring_buffer",
                                       total=9, with_room=1)))
    assert dec.errors == 0, "the golden records all decode"
    return out


def extra_documents(name: str, *, compiled: bool = False) -> list[str]:
    """The documents today's code makes of an extra fixture's records."""
    with fixed_host():
        dec = Decoder(fixed_enricher(), compiled=compiled,
                      ignored_prefixes=tuple(Config().filters.ignore_path_prefixes))
        out = [_text(d) for d in dec.decode(load_batch(extra_records_path(name)))]
    assert dec.errors == 0, f"the {name} records all decode"
    return out


def extra_expected(name: str) -> list[str]:
    with gzip.open(extra_documents_path(name), "rt") as f:
        return f.read().splitlines()


def expected(mode: str) -> list[str]:
    with gzip.open(documents_path(mode), "rt") as f:
        return f.read().splitlines()

