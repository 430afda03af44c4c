/*
 * process.c - keep the process's secrets out of core dumps.
 *
 * A core dump of cardforge or cardforge-vcard is a copy of every key the
 * process holds: the master keys, the keys derived for the cards in flight,
 * a card's whole state. The commands call cf_process_protect() before they
 * read any secret. It does two independent things, so that either alone is
 * enough:
 *
 *   - RLIMIT_CORE 0 (soft and hard): the kernel writes no core file for a
 *     fatal signal, whatever `ulimit -c` the shell had; lowering the hard
 *     limit means nothing later in the process can raise it again;
 *   - PR_SET_DUMPABLE 0: no core either, and neither ptrace by the same
 *     user nor reading /proc/PID/mem: a debugger needs root.
 *
 * A core_pattern that pipes to a program (systemd-coredump, apport) still
 * sees the rlimit: the kernel passes it, and such handlers honour 0; the
 * dumpable flag stops the dump before the handler runs at all.
 */
#include <errno.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <cardforge/secret.h>

cf_err_t cf_process_protect(void)
{
    struct rlimit none = {0, 0};
    int rl = setrlimit(RLIMIT_CORE, &none);
    int dp = prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    return rl == 0 && dp == 0 ? CF_OK : CF_ERR_PERMISSION;
}

int cf_process_protected(void)
{
    struct rlimit cur;
    if (getrlimit(RLIMIT_CORE, &cur) != 0)
        return 0;
    return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0 && cur.rlim_cur == 0 && cur.rlim_max == 0;
}
