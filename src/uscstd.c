/*
 * uscstd — the uscst SCSI target daemon.
 *
 *   uscstd -c FILE [--listen ADDR:PORT]... [-f] [--ctl-socket PATH]
 *   uscstd --default-config [--data-dir DIR] ...
 *   [--pr-dir DIR]: where persistent reservations are kept (see usage)
 *   [--user NAME] [--ctl-group NAME]: privileges (lib/privileges.h)
 *   [--metrics ADDR:PORT]: Prometheus /metrics (metrics/metrics_server.h)
 *   [--log stderr|syslog] [--log-level LEVEL] [--stop-timeout SECONDS]
 *
 * SIGTERM or SIGINT stops it gracefully (graceful_stop below); under
 * systemd (Type=notify) it says READY=1 once it serves, STOPPING=1 then.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "backend/builtin.h"
#include "config/conf_apply.h"
#include "config/conf_default.h"
#include "config/conf_writer.h"
#include "core/core.h"
#include "core/handler_plugin.h"
#include "core/stats.h"
#include "core/transports.h"
#include "ctl/ctl_config.h"
#include "ctl/ctl_server.h"
#include "iscsi/driver.h"
#include "lib/log.h"
#include "lib/privileges.h"
#include "lib/sd_notify.h"
#include "metrics/metrics_server.h"
#include "reactor/reactor.h"
#include "scsi/scsi.h"

#define DEFAULT_PR_DIR "/var/lib/uscst/pr"
#define MAX_LISTEN 16
#define DEFAULT_STOP_TIMEOUT_S 10
#define MAX_STOP_TIMEOUT_S 3600
/* The devices' FLUSHes at a stop have their own bound, after the sessions'. */
#define FLUSH_TIMEOUT_MS 30000

struct options {
	const char *config_file;
	bool default_config;
	const char *data_dir;
	const char *pr_dir;
	const char *listen[MAX_LISTEN];
	size_t nlisten;
	bool foreground;
	const char *ctl_socket;
	unsigned threads;
	const char *user; /* --user: drop to it once the portals are bound */
	struct priv_user run_as;
	gid_t ctl_group;	 /* --ctl-group, or CTL_NO_GROUP */
	unsigned stop_timeout_s; /* --stop-timeout */
	enum log_target log_target;
	const char *metrics; /* --metrics ADDR:PORT, or NULL: no HTTP server */
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: uscstd -c FILE [options]\n"
		"       uscstd --default-config [options]\n"
		"\n"
		"  -c, --config FILE       scst.conf-style configuration to load (SIGHUP\n"
		"                          re-reads it and applies the difference)\n"
		"      --default-config    use the embedded default configuration (target\n"
		"                          " CONF_DEFAULT_TARGET ", LUN 0 a 1 GiB sparse file)\n"
		"      --data-dir DIR      where the default configuration keeps its disk image\n"
		"                          (default: current directory)\n"
		"      --pr-dir DIR        PR state of devices without pr_file_name goes to\n"
		"                          DIR/<device> (default " DEFAULT_PR_DIR ";\n"
		"                          with --default-config: <data-dir>/pr)\n"
		"  -l, --listen ADDR:PORT  portal (iSCSI's); repeatable; overrides the file's\n"
		"                          portals (default 0.0.0.0:3260)\n"
		"  -f, --foreground        stay in the foreground\n"
		"  -s, --ctl-socket PATH   control socket (default " CTL_DEFAULT_SOCKET ")\n"
		"      --ctl-group NAME    control socket mode 0660, group NAME (default:\n"
		"                          0600, the daemon's user only)\n"
		"  -u, --user NAME         after binding the portals, opening the devices\n"
		"                          and the control socket, run as NAME (its uid and\n"
		"                          primary group, no other groups); refuse to start\n"
		"                          if that fails\n"
		"      --metrics ADDR:PORT serve the I/O statistics at http://ADDR:PORT/metrics\n"
		"                          (Prometheus text format; e.g. 127.0.0.1:9470)\n"
		"  -t, --threads N         reactor threads (default: online CPUs)\n"
		"      --stop-timeout S    on SIGTERM/SIGINT, sessions are asked to log out\n"
		"                          and get S seconds to finish their commands before\n"
		"                          they are dropped (default %d)\n"
		"      --log TARGET        stderr (default) or syslog (facility daemon)\n"
		"      --log-level LEVEL   err, warn, info (default) or debug\n"
		"  -d, --debug             debug logging (--log-level debug)\n"
		"  -h, --help              this text\n",
		DEFAULT_STOP_TIMEOUT_S);
}

static int parse_args(int argc, char **argv, struct options *o)
{
	enum {
		OPT_DEFAULT_CONFIG = 256,
		OPT_DATA_DIR,
		OPT_PR_DIR,
		OPT_CTL_GROUP,
		OPT_STOP_TIMEOUT,
		OPT_LOG,
		OPT_LOG_LEVEL,
		OPT_METRICS,
	};
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"default-config", no_argument, NULL, OPT_DEFAULT_CONFIG},
	    {"data-dir", required_argument, NULL, OPT_DATA_DIR},
	    {"pr-dir", required_argument, NULL, OPT_PR_DIR},
	    {"listen", required_argument, NULL, 'l'},
	    {"foreground", no_argument, NULL, 'f'},
	    {"ctl-socket", required_argument, NULL, 's'},
	    {"ctl-group", required_argument, NULL, OPT_CTL_GROUP},
	    {"user", required_argument, NULL, 'u'},
	    {"metrics", required_argument, NULL, OPT_METRICS},
	    {"threads", required_argument, NULL, 't'},
	    {"stop-timeout", required_argument, NULL, OPT_STOP_TIMEOUT},
	    {"log", required_argument, NULL, OPT_LOG},
	    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
	    {"debug", no_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	char err[160];
	int c;
	o->ctl_group = CTL_NO_GROUP;
	o->stop_timeout_s = DEFAULT_STOP_TIMEOUT_S;
	enum log_level level;
	char *end;
	while ((c = getopt_long(argc, argv, "c:l:fs:u:t:dh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config_file = optarg;
			break;
		case OPT_DEFAULT_CONFIG:
			o->default_config = true;
			break;
		case OPT_DATA_DIR:
			o->data_dir = optarg;
			break;
		case OPT_PR_DIR:
			o->pr_dir = optarg;
			break;
		case 'l':
			if (o->nlisten >= MAX_LISTEN) {
				fprintf(stderr, "uscstd: too many --listen (at most %d)\n",
					MAX_LISTEN);
				return -1;
			}
			o->listen[o->nlisten++] = optarg;
			break;
		case 'f':
			o->foreground = true;
			break;
		case 's':
			o->ctl_socket = optarg;
			break;
		case 'u':
			o->user = optarg;
			break;
		case OPT_CTL_GROUP:
			if (priv_lookup_group(optarg, &o->ctl_group, err, sizeof(err)) < 0) {
				fprintf(stderr, "uscstd: --ctl-group: %s\n", err);
				return -1;
			}
			break;
		case OPT_METRICS:
			o->metrics = optarg;
			break;
		case 't':
			o->threads = (unsigned)atoi(optarg);
			if (o->threads < 1 || o->threads > 256) {
				fprintf(stderr, "uscstd: --threads must be 1..256\n");
				return -1;
			}
			break;
		case OPT_STOP_TIMEOUT:
			errno = 0;
			unsigned long t = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-' ||
			    t > MAX_STOP_TIMEOUT_S) {
				fprintf(stderr, "uscstd: --stop-timeout must be 0..%d seconds\n",
					MAX_STOP_TIMEOUT_S);
				return -1;
			}
			o->stop_timeout_s = (unsigned)t;
			break;
		case OPT_LOG:
			if (!log_target_parse(optarg, &o->log_target)) {
				fprintf(stderr, "uscstd: --log must be stderr or syslog\n");
				return -1;
			}
			break;
		case OPT_LOG_LEVEL:
			if (!log_level_parse(optarg, &level)) {
				fprintf(stderr,
					"uscstd: --log-level must be err, warn, info or debug\n");
				return -1;
			}
			log_max_level = level;
			break;
		case 'd':
			log_max_level = LOG_DEBUG;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "uscstd: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (!o->config_file == !o->default_config) {
		fprintf(stderr, "uscstd: give exactly one of -c FILE and --default-config\n");
		usage(stderr);
		return -1;
	}
	/* Looked up now, so that a wrong name stops us before anything starts. */
	if (o->user && (priv_lookup_user(o->user, &o->run_as, err, sizeof(err)) < 0 ||
			priv_check_user(&o->run_as, err, sizeof(err)) < 0)) {
		fprintf(stderr, "uscstd: --user: %s\n", err);
		return -1;
	}
	return 0;
}

/* The default PR directory, set before the devices open (they load their
 * PR files then).  --default-config keeps it next to its disk image, so
 * `make run` needs no root-owned path. */
static int set_pr_dir(const struct options *o)
{
	char *dir = NULL;
	if (!o->pr_dir && o->default_config &&
	    asprintf(&dir, "%s/pr", o->data_dir ? o->data_dir : ".") < 0) {
		fprintf(stderr, "uscstd: out of memory\n");
		return -1;
	}
	bool ok = uscst_set_pr_dir(dir ? dir : o->pr_dir ? o->pr_dir : DEFAULT_PR_DIR);
	free(dir);
	if (!ok) {
		fprintf(stderr, "uscstd: out of memory\n");
		return -1;
	}
	return 0;
}

static int load_config(const struct options *o, struct conf_result *res)
{
	char err[512];
	int rc;
	if (set_pr_dir(o) < 0)
		return -1;
	if (o->default_config) {
		char *text = conf_default_text(o->data_dir ? o->data_dir : ".");
		if (!text) {
			fprintf(stderr, "uscstd: out of memory\n");
			return -1;
		}
		rc = conf_load_text(text, CONF_DEFAULT_NAME, res, err, sizeof(err));
		free(text);
	} else {
		rc = conf_load_file(o->config_file, res, err, sizeof(err));
	}
	if (rc < 0) {
		fprintf(stderr, "uscstd: %s\n", err);
		return -1;
	}
	return 0;
}

/* The transports built into this daemon; the rest of it reaches them only
 * through the registry (core/transports.h). */
static const struct uscst_transport *const builtin_transports[] = {
    &iscsi_driver,
};

static int register_transports(void)
{
	for (size_t i = 0; i < sizeof(builtin_transports) / sizeof(builtin_transports[0]); i++) {
		int rc = uscst_transport_register(builtin_transports[i], USCST_TRANSPORT_ABI);
		if (rc < 0) {
			fprintf(stderr, "uscstd: cannot register transport '%s': %s\n",
				builtin_transports[i]->name, strerror(-rc));
			return -1;
		}
	}
	return 0;
}

/* --listen replaces the configured portals of every transport with a
 * `listen` attribute; each transport then starts on its attributes. */
static int start_transports(const struct options *o)
{
	if (o->nlisten) {
		int n = uscst_transports_replace_driver_attr("listen", o->listen, o->nlisten);
		if (n < 0) {
			fprintf(stderr, "uscstd: out of memory\n");
			return -1;
		}
		if (n == 0)
			log_warn("--listen: no transport has a listen attribute");
	}
	char err[256];
	if (uscst_transports_start(err, sizeof(err)) < 0) {
		fprintf(stderr, "uscstd: %s\n", err);
		return -1;
	}
	return 0;
}

static unsigned default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
}

/*
 * Every connection and every device costs a descriptor, and the usual soft
 * limit (1024) is far below MaxConnections' default: a daemon that runs
 * out would refuse initiators at accept() long before its own limits say
 * so.  The soft limit goes up to the hard one, which the administrator
 * sets (systemd's LimitNOFILE=, ulimit -Hn).
 */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rlim_t was = rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_warn("cannot raise the descriptor limit from %llu: %s", (unsigned long long)was,
			 strerror(errno));
	else
		log_info("descriptor limit raised from %llu to %llu", (unsigned long long)was,
			 (unsigned long long)rl.rlim_cur);
}

/* Tells systemd (Type=notify) where we are; nothing without systemd. */
static void notify(const char *state)
{
	int rc = sd_notify_send(state);
	if (rc < 0)
		log_warn("cannot tell systemd %s: %s", state, strerror(-rc));
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * SIGTERM/SIGINT: no new connection or login; every session is asked to
 * log out within timeout_s seconds (iSCSI: Async Message, event 1), and
 * its commands finish meanwhile; what is still open after that is
 * dropped (and logged).  A second signal cuts the wait short.  Then every
 * device is flushed (PR files are written durably when they change),
 * and the process exits 0 either way: the stop itself did what it could.
 */
static void graceful_stop(unsigned timeout_s, const sigset_t *signals)
{
	uscst_transports_quiesce(timeout_s);
	uint64_t start = now_ms(), deadline = start + (uint64_t)timeout_s * 1000;
	unsigned open;
	bool cut_short = false;
	while ((open = uscst_transports_active()) && now_ms() < deadline) {
		struct timespec tick = {.tv_nsec = 20 * 1000000};
		/* A SIGHUP now (a reload) is not a second stop signal. */
		int sig = sigtimedwait(signals, NULL, &tick);
		if (sig > 0 && sig != SIGHUP) {
			cut_short = true;
			break;
		}
	}
	if (open)
		log_warn("stop: %u connection(s) still open %s after %.1f s: dropped", open,
			 cut_short ? "at a second signal" : "at --stop-timeout",
			 (double)(now_ms() - start) / 1000);
	else
		log_info("stop: every session ended within %.1f s",
			 (double)(now_ms() - start) / 1000);
	uscst_transports_stop();
	/* /metrics served until here: the drain can be watched. */
	metrics_server_stop();
	ctl_server_stop();
	int rc = uscst_devices_flush(FLUSH_TIMEOUT_MS);
	if (rc == 0)
		log_info("stop: devices flushed");
	else
		log_warn("stop: devices not all flushed: %s", strerror(-rc));
	uscst_handler_plugins_stop();
	reactors_stop();
}

/* Command buffers above 128 KiB (lib/buf_pool beyond its per-thread
 * cache) are mmapped and go back to the kernel when freed, so the RSS
 * follows what MaxBufferMemory counts.  glibc otherwise raises this
 * threshold after the first such free and serves them from the heap, where
 * page-aligned 1 MiB buffers fragment it: 64 sessions of 1 MiB WRITEs at
 * QD32 against MaxBufferMemory 256 peaked at +560 MiB RSS instead of +323
 * (tests/integration/bounds-writes.sh).  A fixed value turns the dynamic
 * one off. */
static void fix_mmap_threshold(void)
{
	if (!mallopt(M_MMAP_THRESHOLD, 128 * 1024))
		log_warn("mallopt(M_MMAP_THRESHOLD) failed: command buffers may stay in the heap");
}

int main(int argc, char **argv)
{
	struct options o = {0};
	fix_mmap_threshold();
	if (parse_args(argc, argv, &o) < 0)
		return 2;
	if (o.log_target != LOG_TO_STDERR)
		log_set_target(o.log_target);
	signal(SIGPIPE, SIG_IGN);
	struct conf_result res = {0};
	/* Before the configuration: a device takes its command set when it is
	 * created. */
	if (!scsi_register_cmdsets()) {
		fprintf(stderr, "uscstd: cannot register the SCSI command sets\n");
		return 1;
	}
	raise_fd_limit();
	unsigned threads = o.threads ? o.threads : default_threads();
	/* Before the configuration creates the counted objects: a counter
	 * slot for each reactor, and one for the odd other thread. */
	uscst_stats_set_threads(threads + 1);
	if (uscst_backends_register_builtin() < 0 || register_transports() < 0 ||
	    load_config(&o, &res) < 0)
		return 1;
	if (!o.foreground && daemon(1, 1) < 0) {
		fprintf(stderr, "uscstd: daemon: %s\n", strerror(errno));
		return 1;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* threads inherit the mask */
	if (reactors_start(threads) < 0) {
		fprintf(stderr, "uscstd: cannot start reactors\n");
		return 1;
	}
	char err[512];
	/* Handler plugins start their threads now, after the fork of
	 * daemon() and with the reactors their completions go to. */
	if (uscst_handler_plugins_start(err, sizeof(err)) < 0) {
		fprintf(stderr, "uscstd: %s\n", err);
		reactors_stop();
		return 1;
	}
	if (start_transports(&o) < 0)
		return 1;
	/* Absolute: SIGHUP re-reads it whatever the working directory. */
	char *startup = o.config_file ? realpath(o.config_file, NULL) : NULL;
	if (!ctl_config_set_startup_file(startup ? startup : o.config_file))
		log_warn("out of memory: SIGHUP will not re-read %s", o.config_file);
	free(startup);
	if (ctl_server_start(o.ctl_socket, o.ctl_group, err, sizeof(err)) < 0)
		log_warn("control socket disabled: %s", err);
	/* Asked for explicitly: not serving it is an error (a port below
	 * 1024 is bound before privileges are dropped). */
	if (o.metrics && metrics_server_start(o.metrics, err, sizeof(err)) < 0) {
		log_err("%s", err);
		uscst_transports_stop();
		ctl_server_stop();
		uscst_handler_plugins_stop();
		reactors_stop();
		return 1;
	}
	/* Everything that needs root is done: ports below 1024 are bound, the
	 * devices and the control socket are open.  No connection has been
	 * accepted yet: the transports serve only after this (below), so no
	 * initiator ever talks to a root process. */
	if (o.user) {
		if (priv_drop(&o.run_as, err, sizeof(err)) < 0) {
			log_err("--user %s: cannot drop privileges: %s", o.user, err);
			uscst_transports_stop();
			metrics_server_stop();
			ctl_server_stop();
			uscst_handler_plugins_stop();
			reactors_stop();
			return 1;
		}
		log_info("running as user %s (uid %u, gid %u)", o.user, (unsigned)o.run_as.uid,
			 (unsigned)o.run_as.gid);
	}
	if (uscst_transports_serve(err, sizeof(err)) < 0) {
		log_err("%s", err);
		uscst_transports_stop();
		metrics_server_stop();
		ctl_server_stop();
		uscst_handler_plugins_stop();
		reactors_stop();
		return 1;
	}
	log_info("uscstd %s ready with %u reactor threads", USCST_VERSION, threads);
	notify("READY=1");
	int sig = 0;
	/* SIGHUP: the control thread re-applies the start-up file (never
	 * this thread, never a reactor: changes are made one at a time). */
	while (sigwait(&set, &sig) == 0 && sig == SIGHUP)
		ctl_server_reload();
	log_info("%s: stopping", strsignal(sig));
	notify("STOPPING=1");
	graceful_stop(o.stop_timeout_s, &set);
	conf_result_free(&res);
	log_info("stopped");
	return 0;
}
