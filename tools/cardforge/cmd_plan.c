/* cmd_plan.c - `cardforge plan` (being written). */
#include <stdio.h>

#include "commands.h"

int cmd_plan(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "cardforge plan: not yet available\n");
    return CF_EXIT_USAGE;
}
