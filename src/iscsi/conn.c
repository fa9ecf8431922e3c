/*
 * iSCSI connections: reading PDUs off the socket (many per read), checking
 * their lengths and digests, dispatching them by opcode, and writing queued
 * PDUs with one writev for as many as fit.
 *
 * Bounds against initiators that send faster than they read, or flood:
 * - memory: a connection holds at most mem_cap bytes of command buffers and
 *   queued responses (conn_mem_held; the target's MaxSessionMemory, or
 *   QueuedCommands x MaxBurstLength within MEM_CAP_MIN..MAX), and only
 *   what fits in the daemon's MaxBufferMemory, whose last eighth only
 *   connections within ISCSI_BUF_MEM_GUARANTEE may use (conn_may_take).
 *   A command PDU that would take it
 *   above the cap is left in rx_buf and the socket is no longer read
 *   (EPOLLIN dropped) until the connection is back under half the cap; so
 *   is every PDU while the unsent backlog is above the cap.  A single
 *   command larger than the cap runs when the connection holds nothing
 *   else.
 * - time: bytes pending and no write progress for RspTimeout seconds drop
 *   the connection; so does not reaching full feature phase within
 *   LoginTimeout seconds of the accept.
 * - connections: an address that already has MaxConnectionsPerAddress
 *   connections (logged in or not) gets the new one closed at accept,
 *   before a byte of it is read (conn_limits.c).
 * - fairness: one event reads at most RX_EVENT_BUDGET bytes and processes
 *   what they complete, then returns to the loop (epoll is level-triggered,
 *   the rest is read next iteration), so one flooding connection cannot
 *   keep the reactor from its other connections.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "iscsi/async.h"
#include "iscsi/cmd_window.h"
#include "iscsi/conn_limits.h"
#include "iscsi/iscsi.h"
#include "iscsi/pdu_frame.h"
#include "lib/buf_pool.h"
#include "lib/freelist.h"
#include "lib/log.h"
#include "lib/thread_exit.h"

#define RX_INITIAL_CAP (64u * 1024)
#define LOGIN_MAX_DSL 8192u /* RFC 7143 13.12: the default applies during login */
#define TX_IOV_MAX 64
#define RX_EVENT_BUDGET (256u * 1024) /* bytes read per event at most */
/* A data segment of at least this many bytes still to come is read
 * straight into place (rx_direct_start).  Alongside it, and after it until
 * a small PDU comes (rx_expect_large), reads into rx_buf take no more
 * than the next header (RX_DIRECT_PEEK): a large read would bring whole
 * data segments that then have to be copied out of rx_buf.  Small PDUs
 * keep the large reads, many PDUs per system call. */
#define RX_DIRECT_MIN (16u * 1024)
#define RX_DIRECT_PEEK (ISCSI_BHS_LEN + ISCSI_DIGEST_LEN)
/* Immediate data of a WRITE up to this long lands in a buffer of the
 * whole WRITE's size, which the task adopts without growing it: the
 * largest pooled buffer (lib/buf_pool.h).  Larger WRITEs get their buffer
 * as the R2Ts go out (write_buf.c). */
#define RX_HOLD_WHOLE_MAX BUF_POOL_MAX
/* Per-connection memory cap: QueuedCommands x MaxBurstLength of the
 * target, clamped to these. */
#define MEM_CAP_MIN (4ull << 20)
#define MEM_CAP_MAX (256ull << 20)
#define MEM_CAP_LOGIN MEM_CAP_MIN
#define DEFAULT_RSP_TIMEOUT_S 90 /* before a session exists */
#define CONN_IDLE_MS 2000u	 /* nothing received for this long: idle, for placement */

static void conn_on_event(struct reactor_event *ev, uint32_t events);
static void conn_on_tick(struct reactor_ticker *t, uint64_t now_ms);
static void conn_rx_kicked(struct reactor_deferred *d);

struct accept_arg {
	int fd;
	char peer[64];
	char local[64];
};

static void conn_start_on_reactor(void *p)
{
	struct accept_arg *a = p;
	struct iscsi_conn *conn = calloc(1, sizeof(*conn));
	uint8_t *buf = malloc(RX_INITIAL_CAP);
	if (!conn || !buf) {
		free(conn);
		free(buf);
		reactor_conn_count_add(reactor_current(), -1);
		iscsi_addr_release(a->peer);
		iscsi_conns_release();
		close(a->fd);
		free(a);
		return;
	}
	conn->reactor = reactor_current(); /* counted by reactor_place_conn() */
	conn->fd = a->fd;
	snprintf(conn->peer, sizeof(conn->peer), "%s", a->peer);
	snprintf(conn->local_addr, sizeof(conn->local_addr), "%s", a->local);
	free(a);
	atomic_init(&conn->refs, 1);
	uscst_cmd_init(&conn->rx_direct.hold, NULL);
	conn->state = CONN_LOGIN;
	conn->rx_buf = buf;
	conn->rx_cap = RX_INITIAL_CAP;
	conn->max_recv_dsl = LOGIN_MAX_DSL;
	conn->max_xmit_dsl = LOGIN_MAX_DSL;
	conn->last_rx_ms = reactor_now_ms();
	conn->login_deadline_ms = conn->last_rx_ms + (uint64_t)iscsi_login_timeout_s() * 1000;
	conn->mem_cap = MEM_CAP_LOGIN;
	conn->next_ttt = 1;
	list_init(&conn->tx_queue);
	list_init(&conn->tasks);
	list_init(&conn->erl_retained);
	list_init(&conn->sess_node);
	conn->ev.fn = conn_on_event;
	conn->ticker.fn = conn_on_tick;
	reactor_add_ticker(conn->reactor, &conn->ticker);
	if (reactor_add_fd(conn->reactor, conn->fd, EPOLLIN | EPOLLRDHUP, &conn->ev) < 0)
		iscsi_conn_close(conn, "epoll registration failed");
	log_debug("connection from %s", conn->peer);
}

/* One line per second at most (per limit), however fast an address
 * reconnects. */
static void log_refused(const char *peer, bool total)
{
	static _Atomic uint64_t last_ms[2];
	static atomic_uint suppressed[2];
	uint64_t now = reactor_now_ms(), last = atomic_load(&last_ms[total]);
	if (now - last < 1000 || !atomic_compare_exchange_strong(&last_ms[total], &last, now)) {
		atomic_fetch_add(&suppressed[total], 1);
		return;
	}
	log_warn("connection from %s closed: %s (%u more refused since the last message)", peer,
		 total ? "the daemon has MaxConnections connections"
		       : "its address has MaxConnectionsPerAddress connections",
		 atomic_exchange(&suppressed[total], 0));
}

void iscsi_conn_accept(int fd, const char *peer, const char *local)
{
	/* Closed before anything is read or allocated: a Login reject would
	 * mean reading and parsing the Login PDU, which is what a flood of
	 * connections wants us to spend. */
	/* The daemon's total first: a flood from many addresses, each under
	 * its own limit, must not exhaust descriptors and memory. */
	if (!iscsi_conns_acquire()) {
		log_refused(peer, true);
		close(fd);
		return;
	}
	if (!iscsi_addr_acquire(peer)) {
		iscsi_conns_release();
		log_refused(peer, false);
		close(fd);
		return;
	}
	struct accept_arg *a = calloc(1, sizeof(*a));
	if (!a) {
		iscsi_addr_release(peer);
		iscsi_conns_release();
		close(fd);
		return;
	}
	a->fd = fd;
	snprintf(a->peer, sizeof(a->peer), "%s", peer);
	snprintf(a->local, sizeof(a->local), "%s", local);
	struct reactor *r = reactor_place_conn();
	if (reactor_post(r, conn_start_on_reactor, a) < 0) {
		reactor_conn_count_add(r, -1);
		iscsi_addr_release(peer);
		iscsi_conns_release();
		close(fd);
		free(a);
	}
}

void iscsi_conn_get(struct iscsi_conn *conn) { atomic_fetch_add(&conn->refs, 1); }

bool iscsi_conn_tryget(struct iscsi_conn *conn)
{
	int n = atomic_load(&conn->refs);
	while (n > 0)
		if (atomic_compare_exchange_weak(&conn->refs, &n, n + 1))
			return true;
	return false;
}

static void conn_free(struct iscsi_conn *conn)
{
	struct iscsi_session *sess = conn->sess;
	if (sess && iscsi_session_remove_conn(conn)) {
		uscst_session_destroy(sess->core);
		iscsi_cmd_window_close(sess);
		free(sess);
	}
	reactor_conn_count_add(conn->reactor, -1);
	if (conn->counted_idle)
		reactor_conn_idle_add(conn->reactor, -1);
	iscsi_addr_release(conn->peer);
	iscsi_conns_release();
	iscsi_buf_mem_publish(conn->mem_published, 0);
	task_table_free(&conn->itt_table);
	uscst_cmd_release(&conn->rx_direct.hold);
	free(conn->rx_buf);
	free(conn);
}

void iscsi_conn_put(struct iscsi_conn *conn)
{
	if (atomic_fetch_sub(&conn->refs, 1) == 1)
		conn_free(conn);
}

void iscsi_conn_defer(struct iscsi_conn *conn, struct reactor_deferred *d,
		      void (*fn)(struct reactor_deferred *d))
{
	if (conn->state == CONN_CLOSED || d->queued)
		return;
	d->fn = fn;
	iscsi_conn_get(conn); /* fn drops it */
	reactor_defer(conn->reactor, d);
}

/* Every PDU sent (a READ's Data-In PDUs, every response) takes one: kept
 * per reactor thread.  Enough for a few connections' worth of QD32
 * commands with several Data-In PDUs each; given back to malloc when the
 * thread exits (lib/thread_exit.h). */
static __thread struct freelist tx_cache = FREELIST_INIT(sizeof(struct iscsi_tx), 512);
static void tx_cache_drain(void) { freelist_drain(&tx_cache); }
static __thread struct thread_exit_hook tx_cache_hook = {.fn = tx_cache_drain};

static void tx_free(struct iscsi_tx *tx)
{
	free(tx->owned);
	thread_exit_arm(&tx_cache_hook);
	freelist_put(&tx_cache, tx);
}

/* Memory a queued PDU owns besides task buffers. */
static uint64_t tx_mem_of(const struct iscsi_tx *tx)
{
	return sizeof(*tx) + (tx->owned ? tx->data_len : 0);
}

/* What a task holds or is about to hold: its buffers, and for a READ that
 * has not produced its data yet, the Expected Data Transfer Length it will
 * (an honest initiator's EDTL is the transfer length). */
static uint64_t task_mem(const struct iscsi_task *t)
{
	uint64_t in = t->cmd.in_cap;
	if (t->state != TASK_DONE && t->cmd.exp_read && t->cmd.exp_len > in)
		in = t->cmd.exp_len;
	return sizeof(*t) + in + t->cmd.out_buf_len;
}

/* Bytes the connection holds for commands and responses.  Walks the task
 * list (at most QueuedCommands + ISCSI_MAX_IMMEDIATE_CMDS entries, like
 * the ITT lookup every command already does). */
static uint64_t conn_mem_held(const struct iscsi_conn *conn)
{
	uint64_t sum = conn->tx_mem + conn->erl_retained_mem; /* ERL 1: erl1.c */
	const struct iscsi_task *t;
	list_for_each_entry(t, &conn->tasks, node) sum += task_mem(t);
	return sum;
}

/*
 * Closing happens in two steps.  iscsi_conn_close() stops all I/O at once,
 * but may be called from deep inside a handler (a failed writev during a
 * completion, a TMF answer with close_after, an allocation failure) whose
 * callers still hold the task or the connection.  Freeing the tasks and
 * queued PDUs is therefore deferred to the end of the reactor's loop
 * iteration (conn_teardown), when no handler is on the stack and no event
 * of the current epoll batch can still point at the connection.
 */
static void conn_teardown(struct reactor_deferred *d)
{
	struct iscsi_conn *conn =
	    (struct iscsi_conn *)((char *)d - offsetof(struct iscsi_conn, teardown));
	struct iscsi_tx *tx, *tn;
	list_for_each_entry_safe(tx, tn, &conn->tx_queue, node)
	{
		list_del(&tx->node);
		/* A retained task's answer is sent again after a reassign. */
		if (tx->release_task && !tx->release_task->awaiting_reassign)
			iscsi_task_free(tx->release_task);
		tx_free(tx);
	}
	/* Tasks still in the backend finish later and free themselves. */
	struct iscsi_task *task, *next;
	list_for_each_entry_safe(task, next, &conn->tasks, node)
	{
		if (task->state != TASK_EXECUTING && !task->awaiting_reassign)
			iscsi_task_free(task);
	}
	if (!conn->retaining) /* at ERL 2, answered tasks stay reassignable */
		iscsi_erl1_drop_all(conn);
	iscsi_login_free(conn);
	if (conn->text_pending) {
		text_buf_free(conn->text_pending);
		free(conn->text_pending);
		conn->text_pending = NULL;
	}
	iscsi_conn_put(conn);
}

void iscsi_conn_close(struct iscsi_conn *conn, const char *why)
{
	if (conn->state == CONN_CLOSED)
		return;
	log_info("connection %s closed: %s", conn->peer, why);
	bool ffp = conn->state == CONN_FULL_FEATURE || conn->state == CONN_LOGGED_OUT;
	conn->state = CONN_CLOSED;
	reactor_del_fd(conn->reactor, conn->fd);
	close(conn->fd);
	conn->fd = -1;
	/* ErrorRecoveryLevel 2: the tasks wait for a TASK REASSIGN, and the
	 * ticker counts Time2Retain (reassign.c). */
	if (!ffp || !iscsi_retain_tasks(conn)) {
		reactor_del_ticker(conn->reactor, &conn->ticker);
		/* Nothing may start or answer from now on: the core aborts
		 * the nexus's commands, and the tasks stop their data
		 * transfer. */
		struct iscsi_task *task;
		list_for_each_entry(task, &conn->tasks, node) task->aborted = true;
		if (conn->sess && conn->sess->core && !iscsi_session_still_used(conn))
			uscst_session_nexus_loss(conn->sess->core); /* the session ends */
	}
	conn->teardown.fn = conn_teardown;
	reactor_defer(conn->reactor, &conn->teardown);
}

bool iscsi_session_still_used(const struct iscsi_conn *conn)
{
	struct iscsi_conn *c;
	list_for_each_entry(c, &conn->sess->conns, sess_node)
	{
		if (c != conn && (c->state != CONN_CLOSED || c->retaining))
			return true;
	}
	return false;
}

void iscsi_conn_end(struct iscsi_conn *conn, const char *why)
{
	conn->no_recovery = true;
	if (conn->state == CONN_CLOSED)
		iscsi_retain_drop(conn, why);
	else
		iscsi_conn_close(conn, why);
}

uint32_t iscsi_conn_max_cmdsn(const struct iscsi_conn *conn)
{
	return conn->sess ? conn->sess->max_cmdsn : 0;
}

void iscsi_put_sn(struct iscsi_conn *conn, uint8_t *bhs, bool advance_statsn)
{
	put_be32(bhs + 24, conn->stat_sn);
	if (advance_statsn)
		conn->stat_sn++;
	if (conn->sess) {
		put_be32(bhs + 28, conn->sess->exp_cmdsn);
		put_be32(bhs + 32, iscsi_cmd_window_grant(conn->sess));
	}
}

static void set_events(struct iscsi_conn *conn)
{
	if (conn->state == CONN_CLOSED)
		return;
	uint32_t ev =
	    (conn->rx_paused ? 0 : EPOLLIN | EPOLLRDHUP) | (conn->want_write ? EPOLLOUT : 0);
	reactor_mod_fd(conn->reactor, conn->fd, ev, &conn->ev);
}

struct iscsi_tx *iscsi_tx_new(struct iscsi_conn *conn)
{
	struct iscsi_tx *tx = freelist_get(&tx_cache);
	if (tx) {
		memset(tx, 0, sizeof(*tx));
		tx->hdr_len = ISCSI_BHS_LEN;
	}
	return tx;
}

void iscsi_tx_queue(struct iscsi_conn *conn, struct iscsi_tx *tx)
{
	if (conn->state == CONN_CLOSED) {
		if (tx->release_task)
			iscsi_task_free(tx->release_task);
		tx_free(tx);
		return;
	}
	bhs_set_data_len(tx->hdr, tx->data_len);
	if (conn->header_digest) {
		uint32_t crc = iscsi_digest(tx->hdr, ISCSI_BHS_LEN);
		memcpy(tx->hdr + ISCSI_BHS_LEN, &crc, 4); /* digests are little-endian */
		tx->hdr_len = ISCSI_BHS_LEN + ISCSI_DIGEST_LEN;
	}
	uint32_t pad = pad4(tx->data_len);
	memset(tx->trailer, 0, sizeof(tx->trailer));
	tx->trailer_len = pad;
	if (conn->data_digest && tx->data_len) {
		uint32_t crc = iscsi_crc32c(tx->data, tx->data_len, ISCSI_CRC32C_SEED);
		crc = iscsi_crc32c(tx->trailer, pad, crc) ^ 0xffffffffu;
		memcpy(tx->trailer + pad, &crc, 4);
		tx->trailer_len += ISCSI_DIGEST_LEN;
	}
	if (list_empty(&conn->tx_queue))
		conn->tx_progress_ms = reactor_now_ms(); /* RspTimeout counts from here */
	list_add_tail(&tx->node, &conn->tx_queue);
	conn->tx_bytes += tx->hdr_len + tx->data_len + tx->trailer_len;
	conn->tx_mem += tx_mem_of(tx);
}

static void set_want_write(struct iscsi_conn *conn, bool want)
{
	if (conn->want_write == want || conn->state == CONN_CLOSED)
		return;
	conn->want_write = want;
	set_events(conn);
}

/* Appends the unsent part of tx to iov; returns the number of entries. */
static int tx_iov(const struct iscsi_tx *tx, struct iovec *iov)
{
	const struct {
		const uint8_t *p;
		uint32_t len;
	} parts[3] = {
	    {tx->hdr, tx->hdr_len}, {tx->data, tx->data_len}, {tx->trailer, tx->trailer_len}};
	uint32_t skip = tx->sent;
	int n = 0;
	for (int i = 0; i < 3; i++) {
		if (skip >= parts[i].len) {
			skip -= parts[i].len;
			continue;
		}
		iov[n].iov_base = (void *)(parts[i].p + skip);
		iov[n].iov_len = parts[i].len - skip;
		skip = 0;
		n++;
	}
	return n;
}

static uint32_t tx_total(const struct iscsi_tx *tx)
{
	return tx->hdr_len + tx->data_len + tx->trailer_len;
}

/* Writes what the socket takes; returns true if a task was freed. */
static bool tx_write(struct iscsi_conn *conn)
{
	bool freed = false;
	while (conn->state != CONN_CLOSED && !list_empty(&conn->tx_queue)) {
		struct iovec iov[TX_IOV_MAX];
		int n = 0;
		struct iscsi_tx *tx;
		list_for_each_entry(tx, &conn->tx_queue, node)
		{
			if (n + 3 > TX_IOV_MAX)
				break;
			n += tx_iov(tx, iov + n);
		}
		ssize_t w = writev(conn->fd, iov, n);
		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				set_want_write(conn, true);
				return freed;
			}
			if (errno == EINTR)
				continue;
			iscsi_conn_close(conn, strerror(errno));
			return freed;
		}
		if (w > 0)
			conn->tx_progress_ms = reactor_now_ms();
		conn->tx_bytes -= (uint64_t)w;
		size_t left = (size_t)w;
		while (left && !list_empty(&conn->tx_queue)) {
			tx = list_entry(conn->tx_queue.next, struct iscsi_tx, node);
			uint32_t rest = tx_total(tx) - tx->sent;
			if (left < rest) {
				tx->sent += (uint32_t)left;
				break;
			}
			left -= rest;
			list_del(&tx->node);
			conn->tx_mem -= tx_mem_of(tx);
			bool close_after = tx->close_after;
			if (tx->release_task) {
				iscsi_task_free(tx->release_task);
				freed = true;
			}
			tx_free(tx);
			if (close_after) {
				iscsi_conn_close(conn, "logout or login failure");
				return freed;
			}
		}
	}
	set_want_write(conn, false);
	return freed;
}

static void rx_maybe_resume(struct iscsi_conn *conn);

void iscsi_conn_flush(struct iscsi_conn *conn)
{
	if (conn->logout_pending && conn->state != CONN_CLOSED)
		iscsi_logout_pending_check(conn);
	/* Freed tasks may reopen a window the initiator was told is closed
	 * and would otherwise never hear of. */
	if (tx_write(conn) && conn->state != CONN_CLOSED && iscsi_nop_window_update(conn))
		tx_write(conn);
	if (conn->state != CONN_CLOSED && conn->rx_paused)
		rx_maybe_resume(conn);
}

static void conn_flush_kicked(struct reactor_deferred *d)
{
	struct iscsi_conn *conn =
	    (struct iscsi_conn *)((char *)d - offsetof(struct iscsi_conn, flush_kick));
	if (conn->state != CONN_CLOSED)
		iscsi_conn_flush(conn);
	iscsi_conn_put(conn);
}

void iscsi_conn_flush_soon(struct iscsi_conn *conn)
{
	iscsi_conn_defer(conn, &conn->flush_kick, conn_flush_kicked);
}

void iscsi_conn_enter_full_feature(struct iscsi_conn *conn, const struct iscsi_params *p)
{
	conn->state = CONN_FULL_FEATURE;
	conn->header_digest = p->header_digest == ISCSI_DIGEST_CRC32C;
	conn->data_digest = p->data_digest == ISCSI_DIGEST_CRC32C;
	conn->max_recv_dsl = p->max_recv_data_segment_length;
	conn->max_xmit_dsl = p->max_xmit_data_segment_length;
	conn->exp_stat_sn = conn->stat_sn;
	const struct iscsi_target_limits *lim = &conn->sess->lim;
	uint64_t cap = (uint64_t)lim->queued_commands * lim->max_burst_length;
	cap = cap < MEM_CAP_MIN ? MEM_CAP_MIN : cap > MEM_CAP_MAX ? MEM_CAP_MAX : cap;
	/* MaxSessionMemory, when set, replaces the derived cap. */
	conn->mem_cap =
	    lim->max_session_memory_mb ? (uint64_t)lim->max_session_memory_mb << 20 : cap;
}

/* --- receive --- */

static void dispatch_login_phase(struct iscsi_conn *conn, const uint8_t *bhs, const uint8_t *data,
				 uint32_t dlen)
{
	if (bhs_opcode(bhs) == ISCSI_OP_LOGIN_REQ) {
		iscsi_login_rx(conn, bhs, data, dlen);
		return;
	}
	/* RFC 7143 6.2: nothing but Login may precede full feature phase. */
	iscsi_conn_close(conn, "non-login PDU during login");
}

static void dispatch_full_feature(struct iscsi_conn *conn, const uint8_t *bhs, const uint8_t *data,
				  uint32_t dlen, bool digest_error)
{
	uint8_t op = bhs_opcode(bhs);
	iscsi_erl1_exp_stat_sn(conn, bhs); /* releases what ERL 1 retains */
	if (digest_error && op != ISCSI_OP_SCSI_CMD && op != ISCSI_OP_DATA_OUT) {
		/* The payload cannot be trusted; the header can (it had its own check). */
		iscsi_send_reject(conn, bhs, ISCSI_REJECT_DATA_DIGEST);
		return;
	}
	if (conn->state == CONN_LOGGED_OUT)
		return;
	switch (op) {
	case ISCSI_OP_NOP_OUT:
		iscsi_nop_out_rx(conn, bhs, data, dlen);
		break;
	case ISCSI_OP_SCSI_CMD:
		iscsi_scsi_cmd_rx(conn, bhs, data, dlen, digest_error);
		break;
	case ISCSI_OP_TMF_REQ:
		iscsi_tmf_rx(conn, bhs);
		break;
	case ISCSI_OP_TEXT_REQ:
		iscsi_text_rx(conn, bhs, data, dlen);
		break;
	case ISCSI_OP_DATA_OUT:
		iscsi_data_out_rx(conn, bhs, data, dlen, digest_error);
		break;
	case ISCSI_OP_LOGOUT_REQ:
		iscsi_logout_rx(conn, bhs);
		break;
	case ISCSI_OP_SNACK_REQ:
		iscsi_snack_rx(conn, bhs); /* erl1.c; Reject at ERL 0 */
		break;
	case ISCSI_OP_LOGIN_REQ:
		iscsi_send_reject(conn, bhs, ISCSI_REJECT_PROTOCOL_ERROR);
		break;
	default:
		iscsi_send_reject(conn, bhs, ISCSI_REJECT_CMD_NOT_SUPPORTED);
		break;
	}
}

static uint32_t data_limit(const struct iscsi_conn *conn)
{
	return conn->max_recv_dsl > LOGIN_MAX_DSL ? conn->max_recv_dsl : LOGIN_MAX_DSL;
}

/* The receive buffer grows to what the PDU being received needs (the
 * framer's hint never exceeds a PDU within data_limit()), never beyond the
 * largest such PDU. */
static bool ensure_rx_cap(struct iscsi_conn *conn, uint32_t need)
{
	if (need <= conn->rx_cap)
		return true;
	uint32_t max = ISCSI_BHS_LEN + 1020 + ISCSI_DIGEST_LEN + data_limit(conn) + 3 +
		       ISCSI_DIGEST_LEN + ISCSI_BHS_LEN;
	uint32_t cap = conn->rx_cap * 2 < max ? conn->rx_cap * 2 : max;
	if (cap < need)
		cap = need;
	uint8_t *p = realloc(conn->rx_buf, cap);
	if (!p)
		return false;
	conn->rx_buf = p;
	conn->rx_cap = cap;
	return true;
}

/* Memory a PDU makes us hold when it is processed: a command its buffer
 * (EDTL), a NOP-Out or Text Request its answer.  The rest (Data-Out, TMF,
 * Logout, SNACK) only complete or drop what is held. */
static uint64_t pdu_mem_need(const uint8_t *bhs)
{
	switch (bhs_opcode(bhs)) {
	case ISCSI_OP_SCSI_CMD:
		return sizeof(struct iscsi_task) + get_be32(bhs + 20);
	case ISCSI_OP_NOP_OUT:
	case ISCSI_OP_TEXT_REQ:
		return sizeof(struct iscsi_tx) + bhs_data_len(bhs);
	default:
		return 0;
	}
}

/* What frees itself without more input from the initiator: queued PDUs and
 * tasks past their data phase.  Tasks still receiving Data-Out (or waiting
 * for their CmdSN) are left out: what they wait for may be behind the PDU
 * we hold back, and waiting for them would never end. */
static uint64_t conn_mem_draining(const struct iscsi_conn *conn)
{
	uint64_t sum = conn->tx_mem;
	const struct iscsi_task *t;
	list_for_each_entry(t, &conn->tasks, node)
	{
		if (t->state != TASK_RECV_DATA)
			sum += task_mem(t);
	}
	return sum;
}

static uint64_t tx_backlog(const struct iscsi_conn *conn) { return conn->tx_bytes + conn->tx_mem; }

/* Brings the daemon's total (MaxBufferMemory) up to date with what this
 * connection holds now; returns that. */
uint64_t iscsi_conn_publish_mem(struct iscsi_conn *conn)
{
	uint64_t held = conn_mem_held(conn);
	iscsi_buf_mem_publish(conn->mem_published, held);
	conn->mem_published = held;
	return held;
}

/* A PDU needing `need` bytes, on a connection whose draining memory is
 * `draining`, fits: within the session's cap, and within the daemon's
 * unless the connection holds little (the guarantee).  A connection that
 * holds nothing that drains always takes one: it makes progress, and what
 * it waits for may be behind this PDU. */
static bool conn_may_take(struct iscsi_conn *conn, uint64_t draining, uint64_t need)
{
	if (!draining)
		return true;
	if (draining + need > conn->mem_cap)
		return false;
	return iscsi_buf_mem_may_take(iscsi_conn_publish_mem(conn), need);
}

/* True if the PDU at bhs must wait: the unsent backlog is above the cap,
 * or the PDU does not fit (conn_may_take). */
static bool rx_must_wait(struct iscsi_conn *conn, const uint8_t *bhs)
{
	if (conn->state != CONN_FULL_FEATURE)
		return false;
	if (tx_backlog(conn) > conn->mem_cap)
		return true;
	uint64_t need = pdu_mem_need(bhs);
	if (!need)
		return false;
	return !conn_may_take(conn, conn_mem_draining(conn), need);
}

static void rx_pause(struct iscsi_conn *conn)
{
	if (conn->rx_paused)
		return;
	log_debug("%s: holding %llu bytes, backlog %llu: not reading", conn->peer,
		  (unsigned long long)conn_mem_held(conn), (unsigned long long)tx_backlog(conn));
	conn->rx_paused = true;
	set_events(conn);
}

/* Reading resumes below half the cap (and when the PDU that waits fits).
 * Memory other connections free does not call this: a connection held back
 * by the daemon's cap looks again when its own tasks free memory, or at
 * the latest at its next tick (a second). */
static void rx_maybe_resume(struct iscsi_conn *conn)
{
	if (conn->in_rx || !conn->rx_paused)
		return;
	uint64_t low = conn->mem_cap / 2;
	if (tx_backlog(conn) > low)
		return;
	uint64_t held = conn_mem_draining(conn);
	if (held && (held > low || (conn->rx_len >= ISCSI_BHS_LEN &&
				    !conn_may_take(conn, held, pdu_mem_need(conn->rx_buf)))))
		return;
	conn->rx_paused = false;
	set_events(conn);
	/* PDUs already buffered get no epoll event: process them after the
	 * current batch. */
	if (conn->rx_len)
		iscsi_conn_defer(conn, &conn->rx_kick, conn_rx_kicked);
}

/* --- data segments received in place --- */

/* Where the next data bytes of the direct PDU go, and how many at most. */
static uint8_t *rx_direct_dest(struct iscsi_conn *conn, uint32_t *len)
{
	static __thread uint8_t discard[4096];
	struct iscsi_rx_direct *d = &conn->rx_direct;
	*len = d->dlen - d->got;
	if (d->immediate)
		return d->hold.out_buf + d->got;
	if (d->task)
		return d->task->cmd.out_buf + d->offset + d->got;
	/* The task went away meanwhile (an abort, a reset): drop the rest. */
	if (*len > sizeof(discard))
		*len = sizeof(discard);
	return discard;
}

/* Takes n bytes that arrived at p (the data part, then the tail). */
static void rx_direct_took(struct iscsi_conn *conn, const uint8_t *p, uint32_t n)
{
	struct iscsi_rx_direct *d = &conn->rx_direct;
	if (conn->data_digest)
		d->crc = iscsi_crc32c(p, n, d->crc);
	d->got += n;
}

/* Starts receiving the data segment of the PDU at bhs in place, if it is a
 * large Data-Out a task takes as it stands, or a WRITE's large immediate
 * data.  avail bytes of the PDU are in rx_buf (its header complete and
 * checked); they are taken now.  false: the ordinary path. */
static bool rx_direct_start(struct iscsi_conn *conn, const uint8_t *bhs, uint32_t avail,
			    const struct pdu_frame *f)
{
	struct iscsi_rx_direct *d = &conn->rx_direct;
	uint8_t op = bhs_opcode(bhs);
	/* A PDU that must wait (rx_must_wait) waits in rx_buf as before. */
	if (conn->state != CONN_FULL_FEATURE || f->ahs_len ||
	    f->total_len - avail < RX_DIRECT_MIN || rx_must_wait(conn, bhs))
		return false;
	if (op == ISCSI_OP_DATA_OUT) {
		d->task = iscsi_data_out_direct(conn, bhs, f->data_len);
		if (!d->task)
			return false;
		d->immediate = false;
		d->offset = get_be32(bhs + 40);
	} else if (op == ISCSI_OP_SCSI_CMD && (bhs[1] & ISCSI_CMD_WRITE)) {
		uint32_t edtl = get_be32(bhs + 20);
		uint32_t len = edtl > f->data_len && edtl <= RX_HOLD_WHOLE_MAX &&
				       iscsi_write_buf_may_hold(conn, edtl, f->data_len)
				   ? edtl
				   : f->data_len;
		if (!uscst_cmd_alloc_out(&d->hold, len))
			return false;
		d->immediate = true;
		d->task = NULL;
	} else {
		return false;
	}
	memcpy(d->bhs, bhs, ISCSI_BHS_LEN);
	d->active = true;
	d->dlen = f->data_len;
	d->got = 0;
	d->crc = ISCSI_CRC32C_SEED;
	d->tail_len = pad4(f->data_len) + (conn->data_digest ? ISCSI_DIGEST_LEN : 0);
	d->tail_got = 0;
	/* What came with the header: data, perhaps part of the tail. */
	const uint8_t *p = bhs + f->hdr_len;
	uint32_t have = avail - f->hdr_len;
	while (have && d->got < d->dlen) {
		uint32_t room, n;
		uint8_t *dst = rx_direct_dest(conn, &room);
		n = have < room ? have : room;
		memcpy(dst, p, n);
		rx_direct_took(conn, dst, n);
		p += n;
		have -= n;
	}
	memcpy(d->tail, p, have); /* less than the tail: the PDU is incomplete */
	d->tail_got = have;
	return true;
}

/* The direct PDU is complete: check its digest and process it like any
 * other, its data already in place. */
static void rx_direct_finish(struct iscsi_conn *conn)
{
	struct iscsi_rx_direct *d = &conn->rx_direct;
	uint32_t pad = pad4(d->dlen);
	bool digest_error = false;
	if (conn->data_digest) {
		uint32_t crc = iscsi_crc32c(d->tail, pad, d->crc) ^ 0xffffffffu, sent;
		memcpy(&sent, d->tail + pad, 4); /* little-endian on the wire */
		digest_error = crc != sent;
	}
	d->active = false;
	conn->rx_expect_large = true;
	const uint8_t *data = d->immediate ? d->hold.out_buf
			      : d->task	   ? d->task->cmd.out_buf + d->offset
					   : NULL;
	conn->last_rx_ms = reactor_now_ms();
	conn->in_rx = true;
	dispatch_full_feature(conn, d->bhs, data, d->dlen, digest_error);
	conn->in_rx = false;
	/* Not adopted by a task (a Reject, a command dropped): freed. */
	uscst_cmd_release(&d->hold);
	d->task = NULL;
}

/* iovecs for the rest of the direct PDU: data, then tail.  *whole: they
 * reach its end (else bytes after them are still its own). */
static int rx_direct_iov(struct iscsi_conn *conn, struct iovec *iov, bool *whole)
{
	struct iscsi_rx_direct *d = &conn->rx_direct;
	int n = 0;
	*whole = true;
	if (d->got < d->dlen) {
		uint32_t len;
		iov[n].iov_base = rx_direct_dest(conn, &len);
		iov[n++].iov_len = len;
		if (len < d->dlen - d->got) {
			*whole = false; /* discarding in pieces */
			return n;
		}
	}
	iov[n].iov_base = d->tail + d->tail_got;
	iov[n++].iov_len = d->tail_len - d->tail_got;
	return n;
}

/* Takes what a read brought for the direct PDU out of n; returns the rest
 * (bytes that went to rx_buf). */
static size_t rx_direct_took_read(struct iscsi_conn *conn, const struct iovec *iov, int niov,
				  size_t n)
{
	struct iscsi_rx_direct *d = &conn->rx_direct;
	for (int i = 0; i < niov && n; i++) {
		size_t k = n < iov[i].iov_len ? n : iov[i].iov_len;
		if (iov[i].iov_base == d->tail + d->tail_got)
			d->tail_got += (uint32_t)k;
		else
			rx_direct_took(conn, iov[i].iov_base, (uint32_t)k);
		n -= k;
	}
	return n;
}

static bool rx_direct_done(const struct iscsi_conn *conn)
{
	const struct iscsi_rx_direct *d = &conn->rx_direct;
	return d->got == d->dlen && d->tail_got == d->tail_len;
}

/* Parses complete PDUs at the start of rx_buf; returns bytes consumed. */
static uint32_t process_rx(struct iscsi_conn *conn)
{
	uint32_t off = 0;
	while (conn->state != CONN_CLOSED && !conn->moving) {
		uint32_t avail = conn->rx_len - off;
		if (conn->rx_discard) {
			uint32_t n = avail < conn->rx_discard ? avail : conn->rx_discard;
			conn->rx_discard -= n;
			off += n;
			if (conn->rx_discard)
				break;
			continue;
		}
		const uint8_t *bhs = conn->rx_buf + off;
		struct pdu_frame f;
		enum pdu_frame_status st = iscsi_pdu_frame(bhs, avail, conn->header_digest,
							   conn->data_digest, data_limit(conn), &f);
		/* f.hdr_len is known (and the header checked) from here on. */
		bool have_hdr = avail >= ISCSI_BHS_LEN && avail >= f.hdr_len;
		if (st == PDU_NEED_MORE && have_hdr && rx_direct_start(conn, bhs, avail, &f)) {
			off += avail;
			break;
		}
		if (have_hdr)
			conn->rx_expect_large = false; /* a PDU not received in place */
		if (st == PDU_NEED_MORE) {
			if (!ensure_rx_cap(conn, f.total_len + ISCSI_BHS_LEN))
				iscsi_conn_close(conn, "out of memory");
			break;
		}
		if (st == PDU_HEADER_DIGEST_BAD) {
			/* Nothing in this header can be trusted, lengths included,
			 * so where the next PDU starts is unknown (no markers):
			 * RFC 7143 7.8 allows closing, at any ERL. */
			iscsi_conn_drop(conn, "header digest error");
			break;
		}
		if (st == PDU_DATA_TOO_LONG) {
			if (conn->state != CONN_FULL_FEATURE) {
				iscsi_conn_close(conn, "oversized data segment during login");
				break;
			}
			/* Skip the PDU but keep the connection: its header is sound. */
			iscsi_send_reject(conn, bhs, ISCSI_REJECT_PROTOCOL_ERROR);
			conn->rx_discard = f.total_len;
			continue;
		}
		if (rx_must_wait(conn, bhs)) {
			rx_pause(conn);
			break;
		}
		const uint8_t *data = f.data;
		uint32_t dlen = f.data_len;
		bool digest_error = f.data_digest_bad;
		off += f.total_len;
		conn->last_rx_ms = reactor_now_ms();
		if (conn->counted_idle) {
			conn->counted_idle = false;
			reactor_conn_idle_add(conn->reactor, -1);
		}
		if (conn->state == CONN_LOGIN)
			dispatch_login_phase(conn, bhs, data, dlen);
		else
			dispatch_full_feature(conn, bhs, data, dlen, digest_error);
	}
	return off;
}

/* Processes what rx_buf holds and keeps the unprocessed rest at its start. */
static void rx_process(struct iscsi_conn *conn)
{
	conn->in_rx = true;
	uint32_t used = process_rx(conn);
	conn->in_rx = false;
	if (conn->state == CONN_CLOSED)
		return;
	memmove(conn->rx_buf, conn->rx_buf + used, conn->rx_len - used);
	conn->rx_len -= used;
}

/* Reads at most RX_EVENT_BUDGET bytes, processing them as they come. */
static void conn_read(struct iscsi_conn *conn)
{
	uint32_t budget = RX_EVENT_BUDGET;
	while (budget && !conn->rx_paused && conn->state != CONN_CLOSED && !conn->moving) {
		struct iovec iov[3];
		int ndirect = 0;
		bool whole = true;
		size_t want = 0;
		if (conn->rx_direct.active) {
			ndirect = rx_direct_iov(conn, iov, &whole);
			for (int i = 0; i < ndirect; i++)
				want += iov[i].iov_len;
		}
		/* process_rx() leaves less than the PDU it waits for and made
		 * room for all of it, so there is room unless paused.  (rx_buf
		 * is empty while a PDU is received in place.) */
		uint32_t room = conn->rx_cap - conn->rx_len;
		uint32_t limit =
		    conn->rx_direct.active || conn->rx_expect_large ? RX_DIRECT_PEEK : budget;
		if (!whole)
			limit = 0;
		if (room > limit)
			room = limit;
		if (room == 0 && !ndirect) {
			iscsi_conn_drop(conn, "receive buffer full");
			return;
		}
		int niov = ndirect;
		if (room) {
			iov[niov].iov_base = conn->rx_buf + conn->rx_len;
			iov[niov++].iov_len = room;
			want += room;
		}
		ssize_t n = readv(conn->fd, iov, niov);
		if (n == 0) {
			iscsi_conn_close(conn, "connection closed by peer");
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				iscsi_conn_close(conn, strerror(errno));
			return;
		}
		budget -= (size_t)n < budget ? (uint32_t)n : budget;
		size_t rest = (size_t)n;
		if (ndirect) {
			rest = rx_direct_took_read(conn, iov, ndirect, rest);
			if (rx_direct_done(conn))
				rx_direct_finish(conn);
		}
		conn->rx_len += (uint32_t)rest;
		if (conn->state != CONN_CLOSED)
			rx_process(conn);
		if ((size_t)n < want)
			return; /* the socket is drained */
	}
}

static void conn_rx_kicked(struct reactor_deferred *d)
{
	struct iscsi_conn *conn =
	    (struct iscsi_conn *)((char *)d - offsetof(struct iscsi_conn, rx_kick));
	if (conn->state != CONN_CLOSED && !conn->rx_paused) {
		rx_process(conn);
		if (conn->state != CONN_CLOSED)
			iscsi_conn_flush(conn);
	}
	iscsi_conn_put(conn);
}

static void conn_on_event(struct reactor_event *ev, uint32_t events)
{
	struct iscsi_conn *conn =
	    (struct iscsi_conn *)((char *)ev - offsetof(struct iscsi_conn, ev));
	/* Closed earlier in this epoll batch: the memory is still valid (the
	 * teardown runs after the batch), the socket is gone. */
	if (conn->state == CONN_CLOSED)
		return;
	iscsi_conn_get(conn);
	if (conn->rx_paused && (events & (EPOLLHUP | EPOLLERR)))
		/* Reported whatever the mask; not reading, we would spin. */
		iscsi_conn_close(conn, "connection reset while not reading");
	else if (!conn->rx_paused && (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)))
		conn_read(conn);
	if (conn->state != CONN_CLOSED)
		iscsi_conn_flush(conn);
	iscsi_conn_put(conn);
}

static uint32_t rsp_timeout_s(const struct iscsi_conn *conn)
{
	return conn->sess ? conn->sess->lim.rsp_timeout : DEFAULT_RSP_TIMEOUT_S;
}

/* --- moving to another reactor (a connection joining a session) --- */

static void conn_move_arrive(void *arg)
{
	struct iscsi_conn *conn = arg;
	conn->reactor = reactor_current();
	conn->moving = false;
	reactor_add_ticker(conn->reactor, &conn->ticker);
	uint32_t ev = EPOLLIN | EPOLLRDHUP | (conn->want_write ? EPOLLOUT : 0);
	if (reactor_add_fd(conn->reactor, conn->fd, ev, &conn->ev) < 0) {
		iscsi_conn_close(conn, "epoll registration failed");
		iscsi_conn_put(conn);
		return;
	}
	log_debug("%s: moved to the session's reactor", conn->peer);
	conn->move_arrived(conn, conn->move_arg);
	if (conn->state != CONN_CLOSED && conn->rx_len)
		iscsi_conn_defer(conn, &conn->rx_kick, conn_rx_kicked); /* bytes that came along */
	if (conn->state != CONN_CLOSED)
		iscsi_conn_flush(conn);
	iscsi_conn_put(conn); /* iscsi_conn_move's */
}

/* At the end of the batch on the old reactor: no handler of this one is on
 * the stack, and once its fd and ticker are gone nothing here refers to the
 * connection any more. */
static void conn_move_leave(struct reactor_deferred *d)
{
	struct iscsi_conn *conn =
	    (struct iscsi_conn *)((char *)d - offsetof(struct iscsi_conn, move_kick));
	if (conn->state == CONN_CLOSED) {
		iscsi_conn_put(conn);
		return;
	}
	struct reactor *from = conn->reactor, *to = conn->move_to;
	reactor_del_ticker(from, &conn->ticker);
	reactor_del_fd(from, conn->fd);
	if (conn->counted_idle) {
		conn->counted_idle = false;
		reactor_conn_idle_add(from, -1);
	}
	reactor_conn_count_add(to, 1);
	reactor_conn_count_add(from, -1);
	if (reactor_post(to, conn_move_arrive, conn) < 0) {
		reactor_conn_count_add(from, 1);
		reactor_conn_count_add(to, -1);
		reactor_add_ticker(from, &conn->ticker);
		iscsi_conn_close(conn, "cannot move to the session's reactor");
		iscsi_conn_put(conn);
	}
}

void iscsi_conn_move(struct iscsi_conn *conn, struct reactor *to,
		     void (*arrived)(struct iscsi_conn *conn, void *arg), void *arg)
{
	conn->moving = true;
	conn->move_to = to;
	conn->move_arrived = arrived;
	conn->move_arg = arg;
	iscsi_conn_defer(conn, &conn->move_kick, conn_move_leave);
}

static void conn_on_tick(struct reactor_ticker *t, uint64_t now_ms)
{
	struct iscsi_conn *conn =
	    (struct iscsi_conn *)((char *)t - offsetof(struct iscsi_conn, ticker));
	iscsi_conn_get(conn);
	if (conn->state == CONN_CLOSED) { /* only a connection that retains tasks ticks */
		iscsi_retain_tick(conn, now_ms);
		iscsi_conn_put(conn);
		return;
	}
	iscsi_nop_tick(conn, now_ms);
	/* RspTimeout: responses pending and none of their bytes written.
	 * now_ms was read before the NOP tick, which may have just queued a
	 * ping and stamped tx_progress_ms a millisecond later: compare
	 * without subtracting, or the difference wraps and an idle
	 * connection is dropped right after its keep-alive ping. */
	uint64_t limit_ms = (uint64_t)rsp_timeout_s(conn) * 1000;
	if (conn->state == CONN_LOGIN && now_ms >= conn->login_deadline_ms) {
		char why[64];
		snprintf(why, sizeof(why), "login not complete within %u s (LoginTimeout)",
			 iscsi_login_timeout_s());
		iscsi_conn_close(conn, why);
	}
	if (conn->state != CONN_CLOSED && !list_empty(&conn->tx_queue) &&
	    now_ms >= conn->tx_progress_ms + limit_ms) {
		char why[96];
		snprintf(why, sizeof(why), "%llu bytes unsent, none written for %u s (RspTimeout)",
			 (unsigned long long)conn->tx_bytes, rsp_timeout_s(conn));
		iscsi_conn_drop(conn, why);
	}
	/* Placement of new connections weighs idle ones less. */
	if (!conn->counted_idle && now_ms >= conn->last_rx_ms + CONN_IDLE_MS) {
		conn->counted_idle = true;
		reactor_conn_idle_add(conn->reactor, 1);
	}
	if (conn->state != CONN_CLOSED) {
		iscsi_conn_publish_mem(conn); /* what completed since is given back */
		/* WRITEs parked by the daemon's total look again: other
		 * connections may have given memory back. */
		iscsi_write_gate_kick(conn);
		iscsi_nop_window_update(conn);
		iscsi_conn_flush(conn);
	}
	iscsi_conn_put(conn);
}
