/* api_ram.c: the RAM (2015-05-01) actions served today: the roles that
 * authorise ECS to use an account's customer CMKs (DESIGN R10).  Rules live
 * in iam. */
#include <stdio.h>

#include "api/api_int.h"

static void role_member(sd_jw *j, const iam_role_info *r)
{
    char arn[160];
    char iso[21];

    (void)snprintf(arn, sizeof arn, "acs:ram::%s:role/%s", r->account_id,
                   r->name); /* both bounded well below the buffer */
    sd_time_iso8601(r->created, iso);
    sd_jw_obj_begin(j, "Role");
    sd_jw_str(j, "RoleId", r->role_id);
    sd_jw_str(j, "RoleName", r->name);
    sd_jw_str(j, "Arn", arn);
    sd_jw_str(j, "Description", r->description);
    sd_jw_str(j, "AssumeRolePolicyDocument", r->policy);
    sd_jw_str(j, "CreateDate", iso);
    sd_jw_int(j, "MaxSessionDuration", 3600);
    sd_jw_obj_end(j);
}

sd_code api__RAM_CreateRole(api_req *r)
{
    sd_code rc = SD_OK;
    const char *name = NULL;
    const char *policy = NULL;
    const char *desc = NULL;
    iam_role_info info;

    SD_TRY(api_param_req(r->params, "RoleName", &name, r->err));
    SD_TRY(api_param_req(r->params, "AssumeRolePolicyDocument", &policy, r->err));
    SD_TRY(api_param_str(r->params, "Description", IAM_ROLE_DESC_MAX - 1, &desc, r->err));
    SD_TRY(iam_role_create(r->opts->iam, r->caller.account, name, policy, desc, &info, r->err));
    role_member(r->j, &info);
out:
    return rc;
}

sd_code api__RAM_GetRole(api_req *r)
{
    sd_code rc = SD_OK;
    const char *name = NULL;
    iam_role_info info;

    SD_TRY(api_param_req(r->params, "RoleName", &name, r->err));
    SD_TRY(iam_role_get(r->opts->iam, r->caller.account, name, &info, r->err));
    role_member(r->j, &info);
out:
    return rc;
}

sd_code api__RAM_DeleteRole(api_req *r)
{
    sd_code rc = SD_OK;
    const char *name = NULL;

    SD_TRY(api_param_req(r->params, "RoleName", &name, r->err));
    SD_TRY(iam_role_delete(r->opts->iam, r->caller.account, name, r->err));
out:
    return rc;
}
