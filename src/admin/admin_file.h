/*
 * uscstadmin's own file work for `config write` and `config apply`: the
 * files are read and written here, with the rights of the user who runs
 * uscstadmin, never by the daemon (which may run as root, or as another
 * user after --user): a client cannot make the daemon write or read a path
 * of its choosing.
 */
#ifndef USCST_ADMIN_ADMIN_FILE_H
#define USCST_ADMIN_ADMIN_FILE_H

#include <stddef.h>

/*
 * Replaces path with text atomically: a new file in the same directory
 * (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600 as a configuration may hold CHAP
 * secrets), written, fsync'd, renamed over path, then the directory
 * fsync'd; so path is either the old file or the whole new one, even after
 * a crash.  A symlink at path is replaced, not followed.  0, or -1 with a
 * message in err (the temporary file removed).
 */
int admin_write_atomic(const char *path, const char *text, char *err, size_t errlen);

/* The whole of a text file of at most max bytes; malloc'd, NUL-terminated,
 * its length in *len; NULL with a message. */
char *admin_read_file(const char *path, size_t max, size_t *len, char *err, size_t errlen);

#endif
