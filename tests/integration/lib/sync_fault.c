/*
 * sync_fault.c - an LD_PRELOAD shim for the journal fault tests: fdatasync
 * and fsync on a file whose path contains $CF_SYNC_FAULT_MATCH fail with EIO
 * from the $CF_SYNC_FAULT_AFTER-th such call on (1: the first), as a disk
 * that stopped taking writes would. Other files are synced as usual.
 *
 * Built by the test that uses it (cc -shared -fPIC), never linked into
 * cardforge.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fd_path.h"

static unsigned long calls;

static int should_fail(int fd)
{
    const char *match = getenv("CF_SYNC_FAULT_MATCH");
    const char *after = getenv("CF_SYNC_FAULT_AFTER");
    if (match == NULL || after == NULL)
        return 0;
    if (!fd_path_has(fd, match))
        return 0;
    return __atomic_add_fetch(&calls, 1, __ATOMIC_SEQ_CST) >= strtoul(after, NULL, 10);
}

/* The shimmed call: EIO when it should fail, else the real one. */
static int sync_call(const char *name, int fd)
{
    if (should_fail(fd)) {
        errno = EIO;
        return -1;
    }
    int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, name);
    return real(fd);
}

int fdatasync(int fd)
{
    return sync_call("fdatasync", fd);
}

int fsync(int fd)
{
    return sync_call("fsync", fd);
}
