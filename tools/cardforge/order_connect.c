/*
 * order_connect.c - the order database for a command; see order_connect.h.
 */
#include <stdio.h>

#include "commands.h"
#include "order_connect.h"

int order_connect(const char *conninfo, cf_diag_list_t **diags, cf_order_db_t **db)
{
    *db = NULL;
    *diags = cf_diag_list_new();
    if (*diags == NULL)
        return CF_EXIT_FAIL;
    cf_err_t e = cf_order_db_open(conninfo, *diags, db);
    if (e == CF_OK)
        return CF_EXIT_OK;
    cf_diag_print(*diags, stderr);
    cf_diag_list_free(*diags);
    *diags = NULL;
    return e == CF_ERR_ARG ? CF_EXIT_USAGE : CF_EXIT_FAIL;
}
