/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * bench/bench-sound.sh's baseline: writes SECONDS of 48 kHz stereo S16 to
 * an ALSA PCM directly, with the parameters vhost-device-sound's ALSA
 * backend sets (sound-alsa.c: non-blocking, period 20 ms, buffer four
 * periods, start threshold 1, chunks of at most 4096 bytes), in real
 * time: a period is written when the clock reaches it, as an application
 * playing to a card (the PCM here has no clock of its own, and the backend
 * paces such a PCM the same way: docs/sound.md, "Pacing").  Prints its own
 * CPU time per second of audio after the first second (start-up left out,
 * as bench/sound-play does for the backend), in nanoseconds
 * (/proc/self/schedstat: time on a CPU, not 10 ms ticks).
 * Usage: sound-alsa-direct PCM SECONDS (at least 2)
 */
#include <alsa/asoundlib.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define RATE 48000
#define FRAME 4
#define PERIOD (RATE / 50)
#define CHUNK 4096

static unsigned long long cpu_ns(void)
{
	FILE *ss = fopen("/proc/self/schedstat", "r");
	unsigned long long v;

	if (!ss || fscanf(ss, "%llu", &v) != 1) {
		fprintf(stderr, "sound-alsa-direct: cannot read /proc/self/schedstat\n");
		exit(1);
	}
	fclose(ss);
	return v;
}

int main(int argc, char **argv)
{
	snd_pcm_t *pcm;
	snd_pcm_hw_params_t *hw;
	snd_pcm_sw_params_t *sw;
	snd_pcm_uframes_t period = PERIOD, buffer = 4 * PERIOD;
	static unsigned char buf[CHUNK];
	unsigned long long frames, left, done = 0, cpu0 = 0, cpu1 = 0;
	struct timespec t0, due;
	int err;

	if (argc != 3) {
		fprintf(stderr, "usage: sound-alsa-direct PCM SECONDS\n");
		return 1;
	}
	frames = strtoull(argv[2], NULL, 10) * RATE;
	if (frames < 2 * RATE) {
		fprintf(stderr, "sound-alsa-direct: SECONDS must be at least 2\n");
		return 1;
	}
	for (unsigned k = 0; k < CHUNK; k++)
		buf[k] = (unsigned char)(k * 7);
	if ((err = snd_pcm_open(&pcm, argv[1], SND_PCM_STREAM_PLAYBACK, SND_PCM_NONBLOCK)) < 0) {
		fprintf(stderr, "sound-alsa-direct: %s: %s\n", argv[1], snd_strerror(err));
		return 1;
	}
	snd_pcm_hw_params_alloca(&hw);
	snd_pcm_sw_params_alloca(&sw);
	if (snd_pcm_hw_params_any(pcm, hw) < 0 ||
	    snd_pcm_hw_params_set_access(pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED) < 0 ||
	    snd_pcm_hw_params_set_format(pcm, hw, SND_PCM_FORMAT_S16_LE) < 0 ||
	    snd_pcm_hw_params_set_channels(pcm, hw, 2) < 0 ||
	    snd_pcm_hw_params_set_rate(pcm, hw, RATE, 0) < 0 ||
	    snd_pcm_hw_params_set_period_size_near(pcm, hw, &period, NULL) < 0 ||
	    snd_pcm_hw_params_set_buffer_size_near(pcm, hw, &buffer) < 0 ||
	    snd_pcm_hw_params(pcm, hw) < 0 || snd_pcm_sw_params_current(pcm, sw) < 0 ||
	    snd_pcm_sw_params_set_start_threshold(pcm, sw, 1) < 0 ||
	    snd_pcm_sw_params(pcm, sw) < 0 || snd_pcm_prepare(pcm) < 0) {
		fprintf(stderr, "sound-alsa-direct: the PCM refuses the parameters\n");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (left = frames; left;) {
		snd_pcm_uframes_t n = CHUNK / FRAME < left ? CHUNK / FRAME : left;
		snd_pcm_sframes_t r;
		unsigned long long ns;

		/* Each period when the clock reaches it. */
		if (done % PERIOD == 0) {
			if (done == RATE)
				cpu0 = cpu_ns();
			ns = (unsigned long long)t0.tv_nsec + done * 1000000000ull / RATE;
			due.tv_sec = t0.tv_sec + (time_t)(ns / 1000000000ull);
			due.tv_nsec = (long)(ns % 1000000000ull);
			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL) == EINTR)
				;
		}
		if (n > PERIOD - done % PERIOD)
			n = PERIOD - done % PERIOD;
		r = snd_pcm_writei(pcm, buf, n);

		if (r == -EAGAIN) {
			snd_pcm_wait(pcm, 1000);
			continue;
		}
		if (r < 0 && snd_pcm_recover(pcm, (int)r, 1) < 0) {
			fprintf(stderr, "sound-alsa-direct: %s\n", snd_strerror((int)r));
			return 1;
		}
		if (r > 0) {
			left -= (unsigned long long)r;
			done += (unsigned long long)r;
		}
	}
	cpu1 = cpu_ns();
	snd_pcm_drop(pcm);
	snd_pcm_close(pcm);
	printf("%llu\n", (cpu1 - cpu0) * RATE / (frames - RATE));
	return 0;
}
