"""Confine an external tool to the files it needs, and keep it off the network, with Landlock.

Landlock (Linux ≥ 5.13, https://docs.kernel.org/userspace-api/landlock.html) lets an unprivileged
process give up rights for itself and its children, irrevocably. The engine applies it between
``fork`` and ``exec`` of LibreOffice: the office may read the system (``/usr``, ``/etc``, ...) and
read/write its own folders, but not read the user's files (home, ``/tmp``, the job store), and with
ABI ≥ 4 it may not open any TCP connection. A document that names ``file:///home/...`` or
``http://...`` therefore gets nothing, even through a LibreOffice import path that ignores its
"block untrusted links" setting.

Where the kernel has no Landlock, :func:`available` is 0 and the office runs with only its
configuration as a guard (see ``office_server.OFFLINE_SETTINGS``).
"""

from __future__ import annotations

import ctypes
import os
import struct
from dataclasses import dataclass, field

_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446  # same on x86-64 and arm64
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH, _RULE_NET_PORT = 1, 2
_PR_SET_NO_NEW_PRIVS = 38

# Filesystem rights, by the ABI that introduced them.
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1

READ = EXECUTE | READ_FILE | READ_DIR
READ_WRITE = (1 << 16) - 1
#: The rights a rule on a single (non-directory) file may carry.
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV

#: What any dynamically linked program (LibreOffice included) reads from the system.
SYSTEM_READ = ("/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/etc", "/opt",
               "/var/cache/fontconfig", "/var/lib/dbus", "/proc", "/sys")
SYSTEM_DEVICES = ("/dev",)

_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long
_prctl = _libc.prctl
_abi: int | None = None


def available() -> int:
    """The kernel's Landlock ABI version (0: no Landlock). Cached."""
    global _abi
    if _abi is None:
        if os.environ.get("DOCCONVERT_NB_NO_LANDLOCK"):
            _abi = 0
        else:
            version = _syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
            _abi = int(version) if version > 0 else 0
    return _abi


def _fs_rights(abi: int) -> int:
    return next(rights for version, rights in sorted(_FS_BY_ABI.items(), reverse=True) if abi >= version)


_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In a child between fork and exec: receive SIGKILL when the parent thread exits (prctl(2))."""
    _prctl(ctypes.c_int(_PR_SET_PDEATHSIG), ctypes.c_ulong(9), ctypes.c_ulong(0), ctypes.c_ulong(0),
           ctypes.c_ulong(0))


@dataclass
class Policy:
    """What a confined process may touch. Paths that do not exist are skipped."""

    read: list[str] = field(default_factory=lambda: list(SYSTEM_READ))
    read_write: list[str] = field(default_factory=list)
    #: Single files (or folders) it may read, e.g. the one input of a cold conversion.
    read_files: list[str] = field(default_factory=list)
    #: Folders where it may only create sockets (LibreOffice's IPC pipe lives in /tmp).
    make_socket: list[str] = field(default_factory=lambda: ["/tmp"])
    #: TCP ports it may listen on; with Landlock ABI ≥ 4 every TCP connect is refused...
    bind_ports: list[int] = field(default_factory=list)
    #: ...unless this is set (the opt-in to remote resources).
    allow_connect: bool = False

    def prepare(self) -> "_Prepared | None":
        """Build the rule set in the parent (no allocation or imports needed after fork)."""
        abi = available()
        if not abi:
            return None
        handled_fs = _fs_rights(abi)
        rules: list[tuple[str, int]] = []
        for path in self.read:
            rules.append((path, READ))
        for path in SYSTEM_DEVICES:
            rules.append((path, READ | WRITE_FILE | IOCTL_DEV))
        for path in self.read_write:
            rules.append((path, READ_WRITE))
        for path in self.read_files:
            rules.append((path, READ_FILE | READ_DIR))
        for path in self.make_socket:
            rules.append((path, MAKE_SOCK))
        prepared = []
        for path, rights in rules:
            real = os.path.realpath(path)
            if not os.path.exists(real):
                continue
            if not os.path.isdir(real):
                rights &= FILE_RIGHTS
            prepared.append((real, rights & handled_fs))
        net = (NET_BIND_TCP | (0 if self.allow_connect else NET_CONNECT_TCP)) if abi >= 4 else 0
        attr = struct.pack("=QQ", handled_fs, net) if net else struct.pack("=Q", handled_fs)
        return _Prepared(attr, prepared, [int(p) for p in self.bind_ports] if net else [])


@dataclass
class _Prepared:
    ruleset_attr: bytes
    path_rules: list[tuple[str, int]]
    bind_ports: list[int]

    def apply(self) -> None:
        """Restrict the calling process (run in the child between fork and exec). Raises OSError."""
        attr = ctypes.create_string_buffer(self.ruleset_attr, len(self.ruleset_attr))
        ruleset = _syscall(_SYS_CREATE_RULESET, attr, ctypes.c_size_t(len(self.ruleset_attr)), ctypes.c_uint32(0))
        if ruleset < 0:
            raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
        try:
            for path, rights in self.path_rules:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                try:
                    rule = ctypes.create_string_buffer(struct.pack("=Qi", rights, fd), 12)
                    if _syscall(_SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH), rule,
                                ctypes.c_uint32(0)) < 0:
                        raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
                finally:
                    os.close(fd)
            for port in self.bind_ports:
                rule = ctypes.create_string_buffer(struct.pack("=QQ", NET_BIND_TCP, port), 16)
                if _syscall(_SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_NET_PORT), rule,
                            ctypes.c_uint32(0)) < 0:
                    raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for port {port}")
            if _prctl(ctypes.c_int(_PR_SET_NO_NEW_PRIVS), ctypes.c_ulong(1), ctypes.c_ulong(0), ctypes.c_ulong(0),
                      ctypes.c_ulong(0)) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
            if _syscall(_SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) < 0:
                raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
        finally:
            os.close(ruleset)

