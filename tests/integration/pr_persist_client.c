/*
 * Persistent reservation steps for tests/integration/pr-persist.sh (built
 * only when libiscsi-dev is there):
 *
 *   pr_persist_client URL STEP
 *
 * Logs in to URL (iscsi://HOST:PORT/IQN/LUN) always as the same I_T nexus
 * (fixed initiator name and ISID, so a restarted target can match its
 * restored registrations to us) and runs STEP:
 *   register-aptpl  REGISTER AND IGNORE EXISTING KEY (APTPL=1), RESERVE
 *                   Write Exclusive; REPORT CAPABILITIES: PTPL_C=1, PTPL_A=1
 *   register-plain  the same with APTPL=0; PTPL_A=0
 *   check-reserved  READ KEYS has our key, READ RESERVATION is ours (WE);
 *                   then REGISTER (not IGNORE) quoting our key with APTPL=0:
 *                   GOOD only if the target knows this nexus as registered;
 *                   this also ends persistence
 *   check-empty     READ KEYS empty, no reservation
 *   aptpl-refused   REGISTER with APTPL=1 -> ILLEGAL REQUEST, INVALID FIELD
 *                   IN PARAMETER LIST (26h/00h); PTPL_C=0
 * Exit 0 if the step holds, 1 otherwise; says why on stderr.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define INITIATOR "iqn.2026-11.org.uscst:pr-persist-client"
#define ISID_RANDOM 0x5a17e5u
#define ISID_QUALIFIER 0x0042u
#define KEY 0x00000000abcdef01ull
#define MAX_CLEAR_TURS 8
#define PR_IN_ALLOC 4096

static int failed(const char *what, struct iscsi_context *iscsi)
{
	fprintf(stderr, "pr_persist_client: %s%s%s\n", what, iscsi ? ": " : "",
		iscsi ? iscsi_get_error(iscsi) : "");
	return 0;
}

/* The power-on / nexus loss unit attentions would fail the first PR command. */
static int clear_uas(struct iscsi_context *iscsi, int lun)
{
	for (int i = 0; i < MAX_CLEAR_TURS; i++) {
		struct scsi_task *t = iscsi_testunitready_sync(iscsi, lun);
		if (!t)
			return failed("TEST UNIT READY", iscsi);
		int status = t->status;
		scsi_free_scsi_task(t);
		if (status == SCSI_STATUS_GOOD)
			return 1;
	}
	return failed("TEST UNIT READY never returned GOOD", NULL);
}

/* PR OUT with a basic parameter list; GOOD -> 1.  want_asc >= 0: expect
 * CHECK CONDITION ILLEGAL REQUEST with that ASC instead. */
static int pr_out(struct iscsi_context *iscsi, int lun, int sa, int type, uint64_t res_key,
		  uint64_t sa_key, int aptpl, int want_asc, const char *what)
{
	struct scsi_persistent_reserve_out_basic p = {
	    .reservation_key = res_key,
	    .service_action_reservation_key = sa_key,
	    .aptpl = (uint8_t)aptpl,
	};
	struct scsi_task *t = iscsi_persistent_reserve_out_sync(
	    iscsi, lun, sa, SCSI_PERSISTENT_RESERVE_SCOPE_LU, type, &p);
	if (!t)
		return failed(what, iscsi);
	int ok;
	if (want_asc < 0)
		ok = t->status == SCSI_STATUS_GOOD;
	else
		ok = t->status == SCSI_STATUS_CHECK_CONDITION &&
		     t->sense.key == SCSI_SENSE_ILLEGAL_REQUEST &&
		     (int)(t->sense.ascq >> 8) == want_asc;
	if (ok)
		printf("%s: %s\n", what, want_asc < 0 ? "GOOD" : "refused as expected");
	else
		fprintf(stderr,
			"pr_persist_client: %s: status 0x%02x sense key 0x%x ASC/ASCQ %04xh\n",
			what, (unsigned)t->status, (unsigned)t->sense.key, (unsigned)t->sense.ascq);
	scsi_free_scsi_task(t);
	return ok;
}

/* PR IN; the task with GOOD status (caller frees) or NULL. */
static struct scsi_task *pr_in(struct iscsi_context *iscsi, int lun, int sa, const char *what)
{
	struct scsi_task *t = iscsi_persistent_reserve_in_sync(iscsi, lun, sa, PR_IN_ALLOC);
	if (!t) {
		failed(what, iscsi);
		return NULL;
	}
	if (t->status != SCSI_STATUS_GOOD) {
		fprintf(stderr, "pr_persist_client: %s: status 0x%02x ASC/ASCQ %04xh\n", what,
			(unsigned)t->status, (unsigned)t->sense.ascq);
		scsi_free_scsi_task(t);
		return NULL;
	}
	return t;
}

static int check_caps(struct iscsi_context *iscsi, int lun, int ptpl_c, int ptpl_a)
{
	struct scsi_task *t =
	    pr_in(iscsi, lun, SCSI_PERSISTENT_RESERVE_REPORT_CAPABILITIES, "REPORT CAPABILITIES");
	if (!t)
		return 0;
	/* Bytes 2 and 3 directly: libiscsi's unmarshalling leaves PTPL_A out. */
	int c = -1, a = -1;
	if (t->datain.size >= 4) {
		c = t->datain.data[2] & 0x01;
		a = t->datain.data[3] & 0x01;
	}
	int ok = c == ptpl_c && (ptpl_a < 0 || a == ptpl_a);
	if (ok)
		printf("REPORT CAPABILITIES: PTPL_C=%d PTPL_A=%d\n", c, a);
	else
		fprintf(stderr,
			"pr_persist_client: REPORT CAPABILITIES: PTPL_C=%d PTPL_A=%d, want %d %d\n",
			c, a, ptpl_c, ptpl_a);
	scsi_free_scsi_task(t);
	return ok;
}

/* READ KEYS: 1 if the key list is exactly {KEY} (want_key) or empty. */
static int check_keys(struct iscsi_context *iscsi, int lun, int want_key)
{
	struct scsi_task *t = pr_in(iscsi, lun, SCSI_PERSISTENT_RESERVE_READ_KEYS, "READ KEYS");
	if (!t)
		return 0;
	struct scsi_persistent_reserve_in_read_keys *k = scsi_datain_unmarshall(t);
	int ok = k && (want_key ? k->num_keys == 1 && k->keys[0] == KEY : k->num_keys == 0);
	if (ok)
		printf("READ KEYS: %d key(s)%s\n", k->num_keys, want_key ? ", ours" : "");
	else
		fprintf(stderr, "pr_persist_client: READ KEYS: %d key(s), first 0x%" PRIx64 "\n",
			k ? k->num_keys : -1, k && k->num_keys > 0 ? k->keys[0] : 0);
	scsi_free_scsi_task(t);
	return ok;
}

/* READ RESERVATION: ours with type WE (want) or none. */
static int check_reservation(struct iscsi_context *iscsi, int lun, int want)
{
	struct scsi_task *t =
	    pr_in(iscsi, lun, SCSI_PERSISTENT_RESERVE_READ_RESERVATION, "READ RESERVATION");
	if (!t)
		return 0;
	struct scsi_persistent_reserve_in_read_reservation *r = scsi_datain_unmarshall(t);
	int ok = r && (want ? r->reserved && r->reservation_key == KEY &&
				  r->pr_type == SCSI_PERSISTENT_RESERVE_TYPE_WRITE_EXCLUSIVE
			    : !r->reserved);
	if (ok)
		printf("READ RESERVATION: %s\n", want ? "ours, Write Exclusive" : "none");
	else
		fprintf(stderr,
			"pr_persist_client: READ RESERVATION: reserved %d key 0x%" PRIx64
			" type %d\n",
			r ? r->reserved : -1, r ? r->reservation_key : 0, r ? r->pr_type : -1);
	scsi_free_scsi_task(t);
	return ok;
}

static int register_and_reserve(struct iscsi_context *iscsi, int lun, int aptpl)
{
	return pr_out(iscsi, lun, SCSI_PERSISTENT_RESERVE_REGISTER_AND_IGNORE_EXISTING_KEY, 0, 0,
		      KEY, aptpl, -1, "REGISTER AND IGNORE EXISTING KEY") &&
	       pr_out(iscsi, lun, SCSI_PERSISTENT_RESERVE_RESERVE,
		      SCSI_PERSISTENT_RESERVE_TYPE_WRITE_EXCLUSIVE, KEY, 0, 0, -1, "RESERVE") &&
	       check_caps(iscsi, lun, 1, aptpl);
}

static int run_step(struct iscsi_context *iscsi, int lun, const char *step)
{
	if (!clear_uas(iscsi, lun))
		return 0;
	if (!strcmp(step, "register-aptpl"))
		return register_and_reserve(iscsi, lun, 1);
	if (!strcmp(step, "register-plain"))
		return register_and_reserve(iscsi, lun, 0);
	if (!strcmp(step, "check-reserved"))
		return check_keys(iscsi, lun, 1) && check_reservation(iscsi, lun, 1) &&
		       check_caps(iscsi, lun, 1, 1) &&
		       pr_out(iscsi, lun, SCSI_PERSISTENT_RESERVE_REGISTER, 0, KEY, KEY, 0, -1,
			      "REGISTER quoting the restored key") &&
		       check_caps(iscsi, lun, 1, 0);
	if (!strcmp(step, "check-empty"))
		return check_keys(iscsi, lun, 0) && check_reservation(iscsi, lun, 0);
	if (!strcmp(step, "aptpl-refused"))
		return pr_out(iscsi, lun, SCSI_PERSISTENT_RESERVE_REGISTER_AND_IGNORE_EXISTING_KEY,
			      0, 0, KEY, 1, 0x26, "REGISTER with APTPL=1") &&
		       check_caps(iscsi, lun, 0, -1);
	fprintf(stderr, "pr_persist_client: unknown step '%s'\n", step);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: pr_persist_client URL STEP\n");
		return 2;
	}
	struct iscsi_context *iscsi = iscsi_create_context(INITIATOR);
	if (!iscsi) {
		fprintf(stderr, "pr_persist_client: cannot create an iSCSI context\n");
		return 1;
	}
	struct iscsi_url *url = iscsi_parse_full_url(iscsi, argv[1]);
	if (!url) {
		failed("bad URL", iscsi);
		iscsi_destroy_context(iscsi);
		return 2;
	}
	/* The ISID is part of the initiator port name the registration is for;
	 * libiscsi would pick a random one per context. */
	iscsi_set_isid_random(iscsi, ISID_RANDOM, ISID_QUALIFIER);
	iscsi_set_targetname(iscsi, url->target);
	iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(iscsi, ISCSI_HEADER_DIGEST_NONE_CRC32C);
	int ok = 0;
	if (iscsi_full_connect_sync(iscsi, url->portal, url->lun) != 0)
		failed("login", iscsi);
	else
		ok = run_step(iscsi, url->lun, argv[2]);
	iscsi_logout_sync(iscsi);
	iscsi_destroy_url(url);
	iscsi_destroy_context(iscsi);
	return ok ? 0 : 1;
}
