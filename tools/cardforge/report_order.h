/*
 * report_order.h - `cardforge report --db CONNINFO --order ORDER`.
 */
#ifndef CF_TOOLS_REPORT_ORDER_H
#define CF_TOOLS_REPORT_ORDER_H

/* Print the order across its stations (JSON with json); an exit status. */
int report_order(const char *conninfo, const char *name, int json);

#endif
