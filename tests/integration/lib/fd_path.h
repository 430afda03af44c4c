/*
 * fd_path.h - for the tests' LD_PRELOAD shims (sync_fault.c, hold_write.c),
 * each built alone by the test that uses it: does the file open on fd have
 * a path that contains match?
 */
#ifndef CF_TEST_FD_PATH_H
#define CF_TEST_FD_PATH_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int fd_path_has(int fd, const char *match)
{
    char link[64], path[4096];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof(path) - 1);
    if (n <= 0)
        return 0;
    path[n] = '\0';
    return strstr(path, match) != NULL;
}

#endif
