/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * SCSI commands of a direct-access block device (SPC-4, SBC-3): the
 * dispatcher table, the CDB checks and the emulated answers.  The host
 * operations (read, write, flush, unmap) are the caller's (scsi-io.c).
 */
#include "config.h"
#include "scsi-cdb.h"

#include <errno.h>
#include <string.h>

struct scsi_ctx {
	const struct scsi_target *tgt;
	enum scsi_target_lu which;
	const struct scsi_lu *lu;
	const uint8_t *cdb;
	struct scsi_cmd *cmd;
	uint8_t *buf;
};

/* ---- byte order ------------------------------------------------------ */

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

/* ---- sense ----------------------------------------------------------- */

void scsi_set_sense(struct scsi_cmd *cmd, uint8_t key, uint16_t asc_ascq)
{
	cmd->status = SCSI_STATUS_CHECK_CONDITION;
	cmd->io = SCSI_IO_NONE;
	cmd->data_len = 0;
	memset(cmd->sense, 0, sizeof(cmd->sense));
	/* Fixed format, current error (SPC-4 4.5.3). */
	cmd->sense[0] = 0x70;
	cmd->sense[2] = key & 0x0f;
	cmd->sense[7] = SCSI_SENSE_LEN - 8;
	cmd->sense[12] = (uint8_t)(asc_ascq >> 8);
	cmd->sense[13] = (uint8_t)asc_ascq;
	cmd->sense_len = SCSI_SENSE_LEN;
}

/* Sense-key specific field pointer (SPC-4 4.5.2.4.2): SKSV, C/D, BPV. */
static void field_pointer(struct scsi_cmd *cmd, bool in_cdb, unsigned byte, int bit)
{
	cmd->sense[15] = (uint8_t)(0x80 | (in_cdb ? 0x40 : 0) | (bit >= 0 ? 0x08 | bit : 0));
	put16(&cmd->sense[16], (uint16_t)byte);
}

void scsi_invalid_field(struct scsi_cmd *cmd, unsigned byte, int bit)
{
	scsi_set_sense(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	field_pointer(cmd, true, byte, bit);
}

static void invalid_param(struct scsi_cmd *cmd, unsigned byte)
{
	scsi_set_sense(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM);
	field_pointer(cmd, false, byte, -1);
}

void scsi_sense_errno(struct scsi_cmd *cmd, int err, bool writing)
{
	if (err < 0)
		err = -err;
	if (err == ENOSPC || err == EDQUOT)
		scsi_set_sense(cmd, SK_DATA_PROTECT, ASC_SPACE_ALLOC_FAILED_WP);
	else if (err == EROFS || err == EBADF || err == EPERM || err == EACCES)
		scsi_set_sense(cmd, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
	else if (err == ENOMEM)
		scsi_set_sense(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
	else
		scsi_set_sense(cmd, SK_MEDIUM_ERROR,
			       writing ? ASC_WRITE_ERROR : ASC_UNRECOVERED_READ_ERROR);
}

/* ---- helpers for handlers --------------------------------------------- */

/* Data-in of `len` bytes made in buf, cut to the allocation length. */
static void data_in(struct scsi_ctx *c, uint32_t len, uint32_t alloc)
{
	c->cmd->dir = SCSI_DIR_IN;
	c->cmd->xfer = alloc;
	c->cmd->data = c->buf;
	c->cmd->data_len = len < alloc ? len : alloc;
}

/* LBA range [lba, lba + n) inside the medium? */
static bool lba_ok(const struct scsi_lu *lu, uint64_t lba, uint64_t n)
{
	return lba <= lu->nblocks && n <= lu->nblocks - lba;
}

static void copy_padded(uint8_t *dst, const char *s, size_t n)
{
	size_t l = strlen(s);

	memset(dst, ' ', n);
	memcpy(dst, s, l < n ? l : n);
}

/* ---- INQUIRY (SPC-4 6.6, 7.8) ----------------------------------------- */

#define INQ_VENDOR  "VHD-C"
#define INQ_PRODUCT "vhost-user disk"
#define STD_INQ_LEN 96

static uint32_t std_inquiry(struct scsi_ctx *c, uint8_t *b)
{
	memset(b, 0, STD_INQ_LEN);
	if (c->which == SCSI_LU_ABSENT)
		b[0] = 0x7f;        /* qualifier 3, type 1Fh: no unit here */
	else if (c->which == SCSI_LU_WLUN_REPORT)
		b[0] = 0x1e;        /* well-known logical unit */
	b[2] = 0x06;                /* SPC-4 */
	b[3] = 0x12;                /* HISUP, response data format 2 */
	b[4] = STD_INQ_LEN - 5;
	b[7] = 0x02;                /* CMDQUE: tasks are queued */
	copy_padded(b + 8, INQ_VENDOR, 8);
	copy_padded(b + 16, INQ_PRODUCT, 16);
	copy_padded(b + 32, PACKAGE_VERSION, 4);
	put16(b + 58, 0x00a0);      /* SAM-5 */
	put16(b + 60, 0x0460);      /* SPC-4 */
	put16(b + 62, 0x04c0);      /* SBC-3 */
	return STD_INQ_LEN;
}

static const uint8_t vpd_pages[] = { 0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2 };

static int vpd_page(struct scsi_ctx *c, uint8_t page, uint8_t *b)
{
	const struct scsi_lu *lu = c->lu;
	uint32_t n = 4, blocks_4k = lu->block_size >= 4096 ? 1 : 4096 / lu->block_size;
	size_t sl = strlen(lu->serial);

	memset(b, 0, 64 + 2 * 64);
	b[1] = page;
	switch (page) {
	case 0x00:
		memcpy(b + 4, vpd_pages, sizeof(vpd_pages));
		n += sizeof(vpd_pages);
		break;
	case 0x80:          /* unit serial number */
		memcpy(b + 4, lu->serial, sl);
		n += (uint32_t)sl;
		break;
	case 0x83:          /* device identification */
		/* NAA, binary, associated with the LU. */
		b[n] = 0x01;
		b[n + 1] = 0x03;
		b[n + 3] = 8;
		put64(b + n + 4, lu->naa);
		n += 12;
		/* T10 vendor ID based, ASCII: vendor then serial. */
		b[n] = 0x02;
		b[n + 1] = 0x01;
		b[n + 3] = (uint8_t)(8 + sl);
		copy_padded(b + n + 4, INQ_VENDOR, 8);
		memcpy(b + n + 12, lu->serial, sl);
		n += 12 + (uint32_t)sl;
		break;
	case 0xb0:          /* block limits (SBC-3 6.5.3) */
		n = 64;
		b[4] = 0x01;    /* WSNZ: WRITE SAME of 0 blocks refused */
		put16(b + 6, (uint16_t)blocks_4k);  /* optimal granularity */
		put32(b + 8, SCSI_MAX_XFER_BYTES / lu->block_size);
		put32(b + 12, SCSI_MAX_XFER_BYTES / lu->block_size);
		if (lu->unmap && !lu->read_only) {
			put32(b + 20, SCSI_MAX_UNMAP_BLOCKS);
			put32(b + 24, SCSI_UNMAP_MAX_DESC);
			put32(b + 28, blocks_4k);   /* a file system block */
		}
		put64(b + 36, SCSI_MAX_WS_BLOCKS);
		break;
	case 0xb1:          /* block device characteristics (SBC-3 6.5.2) */
		n = 64;
		put16(b + 4, lu->solid_state ? 1 : 0);
		break;
	case 0xb2:          /* logical block provisioning (SBC-3 6.5.4) */
		n = 8;
		if (lu->unmap && !lu->read_only) {
			/* LBPU, LBPWS, LBPWS10, LBPRZ: a punched hole reads
			 * as zeros. */
			b[5] = 0x80 | 0x40 | 0x20 | 0x04;
			b[6] = 0x02;        /* thin provisioned */
		}
		break;
	default:
		return -1;
	}
	put16(b + 2, (uint16_t)(n - 4));
	return (int)n;
}

static void cmd_inquiry(struct scsi_ctx *c)
{
	const uint8_t *cdb = c->cdb;
	uint32_t alloc = be16(cdb + 3);
	int n;

	if (cdb[1] & 0x02) {            /* CMDDT, obsolete */
		scsi_invalid_field(c->cmd, 1, 1);
		return;
	}
	if (!(cdb[1] & 0x01)) {
		if (cdb[2]) {
			scsi_invalid_field(c->cmd, 2, 7);
			return;
		}
		data_in(c, std_inquiry(c, c->buf), alloc);
		return;
	}
	if (c->which == SCSI_LU_ABSENT) {
		scsi_set_sense(c->cmd, SK_ILLEGAL_REQUEST, ASC_LUN_NOT_SUPPORTED);
		return;
	}
	if (c->which == SCSI_LU_WLUN_REPORT) {
		if (cdb[2] != 0) {
			scsi_invalid_field(c->cmd, 2, 7);
			return;
		}
		memset(c->buf, 0, 5);
		c->buf[0] = 0x1e;
		c->buf[3] = 1;              /* page 00h lists itself */
		data_in(c, 5, alloc);
		return;
	}
	n = vpd_page(c, cdb[2], c->buf);
	if (n < 0) {
		scsi_invalid_field(c->cmd, 2, 7);
		return;
	}
	data_in(c, (uint32_t)n, alloc);
}

/* ---- simple ones -------------------------------------------------------- */

static void cmd_good(struct scsi_ctx *c)
{
	(void)c;
}

static void cmd_request_sense(struct scsi_ctx *c)
{
	bool desc = c->cdb[1] & 0x01;
	uint8_t key = 0, asc = 0;
	uint8_t *b = c->buf;

	/* Sense is returned with each CHECK CONDITION (autosense), so none
	 * is pending; an absent LUN says so here (SPC-4 6.39). */
	if (c->which == SCSI_LU_ABSENT) {
		key = SK_ILLEGAL_REQUEST;
		asc = ASC_LUN_NOT_SUPPORTED >> 8;
	}
	memset(b, 0, SCSI_SENSE_LEN);
	if (desc) {
		b[0] = 0x72;
		b[1] = key;
		b[2] = asc;
		data_in(c, 8, c->cdb[4]);
	} else {
		b[0] = 0x70;
		b[2] = key;
		b[7] = SCSI_SENSE_LEN - 8;
		b[12] = asc;
		data_in(c, SCSI_SENSE_LEN, c->cdb[4]);
	}
}

static void cmd_read_capacity10(struct scsi_ctx *c)
{
	uint64_t last = c->lu->nblocks - 1;

	if (!(c->cdb[8] & 0x01) && be32(c->cdb + 2)) {
		scsi_invalid_field(c->cmd, 2, -1);
		return;
	}
	put32(c->buf, last > 0xffffffffu ? 0xffffffffu : (uint32_t)last);
	put32(c->buf + 4, c->lu->block_size);
	data_in(c, 8, 8);
}

static void cmd_read_capacity16(struct scsi_ctx *c)
{
	uint8_t *b = c->buf;

	if (!(c->cdb[14] & 0x01) && be64(c->cdb + 2)) {
		scsi_invalid_field(c->cmd, 2, -1);
		return;
	}
	memset(b, 0, 32);
	put64(b, c->lu->nblocks - 1);
	put32(b + 8, c->lu->block_size);
	if (c->lu->unmap && !c->lu->read_only)
		b[14] = 0x80 | 0x40;        /* LBPME, LBPRZ */
	data_in(c, 32, be32(c->cdb + 10));
}

static void cmd_report_luns(struct scsi_ctx *c)
{
	uint32_t alloc = be32(c->cdb + 6), n = 8;
	uint8_t sel = c->cdb[2], *b = c->buf;
	bool ours = sel == 0x00 || sel == 0x02, wlun = sel == 0x01 || sel == 0x02;

	if (!ours && !wlun) {
		scsi_invalid_field(c->cmd, 2, -1);
		return;
	}
	if (alloc < 4) {
		scsi_invalid_field(c->cmd, 6, -1);
		return;
	}
	memset(b, 0, 8);
	for (unsigned l = 0; ours && l < c->tgt->nluns; l++, n += 8) {
		memset(b + n, 0, 8);
		/* SAM-5 4.7: peripheral addressing below 256, flat above. */
		b[n] = l < 256 ? 0 : (uint8_t)(0x40 | l >> 8);
		b[n + 1] = (uint8_t)l;
	}
	if (wlun) {
		memset(b + n, 0, 8);
		b[n] = 0xc1;
		b[n + 1] = 0x01;
		n += 8;
	}
	put32(b, n - 8);
	data_in(c, n, alloc);
}

/* ---- MODE SENSE / MODE SELECT (SPC-4 6.11-6.14, 7.5; SBC-3 6.4) -------- */

struct mode_page {
	uint8_t code;
	uint8_t len;                /* whole page, header included */
};

static const struct mode_page mode_pages[] = {
	{ 0x01, 12 },               /* read-write error recovery */
	{ 0x08, 20 },               /* caching */
	{ 0x0a, 12 },               /* control */
};
#define N_PAGES (sizeof(mode_pages) / sizeof(mode_pages[0]))

/* Page `p` for page control pc (0 current, 1 changeable, 2 default). */
static void mode_page(const struct scsi_lu *lu, const struct mode_page *p, int pc, uint8_t *b)
{
	memset(b, 0, p->len);
	b[0] = p->code;
	b[1] = (uint8_t)(p->len - 2);
	if (p->code == 0x08) {
		/* WCE: the only changeable bit of all pages. */
		if (pc == 1)
			b[2] = 0x04;
		else if (pc == 2 || (pc == 0 && lu->wce))
			b[2] = 0x04;
	} else if (p->code == 0x0a && pc != 1) {
		b[3] = 0x10;        /* queue algorithm modifier 1: unrestricted */
	}
}

static void cmd_mode_sense(struct scsi_ctx *c)
{
	const uint8_t *cdb = c->cdb;
	const struct scsi_lu *lu = c->lu;
	bool ten = cdb[0] == 0x5a, dbd = cdb[1] & 0x08, llbaa = ten && (cdb[1] & 0x10);
	int pc = cdb[2] >> 6;
	uint8_t page = cdb[2] & 0x3f, sub = cdb[3], *b = c->buf;
	uint32_t alloc = ten ? be16(cdb + 7) : cdb[4];
	uint32_t hdr = ten ? 8 : 4, bdl = dbd ? 0 : (llbaa ? 16 : 8), n;
	bool any = false;

	if (pc == 3) {
		scsi_set_sense(c->cmd, SK_ILLEGAL_REQUEST, ASC_SAVING_PARAMS_UNSUPPORTED);
		return;
	}
	if (sub != 0 && !(page == 0x3f && sub == 0xff)) {
		scsi_invalid_field(c->cmd, 3, -1);
		return;
	}
	memset(b, 0, hdr + bdl);
	n = hdr;
	if (bdl == 8) {
		put32(b + n, lu->nblocks > 0xffffffffu ? 0xffffffffu : (uint32_t)lu->nblocks);
		put32(b + n + 4, lu->block_size);   /* byte 4 is reserved: 0 */
	} else if (bdl == 16) {
		put64(b + n, lu->nblocks);
		put32(b + n + 12, lu->block_size);
	}
	n += bdl;
	for (unsigned i = 0; i < N_PAGES; i++)
		if (page == 0x3f || page == mode_pages[i].code) {
			mode_page(lu, &mode_pages[i], pc, b + n);
			n += mode_pages[i].len;
			any = true;
		}
	if (!any) {
		scsi_invalid_field(c->cmd, 2, 5);
		return;
	}
	/* WP, DPOFUA (SBC-3 6.4.2). */
	if (ten) {
		put16(b, (uint16_t)(n - 2));
		b[3] = (uint8_t)((lu->read_only ? 0x80 : 0) | 0x10);
		b[4] = llbaa && !dbd ? 0x01 : 0;
		put16(b + 6, (uint16_t)bdl);
	} else {
		b[0] = (uint8_t)(n - 1);
		b[2] = (uint8_t)((lu->read_only ? 0x80 : 0) | 0x10);
		b[3] = (uint8_t)bdl;
	}
	data_in(c, n, alloc);
}

static void cmd_mode_select(struct scsi_ctx *c)
{
	const uint8_t *cdb = c->cdb;
	bool ten = cdb[0] == 0x55;

	if (!(cdb[1] & 0x10)) {         /* PF: only the standard page format */
		scsi_invalid_field(c->cmd, 1, 4);
		return;
	}
	if (cdb[1] & 0x01) {            /* SP: nothing is saveable */
		scsi_invalid_field(c->cmd, 1, 0);
		return;
	}
	c->cmd->xfer = ten ? be16(cdb + 7) : cdb[4];
	if (!c->cmd->xfer)
		return;                 /* an empty list changes nothing */
	c->cmd->dir = SCSI_DIR_OUT;
	c->cmd->io = SCSI_IO_MODE_SELECT;
	c->cmd->ms_ten = ten;
}

int scsi_mode_select(struct scsi_lu *lu, const uint8_t *p, size_t len, struct scsi_cmd *cmd)
{
	bool ten = cmd->ms_ten, wce = lu->wce;
	size_t hdr = ten ? 8 : 4, bdl, off;
	uint8_t cur[32], mask[32];

	if (len < hdr) {
		scsi_set_sense(cmd, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH);
		return -1;
	}
	bdl = ten ? be16(p + 6) : p[3];
	if (bdl && bdl != (ten && (p[4] & 0x01) ? 16u : 8u)) {
		invalid_param(cmd, ten ? 6 : 3);
		return -1;
	}
	if (hdr + bdl > len) {
		scsi_set_sense(cmd, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH);
		return -1;
	}
	if (bdl) {
		/* The block length cannot change (SBC-3 6.4.4). */
		const uint8_t *d = p + hdr;
		uint32_t bl = bdl == 16 ? be32(d + 12) : (be32(d + 4) & 0xffffff);

		if (bl != lu->block_size) {
			invalid_param(cmd, (unsigned)hdr + (bdl == 16 ? 12 : 5));
			return -1;
		}
	}
	for (off = hdr + bdl; off < len;) {
		const struct mode_page *mp = NULL;
		size_t plen;

		if (len - off < 2) {
			scsi_set_sense(cmd, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH);
			return -1;
		}
		if (p[off] & 0x40) {    /* SPF: we have no subpages */
			invalid_param(cmd, (unsigned)off);
			return -1;
		}
		for (unsigned i = 0; i < N_PAGES; i++)
			if (mode_pages[i].code == (p[off] & 0x3f))
				mp = &mode_pages[i];
		if (!mp) {
			invalid_param(cmd, (unsigned)off);
			return -1;
		}
		plen = (size_t)p[off + 1] + 2;
		if (plen != mp->len) {
			invalid_param(cmd, (unsigned)off + 1);
			return -1;
		}
		if (len - off < plen) {
			scsi_set_sense(cmd, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH);
			return -1;
		}
		mode_page(lu, mp, 0, cur);
		mode_page(lu, mp, 1, mask);
		for (size_t i = 2; i < plen; i++)
			if ((p[off + i] ^ cur[i]) & ~mask[i]) {
				invalid_param(cmd, (unsigned)(off + i));
				return -1;
			}
		if (mp->code == 0x08)
			wce = p[off + 2] & 0x04;
		off += plen;
	}
	lu->wce = wce;
	return 0;
}

/* ---- block commands (SBC-3 5) ----------------------------------------- */

/* Common checks of a READ/WRITE/VERIFY: protection field, range, size. */
static bool rw_check(struct scsi_ctx *c, uint64_t lba, uint64_t n, unsigned len_byte,
		     bool has_prot)
{
	if (has_prot && (c->cdb[1] & 0xe0)) {  /* RD/WR/VRPROTECT: no PI */
		scsi_invalid_field(c->cmd, 1, 7);
		return false;
	}
	if (!lba_ok(c->lu, lba, n)) {
		scsi_set_sense(c->cmd, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
		return false;
	}
	if (n * c->lu->block_size > SCSI_MAX_XFER_BYTES) {
		scsi_invalid_field(c->cmd, len_byte, -1);
		return false;
	}
	return true;
}

static bool write_protected(struct scsi_ctx *c)
{
	if (!c->lu->read_only)
		return false;
	scsi_set_sense(c->cmd, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
	return true;
}

static void cmd_rw(struct scsi_ctx *c)
{
	const uint8_t *cdb = c->cdb;
	bool write = cdb[0] == 0x0a || cdb[0] == 0x2a || cdb[0] == 0xaa || cdb[0] == 0x8a;
	uint64_t lba;
	uint32_t n;
	unsigned len_byte;

	switch (cdb[0]) {
	case 0x08: case 0x0a:
		lba = (uint32_t)(cdb[1] & 0x1f) << 16 | be16(cdb + 2);
		n = cdb[4] ? cdb[4] : 256;  /* SBC-3 5.7: 0 means 256 */
		len_byte = 4;
		break;
	case 0x28: case 0x2a:
		lba = be32(cdb + 2);
		n = be16(cdb + 7);
		len_byte = 7;
		break;
	case 0xa8: case 0xaa:
		lba = be32(cdb + 2);
		n = be32(cdb + 6);
		len_byte = 6;
		break;
	default:
		lba = be64(cdb + 2);
		n = be32(cdb + 10);
		len_byte = 10;
		break;
	}
	if (!rw_check(c, lba, n, len_byte, cdb[0] != 0x08 && cdb[0] != 0x0a))
		return;
	if (write && write_protected(c))
		return;
	if (!n)
		return;                 /* nothing to transfer: GOOD */
	c->cmd->lba = lba;
	c->cmd->nblocks = n;
	c->cmd->xfer = n * c->lu->block_size;
	c->cmd->dir = write ? SCSI_DIR_OUT : SCSI_DIR_IN;
	c->cmd->io = write ? SCSI_IO_WRITE : SCSI_IO_READ;
	c->cmd->fua = write && ((cdb[0] != 0x0a && (cdb[1] & 0x08)) || !c->lu->wce);
}

static void cmd_verify(struct scsi_ctx *c)
{
	const uint8_t *cdb = c->cdb;
	bool sixteen = cdb[0] == 0x8f;
	uint64_t lba = sixteen ? be64(cdb + 2) : be32(cdb + 2);
	uint32_t n = sixteen ? be32(cdb + 10) : be16(cdb + 7);
	uint8_t bytchk = (cdb[1] >> 1) & 3;

	if (bytchk == 2) {
		scsi_invalid_field(c->cmd, 1, 2);
		return;
	}
	if (!rw_check(c, lba, n, sixteen ? 10 : 7, true))
		return;
	if (!n || !bytchk)
		return;                 /* medium verification: readable */
	c->cmd->lba = lba;
	c->cmd->nblocks = n;
	c->cmd->bytchk = bytchk;
	c->cmd->xfer = bytchk == 1 ? n * c->lu->block_size : c->lu->block_size;
	c->cmd->dir = SCSI_DIR_OUT;
	c->cmd->io = SCSI_IO_VERIFY;
}

static void cmd_sync_cache(struct scsi_ctx *c)
{
	const uint8_t *cdb = c->cdb;
	bool sixteen = cdb[0] == 0x91;
	uint64_t lba = sixteen ? be64(cdb + 2) : be32(cdb + 2);
	uint32_t n = sixteen ? be32(cdb + 10) : be16(cdb + 7);

	/* n = 0: to the end of the medium (SBC-3 5.22). */
	if (!lba_ok(c->lu, lba, n)) {
		scsi_set_sense(c->cmd, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
		return;
	}
	c->cmd->io = SCSI_IO_FLUSH;
}

static void cmd_write_same(struct scsi_ctx *c)
{
	const uint8_t *cdb = c->cdb;
	bool sixteen = cdb[0] == 0x93;
	uint64_t lba = sixteen ? be64(cdb + 2) : be32(cdb + 2);
	uint32_t n = sixteen ? be32(cdb + 10) : be16(cdb + 7);

	if (cdb[1] & 0xe0) {
		scsi_invalid_field(c->cmd, 1, 7);
		return;
	}
	if (cdb[1] & 0x10) {            /* ANCHOR: ANC_SUP is 0 */
		scsi_invalid_field(c->cmd, 1, 4);
		return;
	}
	if (!sixteen && (cdb[1] & 0x01)) {
		scsi_invalid_field(c->cmd, 1, 0);
		return;
	}
	if (n == 0 || n > SCSI_MAX_WS_BLOCKS) {     /* WSNZ is 1 */
		scsi_invalid_field(c->cmd, sixteen ? 10 : 7, -1);
		return;
	}
	if (!lba_ok(c->lu, lba, n)) {
		scsi_set_sense(c->cmd, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
		return;
	}
	if (write_protected(c))
		return;
	c->cmd->lba = lba;
	c->cmd->nblocks = n;
	c->cmd->ws_unmap = (cdb[1] & 0x08) && c->lu->unmap;
	c->cmd->ws_ndob = sixteen && (cdb[1] & 0x01);
	c->cmd->io = SCSI_IO_WRITE_SAME;
	c->cmd->fua = !c->lu->wce;
	if (!c->cmd->ws_ndob) {
		c->cmd->dir = SCSI_DIR_OUT;
		c->cmd->xfer = c->lu->block_size;
	}
}

static void cmd_unmap(struct scsi_ctx *c)
{
	if (c->cdb[1] & 0x01) {         /* ANCHOR */
		scsi_invalid_field(c->cmd, 1, 0);
		return;
	}
	if (!c->lu->unmap && !c->lu->read_only) {
		scsi_set_sense(c->cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
		return;
	}
	if (write_protected(c))
		return;
	c->cmd->xfer = be16(c->cdb + 7);
	if (!c->cmd->xfer)
		return;
	c->cmd->dir = SCSI_DIR_OUT;
	c->cmd->io = SCSI_IO_UNMAP;
}

int scsi_unmap_parse(const struct scsi_lu *lu, const uint8_t *p, size_t len,
		     uint64_t *lba, uint32_t *nblk, unsigned max, struct scsi_cmd *cmd)
{
	size_t bdl;
	unsigned n;

	if (len == 0)
		return 0;
	if (len < 8) {
		scsi_set_sense(cmd, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH);
		return -1;
	}
	bdl = be16(p + 2);
	if (bdl > len - 8) {
		scsi_set_sense(cmd, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH);
		return -1;
	}
	n = (unsigned)(bdl / 16);       /* an incomplete last one is ignored */
	if (n > max || n > SCSI_UNMAP_MAX_DESC) {
		invalid_param(cmd, 2);
		return -1;
	}
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *d = p + 8 + 16 * i;

		lba[i] = be64(d);
		nblk[i] = be32(d + 8);
		if (nblk[i] > SCSI_MAX_UNMAP_BLOCKS) {
			invalid_param(cmd, 8 + 16 * i + 8);
			return -1;
		}
		if (!lba_ok(lu, lba[i], nblk[i])) {
			scsi_set_sense(cmd, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
			return -1;
		}
	}
	return (int)n;
}

/* ---- REPORT SUPPORTED OPERATION CODES (SPC-4 6.35) --------------------- */

static void cmd_report_opcodes(struct scsi_ctx *c);

/* Who may be addressed: LUs that exist always; an absent LUN and the
 * REPORT LUNS well-known LUN only for the commands marked so (SPC-4 8.2). */
#define ON_ABSENT 0x1
#define ON_WLUN   0x2

struct command {
	struct scsi_command_info info;
	void (*exec)(struct scsi_ctx *c);
	unsigned on;
};

#define CTL 0x04        /* control byte: NACA is looked at (and refused) */
#define RW6   { 0, 0x1f, 0xff, 0xff, 0xff, CTL }
#define RW10  { 0, 0xf8, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, CTL }
#define RW12  { 0, 0xf8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, CTL }
#define RW16  { 0, 0xf8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, \
		0xff, 0xff, 0xff, 0xff, 0, CTL }

static const struct command commands[] = {
	{ { 0x00, 0, false, 6, { 0, 0, 0, 0, 0, CTL }, "TEST UNIT READY" }, cmd_good, ON_WLUN },
	{ { 0x03, 0, false, 6, { 0, 0x01, 0, 0, 0xff, CTL }, "REQUEST SENSE" },
	  cmd_request_sense, ON_ABSENT | ON_WLUN },
	{ { 0x08, 0, false, 6, RW6, "READ(6)" }, cmd_rw, 0 },
	{ { 0x0a, 0, false, 6, RW6, "WRITE(6)" }, cmd_rw, 0 },
	{ { 0x12, 0, false, 6, { 0, 0x03, 0xff, 0xff, 0xff, CTL }, "INQUIRY" },
	  cmd_inquiry, ON_ABSENT | ON_WLUN },
	{ { 0x15, 0, false, 6, { 0, 0x11, 0, 0, 0xff, CTL }, "MODE SELECT(6)" }, cmd_mode_select, 0 },
	{ { 0x1a, 0, false, 6, { 0, 0x08, 0xff, 0xff, 0xff, CTL }, "MODE SENSE(6)" },
	  cmd_mode_sense, 0 },
	{ { 0x1b, 0, false, 6, { 0, 0x01, 0, 0x0f, 0xf7, CTL }, "START STOP UNIT" }, cmd_good, 0 },
	{ { 0x1e, 0, false, 6, { 0, 0, 0, 0, 0x03, CTL }, "PREVENT ALLOW MEDIUM REMOVAL" },
	  cmd_good, 0 },
	{ { 0x25, 0, false, 10, { 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x01, CTL },
	    "READ CAPACITY(10)" }, cmd_read_capacity10, 0 },
	{ { 0x28, 0, false, 10, RW10, "READ(10)" }, cmd_rw, 0 },
	{ { 0x2a, 0, false, 10, RW10, "WRITE(10)" }, cmd_rw, 0 },
	{ { 0x2f, 0, false, 10, { 0, 0xe6, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, CTL },
	    "VERIFY(10)" }, cmd_verify, 0 },
	{ { 0x35, 0, false, 10, { 0, 0x02, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, CTL },
	    "SYNCHRONIZE CACHE(10)" }, cmd_sync_cache, 0 },
	{ { 0x41, 0, false, 10, { 0, 0xf8, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, CTL },
	    "WRITE SAME(10)" }, cmd_write_same, 0 },
	{ { 0x42, 0, false, 10, { 0, 0x01, 0, 0, 0, 0, 0, 0xff, 0xff, CTL }, "UNMAP" },
	  cmd_unmap, 0 },
	{ { 0x55, 0, false, 10, { 0, 0x11, 0, 0, 0, 0, 0, 0xff, 0xff, CTL }, "MODE SELECT(10)" },
	  cmd_mode_select, 0 },
	{ { 0x5a, 0, false, 10, { 0, 0x18, 0xff, 0xff, 0, 0, 0, 0xff, 0xff, CTL },
	    "MODE SENSE(10)" }, cmd_mode_sense, 0 },
	{ { 0x88, 0, false, 16, RW16, "READ(16)" }, cmd_rw, 0 },
	{ { 0x8a, 0, false, 16, RW16, "WRITE(16)" }, cmd_rw, 0 },
	{ { 0x8f, 0, false, 16, { 0, 0xe6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				 0xff, 0xff, 0xff, 0xff, 0, CTL }, "VERIFY(16)" }, cmd_verify, 0 },
	{ { 0x91, 0, false, 16, { 0, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				 0xff, 0xff, 0xff, 0xff, 0, CTL }, "SYNCHRONIZE CACHE(16)" },
	  cmd_sync_cache, 0 },
	{ { 0x93, 0, false, 16, { 0, 0xf9, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				 0xff, 0xff, 0xff, 0xff, 0, CTL }, "WRITE SAME(16)" },
	  cmd_write_same, 0 },
	{ { 0x9e, 0x10, true, 16, { 0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				   0xff, 0xff, 0xff, 0xff, 0x01, CTL }, "READ CAPACITY(16)" },
	  cmd_read_capacity16, 0 },
	{ { 0xa0, 0, false, 12, { 0, 0, 0xff, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, CTL },
	    "REPORT LUNS" }, cmd_report_luns, ON_ABSENT | ON_WLUN },
	{ { 0xa3, 0x0c, true, 12, { 0, 0x1f, 0x87, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				   0, CTL }, "REPORT SUPPORTED OPERATION CODES" },
	  cmd_report_opcodes, 0 },
	{ { 0xa8, 0, false, 12, RW12, "READ(12)" }, cmd_rw, 0 },
	{ { 0xaa, 0, false, 12, RW12, "WRITE(12)" }, cmd_rw, 0 },
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

const unsigned scsi_ncommands = N_COMMANDS;

const struct scsi_command_info *scsi_command_info(unsigned i)
{
	return i < N_COMMANDS ? &commands[i].info : NULL;
}

static bool opcode_has_sa(uint8_t op)
{
	for (unsigned i = 0; i < N_COMMANDS; i++)
		if (commands[i].info.opcode == op && commands[i].info.has_sa)
			return true;
	return false;
}

static const struct command *find_command(uint8_t op, uint16_t sa, bool match_sa)
{
	for (unsigned i = 0; i < N_COMMANDS; i++) {
		const struct scsi_command_info *ci = &commands[i].info;

		if (ci->opcode == op && (!ci->has_sa || !match_sa || ci->sa == sa))
			return &commands[i];
	}
	return NULL;
}

/* Timeouts descriptor (SPC-4 6.35.4): none advertised. */
static uint32_t timeouts_desc(uint8_t *b)
{
	memset(b, 0, 12);
	put16(b, 10);
	return 12;
}

static void cmd_report_opcodes(struct scsi_ctx *c)
{
	const uint8_t *cdb = c->cdb;
	bool rctd = cdb[2] & 0x80;
	uint8_t opt = cdb[2] & 0x07, op = cdb[3], *b = c->buf;
	uint16_t sa = be16(cdb + 4);
	uint32_t alloc = be32(cdb + 6), n;
	const struct command *cm;

	if (opt == 0) {
		n = 4;
		for (unsigned i = 0; i < N_COMMANDS; i++) {
			const struct scsi_command_info *ci = &commands[i].info;

			memset(b + n, 0, 8);
			b[n] = ci->opcode;
			put16(b + n + 2, ci->sa);
			b[n + 5] = (uint8_t)((rctd ? 0x02 : 0) | (ci->has_sa ? 0x01 : 0));
			put16(b + n + 6, ci->cdb_len);
			n += 8;
			if (rctd)
				n += timeouts_desc(b + n);
		}
		put32(b, n - 4);
		data_in(c, n, alloc);
		return;
	}
	if (opt > 3 || (opt == 1 && opcode_has_sa(op)) || (opt == 2 && !opcode_has_sa(op))) {
		scsi_invalid_field(c->cmd, 2, opt > 3 ? 2 : -1);
		return;
	}
	cm = find_command(op, sa, opt != 1);
	memset(b, 0, 4);
	if (!cm) {
		b[1] = 0x01;            /* not supported */
		data_in(c, 4, alloc);
		return;
	}
	b[1] = (uint8_t)((rctd ? 0x80 : 0) | 0x03);     /* supported, conforming */
	put16(b + 2, cm->info.cdb_len);
	memcpy(b + 4, cm->info.usage, cm->info.cdb_len);
	b[4] = cm->info.opcode;
	if (cm->info.has_sa)
		b[5] |= (uint8_t)(cm->info.sa & 0x1f);
	n = 4u + cm->info.cdb_len;
	if (rctd)
		n += timeouts_desc(b + n);
	data_in(c, n, alloc);
}

/* ---- the dispatcher ----------------------------------------------------- */

void scsi_decode(const struct scsi_target *tgt, enum scsi_target_lu which,
		 const struct scsi_lu *lu, const uint8_t *cdb, size_t cdb_len,
		 struct scsi_cmd *cmd, uint8_t *buf)
{
	struct scsi_ctx c = { tgt, which, lu, cdb, cmd, buf };
	const struct command *cm;

	memset(cmd, 0, sizeof(*cmd));
	cmd->status = SCSI_STATUS_GOOD;
	if (cdb_len < 6) {
		scsi_set_sense(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
		return;
	}
	cmd->opcode = cdb[0];
	cm = find_command(cdb[0], cdb[1] & 0x1f, true);
	if (!cm && opcode_has_sa(cdb[0])) {
		scsi_invalid_field(cmd, 1, 4);      /* unknown service action */
		return;
	}
	if (!cm || cm->info.cdb_len > cdb_len) {
		scsi_set_sense(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
		return;
	}
	if ((which == SCSI_LU_ABSENT && !(cm->on & ON_ABSENT)) ||
	    (which == SCSI_LU_WLUN_REPORT && !(cm->on & ON_WLUN))) {
		if (which == SCSI_LU_ABSENT)
			scsi_set_sense(cmd, SK_ILLEGAL_REQUEST, ASC_LUN_NOT_SUPPORTED);
		else
			scsi_set_sense(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
		return;
	}
	if (cdb[cm->info.cdb_len - 1] & 0x04) {    /* NACA: not supported */
		scsi_invalid_field(cmd, cm->info.cdb_len - 1u, 2);
		return;
	}
	cm->exec(&c);
}
