"""Directories the monitor writes into, opened so that no other user can redirect its writes.

A root process writing where others can write is a tool for them: `ln -s /etc/shadow
events.jsonl` in a world-writable events_dir would have the monitor truncate and append to that
file. So a directory the monitor writes into is opened once, one component at a time from `/`:

- a directory on the way must be owned by root (or by us) and not writable by others unless it
  is sticky (/tmp); a symbolic link on the way is followed only if the directory holding it
  passes that rule and, when others or a group other than root's can write that directory
  (Ubuntu's /var/log), the link is root's (the kernel's fs.protected_symlinks rule);
- the directory itself must be owned by root (or by us) and writable by nobody else: refused
  otherwise (a one-line `UnsafePathError` naming the path and the fix); created with mode 0750
  when missing;
- every file in it is opened relative to that descriptor with O_NOFOLLOW, and must be a regular
  file with one link, owned by root (or by us); write permission for group or others is removed
  (and said so). Temporary files are created afresh (O_EXCL), never truncated in place.

Files are named relative to the open directory, so a directory renamed or replaced meanwhile
cannot redirect a write either.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import stat
import struct
from pathlib import Path

from ._fileio import write_all
from .errors import ConfigError, HostError, MonitorError, UnsafePathError

__all__ = ["SafeDir", "check_dir", "check_file", "host_error"]

log = logging.getLogger(__name__)

DIR_MODE = 0o750
FILE_MODE = 0o640
LOCK_NAME = "ebpf-monitor.lock"
_MAX_LINKS = 40  # as the kernel's MAXSYMLINKS
# O_PATH: a directory on the way needs search permission only (check-config as a user).
_DIR_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: a FIFO planted under a file's name must not hang the open (it is then refused).
_FILE_FLAGS = os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


def _trusted(uid: int) -> bool:
    return uid == 0 or uid == os.geteuid()


def _shared(st: os.stat_result) -> bool:
    """Writable by someone other than root (or us): others, or a group other than root's
    (/var/mail is root:mail 2775)."""
    return bool(st.st_mode & stat.S_IWOTH or (st.st_mode & stat.S_IWGRP and st.st_gid != 0))


def _check_container(where: str, st: os.stat_result, what: str) -> None:
    """A directory we look a name up in: nobody but root (or us) may swap that name for a link.

    One that others can write must be sticky. One that a group other than root's can write
    (Ubuntu's /var/log is root:syslog 0775, /var/mail root:mail 2775) is walked through: a
    member could swap the next name, but `_walk` follows only root's links there, and a
    directory of theirs is refused by owner; refusing it would refuse the stock /var/log."""
    if not _trusted(st.st_uid):
        raise UnsafePathError(f"{what}: {where} is owned by uid {st.st_uid}, who could redirect"
                              f" the monitor's files: use a directory owned by root")
    if st.st_mode & stat.S_IWOTH and not st.st_mode & stat.S_ISVTX:
        raise UnsafePathError(f"{what}: {where} is writable by others (mode"
                              f" {stat.S_IMODE(st.st_mode):o}) and not sticky: run chmod"
                              f" o-w {where}")


def _check_final(where: str, st: os.stat_result, what: str) -> None:
    if not _trusted(st.st_uid):
        raise UnsafePathError(f"{what}: {where} is owned by uid {st.st_uid}: run chown root"
                              f" {where}, or use another directory")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise UnsafePathError(f"{what}: {where} is writable by group or others (mode"
                              f" {stat.S_IMODE(st.st_mode):o}): run chmod go-w {where}, or use"
                              " another directory")


def _walk(path: Path, *, create: bool, what: str) -> tuple[int, str, bool]:
    """An O_PATH descriptor of the directory `path`, each component checked on the way, its
    name, and True; when it does not exist and `create` is false, those of its deepest existing
    ancestor, and False."""
    if "\0" in str(path):
        raise ConfigError(f"{what}: {str(path)!r} holds a NUL byte")
    todo = list(reversed(Path(os.path.abspath(path)).parts[1:]))
    fd = os.open("/", _DIR_FLAGS)
    where = "/"
    links = 0
    try:
        while todo:
            name = todo.pop()
            if name in ("", "."):
                continue
            parent = os.fstat(fd)
            _check_container(where, parent, what)
            here = os.path.normpath(os.path.join(where, name))
            try:
                nfd = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    return fd, where, False
                # Made meanwhile by another: the checks below apply to it as to any.
                with contextlib.suppress(FileExistsError):
                    os.mkdir(name, DIR_MODE, dir_fd=fd)
                todo.append(name)
                continue
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                    raise
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
                if not stat.S_ISLNK(st.st_mode):
                    raise UnsafePathError(f"{what}: {here} is not a directory") from None
                if _shared(parent) and not _trusted(st.st_uid):
                    raise UnsafePathError(
                        f"{what}: {here} is a symbolic link of uid {st.st_uid} in a directory"
                        f" others can write: the monitor does not follow it; remove it or name"
                        f" the real directory") from None
                links += 1
                if links > _MAX_LINKS:
                    raise UnsafePathError(f"{what}: {path}: too many levels of symbolic links"
                                          ) from None
                target = os.readlink(name, dir_fd=fd)
                if target.startswith("/"):
                    os.close(fd)
                    fd = os.open("/", _DIR_FLAGS)
                    where = "/"
                todo.extend(reversed(Path(target).parts[1 if target.startswith("/") else 0:]))
                continue
            os.close(fd)
            fd, where = nfd, here
        _check_final(where, os.fstat(fd), what)
        return fd, where, True
    except BaseException:
        os.close(fd)
        raise


# The path as configured cannot work, whoever runs it: the config must change (exit 2), as for
# an unsafe path; any other errno is the host's (permissions, read-only, I/O: exit 1).
_CONFIG_ERRNOS = frozenset({errno.ENAMETOOLONG, errno.ELOOP, errno.ENOTDIR, errno.EISDIR})


def host_error(what: str, path: Path, exc: OSError) -> MonitorError:
    """One line for an OSError on a path the monitor writes: a ConfigError (exit 2) when the
    path itself cannot work, else a HostError (exit 1); the same at start and in
    check-config."""
    message = f"{what}: {path}: {exc.strerror or exc}"
    if exc.errno in _CONFIG_ERRNOS:
        return ConfigError(message)
    hint = {errno.EPERM: " (immutable or append-only? see lsattr)",
            errno.EACCES: "" if os.geteuid() == 0 else " (run as root)"}.get(exc.errno or 0, "")
    return HostError(message + hint)


def check_file(path: Path, *, what: str) -> None:
    """What SafeDir.open would refuse about an existing `path`, without opening it."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise host_error(what, path, exc) from None
    if stat.S_ISLNK(st.st_mode):
        raise UnsafePathError(f"{path}: is a symbolic link; the monitor never writes through"
                              " one: remove it")
    if stat.S_ISDIR(st.st_mode):
        raise UnsafePathError(f"{path}: is a directory, not a file: move it away")
    if not stat.S_ISREG(st.st_mode):
        raise UnsafePathError(f"{path}: is not a regular file: remove it")
    if not _trusted(st.st_uid):
        raise UnsafePathError(f"{path}: is owned by uid {st.st_uid}, not root: remove it or"
                              " chown root")


_FS_IOC_GETFLAGS = 0x80086601
_FS_IMMUTABLE_FL, _FS_APPEND_FL = 0x10, 0x20


def check_dir(path: Path, *, what: str) -> None:
    """The checks SafeDir applies, without creating anything (for check-config), and whether
    the monitor could write there: not on a read-only mount, not immutable."""
    try:
        fd, where, _ = _walk(path, create=False, what=what)
    except OSError as exc:
        raise host_error(what, path, exc) from None
    try:
        if os.fstatvfs(fd).f_flag & os.ST_RDONLY:
            raise HostError(f"{what}: {where} is on a read-only file system")
        try:
            rfd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=fd)
        except OSError:
            return  # not readable by this user: the start (as root) will tell
        try:
            flags = struct.unpack("l", fcntl.ioctl(rfd, _FS_IOC_GETFLAGS, bytes(8)))[0]
        except OSError:
            flags = 0  # a file system without these flags
        finally:
            os.close(rfd)
        if flags & (_FS_IMMUTABLE_FL | _FS_APPEND_FL):
            raise HostError(f"{what}: {where} is immutable or append-only: run chattr -i -a"
                            f" {where}")
    finally:
        os.close(fd)


def _lock_holder_message(path: Path, fd: int) -> str:
    try:
        pid = os.pread(fd, 32, 0).decode().strip()
    except (OSError, UnicodeDecodeError):
        pid = ""
    holder = f"pid {pid}" if pid.isdigit() else "another process"
    return (f"{path}: another ebpf-monitor ({holder}) is running on this directory: stop it,"
            " or give this one its own events_dir and output_dir")


class SafeDir:
    """An open directory the monitor writes into; every file opened relative to it."""

    def __init__(self, path: Path, *, what: str) -> None:
        self.path = path
        self.what = what
        self._lock_fd = -1
        try:
            fd, _, _ = _walk(path, create=True, what=what)
        except OSError as exc:
            raise host_error(what, path, exc) from None
        try:
            self.fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=fd)
        except OSError as exc:
            raise host_error(what, path, exc) from None
        finally:
            os.close(fd)

    def __repr__(self) -> str:
        return f"SafeDir({str(self.path)!r})"

    def open(self, name: str, flags: int, mode: int = FILE_MODE) -> int:
        """open(2) `name` in this directory without following a link, and check what opened."""
        where = self.path / name
        try:
            fd = os.open(name, flags | _FILE_FLAGS, mode, dir_fd=self.fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise UnsafePathError(f"{where}: is a symbolic link; the monitor never writes"
                                      " through one: remove it") from None
            if exc.errno == errno.EISDIR:
                raise UnsafePathError(f"{where}: is a directory, not a file: move it away"
                                      ) from None
            if exc.errno == errno.ENXIO:  # a FIFO without reader, or a socket
                raise UnsafePathError(f"{where}: is not a regular file: remove it") from None
            raise
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise UnsafePathError(f"{where}: is not a regular file: remove it")
            if not _trusted(st.st_uid):
                raise UnsafePathError(f"{where}: is owned by uid {st.st_uid}, not root: remove"
                                      " it or chown root")
            if st.st_nlink > 1:
                raise UnsafePathError(f"{where}: has {st.st_nlink} hard links: it may be"
                                      " another file's name; remove it")
            if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and flags & (os.O_WRONLY | os.O_RDWR):
                os.fchmod(fd, mode)
                log.warning("%s was writable by group or others (mode %o): set to %o", where,
                            stat.S_IMODE(st.st_mode), mode)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def create(self, name: str, mode: int = FILE_MODE) -> int:
        """A new empty file (any old one of that name removed first, never truncated)."""
        self.unlink(name)
        return self.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)

    def write_replace(self, name: str, data: bytes, mode: int = FILE_MODE) -> None:
        """Replace `name` by `data` atomically (a temporary file, then rename(2))."""
        tmp = name + ".tmp"
        fd = self.create(tmp, mode)
        try:
            write_all(fd, data)
            os.fchmod(fd, mode)  # the umask may have cut it
        finally:
            os.close(fd)
        self.replace(tmp, name)

    def read(self, name: str, limit: int = 1 << 20) -> bytes:
        fd = self.open(name, os.O_RDONLY)
        try:
            return os.read(fd, limit)
        finally:
            os.close(fd)

    def replace(self, src: str, dst: str) -> None:
        os.replace(src, dst, src_dir_fd=self.fd, dst_dir_fd=self.fd)

    def unlink(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name, dir_fd=self.fd)

    def names(self) -> list[str]:
        return os.listdir(self.fd)

    def lock(self) -> None:
        """Hold an exclusive lock on this directory for the life of the process; a second
        monitor on it gets a HostError naming the holder's pid."""
        try:
            fd = self.open(LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise host_error(self.what, self.path / LOCK_NAME, exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            message = _lock_holder_message(self.path / LOCK_NAME, fd)
            os.close(fd)
            raise HostError(message) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd

    def close(self) -> None:
        if self._lock_fd >= 0:
            os.close(self._lock_fd)  # releases the lock
            self._lock_fd = -1
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
