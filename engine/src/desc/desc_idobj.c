/*
 * desc_idobj.c - the CHUID's expiry date: parsing CHUIDExpiry and turning a
 * number of years into the date written on each card.
 *
 * SP 800-73-4 part 1 (CHUID, tag 35) wants the expiration date as eight
 * ASCII digits YYYYMMDD. A bureau either fixes the date for a batch or
 * gives a validity in years; the latter is counted from the day each card
 * is written (UTC), so a batch that runs over midnight gives its cards the
 * day they were made, as a card management system would.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "desc/desc_idobj.h"
#include "desc/desc_int.h"

static int leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in(int y, int m)
{
    static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : d[m - 1];
}

int cf_desc_parse_expiry(const char *v, char date[9], unsigned *years, char *msg, size_t msglen)
{
    size_t n = strlen(v);
    date[0] = 0;
    *years = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            n = 0; /* not all digits: reported below */
    }
    if (n == 8) {
        int y = (v[0] - '0') * 1000 + (v[1] - '0') * 100 + (v[2] - '0') * 10 + (v[3] - '0');
        int m = (v[4] - '0') * 10 + (v[5] - '0'), d = (v[6] - '0') * 10 + (v[7] - '0');
        if (y < 2000 || y > 2099 || m < 1 || m > 12 || d < 1 || d > days_in(y, m)) {
            snprintf(msg, msglen, "CHUIDExpiry: %.8s is not a date from 20000101 to 20991231", v);
            return -1;
        }
        memcpy(date, v, 9);
        return 0;
    }
    if (n >= 1 && n <= 2) {
        unsigned k = 0;
        for (size_t i = 0; i < n; i++)
            k = k * 10 + (unsigned)(v[i] - '0');
        if (k >= 1 && k <= CF_CHUID_MAX_YEARS) {
            *years = k;
            return 0;
        }
    }
    snprintf(msg, msglen,
             "CHUIDExpiry must be a date YYYYMMDD or a number of years from 1 to %u "
             "(counted from the day each card is written)",
             CF_CHUID_MAX_YEARS);
    return -1;
}

int cf_desc_date_after(long now, unsigned years, char out[9])
{
    time_t t = (time_t)now;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL)
        return -1;
    int y = tm.tm_year + 1900 + (int)years, m = tm.tm_mon + 1, d = tm.tm_mday;
    if (d > days_in(y, m))
        d = days_in(y, m);
    if (y < 0 || y > 9999)
        return -1;
    char tmp[32]; /* the compiler cannot see the ranges checked above */
    snprintf(tmp, sizeof(tmp), "%04d%02d%02d", y, m, d);
    memcpy(out, tmp, 9);
    return 0;
}

cf_err_t cf_plan_chuid_expiry(const cf_plan_t *plan, time_t now, char out[9])
{
    int writes = 0;
    for (size_t i = 0; plan != NULL && i < plan->nsteps; i++)
        writes |= plan->steps[i].kind == CF_STEP_WRITE_CHUID;
    if (!writes)
        return CF_ERR_NOT_FOUND;
    if (plan->chuid_expiry[0] != 0) {
        memcpy(out, plan->chuid_expiry, 9);
        return CF_OK;
    }
    unsigned years = plan->chuid_years ? plan->chuid_years : CF_CHUID_DEFAULT_YEARS;
    return cf_desc_date_after((long)now, years, out) == 0 ? CF_OK : CF_ERR_INTERNAL;
}
