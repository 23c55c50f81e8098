#!/usr/bin/env bash
# check-banned.sh: functions and includes sealdisk does not use (STYLE B5).
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
report() {
    echo "check-banned: $1" >&2
    status=1
}

banned='\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|atof|strtok|rand|random|srand|mktemp|tmpnam|system|popen|alloca)[[:space:]]*\('
if hits=$(grep -rnE "$banned" src --include='*.c' --include='*.h' | grep -vE '^\S+:[0-9]+:\s*(/\*|\*)'); then
    report "banned functions:"$'\n'"$hits"
fi

# Secrets are compared in constant time and wiped with sd_wipe.
secret_code=(src/kms src/iam src/crypto src/common/sd_secret.c)
existing=()
for p in "${secret_code[@]}"; do
    [[ -e $p ]] && existing+=("$p")
done
if hits=$(grep -rnE '\b(memcmp|memset)[[:space:]]*\(' "${existing[@]}" --include='*.c' --include='*.h' 2>/dev/null); then
    report "memcmp/memset in secret-handling code (use sd_ct_equal, sd_wipe):"$'\n'"$hits"
fi

if hits=$(grep -rnE '#[[:space:]]*include[[:space:]]*<(openssl/|gcrypt\.h)' src --include='*.c' --include='*.h' | grep -v '^src/crypto/'); then
    report "OpenSSL or libgcrypt included outside src/crypto/:"$'\n'"$hits"
fi

# printf to stdout only for what a person asked to see: the CLI's output,
# usage text, a command's listing (audit, gc) and the server's one-time
# print of the first AccessKey.
if hits=$(grep -rnE '\b(printf|puts)[[:space:]]*\(' src --include='*.c' | grep -vE '^src/(cli/|main\.c|server/srv_config\.c|server/srv_audit\.c|server/srv_gc\.c|server/srv_account\.c|server/srv_bootstrap\.c)' | grep -vE 'snprintf|vsnprintf|sd_buf_printf'); then
    report "printf outside the CLI (use sd_log):"$'\n'"$hits"
fi

[[ $status -eq 0 ]] && echo "check-banned: ok"
exit $status
