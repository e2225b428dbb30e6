/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * vhost-device-vsock: virtio-vsock device (virtio 1.2, 5.10), command-line
 * compatible with the Rust vhost-device-vsock (see docs/vsock.md).
 *
 * This file is the glue between the core and the vsock modules: options
 * (vsock-config.c, vsock-yaml.c), one engine per --vm (vsock-mux.c) whose
 * connections (vsock-conn.c) reach host Unix or AF_VSOCK sockets
 * (vsock-host.c) or sibling guests (vsock-sibling.c).
 *
 * Queues: rx 0, tx 1, event 2.  The event queue is never serviced: QEMU's
 * vhost-user-vsock keeps it and hands the backend only rx and tx (the Rust
 * backend does the same).  Config space: le64 guest_cid, so the core offers
 * VHOST_USER_PROTOCOL_F_CONFIG, which QEMU's vsock frontend requires.
 * Feature VIRTIO_VSOCK_F_SEQPACKET is offered (the Rust backend lacks it).
 */
#include "config.h"
#include "vhost-device.h"
#include "devices/vsock/vsock-config.h"
#include "devices/vsock/vsock-mux.h"
#include "devices/vsock/vsock-pkt.h"

#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <linux/vm_sockets.h>

#define VSOCK_VIRTIO_ID   19
#define VSOCK_NUM_QUEUES  3
#define VSOCK_CONFIG_SIZE 8

/* The command line and the VMs it describes (vhd_main's ctx): filled on
 * the main thread, read-only once the instances exist. */
struct vsock_main {
	struct vsock_cli cli;
	struct vsock_vm *vms;      /* from vsock_cli_finish */
	unsigned n_vms;
};

static void vsock_err(const char *msg)
{
	fprintf(stderr, "vhost-device-vsock: %s\nTry 'vhost-device-vsock --help'.\n", msg);
}

static int vsock_parse_option(void *ctx, int key, const char *arg)
{
	struct vsock_main *vm = ctx;
	char err[512];

	if (vsock_cli_option(&vm->cli, key, arg, err, sizeof(err)) < 0) {
		vsock_err(err);
		return -1;
	}
	return 0;
}

static int vsock_check_options(void *ctx, unsigned socket_count)
{
	struct vsock_main *vm = ctx;
	char err[512];

	if (vsock_cli_finish(&vm->cli, &vm->vms, &vm->n_vms, err, sizeof(err)) < 0) {
		vsock_err(err);
		return -1;
	}
	return 0;
}

static int vsock_socket_paths(void *ctx, char ***paths, unsigned *count)
{
	struct vsock_main *vm = ctx;
	char **p = calloc(vm->n_vms, sizeof(*p));

	if (!p)
		return -1;
	for (unsigned i = 0; i < vm->n_vms; i++) {
		if (!vm->vms[i].socket) {
			vsock_err("missing --socket (the vhost-user socket)");
			goto fail;
		}
		p[i] = strdup(vm->vms[i].socket);
		if (!p[i])
			goto fail;
	}
	*paths = p;
	*count = vm->n_vms;
	return 0;
fail:
	for (unsigned i = 0; i < vm->n_vms; i++)
		free(p[i]);
	free(p);
	return -1;
}

static int vsock_instance_new(void *ctx, unsigned index, unsigned count, void **priv)
{
	struct vsock_main *vm = ctx;
	struct vsock_mux *m;
	char err[512];

	/* With the core's --fd there is one instance: one VM only. */
	if (count != vm->n_vms || index >= vm->n_vms) {
		vsock_err("--fd serves exactly one VM");
		return -1;
	}
	if (vsock_mux_new(&vm->vms[index], &m, err, sizeof(err)) < 0) {
		vsock_err(err);
		return -1;
	}
	*priv = m;
	return 0;
}

static void vsock_instance_free(void *priv)
{
	vsock_mux_free(priv);
}

static unsigned vsock_instance_max_queue_size(void *priv)
{
	return vsock_mux_vm(priv)->queue_size;
}

static void vsock_connected(struct vu_dev *dev)
{
	vsock_mux_connected(vu_dev_priv(dev), dev);
}

static void vsock_reset(struct vu_dev *dev)
{
	vsock_mux_reset(vu_dev_priv(dev));
}

static void vsock_queue_kick(struct vu_dev *dev, unsigned q)
{
	vsock_mux_kick(vu_dev_priv(dev), q);
}

static int vsock_get_config(struct vu_dev *dev, uint8_t *buf)
{
	uint64_t le = htole64(vsock_mux_vm(vu_dev_priv(dev))->guest_cid);

	memcpy(buf, &le, sizeof(le));
	return 0;
}

static const struct option vsock_options[] = {
	{ "guest-cid", required_argument, NULL, VSOCK_OPT_GUEST_CID },
	{ "socket", required_argument, NULL, VSOCK_OPT_SOCKET },
	{ "uds-path", required_argument, NULL, VSOCK_OPT_UDS_PATH },
	{ "forward-cid", required_argument, NULL, VSOCK_OPT_FORWARD_CID },
	{ "forward-listen", required_argument, NULL, VSOCK_OPT_FORWARD_LISTEN },
	{ "tx-buffer-size", required_argument, NULL, VSOCK_OPT_TX_BUFFER_SIZE },
	{ "queue-size", required_argument, NULL, VSOCK_OPT_QUEUE_SIZE },
	{ "groups", required_argument, NULL, VSOCK_OPT_GROUPS },
	{ "vm", required_argument, NULL, VSOCK_OPT_VM },
	{ "config", required_argument, NULL, VSOCK_OPT_CONFIG },
	{ NULL, 0, NULL, 0 },
};

/* Sandbox (docs/security.md): a guest's connection to CID 2 or to
 * another CID opens a host socket then (vsock-host.c): Unix sockets for
 * uds_path_PORT, AF_VSOCK ones for --forward-cid. */
static int vsock_sandbox(void *ctx, struct vhd_sandbox *sb)
{
	static const char *const calls[] = { "connect", NULL };

	(void)ctx;
	if (vhd_sandbox_allow(sb, calls) < 0 ||
	    vhd_sandbox_allow_socket(sb, AF_UNIX) < 0 ||
	    vhd_sandbox_allow_socket(sb, AF_VSOCK) < 0)
		return -1;
	return 0;
}

static const struct vu_device_ops vsock_ops = {
	/* identity */
	.name = "vsock",
	.summary = "vhost-user virtio-vsock device backend: guest AF_VSOCK sockets reach host Unix\n"
		   "sockets (hybrid vsock, Firecracker convention), host AF_VSOCK sockets, or\n"
		   "sibling guests of the same process.",
	.virtio_id = VSOCK_VIRTIO_ID,
	.num_queues = VSOCK_NUM_QUEUES,
	.max_queue_size = VSOCK_QUEUE_SIZE_MAX,
	.features = VHD_BIT(VSOCK_F_SEQPACKET),
	.config_size = VSOCK_CONFIG_SIZE,
	/* command line */
	.socket_naming = VU_SOCKETS_EXACT,
	.options = vsock_options,
	.short_options = "",
	.options_help =
		"One VM (standalone flags):\n"
		"      --socket PATH          vhost-user socket (or the core's --fd)\n"
		"      --guest-cid CID        the guest's CID, 3..4294967294 (default 3)\n"
		"      --uds-path PATH        hybrid backend: host clients connect to PATH and\n"
		"                             send 'CONNECT <port>\\n'; guest connections to\n"
		"                             CID 2 port P go to PATH_P\n"
		"      --forward-cid CID      AF_VSOCK backend: guest connections go to CID\n"
		"      --forward-listen P+Q   AF_VSOCK backend: forward host vsock ports to the guest\n"
		"      --tx-buffer-size N     per-connection host buffer and advertised window\n"
		"                             (default 65536)\n"
		"      --queue-size N         largest virtqueue accepted (default 1024)\n"
		"      --groups A+B           sibling groups (default 'default')\n"
		"Several VMs in one process (each its own socket, CID and worker thread):\n"
		"      --vm KEY=VALUE,...     repeatable; keys guest_cid, socket, uds_path,\n"
		"                             forward_cid, forward_listen, tx_buffer_size,\n"
		"                             queue_size, groups ('_' or '-' in key names)\n"
		"      --config FILE          YAML file with a 'vms:' list of the same keys\n"
		"Guests that share a group reach each other's CID (sibling forwarding).\n",
	.parse_option = vsock_parse_option,
	.check_options = vsock_check_options,
	.socket_paths = vsock_socket_paths,
	/* runtime */
	.instance_max_queue_size = vsock_instance_max_queue_size,
	.instance_new = vsock_instance_new,
	.instance_free = vsock_instance_free,
	.connected = vsock_connected,
	.reset = vsock_reset,
	.queue_kick = vsock_queue_kick,
	.get_config = vsock_get_config,
	.sandbox = vsock_sandbox,
};

int main(int argc, char **argv)
{
	struct vsock_main vm = { .vms = NULL, .n_vms = 0 };
	struct rlimit rl;
	int r;

	/* One fd per connection: use the hard limit, not the soft 1024. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	vsock_cli_init(&vm.cli);
	r = vhd_main(&vsock_ops, &vm, argc, argv);
	vsock_vms_free(vm.vms, vm.n_vms);
	vsock_cli_free(&vm.cli);
	return r;
}
