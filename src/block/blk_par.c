/* blk_par.c: the store's helper thread, a second pair of hands for the
 * chunks of one large encrypted request.
 *
 * On one thread an encrypted 1 MiB request costs the backend copy plus an
 * XTS pass, one after the other: 0.65-0.72 of a plain request even with
 * libgcrypt's VAES XTS, which is faster than the copy (bench/results/
 * block-2026-11-30c.md).  Like dm-crypt's per-CPU workers, the helper
 * spreads that extra pass over a second core; plain requests do not use it,
 * as the copy alone has nothing to hide, nor do disks whose caller brings
 * its own concurrency (NBD exports: blk_disk_set_helper), where the cores
 * are busy already and the helper only took CPU from the transport.
 *
 * blk__par_run lets a second core take part of the chunks: the caller posts
 * its job, wakes the helper and starts on the chunks itself at once. Both
 * run the job's function, which claims chunks from a counter in the job
 * (blk_disk.c), so whoever is faster does more, and the caller never waits
 * for the helper to *start*: it only waits, at the end, for a chunk the
 * helper already claimed. While the helper runs another request (of any
 * disk) the job is not posted and the caller does all of it alone, exactly
 * as without a helper. So no request queues behind another, a slow disk
 * cannot hold up a fast one, and there is no lock cycle through the helper:
 * it takes only the locks one chunk needs, and the caller waits for it
 * holding none of those.
 *
 * The one job slot, every change under mu:
 *   empty   -> posted   blk__par_run, when the helper is idle
 *   posted  -> running  helper_main takes it
 *   posted  -> empty    blk__par_run retracts it: the caller finished every
 *                       chunk before the helper woke up
 *   running -> done     helper_main, after fn returned; blk__par_run waits
 *                       for this before its job (on its stack) goes away
 * The thread starts with the first job, so a store used only for metadata
 * never has one; blk__helper_stop (blk_store_close) joins it.  If it cannot
 * start, every job runs on its caller alone. */
#include <string.h>
#include <time.h>

#include "block/blk_int.h"

/* How long a thread polls before it sleeps on a condition variable.  A
 * futex wake-up costs tens of microseconds here, and waking a halted vCPU
 * on a VM often more, as much as a 1 MiB request takes; a sequential
 * stream posts its next request within a few microseconds.  Measured on
 * the 2-vCPU bench VM (bench/results/block-2026-11-30b.md), 200 us kept
 * the helper awake across a stream, where with 50 us it often was not and
 * the ratios spread widely from run to run; 1 ms gained nothing more.
 * Polling is bounded, so an idle store costs nothing after it. */
#define SPIN_NS 200000u

static uint64_t now_ns(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Polls until the helper has a job or must stop, for at most SPIN_NS. */
static void helper_poll(blk_helper *h)
{
    uint64_t t0 = now_ns();

    for (unsigned i = 1;; i++) {
        if (__atomic_load_n(&h->slot, __ATOMIC_ACQUIRE) != NULL ||
            __atomic_load_n(&h->stop, __ATOMIC_ACQUIRE)) {
            return;
        }
        cpu_relax();
        if (i % 64 == 0 && now_ns() - t0 > SPIN_NS) {
            return;
        }
    }
}

static void *helper_main(void *arg)
{
    blk_helper *h = arg;

    for (;;) {
        blk_job *j = NULL;
        helper_poll(h);
        pthread_mutex_lock(&h->mu);
        while (!__atomic_load_n(&h->stop, __ATOMIC_RELAXED) &&
               __atomic_load_n(&h->slot, __ATOMIC_RELAXED) == NULL) {
            pthread_cond_wait(&h->wake, &h->mu);
        }
        if (__atomic_load_n(&h->stop, __ATOMIC_RELAXED)) {
            pthread_mutex_unlock(&h->mu);
            break;
        }
        j = __atomic_load_n(&h->slot, __ATOMIC_RELAXED);
        __atomic_store_n(&h->slot, NULL, __ATOMIC_RELAXED);
        h->busy = true;
        pthread_mutex_unlock(&h->mu);
        j->fn(j->ctx);
        pthread_mutex_lock(&h->mu);
        h->busy = false;
        /* The last touch of j: its owner may return as soon as it sees this. */
        __atomic_store_n(&j->done, true, __ATOMIC_RELEASE);
        pthread_cond_broadcast(&h->done);
        pthread_mutex_unlock(&h->mu);
    }
    return NULL;
}

sd_code blk__helper_init(blk_helper *h, sd_err *err)
{
    sd_code rc = SD_OK;

    memset(h, 0, sizeof *h);
    SD_ENSURE(pthread_mutex_init(&h->mu, NULL) == 0, err, SD_E_INTERNAL, "mutex init");
    SD_ENSURE(pthread_cond_init(&h->wake, NULL) == 0, err, SD_E_INTERNAL, "cond init");
    SD_ENSURE(pthread_cond_init(&h->done, NULL) == 0, err, SD_E_INTERNAL, "cond init");
    h->ready = true;
out:
    return rc;
}

void blk__helper_stop(blk_helper *h)
{
    if (!h->ready) {
        return;
    }
    pthread_mutex_lock(&h->mu);
    __atomic_store_n(&h->stop, true, __ATOMIC_RELEASE);
    pthread_cond_signal(&h->wake);
    pthread_mutex_unlock(&h->mu);
    if (h->started) {
        int e = pthread_join(h->thread, NULL);
        if (e != 0) {
            sd_log(SD_LOG_WARN, "blk", "cannot join the I/O helper: errno=%d", e);
        }
    }
    pthread_cond_destroy(&h->done);
    pthread_cond_destroy(&h->wake);
    pthread_mutex_destroy(&h->mu);
    h->ready = false;
}

/* Starts the thread on first use (mu held).  A failure is logged once and
 * leaves every job to its caller. */
static void helper_start(blk_helper *h)
{
    int e = 0;

    if (h->started || h->failed) {
        return;
    }
    e = pthread_create(&h->thread, NULL, helper_main, h);
    if (e != 0) {
        h->failed = true;
        sd_log(SD_LOG_WARN, "blk", "no I/O helper thread, large requests use one core: errno=%d",
               e);
        return;
    }
    h->started = true;
}

/* Waits until the helper is done with job (it took it). */
static void wait_done(blk_helper *h, blk_job *job)
{
    uint64_t t0 = now_ns();

    /* The helper has at most the chunk it holds left: poll first. */
    for (unsigned i = 1; !__atomic_load_n(&job->done, __ATOMIC_ACQUIRE); i++) {
        cpu_relax();
        if (i % 64 == 0 && now_ns() - t0 > SPIN_NS) {
            break;
        }
    }
    if (__atomic_load_n(&job->done, __ATOMIC_ACQUIRE)) {
        return;
    }
    pthread_mutex_lock(&h->mu);
    while (!__atomic_load_n(&job->done, __ATOMIC_RELAXED)) {
        pthread_cond_wait(&h->done, &h->mu);
    }
    pthread_mutex_unlock(&h->mu);
}

void blk__par_run(blk_helper *h, blk_job_fn fn, void *ctx)
{
    blk_job job = {.fn = fn, .ctx = ctx, .done = false};
    bool posted = false;
    bool taken = true;

    pthread_mutex_lock(&h->mu);
    helper_start(h);
    if (h->started && !h->busy && __atomic_load_n(&h->slot, __ATOMIC_RELAXED) == NULL) {
        __atomic_store_n(&h->slot, &job, __ATOMIC_RELEASE);
        posted = true;
        pthread_cond_signal(&h->wake);
    }
    pthread_mutex_unlock(&h->mu);
    fn(ctx);
    if (!posted) {
        return;
    }
    pthread_mutex_lock(&h->mu);
    if (__atomic_load_n(&h->slot, __ATOMIC_RELAXED) == &job) {
        __atomic_store_n(&h->slot, NULL, __ATOMIC_RELAXED); /* the helper never took it */
        taken = false;
    }
    pthread_mutex_unlock(&h->mu);
    if (taken) {
        wait_done(h, &job);
    }
}
