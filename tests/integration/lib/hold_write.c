/*
 * hold_write.c - an LD_PRELOAD shim that holds a run still at a point a test
 * chooses, so that it can signal the run there however slow the machine:
 * the first write(2) to a file whose path contains $CF_HOLD_MATCH and whose
 * bytes contain every '|'-separated part of $CF_HOLD_TEXT is made whole;
 * then the writing thread creates the file $CF_HOLD_FLAG and waits until
 * the file $CF_HOLD_RELEASE exists (at most 300 s, so that a test that
 * died never leaves a run held for good). Other writes go through as usual.
 *
 * Built by the test that uses it (cc -shared -fPIC), never linked into
 * cardforge.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fd_path.h"

static int held; /* set once: only the first matching write is held */

/* Every '|'-separated part of text in the n bytes of buf. */
static int has_parts(const char *buf, size_t n, const char *text)
{
    char part[256];
    while (*text) {
        size_t len = strcspn(text, "|");
        if (len == 0 || len >= sizeof(part))
            return 0;
        memcpy(part, text, len);
        part[len] = '\0';
        if (memmem(buf, n, part, len) == NULL)
            return 0;
        text += len + (text[len] == '|');
    }
    return 1;
}

static int matches(int fd, const void *buf, size_t n)
{
    const char *match = getenv("CF_HOLD_MATCH"), *text = getenv("CF_HOLD_TEXT");
    if (match == NULL || text == NULL || __atomic_load_n(&held, __ATOMIC_SEQ_CST))
        return 0;
    if (!fd_path_has(fd, match) || !has_parts(buf, n, text))
        return 0;
    int was = 0;
    return __atomic_compare_exchange_n(&held, &was, 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static void hold(void)
{
    const char *flag = getenv("CF_HOLD_FLAG"), *release = getenv("CF_HOLD_RELEASE");
    if (flag != NULL) {
        int fd = open(flag, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0)
            close(fd);
    }
    struct timespec tick = {0, 10 * 1000 * 1000};
    for (int i = 0; release != NULL && i < 30000 && access(release, F_OK) != 0; i++)
        nanosleep(&tick, NULL);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    ssize_t (*real)(int, const void *, size_t) =
        (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
    int hit = matches(fd, buf, n);
    ssize_t rc = real(fd, buf, n);
    if (hit)
        hold();
    return rc;
}
