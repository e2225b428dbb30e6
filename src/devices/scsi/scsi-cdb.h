/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The SCSI command set of one logical unit: CDB decoding and the emulated
 * commands of SPC-4 and SBC-3 (a direct-access block device), independent
 * of virtio and of the host file, so it runs in-process in unit tests.
 *
 * Promises:
 *  - scsi_decode() reads the CDB bytes only (32 at most), checks every
 *    field it knows (reserved bits of the fields it uses, the LBA range,
 *    RDPROTECT/WRPROTECT, NACA) and says what the command needs: a
 *    data direction and length, and either an answer (status and sense or
 *    data-in, made here) or a host operation (read, write, flush, unmap,
 *    write same, verify) with its LBA range, for the caller to do.
 *  - Every refusal carries its own sense key / ASC / ASCQ in fixed format
 *    (SPC-4 4.5.3), with the field pointer for INVALID FIELD IN CDB.
 *  - The list of commands (scsi_commands) is the dispatcher's own table:
 *    REPORT SUPPORTED OPERATION CODES is generated from it, so a command
 *    cannot be served and not reported or the other way round.
 *  - Parameter lists (MODE SELECT, UNMAP) are parsed from a caller's copy
 *    of the data-out bytes and validated entirely before any change.
 * Not thread-safe per LU: the caller serialises calls that change a LU's
 * state (MODE SELECT's write cache bit).
 */
#ifndef VHD_SCSI_CDB_H
#define VHD_SCSI_CDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* SAM-5 status codes. */
#define SCSI_STATUS_GOOD            0x00
#define SCSI_STATUS_CHECK_CONDITION 0x02
#define SCSI_STATUS_BUSY            0x08
#define SCSI_STATUS_TASK_ABORTED    0x40

/* Sense keys (SPC-4 4.5.6). */
#define SK_NO_SENSE        0x0
#define SK_NOT_READY       0x2
#define SK_MEDIUM_ERROR    0x3
#define SK_HARDWARE_ERROR  0x4
#define SK_ILLEGAL_REQUEST 0x5
#define SK_UNIT_ATTENTION  0x6
#define SK_DATA_PROTECT    0x7
#define SK_ABORTED_COMMAND 0xb
#define SK_MISCOMPARE      0xe

/* Additional sense code and qualifier, as asc << 8 | ascq. */
#define ASC_NO_ADDITIONAL_SENSE       0x0000
#define ASC_WRITE_ERROR               0x0c00
#define ASC_UNRECOVERED_READ_ERROR    0x1100
#define ASC_MISCOMPARE_DURING_VERIFY  0x1d00
#define ASC_PARAMETER_LIST_LENGTH     0x1a00
#define ASC_INVALID_OPCODE            0x2000
#define ASC_LBA_OUT_OF_RANGE          0x2100
#define ASC_INVALID_FIELD_IN_CDB      0x2400
#define ASC_LUN_NOT_SUPPORTED         0x2500
#define ASC_INVALID_FIELD_IN_PARAM    0x2600
#define ASC_WRITE_PROTECTED           0x2700
#define ASC_SPACE_ALLOC_FAILED_WP     0x2707
#define ASC_SAVING_PARAMS_UNSUPPORTED 0x3900
#define ASC_INTERNAL_TARGET_FAILURE   0x4400

#define SCSI_SENSE_LEN     18     /* fixed format, what we return */
#define SCSI_CDB_MAX       32     /* virtio-scsi's default cdb_size */

/* What a logical unit is: its medium and settings (the caller's). */
struct scsi_lu {
	uint64_t nblocks;          /* capacity in logical blocks, >= 1 */
	uint32_t block_size;       /* 512 or 4096 */
	bool read_only;            /* WP: every write refused */
	bool solid_state;          /* VPD B1h: non-rotating medium */
	bool unmap;                /* thin provisioning: UNMAP, WRITE SAME UNMAP */
	bool wce;                  /* caching page WCE (MODE SELECT changes it) */
	char serial[33];           /* VPD 80h, printable ASCII, NUL-terminated */
	uint64_t naa;              /* VPD 83h NAA identifier, 8 bytes */
};

enum scsi_dir { SCSI_DIR_NONE, SCSI_DIR_IN, SCSI_DIR_OUT };

enum scsi_io {
	SCSI_IO_NONE,        /* answered by scsi_decode (data in `data`) */
	SCSI_IO_READ,        /* lba, nblocks -> data-in */
	SCSI_IO_WRITE,       /* data-out -> lba, nblocks; fua */
	SCSI_IO_FLUSH,       /* SYNCHRONIZE CACHE */
	SCSI_IO_VERIFY,      /* bytchk 1 or 3: compare data-out with the medium */
	SCSI_IO_WRITE_SAME,  /* one block of data-out (or zeros: ndob) repeated */
	SCSI_IO_UNMAP,       /* parameter list in data-out: scsi_unmap_parse */
	SCSI_IO_MODE_SELECT, /* parameter list in data-out: scsi_mode_select */
};

/* One decoded command. */
struct scsi_cmd {
	uint8_t opcode;
	enum scsi_dir dir;
	uint32_t xfer;             /* bytes the command transfers (alloc/param length) */
	enum scsi_io io;
	uint64_t lba;
	uint32_t nblocks;
	bool fua;                  /* write through (FUA, or WCE off) */
	uint8_t bytchk;            /* VERIFY */
	bool ws_unmap;             /* WRITE SAME: UNMAP bit */
	bool ws_ndob;              /* WRITE SAME(16): no data-out buffer */
	bool ms_ten;               /* MODE SELECT(10) */
	/* The answer (io == NONE or after the host operation). */
	uint8_t status;
	uint8_t sense[SCSI_SENSE_LEN];
	uint8_t sense_len;
	/* Data-in made by scsi_decode (io == NONE): data_len bytes, at most
	 * xfer (the allocation length) and at most the caller's capacity. */
	uint8_t *data;
	uint32_t data_len;
};

/* Which LU the command addresses. */
enum scsi_target_lu {
	SCSI_LU_PRESENT,     /* lu points to it */
	SCSI_LU_ABSENT,      /* a LUN we have no unit for */
	SCSI_LU_WLUN_REPORT, /* the REPORT LUNS well-known LUN (SPC-4 8.2) */
};

/* The LUN list of the target, for REPORT LUNS. */
struct scsi_target {
	unsigned nluns;            /* LUNs 0..nluns-1 exist */
};

/* Data-in generated by emulated commands is at most this long (INQUIRY,
 * MODE SENSE, REPORT LUNS of 256 LUNs, REPORT SUPPORTED OP CODES). */
#define SCSI_DATA_IN_MAX 4096

/*
 * Decode and check cdb[0..cdb_len) addressed to a LU of kind `which`
 * (lu: NULL unless SCSI_LU_PRESENT).  Fills *cmd.  With io == NONE the
 * answer is complete: status/sense, and data-in in buf (capacity
 * SCSI_DATA_IN_MAX) as cmd->data/data_len.  Otherwise the caller does
 * the host operation and reports errors with scsi_set_sense /
 * scsi_sense_errno.
 */
void scsi_decode(const struct scsi_target *tgt, enum scsi_target_lu which,
		 const struct scsi_lu *lu, const uint8_t *cdb, size_t cdb_len,
		 struct scsi_cmd *cmd, uint8_t *buf);

/* CHECK CONDITION with key/asc<<8|ascq, fixed format. */
void scsi_set_sense(struct scsi_cmd *cmd, uint8_t key, uint16_t asc_ascq);
/* ILLEGAL REQUEST, INVALID FIELD IN CDB, pointing at byte/bit. */
void scsi_invalid_field(struct scsi_cmd *cmd, unsigned byte, int bit);
/* The sense of a failed host operation (-errno from the file). */
void scsi_sense_errno(struct scsi_cmd *cmd, int err, bool writing);

/* UNMAP parameter list: up to max ranges into lba[]/len[], checked
 * against the LU.  Returns the number of ranges (>= 0), or -1 with the
 * sense set in cmd. */
#define SCSI_UNMAP_MAX_DESC 256
int scsi_unmap_parse(const struct scsi_lu *lu, const uint8_t *p, size_t len,
		     uint64_t *lba, uint32_t *nblk, unsigned max, struct scsi_cmd *cmd);

/* MODE SELECT parameter list: validated whole, then applied to *lu (the
 * WCE bit is the only changeable field).  0, or -1 with the sense set. */
int scsi_mode_select(struct scsi_lu *lu, const uint8_t *p, size_t len, struct scsi_cmd *cmd);

/* Most blocks one command may cover (VPD B0h limits). */
#define SCSI_MAX_XFER_BYTES   (8u << 20)
#define SCSI_MAX_WS_BLOCKS    (1u << 22)
#define SCSI_MAX_UNMAP_BLOCKS (1u << 22)

/* One entry of the dispatcher's table. */
struct scsi_command_info {
	uint8_t opcode;
	uint16_t sa;               /* service action, if has_sa */
	bool has_sa;
	uint8_t cdb_len;
	uint8_t usage[16];         /* CDB usage data (SPC-4 6.35.3): bits the device looks at */
	const char *name;
};
/* Entry i of the table (NULL past the end), for tests and tools. */
const struct scsi_command_info *scsi_command_info(unsigned i);
extern const unsigned scsi_ncommands;

#endif
