/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Copying between an iovec array (a request's buffers) and a flat buffer,
 * starting at a byte offset into the iovecs.  Never touches memory beyond
 * the iovecs or beyond len; returns how much was copied.
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "vq/virtqueue.h"

/* The walk both directions share: to_buf copies iovecs -> buf, else
 * buf -> iovecs. */
static size_t iov_copy(const struct iovec *iov, unsigned n, size_t offset,
		       char *buf, size_t len, bool to_buf)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		char *part = iov[i].iov_base;
		size_t c;

		if (offset >= iov[i].iov_len) {
			offset -= iov[i].iov_len;
			continue;
		}
		c = iov[i].iov_len - offset;
		if (c > len - done)
			c = len - done;
		if (to_buf)
			memcpy(buf + done, part + offset, c);
		else
			memcpy(part + offset, buf + done, c);
		done += c;
		offset = 0;
	}
	return done;
}

size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t offset,
		  void *buf, size_t len)
{
	return iov_copy(iov, n, offset, buf, len, true);
}

size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t offset,
		    const void *buf, size_t len)
{
	/* buf is only read in this direction. */
	return iov_copy(iov, n, offset, (char *)buf, len, false);
}
