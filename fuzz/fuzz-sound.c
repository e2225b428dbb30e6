/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Fuzz target: the virtio-snd device model (virtio 1.2, 5.14 "Sound
 * Device") of vhost-device-sound, sound-pcm.c: control requests of any
 * bytes and any response room, I/O messages on any stream and direction,
 * the clock run at any times, messages released by the core in any order.
 * The input: two bytes (output streams - 1 and input streams, each mod 3),
 * then operations, each a byte op (mod 5) and its fields (little endian):
 *   0  control request: u8 len (mod 65), u16 response room, len bytes
 *   1  I/O message: u8 direction (& 1), u8 stream, u32 payload bytes
 *   2  time passes by u16 x 100 us, then the timer runs (collect)
 *   3  the core releases message 1 + (u16 mod 512), in arrival order
 *   4  time passes by u8 ns
 * (fuzz/gen-seeds.py writes the seeds.)  Checked: a response never
 * exceeds the room the driver gave, its status is one of the spec's,
 * every held message completes at most once and never after it was
 * released, and completions are in arrival order per stream.
 */
#include "config.h"
#include "fuzz/fuzz.h"

#include <stdlib.h>

#include "devices/sound/sound-pcm.h"

#define MAXMSG 512

enum { FREE, HELD, DONE, GONE };

struct fz {
	uint8_t st[MAXMSG];
	uint16_t stream[MAXMSG];
	unsigned last_done[SND_MAX_STREAMS];   /* arrival order per stream */
};

static void on_complete(void *opaque, unsigned stream, uint8_t dir, void *cookie,
			uint32_t status, uint32_t latency, uint32_t filled)
{
	struct fz *z = opaque;
	unsigned id = (unsigned)(uintptr_t)cookie;

	(void)dir;
	(void)latency;
	(void)filled;
	if (id == 0 || id >= MAXMSG || z->st[id] != HELD || z->stream[id] != stream)
		abort();
	if (status != VIRTIO_SND_S_OK)
		abort();
	if (id < z->last_done[stream])
		abort();
	z->last_done[stream] = id;
	z->st[id] = DONE;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vsnd_model m;
	static struct fz z;
	struct fuzz_in in = { data, size };
	/* EVT_XRUNS offered: SET_PARAMETERS may select it. */
	struct vsnd_caps caps = { 1, 0, SND_DEFAULT_FORMATS, SND_DEFAULT_RATES,
				  1u << VIRTIO_SND_PCM_F_EVT_XRUNS };
	uint64_t now = 1;
	unsigned next = 1;

	caps.n_out = 1 + fuzz_u8(&in) % 3;
	caps.n_in = fuzz_u8(&in) % 3;
	memset(&z, 0, sizeof(z));
	vsnd_model_init(&m, &caps, on_complete, &z);
	while (in.left) {
		uint8_t op = fuzz_u8(&in);

		switch (op % 5) {
		case 0: {               /* a control request */
			uint8_t req[64];
			size_t len = fuzz_u8(&in) % (sizeof(req) + 1);
			size_t cap = fuzz_u16(&in), n;

			fuzz_take(&in, req, len);
			n = vsnd_ctl(&m, req, len, cap, now);
			if (n > cap || (cap >= 4) != (n >= 4) || n > sizeof(m.resp))
				abort();
			if (n >= 4) {
				uint32_t s = vsnd_resp_status(&m);

				if (s < VIRTIO_SND_S_OK || s > VIRTIO_SND_S_IO_ERR)
					abort();
			}
			break;
		}
		case 1: {               /* an I/O message */
			uint8_t dir = fuzz_u8(&in) & 1;
			uint32_t stream = fuzz_u8(&in) % (SND_MAX_STREAMS + 2);
			uint32_t bytes = fuzz_u32(&in) % (1u << 20);
			uint32_t s;

			if (next == MAXMSG)
				break;
			z.stream[next] = (uint16_t)stream;
			z.st[next] = HELD;
			s = vsnd_io_add(&m, dir, stream, bytes, (void *)(uintptr_t)next, now);
			if (s != VIRTIO_SND_S_OK)
				z.st[next] = DONE;      /* answered at once */
			next++;
			break;
		}
		case 2:                 /* time passes, the timer fires */
			now += (uint64_t)fuzz_u16(&in) * 100000u;
			vsnd_io_collect(&m, now);
			if (vsnd_next_due(&m) <= now)
				abort();        /* everything due was completed */
			break;
		case 3: {               /* the core releases a message */
			unsigned id = 1 + fuzz_u16(&in) % MAXMSG;
			unsigned st;

			if (id < MAXMSG && z.st[id] == HELD) {
				if (!vsnd_io_forget(&m, (void *)(uintptr_t)id, &st) || st != z.stream[id])
					abort();
				z.st[id] = GONE;
			} else if (id < MAXMSG && vsnd_io_forget(&m, (void *)(uintptr_t)id, &st)) {
				abort();        /* not held, yet found */
			}
			break;
		}
		default:
			now += fuzz_u8(&in);
			break;
		}
	}
	vsnd_model_reset(&m);
	return 0;
}
