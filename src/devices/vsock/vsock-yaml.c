/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * vhost-device-vsock --config FILE, read with libyaml:
 *
 *   vms:
 *     - guest_cid: 4
 *       socket: /tmp/vhost4.socket
 *       uds_path: /tmp/vm4.vsock
 *       tx_buffer_size: 65536
 *       queue_size: 1024
 *       groups: group1+group2        # or a list: [group1, group2]
 *     - guest-cid: 5                 # '-' spellings are accepted too
 *       socket: /tmp/vhost5.socket
 *       forward-cid: 1
 *       forward-listen: 9001+9002    # or a number, or a list
 *
 * Stricter than the Rust backend on purpose: unknown keys (top level or in
 * a VM), duplicate keys and non-scalar values are errors naming the file
 * and line, where serde would ignore a misspelt key and run with a default.
 */
#include "config.h"
#include "devices/vsock/vsock-config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_LIBYAML
#include <yaml.h>

/* The scalar's text as a C string (NULL if it holds a NUL byte). */
static char *scalar_dup(const yaml_node_t *n)
{
	size_t len = n->data.scalar.length;

	if (memchr(n->data.scalar.value, 0, len))
		return NULL;
	return strndup((const char *)n->data.scalar.value, len);
}

/* A value: a scalar, or (groups, forward_listen) a sequence of scalars
 * joined with '+'. */
static char *value_text(yaml_document_t *doc, const yaml_node_t *n)
{
	char *out = NULL;
	size_t len = 0;

	if (n->type == YAML_SCALAR_NODE)
		return scalar_dup(n);
	if (n->type != YAML_SEQUENCE_NODE)
		return NULL;
	for (yaml_node_item_t *it = n->data.sequence.items.start;
	     it < n->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(doc, *it);
		char *s, *grown;
		size_t sl;

		if (!item || item->type != YAML_SCALAR_NODE)
			goto bad;
		s = scalar_dup(item);
		if (!s)
			goto bad;
		sl = strlen(s);
		grown = realloc(out, len + sl + 2);
		if (!grown) {
			free(s);
			goto bad;
		}
		out = grown;
		if (len)
			out[len++] = '+';
		memcpy(out + len, s, sl + 1);
		len += sl;
		free(s);
	}
	/* An empty list gives "", which the key's parser rejects. */
	return out ? out : strdup("");
bad:
	free(out);
	return NULL;
}

static int load_vm(const char *path, yaml_document_t *doc, const yaml_node_t *map,
		   struct vsock_vm *vm, char *err, size_t errlen)
{
	char where[512];
	unsigned long line = map->start_mark.line + 1;

	vsock_vm_defaults(vm);
	if (map->type != YAML_MAPPING_NODE)
		return vsock_cfg_fail(err, errlen, "%s:%lu: each item of 'vms' must be a mapping of keys to values",
			    path, line);
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		yaml_node_t *v = yaml_document_get_node(doc, p->value);
		char *key, *val;
		int r;

		if (!k || !v || k->type != YAML_SCALAR_NODE)
			return vsock_cfg_fail(err, errlen, "%s:%lu: keys must be plain names", path, line);
		line = k->start_mark.line + 1;
		snprintf(where, sizeof(where), "%s:%lu", path, line);
		key = scalar_dup(k);
		if (!key)
			return vsock_cfg_fail(err, errlen, "%s: bad key", where);
		/* A key given twice, possibly in both spellings. */
		for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
			yaml_node_t *k2 = yaml_document_get_node(doc, q->key);
			char *o = k2 && k2->type == YAML_SCALAR_NODE ? scalar_dup(k2) : NULL;
			bool same = o && strlen(o) == strlen(key);
			for (size_t i = 0; same && key[i]; i++)
				same = (key[i] == '-' ? '_' : key[i]) == (o[i] == '-' ? '_' : o[i]);
			free(o);
			if (same) {
				vsock_cfg_fail(err, errlen, "%s: key '%s' given twice in one VM", where, key);
				free(key);
				return -1;
			}
		}
		val = value_text(doc, v);
		if (!val) {
			vsock_cfg_fail(err, errlen, "%s: %s: expected a value (a scalar%s)", where, key,
			     !strcmp(key, "groups") || !strncmp(key, "forward", 7) ? " or a list of scalars" : "");
			free(key);
			return -1;
		}
		r = vsock_vm_set(vm, key, val, where, err, errlen);
		free(key);
		free(val);
		if (r < 0)
			return -1;
	}
	if (vm->n_groups == 0 &&
	    vsock_parse_groups(VSOCK_DEFAULT_GROUP, &vm->groups, &vm->n_groups) < 0)
		return vsock_cfg_fail(err, errlen, "%s: out of memory", path);
	snprintf(where, sizeof(where), "%s:%lu", path, (unsigned long)map->start_mark.line + 1);
	return vsock_vm_check(vm, where, true, err, errlen);
}

int vsock_config_load(const char *path, struct vsock_vm **out, unsigned *n,
		      char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root, *vms_node = NULL;
	struct vsock_vm *vms = NULL;
	unsigned count = 0;
	FILE *f;
	int r = -1;

	f = fopen(path, "r");
	if (!f)
		return vsock_cfg_fail(err, errlen, "--config %s: %s", path, strerror(errno));
	if (!yaml_parser_initialize(&parser)) {
		fclose(f);
		return vsock_cfg_fail(err, errlen, "--config %s: out of memory", path);
	}
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		vsock_cfg_fail(err, errlen, "%s:%lu: YAML error: %s", path,
		     (unsigned long)parser.problem_mark.line + 1,
		     parser.problem ? parser.problem : "unknown");
		yaml_parser_delete(&parser);
		fclose(f);
		return -1;
	}
	root = yaml_document_get_root_node(&doc);
	if (!root) {
		vsock_cfg_fail(err, errlen, "%s: empty file; expected a 'vms:' list", path);
		goto out;
	}
	if (root->type != YAML_MAPPING_NODE) {
		vsock_cfg_fail(err, errlen, "%s:%lu: expected a mapping with a 'vms:' list", path,
		     (unsigned long)root->start_mark.line + 1);
		goto out;
	}
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
	     p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&doc, p->key);
		unsigned long line = k ? k->start_mark.line + 1 : 0;

		if (!k || k->type != YAML_SCALAR_NODE || k->data.scalar.length != 3 ||
		    memcmp(k->data.scalar.value, "vms", 3)) {
			vsock_cfg_fail(err, errlen, "%s:%lu: unknown top-level key (the file holds one key, 'vms')",
			     path, line);
			goto out;
		}
		if (vms_node) {
			vsock_cfg_fail(err, errlen, "%s:%lu: 'vms' given twice", path, line);
			goto out;
		}
		vms_node = yaml_document_get_node(&doc, p->value);
	}
	if (!vms_node) {
		vsock_cfg_fail(err, errlen, "%s: no 'vms:' list", path);
		goto out;
	}
	if (vms_node->type != YAML_SEQUENCE_NODE ||
	    vms_node->data.sequence.items.top == vms_node->data.sequence.items.start) {
		vsock_cfg_fail(err, errlen, "%s:%lu: 'vms' must be a non-empty list of VMs", path,
		     (unsigned long)vms_node->start_mark.line + 1);
		goto out;
	}
	for (yaml_node_item_t *it = vms_node->data.sequence.items.start;
	     it < vms_node->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(&doc, *it);
		struct vsock_vm *grown = realloc(vms, (count + 1) * sizeof(*vms));

		if (!grown) {
			vsock_cfg_fail(err, errlen, "%s: out of memory", path);
			goto out;
		}
		vms = grown;
		if (!item) {
			vsock_cfg_fail(err, errlen, "%s: bad VM entry", path);
			goto out;
		}
		if (load_vm(path, &doc, item, &vms[count], err, errlen) < 0) {
			vsock_vm_free(&vms[count]);
			goto out;
		}
		count++;
	}
	*out = vms;
	*n = count;
	vms = NULL;
	count = 0;
	r = 0;
out:
	vsock_vms_free(vms, count);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(f);
	return r;
}

#else /* !HAVE_LIBYAML */

int vsock_config_load(const char *path, struct vsock_vm **out, unsigned *n,
		      char *err, size_t errlen)
{
	snprintf(err, errlen, "--config %s: this build has no YAML support (install libyaml-dev and rebuild)",
		 path);
	return -1;
}

#endif
