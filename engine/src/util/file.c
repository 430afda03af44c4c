/*
 * file.c - opening an input that must be a regular file (see file.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/file.h"

const char *cf_file_kind(mode_t mode)
{
    if (S_ISFIFO(mode))
        return "FIFO";
    if (S_ISCHR(mode))
        return "character device";
    if (S_ISBLK(mode))
        return "block device";
    if (S_ISDIR(mode))
        return "directory";
    if (S_ISSOCK(mode))
        return "socket";
    return S_ISREG(mode) ? "regular file" : "special file";
}

int cf_open_regular(const char *path, struct stat *st, char *why, size_t whylen)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, whylen, "%s", strerror(errno));
        return -1;
    }
    int e = 0;
    if (fstat(fd, st) != 0) {
        e = errno;
        snprintf(why, whylen, "%s", strerror(e));
    } else if (!S_ISREG(st->st_mode)) {
        e = EINVAL;
        snprintf(why, whylen, "refused: not a regular file (a %s)", cf_file_kind(st->st_mode));
    } else {
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
            e = errno;
            snprintf(why, whylen, "%s", strerror(e));
        }
    }
    if (e != 0) {
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}
