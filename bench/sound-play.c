/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * bench/bench-sound.sh's guest: plays SECONDS of 48 kHz stereo S16 through
 * vhost-device-sound (virtio 1.2, 5.14: SET_PARAMETERS, PREPARE, START,
 * tx messages of one period, 20 ms, four of them in flight as the Linux
 * driver keeps its buffer, STOP, RELEASE) as fast as the backend completes
 * them, and prints the bytes played.  With PID (the backend's), also the
 * CPU time the backend's threads spent per second of audio after the first
 * second (start-up and PREPARE left out), in nanoseconds, from their
 * /proc/PID/task/N/schedstat.  Usage: sound-play SOCKET SECONDS [PID]
 */
#include "config.h"
#include "vhu-frontend.h"

#include <dirent.h>
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_snd.h>

#define Q_CTL 0
#define Q_TX 2
#define RATE 48000
#define FRAME 4                 /* stereo S16 */
#define PERIOD (RATE / 50 * FRAME)
#define INFLIGHT 4

static void die(const char *what)
{
	fprintf(stderr, "sound-play: %s\n", what);
	exit(1);
}

/* Nanoseconds on a CPU of every thread of process pid. */
static unsigned long long proc_cpu_ns(const char *pid)
{
	char path[300];
	unsigned long long sum = 0, v;
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%s/task", pid);
	d = opendir(path);
	if (!d)
		die("cannot open the backend's /proc/PID/task");
	while ((de = readdir(d))) {
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/task/%s/schedstat", pid, de->d_name);
		f = fopen(path, "r");
		if (f && fscanf(f, "%llu", &v) == 1)
			sum += v;
		if (f)
			fclose(f);
	}
	closedir(d);
	return sum;
}

static uint32_t ctl(struct vhu_session *s, const void *req, uint32_t len)
{
	uint8_t *rd = vhu_mem_alloc(s->m, len, 8);
	uint32_t *wr = vhu_mem_alloc(s->m, 4, 8);
	struct vhu_sg out, in;
	uint32_t used = 0;
	void *tok = NULL;

	if (!rd || !wr)
		die("out of guest memory");
	memcpy(rd, req, len);
	out = (struct vhu_sg){ vhu_mem_gpa(s->m, rd), len };
	in = (struct vhu_sg){ vhu_mem_gpa(s->m, wr), 4 };
	if (vhu_vq_add(s->vq[Q_CTL], &out, 1, &in, 1, wr, false) < 0 ||
	    vhu_vq_publish_kick(s->vq[Q_CTL], false) < 0 ||
	    vhu_vq_wait(s->vq[Q_CTL], 30000, 0) != 1 ||
	    vhu_vq_get_used(s->vq[Q_CTL], &used, &tok) != 1)
		die("control request not answered");
	return le32toh(*wr);
}

static void pcm(struct vhu_session *s, uint32_t code)
{
	struct virtio_snd_pcm_hdr h = { { htole32(code) }, 0 };

	if (ctl(s, &h, sizeof(h)) != VIRTIO_SND_S_OK)
		die("PCM command refused");
}

int main(int argc, char **argv)
{
	struct vhu_session_opts o;
	struct vhu_session *s = NULL;
	struct virtio_snd_pcm_set_params p;
	char err[512] = "";
	uint8_t *hdr[INFLIGHT], *data[INFLIGHT], *st[INFLIGHT];
	unsigned long long total, posted = 0, done = 0, cpu0 = 0, cpu1 = 0;
	const char *pid = argc == 4 ? argv[3] : NULL;

	if (argc != 3 && argc != 4)
		die("usage: sound-play SOCKET SECONDS [PID]");
	total = strtoull(argv[2], NULL, 10) * 50;       /* periods */
	if (pid && total < 100)
		die("SECONDS must be at least 2 with PID");
	vhu_session_defaults(&o, argv[1]);
	o.connect_ms = 30000;
	o.timeout_ms = 30000;
	o.nqueues = 4;
	o.vq.num = 64;
	o.mem_size = 8u << 20;
	if (vhu_session_open(&o, &s, err, sizeof(err)) < 0) {
		fprintf(stderr, "sound-play: %s\n", err);
		return 1;
	}
	memset(&p, 0, sizeof(p));
	p.hdr.hdr.code = htole32(VIRTIO_SND_R_PCM_SET_PARAMS);
	p.buffer_bytes = htole32(INFLIGHT * PERIOD);
	p.period_bytes = htole32(PERIOD);
	p.channels = 2;
	p.format = VIRTIO_SND_PCM_FMT_S16;
	p.rate = VIRTIO_SND_PCM_RATE_48000;
	if (ctl(s, &p, sizeof(p)) != VIRTIO_SND_S_OK)
		die("SET_PARAMETERS refused");
	pcm(s, VIRTIO_SND_R_PCM_PREPARE);
	pcm(s, VIRTIO_SND_R_PCM_START);
	for (unsigned i = 0; i < INFLIGHT; i++) {
		hdr[i] = vhu_mem_alloc(s->m, 4, 8);
		data[i] = vhu_mem_alloc(s->m, PERIOD, 8);
		st[i] = vhu_mem_alloc(s->m, 8, 8);
		if (!hdr[i] || !data[i] || !st[i])
			die("out of guest memory");
		memset(hdr[i], 0, 4);
		for (unsigned k = 0; k < PERIOD; k++)
			data[i][k] = (uint8_t)(k * 7 + i);
	}
	for (;;) {
		void *tok;
		uint32_t used;
		int r;

		while (posted < total && posted - done < INFLIGHT) {
			unsigned i = (unsigned)(posted % INFLIGHT);
			struct vhu_sg sg[3] = {
				{ vhu_mem_gpa(s->m, hdr[i]), 4 },
				{ vhu_mem_gpa(s->m, data[i]), PERIOD },
				{ vhu_mem_gpa(s->m, st[i]), 8 },
			};

			if (vhu_vq_add(s->vq[Q_TX], sg, 2, &sg[2], 1, st[i], false) < 0)
				die("tx ring full");
			posted++;
		}
		if (vhu_vq_publish_kick(s->vq[Q_TX], false) < 0)
			die("kick failed");
		if (done == total)
			break;
		while ((r = vhu_vq_get_used(s->vq[Q_TX], &used, &tok)) == 1) {
			done++;
			if (pid && done == 50)
				cpu0 = proc_cpu_ns(pid);
			if (pid && done == total)
				cpu1 = proc_cpu_ns(pid);
		}
		if (r < 0)
			die("bad used entry");
		if (done < total && posted - done == INFLIGHT && vhu_vq_wait(s->vq[Q_TX], 30000, 0) != 1)
			die("no completion in 30 s");
	}
	pcm(s, VIRTIO_SND_R_PCM_STOP);
	pcm(s, VIRTIO_SND_R_PCM_RELEASE);
	printf("%llu\n", total * PERIOD);
	if (pid)
		printf("%llu\n", (cpu1 - cpu0) * 50 / (total - 50));
	vhu_session_close(s);
	return 0;
}
