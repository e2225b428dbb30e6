/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * vhost-device-vsock configuration: what one device (one guest) is, and
 * the three ways to say it on the command line, as the Rust
 * vhost-device-vsock accepts them:
 *   - standalone flags: --guest-cid, --socket, --uds-path | --forward-cid
 *     [--forward-listen], --tx-buffer-size, --queue-size, --groups;
 *   - repeated --vm key=value,... (keys spelt with '_' or '-');
 *   - --config FILE, YAML with a "vms:" list (vsock-yaml.c).
 *
 * Promises:
 *  - Every error is reported as one sentence in the caller's buffer that
 *    names the option, key or file line and the value; nothing is printed
 *    and no file is touched here.
 *  - A finished list is consistent: each VM has a socket (the standalone
 *    form may leave it to the core's --fd) and exactly one host backend (uds_path, or forward_cid with optional listen ports),
 *    a CID in 3..0xfffffffe, non-empty group names; no two VMs share a
 *    CID, a vhost-user socket or a uds_path.
 */
#ifndef VHD_VSOCK_CONFIG_H
#define VHD_VSOCK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VSOCK_DEFAULT_CID            3ull
#define VSOCK_DEFAULT_TX_BUFFER_SIZE 65536u
#define VSOCK_DEFAULT_QUEUE_SIZE     1024u
#define VSOCK_DEFAULT_GROUP          "default"
/* Linux guests hold CIDs in 32 bits and reserve 0xffffffff (any). */
#define VSOCK_CID_MIN                3ull
#define VSOCK_CID_MAX                0xfffffffeull
/* Per-connection host buffer: credit arithmetic is modulo 2^32, so keep
 * the window well below it. */
#define VSOCK_TX_BUFFER_MAX          (1u << 30)
#define VSOCK_QUEUE_SIZE_MAX         32768u

struct vsock_vm {
	uint64_t guest_cid;
	char *socket;               /* vhost-user socket */
	char *uds_path;             /* hybrid (Unix socket) backend, or NULL */
	bool has_forward_cid;       /* AF_VSOCK backend */
	uint32_t forward_cid;
	uint32_t *listen_ports;     /* --forward-listen */
	unsigned n_listen;
	uint32_t tx_buffer_size;
	uint32_t queue_size;
	char **groups;
	unsigned n_groups;
};

/* Option keys of the device (getopt values). */
enum vsock_opt {
	VSOCK_OPT_GUEST_CID = 0x3000,
	VSOCK_OPT_SOCKET,
	VSOCK_OPT_UDS_PATH,
	VSOCK_OPT_FORWARD_CID,
	VSOCK_OPT_FORWARD_LISTEN,
	VSOCK_OPT_TX_BUFFER_SIZE,
	VSOCK_OPT_QUEUE_SIZE,
	VSOCK_OPT_GROUPS,
	VSOCK_OPT_VM,
	VSOCK_OPT_CONFIG,
};

/* Command-line state, filled option by option. */
struct vsock_cli {
	struct vsock_vm flags;      /* the standalone flags */
	unsigned flags_given;       /* bit (key - VSOCK_OPT_GUEST_CID) per flag seen */
	struct vsock_vm *vms;       /* --vm, in order */
	unsigned n_vms;
	char *config_path;
};

void vsock_cli_init(struct vsock_cli *s);
void vsock_cli_free(struct vsock_cli *s);
/* One option.  0, or -1 with err filled. */
int vsock_cli_option(struct vsock_cli *s, int key, const char *arg,
		     char *err, size_t errlen);
/* All options seen: check the combination, load --config, and hand the
 * VM list to the caller (*out malloc'ed, free with vsock_vms_free).
 * 0, or -1 with err filled. */
int vsock_cli_finish(struct vsock_cli *s, struct vsock_vm **out, unsigned *n,
		     char *err, size_t errlen);

/* One --vm value ("guest-cid=4,socket=/x,uds_path=/y").  The vm is
 * initialised with the defaults first.  0, or -1 with err filled. */
int vsock_parse_vm(const char *spec, struct vsock_vm *vm, char *err, size_t errlen);

/* Set one key of a VM from its text value; `key` spelt with '_' or '-'.
 * `where` prefixes messages ("--vm", "config.yaml:4"); NULL for the
 * standalone flags (messages then name "--<key>").  0, or -1 with err
 * filled (unknown key, bad value). */
int vsock_vm_set(struct vsock_vm *vm, const char *key, const char *val,
		 const char *where, char *err, size_t errlen);
void vsock_vm_defaults(struct vsock_vm *vm);
/* Check one VM on its own (socket if need_socket, backend). */
int vsock_vm_check(const struct vsock_vm *vm, const char *where, bool need_socket,
		   char *err, size_t errlen);
/* Check a list (duplicates). */
int vsock_vms_check(const struct vsock_vm *vms, unsigned n, char *err, size_t errlen);
void vsock_vm_free(struct vsock_vm *vm);
void vsock_vms_free(struct vsock_vm *vms, unsigned n);

/* Format a message into err and return -1 (the parsers of vsock-config.c
 * and vsock-yaml.c report errors this way). */
int vsock_cfg_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "a+b+c" -> names.  Empty names are errors. */
int vsock_parse_groups(const char *s, char ***out, unsigned *n);
/* "9001+9002" -> ports (u32). */
int vsock_parse_ports(const char *s, uint32_t **out, unsigned *n);
/* True if the two VMs share a group. */
bool vsock_vms_share_group(const struct vsock_vm *a, const struct vsock_vm *b);

/*
 * --config FILE (vsock-yaml.c): a mapping with one key "vms", a non-empty
 * sequence of mappings whose keys are those of --vm.  Values are scalars;
 * groups and forward_listen may also be sequences.  0, or -1 with err
 * filled ("FILE:LINE: ...").  Without libyaml: always -1.
 */
int vsock_config_load(const char *path, struct vsock_vm **out, unsigned *n,
		      char *err, size_t errlen);

#endif
