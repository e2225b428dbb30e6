/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Guest helper of the input tests (static; busybox has no evdev tool that
 * writes events or makes uinput devices):
 *   input-tool find NAME          print /dev/input/eventN named NAME
 *   input-tool led DEV CODE VALUE write EV_LED CODE VALUE (and SYN_REPORT)
 *                                 to the event device DEV
 *   input-tool uinput NAME        make a uinput keyboard NAME (KEY_A,
 *                                 KEY_ENTER, LED_NUML, LED_CAPSL), print
 *                                 "DEV /dev/input/eventN", then on each
 *                                 stdin line "press" send KEY_A down/up as
 *                                 two reports; on "led CODE VALUE" wait until
 *                                 the device receives that LED state (60 s
 *                                 at most, a failure bound) and print "LED
 *                                 CODE VALUE"; exit at the end of stdin
 * Exit status 0, 1 on failure (the reason on stderr).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <linux/uinput.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static int die(const char *what)
{
	fprintf(stderr, "input-tool: %s: %s\n", what, strerror(errno));
	return 1;
}

static int emit(int fd, int type, int code, int value)
{
	struct input_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = (unsigned short)type;
	ev.code = (unsigned short)code;
	ev.value = value;
	return write(fd, &ev, sizeof(ev)) == (ssize_t)sizeof(ev) ? 0 : -1;
}

static int find(const char *name)
{
	for (int i = 0; i < 64; i++) {
		char path[64], got[256] = "";
		int fd;

		snprintf(path, sizeof(path), "/dev/input/event%d", i);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		if (ioctl(fd, EVIOCGNAME(sizeof(got) - 1), got) >= 0 && !strcmp(got, name)) {
			printf("%s\n", path);
			close(fd);
			return 0;
		}
		close(fd);
	}
	fprintf(stderr, "input-tool: no event device named '%s'\n", name);
	return 1;
}

static int led(const char *dev, int code, int value)
{
	int fd = open(dev, O_WRONLY);

	if (fd < 0)
		return die(dev);
	if (emit(fd, EV_LED, code, value) < 0 || emit(fd, EV_SYN, SYN_REPORT, 0) < 0)
		return die("write");
	close(fd);
	return 0;
}

static int wait_led(int fd, int code, int value)
{
	time_t end = time(NULL) + 60;

	while (time(NULL) < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct input_event ev;

		if (poll(&p, 1, 1000) <= 0)
			continue;
		if (read(fd, &ev, sizeof(ev)) != (ssize_t)sizeof(ev))
			continue;
		if (ev.type == EV_LED && ev.code == code && ev.value == value) {
			printf("LED %d %d\n", code, value);
			fflush(stdout);
			return 0;
		}
	}
	fprintf(stderr, "input-tool: LED %d %d did not arrive within 60 s\n", code, value);
	return 1;
}

static int uinput(const char *name)
{
	struct uinput_setup us;
	char sys[64], line[128];
	int fd = open("/dev/uinput", O_RDWR);

	if (fd < 0)
		return die("/dev/uinput");
	if (ioctl(fd, UI_SET_EVBIT, EV_KEY) < 0 || ioctl(fd, UI_SET_KEYBIT, KEY_A) < 0 ||
	    ioctl(fd, UI_SET_KEYBIT, KEY_ENTER) < 0 || ioctl(fd, UI_SET_EVBIT, EV_LED) < 0 ||
	    ioctl(fd, UI_SET_LEDBIT, LED_NUML) < 0 || ioctl(fd, UI_SET_LEDBIT, LED_CAPSL) < 0)
		return die("UI_SET_*");
	memset(&us, 0, sizeof(us));
	us.id.bustype = BUS_VIRTUAL;
	us.id.vendor = 0x1234;
	us.id.product = 0x5678;
	snprintf(us.name, sizeof(us.name), "%s", name);
	if (ioctl(fd, UI_DEV_SETUP, &us) < 0 || ioctl(fd, UI_DEV_CREATE) < 0)
		return die("UI_DEV_CREATE");
	if (ioctl(fd, UI_GET_SYSNAME(sizeof(sys)), sys) < 0)
		return die("UI_GET_SYSNAME");
	/* The event node is the one event* under /sys/devices/virtual/input/<sys>. */
	{
		char dir[128];
		DIR *d;
		struct dirent *e;
		int found = 0;

		snprintf(dir, sizeof(dir), "/sys/devices/virtual/input/%s", sys);
		for (int tries = 0; tries < 600 && !found; tries++) {
			d = opendir(dir);
			while (d && (e = readdir(d)))
				if (!strncmp(e->d_name, "event", 5)) {
					char dev[300];

					snprintf(dev, sizeof(dev), "/dev/input/%s", e->d_name);
					if (access(dev, F_OK) == 0) {
						printf("DEV %s\n", dev);
						fflush(stdout);
						found = 1;
						break;
					}
				}
			if (d)
				closedir(d);
			if (!found)
				usleep(100000);
		}
		if (!found) {
			fprintf(stderr, "input-tool: no event node for %s\n", sys);
			return 1;
		}
	}
	while (fgets(line, sizeof(line), stdin)) {
		int code, value;

		if (!strncmp(line, "press", 5)) {
			if (emit(fd, EV_KEY, KEY_A, 1) < 0 || emit(fd, EV_SYN, SYN_REPORT, 0) < 0 ||
			    emit(fd, EV_KEY, KEY_A, 0) < 0 || emit(fd, EV_SYN, SYN_REPORT, 0) < 0)
				return die("write");
		} else if (sscanf(line, "led %d %d", &code, &value) == 2) {
			if (wait_led(fd, code, value))
				return 1;
		}
	}
	ioctl(fd, UI_DEV_DESTROY);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "find"))
		return find(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "led"))
		return led(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (argc == 3 && !strcmp(argv[1], "uinput"))
		return uinput(argv[2]);
	fprintf(stderr, "usage: input-tool find NAME | led DEV CODE VALUE | uinput NAME\n");
	return 1;
}
