/* sd_fault.c: the counters behind SD_FAULT points.
 *
 * A small fixed table (fault points are few and named in code); the
 * environment is parsed once, on the first hit. */
#include "common/sd_fault.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#ifdef SD_FAULTS

#define FAULT_MAX      32
#define FAULT_NAME_MAX 48

typedef struct fault_point {
    char name[FAULT_NAME_MAX];
    unsigned fire_at; /* pass number that fails; 0 = disarmed */
    unsigned passes;
    bool sticky;
} fault_point;

static pthread_mutex_t fault_mu = PTHREAD_MUTEX_INITIALIZER;
static fault_point faults[FAULT_MAX];
static bool fault_env_read;

static void fault_arm_locked(const char *name, size_t nlen, unsigned n, bool sticky)
{
    fault_point *free_slot = NULL;

    if (nlen == 0 || nlen >= FAULT_NAME_MAX) {
        return;
    }
    for (size_t i = 0; i < FAULT_MAX; i++) {
        fault_point *f = &faults[i];
        if (f->name[0] != '\0' && strlen(f->name) == nlen && strncmp(f->name, name, nlen) == 0) {
            free_slot = f;
            break;
        }
        if (free_slot == NULL && f->name[0] == '\0') {
            free_slot = f;
        }
    }
    if (free_slot == NULL) {
        return;
    }
    memcpy(free_slot->name, name, nlen);
    free_slot->name[nlen] = '\0';
    free_slot->fire_at = n;
    free_slot->passes = 0;
    free_slot->sticky = sticky;
}

static void fault_read_env_locked(void)
{
    const char *env;
    const char *p;

    if (fault_env_read) {
        return;
    }
    fault_env_read = true;
    env = getenv("SEALDISK_FAULTS"); /* NOLINT(concurrency-mt-unsafe): read once under a lock */
    for (p = env; p != NULL && *p != '\0';) {
        const char *end = strchr(p, ',');
        const char *colon;
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        colon = memchr(p, ':', len);
        if (colon != NULL) {
            char *num_end = NULL;
            unsigned long n = strtoul(colon + 1, &num_end, 10);
            bool sticky = num_end != NULL && *num_end == '+';
            fault_arm_locked(p, (size_t)(colon - p), (unsigned)n, sticky);
        }
        p = end != NULL ? end + 1 : NULL;
    }
}

bool sd_fault_hit(const char *name)
{
    bool hit = false;

    pthread_mutex_lock(&fault_mu);
    fault_read_env_locked();
    for (size_t i = 0; i < FAULT_MAX; i++) {
        fault_point *f = &faults[i];
        if (f->fire_at != 0 && strcmp(f->name, name) == 0) {
            f->passes++;
            hit = f->passes == f->fire_at || (f->sticky && f->passes > f->fire_at);
            break;
        }
    }
    pthread_mutex_unlock(&fault_mu);
    return hit;
}

void sd_fault_arm(const char *name, unsigned n, bool sticky)
{
    pthread_mutex_lock(&fault_mu);
    fault_read_env_locked();
    fault_arm_locked(name, strlen(name), n, sticky);
    pthread_mutex_unlock(&fault_mu);
}

void sd_fault_reset(void)
{
    pthread_mutex_lock(&fault_mu);
    memset(faults, 0, sizeof faults);
    fault_env_read = true;
    pthread_mutex_unlock(&fault_mu);
}

#else
/* An empty translation unit is not ISO C. */
typedef int sd_fault_unused;
#endif
