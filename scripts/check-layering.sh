#!/usr/bin/env bash
# check-layering.sh: each module includes only what STYLE B2 §1 allows,
# never another module's *_int.h, and never calls another module's
# m__private() functions.  Inside the modules listed in `order`, each file
# uses only the functions of the files listed before it (lowest first):
# a new file must be placed in the list, and a call up the list fails.
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

# The file order inside a module, lowest first (docs/dev/architecture.md).
# Files separated by "|" sit on levels (files on one level do not call each
# other); a list without "|" puts each file on its own level.
declare -A order=(
    [kms]="kms_ctx.c | kms_blob.c kms_rootkey.c | kms_core.c |
           kms_keys.c kms_alias.c kms_import.c kms_envelope.c | kms_client.c"
    [ecs]="ecs_qemu.c ecs_rows.c ecs_keys.c ecs_jobs.c ecs_disks.c ecs_images.c ecs_instances.c ecs_core.c"
    [nbd]="nbds_wire.c nbds_registry.c nbds_handshake.c nbds_trans.c nbds_conn.c nbds_scope.c nbds_server.c"
)

# check_order MODULE: every use, outside comments, of a non-static
# prefix_name() function defined in another file of src/MODULE must name
# a function of a file below it in ${order[MODULE]}.
check_order() {
    local m=$1
    perl -e '
        my ($dir, $pfx, @args) = @ARGV;
        my (%rank, %def, %text, $bad, @files);
        my $levels = grep { $_ eq "|" } @args;
        my $lv = 0;
        for my $a (@args) {
            if ($a eq "|") { $lv++; next; }
            push @files, $a;
            $rank{$a} = $levels ? $lv : $lv++;
        }
        opendir(my $dh, $dir) or die "$dir: $!";
        for my $f (sort grep { /\.c$/ } readdir $dh) {
            if (!exists $rank{$f}) {
                print STDERR "check-layering: $dir/$f is not in the file order of $dir: @files\n";
                $bad = 1;
                next;
            }
            local $/;
            open(my $fh, "<", "$dir/$f") or die "$dir/$f: $!";
            my $t = <$fh>;
            $t =~ s{/\*.*?\*/}{ }gs;            # comments
            $t =~ s{"(?:[^"\\\n]|\\.)*"}{""}g; # string literals
            $text{$f} = $t;
            # a definition: at column 0, not static, not a prototype
            while ($t =~ /^(?!static\b)[A-Za-z][^;{(\n]*?\b(${pfx}_\w+)\([^;]*?\)\s*\{/mg) {
                $def{$1} = $f;
            }
        }
        for my $f (grep { !-e "$dir/$_" } @files) {
            print STDERR "check-layering: the file order of $dir names $f, which does not exist\n";
            $bad = 1;
        }
        for my $f (sort keys %text) {
            my %seen;
            while ($text{$f} =~ /\b(${pfx}_\w+)\b/g) {
                my $d = $def{$1};
                next if !defined $d || $d eq $f || $seen{$1}++;
                if ($rank{$d} >= $rank{$f}) {
                    print STDERR "check-layering: $dir/$f uses $1() of $d, a file not below it (order: @args)\n";
                    $bad = 1;
                }
            }
        }
        exit($bad ? 1 : 0);
    ' "src/$m" "${prefix[$m]}" ${order[$m]}
}

status=0
for m in "${!order[@]}"; do
    check_order "$m" || status=1
done
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
