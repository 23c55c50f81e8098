/* ecs_core.c: the top of the ecs module: ecs_open (regions and zones,
 * then the recovery of what a restart interrupted, layer by layer) and
 * ecs_close (jobs stopped, open disks closed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecs/ecs_int.h"

/* The served region a zone id belongs to: the longest region name it
 * begins with, followed by more. */
static ecs_region *zone_region(ecs *e, const char *zone)
{
    ecs_region *best = NULL;
    size_t best_len = 0;

    for (size_t i = 0; i < e->nregions; i++) {
        size_t n = strlen(e->regions[i].name);
        if (n > best_len && strncmp(zone, e->regions[i].name, n) == 0 && zone[n] != '\0') {
            best = &e->regions[i];
            best_len = n;
        }
    }
    return best;
}

static sd_code set_zones(ecs *e, const ecs_opts *o, sd_err *err)
{
    sd_code rc = SD_OK;

    for (size_t i = 0; i < o->nzones; i++) {
        ecs_region *r = zone_region(e, o->zones[i]);
        SD_ENSURE(r != NULL, err, SD_E_INVALID, "zone %s is in no region served", o->zones[i]);
        SD_ENSURE(r->nzones < ECS_ZONES_MAX && strlen(o->zones[i]) < sizeof r->zone_buf[0], err,
                  SD_E_INVALID, "region %s: at most %d zones of at most %zu characters", r->name,
                  ECS_ZONES_MAX, sizeof r->zone_buf[0] - 1);
        ecs__cpy(r->zone_buf[r->nzones], sizeof r->zone_buf[0], o->zones[i]);
        r->zones[r->nzones] = r->zone_buf[r->nzones];
        r->nzones++;
    }
    for (size_t i = 0; i < e->nregions; i++) {
        ecs_region *r = &e->regions[i];
        char name[sizeof r->name]; /* snprintf must not read what it writes */
        if (r->nzones > 0) {
            continue;
        }
        memcpy(name, r->name, sizeof name);
        for (size_t z = 0; z < 2; z++) {
            (void)snprintf(r->zone_buf[z], sizeof r->zone_buf[z], "%s-%c", name, (char)('a' + z));
            r->zones[z] = r->zone_buf[z];
        }
        r->nzones = 2;
    }
out:
    return rc;
}

sd_code ecs_open(const ecs_opts *o, ecs **out, sd_err *err)
{
    sd_code rc = SD_OK;
    ecs *e = NULL;

    *out = NULL;
    e = calloc(1, sizeof *e);
    SD_ENSURE(e != NULL, err, SD_E_NOMEM, "out of memory");
    SD_ENSURE(pthread_mutex_init(&e->mu, NULL) == 0 && pthread_cond_init(&e->jobs_cv, NULL) == 0,
              err, SD_E_INTERNAL, "cannot make a lock");
    e->blocks = o->blocks;
    e->kms = o->kms;
    e->iam = o->iam;
    e->exporter = o->exporter;
    e->clock = o->clock;
    e->rng = o->rng;
    ecs__cpy(e->image_dir, sizeof e->image_dir, o->image_dir);
    SD_ENSURE(o->nregions > 0 && o->nregions <= ECS_REGIONS_MAX, err, SD_E_INVALID,
              "1 to %d regions can be served", ECS_REGIONS_MAX);
    for (size_t i = 0; i < o->nregions; i++) {
        ecs__cpy(e->regions[e->nregions++].name, sizeof e->regions[0].name, o->regions[i]);
    }
    SD_TRY(set_zones(e, o, err));
    SD_TRY(store_open_sqlite(o->db_path, &e->st, err));
    e->job_hook = o->job_hook;
    e->job_hook_ctx = o->job_hook_ctx;
    ecs__recover_images(e);
    ecs__recover_disks(e);
    ecs__recover_instances(e);
    ecs__resume_instances(e);
    *out = e;
    e = NULL;
out:
    ecs_close(e);
    return rc;
}

void ecs_close(ecs *e)
{
    if (e == NULL) {
        return;
    }
    if (e->st != NULL) {
        ecs__stop_jobs(e);
    }
    ecs__close_all(e);
    store_close(e->st);
    pthread_cond_destroy(&e->jobs_cv);
    pthread_mutex_destroy(&e->mu);
    free(e);
}
