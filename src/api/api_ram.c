/* api_ram.c: the RAM (2015-05-01) actions served today: the roles that
 * authorise ECS to use an account's customer CMKs (DESIGN R10).  Rules live
 * in iam. */
#include <stdio.h>

#include "api/api_int.h"

static void role_member(api_json *j, const iam_role_info *r)
{
    char arn[160];
    char iso[21];

    (void)snprintf(arn, sizeof arn, "acs:ram::%s:role/%s", r->account_id,
                   r->name); /* both bounded well below the buffer */
    sd_time_iso8601(r->created, iso);
    api_json_obj_begin(j, "Role");
    api_json_str(j, "RoleId", r->role_id);
    api_json_str(j, "RoleName", r->name);
    api_json_str(j, "Arn", arn);
    api_json_str(j, "Description", r->description);
    api_json_str(j, "AssumeRolePolicyDocument", r->policy);
    api_json_str(j, "CreateDate", iso);
    api_json_int(j, "MaxSessionDuration", 3600);
    api_json_obj_end(j);
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
