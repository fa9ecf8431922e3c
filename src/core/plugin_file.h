/*
 * Opening a handler plugin's file so that what was checked is what gets
 * loaded: its code runs inside uscstd (as root until --user drops it).
 */
#ifndef USCST_CORE_PLUGIN_FILE_H
#define USCST_CORE_PLUGIN_FILE_H

#include <stddef.h>

/* An O_RDONLY|O_CLOEXEC descriptor of the absolute path's regular file,
 * or -errno with the reason in err ("plugin PATH: ...").  Refused
 * (-EPERM): a symbolic link as the file; a file or any directory on the
 * way owned by neither root nor our effective uid; a file writable by
 * group or others; a directory so writable without the sticky bit.
 * dlopen("/proc/self/fd/N") then loads exactly the checked file. */
int plugin_file_open(const char *path, char *err, size_t errlen);

#endif
