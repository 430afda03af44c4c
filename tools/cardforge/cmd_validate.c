/* cmd_validate.c - `cardforge validate` (being written). */
#include <stdio.h>

#include "commands.h"

int cmd_validate(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "cardforge validate: not yet available\n");
    return CF_EXIT_USAGE;
}
