/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Copying between an iovec array (a request's buffers) and a flat buffer,
 * starting at a byte offset into the iovecs.  Never touches memory beyond
 * the iovecs or beyond len; returns how much was copied.
 */
#include "config.h"

#include <string.h>

#include "vq/virtqueue.h"

size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t offset,
		  void *buf, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t c;

		if (offset >= iov[i].iov_len) {
			offset -= iov[i].iov_len;
			continue;
		}
		c = iov[i].iov_len - offset;
		if (c > len - done)
			c = len - done;
		memcpy((char *)buf + done, (const char *)iov[i].iov_base + offset, c);
		done += c;
		offset = 0;
	}
	return done;
}

size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t offset,
		    const void *buf, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t c;

		if (offset >= iov[i].iov_len) {
			offset -= iov[i].iov_len;
			continue;
		}
		c = iov[i].iov_len - offset;
		if (c > len - done)
			c = len - done;
		memcpy((char *)iov[i].iov_base + offset, (const char *)buf + done, c);
		done += c;
		offset = 0;
	}
	return done;
}
