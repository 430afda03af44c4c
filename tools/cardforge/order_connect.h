/*
 * order_connect.h - the order database for a command (`order`, `report`).
 */
#ifndef CF_TOOLS_ORDER_CONNECT_H
#define CF_TOOLS_ORDER_CONNECT_H

#include <cardforge/diag.h>
#include <cardforge/order.h>

/* A diagnostics list and a connection: CF_EXIT_OK with both set (the caller
 * frees them), or the exit status after the problem was printed. */
int order_connect(const char *conninfo, cf_diag_list_t **diags, cf_order_db_t **db);

#endif
