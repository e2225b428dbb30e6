/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * What every fuzz target shares (docs/testing.md, "Fuzzing").
 *
 * A target defines LLVMFuzzerTestOneInput(data, size), libFuzzer's entry
 * point, and runs the real code of the tree on the bytes: no copy of a
 * parser, no mock but the host resource that cannot exist here.  The same
 * source builds two ways:
 *  - with --enable-fuzzing (clang): linked with -fsanitize=fuzzer, a
 *    libFuzzer binary (make fuzz);
 *  - otherwise: linked with fuzz/replay.c, a main() that feeds each file
 *    of the committed corpus to the target once (make check: every input
 *    that ever crashed stays a regression test).
 * A target must not keep state between inputs that changes what the next
 * input does, must release everything it took, and must not print for
 * valid inputs (libFuzzer runs millions).
 */
#ifndef VHD_FUZZ_H
#define VHD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A cursor over the input: takes bytes from the front; past the end it
 * yields zeros, so a target never reads outside the input. */
struct fuzz_in {
	const uint8_t *p;
	size_t left;
};

static inline void fuzz_take(struct fuzz_in *in, void *out, size_t n)
{
	size_t k = n < in->left ? n : in->left;

	memcpy(out, in->p, k);
	memset((uint8_t *)out + k, 0, n - k);
	in->p += k;
	in->left -= k;
}

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	uint8_t v;

	fuzz_take(in, &v, 1);
	return v;
}

static inline uint16_t fuzz_u16(struct fuzz_in *in)
{
	uint16_t v;

	fuzz_take(in, &v, 2);
	return v;
}

static inline uint32_t fuzz_u32(struct fuzz_in *in)
{
	uint32_t v;

	fuzz_take(in, &v, 4);
	return v;
}

#endif
