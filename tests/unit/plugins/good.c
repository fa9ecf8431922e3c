/* Test plugin: registers handler "tp_good", a 1 MiB disk whose reads
 * return 0xa5 bytes and whose writes fail, completed through
 * host->async_begin/async_done on the submitting thread; a FLUSH completes
 * from a thread of the plugin's own. */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include <uscst/handler.h>

static const struct uscst_handler_host *host;

static int tp_open(struct uscst_device *dev)
{
	if (!host->device_size(dev))
		host->device_set_size(dev, 1 << 20);
	return 0;
}

static void tp_close(struct uscst_device *dev) {}

static void *complete_later(void *arg)
{
	usleep(20000); /* the reactor is back in its loop by now */
	host->async_done(arg, 0);
	return NULL;
}

static void tp_submit(struct uscst_device *dev, struct uscst_io *io)
{
	struct uscst_handler_async *a = (struct uscst_handler_async *)io->backend_priv;
	host->async_begin(a, io);
	pthread_t t;
	if (io->op == USCST_IO_FLUSH && pthread_create(&t, NULL, complete_later, a) == 0) {
		pthread_detach(t);
		return;
	}
	if (io->op == USCST_IO_READ)
		host->iov_memset(io->iov, io->iovcnt, 0, 0xa5, io->len);
	host->async_done(a, io->op == USCST_IO_WRITE ? -EIO : (int64_t)io->len);
}

static const struct uscst_attr_def tp_attrs[] = {
    {.name = "colour", .type = USCST_ATTR_STRING, .def = "blue"},
    {.name = NULL},
};

static const struct uscst_backend_ops tp_ops = {
    .name = "tp_good",
    .dev_attrs = tp_attrs,
    .open = tp_open,
    .close = tp_close,
    .submit = tp_submit,
    .cmdset = "sbc",
};

static int started;

static int tp_init(const struct uscst_handler_host *h)
{
	host = h;
	return h->backend_register(&tp_ops, USCST_BACKEND_ABI);
}

static int tp_start(void)
{
	started++;
	return 0;
}

static void tp_stop(void) { started--; }

/* For the test: how many times start() ran minus stop(). */
__attribute__((visibility("default"))) int tp_good_started(void) { return started; }

USCST_HANDLER_PLUGIN(.name = "test plugin", .init = tp_init, .start = tp_start, .stop = tp_stop);

/* For the test: the host table the plugin got. */
__attribute__((visibility("default"))) const struct uscst_handler_host *tp_good_host(void)
{
	return host;
}
