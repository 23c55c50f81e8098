#!/usr/bin/env bash
# check-layering.sh: each module includes only what STYLE B2 §1 allows,
# never another module's *_int.h, and never calls another module's
# m__private() functions.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A allowed=(
    [common]="common"
    [crypto]="common crypto"
    [store]="common store"
    [kms]="common crypto store kms"
    [iam]="common crypto store iam"
    [block]="common crypto store block"
    [nbd]="common crypto nbd block/blk_export.h"
    [ecs]="common store iam block ecs kms/kms_client.h"
    [api]="common crypto store kms iam block nbd ecs api"
    [server]="common crypto store kms iam block nbd ecs api server"
    [cli]="common iam cli api/api_actions.def api/api_params.def"
)
declare -A prefix=(
    [common]=sd [crypto]=crypto [store]=store [kms]=kms [iam]=iam
    [block]=blk [nbd]=nbds [ecs]=ecs [api]=api [server]=srv [cli]=cli
)

status=0
for dir in src/*/; do
    m=$(basename "$dir")
    [[ -n ${allowed[$m]+x} ]] || { echo "check-layering: unknown module src/$m" >&2; status=1; continue; }
    while IFS= read -r line; do
        file=${line%%:*}
        inc=$(sed -E 's/.*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1/' <<<"$line")
        [[ $inc == */* ]] || continue
        target=${inc%%/*}
        ok=0
        for a in ${allowed[$m]}; do
            if [[ $a == "$target" || $a == "$inc" ]]; then
                ok=1
            fi
        done
        if [[ $ok -eq 0 ]]; then
            echo "check-layering: $file includes \"$inc\": $m may include only: ${allowed[$m]}" >&2
            status=1
        fi
        if [[ $target != "$m" && $inc == *_int.h ]]; then
            echo "check-layering: $file includes another module's internals \"$inc\"" >&2
            status=1
        fi
    done < <(grep -rnE '#[[:space:]]*include[[:space:]]*"' "$dir" --include='*.c' --include='*.h' || true)

    # m__private() calls that cross a module boundary
    for other in "${!prefix[@]}"; do
        [[ $other == "$m" ]] && continue
        if hits=$(grep -rnE "\b${prefix[$other]}__[a-z0-9_]+[[:space:]]*\(" "$dir" --include='*.c' --include='*.h'); then
            echo "check-layering: src/$m calls private functions of $other:"$'\n'"$hits" >&2
            status=1
        fi
    done
done
[[ $status -eq 0 ]] && echo "check-layering: ok"
exit $status
