"""Configuration: the Go tool's JSON keys as they were, plus ours, validated by pydantic.

Every component receives its own sub-model; nothing reads a global config.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import stat
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from .abi_consts import ARG_MAX_COUNT, ENV_NAME_LEN, ENV_NAMES_MAX, PREFIX_LEN, TASK_COMM_LEN
from .errors import ConfigError

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "CaptureConfig",
    "Config",
    "ElasticsearchConfig",
    "FilterConfig",
    "MetricsConfig",
    "ProvenanceConfig",
    "SpoolConfig",
    "load_config",
    "parse_config",
]

DEFAULT_CONFIG_PATH = Path("/var/config.json")

# No NaN or Infinity (not JSON, and no setting means them); booleans are true or false only
# (StrictBool: "yes", "off" or 1 would be a guess).
_MODEL = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True,
                    allow_inf_nan=False)

RING_BYTES_MAX = 1 << 31
"""The kernel sizes a BPF ring buffer in 32 bits, as a power of two: 2 GiB at most."""


def _no_nul(path: Path) -> Path:
    if "\0" in str(path):
        raise ValueError("a path cannot hold a NUL byte")
    return path


FilePath = Annotated[Path, AfterValidator(_no_nul)]


def _fits(most: int) -> AfterValidator:
    """A string the kernel keeps in `most` bytes: counted as UTF-8 bytes, not characters, so
    "é" * 40 cannot pass a 63-byte limit and then be cut short (a shorter prefix filters
    more than was asked)."""

    def check(value: str) -> str:
        size = len(value.encode())  # pydantic refuses lone surrogates before this
        if size > most:
            raise ValueError(f"at most {most} bytes as UTF-8, got {size}")
        return value

    return AfterValidator(check)


CommName = Annotated[str, Field(min_length=1), _fits(TASK_COMM_LEN - 1)]
"""A process name as the kernel keeps it (comm, with its NUL in TASK_COMM_LEN)."""
PathPrefix = Annotated[str, Field(min_length=1), _fits(PREFIX_LEN - 1)]
"""A path prefix filter: a prefix_key's bytes."""

DEFAULT_IGNORE_PATH_PREFIXES = (
    "/proc/",
    "/sys/",
    "/dev/null",
    "/dev/pts/",
    "/dev/tty",
    "/run/",
    "/etc/ld.so.cache",
)


DEFAULT_LIBRARY_PREFIXES = (
    "/usr/lib/",
    "/usr/lib32/",
    "/usr/lib64/",
    "/usr/libx32/",
    "/lib/",
    "/lib32/",
    "/lib64/",
    "/libx32/",
)
"""filters.library_prefixes by default: where Debian and its kind keep shared libraries (the
paths are resolved in the kernel, so /lib is /usr/lib on a merged-/usr host)."""


class FilterConfig(BaseModel):
    """What the kernel side drops before it reaches the ring buffer (execs are never dropped)."""

    model_config = _MODEL

    ignore_comms: list[CommName] = []
    """Process names (comm, at most 15 bytes) whose non-exec events are dropped."""

    ignore_path_prefixes: list[PathPrefix] = list(
        DEFAULT_IGNORE_PATH_PREFIXES
    )
    """Byte prefixes of paths whose file events (and reads/writes of their fds) are dropped."""

    ignore_shared_libraries: StrictBool = True
    """Drop opens of shared libraries (names ending in .so or holding .so.N), as ld.so does."""

    ignore_library_mappings: StrictBool = True
    """Drop mmap/mprotect records that make a file under `library_prefixes` executable: the
    dynamic loader maps every shared library so on every exec. False: record them all."""

    library_prefixes: list[PathPrefix] = list(
        DEFAULT_LIBRARY_PREFIXES
    )
    """Byte prefixes of the resolved paths of trusted library directories (root-owned) for
    `ignore_library_mappings`. By directory, not by name: a library mapped from /tmp or
    /dev/shm is still recorded. At most 64."""

    @field_validator("library_prefixes")
    @classmethod
    def _few_library_prefixes(cls, value: list[str]) -> list[str]:
        if len(value) > 64:
            raise ValueError(f"at most 64 prefixes (the kernel map's size), got {len(value)}")
        return value

    ignore_own_files: StrictBool = True
    """Drop opens (and so the reads and writes) of the monitor's own files: events.jsonl and
    its rotated copies while they exist, the spool segments and the dead letter. Reading them
    (cat, tail -f, a log shipper, logrotate's compression) would otherwise feed back."""


EXEC_ENV_VARS = ("LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "GLIBC_TUNABLES", "HTTP_PROXY",
                 "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy",
                 "all_proxy", "no_proxy", "PYTHONPATH")
"""capture.exec_env_vars by default: the variables attackers abuse (preloading, loader and
libc tuning, proxies, the Python path)."""
_ENV_NAME = re.compile(rf"[A-Za-z_][A-Za-z0-9_]{{0,{ENV_NAME_LEN - 2}}}")
"""A variable name that fits events.h's env_key with its NUL."""


class CaptureConfig(BaseModel):
    """Kernel-side capture settings, fixed for the life of the process."""

    model_config = _MODEL

    ring_buffer_bytes: int | None = Field(default=None, ge=4096)
    """Size of the BPF ring buffer; rounded up to a power of two and a page multiple, at most
    2 GiB. Default (null): 32 MiB per CPU, at least 64 MiB and at most 256 MiB (see loader)."""

    @field_validator("ring_buffer_bytes")
    @classmethod
    def _ring_fits(cls, value: int | None) -> int | None:
        if value is not None and value > RING_BYTES_MAX:
            raise ValueError(f"at most {RING_BYTES_MAX} (2 GiB, the kernel's limit for a BPF"
                             f" ring buffer), got {value}")
        return value

    wakeup_bytes: int = Field(default=256 * 1024, ge=0)
    """Wake the reader only once this many bytes are pending (0: wake on every event)."""

    poll_interval_ms: int = Field(default=20, ge=1, le=1000)
    """How long the reader sleeps between looks at the ring when no wake-up comes."""

    read_write: Literal["all", "first", "none"] = "all"
    """Which read/write/send/recv events to capture: "all" (one event per call), "first" (per
    fd, its first read and first write, then one `close` event with the fd's totals when it
    goes away; the rest are counted in the kernel) or "none"."""

    hash_executables: bool = True
    """sha256 of each executed file (`process.hash.sha256`), once per (device, inode, mtime),
    computed by a worker thread: in the exec document when the file was hashed before, else
    in the process's exit document. Off: no file is read."""

    exec_env_vars: list[str] = Field(default_factory=lambda: list(EXEC_ENV_VARS),
                                     max_length=ENV_NAMES_MAX)
    """Environment variables an exec document keeps (`process.env_vars`, "NAME=value"),
    matched by exact name in the kernel at exec; never the whole environment. Names of at
    most 31 characters; [] keeps none."""

    @field_validator("exec_env_vars")
    @classmethod
    def _env_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not _ENV_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not an environment variable name of at most"
                                 f" {ENV_NAME_LEN - 1} characters (letters, digits, _; not"
                                 " starting with a digit)")
        return value

    exec_mappings: Literal["all", "files", "none"] = "all"
    """mmap and mprotect asking for PROT_EXEC: "all" (of files and of anonymous memory, where
    shellcode is staged; JIT compilers make such mappings too), "files" (of files only) or
    "none" (the hooks are not loaded). Libraries: see filters.ignore_library_mappings."""

    real_paths: StrictBool = True
    """Add `ebpf.real_path` to opens and execs whose file's own path differs from the path
    given (a symlink on the way, `..`, /proc/self/root): the kernel walks the file's dentries
    on every successful open, about 1 us each (benchmarks/findings.md). false saves that and
    loses the field; filters then see only the given path."""

    max_args: int = Field(default=64, ge=1, le=ARG_MAX_COUNT)
    """How many argv entries of an exec are captured (total bytes are capped at 4 KiB)."""

    stop_drain_seconds: float = Field(default=10.0, ge=0, le=20)
    """At stop, how long the reader may keep draining the (paused) ring; what is left then is
    counted as a `loss` record. Keep it well under the unit's TimeoutStopSec (30 s), which
    must also cover the sinks' close (Elasticsearch: 10 s) and the detach (~3 s)."""


class SpoolConfig(BaseModel):
    """Disk spool for storage outages."""

    model_config = _MODEL

    dir: FilePath | None = None
    """Directory of the spool; default: <output_dir>/spool."""

    max_bytes: int = Field(default=1024 * 1024 * 1024, ge=1024 * 1024)
    """Bound on the spool's size on disk."""


class MetricsConfig(BaseModel):
    """The Prometheus endpoint (docs/service.md)."""

    model_config = _MODEL

    listen: str | None = None
    """"address:port" to serve /metrics on, e.g. "127.0.0.1:9464" ("[::1]:9464" for IPv6;
    port 0 picks a free one, logged at start); null (the default): no endpoint."""

    @field_validator("listen")
    @classmethod
    def _address_port(cls, value: str | None) -> str | None:
        if value is None:
            return None
        _parse_listen(value)
        return value

    @property
    def address(self) -> tuple[str, int] | None:
        return None if self.listen is None else _parse_listen(self.listen)


def _parse_listen(value: str) -> tuple[str, int]:
    """("address", port) of an "address:port" string; ValueError naming what is wrong."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{value!r} is not address:port with a port from 0 to 65535")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{value!r}: {host!r} is not an IP address") from None
    return host, int(port)


class ElasticsearchConfig(BaseModel):
    """The Go tool's `es_config`, plus TLS and credential options of ours."""

    model_config = _MODEL

    es_host: str = "localhost"
    """Host name or IP of the Elasticsearch node."""

    es_port: int = Field(default=9200, ge=1, le=65535)
    """TCP port of the Elasticsearch node."""

    es_user: str | None = None
    """User name for basic authentication."""

    es_password: SecretStr | None = None
    """Password for basic authentication (prefer es_password_env or es_password_file)."""

    es_password_env: str | None = None
    """Name of an environment variable holding the password."""

    es_password_file: FilePath | None = None
    """File holding the password (trailing newline stripped)."""

    es_api_key: SecretStr | None = None
    """API key (base64 'id:key' form) instead of user and password."""

    es_index: str = Field(default="ebpf-events", min_length=1)
    """Index name, or prefix of the daily indices."""

    daily_indices: StrictBool = False
    """Write to <es_index>-YYYY.MM.DD (UTC date of the event) instead of one index."""

    batch_size: int = Field(default=1000, ge=1, le=100_000)
    """Documents per bulk request."""

    flush_interval: float = Field(default=1.0, gt=0, le=60)
    """Seconds after which a partial batch is sent anyway."""

    secure: StrictBool = False
    """Use HTTPS."""

    ca_certs: FilePath | None = None
    """CA bundle that signed the server certificate (default: the system store)."""

    client_cert: FilePath | None = None
    """Client certificate (PEM) for mutual TLS."""

    client_key: FilePath | None = None
    """Key of the client certificate (PEM)."""

    verify_certs: StrictBool = True
    """Verify the server certificate; turning this off logs a warning at start."""

    request_timeout: float = Field(default=10.0, gt=0)
    """Seconds before a bulk request is abandoned and retried."""

    @field_validator("es_port", mode="before")
    @classmethod
    def _port_from_string(cls, value: Any) -> Any:
        # The Go tool's configs carry the port as a string as often as a number.
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        return value

    @field_validator("es_host")
    @classmethod
    def _bare_host(cls, value: str) -> str:
        # The URL is built from es_host, es_port and secure: anything more cannot be meant.
        if "://" in value:
            raise ValueError(f"a host name or IP without a scheme, got {value!r} (for https"
                             " set secure: true)")
        bare = value.removeprefix("[").removesuffix("]")
        if not bare or any(c in bare for c in "/?#@[] \t"):
            raise ValueError(f"a host name or IP, got {value!r}")
        if ":" in bare:
            try:
                ipaddress.IPv6Address(bare)
            except ValueError:
                raise ValueError(f"a host name or IP without a port, got {value!r} (the port"
                                 " goes in es_port)") from None
        return value

    @model_validator(mode="after")
    def _client_pair(self) -> ElasticsearchConfig:
        if (self.client_cert is None) != (self.client_key is None):
            raise ValueError("client_cert and client_key go together")
        return self

    @model_validator(mode="after")
    def _one_secret(self) -> ElasticsearchConfig:
        # Two sources would leave the operator guessing which one is used.
        given = [k for k in ("es_password", "es_password_env", "es_password_file", "es_api_key")
                 if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"{' and '.join(given)} are both set: keep one")
        return self

    def password(self) -> str | None:
        """The password from the config, the environment or the file, in that order."""
        if self.es_password is not None:
            return self.es_password.get_secret_value()
        if self.es_password_env:
            value = os.environ.get(self.es_password_env)
            if value is None:
                raise ConfigError(
                    f"es_config.es_password_env: environment variable {self.es_password_env}"
                    " is not set"
                )
            return value
        if self.es_password_file is not None:
            try:
                return self.es_password_file.read_text().rstrip("\n")
            except OSError as exc:
                raise ConfigError(
                    f"es_config.es_password_file: cannot read {self.es_password_file}:"
                    f" {exc.strerror}"
                ) from None
        return None


class ProvenanceConfig(BaseModel):
    """Provenance queries (`ebpf-monitor lineage` ...): the local index and the noise rules."""

    model_config = _MODEL

    db: Path | None = None
    """The DuckDB index built from the event files; default <output_dir>/provenance.duckdb."""

    noise_path_prefixes: list[str] | None = None
    """Files hidden from slices by path prefix; null: the built-in list (docs/provenance.md)."""

    noise_globs: list[str] | None = None
    """Files hidden by shell pattern (shared libraries, caches); null: the built-in list."""

    popular_readers: int = Field(default=50, ge=0)
    """Hide files read by at least this many distinct processes (0: never)."""


class Config(BaseModel):
    """The whole configuration file."""

    model_config = _MODEL

    events_dir: FilePath = Path("/var/log/ebpf-monitor")
    """Directory of events.jsonl (and the dead-letter file)."""

    output_dir: FilePath | None = None
    """The Go tool's output directory; we keep run state there: pid file and spool.
    Default: events_dir."""

    storage_type: Literal["local", "elasticsearch"] = "local"
    """local: JSON-lines files only; elasticsearch: JSON lines and Elasticsearch."""

    es_config: ElasticsearchConfig = ElasticsearchConfig()
    """Elasticsearch connection, used when storage_type is elasticsearch."""

    file_logging: StrictBool = True
    """Write events.jsonl; may be turned off only with storage_type elasticsearch."""

    filters: FilterConfig = FilterConfig()
    capture: CaptureConfig = CaptureConfig()
    spool: SpoolConfig = SpoolConfig()
    provenance: ProvenanceConfig = ProvenanceConfig()
    metrics: MetricsConfig = MetricsConfig()

    stats_interval: float = Field(default=60.0, gt=0)
    """Seconds between stats lines on stderr (and loss records, when drops happened)."""

    pid_file: FilePath | None = None
    """Our pid, for logrotate without systemd; default <output_dir>/ebpf-monitor.pid."""

    @model_validator(mode="after")
    def _file_logging_needs_another_sink(self) -> Config:
        if not self.file_logging and self.storage_type == "local":
            raise ValueError("file_logging can be false only with storage_type elasticsearch")
        return self

    @property
    def state_dir(self) -> Path:
        return self.output_dir if self.output_dir is not None else self.events_dir

    @property
    def events_file(self) -> Path:
        return self.events_dir / "events.jsonl"

    @property
    def effective_pid_file(self) -> Path:
        return self.pid_file if self.pid_file is not None else self.state_dir / "ebpf-monitor.pid"

    def masked(self) -> dict[str, Any]:
        """The effective config as JSON-able data, secrets masked."""
        data: dict[str, Any] = self.model_dump(mode="json")
        es = data["es_config"]
        for key in ("es_password", "es_api_key"):
            if es.get(key) is not None:
                es[key] = "********"
        return data


def _describe(error: Any) -> str:
    loc = ".".join(str(part) for part in error["loc"]) or "(top level)"
    msg = str(error["msg"])
    if error["type"] == "extra_forbidden":
        msg = "unknown key"
    elif error["type"] == "literal_error":
        msg = f"{msg}, got {error['input']!r}"
    elif error["type"] == "value_error":
        msg = msg.removeprefix("Value error, ")
    return f"{loc}: {msg}"


def parse_config(data: Any, *, source: str = "config") -> Config:
    """Validate parsed JSON; the first problem becomes a one-line ConfigError naming the key."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a JSON object")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        extra = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ConfigError(f"{source}: {_describe(errors[0])}{extra}") from None


def _check_permissions(path: Path, st: os.stat_result) -> None:
    # The file decides what a root process loads and where it writes: only root may change it.
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise ConfigError(
            f"{path}: config file is writable by group or others (mode {st.st_mode & 0o777:o});"
            " run: chmod go-w " + str(path)
        )
    if os.geteuid() == 0 and st.st_uid != 0:
        raise ConfigError(f"{path}: config file is owned by uid {st.st_uid}, not root")
    # So is its directory: whoever can write it can put another file in its place. A sticky
    # directory (/tmp) keeps others from replacing a root-owned file.
    for directory in dict.fromkeys((path.absolute().parent, Path(os.path.realpath(path)).parent)):
        try:
            dst = directory.stat()
        except OSError:
            continue
        if dst.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not dst.st_mode & stat.S_ISVTX:
            raise ConfigError(
                f"{path}: the config file's directory {directory} is writable by group or"
                f" others (mode {dst.st_mode & 0o777:o}): anyone there can replace the file;"
                f" run: chmod go-w {directory}, or move the file")


class _JsonProblem(ValueError):
    """Valid JSON syntax the config still cannot take: said in one line."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _JsonProblem(f"key {key!r} appears twice in one object: keep one")
        out[key] = value
    return out


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _JsonProblem(f"number {text} is out of range")
    return value


def _no_constant(name: str) -> Any:
    raise _JsonProblem(f"{name} is not JSON")


def _parse_json(raw: bytes, target: Path) -> Any:
    try:
        return json.loads(raw, object_pairs_hook=_no_duplicates, parse_float=_finite,
                          parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{target}: invalid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(f"{target}: invalid JSON: not UTF-8") from None
    except _JsonProblem as exc:
        raise ConfigError(f"{target}: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{target}: JSON nested too deeply") from None


def load_config(path: Path | None, *, check_permissions: bool = True) -> Config:
    """Read the config file; no file at the default path means the built-in default."""
    explicit = path is not None
    target = path if path is not None else DEFAULT_CONFIG_PATH
    if "\0" in str(target):
        raise ConfigError(f"{str(target)!r}: a config path cannot hold a NUL byte")
    try:
        st = target.stat()
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"{target}: config file not found") from None
        return Config()
    except OSError as exc:
        raise ConfigError(f"{target}: cannot read config file: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):  # a FIFO would block the read; a directory fails it
        kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise ConfigError(f"{target}: cannot read config file: {kind}")
    if check_permissions:
        _check_permissions(target, st)
    try:
        raw = target.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{target}: cannot read config file: {exc.strerror}") from None
    return parse_config(_parse_json(raw, target), source=str(target))
