/*
 * A libiscsi initiator of the gateway in front of hostile_upstream.py,
 * for tests/integration/passthrough-hostile.sh (built only when
 * libiscsi-dev is there):
 *
 *   pt_hostile_client leak URL
 *       one session READs 64 KiB (the upstream's marker lands in the
 *       gateway's heap), a second sends opcode C1h with 64 KiB of Data-In
 *       expected, which the upstream answers CHECK CONDITION without a
 *       residual: it must get no byte of Data-In (all zero, residual the
 *       whole length), never the first session's data.
 *   pt_hostile_client abort URL | lureset URL
 *       sends C2h, which the upstream never answers, then ABORT TASK (or
 *       LOGICAL UNIT RESET): answered within 5 s.
 *
 * Exit 0 if all of it holds, 1 otherwise (why on stderr).
 */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define LEN 65536
#define TMF_WAIT_S 5

static struct iscsi_context *login(const char *url_text, const char *name)
{
	struct iscsi_context *s = iscsi_create_context(name);
	struct iscsi_url *url = s ? iscsi_parse_full_url(s, url_text) : NULL;
	if (!url) {
		fprintf(stderr, "bad url %s\n", url_text);
		exit(1);
	}
	iscsi_set_targetname(s, url->target);
	iscsi_set_session_type(s, ISCSI_SESSION_NORMAL);
	if (iscsi_full_connect_sync(s, url->portal, url->lun) != 0) {
		fprintf(stderr, "login: %s\n", iscsi_get_error(s));
		exit(1);
	}
	iscsi_destroy_url(url);
	return s;
}

/* A 10-byte CDB of opcode op reading LEN bytes into buf; the task. */
static struct scsi_task *read_cmd(struct iscsi_context *s, uint8_t op, uint8_t *buf)
{
	unsigned char cdb[10] = {op, 0, 0, 0, 0, 0, 0, 0, LEN / 512, 0};
	struct scsi_task *t = scsi_create_task(10, cdb, SCSI_XFER_READ, LEN);
	struct scsi_iovec v = {buf, LEN};
	scsi_task_set_iov_in(t, &v, 1);
	return iscsi_scsi_command_sync(s, 0, t, NULL);
}

static int check_leak(const char *url)
{
	static uint8_t buf[LEN];
	struct iscsi_context *a = login(url, "iqn.2026-11.org.uscst:hostile-a");
	struct iscsi_context *b = login(url, "iqn.2026-11.org.uscst:hostile-b");
	int ok = 1;
	for (int round = 0; round < 3; round++) {
		struct scsi_task *t = read_cmd(a, 0x28, buf);
		if (!t || t->status != SCSI_STATUS_GOOD) {
			fprintf(stderr, "READ(10): %s\n", iscsi_get_error(a));
			return 1;
		}
		scsi_free_scsi_task(t);
		memset(buf, 0, sizeof(buf));
		t = read_cmd(b, 0xc1, buf);
		if (!t) {
			fprintf(stderr, "C1h: %s\n", iscsi_get_error(b));
			return 1;
		}
		size_t nonzero = 0;
		for (size_t k = 0; k < sizeof(buf); k++)
			nonzero += buf[k] != 0;
		printf("C1h: status %d, residual %d/%zu, %zu non-zero bytes\n", t->status,
		       t->residual_status, t->residual, nonzero);
		if (t->status != SCSI_STATUS_CHECK_CONDITION || nonzero ||
		    t->residual_status != SCSI_RESIDUAL_UNDERFLOW || t->residual != LEN)
			ok = 0;
		scsi_free_scsi_task(t);
	}
	iscsi_logout_sync(a);
	iscsi_logout_sync(b);
	iscsi_destroy_context(a);
	iscsi_destroy_context(b);
	if (!ok)
		fprintf(stderr, "a CHECK CONDITION without residual upstream carried Data-In\n");
	return ok ? 0 : 1;
}

static int tmf_answered;

static void tmf_cb(struct iscsi_context *s, int status, void *data, void *priv)
{
	tmf_answered = 1;
}

static void ignore_cb(struct iscsi_context *s, int status, void *data, void *priv) {}

static void service(struct iscsi_context *s, int ms)
{
	struct pollfd p = {iscsi_get_fd(s), (short)iscsi_which_events(s), 0};
	if (poll(&p, 1, ms) >= 0)
		iscsi_service(s, p.revents);
}

static int check_tmf(const char *url, int lu_reset)
{
	struct iscsi_context *s = login(url, "iqn.2026-11.org.uscst:hostile-tmf");
	unsigned char cdb[6] = {0xc2};
	struct scsi_task *t = scsi_create_task(6, cdb, SCSI_XFER_NONE, 0);
	if (iscsi_scsi_command_async(s, 0, t, ignore_cb, NULL, NULL) != 0)
		return 1;
	for (int k = 0; k < 5; k++)
		service(s, 100);
	if (lu_reset)
		iscsi_task_mgmt_lun_reset_async(s, 0, tmf_cb, NULL);
	else
		iscsi_task_mgmt_abort_task_async(s, t, tmf_cb, NULL);
	time_t t0 = time(NULL);
	while (!tmf_answered && time(NULL) - t0 <= TMF_WAIT_S)
		service(s, 200);
	printf("%s %s after %lds\n", lu_reset ? "LU RESET" : "ABORT TASK",
	       tmf_answered ? "answered" : "not answered", (long)(time(NULL) - t0));
	if (!tmf_answered)
		fprintf(stderr, "task management not answered within %d s\n", TMF_WAIT_S);
	iscsi_destroy_context(s); /* the C2h task is ours to free after it */
	scsi_free_scsi_task(t);
	return tmf_answered ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: pt_hostile_client leak|abort|lureset URL\n");
		return 1;
	}
	if (strcmp(argv[1], "leak") == 0)
		return check_leak(argv[2]);
	if (strcmp(argv[1], "abort") == 0)
		return check_tmf(argv[2], 0);
	if (strcmp(argv[1], "lureset") == 0)
		return check_tmf(argv[2], 1);
	fprintf(stderr, "unknown mode %s\n", argv[1]);
	return 1;
}
