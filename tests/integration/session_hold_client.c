/*
 * One iSCSI session held open while a command runs, for
 * tests/integration/admin-list.sh (built only when libiscsi-dev is there):
 *
 *   session_hold_client URL INITIATOR COMMAND
 *
 * Logs in to URL (iscsi://HOST:PORT/IQN/LUN) as INITIATOR with the ISID of
 * the random format, 0x80 followed by 123456 and the qualifier 789a
 * (RFC 7143 10.12.5: type 2, random number, qualifier), i.e.
 * 0x80123456789a; sends TEST UNIT READY until GOOD (the session is in full
 * feature phase and in use), runs COMMAND (system(3)) while logged in,
 * checks the session still works, logs out.  Exit status: COMMAND's, or
 * 1 if the session failed (the reason on stderr).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define ISID_RANDOM 0x123456
#define ISID_QUALIFIER 0x789a

static int tur_good(struct iscsi_context *iscsi, int lun)
{
	for (int i = 0; i < 8; i++) {
		struct scsi_task *t = iscsi_testunitready_sync(iscsi, lun);
		if (!t)
			return 0;
		int status = t->status;
		scsi_free_scsi_task(t);
		if (status == SCSI_STATUS_GOOD)
			return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: session_hold_client URL INITIATOR COMMAND\n");
		return 2;
	}
	struct iscsi_context *iscsi = iscsi_create_context(argv[2]);
	struct iscsi_url *url = iscsi ? iscsi_parse_full_url(iscsi, argv[1]) : NULL;
	if (!url) {
		fprintf(stderr, "session_hold_client: bad URL %s\n", argv[1]);
		return 1;
	}
	iscsi_set_isid_random(iscsi, ISID_RANDOM, ISID_QUALIFIER);
	iscsi_set_targetname(iscsi, url->target);
	iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(iscsi, ISCSI_HEADER_DIGEST_NONE);
	if (iscsi_full_connect_sync(iscsi, url->portal, url->lun) != 0 ||
	    !tur_good(iscsi, url->lun)) {
		fprintf(stderr, "session_hold_client: login: %s\n", iscsi_get_error(iscsi));
		return 1;
	}
	int st = system(argv[3]);
	int rc = st == -1 || !WIFEXITED(st) ? 1 : WEXITSTATUS(st);
	if (!tur_good(iscsi, url->lun)) {
		fprintf(stderr, "session_hold_client: the session broke: %s\n",
			iscsi_get_error(iscsi));
		rc = 1;
	}
	iscsi_logout_sync(iscsi);
	iscsi_destroy_url(url);
	iscsi_destroy_context(iscsi);
	return rc;
}
