/*
 * cf_bench_keys.c - per-card key derivations per second, master key in the
 * key file or in a PKCS#11 token: prints a table, asserts nothing.
 *
 *   cf_bench_keys KEYFILE NAME [SECONDS]
 *
 * Loads KEYFILE as cardforge does (a token key logs in once), then for 1
 * and 16 threads derives 24-byte (3des) admin keys of distinct serials from
 * the newest version of NAME for SECONDS (default 2) and prints the
 * derivations per second and the time of one. Each derivation is two AES-
 * CMAC blocks: two C_Sign calls for a token key, on sessions of the pool.
 * bench/keys.sh makes a SoftHSM2 token and runs it on both kinds of key.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cardforge/keys.h>

struct worker {
    const cf_master_key_t *mk;
    unsigned id;
    double seconds;
    unsigned long done;
    int failed;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *work(void *arg)
{
    struct worker *w = arg;
    double end = now() + w->seconds;
    char serial[32];
    while (now() < end) {
        /* a batch of 64 between clock reads */
        for (int i = 0; i < 64; i++) {
            snprintf(serial, sizeof(serial), "%02X%010lX", w->id, w->done);
            cf_secret_t *k = NULL;
            if (cf_keys_derive(w->mk, CF_KEY_PURPOSE_ADMIN, serial, CF_CARD_KEY_3DES, &k) !=
                CF_OK) {
                w->failed = 1;
                return NULL;
            }
            cf_secret_free(k);
            w->done++;
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: cf_bench_keys KEYFILE NAME [SECONDS]\n");
        return 2;
    }
    double seconds = argc > 3 ? atof(argv[3]) : 2.0;
    char err[CF_KEYS_ERRLEN];
    cf_keyfile_t *kf = NULL;
    cf_err_t e = cf_keyfile_load(argv[1], &kf, err, sizeof(err));
    if (e != CF_OK) {
        fprintf(stderr, "cf_bench_keys: %s\n", err);
        return 1;
    }
    const cf_master_key_t *mk = cf_keyfile_find(kf, argv[2], 0);
    if (mk == NULL) {
        fprintf(stderr, "cf_bench_keys: no key %s\n", argv[2]);
        cf_keyfile_free(kf);
        return 1;
    }
    static const unsigned threads[] = {1, 16};
    for (size_t t = 0; t < 2; t++) {
        struct worker w[16];
        pthread_t tid[16];
        double start = now();
        for (unsigned i = 0; i < threads[t]; i++) {
            w[i] = (struct worker){.mk = mk, .id = i, .seconds = seconds};
            pthread_create(&tid[i], NULL, work, &w[i]);
        }
        unsigned long total = 0;
        int failed = 0;
        for (unsigned i = 0; i < threads[t]; i++) {
            pthread_join(tid[i], NULL);
            total += w[i].done;
            failed |= w[i].failed;
        }
        double elapsed = now() - start;
        if (failed) {
            fprintf(stderr, "cf_bench_keys: a derivation failed\n");
            cf_keyfile_free(kf);
            return 1;
        }
        printf("%-6s %2u thread%s  %9.0f derivations/s  %7.1f us each (per thread)\n",
               cf_master_key_in_token(mk) ? "token" : "file", threads[t],
               threads[t] > 1 ? "s" : " ", (double)total / elapsed,
               elapsed * 1e6 * threads[t] / (double)total);
    }
    cf_keyfile_free(kf);
    return 0;
}
