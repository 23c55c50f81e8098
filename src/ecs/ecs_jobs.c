/* ecs_jobs.c: the background jobs behind CopyImage, ImportImage and a
 * re-encrypting CreateDisk or ReInitDisk.  A request that waits for a
 * disk's job does so in ecs_disks.c (ecs__wait_disk).
 *
 * Invariants:
 * 1. A job's resource row exists, with status Creating (ReIniting for a
 *    disk being rebuilt), before the job starts (the request sets it under
 *    mu), and only the job's finish (under mu) or the next ecs_open's
 *    recovery changes that status.
 * 2. run never holds mu: a copy of many GiB blocks no other ECS call.  It
 *    reads and writes only block-store objects no row names yet (blk_copy
 *    and blk_import_raw commit their disk last), so a crash mid-run leaves
 *    orphan objects, never a half-made resource that is Available.
 * 3. e->jobs counts running jobs and e->waiters the requests waiting for
 *    one (ecs__wait_disk); ecs_close sets e->stopping, which cancels the
 *    copies at their next progress report, and waits until both are 0.
 *
 *   request (mu): row Creating -> ecs__job_start -> job thread: run
 *   run ok  -> finish (mu): Available          (ecs_images.c, ecs_disks.c)
 *   run err -> finish (mu): CreateFailed / disk deleted
 *   stopping-> nothing: row stays Creating -> ecs_open: recover_* */
#include <stdlib.h>
#include <string.h>

#include "ecs/ecs_int.h"

sd_code ecs__job_new(const ecs_job_ops *ops, const char *target, ecs_job **out, sd_err *err)
{
    ecs_job *j = calloc(1, sizeof *j);

    *out = NULL;
    if (j == NULL) {
        return sd_err_set(err, SD_E_NOMEM, SD_HERE, "out of memory");
    }
    j->ops = ops;
    ecs__cpy(j->target, sizeof j->target, target);
    j->last_pct = -1;
    *out = j;
    return SD_OK;
}

void ecs__job_free(ecs_job *j)
{
    if (j == NULL) {
        return;
    }
    sd_secret_free(j->src_dk);
    sd_secret_free(j->dst_dk);
    free(j);
}

typedef struct job_arg {
    ecs *e;
    ecs_job *j;
} job_arg;

static void *job_main(void *arg)
{
    job_arg a = *(job_arg *)arg;
    sd_err err = SD_ERR_INIT;
    sd_code rc;

    free(arg);
    rc = a.j->ops->run(a.e, a.j, &err);
    sd_secret_free(a.j->src_dk); /* wiped: the data are written */
    a.j->src_dk = NULL;
    sd_secret_free(a.j->dst_dk);
    a.j->dst_dk = NULL;
    pthread_mutex_lock(&a.e->mu);
    if (rc == SD_OK || !a.e->stopping) {
        a.j->ops->finish(a.e, a.j, rc, &err);
    } /* stopping: the row stays Creating; the next open fails it cleanly */
    a.e->jobs--;
    pthread_cond_broadcast(&a.e->jobs_cv);
    pthread_mutex_unlock(&a.e->mu);
    ecs__job_free(a.j);
    return NULL;
}

sd_code ecs__job_start(ecs *e, ecs_job **j, sd_err *err)
{
    sd_code rc = SD_OK;
    job_arg *a = calloc(1, sizeof *a);
    pthread_t t;
    pthread_attr_t attr;
    bool attr_made = false;

    SD_ENSURE(a != NULL, err, SD_E_NOMEM, "out of memory");
    SD_ENSURE(pthread_attr_init(&attr) == 0, err, SD_E_INTERNAL, "cannot start a job");
    attr_made = true;
    (void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    a->e = e;
    a->j = *j;
    e->jobs++;
    if (pthread_create(&t, &attr, job_main, a) != 0) {
        e->jobs--;
        SD_FAIL(err, SD_E_INTERNAL, "cannot start a job");
    }
    a = NULL;
    *j = NULL;
out:
    if (attr_made) {
        (void)pthread_attr_destroy(&attr);
    }
    free(a);
    ecs__job_free(*j);
    *j = NULL;
    return rc;
}

bool ecs__job_progress(ecs *e, ecs_job *j, int pct)
{
    bool go;

    if (e->job_hook != NULL) {
        e->job_hook(e->job_hook_ctx, j->target, pct);
    }
    pthread_mutex_lock(&e->mu);
    if (pct != j->last_pct && !e->stopping) {
        j->ops->progress(e, j, pct);
        j->last_pct = pct;
    }
    go = !e->stopping;
    pthread_mutex_unlock(&e->mu);
    return go;
}

bool ecs__job_span_progress(void *ctx, uint64_t done, uint64_t total)
{
    const ecs_job_span *s = ctx;
    uint64_t part = total > 0 && done <= total ? done * (uint64_t)(s->to - s->from) / total : 0;

    return ecs__job_progress(s->e, s->j, s->from + (int)part);
}

sd_code ecs__job_copy(ecs *e, ecs_job *j, sd_err *err)
{
    /* 100% only once the resource is sealed */
    ecs_job_span s = {e, j, 0, 99};

    return blk_copy(e->blocks, j->src, j->src_dk, j->tmp, j->dst_dk, ecs__job_span_progress, &s,
                    err);
}

void ecs__stop_jobs(ecs *e)
{
    pthread_mutex_lock(&e->mu);
    e->stopping = true;
    pthread_cond_broadcast(&e->jobs_cv); /* waiters give up */
    while (e->jobs > 0 || e->waiters > 0) {
        pthread_cond_wait(&e->jobs_cv, &e->mu);
    }
    pthread_mutex_unlock(&e->mu);
}
