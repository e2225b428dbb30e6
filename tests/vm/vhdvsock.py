# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
"""Host side of the vsock guest tests (vsock-*.test): the backend, the Unix
servers the guest connects to, and the host steps.

  VsockBackend(test)  vhost-device-vsock --socket S --uds-path U --guest-cid 3
  HostServers(uds)    <uds>_1234: read to EOF, answer "<crc32> <bytes>";
                      <uds>_1235: the same, but read nothing until release()
                      (a host peer that stalls); <uds>_7000 (SEQPACKET):
                      echo every message
  h2g(be, servers)    connect "CONNECT 5000", send 1 MiB, expect "OK"
"""
import fcntl
import os
import random
import socket
import struct
import termios
import threading
import time
import zlib

import vhdvm

H2G_BYTES = 1 << 20


class VsockBackend(vhdvm.Backend):
    """vhost-device-vsock takes --socket and --uds-path, not -s: start it
    here, registered with the test like any backend (so cleanup, the
    failure report and the SIGTERM contract apply)."""

    def __init__(self, test, args=()):
        self.test = test
        self.name = "vsock"
        self.nsockets = 1
        self.sock = os.path.join(test.dir, "vsock.sock")
        self.uds = os.path.join(test.dir, "vm.vsock")
        binary = os.environ.get("VHD_VSOCK_BACKEND") or os.path.join(
            os.environ.get("VHD_BUILDDIR") or os.getcwd(), "vhost-device-vsock")
        if not os.access(binary, os.X_OK):
            raise vhdvm.Failure("backend binary %s is missing: build it first"
                                % binary)
        extra = os.environ.get("VHD_VSOCK_BACKEND_ARGS", "").split()
        argv = [binary, "--socket", self.sock, "--uds-path", self.uds,
                "--guest-cid", "3"] + list(args) + extra
        vhdvm.say("backend vsock: %s" % " ".join(argv))
        self.proc = vhdvm.Proc("backend vsock", argv,
                               os.path.join(test.dir, "vsock.backend.log"))
        self.pid = self.proc.pid
        test.backends.append(self)
        test.procs.append(self.proc)
        deadline = time.monotonic() + 60
        while not (os.path.exists(self.sock) and os.path.exists(self.uds)):
            if not self.proc.alive():
                raise vhdvm.Failure("backend vsock ended before creating %s (%s)"
                                    % (self.sock, self.proc.status()))
            if time.monotonic() > deadline:
                raise vhdvm.Failure("backend vsock did not create %s within 60 s"
                                    % self.sock)
            time.sleep(0.05)

    def socket(self, index):
        return self.sock


class HostServers:
    """Unix servers the guest connects to (CID 2, port P -> <uds>_P)."""

    def __init__(self, uds):
        self.errors = []
        self.socks = []
        self.held = threading.Event()      # a client of port 1235 waits
        self.released = threading.Event()  # ... until this is set
        self.held_conn = None              # that client's connection
        self.g2h = self._listen("%s_1234" % uds, socket.SOCK_STREAM)
        self.g2h_held = self._listen("%s_1235" % uds, socket.SOCK_STREAM)
        self.seq = self._listen("%s_7000" % uds, socket.SOCK_SEQPACKET)
        threading.Thread(target=self._g2h_loop, args=(self.g2h, 1234, False),
                         daemon=True).start()
        threading.Thread(target=self._g2h_loop, args=(self.g2h_held, 1235, True),
                         daemon=True).start()
        threading.Thread(target=self._seq_loop, daemon=True).start()

    def _listen(self, path, kind):
        s = socket.socket(socket.AF_UNIX, kind)
        s.bind(path)
        s.listen(8)
        self.socks.append(s)
        return s

    def wait_held_queued(self, nbytes, timeout):
        """Wait until the stalled peer of port 1235 has at least nbytes
        unread in its socket: bytes the backend forwarded there (the
        event; a fixed sleep may end before any came on a busy machine).
        False after timeout seconds (a failure bound)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            c = self.held_conn
            if c is not None:
                try:
                    queued = struct.unpack("i", fcntl.ioctl(
                        c.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]
                except OSError:
                    return False
                if queued >= nbytes:
                    return True
            time.sleep(0.02)
        return False

    def release(self):
        """Let the stalled reader of port 1235 read."""
        self.released.set()

    def _g2h_loop(self, lsock, port, hold):
        # Read to end of file, answer "<crc32> <bytes>".  hold: read
        # nothing until release() (the guest's sender stalls on credit).
        while True:
            try:
                c, _ = lsock.accept()
            except OSError:
                return
            with c:
                if hold:
                    self.held_conn = c
                    self.held.set()
                    if not self.released.wait(120):
                        self.errors.append("host port %d: never released" % port)
                        return
                crc, n = 0, 0
                c.settimeout(60)
                try:
                    while True:
                        b = c.recv(65536)
                        if not b:
                            break
                        crc = zlib.crc32(b, crc)
                        n += len(b)
                    c.sendall(b"%08x %d\n" % (crc, n))
                    vhdvm.say("host: port %d got %d bytes, CRC %08x" % (port, n, crc))
                except OSError as e:
                    self.errors.append("host port %d: %s" % (port, e))

    def _seq_loop(self):
        # Echo every message as it came.
        while True:
            try:
                c, _ = self.seq.accept()
            except OSError:
                return
            with c:
                c.settimeout(60)
                n = 0
                try:
                    while True:
                        m = c.recv(1 << 17)
                        if not m:
                            break
                        c.send(m)
                        n += 1
                    vhdvm.say("host: port 7000 echoed %d SEQPACKET messages" % n)
                except OSError as e:
                    self.errors.append("host port 7000: %s" % e)

    def close(self):
        for s in self.socks:
            s.close()


def h2g(be, servers):
    """Host step: connect to guest port 5000 the hybrid way, send 1 MiB
    with its count and CRC in front, expect the guest's OK."""
    data = random.Random(5).randbytes(H2G_BYTES)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(be.uds)
    s.sendall(b"CONNECT 5000\n")
    line = b""
    while not line.endswith(b"\n"):
        b = s.recv(1)
        if not b:
            raise vhdvm.Failure("host: CONNECT 5000 answered by close, not OK "
                                "(did the guest listen?)")
        line += b
    if not line.startswith(b"OK "):
        raise vhdvm.Failure("host: CONNECT 5000 answered %r" % line)
    vhdvm.say("host: CONNECT 5000 -> %s" % line.decode().strip())
    s.sendall(b"%d %08x\n" % (len(data), zlib.crc32(data)))
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    # The guest's verdict comes back in-band too; its own check is the one
    # that counts (the script fails if it saw different bytes).
    reply = s.recv(64)
    s.close()
    if reply != b"OK\n":
        servers.errors.append("host: guest answered %r to the 1 MiB" % reply)
    return "continue"

