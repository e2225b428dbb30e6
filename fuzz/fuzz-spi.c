/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Fuzz target: virtio-spi requests (virtio 1.4, "SPI Controller Device")
 * through the device's real request path, spi_handle_request() (spi-req.c:
 * head parsing, every parameter check, the transfer, rx and result written
 * back), on the simulated loopback device (spi-host.c).  The input is a
 * sequence of request chains (fuzz-elem.h).
 */
#include "config.h"
#include "fuzz/fuzz.h"
#include "fuzz/fuzz-elem.h"

#include "log.h"
#include "devices/spi/spi-host.h"
#include "devices/spi/spi-req.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct spi_host *host;
	struct fuzz_in in = { data, size };
	struct fuzz_elem fe;
	char err[256];

	vhd_log_set_level(VHD_LOG_ERROR);
	if (!host && spi_host_open("loopback", &spi_sys_real, &host, err, sizeof(err)) != 0)
		abort();
	while (in.left) {
		if (fuzz_elem_make(&fe, &in) == 0) {
			uint32_t used = spi_handle_request(host, &fe.e);

			/* Never more than the driver offered (virtio 2.7.8). */
			if (used > fe.e.wr_len)
				abort();
		}
		fuzz_elem_free(&fe);
	}
	return 0;
}
