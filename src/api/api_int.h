/* api_int.h: what the api module's files share. */
#ifndef SD_API_INT_H
#define SD_API_INT_H

#include "api/api.h"
#include "api/api_json.h"

typedef enum api_product {
    API_KMS,
    API_ECS,
} api_product;

/* Status and Code for a failure (the one mapping table, api_errors.c). */
void api__error_map(api_product product, const sd_err *err, int *status, const char **code);

#endif
