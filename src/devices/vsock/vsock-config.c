/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * vhost-device-vsock command line: standalone flags, --vm, --config.
 * See vsock-config.h for the promises.
 */
#include "config.h"
#include "devices/vsock/vsock-config.h"
#include "vhost-device.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vsock_cfg_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

void vsock_vm_defaults(struct vsock_vm *vm)
{
	memset(vm, 0, sizeof(*vm));
	vm->guest_cid = VSOCK_DEFAULT_CID;
	vm->tx_buffer_size = VSOCK_DEFAULT_TX_BUFFER_SIZE;
	vm->queue_size = VSOCK_DEFAULT_QUEUE_SIZE;
}

void vsock_vm_free(struct vsock_vm *vm)
{
	if (!vm)
		return;
	free(vm->socket);
	free(vm->uds_path);
	free(vm->listen_ports);
	for (unsigned i = 0; i < vm->n_groups; i++)
		free(vm->groups[i]);
	free(vm->groups);
	memset(vm, 0, sizeof(*vm));
}

void vsock_vms_free(struct vsock_vm *vms, unsigned n)
{
	if (!vms)
		return;
	for (unsigned i = 0; i < n; i++)
		vsock_vm_free(&vms[i]);
	free(vms);
}

/* Walk a '+'-separated list ("a+b+c"), calling item() on each element;
 * an empty element ("", "a++b", "+a", "a+") is refused.  The one splitter
 * of --groups and --forward-listen.  0, or -EINVAL. */
static int split_plus(const char *s, int (*item)(const char *p, size_t len, void *acc),
		      void *acc)
{
	if (!s)
		return -EINVAL;
	for (const char *p = s;;) {
		const char *end = strchr(p, '+');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == 0 || item(p, len, acc) < 0)
			return -EINVAL;
		if (!end)
			return 0;
		p = end + 1;
	}
}

struct names_acc {
	char **v;
	unsigned n;
};

static int add_name(const char *p, size_t len, void *acc)
{
	struct names_acc *a = acc;
	char **grown = realloc(a->v, (a->n + 1) * sizeof(*a->v));

	if (!grown)
		return -1;
	a->v = grown;
	a->v[a->n] = strndup(p, len);
	if (!a->v[a->n])
		return -1;
	a->n++;
	return 0;
}

int vsock_parse_groups(const char *s, char ***out, unsigned *n)
{
	struct names_acc a = { .v = NULL, .n = 0 };

	if (split_plus(s, add_name, &a) < 0) {
		for (unsigned i = 0; i < a.n; i++)
			free(a.v[i]);
		free(a.v);
		return -EINVAL;
	}
	*out = a.v;
	*n = a.n;
	return 0;
}

struct ports_acc {
	uint32_t *v;
	unsigned n;
};

static int add_port(const char *p, size_t len, void *acc)
{
	struct ports_acc *a = acc;
	unsigned long long v;
	char buf[16];
	uint32_t *grown;

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, p, len);
	buf[len] = 0;
	if (vhd_parse_u64(buf, 0, 0xffffffffull, &v) < 0)
		return -1;
	grown = realloc(a->v, (a->n + 1) * sizeof(*a->v));
	if (!grown)
		return -1;
	a->v = grown;
	a->v[a->n++] = (uint32_t)v;
	return 0;
}

int vsock_parse_ports(const char *s, uint32_t **out, unsigned *n)
{
	struct ports_acc a = { .v = NULL, .n = 0 };

	if (split_plus(s, add_port, &a) < 0) {
		free(a.v);
		return -EINVAL;
	}
	*out = a.v;
	*n = a.n;
	return 0;
}

bool vsock_vms_share_group(const struct vsock_vm *a, const struct vsock_vm *b)
{
	for (unsigned i = 0; i < a->n_groups; i++)
		for (unsigned j = 0; j < b->n_groups; j++)
			if (!strcmp(a->groups[i], b->groups[j]))
				return true;
	return false;
}

/* How a key is named in messages: "--vm: uds-path" or, for the
 * standalone flags (where == NULL), "--uds-path". */
static const char *label(const char *where, const char *key, char *buf, size_t cap)
{
	if (where)
		snprintf(buf, cap, "%s: %s", where, key);
	else
		snprintf(buf, cap, "--%s", key);
	return buf;
}

/* Canonical key: '-' spelt as '_'. */
static void canon_key(const char *key, char *out, size_t cap)
{
	size_t i;

	for (i = 0; key[i] && i + 1 < cap; i++)
		out[i] = key[i] == '-' ? '_' : key[i];
	out[i] = 0;
}

static int set_string(char **dst, const char *val, const char *name,
		      char *err, size_t errlen)
{
	char *copy;

	if (!*val)
		return vsock_cfg_fail(err, errlen, "%s: empty path", name);
	copy = strdup(val);
	if (!copy)
		return vsock_cfg_fail(err, errlen, "%s: out of memory", name);
	free(*dst);
	*dst = copy;
	return 0;
}

/* A number in [min, max] into a u32 field; `what` names it in the error
 * ("a queue size" -> "expected a queue size from 1 to 32768"). */
static int set_u32(uint32_t *dst, const char *val, uint32_t min, uint32_t max,
		   const char *what, const char *name, char *err, size_t errlen)
{
	unsigned long long v;

	if (vhd_parse_u64(val, min, max, &v) < 0)
		return vsock_cfg_fail(err, errlen, "%s '%s': expected %s from %u to %u",
				      name, val, what, min, max);
	*dst = (uint32_t)v;
	return 0;
}

int vsock_vm_set(struct vsock_vm *vm, const char *key, const char *val,
		 const char *where, char *err, size_t errlen)
{
	char k[32], nb[96];
	const char *name = label(where, key, nb, sizeof(nb));
	unsigned long long v;

	canon_key(key, k, sizeof(k));
	if (!strcmp(k, "guest_cid")) {
		if (vhd_parse_u64(val, VSOCK_CID_MIN, VSOCK_CID_MAX, &v) < 0)
			return vsock_cfg_fail(err, errlen,
				    "%s '%s': expected a CID from 3 to 4294967294 (0-2 are reserved, guests hold CIDs in 32 bits)",
				    name, val);
		vm->guest_cid = v;
		return 0;
	}
	if (!strcmp(k, "socket"))
		return set_string(&vm->socket, val, name, err, errlen);
	if (!strcmp(k, "uds_path"))
		return set_string(&vm->uds_path, val, name, err, errlen);
	if (!strcmp(k, "forward_cid")) {
		if (set_u32(&vm->forward_cid, val, 0, 0xfffffffeu, "a CID", name, err, errlen) < 0)
			return -1;
		vm->has_forward_cid = true;
		return 0;
	}
	if (!strcmp(k, "forward_listen")) {
		uint32_t *ports;
		unsigned n;
		if (vsock_parse_ports(val, &ports, &n) < 0)
			return vsock_cfg_fail(err, errlen,
				    "%s '%s': expected ports separated by '+', each 0..4294967295 (e.g. 9001+9002)",
				    name, val);
		free(vm->listen_ports);
		vm->listen_ports = ports;
		vm->n_listen = n;
		return 0;
	}
	if (!strcmp(k, "tx_buffer_size"))
		return set_u32(&vm->tx_buffer_size, val, 1, VSOCK_TX_BUFFER_MAX, "a number of bytes",
			       name, err, errlen);
	if (!strcmp(k, "queue_size"))
		return set_u32(&vm->queue_size, val, 1, VSOCK_QUEUE_SIZE_MAX, "a queue size",
			       name, err, errlen);
	if (!strcmp(k, "groups")) {
		char **names;
		unsigned n;
		if (vsock_parse_groups(val, &names, &n) < 0)
			return vsock_cfg_fail(err, errlen,
				    "%s '%s': expected non-empty group names separated by '+'",
				    name, val);
		for (unsigned i = 0; i < vm->n_groups; i++)
			free(vm->groups[i]);
		free(vm->groups);
		vm->groups = names;
		vm->n_groups = n;
		return 0;
	}
	return vsock_cfg_fail(err, errlen,
		    "%s: unknown key '%s' (keys: guest_cid, socket, uds_path, forward_cid, forward_listen, tx_buffer_size, queue_size, groups; spelt with '_' or '-')",
		    where ? where : "command line", key);
}

int vsock_vm_check(const struct vsock_vm *vm, const char *where, bool need_socket,
		   char *err, size_t errlen)
{
	if (need_socket && !vm->socket)
		return vsock_cfg_fail(err, errlen, "%s: the vhost-user socket is missing (socket)", where);
	if (vm->uds_path && (vm->has_forward_cid || vm->n_listen))
		return vsock_cfg_fail(err, errlen,
			    "%s: uds_path (Unix socket backend) and forward_cid/forward_listen (vsock backend) exclude each other",
			    where);
	if (!vm->uds_path && !vm->has_forward_cid)
		return vsock_cfg_fail(err, errlen, "%s: a host backend is missing: give uds_path, or forward_cid", where);
	return 0;
}

int vsock_vms_check(const struct vsock_vm *vms, unsigned n, char *err, size_t errlen)
{
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < i; j++) {
			if (vms[i].guest_cid == vms[j].guest_cid)
				return vsock_cfg_fail(err, errlen, "guest CID %llu is used by two VMs (VM %u and VM %u)",
					    (unsigned long long)vms[i].guest_cid, j + 1, i + 1);
			if (vms[i].socket && vms[j].socket && !strcmp(vms[i].socket, vms[j].socket))
				return vsock_cfg_fail(err, errlen, "socket %s is used by two VMs (VM %u and VM %u)",
					    vms[i].socket, j + 1, i + 1);
			if (vms[i].uds_path && vms[j].uds_path &&
			    !strcmp(vms[i].uds_path, vms[j].uds_path))
				return vsock_cfg_fail(err, errlen, "uds_path %s is used by two VMs (VM %u and VM %u)",
					    vms[i].uds_path, j + 1, i + 1);
		}
	return 0;
}

/* Fill defaults that depend on nothing but "not given". */
static int vm_finish_defaults(struct vsock_vm *vm)
{
	if (vm->n_groups == 0)
		return vsock_parse_groups(VSOCK_DEFAULT_GROUP, &vm->groups, &vm->n_groups);
	return 0;
}

int vsock_parse_vm(const char *spec, struct vsock_vm *vm, char *err, size_t errlen)
{
	char *copy, *s, *end;
	unsigned seen = 0;
	int r = -1;

	vsock_vm_defaults(vm);
	if (!spec)
		return vsock_cfg_fail(err, errlen, "--vm: missing value");
	/* Leading and trailing blanks are ignored, as the Rust parser does. */
	while (*spec == ' ' || *spec == '\t')
		spec++;
	copy = strdup(spec);
	if (!copy)
		return vsock_cfg_fail(err, errlen, "--vm: out of memory");
	end = copy + strlen(copy);
	while (end > copy && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n'))
		*--end = 0;
	if (!*copy) {
		vsock_cfg_fail(err, errlen, "--vm: empty value; expected key=value,... (e.g. socket=/tmp/vhost3.socket,uds-path=/tmp/vm3.vsock)");
		goto out;
	}
	/* strtok_r would merge empty items ("a=1,,b=2"); walk by hand. */
	s = copy;
	for (;;) {
		char *comma = strchr(s, ',');
		char *eq, k[32];
		unsigned bit;
		static const char *const keys[] = {
			"guest_cid", "socket", "uds_path", "forward_cid", "forward_listen",
			"tx_buffer_size", "queue_size", "groups",
		};

		if (comma)
			*comma = 0;
		eq = strchr(s, '=');
		if (!*s || !eq || eq == s) {
			vsock_cfg_fail(err, errlen, "--vm '%s': '%s' is not key=value", spec, s);
			goto out;
		}
		*eq = 0;
		canon_key(s, k, sizeof(k));
		for (bit = 0; bit < sizeof(keys) / sizeof(keys[0]); bit++)
			if (!strcmp(k, keys[bit]))
				break;
		if (bit < sizeof(keys) / sizeof(keys[0])) {
			if (seen & (1u << bit)) {
				vsock_cfg_fail(err, errlen, "--vm '%s': key '%s' given twice", spec, s);
				goto out;
			}
			seen |= 1u << bit;
		}
		if (vsock_vm_set(vm, s, eq + 1, "--vm", err, errlen) < 0)
			goto out;
		if (!comma)
			break;
		s = comma + 1;
	}
	if (vm_finish_defaults(vm) < 0) {
		vsock_cfg_fail(err, errlen, "--vm: out of memory");
		goto out;
	}
	r = vsock_vm_check(vm, "--vm", true, err, errlen);
out:
	free(copy);
	if (r < 0)
		vsock_vm_free(vm);
	return r;
}

void vsock_cli_init(struct vsock_cli *s)
{
	memset(s, 0, sizeof(*s));
	vsock_vm_defaults(&s->flags);
}

void vsock_cli_free(struct vsock_cli *s)
{
	vsock_vm_free(&s->flags);
	vsock_vms_free(s->vms, s->n_vms);
	free(s->config_path);
	memset(s, 0, sizeof(*s));
}

static const char *flag_name(int key)
{
	switch (key) {
	case VSOCK_OPT_GUEST_CID: return "--guest-cid";
	case VSOCK_OPT_SOCKET: return "--socket";
	case VSOCK_OPT_UDS_PATH: return "--uds-path";
	case VSOCK_OPT_FORWARD_CID: return "--forward-cid";
	case VSOCK_OPT_FORWARD_LISTEN: return "--forward-listen";
	case VSOCK_OPT_TX_BUFFER_SIZE: return "--tx-buffer-size";
	case VSOCK_OPT_QUEUE_SIZE: return "--queue-size";
	case VSOCK_OPT_GROUPS: return "--groups";
	case VSOCK_OPT_VM: return "--vm";
	case VSOCK_OPT_CONFIG: return "--config";
	}
	return "?";
}

int vsock_cli_option(struct vsock_cli *s, int key, const char *arg,
		     char *err, size_t errlen)
{
	static const char *const keys[] = {
		"guest-cid", "socket", "uds-path", "forward-cid", "forward-listen",
		"tx-buffer-size", "queue-size", "groups",
	};
	unsigned bit;

	if (key == VSOCK_OPT_VM) {
		struct vsock_vm vm, *grown;
		if (vsock_parse_vm(arg, &vm, err, errlen) < 0)
			return -1;
		grown = realloc(s->vms, (s->n_vms + 1) * sizeof(*grown));
		if (!grown) {
			vsock_vm_free(&vm);
			return vsock_cfg_fail(err, errlen, "--vm: out of memory");
		}
		s->vms = grown;
		s->vms[s->n_vms++] = vm;
		return 0;
	}
	if (key == VSOCK_OPT_CONFIG) {
		if (s->config_path)
			return vsock_cfg_fail(err, errlen, "--config given twice");
		if (!*arg)
			return vsock_cfg_fail(err, errlen, "--config: empty path");
		s->config_path = strdup(arg);
		return s->config_path ? 0 : vsock_cfg_fail(err, errlen, "--config: out of memory");
	}
	if (key < VSOCK_OPT_GUEST_CID || key > VSOCK_OPT_GROUPS)
		return vsock_cfg_fail(err, errlen, "unknown option");
	bit = (unsigned)(key - VSOCK_OPT_GUEST_CID);
	if (s->flags_given & (1u << bit))
		return vsock_cfg_fail(err, errlen, "%s given twice", flag_name(key));
	s->flags_given |= 1u << bit;
	return vsock_vm_set(&s->flags, keys[bit], arg, NULL, err, errlen);
}

static const char *first_flag(unsigned given)
{
	for (int k = VSOCK_OPT_GUEST_CID; k <= VSOCK_OPT_GROUPS; k++)
		if (given & (1u << (k - VSOCK_OPT_GUEST_CID)))
			return flag_name(k);
	return "?";
}

int vsock_cli_finish(struct vsock_cli *s, struct vsock_vm **out, unsigned *n,
		     char *err, size_t errlen)
{
	struct vsock_vm *vms = NULL;
	unsigned count = 0;

	if (s->config_path && s->n_vms)
		return vsock_cfg_fail(err, errlen, "--config and --vm exclude each other");
	if (s->flags_given && (s->config_path || s->n_vms))
		return vsock_cfg_fail(err, errlen,
			    "%s configures a single VM and excludes %s; put it into the %s",
			    first_flag(s->flags_given), s->config_path ? "--config" : "--vm",
			    s->config_path ? "configuration file" : "--vm values");
	if (s->config_path) {
		if (vsock_config_load(s->config_path, &vms, &count, err, errlen) < 0)
			return -1;
	} else if (s->n_vms) {
		vms = s->vms;
		count = s->n_vms;
		s->vms = NULL;
		s->n_vms = 0;
	} else {
		if (!s->flags_given)
			return vsock_cfg_fail(err, errlen,
				    "nothing to serve: give --socket with --uds-path (or --forward-cid), --vm, or --config");
		/* --socket may be replaced by the core's --fd: its absence is
		 * reported when the socket paths are asked for. */
		if (vsock_vm_check(&s->flags, "command line", false, err, errlen) < 0) {
			/* Name the flags, not the keys. */
			if (!s->flags.uds_path && !s->flags.has_forward_cid)
				vsock_cfg_fail(err, errlen, "missing --uds-path (or --forward-cid for the vsock backend)%s",
				     s->flags.n_listen ? ": --forward-listen needs --forward-cid" : "");
			else
				vsock_cfg_fail(err, errlen, "--uds-path and --forward-cid/--forward-listen exclude each other");
			return -1;
		}
		if (vm_finish_defaults(&s->flags) < 0)
			return vsock_cfg_fail(err, errlen, "out of memory");
		vms = calloc(1, sizeof(*vms));
		if (!vms)
			return vsock_cfg_fail(err, errlen, "out of memory");
		vms[0] = s->flags;
		vsock_vm_defaults(&s->flags);
		s->flags_given = 0;
		count = 1;
	}
	if (vsock_vms_check(vms, count, err, errlen) < 0) {
		vsock_vms_free(vms, count);
		return -1;
	}
	*out = vms;
	*n = count;
	return 0;
}
