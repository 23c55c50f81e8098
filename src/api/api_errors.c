/* api_errors.c: the one table that maps failures to HTTP statuses and the
 * API's Code strings (STYLE B2 §5).
 *
 * A module that knows the API's Code names it in sd_err.api_code; this
 * table gives that Code its status, from the contract (alibaba-api.md §3.5,
 * §6.3).  A failure without a Code gets one from its kind, through a switch
 * without default so a new kind cannot go unmapped.  An unknown Code keeps
 * the status of its kind. */
#include <string.h>

#include "api/api_int.h"

typedef struct code_status {
    const char *code;
    int status;
} code_status;

static const code_status code_table[] = {
    /* request, signature and gateway (§3.5) */
    {"SignatureDoesNotMatch", 400},
    {"InvalidAccessKeyId.NotFound", 404},
    {"InvalidAccessKeyId.Inactive", 400},
    {"InvalidTimeStamp.Expired", 400},
    {"InvalidTimeStamp.Format", 400},
    {"IllegalTimestamp", 400},
    {"SignatureNonceUsed", 400},
    {"IncompleteSignature", 400},
    {"MissingParameter", 400},
    {"InvalidParameter", 400},
    {"ParseRequestParameterException", 400},
    {"InvalidAction.NotFound", 404},
    {"InvalidVersion", 400},
    {"UnsupportedHTTPMethod", 403},
    {"RequestURITooLong", 414},
    {"RequestHeaderFieldsTooLarge", 431},
    {"Throttling", 400},
    {"Throttling.User", 400},
    {"Rejected.Throttling", 429},
    {"InternalFailure", 500},
    {"InternalError", 500},
    {"ServiceUnavailable", 503},
    {"SerivceUnavailableTemporary", 503},
    {"InsufficientStorage", 507},
    /* KMS (§6.3) */
    {"Forbidden.KeyNotFound", 404},
    {"Forbidden.AliasNotFound", 404},
    {"Forbidden.NoPermission", 403},
    {"Forbidden.AccessKey", 403},
    {"Forbidden.KmsServiceNotEnabled", 403},
    {"Rejected.LimitExceeded", 400},
    {"AliasAlreadyExists", 400},
    {"InvalidKeyMaterial", 400},
    {"InvalidImportToken", 400},
    {"ExpiredImportToken", 400},
    {"Unsupported.Origin", 400},
    {"Unsupported.Alias", 400},
    {"Unsupported.ProtectionLevel", 400},
    {"Rejected.UnsupportedOperation", 400},
    {"Rejected.Disabled", 409},
    {"Rejected.PendingDeletion", 409},
    {"Rejected.PendingImport", 409},
    {"Rejected.StateModifiedFailed", 409},
    /* ECS (§7): resources */
    {"InvalidRegionId.NotFound", 404},
    {"InvalidZoneId.NotFound", 404},
    {"InvalidDiskId.NotFound", 404},
    {"InvalidSnapshotId.NotFound", 404},
    {"InvalidInstanceId.NotFound", 404},
    {"InvalidImageId.NotFound", 404},
    {"IncorrectDiskStatus", 403},
    {"IncorrectInstanceStatus", 403},
    {"DiskStillAttached", 403},
    {"DiskCreatingSnapshot", 403},
    {"SnapshotCreatedDisk", 403},
    {"SnapshotCreatedImage", 403},
    {"InvalidSnapshotId.NotReady", 403},
    {"OperationDenied", 403},
    {"IdempotentParameterMismatch", 400},
    {"NoAttributeToModify", 400},
    {"InvalidStatus.ValueNotSupported", 400},
    {"InvalidDiskType.ValueNotSupported", 400},
    {"InvalidParameter.Mismatch", 403},
    {"InvalidSourceSnapshot", 403},
    /* ECS: images (R7, R15) */
    {"ImageNotSupported", 400},
    {"ImageUsingByInstance", 403},
    {"DestinationRegion.NotFound", 400},
    {"InvalidImage.Format", 400},
    {"InvalidImageFile.NotFound", 404},
    {"InvalidParameter.Format", 400},
    {"InvalidImageName.Duplicated", 400},
    {"InvalidImageOwnerAlias.ValueNotSupported", 400},
    /* ECS: sizes and categories */
    {"InvalidDiskCategory.ValueNotSupported", 400},
    {"InvalidSystemDiskCategory.ValueNotSupported", 400},
    {"InvalidDataDiskCategory.ValueNotSupported", 400},
    {"InvalidDiskSize.NotSupported", 400},
    {"InvalidDiskSize.TooSmall", 403},
    {"InvalidDataDiskSize.ValueNotSupported", 400},
    {"InvalidSystemDiskSize.ValueNotSupported", 400},
    {"InvalidInstanceType.ValueNotSupported", 400},
    {"InstanceDiskLimitExceeded", 403},
    {"QuotaExceed.Snapshot", 403},
    /* ECS: id-list filters */
    {"InvalidParameter.DiskIds", 400},
    {"InvalidDiskIds.Malformed", 403},
    {"InvalidParameter.SnapshotIds", 400},
    {"InvalidSnapshotIds.Malformed", 403},
    {"InvalidParameter.InstanceIds", 400},
    {"InvalidInstanceIds.Malformed", 403},
    /* ECS: encryption and its keys (R1-R11) */
    {"InvalidParameter.KMSKeyId.NotFound", 404},
    {"InvalidParameter.KMSKeyId.CMKNotEnabled", 403},
    {"InvalidParameter.KMSKeyId.KMSUnauthorized", 403},
    {"InvalidParameter.EncryptedIllegal", 400},
    {"InvalidParameter.EncryptedNotSupported", 400},
    {"InvalidParameter.Encrypted.KmsNotEnabled", 400},
    {"EncryptedOption.Conflict", 400},
    {"InvalidOperation.KMSKeyIdNotFound", 403},
    /* RAM roles */
    {"EntityAlreadyExists.Role", 409},
    {"EntityNotExist.Role", 404},
    {"InvalidParameter.RoleName.InvalidChars", 400},
    {"InvalidParameter.RoleName.Length", 400},
    {"InvalidParameter.AssumeRolePolicyDocument", 400},
    {"EntityAlreadyExists.Account", 409},
    {"InvalidAccount.NotFound", 404},
    {"InvalidImage.Size", 400},
    {"InvalidAccount.Self", 400},
};

/* Status and Code for a failure that named no Code. */
static void kind_default(api_product product, sd_code kind, int *status, const char **code)
{
    switch (kind) {
    case SD_OK:
    case SD_E_INTERNAL:
        *status = 500;
        *code = product == API_KMS ? "InternalFailure" : "InternalError";
        return;
    case SD_E_INVALID:
        *status = 400;
        *code = "InvalidParameter";
        return;
    case SD_E_NOT_FOUND:
        *status = 404;
        *code = "InvalidParameter.NotFound";
        return;
    case SD_E_DENIED:
        *status = 403;
        *code = "Forbidden.NoPermission";
        return;
    case SD_E_KEY_STATE:
        *status = 409;
        *code = "Rejected.StateModifiedFailed";
        return;
    case SD_E_AUTH:
        *status = 400;
        *code = "InvalidParameter";
        return;
    case SD_E_THROTTLED:
        *status = 429;
        *code = "Rejected.Throttling";
        return;
    case SD_E_CONFLICT:
        *status = 409;
        *code = "IncorrectStatus";
        return;
    case SD_E_IO:
        *status = 500;
        *code = product == API_KMS ? "InternalFailure" : "InternalError";
        return;
    case SD_E_NOSPACE:
        /* The store's disk is full: not the caller's fault and not a bug,
         * and retrying will not help until an operator makes room.  HTTP
         * 507 says exactly that; Alibaba documents no code for it. */
        *status = 507;
        *code = "InsufficientStorage";
        return;
    case SD_E_NOMEM:
        *status = 503;
        *code = product == API_KMS ? "SerivceUnavailableTemporary" : "ServiceUnavailable";
        return;
    }
    *status = 500;
    *code = "InternalError";
}

void api__error_map(api_product product, const sd_err *err, int *status, const char **code)
{
    kind_default(product, err->code, status, code);
    if (err->api_code[0] == '\0') {
        return;
    }
    *code = err->api_code;
    for (size_t i = 0; i < sizeof code_table / sizeof code_table[0]; i++) {
        if (strcmp(code_table[i].code, err->api_code) == 0) {
            *status = code_table[i].status;
            return;
        }
    }
}
