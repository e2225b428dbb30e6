#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# Write the hand-made seeds of fuzz/corpus/ (the record formats are in each
# fuzz/fuzz-*.c header comment): a valid session or request of each kind,
# so the fuzzers start from inputs that go deep.  Run from the source tree:
#   python3 fuzz/gen-seeds.py
# Inputs libFuzzer found and that crashed once are added to fuzz/corpus/
# by hand, next to these, never regenerated.
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(kind, name, data):
    d = os.path.join(HERE, "corpus", kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# ---- session ------------------------------------------------------------
V1 = 0x1        # header flags: version 1
NEED_REPLY = 0x8


def msg(req, payload=b"", flags=V1, fds=0, memfd=False, mem=b""):
    op = (fds & 7) << 2 | (0x20 if memfd else 0)
    rec = bytes([op]) + struct.pack("<III", req, flags, len(payload)) + payload
    for _ in range(fds):
        if memfd:
            rec += struct.pack("<H", len(mem)) + mem
    return rec


def u64(v):
    return struct.pack("<Q", v)


def ring_image():
    """256 KiB region at gpa 0: a ring of 8 at gpa 0 (desc), 128 (avail),
    4096 (used); one writable descriptor to gpa 0x8000, and a chain of a
    readable and a writable one, published."""
    desc = bytearray(128)
    struct.pack_into("<QIHH", desc, 0, 0x8000, 64, 2, 0)        # WRITE
    struct.pack_into("<QIHH", desc, 16, 0x9000, 16, 1, 2)       # NEXT
    struct.pack_into("<QIHH", desc, 32, 0xa000, 32, 2, 0)       # WRITE
    avail = struct.pack("<HHHH", 0, 2, 0, 1)
    return bytes(desc) + avail


def packed_ring_image():
    """The same region for a packed ring (virtio 1.2, 2.8): descriptors at
    gpa 0 (16 bytes: addr, len, id, flags), the driver event structure at
    128, the device's at 4096.  A writable buffer (id 0), then a list of a
    readable and a writable one (id 1), both available in the first lap
    (AVAIL = wrap counter 1, USED = 0)."""
    AVAIL, NEXT, WRITE = 1 << 7, 1, 2
    desc = bytearray(128)
    struct.pack_into("<QIHH", desc, 0, 0x8000, 64, 0, AVAIL | WRITE)
    struct.pack_into("<QIHH", desc, 16, 0x9000, 16, 1, AVAIL | NEXT)
    struct.pack_into("<QIHH", desc, 32, 0xa000, 32, 1, AVAIL | WRITE)
    return bytes(desc) + struct.pack("<HH", 0, 0)


def session(extra=b"", features=(1 << 32) | (1 << 30), image=None):
    s = b""
    s += msg(1)                                  # GET_FEATURES
    s += msg(3)                                  # SET_OWNER
    s += msg(15)                                 # GET_PROTOCOL_FEATURES
    s += msg(16, u64(0x1 | 0x2 | 0x200), flags=V1)  # MQ, LOG_SHMFD, CONFIG
    s += msg(2, u64(features))                   # SET_FEATURES
    region = struct.pack("<II", 1, 0) + u64(0) + u64(256 * 1024) + \
        u64(0x10000000) + u64(0)
    s += msg(5, region, fds=1, memfd=True, mem=image or ring_image())  # SET_MEM_TABLE
    s += msg(8, struct.pack("<II", 0, 8))        # SET_VRING_NUM
    s += msg(9, struct.pack("<II", 0, 0) + u64(0x10000000) +
             u64(0x10000000 + 4096) + u64(0x10000000 + 128) + u64(0))
    s += msg(10, struct.pack("<II", 0, 0))       # SET_VRING_BASE
    s += msg(12, u64(0), fds=1)                  # SET_VRING_KICK (eventfd)
    s += msg(13, u64(0), fds=1)                  # SET_VRING_CALL (eventfd)
    s += msg(18, struct.pack("<II", 0, 1))       # SET_VRING_ENABLE
    s += bytes([1])                              # kick queue 0
    s += extra
    s += msg(11, struct.pack("<II", 0, 0))       # GET_VRING_BASE
    return s


write("session", "handshake", session())
# Hold queue 0's requests across GET_VRING_BASE (the stop rule).
write("session", "held", session(extra=bytes([2 | (1 << 2), 1])))
write("session", "config", msg(1) + msg(3) + msg(15) + msg(16, u64(0x200)) +
      msg(24, struct.pack("<III", 0, 16, 0) + bytes(16)) +
      msg(25, struct.pack("<III", 4, 4, 0) + b"\x01\x02\x03\x04"))
write("session", "event-idx", session(features=(1 << 32) | (1 << 30) | (1 << 29) | (1 << 28)))
write("session", "packed", session(features=(1 << 34) | (1 << 32) | (1 << 30),
                                   image=packed_ring_image()))
write("session", "packed-event-idx",
      session(features=(1 << 34) | (1 << 32) | (1 << 30) | (1 << 29) | (1 << 28),
              image=packed_ring_image(), extra=bytes([2 | (1 << 2), 1])))

# ---- i2c ----------------------------------------------------------------


def elem(rd_pieces, wr_lens):
    out = bytes([len(rd_pieces) | len(wr_lens) << 4])
    for p in rd_pieces:
        out += struct.pack("<H", len(p)) + p
    for n in wr_lens:
        out += struct.pack("<H", n)
    return out


def i2c_hdr(addr, flags):
    return struct.pack("<HHI", addr << 1, 0, flags)


FAIL_NEXT, M_RD = 1, 2
write("i2c", "write-read", bytes([1]) +
      elem([i2c_hdr(0x50, 0) + b"\x10\xab"], [1]) +
      elem([i2c_hdr(0x50, FAIL_NEXT) + b"\x10"], [1]) +
      elem([i2c_hdr(0x50, M_RD)], [2, 1]))
write("i2c", "smbus", bytes([1]) +
      elem([i2c_hdr(0x20, 0), b"\x11\x34\x12"], [1]) +
      elem([i2c_hdr(0x20, FAIL_NEXT) + b"\x11"], [1]) +
      elem([i2c_hdr(0x20, M_RD)], [3]) +
      elem([i2c_hdr(0x20, 0)], [1]))

# ---- spi ----------------------------------------------------------------


def spi_head(cs=0, bpw=8, mode=0, freq=1000000):
    return struct.pack("<BBBBB3xIIIIII", cs, bpw, 0, 1, 1, mode, freq, 0, 0, 0, 0)


write("spi", "duplex", elem([spi_head(), b"\x01\x02\x03\x04"], [4, 1]) +
      elem([spi_head(mode=3, bpw=16), b"\xaa\xbb"], [2, 1]) +
      elem([spi_head()], [8, 1]))

# ---- vsock --------------------------------------------------------------


def vsock_hdr(op, length=0, flags=0, type_=1, buf_alloc=65536, fwd=0):
    return struct.pack("<QQIIIHHIII", 3, 2, 1234, 5000, length, type_, op,
                       flags, buf_alloc, fwd)


RW, SHUTDOWN, RST, CREDIT_UPDATE, CREDIT_REQUEST = 5, 4, 3, 6, 7
s = bytes([0, 0]) + struct.pack("<I", 65536)
s += bytes([0]) + elem([vsock_hdr(RW, 5) + b"hello"], [])
s += bytes([2])                                  # host reads
s += bytes([1, 3]) + b"abc"                      # host writes 3 bytes
s += bytes([3]) + struct.pack("<H", 4096)        # guest rx buffer
s += bytes([0]) + elem([vsock_hdr(CREDIT_REQUEST)], [])
s += bytes([3]) + struct.pack("<H", 64)
s += bytes([0]) + elem([vsock_hdr(SHUTDOWN, flags=3)], [])
s += bytes([3]) + struct.pack("<H", 64)
write("vsock", "stream", s)
s = bytes([1, 0]) + struct.pack("<I", 65536)
s += bytes([0]) + elem([vsock_hdr(RW, 3, type_=2), b"abc"], [])
s += bytes([0]) + elem([vsock_hdr(RW, 2, flags=1, type_=2), b"de"], [])
s += bytes([2]) + bytes([1, 4]) + b"wxyz" + bytes([3]) + struct.pack("<H", 100)
s += bytes([0]) + elem([vsock_hdr(RST, type_=2)], [])
write("vsock", "seqpacket", s)
s = bytes([0, 1]) + bytes([3]) + struct.pack("<H", 64)   # host-initiated
s += bytes([0]) + elem([vsock_hdr(2)], [])                # RESPONSE
s += bytes([1, 2]) + b"hi" + bytes([3]) + struct.pack("<H", 100)
s += bytes([2 | 8])                                       # host closes
s += bytes([3]) + struct.pack("<H", 64)
write("vsock", "host-initiated", s)

# ---- sound ---------------------------------------------------------------
def snd_ctl(req, cap=4096):
    return bytes([0, len(req)]) + struct.pack("<H", cap) + req


def snd_pcm(code, sid):
    return snd_ctl(struct.pack("<II", code, sid))


def snd_params(sid, fmt=5, rate=7, ch=1, buf=4800 * 4, per=4800):
    return snd_ctl(struct.pack("<IIIIIBBBB", 0x101, sid, buf, per, 0, ch, fmt, rate, 0))


def snd_io(d, sid, n):
    return bytes([1, d, sid]) + struct.pack("<I", n)


def snd_tick(t):
    return bytes([2]) + struct.pack("<H", t)


SND = bytes([0, 1])     # 1 output stream, 1 input stream
write("sound", "playback", SND + snd_params(0) + snd_pcm(0x102, 0) + snd_io(0, 0, 4800) * 3 +
      snd_pcm(0x104, 0) + snd_tick(200) + snd_tick(300) + bytes([3]) + struct.pack("<H", 2) +
      snd_pcm(0x105, 0) + snd_pcm(0x103, 0))
write("sound", "capture", SND + snd_params(1, fmt=4, rate=1) + snd_pcm(0x102, 1) +
      snd_io(1, 1, 400) * 2 + snd_pcm(0x104, 1) + snd_tick(600) + snd_io(1, 1, 400) +
      snd_tick(60000))
write("sound", "info", SND + snd_ctl(struct.pack("<IIII", 0x100, 0, 2, 32)) +
      snd_ctl(struct.pack("<IIII", 0x200, 0, 2, 24)) +
      snd_ctl(struct.pack("<IIII", 1, 0, 1, 24)) +
      snd_ctl(struct.pack("<IIII", 0x100, 1, 0xffffffff, 32), 70) +
      snd_ctl(b"\x02\x00\x00\x00", 3))
write("sound", "bad-order", SND + snd_pcm(0x104, 0) + snd_pcm(0x102, 9) + snd_io(0, 0, 10) +
      snd_params(0, fmt=200) + snd_params(0, rate=13) + snd_pcm(0x105, 0))


# ---- scmi ----------------------------------------------------------------
def scmi(proto, msg, params=(), cap=136, token=1, sensor=0):
    req = struct.pack("<I", msg | proto << 10 | token << 18) + b"".join(
        struct.pack("<I", p) for p in params)
    return bytes([cap // 4, len(req)]) + req + bytes([sensor])


BASE, SENSOR = 0x10, 0x15
write("scmi", "linux-probe", bytes([1]) + scmi(BASE, 0) + scmi(BASE, 1) + scmi(BASE, 3) +
      scmi(BASE, 4) + scmi(BASE, 5) + scmi(BASE, 6, [0]) + scmi(BASE, 7, [0]) +
      scmi(SENSOR, 0) + scmi(SENSOR, 1) + scmi(SENSOR, 3, [0]) + scmi(SENSOR, 8, [0, 0]) +
      scmi(SENSOR, 7, [0, 0]) + scmi(SENSOR, 7, [0, 2]) + scmi(SENSOR, 3, [1], cap=44))
write("scmi", "read-notify", bytes([1]) + scmi(SENSOR, 0xa, [1, 10 << 16 | 0x1d << 11 | 3]) +
      scmi(SENSOR, 6, [1, 0], sensor=1) + scmi(SENSOR, 0xb, [1, 1]) + scmi(SENSOR, 9, [1]) +
      scmi(SENSOR, 6, [0, 1], cap=16) + scmi(SENSOR, 0xb, [5, 2]) + scmi(0x14, 0))
