/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Unit tests of vhost-device-scsi's command set (src/devices/scsi/
 * scsi-cdb.c), in-process: every command's decoding, every refusal with
 * its own sense key / ASC / ASCQ, the parameter lists of MODE SELECT and
 * UNMAP, and REPORT SUPPORTED OPERATION CODES against the dispatcher's
 * table.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/scsi/scsi-cdb.h"

static struct scsi_lu LU;
static struct scsi_target TGT = { .nluns = 2 };
static uint8_t buf[SCSI_DATA_IN_MAX];

static int setup(void **state)
{
	(void)state;
	memset(&LU, 0, sizeof(LU));
	LU.nblocks = 2048;
	LU.block_size = 512;
	LU.unmap = true;
	LU.wce = true;
	strcpy(LU.serial, "disk0.img");
	LU.naa = 0x3123456789abcdefull;
	TGT.nluns = 2;
	return 0;
}

static void run_on(const struct scsi_lu *lu, enum scsi_target_lu which, const uint8_t *cdb,
		   size_t n, struct scsi_cmd *cmd)
{
	uint8_t c[SCSI_CDB_MAX] = { 0 };

	memcpy(c, cdb, n);
	memset(buf, 0xaa, sizeof(buf));
	scsi_decode(&TGT, which, lu, c, sizeof(c), cmd, buf);
}

#define RUN(cmd, ...) do { \
	const uint8_t cdb_[] = { __VA_ARGS__ }; \
	run_on(&LU, SCSI_LU_PRESENT, cdb_, sizeof(cdb_), (cmd)); \
} while (0)
#define RUN_ON(which, cmd, ...) do { \
	const uint8_t cdb_[] = { __VA_ARGS__ }; \
	run_on((which) == SCSI_LU_PRESENT ? &LU : NULL, (which), cdb_, sizeof(cdb_), (cmd)); \
} while (0)

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static void check_sense(const struct scsi_cmd *c, uint8_t key, uint16_t asc)
{
	assert_int_equal(c->status, SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(c->sense_len, SCSI_SENSE_LEN);
	assert_int_equal(c->sense[0], 0x70);
	assert_int_equal(c->sense[2], key);
	assert_int_equal(c->sense[7], SCSI_SENSE_LEN - 8);
	assert_int_equal(c->sense[12] << 8 | c->sense[13], asc);
	assert_int_equal(c->io, SCSI_IO_NONE);
	assert_int_equal(c->data_len, 0);
}

/* INVALID FIELD IN CDB pointing at byte (and bit, or -1). */
static void check_field(const struct scsi_cmd *c, unsigned byte, int bit)
{
	check_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(c->sense[15] & 0xc0, 0xc0);     /* SKSV, C/D */
	if (bit >= 0)
		assert_int_equal(c->sense[15] & 0x0f, 0x08 | bit);
	else
		assert_int_equal(c->sense[15] & 0x08, 0);
	assert_int_equal(c->sense[16] << 8 | c->sense[17], byte);
}

static void check_good(const struct scsi_cmd *c)
{
	assert_int_equal(c->status, SCSI_STATUS_GOOD);
}

static void test_unknown_and_short(void **state)
{
	struct scsi_cmd c;
	uint8_t cdb[4] = { 0 };

	(void)state;
	RUN(&c, 0xff);
	check_sense(&c, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
	RUN(&c, 0x04);                     /* FORMAT UNIT: not ours */
	check_sense(&c, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
	RUN(&c, 0x9e, 0x11);               /* SERVICE ACTION IN(16), unknown SA */
	check_field(&c, 1, 4);
	RUN(&c, 0xa3, 0x0d);               /* REPORT SUPPORTED TMFs: not offered */
	check_field(&c, 1, 4);
	scsi_decode(&TGT, SCSI_LU_PRESENT, &LU, cdb, sizeof(cdb), &c, buf);
	check_sense(&c, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
}

static void test_naca(void **state)
{
	struct scsi_cmd c;

	(void)state;
	RUN(&c, 0x00, 0, 0, 0, 0, 0x04);
	check_field(&c, 5, 2);
	RUN(&c, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0x04);
	check_field(&c, 9, 2);
	RUN(&c, 0x00, 0, 0, 0, 0, 0x01);   /* LINK (obsolete): ignored */
	check_good(&c);
}

static void test_absent_and_wlun(void **state)
{
	struct scsi_cmd c;

	(void)state;
	RUN_ON(SCSI_LU_ABSENT, &c, 0x00);
	check_sense(&c, SK_ILLEGAL_REQUEST, ASC_LUN_NOT_SUPPORTED);
	RUN_ON(SCSI_LU_ABSENT, &c, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	check_sense(&c, SK_ILLEGAL_REQUEST, ASC_LUN_NOT_SUPPORTED);
	RUN_ON(SCSI_LU_ABSENT, &c, 0x12, 0, 0, 0, 36, 0);
	check_good(&c);
	assert_int_equal(c.data_len, 36);
	assert_int_equal(c.data[0], 0x7f);
	RUN_ON(SCSI_LU_ABSENT, &c, 0x12, 1, 0x80, 0, 255, 0);
	check_sense(&c, SK_ILLEGAL_REQUEST, ASC_LUN_NOT_SUPPORTED);
	RUN_ON(SCSI_LU_ABSENT, &c, 0x03, 0, 0, 0, 18, 0);
	check_good(&c);
	assert_int_equal(c.data_len, 18);
	assert_int_equal(c.data[2], SK_ILLEGAL_REQUEST);
	assert_int_equal(c.data[12], 0x25);
	RUN_ON(SCSI_LU_ABSENT, &c, 0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0);
	check_good(&c);
	assert_int_equal(be32(c.data), 16);

	RUN_ON(SCSI_LU_WLUN_REPORT, &c, 0x00);
	check_good(&c);
	RUN_ON(SCSI_LU_WLUN_REPORT, &c, 0x12, 0, 0, 0, 36, 0);
	check_good(&c);
	assert_int_equal(c.data[0], 0x1e);
	RUN_ON(SCSI_LU_WLUN_REPORT, &c, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	check_sense(&c, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
	RUN_ON(SCSI_LU_WLUN_REPORT, &c, 0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0);
	check_good(&c);
	assert_int_equal(be32(c.data), 16);
}

static void test_request_sense(void **state)
{
	struct scsi_cmd c;

	(void)state;
	RUN(&c, 0x03, 0, 0, 0, 252, 0);
	check_good(&c);
	assert_int_equal(c.dir, SCSI_DIR_IN);
	assert_int_equal(c.xfer, 252);
	assert_int_equal(c.data_len, 18);
	assert_int_equal(c.data[0], 0x70);
	assert_int_equal(c.data[2], SK_NO_SENSE);
	RUN(&c, 0x03, 1, 0, 0, 252, 0);    /* DESC: descriptor format */
	assert_int_equal(c.data_len, 8);
	assert_int_equal(c.data[0], 0x72);
	RUN(&c, 0x03, 0, 0, 0, 4, 0);      /* cut to the allocation length */
	assert_int_equal(c.data_len, 4);
}

static void test_inquiry(void **state)
{
	struct scsi_cmd c;
	const uint8_t *d;

	(void)state;
	RUN(&c, 0x12, 0, 0, 0, 255, 0);
	check_good(&c);
	assert_int_equal(c.io, SCSI_IO_NONE);
	assert_int_equal(c.dir, SCSI_DIR_IN);
	assert_int_equal(c.xfer, 255);
	assert_int_equal(c.data_len, 96);
	d = c.data;
	assert_int_equal(d[0], 0);
	assert_int_equal(d[2], 6);
	assert_int_equal(d[3] & 0x0f, 2);
	assert_int_equal(d[4], 91);
	assert_true(d[7] & 0x02);          /* CMDQUE */
	assert_memory_equal(d + 8, "VHD-C   ", 8);
	RUN(&c, 0x12, 0, 0, 0, 36, 0);
	assert_int_equal(c.data_len, 36);
	RUN(&c, 0x12, 0, 0x80, 0, 255, 0);   /* page without EVPD */
	check_field(&c, 2, 7);
	RUN(&c, 0x12, 2, 0, 0, 255, 0);      /* CMDDT */
	check_field(&c, 1, 1);
	RUN(&c, 0x12, 1, 0x99, 0, 255, 0);   /* no such VPD page */
	check_field(&c, 2, 7);

	RUN(&c, 0x12, 1, 0x00, 0, 255, 0);
	check_good(&c);
	assert_int_equal(c.data_len, 10);
	assert_memory_equal(c.data + 4, "\x00\x80\x83\xb0\xb1\xb2", 6);
	RUN(&c, 0x12, 1, 0x80, 0, 255, 0);
	assert_int_equal(c.data[3], 9);
	assert_memory_equal(c.data + 4, "disk0.img", 9);
	RUN(&c, 0x12, 1, 0x83, 0, 255, 0);
	d = c.data;
	assert_int_equal(d[4] & 0x0f, 1);    /* binary */
	assert_int_equal(d[5] & 0x0f, 3);    /* NAA */
	assert_int_equal(be64(d + 8), LU.naa);
	assert_int_equal(d[16 + 1] & 0x0f, 1);       /* T10 vendor ID */
	assert_memory_equal(d + 20, "VHD-C   disk0.img", 17);
	assert_int_equal(c.data_len, 4 + 12 + 4 + 17);
	RUN(&c, 0x12, 1, 0xb0, 0, 255, 0);
	d = c.data;
	assert_int_equal(c.data_len, 64);
	assert_int_equal(be32(d + 8), SCSI_MAX_XFER_BYTES / 512);
	assert_int_equal(be32(d + 20), SCSI_MAX_UNMAP_BLOCKS);
	assert_int_equal(be32(d + 24), SCSI_UNMAP_MAX_DESC);
	assert_int_equal(be64(d + 36), SCSI_MAX_WS_BLOCKS);
	RUN(&c, 0x12, 1, 0xb1, 0, 255, 0);
	assert_int_equal(c.data[4] << 8 | c.data[5], 0);
	LU.solid_state = true;
	RUN(&c, 0x12, 1, 0xb1, 0, 255, 0);
	assert_int_equal(c.data[4] << 8 | c.data[5], 1);
	RUN(&c, 0x12, 1, 0xb2, 0, 255, 0);
	assert_int_equal(c.data[5], 0xe4);
	LU.read_only = true;
	RUN(&c, 0x12, 1, 0xb2, 0, 255, 0);
	assert_int_equal(c.data[5], 0);
	RUN(&c, 0x12, 1, 0xb0, 0, 255, 0);
	assert_int_equal(be32(c.data + 20), 0);
}

static void test_read_capacity(void **state)
{
	struct scsi_cmd c;

	(void)state;
	RUN(&c, 0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	check_good(&c);
	assert_int_equal(c.data_len, 8);
	assert_int_equal(be32(c.data), 2047);
	assert_int_equal(be32(c.data + 4), 512);
	RUN(&c, 0x25, 0, 0, 0, 0, 1, 0, 0, 0, 0);    /* LBA without PMI */
	check_field(&c, 2, -1);
	RUN(&c, 0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0);
	check_good(&c);
	assert_int_equal(c.data_len, 32);
	assert_int_equal(be64(c.data), 2047);
	assert_int_equal(be32(c.data + 8), 512);
	assert_int_equal(c.data[14], 0xc0);          /* LBPME, LBPRZ */
	LU.nblocks = 1ull << 33;
	LU.block_size = 4096;
	RUN(&c, 0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	assert_int_equal(be32(c.data), 0xffffffffu);  /* use READ CAPACITY(16) */
	assert_int_equal(be32(c.data + 4), 4096);
	RUN(&c, 0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12, 0, 0);
	assert_int_equal(c.data_len, 12);
	assert_int_equal(be64(c.data), (1ull << 33) - 1);
}

static void test_read_write(void **state)
{
	struct scsi_cmd c;

	(void)state;
	RUN(&c, 0x08, 0, 0, 5, 0, 0);                /* READ(6), 0 = 256 */
	check_good(&c);
	assert_int_equal(c.io, SCSI_IO_READ);
	assert_int_equal(c.dir, SCSI_DIR_IN);
	assert_int_equal(c.lba, 5);
	assert_int_equal(c.nblocks, 256);
	assert_int_equal(c.xfer, 256 * 512);
	RUN(&c, 0x28, 0, 0, 0, 0x01, 0x00, 0, 0, 8, 0);
	assert_int_equal(c.io, SCSI_IO_READ);
	assert_int_equal(c.lba, 256);
	assert_int_equal(c.nblocks, 8);
	RUN(&c, 0xa8, 0, 0, 0, 0, 9, 0, 0, 0, 2, 0, 0);
	assert_int_equal(c.lba, 9);
	assert_int_equal(c.nblocks, 2);
	RUN(&c, 0x88, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 3, 0, 0);
	assert_int_equal(c.lba, 7);
	assert_int_equal(c.nblocks, 3);
	RUN(&c, 0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_int_equal(c.io, SCSI_IO_WRITE);
	assert_int_equal(c.dir, SCSI_DIR_OUT);
	assert_false(c.fua);
	RUN(&c, 0x2a, 0x08, 0, 0, 0, 0, 0, 0, 1, 0);  /* FUA */
	assert_true(c.fua);
	RUN(&c, 0x8a, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0);
	assert_true(c.fua);
	LU.wce = false;                              /* write-through cache */
	RUN(&c, 0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_true(c.fua);
	RUN(&c, 0x28, 0, 0, 0, 0, 0, 0, 0, 0, 0);    /* 0 blocks: nothing */
	check_good(&c);
	assert_int_equal(c.io, SCSI_IO_NONE);
	assert_int_equal(c.dir, SCSI_DIR_NONE);
	/* The range: the last block is fine, one more is not. */
	RUN(&c, 0x28, 0, 0, 0, 0x07, 0xff, 0, 0, 1, 0);
	check_good(&c);
	RUN(&c, 0x28, 0, 0, 0, 0x07, 0xff, 0, 0, 2, 0);
	check_sense(&c, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	RUN(&c, 0x28, 0, 0, 0, 0x08, 0x01, 0, 0, 0, 0);
	check_sense(&c, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	RUN(&c, 0x88, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 2, 0, 0);
	check_sense(&c, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);   /* no wrap */
	RUN(&c, 0x28, 0x20, 0, 0, 0, 0, 0, 0, 1, 0);  /* RDPROTECT */
	check_field(&c, 1, 7);
	RUN(&c, 0x2a, 0x40, 0, 0, 0, 0, 0, 0, 1, 0);  /* WRPROTECT */
	check_field(&c, 1, 7);
	LU.nblocks = 1u << 20;
	RUN(&c, 0xa8, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x01, 0, 0);   /* above the limit */
	check_field(&c, 6, -1);
	RUN(&c, 0xa8, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x00, 0, 0);   /* at it */
	check_good(&c);
	LU.nblocks = 2048;
	LU.read_only = true;
	RUN(&c, 0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	check_sense(&c, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
	RUN(&c, 0x0a, 0, 0, 0, 1, 0);
	check_sense(&c, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
	RUN(&c, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	check_good(&c);
}

static void test_verify_sync(void **state)
{
	struct scsi_cmd c;

	(void)state;
	RUN(&c, 0x2f, 0, 0, 0, 0, 0, 0, 0, 4, 0);     /* BYTCHK 0: medium only */
	check_good(&c);
	assert_int_equal(c.io, SCSI_IO_NONE);
	RUN(&c, 0x2f, 0x02, 0, 0, 0, 0, 0, 0, 4, 0);
	assert_int_equal(c.io, SCSI_IO_VERIFY);
	assert_int_equal(c.bytchk, 1);
	assert_int_equal(c.xfer, 4 * 512);
	RUN(&c, 0x8f, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0);
	assert_int_equal(c.bytchk, 3);
	assert_int_equal(c.xfer, 512);
	RUN(&c, 0x2f, 0x04, 0, 0, 0, 0, 0, 0, 4, 0);
	check_field(&c, 1, 2);
	RUN(&c, 0x2f, 0, 0, 0, 0x08, 0, 0, 0, 4, 0);
	check_sense(&c, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);

	RUN(&c, 0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	check_good(&c);
	assert_int_equal(c.io, SCSI_IO_FLUSH);
	assert_int_equal(c.dir, SCSI_DIR_NONE);
	RUN(&c, 0x91, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	assert_int_equal(c.io, SCSI_IO_FLUSH);
	RUN(&c, 0x35, 0, 0, 0, 0x10, 0, 0, 0, 0, 0);
	check_sense(&c, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
}

static void test_write_same(void **state)
{
	struct scsi_cmd c;

	(void)state;
	RUN(&c, 0x93, 0x08, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 32, 0, 0);
	check_good(&c);
	assert_int_equal(c.io, SCSI_IO_WRITE_SAME);
	assert_true(c.ws_unmap);
	assert_int_equal(c.dir, SCSI_DIR_OUT);
	assert_int_equal(c.xfer, 512);
	assert_int_equal(c.lba, 16);
	assert_int_equal(c.nblocks, 32);
	RUN(&c, 0x93, 0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0);   /* NDOB */
	assert_true(c.ws_ndob);
	assert_int_equal(c.dir, SCSI_DIR_NONE);
	RUN(&c, 0x41, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_int_equal(c.io, SCSI_IO_WRITE_SAME);
	assert_false(c.ws_unmap);
	RUN(&c, 0x41, 0x01, 0, 0, 0, 0, 0, 0, 1, 0);  /* no NDOB in (10) */
	check_field(&c, 1, 0);
	RUN(&c, 0x41, 0, 0, 0, 0, 0, 0, 0, 0, 0);     /* WSNZ */
	check_field(&c, 7, -1);
	RUN(&c, 0x93, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0);   /* ANCHOR */
	check_field(&c, 1, 4);
	RUN(&c, 0x41, 0, 0, 0, 0x07, 0xff, 0, 0, 2, 0);
	check_sense(&c, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	LU.read_only = true;
	RUN(&c, 0x41, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	check_sense(&c, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
}

static void test_unmap(void **state)
{
	struct scsi_cmd c;
	uint64_t lba[4];
	uint32_t n[4];
	uint8_t p[8 + 3 * 16] = { 0, 38, 0, 32 };

	(void)state;
	RUN(&c, 0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0);
	check_good(&c);
	assert_int_equal(c.io, SCSI_IO_UNMAP);
	assert_int_equal(c.dir, SCSI_DIR_OUT);
	assert_int_equal(c.xfer, 24);
	RUN(&c, 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0);      /* empty list */
	check_good(&c);
	assert_int_equal(c.io, SCSI_IO_NONE);
	RUN(&c, 0x42, 1, 0, 0, 0, 0, 0, 0, 24, 0);     /* ANCHOR */
	check_field(&c, 1, 0);

	p[8 + 7] = 10;                 /* lba 10, 5 blocks */
	p[8 + 11] = 5;
	p[24 + 6] = 0x07;              /* lba 0x700, 0x100 blocks: to the end */
	p[24 + 10] = 0x01;
	assert_int_equal(scsi_unmap_parse(&LU, p, 8 + 32, lba, n, 4, &c), 2);
	assert_int_equal(lba[0], 10);
	assert_int_equal(n[0], 5);
	assert_int_equal(lba[1], 0x700);
	assert_int_equal(n[1], 0x100);
	/* An incomplete last descriptor is ignored (SBC-3 5.28.2). */
	p[3] = 40;
	assert_int_equal(scsi_unmap_parse(&LU, p, sizeof(p), lba, n, 4, &c), 2);
	p[3] = 32;
	assert_int_equal(scsi_unmap_parse(&LU, p, 0, lba, n, 4, &c), 0);
	assert_int_equal(scsi_unmap_parse(&LU, p, 4, lba, n, 4, &c), -1);
	check_sense(&c, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH);
	assert_int_equal(scsi_unmap_parse(&LU, p, 8 + 16, lba, n, 4, &c), -1);
	check_sense(&c, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH);
	assert_int_equal(scsi_unmap_parse(&LU, p, 8 + 32, lba, n, 1, &c), -1);
	check_sense(&c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM);
	assert_int_equal(c.sense[15] & 0x40, 0);    /* C/D 0: in the parameter list */
	p[24 + 11] = 1;                /* one block past the end */
	assert_int_equal(scsi_unmap_parse(&LU, p, 8 + 32, lba, n, 4, &c), -1);
	check_sense(&c, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	p[24 + 11] = 0;
	p[24 + 8] = 0x10;              /* above the maximum unmap count */
	assert_int_equal(scsi_unmap_parse(&LU, p, 8 + 32, lba, n, 4, &c), -1);
	check_sense(&c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM);

	LU.read_only = true;
	RUN(&c, 0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0);
	check_sense(&c, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
}

/* The caching page out of a MODE SENSE(6) answer. */
static const uint8_t *caching_page(const struct scsi_cmd *c)
{
	const uint8_t *d = c->data + 4 + c->data[3];

	assert_int_equal(d[0] & 0x3f, 0x08);
	assert_int_equal(d[1], 0x12);
	return d;
}

static void test_mode_sense(void **state)
{
	struct scsi_cmd c;

	(void)state;
	RUN(&c, 0x1a, 0, 0x08, 0, 255, 0);
	check_good(&c);
	assert_int_equal(c.data_len, 4 + 8 + 20);
	assert_int_equal(c.data[0], c.data_len - 1);
	assert_int_equal(c.data[2], 0x10);                /* DPOFUA, not WP */
	assert_int_equal(c.data[3], 8);
	assert_int_equal(be32(c.data + 4), 2048);
	assert_int_equal(be32(c.data + 8), 512);
	assert_int_equal(caching_page(&c)[2] & 0x04, 0x04);   /* WCE */
	RUN(&c, 0x1a, 0x08, 0x3f, 0, 255, 0);              /* DBD, all pages */
	assert_int_equal(c.data[3], 0);
	assert_int_equal(c.data_len, 4 + 12 + 20 + 12);
	assert_int_equal(c.data[4], 0x01);
	assert_int_equal(c.data[16], 0x08);
	assert_int_equal(c.data[36], 0x0a);
	RUN(&c, 0x1a, 0x08, 0x3f, 0xff, 255, 0);           /* all subpages */
	check_good(&c);
	RUN(&c, 0x1a, 0, 0x48, 0, 255, 0);                 /* changeable */
	assert_int_equal(caching_page(&c)[2], 0x04);
	RUN(&c, 0x1a, 0, 0xc8, 0, 255, 0);                 /* saved */
	check_sense(&c, SK_ILLEGAL_REQUEST, ASC_SAVING_PARAMS_UNSUPPORTED);
	RUN(&c, 0x1a, 0, 0x08, 1, 255, 0);
	check_field(&c, 3, -1);
	RUN(&c, 0x1a, 0, 0x1c, 0, 255, 0);
	check_field(&c, 2, 5);
	RUN(&c, 0x1a, 0, 0x08, 0, 10, 0);                  /* cut */
	assert_int_equal(c.data_len, 10);
	assert_int_equal(c.data[0], 31);

	/* MODE SENSE(10) with long LBA block descriptor. */
	RUN(&c, 0x5a, 0x10, 0x0a, 0, 0, 0, 0, 0, 255, 0);
	check_good(&c);
	assert_int_equal(c.data[0] << 8 | c.data[1], 8 + 16 + 12 - 2);
	assert_int_equal(c.data[4] & 1, 1);
	assert_int_equal(c.data[7], 16);
	assert_int_equal(be64(c.data + 8), 2048);
	assert_int_equal(be32(c.data + 20), 512);
	assert_int_equal(c.data[24], 0x0a);
	LU.read_only = true;
	LU.wce = false;
	RUN(&c, 0x1a, 0, 0x08, 0, 255, 0);
	assert_int_equal(c.data[2], 0x90);                 /* WP */
	assert_int_equal(caching_page(&c)[2] & 0x04, 0);
	RUN(&c, 0x5a, 0, 0x08, 0, 0, 0, 0, 0, 255, 0);
	assert_int_equal(c.data[3], 0x90);
}

static void test_mode_select(void **state)
{
	struct scsi_cmd c;
	uint8_t p[4 + 8 + 20];

	(void)state;
	RUN(&c, 0x15, 0x00, 0, 0, 24, 0);                  /* PF 0 */
	check_field(&c, 1, 4);
	RUN(&c, 0x15, 0x11, 0, 0, 24, 0);                  /* SP 1 */
	check_field(&c, 1, 0);
	RUN(&c, 0x15, 0x10, 0, 0, 0, 0);
	check_good(&c);
	assert_int_equal(c.io, SCSI_IO_NONE);
	RUN(&c, 0x55, 0x10, 0, 0, 0, 0, 0, 0, 32, 0);
	assert_int_equal(c.io, SCSI_IO_MODE_SELECT);
	assert_true(c.ms_ten);
	assert_int_equal(c.xfer, 32);

	/* What Linux's sd sends to turn the write cache off: MODE SENSE's
	 * caching page, WCE cleared, PS cleared, header zeroed. */
	RUN(&c, 0x1a, 0, 0x08, 0, 255, 0);
	memcpy(p, c.data, sizeof(p));
	p[0] = p[2] = 0;
	p[12 + 2] &= (uint8_t)~0x04;
	RUN(&c, 0x15, 0x10, 0, 0, sizeof(p), 0);
	assert_int_equal(c.io, SCSI_IO_MODE_SELECT);
	assert_int_equal(scsi_mode_select(&LU, p, sizeof(p), &c), 0);
	assert_false(LU.wce);
	p[12 + 2] |= 0x04;
	assert_int_equal(scsi_mode_select(&LU, p, sizeof(p), &c), 0);
	assert_true(LU.wce);
	/* No block descriptor, and the header alone are fine too. */
	p[3] = 0;
	memmove(p + 4, p + 12, 20);
	p[4 + 2] &= (uint8_t)~0x04;
	assert_int_equal(scsi_mode_select(&LU, p, 24, &c), 0);
	assert_false(LU.wce);
	assert_int_equal(scsi_mode_select(&LU, p, 4, &c), 0);
	assert_false(LU.wce);
	/* A field that cannot change: nothing applied. */
	p[4 + 2] |= 0x04 | 0x01;       /* RCD */
	assert_int_equal(scsi_mode_select(&LU, p, 24, &c), -1);
	check_sense(&c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM);
	assert_int_equal(c.sense[16] << 8 | c.sense[17], 6);
	assert_false(LU.wce);
	p[4 + 2] &= (uint8_t)~0x01;
	p[4 + 1] = 0x10;               /* wrong page length */
	assert_int_equal(scsi_mode_select(&LU, p, 24, &c), -1);
	check_sense(&c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM);
	p[4 + 1] = 0x12;
	assert_int_equal(scsi_mode_select(&LU, p, 20, &c), -1);   /* page cut short */
	check_sense(&c, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH);
	assert_int_equal(scsi_mode_select(&LU, p, 2, &c), -1);
	check_sense(&c, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH);
	p[4] = 0x1c;                   /* a page we do not have */
	assert_int_equal(scsi_mode_select(&LU, p, 24, &c), -1);
	check_sense(&c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM);
	p[4] = 0x48;                   /* SPF */
	assert_int_equal(scsi_mode_select(&LU, p, 24, &c), -1);
	check_sense(&c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM);
	/* A block descriptor with another block length. */
	memset(p, 0, sizeof(p));
	p[3] = 8;
	p[4 + 6] = 0x10;               /* 4096 */
	assert_int_equal(scsi_mode_select(&LU, p, 12, &c), -1);
	check_sense(&c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM);
	p[4 + 6] = 0x02;               /* 512: fine */
	assert_int_equal(scsi_mode_select(&LU, p, 12, &c), 0);
	p[3] = 5;                      /* odd descriptor length */
	assert_int_equal(scsi_mode_select(&LU, p, 12, &c), -1);
	check_sense(&c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM);
}

static void test_report_luns(void **state)
{
	struct scsi_cmd c;

	(void)state;
	RUN(&c, 0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0);
	check_good(&c);
	assert_int_equal(be32(c.data), 16);
	assert_int_equal(c.data_len, 24);
	assert_memory_equal(c.data + 8, "\0\0\0\0\0\0\0\0", 8);
	assert_memory_equal(c.data + 16, "\0\1\0\0\0\0\0\0", 8);
	RUN(&c, 0xa0, 0, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0);    /* with the W-LUN */
	assert_int_equal(be32(c.data), 24);
	assert_memory_equal(c.data + 24, "\xc1\x01\0\0\0\0\0\0", 8);
	RUN(&c, 0xa0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0);
	assert_int_equal(be32(c.data), 8);
	RUN(&c, 0xa0, 0, 0x10, 0, 0, 0, 0, 0, 1, 0, 0, 0);
	check_field(&c, 2, -1);
	RUN(&c, 0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0);
	check_field(&c, 6, -1);
	RUN(&c, 0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0);   /* cut: total still said */
	assert_int_equal(c.data_len, 16);
	assert_int_equal(be32(c.data), 16);
	TGT.nluns = 256 + 2;
	RUN(&c, 0xa0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0);
	assert_int_equal(be32(c.data), 258 * 8);
	assert_memory_equal(c.data + 8 + 255 * 8, "\0\xff", 2);
	assert_memory_equal(c.data + 8 + 256 * 8, "\x41\x00", 2);   /* flat */
	assert_memory_equal(c.data + 8 + 257 * 8, "\x41\x01", 2);
}

static void test_report_opcodes(void **state)
{
	struct scsi_cmd c;
	unsigned n = 0;

	(void)state;
	while (scsi_command_info(n))
		n++;
	assert_int_equal(n, scsi_ncommands);
	RUN(&c, 0xa3, 0x0c, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0);
	check_good(&c);
	assert_int_equal(be32(c.data), 8 * n);
	for (unsigned i = 0; i < n; i++) {
		const struct scsi_command_info *ci = scsi_command_info(i);
		const uint8_t *d = c.data + 4 + 8 * i;
		struct scsi_cmd one;

		assert_int_equal(d[0], ci->opcode);
		assert_int_equal(d[2] << 8 | d[3], ci->sa);
		assert_int_equal(d[5], ci->has_sa ? 1 : 0);
		assert_int_equal(d[6] << 8 | d[7], ci->cdb_len);
		/* Every listed command is decoded (not INVALID OPCODE). */
		{
			uint8_t cdb[SCSI_CDB_MAX] = { ci->opcode, (uint8_t)ci->sa };

			scsi_decode(&TGT, SCSI_LU_PRESENT, &LU, cdb, sizeof(cdb), &one, buf);
			if (one.status)
				assert_int_not_equal(one.sense[12] << 8 | one.sense[13],
						     ASC_INVALID_OPCODE);
		}
		/* The whole list was in buf: decode again for the next. */
		RUN(&c, 0xa3, 0x0c, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0);
	}
	RUN(&c, 0xa3, 0x0c, 0x80, 0, 0, 0, 0, 0, 0x10, 0, 0, 0);   /* RCTD */
	assert_int_equal(be32(c.data), 20 * n);
	assert_int_equal(c.data[4 + 5], 0x02);
	RUN(&c, 0xa3, 0x0c, 0x01, 0x28, 0, 0, 0, 0, 0x10, 0, 0, 0);
	check_good(&c);
	assert_int_equal(c.data[1], 0x03);
	assert_int_equal(c.data[2] << 8 | c.data[3], 10);
	assert_int_equal(c.data[4], 0x28);
	assert_int_equal(c.data[13], 0x04);
	assert_int_equal(c.data_len, 14);
	RUN(&c, 0xa3, 0x0c, 0x01, 0x04, 0, 0, 0, 0, 0x10, 0, 0, 0);   /* not supported */
	assert_int_equal(c.data[1], 0x01);
	RUN(&c, 0xa3, 0x0c, 0x01, 0x9e, 0, 0, 0, 0, 0x10, 0, 0, 0);   /* has SAs */
	check_field(&c, 2, -1);
	RUN(&c, 0xa3, 0x0c, 0x02, 0x28, 0, 0, 0, 0, 0x10, 0, 0, 0);   /* has none */
	check_field(&c, 2, -1);
	RUN(&c, 0xa3, 0x0c, 0x02, 0x9e, 0, 0x10, 0, 0, 0x10, 0, 0, 0);
	assert_int_equal(c.data[1], 0x03);
	assert_int_equal(c.data[5], 0x1f);
	RUN(&c, 0xa3, 0x0c, 0x02, 0x9e, 0, 0x11, 0, 0, 0x10, 0, 0, 0);
	assert_int_equal(c.data[1], 0x01);
	RUN(&c, 0xa3, 0x0c, 0x05, 0, 0, 0, 0, 0, 0x10, 0, 0, 0);
	check_field(&c, 2, 2);
}

static void test_simple_ones(void **state)
{
	struct scsi_cmd c;

	(void)state;
	RUN(&c, 0x00, 0, 0, 0, 0, 0);
	check_good(&c);
	assert_int_equal(c.dir, SCSI_DIR_NONE);
	RUN(&c, 0x1b, 0, 0, 0, 1, 0);
	check_good(&c);
	RUN(&c, 0x1e, 0, 0, 0, 1, 0);
	check_good(&c);
}

static void test_sense_errno(void **state)
{
	struct scsi_cmd c;

	(void)state;
	scsi_sense_errno(&c, ENOSPC, true);
	check_sense(&c, SK_DATA_PROTECT, ASC_SPACE_ALLOC_FAILED_WP);
	scsi_sense_errno(&c, -EIO, false);
	check_sense(&c, SK_MEDIUM_ERROR, ASC_UNRECOVERED_READ_ERROR);
	scsi_sense_errno(&c, EIO, true);
	check_sense(&c, SK_MEDIUM_ERROR, ASC_WRITE_ERROR);
	scsi_sense_errno(&c, EROFS, true);
	check_sense(&c, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
	scsi_sense_errno(&c, ENOMEM, true);
	check_sense(&c, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_unknown_and_short, setup),
		cmocka_unit_test_setup(test_naca, setup),
		cmocka_unit_test_setup(test_absent_and_wlun, setup),
		cmocka_unit_test_setup(test_request_sense, setup),
		cmocka_unit_test_setup(test_inquiry, setup),
		cmocka_unit_test_setup(test_read_capacity, setup),
		cmocka_unit_test_setup(test_read_write, setup),
		cmocka_unit_test_setup(test_verify_sync, setup),
		cmocka_unit_test_setup(test_write_same, setup),
		cmocka_unit_test_setup(test_unmap, setup),
		cmocka_unit_test_setup(test_mode_sense, setup),
		cmocka_unit_test_setup(test_mode_select, setup),
		cmocka_unit_test_setup(test_report_luns, setup),
		cmocka_unit_test_setup(test_report_opcodes, setup),
		cmocka_unit_test_setup(test_simple_ones, setup),
		cmocka_unit_test_setup(test_sense_errno, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
