#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
"""Host half of the guest tests: boot a real Linux guest under QEMU (TCG)
with vhost-user devices served by our backends, and get a verdict from it.

What this module promises:
  * The verdict comes from the guest: a test passes only if the guest
    printed "VHD-GUEST-RESULT: PASS ..." on its serial console (guest/lib.sh)
    and nothing on the host side went wrong (backend crash, QEMU error,
    backend not exiting cleanly on SIGTERM).
  * Every QEMU and backend process it starts is killed by PID on every way
    out (normal end, failure, timeout, SIGINT/SIGTERM; and through
    PR_SET_PDEATHSIG if this process itself is killed).  Sockets live in a
    per-test temporary directory which is removed at the end.
  * Missing prerequisites (no qemu-system-x86_64, QEMU 10 asked for but not
    in the cache, QEMU without the needed frontend, no way to build the
    guest kernel) give SKIP (exit 77) with the reason; VHD_VM_REQUIRE=1
    turns every SKIP into a failure (for CI, where a skip would hide that
    the proof was never made).
  * A failure prints what the guest saw, the console tail and the QEMU and
    backend logs.

A test script is a few lines (see rng-pci.test):

    import vhdvm
    def main(t):
        be = t.backend("rng", "vhost-device-rng")
        vm = t.vm("pc", [("rng", be.socket(0))], "rng.sh",
                  {"RNG_STEPS": "check read:1048576"})
        vm.run()
    vhdvm.main(main, name="rng-pci")

Every test prints the QEMU it runs under ("vm: QEMU emulator version ...").

A test names its guest's architecture: vhdvm.main(..., arch="aarch64") runs
it on an arm64 guest (docs/testing.md, "arm64 guests"): QEMU 10.0's
qemu-system-aarch64 from the cache (fetch-qemu10.sh --arch aarch64), the
machine "virt" (virtio-pci) or "virt-mmio" (the same machine, devices on
its virtio-mmio slots, modern), the arm64 kernel (build-kernel.sh --arch
aarch64) and an arm64 busybox (fetch-busybox-arm64.sh).  x86_64 is the
default and what every other test runs.

Environment: VHD_BUILDDIR (backends), VHD_VM_CACHE (kernel and QEMU 10
cache), VHD_VM_KERNEL (use this bzImage, no build), QEMU (the binary),
VHD_VM_KERNEL_AARCH64 / QEMU_AARCH64 (the same for arm64 guests),
VHD_VM_QEMU=10 (run under QEMU 10.0 from the cache, fetch-qemu10.sh; the
test's name gets "-qemu10"),
VHD_VM_TIMEOUT (seconds, per test), VHD_VM_KEEP=1 (keep the temp dir),
VHD_VM_VERBOSE=1 (echo the whole console), VHD_VM_REQUIRE=1,
VHD_<NAME>_BACKEND / VHD_<NAME>_BACKEND_ARGS (replace a backend binary or
add arguments, e.g. to prove a broken backend fails: docs/testing.md).
"""

import ctypes
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
EXIT_SKIP = 77
EXIT_HARD = 99

# Where each device type's guest test plugs in: the QEMU frontend for the
# pc machine (virtio-pci) and for microvm (virtio-mmio, what Xen guests
# see).  A new device adds a line here, a block in guest-kernel.config, a
# guest script in guest/ and a <device>-*.test (docs/testing.md).
FRONTENDS = {
    "rng": ("vhost-user-rng-pci", "vhost-user-rng"),
    "gpio": ("vhost-user-gpio-pci", "vhost-user-gpio-device"),
    "i2c": ("vhost-user-i2c-pci", "vhost-user-i2c-device"),
    # QEMU 10.0 only (tests/vm/vm.am, vm_qemu10_tests).
    "sound": ("vhost-user-snd-pci", "vhost-user-snd"),
    "vsock": ("vhost-user-vsock-pci", "vhost-user-vsock-device"),
    "scsi": ("vhost-user-scsi-pci", "vhost-user-scsi"),
    # Refuses to realize under TCG in QEMU 7.2 ("vhost initialization
    # failed: requires kvm"); QEMU 10.0 realizes it (input-pci.test).
    "input": ("vhost-user-input-pci", "vhost-user-input"),
    # QEMU's own (non-vhost) RNG: the harness self-test, no backend.
    "builtin-rng": ("virtio-rng-pci", "virtio-rng-device"),
    # QEMU 10.0 only; the guest's driver binds only on Arm, through a
    # device-tree node (VM adds it: scmi_dtb).
    "scmi": ("vhost-user-scmi-pci", "vhost-user-scmi"),
}

# name: (-M value, guest arch, devices on virtio-mmio)
MACHINES = {
    "pc": ("pc,memory-backend=mem", "x86_64", False),
    # acpi=off: QEMU adds virtio_mmio.device= to the kernel command line.
    "microvm": ("microvm,acpi=off,memory-backend=mem", "x86_64", True),
    # Arm's virt: virtio-pci behind its generic ECAM host bridge, or its 32
    # virtio-mmio slots, which the device tree describes (the guest needs
    # no command line for them).  QEMU makes those slots legacy (virtio
    # 0.9.5) by default: ARCHES turns that off.
    "virt": ("virt,memory-backend=mem", "aarch64", False),
    "virt-mmio": ("virt,memory-backend=mem", "aarch64", True),
}

# Per guest arch: QEMU binary, CPU, kernel console, extra QEMU options.
ARCHES = {
    "x86_64": {
        "qemu": "qemu-system-x86_64",
        "cpu": [],
        # reboot=t: without ACPI, reboot -f triple-faults (and -no-reboot
        # makes QEMU exit).
        "append": "console=ttyS0 reboot=t panic=-1 printk.time=1",
        "extra": [],
    },
    "aarch64": {
        "qemu": "qemu-system-aarch64",
        # A plain v8.0 core: "max" adds pointer authentication and SVE,
        # which cost TCG time and the tests nothing.
        "cpu": ["-cpu", "cortex-a57"],
        # reboot -f is a PSCI SYSTEM_RESET; -no-reboot makes QEMU exit.
        "append": "console=ttyAMA0 panic=-1 printk.time=1",
        # Modern virtio-mmio (virtio 1.x, virtio spec 4.2.2): the legacy
        # interface has no VERSION_1 (the SCMI transport requires it) and
        # the vhost-user-*-device frontends expect it.
        "extra": ["-global", "virtio-mmio.force-legacy=false"],
    },
}

RESULT_RE = re.compile(r"VHD-GUEST-RESULT: (PASS|FAIL) ?(.*)")
WAIT_RE = re.compile(r"VHD-GUEST-WAIT: (\S+)")
INFO_RE = re.compile(r"VHD-GUEST-INFO: ?(.*)")


class Skip(Exception):
    """A prerequisite is missing: the test reports SKIP (77)."""


class Failure(Exception):
    """The test failed; the message says what was seen."""


def say(msg):
    print("vm: " + msg, flush=True)


def tail(path, lines=40):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return ""
    text = data.decode("utf-8", "replace").splitlines()
    return "\n".join(text[-lines:])


def _pdeathsig():
    # Children die with us even if we are SIGKILLed.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class Proc:
    """A child process (QEMU or a backend) with its output in a log file."""

    def __init__(self, name, argv, log_path, env=None):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.log = open(log_path, "wb")
        try:
            self.popen = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=self.log,
                stderr=subprocess.STDOUT, env=env, preexec_fn=_pdeathsig)
        except OSError as e:
            self.log.close()
            raise Failure("cannot start %s (%s): %s" % (name, argv[0], e))
        self.pid = self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def status(self):
        rc = self.popen.poll()
        if rc is None:
            return "running"
        if rc < 0:
            try:
                return "killed by " + signal.Signals(-rc).name
            except ValueError:
                return "killed by signal %d" % -rc
        return "exit status %d" % rc

    def wait(self, timeout):
        try:
            self.popen.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def kill(self):
        """SIGKILL by PID and reap; safe to call twice."""
        if self.alive():
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.popen.wait(10)
        except subprocess.TimeoutExpired:
            pass
        self.log.close()

    def terminate(self, grace):
        """SIGTERM, then SIGKILL after grace seconds.  True if it exited
        by itself."""
        if not self.alive():
            self.log.close()
            return True
        os.kill(self.pid, signal.SIGTERM)
        done = self.wait(grace)
        self.kill()
        return done


class Backend:
    """One of our backend daemons serving vhost-user sockets."""

    def __init__(self, test, name, binary, args, socket_base, nsockets,
                 exact=False):
        self.test = test
        self.name = name
        self.socket_base = socket_base
        self.nsockets = nsockets
        self.exact = exact
        argv = [binary, "-s", socket_base]
        if nsockets != 1:
            argv += ["-c", str(nsockets)]
        argv += args
        say("backend %s: %s" % (name, " ".join(shlex.quote(a) for a in argv)))
        self.proc = Proc("backend " + name, argv,
                         os.path.join(test.dir, name + ".backend.log"))
        self.pid = self.proc.pid
        # Registered at once: cleanup and the failure report cover it even
        # if it never gets ready.
        test.backends.append(self)
        test.procs.append(self.proc)
        # Waits are for events; their bounds are for failures only and
        # generous: the machine may be busy (docs/testing.md).
        deadline = time.monotonic() + 60
        while not all(os.path.exists(self.socket(i)) for i in range(nsockets)):
            if not self.proc.alive():
                raise Failure("backend %s ended before creating %s (%s)" %
                              (name, self.socket(0), self.proc.status()))
            if time.monotonic() > deadline:
                raise Failure("backend %s did not create %s within 60 s" %
                              (name, self.socket(0)))
            time.sleep(0.05)

    def socket(self, index):
        # The backend appends the socket index to -s PATH, unless it names
        # its one socket PATH exactly (VU_SOCKETS_EXACT: scsi).
        if self.exact:
            return self.socket_base
        return "%s%d" % (self.socket_base, index)

    def check_alive(self, when):
        if not self.proc.alive():
            raise Failure("backend %s (pid %d) died %s: %s" %
                          (self.name, self.pid, when, self.proc.status()))

    def stop(self):
        """SIGTERM must end the backend promptly, cleanly, and remove its
        sockets: that is part of the backend contract."""
        was_alive = self.proc.alive()
        clean = self.proc.terminate(30)
        if not was_alive:
            raise Failure("backend %s (pid %d) was no longer running at the "
                          "end of the test: %s" % (self.name, self.pid,
                                                   self.proc.status()))
        if not clean:
            raise Failure("backend %s (pid %d) did not exit within 30 s of "
                          "SIGTERM (killed)" % (self.name, self.pid))
        if self.proc.popen.returncode != 0:
            raise Failure("backend %s (pid %d) ended with %s on SIGTERM" %
                          (self.name, self.pid, self.proc.status()))
        left = [self.socket(i) for i in range(self.nsockets)
                if os.path.exists(self.socket(i))]
        if left:
            raise Failure("backend %s exited but left its socket(s) %s" %
                          (self.name, " ".join(left)))


class VM:
    """One QEMU run: a guest with a list of devices and one guest script."""

    def __init__(self, test, name, machine, devices, script, params,
                 extra_args=(), helpers=()):
        if machine not in MACHINES:
            raise Failure("unknown machine %r" % machine)
        mopt, march, mmio = MACHINES[machine]
        if march != test.arch:
            raise Failure("machine %r is for %s guests; this test's arch is "
                          "%s (vhdvm.main(..., arch=...))" % (machine, march,
                                                               test.arch))
        arch = ARCHES[test.arch]
        self.test = test
        self.name = name
        self.machine = machine
        self.dir = os.path.join(test.dir, name)
        os.mkdir(self.dir)
        self.console_log = os.path.join(self.dir, "console.log")
        self.qmp_path = os.path.join(self.dir, "qmp.sock")
        self.con_path = os.path.join(self.dir, "console.sock")
        self.lines = []
        self.cond = threading.Condition()
        self.eof = False
        self.qmp_sock = None
        self.qmp_buf = b""
        self.verdict = None
        self.t_start = None

        script_path = script if os.path.isabs(script) else \
            os.path.join(HERE, "guest", script)
        params_path = os.path.join(self.dir, "params")
        with open(params_path, "w") as f:
            for k, v in sorted(params.items()):
                f.write("%s=%s\n" % (k, shlex.quote(str(v))))
        initrd = os.path.join(self.dir, "initramfs.cpio.gz")
        for h in helpers:
            # Programs must be executable; data files (a kernel module
            # for insmod) only readable.
            if not os.access(h, os.X_OK if not h.endswith(".ko")
                             else os.R_OK):
                raise Failure("guest helper %s is missing (built by make "
                              "check)" % h)
        env = dict(os.environ)
        if test.busybox:
            env["VHD_BUSYBOX"] = test.busybox
        r = subprocess.run(["sh", os.path.join(HERE, "mkinitramfs.sh"), initrd,
                            script_path, params_path] + list(helpers),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           env=env)
        if r.returncode == 2:
            raise Skip(r.stdout.decode().strip())
        if r.returncode != 0:
            raise Failure("mkinitramfs.sh failed: " + r.stdout.decode())

        # The machine alone (no devices, console or files): what
        # scmi_dtb dumps the device tree of.
        base = [test.qemu, "-accel", "tcg", "-nodefaults", "-no-user-config",
                "-display", "none", "-no-reboot", "-smp", "1",
                "-m", "256M",
                "-object", "memory-backend-memfd,id=mem,size=256M,share=on",
                "-M", mopt] + arch["cpu"] + arch["extra"]
        argv = base + [
                "-chardev", "socket,id=con,path=%s,server=on,wait=on" %
                self.con_path,
                "-serial", "chardev:con",
                "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path,
                "-kernel", test.kernel, "-initrd", initrd,
                "-append", arch["append"]]
        if any(d[0] == "scmi" for d in devices):
            if test.arch != "aarch64":
                raise Failure("the guest's SCMI driver binds only on Arm: "
                              "an scmi device needs arch aarch64")
            argv += ["-dtb", scmi_dtb(test, base, self.dir)]
        for i, dev in enumerate(devices):
            kind, sock = dev[0], dev[1]
            props = dev[2] if len(dev) > 2 else ""
            frontend = FRONTENDS[kind][1 if mmio else 0]
            test.need_device(frontend)
            if sock is None:
                argv += ["-device", frontend + props]
            else:
                argv += ["-chardev", "socket,id=vu%d,path=%s" % (i, sock),
                         "-device", "%s,chardev=vu%d%s" % (frontend, i, props)]
        argv += list(extra_args)
        self.argv = argv

    # -- lifetime --------------------------------------------------------
    def start(self):
        for be in self.test.backends:
            be.check_alive("before %s started" % self.name)
        say("%s: qemu %s (%s)" % (self.name, self.machine,
                                  os.path.join(self.dir, "qemu.cmdline")))
        with open(os.path.join(self.dir, "qemu.cmdline"), "w") as f:
            f.write(" ".join(shlex.quote(a) for a in self.argv) + "\n")
        self.t_start = time.monotonic()
        self.proc = Proc("qemu " + self.name, self.argv,
                         os.path.join(self.dir, "qemu.log"))
        self.test.procs.append(self.proc)
        # QEMU waits (wait=on) until we hold the console: nothing is lost.
        deadline = time.monotonic() + 60
        while True:
            if not self.proc.alive():
                raise Failure("QEMU (%s) ended before the guest booted: %s"
                              % (self.name, self.proc.status()))
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(self.con_path)
                break
            except OSError:
                s.close()
                if time.monotonic() > deadline:
                    raise Failure("QEMU (%s) never opened its console socket"
                                  % self.name)
                time.sleep(0.05)
        self.con = s
        self.reader = threading.Thread(target=self._read_console, daemon=True)
        self.reader.start()
        return self

    def _read_console(self):
        verbose = os.environ.get("VHD_VM_VERBOSE") == "1"
        buf = b""
        with open(self.console_log, "wb") as log:
            while True:
                try:
                    data = self.con.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    break
                log.write(data)
                log.flush()
                buf += data
                while b"\n" in buf:
                    raw, buf = buf.split(b"\n", 1)
                    line = raw.decode("utf-8", "replace").rstrip("\r")
                    if verbose:
                        print("  | " + line, flush=True)
                    else:
                        m = INFO_RE.search(line)
                        if m:
                            print("guest(%s): %s" % (self.name, m.group(1)),
                                  flush=True)
                    with self.cond:
                        self.lines.append(line)
                        self.cond.notify_all()
        with self.cond:
            if buf:
                self.lines.append(buf.decode("utf-8", "replace"))
            self.eof = True
            self.cond.notify_all()

    def elapsed(self):
        return time.monotonic() - self.t_start

    def send(self, text):
        self.con.sendall(text.encode())

    # -- console protocol ---------------------------------------------------
    def run(self, steps=None, timeout=300):
        """Start (if needed), serve the guest's host steps, and wait for
        its verdict.  steps maps a WAIT tag to a function(vm) that returns
        "continue" (answer the guest) or "gone" (QEMU was made to exit: the
        run ends there, without a verdict).  Raises Failure unless the guest
        says PASS and QEMU then exits cleanly.  Returns the PASS text."""
        if self.t_start is None:
            self.start()
        steps = steps or {}
        seen = 0
        deadline = time.monotonic() + timeout
        while True:
            with self.cond:
                while seen == len(self.lines) and not self.eof:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self.cond.wait(min(left, 1.0))
                new = self.lines[seen:]
                seen = len(self.lines)
                eof = self.eof
            for line in new:
                m = RESULT_RE.search(line)
                if m:
                    return self._verdict(m.group(1), m.group(2))
                m = WAIT_RE.search(line)
                if m:
                    tag = m.group(1)
                    if tag not in steps:
                        raise Failure("guest asked for host step '%s', which "
                                      "this test does not provide" % tag)
                    say("%s: host step '%s' at %.1f s" %
                        (self.name, tag, self.elapsed()))
                    if steps[tag](self) == "gone":
                        self.show_qemu_messages()
                        return None
                    self.send("VHD-HOST-GO: %s\n" % tag)
            if new:
                continue
            if eof:
                self.proc.wait(30)
                said = self.qemu_messages().splitlines()
                said = (": " + said[-1]) if said else ""
                if not any("VHD-GUEST-BOOTED" in l for l in self.lines):
                    raise Failure("QEMU ended (%s) before the guest booted%s"
                                  % (self.proc.status(), said))
                raise Failure("the guest gave no verdict: its console closed "
                              "after %.1f s (QEMU %s)%s" %
                              (self.elapsed(), self.proc.status(), said))
            if time.monotonic() >= deadline:
                raise Failure("the guest gave no verdict within %d s" %
                              timeout)

    def _verdict(self, word, text):
        self.verdict = (word, text)
        say("%s: guest verdict %s after %.1f s" % (self.name, word,
                                                   self.elapsed()))
        if word != "PASS":
            raise Failure("the guest saw: " + text)
        # The guest now does reboot -f; QEMU must exit (-no-reboot).  If it
        # does not, it is usually stuck waiting for a backend reply (e.g.
        # GET_VRING_BASE during the stop sequence).
        if not self.proc.wait(60):
            raise Failure("QEMU did not exit within 60 s after the guest "
                          "passed and rebooted (stuck on the vhost-user "
                          "stop sequence?)")
        if self.proc.popen.returncode != 0:
            raise Failure("QEMU ended with %s after the guest passed" %
                          self.proc.status())
        self.show_qemu_messages()
        return text

    def qemu_messages(self):
        """QEMU's stderr, minus the console-socket notice."""
        return "\n".join(l for l in tail(os.path.join(self.dir, "qemu.log"),
                                         30).splitlines()
                         if "QEMU waiting for connection" not in l)

    def show_qemu_messages(self):
        # Warnings (e.g. about vhost-user features) matter even on a pass.
        for line in self.qemu_messages().splitlines():
            say("%s: QEMU said: %s" % (self.name, line))

    # -- QMP ---------------------------------------------------------------
    def qmp(self, command, **arguments):
        if self.qmp_sock is None:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(30)
            s.connect(self.qmp_path)
            self.qmp_sock = s
            self._qmp_recv()  # greeting
            self._qmp_exec("qmp_capabilities", {})
        return self._qmp_exec(command, arguments)

    def _qmp_recv(self):
        while b"\n" not in self.qmp_buf:
            data = self.qmp_sock.recv(65536)
            if not data:
                raise Failure("QMP connection closed by QEMU (%s)" %
                              self.proc.status())
            self.qmp_buf += data
        line, self.qmp_buf = self.qmp_buf.split(b"\n", 1)
        return json.loads(line)

    def _qmp_exec(self, command, arguments):
        msg = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        self.qmp_sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self._qmp_recv()
            if "event" in reply:
                continue
            if "error" in reply:
                raise Failure("QMP %s failed: %s" % (command, reply["error"]))
            return reply.get("return")

    def quit(self):
        """QMP quit: QEMU runs its vhost-user stop sequence and exits."""
        try:
            self.qmp("quit")
        except (OSError, Failure):
            pass  # QEMU may close the socket before answering
        if not self.proc.wait(60):
            raise Failure("QEMU did not exit within 60 s of QMP quit (stuck "
                          "on the vhost-user stop sequence?)")

    def kill(self):
        self.proc.kill()


# The SCMI node the guest's SCMI core binds to (Linux's binding
# Documentation/devicetree/bindings/firmware/arm,scmi.yaml): the virtio
# transport, and the sensor management protocol (0x15, SCMI specification
# DEN0056 4.5) as a child, which makes the guest probe it.  The base
# protocol (0x10) is the node itself.
SCMI_DTS = """
/ {
	firmware {
		scmi {
			compatible = "arm,scmi-virtio";
			#address-cells = <1>;
			#size-cells = <0>;

			protocol@15 {
				reg = <0x15>;
			};
		};
	};
};
"""


def scmi_dtb(test, machine_argv, directory):
    """The machine's own device tree (QEMU's -machine dumpdtb=, taken with
    the same machine, CPU and memory options as the run) with the SCMI
    node added, recompiled with Debian's dtc: the path of the .dtb.  QEMU
    then fills /chosen (command line, initrd) of this tree as of its own."""
    dtc = shutil.which("dtc")
    if not dtc:
        raise Skip("dtc not found (install the Debian package "
                   "device-tree-compiler: scripts/install-deps.sh)")
    dumped = os.path.join(directory, "virt.dtb")
    argv = list(machine_argv)
    i = argv.index("-M") + 1
    argv[i] += ",dumpdtb=" + dumped
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0 or not os.path.exists(dumped):
        raise Failure("QEMU could not dump its device tree: %s" %
                      r.stdout.decode("utf-8", "replace").strip())
    dts = os.path.join(directory, "scmi.dts")
    r = subprocess.run([dtc, "-q", "-I", "dtb", "-O", "dts", dumped],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise Failure("dtc cannot read QEMU's device tree: " +
                      r.stderr.decode("utf-8", "replace"))
    # A second root block merges into the first (dtc's source format).
    with open(dts, "wb") as f:
        f.write(r.stdout + SCMI_DTS.encode())
    out = os.path.join(directory, "scmi.dtb")
    r = subprocess.run([dtc, "-q", "-I", "dts", "-O", "dtb", "-o", out, dts],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        raise Failure("dtc cannot compile the SCMI device tree %s: %s" %
                      (dts, r.stdout.decode("utf-8", "replace")))
    return out


class Test:
    """One guest test: its temp dir, kernel, QEMU, processes, verdict."""

    def __init__(self, name, arch="x86_64"):
        if arch not in ARCHES:
            raise ValueError("unknown arch %r" % arch)
        self.arch = arch
        self.busybox = None
        self.name = name
        self.procs = []
        self.backends = []
        self.vms = []
        self.qemu = None
        self.kernel = None
        self._devices = {}
        base = os.environ.get("TMPDIR", "/tmp")
        # AF_UNIX paths are limited to 108 bytes.
        if len(base) > 40:
            base = "/tmp"
        self.dir = tempfile.mkdtemp(prefix="vhd-vm-%s-" % name, dir=base)

    # -- prerequisites -----------------------------------------------------
    def setup(self):
        if self.arch == "aarch64":
            self._setup_aarch64()
            return
        if qemu10_wanted():
            self.qemu = self._find_qemu10()
        else:
            self.qemu = os.environ.get("QEMU") or shutil.which(
                "qemu-system-x86_64")
        if not self.qemu or not os.access(self.qemu, os.X_OK):
            raise Skip("qemu-system-x86_64 not found (install the Debian "
                       "package qemu-system-x86: scripts/install-deps.sh)")
        r = subprocess.run([self.qemu, "--version"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        version = (r.stdout.decode("utf-8", "replace").splitlines() or
                   ["(no output)"])[0]
        if r.returncode != 0:
            raise Failure("%s --version failed: %s" % (self.qemu, version))
        say("%s (%s)" % (version, self.qemu))
        self.kernel = os.environ.get("VHD_VM_KERNEL") or self._build_kernel()

    def _setup_aarch64(self):
        """arm64 guests: QEMU 10.0's qemu-system-aarch64 (Debian 12's 7.2
        lacks vhost-user-scmi), the arm64 busybox and kernel, all from the
        cache.  Fetching needs the network (and root for /var/cache): not
        done here, as for QEMU 10 on x86."""
        self.qemu = os.environ.get("QEMU_AARCH64") or \
            self._find_qemu10("aarch64")
        r = subprocess.run([self.qemu, "--version"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        version = (r.stdout.decode("utf-8", "replace").splitlines() or
                   ["(no output)"])[0]
        if r.returncode != 0:
            raise Failure("%s --version failed: %s" % (self.qemu, version))
        say("%s (%s)" % (version, self.qemu))
        r = subprocess.run(["sh", os.path.join(HERE, "fetch-busybox-arm64.sh"),
                            "--check"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        out = r.stdout.decode().strip().splitlines()
        if r.returncode != 0 or not out:
            raise Skip("no arm64 busybox in the test cache. Get it: run "
                       "tests/vm/fetch-busybox-arm64.sh as root (Debian's "
                       "busybox-static arm64, unpacked; scripts/test-all.sh "
                       "runs it)")
        self.busybox = out[-1]
        self.kernel = os.environ.get("VHD_VM_KERNEL_AARCH64") or \
            self._build_kernel()

    def _find_qemu10(self, arch="x86_64"):
        """The QEMU 10 wrapper fetch-qemu10.sh left in the cache.  Fetching
        needs the network (and root for /var/cache): not done here."""
        r = subprocess.run(["sh", os.path.join(HERE, "fetch-qemu10.sh"),
                            "--arch", arch, "--check"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out = r.stdout.decode().strip().splitlines()
        if r.returncode == 0 and out:
            return out[-1]
        why = r.stderr.decode().strip().replace("fetch-qemu10: ", "")
        raise Skip("%s. Get it: run tests/vm/fetch-qemu10.sh%s as root (it "
                   "unpacks Debian's bookworm-backports QEMU 10 into that "
                   "cache and installs nothing; scripts/test-all.sh runs "
                   "it)" % (why or "no QEMU 10.0 in the test cache",
                            "" if arch == "x86_64" else " --arch " + arch))

    def _build_kernel(self):
        t0 = time.monotonic()
        # Own process group: if we are stopped, the whole build goes too.
        p = subprocess.Popen(["sh", os.path.join(HERE, "build-kernel.sh"),
                              "--arch", self.arch],
                             stdout=subprocess.PIPE, start_new_session=True)
        try:
            stdout, _ = p.communicate()
        except BaseException:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            raise
        out = stdout.decode().strip().splitlines()
        if p.returncode == 2:
            raise Skip("the %s guest kernel cannot be built here (see the "
                       "build-kernel message above)" % self.arch)
        if p.returncode != 0 or not out:
            raise Failure("building the guest kernel failed (exit %d): see "
                          "the build-kernel messages above" % p.returncode)
        if time.monotonic() - t0 > 5:
            say("guest kernel built in %.0f s" % (time.monotonic() - t0))
        return out[-1]

    def need_device(self, frontend):
        # This one device's help: "-device help" would load every module.
        if frontend not in self._devices:
            r = subprocess.run([self.qemu, "-nodefaults", "-device",
                                frontend + ",help"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
            text = r.stdout.decode("utf-8", "replace")
            self._devices[frontend] = r.returncode == 0 and (
                text.startswith(frontend + " options:") or
                text.startswith("There are no options for %s." % frontend))
        if not self._devices[frontend]:
            raise Skip("%s has no '%s' device" % (self.qemu, frontend))

    # -- building blocks -----------------------------------------------------
    def backend(self, name, binary_name, args=(), nsockets=1, exact=False):
        """Start $VHD_BUILDDIR/<binary_name> (or binary_name itself if it
        is a path) as: BINARY -s <tmp>/<name>.sock [args]; exact: the
        backend names its socket PATH itself (no index appended).
        VHD_<NAME>_BACKEND replaces the binary, VHD_<NAME>_BACKEND_ARGS
        adds arguments (NAME upper-cased)."""
        env_name = "VHD_%s_BACKEND" % name.upper().replace("-", "_")
        binary = os.environ.get(env_name)
        if not binary and os.path.sep in binary_name:
            binary = os.path.abspath(binary_name)
        if not binary:
            builddir = os.environ.get("VHD_BUILDDIR") or os.getcwd()
            binary = os.path.join(builddir, binary_name)
        if not os.access(binary, os.X_OK):
            raise Failure("backend binary %s is missing: build it first "
                          "('make' in the build directory; VHD_BUILDDIR "
                          "points there)" % binary)
        extra = shlex.split(os.environ.get(env_name + "_ARGS", ""))
        return Backend(self, name, binary, list(args) + extra,
                       os.path.join(self.dir, name + ".sock"), nsockets,
                       exact)

    def vm(self, machine, devices, script, params, extra_args=(),
           helpers=()):
        """A VM (not started).  devices: list of (kind, socket_path[,
        ",extra=props"]); kind is a FRONTENDS key; socket None = a QEMU
        built-in device.  helpers: binaries for /vhd/bin (a dynamic one
        brings its shared libraries: mkinitramfs.sh)."""
        name = "vm%d-%s" % (len(self.vms) + 1, machine)
        v = VM(self, name, machine, devices, script, params, extra_args,
               helpers)
        self.vms.append(v)
        return v

    # -- the end -----------------------------------------------------------
    def report_failure(self):
        for v in self.vms:
            if v.t_start is None:
                continue
            say("---- %s: console tail (%s)" % (v.name, v.console_log))
            print(tail(v.console_log, 60), flush=True)
            q = v.qemu_messages()
            if q:
                say("---- %s: QEMU said:" % v.name)
                print(q, flush=True)
        for be in self.backends:
            say("---- backend %s (pid %d, %s) log tail:" %
                (be.name, be.pid, be.proc.status()))
            print(tail(be.proc.log_path, 40) or "(empty)", flush=True)

    def cleanup(self, failed):
        """Kill everything by PID, check the backends end cleanly, remove
        the temp dir.  Returns a Failure (or None)."""
        problem = None
        for v in self.vms:
            if v.t_start is not None:
                v.kill()
                if v.qmp_sock:
                    v.qmp_sock.close()
                try:
                    v.con.close()
                except AttributeError:
                    pass
        for be in self.backends:
            try:
                be.stop()
            except Failure as e:
                problem = problem or e
        for p in self.procs:
            p.kill()
        if os.environ.get("VHD_VM_KEEP") == "1":
            say("kept %s" % self.dir)
        else:
            if failed or problem:
                # Logs are printed above; the directory goes anyway.
                pass
            shutil.rmtree(self.dir, ignore_errors=True)
        return problem


def qemu10_wanted():
    """VHD_VM_QEMU: unset or "system" (QEMU=, else qemu-system-x86_64 on
    PATH) or "10" (the cached QEMU 10.0)."""
    choice = os.environ.get("VHD_VM_QEMU", "")
    if choice not in ("", "system", "10"):
        print("vm: ERROR: VHD_VM_QEMU=%s: say 10 or system" % choice)
        sys.exit(EXIT_HARD)
    return choice == "10"


def main(body, name, timeout=None, arch="x86_64"):
    """Run body(test) as one automake test on a guest of arch (x86_64,
    aarch64): exit 0 PASS, 77 SKIP, 1 FAIL, 99 hard error.  Never
    returns.  arm64 guests always run under QEMU 10 (VHD_VM_QEMU does not
    apply)."""
    if qemu10_wanted() and arch == "x86_64":
        name += "-qemu10"
    timeout = int(os.environ.get("VHD_VM_TIMEOUT", timeout or 600))
    require = os.environ.get("VHD_VM_REQUIRE") == "1"

    def on_signal(signum, frame):
        if signum == signal.SIGALRM:
            raise Failure("the test did not finish within %d s (hard limit, "
                          "VHD_VM_TIMEOUT)" % timeout)
        raise Failure("interrupted by " + signal.Signals(signum).name)

    for s in (signal.SIGALRM, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)

    t0 = time.monotonic()
    try:
        t = Test(name, arch)
    except OSError as e:
        print("vm: ERROR %s: cannot create a temp dir: %s" % (name, e))
        sys.exit(EXIT_HARD)
    status = 0
    failed = None
    try:
        t.setup()  # the kernel build (minutes, once) is not under the alarm
        signal.alarm(timeout)
        body(t)
        signal.alarm(0)
    except Skip as e:
        signal.alarm(0)
        if require:
            failed = "SKIP is not allowed (VHD_VM_REQUIRE=1): %s" % e
        else:
            say("SKIP %s: %s" % (name, e))
            status = EXIT_SKIP
    except Failure as e:
        signal.alarm(0)
        failed = str(e)
    except Exception:  # a bug in the test itself
        signal.alarm(0)
        traceback.print_exc()
        failed = "internal error in the test script"
        status = EXIT_HARD
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    if failed:
        t.report_failure()
    try:
        problem = t.cleanup(failed is not None)
    except Failure as e:
        problem = e
    if problem and not failed:
        failed = str(problem)
        t.report_failure()
    elif problem:
        say("also: %s" % problem)
    if failed:
        say("FAIL %s: %s" % (name, failed))
        sys.exit(status or 1)
    if status == 0:
        say("PASS %s (%.1f s)" % (name, time.monotonic() - t0))
    sys.exit(status)


# -- command line: one ad-hoc guest run, for humans ---------------------------
def _cli():
    import argparse
    ap = argparse.ArgumentParser(
        description="Boot the test guest with vhost-user devices and run a "
        "guest script (docs/testing.md).")
    ap.add_argument("--machine", default="pc", choices=sorted(MACHINES))
    ap.add_argument("--device", action="append", default=[],
                    metavar="KIND=BINARY[:ARGS]",
                    help="start BINARY (from VHD_BUILDDIR unless a path) "
                    "with -s SOCKET and ARGS, attach it as KIND (%s); "
                    "KIND alone for a QEMU built-in (builtin-rng)" %
                    ", ".join(sorted(FRONTENDS)))
    ap.add_argument("--script", default="rng.sh",
                    help="guest script (in tests/vm/guest/ or a path)")
    ap.add_argument("--param", action="append", default=[],
                    metavar="NAME=VALUE", help="guest script parameter")
    ap.add_argument("--helper", action="append", default=[],
                    metavar="PATH", help="static binary for /vhd/bin")
    a = ap.parse_args()

    def body(t):
        devices = []
        for spec in a.device:
            kind, _, rest = spec.partition("=")
            if kind not in FRONTENDS:
                raise Failure("unknown device kind %r" % kind)
            if not rest:
                devices.append((kind, None))
                continue
            binary, _, args = rest.partition(":")
            be = t.backend(kind, binary, shlex.split(args))
            devices.append((kind, be.socket(0)))
        params = dict(p.split("=", 1) for p in a.param)
        t.vm(a.machine, devices, a.script, params,
             helpers=[os.path.abspath(h) for h in a.helper]).run()

    # The machine names the guest's arch (virt, virt-mmio: aarch64).
    main(body, "cli", arch=MACHINES[a.machine][1])


if __name__ == "__main__":
    sys.dont_write_bytecode = True
    _cli()
