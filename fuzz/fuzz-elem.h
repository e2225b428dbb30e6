/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * A request chain as a device sees it (struct vq_elem: readable and
 * writable iovecs), built from fuzz input: the shapes a hostile driver can
 * give (any number of pieces up to FUZZ_ELEM_MAX_IOV each way, any split,
 * empty pieces, any lengths up to FUZZ_ELEM_MAX_LEN per piece), which is
 * what the ring walker hands a device after its own checks.
 */
#ifndef VHD_FUZZ_ELEM_H
#define VHD_FUZZ_ELEM_H

#include <stdlib.h>
#include <sys/uio.h>

#include "fuzz/fuzz.h"
#include "vq/virtqueue.h"

#define FUZZ_ELEM_MAX_IOV 4
#define FUZZ_ELEM_MAX_LEN 4096

struct fuzz_elem {
	struct vq_elem e;
	struct iovec rd[FUZZ_ELEM_MAX_IOV], wr[FUZZ_ELEM_MAX_IOV];
};

/* Fill fe from the input: a shape byte (pieces each way), then per
 * readable piece a length and its bytes, per writable piece a length
 * (the buffer starts as 0xee, so reading unwritten bytes is visible). */
static inline int fuzz_elem_make(struct fuzz_elem *fe, struct fuzz_in *in)
{
	uint8_t shape = fuzz_u8(in);

	memset(fe, 0, sizeof(*fe));
	fe->e.rd = fe->rd;
	fe->e.wr = fe->wr;
	fe->e.n_rd = shape % (FUZZ_ELEM_MAX_IOV + 1);
	fe->e.n_wr = (shape >> 4) % (FUZZ_ELEM_MAX_IOV + 1);
	for (unsigned i = 0; i < fe->e.n_rd; i++) {
		size_t len = fuzz_u16(in) % (FUZZ_ELEM_MAX_LEN + 1);
		void *p = malloc(len ? len : 1);

		if (!p)
			return -1;
		fuzz_take(in, p, len);
		fe->rd[i] = (struct iovec){ p, len };
		fe->e.rd_len += (uint32_t)len;
	}
	for (unsigned i = 0; i < fe->e.n_wr; i++) {
		size_t len = fuzz_u16(in) % (FUZZ_ELEM_MAX_LEN + 1);
		void *p = malloc(len ? len : 1);

		if (!p)
			return -1;
		memset(p, 0xee, len);
		fe->wr[i] = (struct iovec){ p, len };
		fe->e.wr_len += (uint32_t)len;
	}
	return 0;
}

static inline void fuzz_elem_free(struct fuzz_elem *fe)
{
	for (unsigned i = 0; i < FUZZ_ELEM_MAX_IOV; i++) {
		free(fe->rd[i].iov_base);
		free(fe->wr[i].iov_base);
	}
	memset(fe, 0, sizeof(*fe));
}

#endif
