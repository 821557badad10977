#!/usr/bin/env bash
# Coverage-guided fuzzing of one Synod decoder with afl-fuzz and SharpFuzz (fuzz/README.md).
#
#   fuzz/run.sh TARGET MINUTES      e.g. fuzz/run.sh kv-snapshot-body 3
#
# Installs afl++ (apt-get) and the sharpfuzz tool (dotnet tool, into a local tool path) if they are missing, builds
# fuzz/Synod.Fuzz in Release outside the work tree, instruments the Synod.* assemblies of a copy of the build, seeds AFL
# from tests/Synod.Tests/Fuzz/corpus/TARGET and fuzz/seeds/TARGET, runs afl-fuzz for MINUTES, prints a one-line
# summary, and exits 1 if AFL saved a crash (each one's path, hex and the exception it throws), 2 if the run failed.
#
# Environment: SYNOD_FUZZ_WORK (default /tmp/synod-fuzz), SYNOD_FUZZ_TOOLS (default ~/.cache/synod-fuzz/tools),
# SYNOD_FUZZ_TIMEOUT_MS (afl-fuzz -t, default 5000), SYNOD_FUZZ_IN_PROCESS=1 (SharpFuzz's in-process fork server),
# SYNOD_FUZZ_SELF_TEST=1 (the allowed refusal counts as a crash too: checks that crashes reach AFL).
set -euo pipefail

if [[ $# -ne 2 || ! $2 =~ ^[0-9]+$ || $2 -lt 1 ]]; then
    echo "usage: $0 TARGET MINUTES   (targets: kv-command kv-auth-change kv-snapshot kv-snapshot-body wal-record peer-message)" >&2
    exit 2
fi
target=$1
minutes=$2

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=${SYNOD_FUZZ_WORK:-/tmp/synod-fuzz}
tools=${SYNOD_FUZZ_TOOLS:-$HOME/.cache/synod-fuzz/tools}
artifacts=$work/artifacts            # dotnet build output (bin/ and obj/), kept out of the work tree
app=$work/app-$target                # a copy of the build whose Synod.* assemblies are instrumented
inputs=$work/inputs-$target          # AFL's -i
out=$work/$target                    # AFL's -o
log=$work/$target.log                # afl-fuzz's own output
mkdir -p "$work"

# --- Tools ---------------------------------------------------------------------------------------------------------
if ! command -v afl-fuzz >/dev/null; then
    echo "installing afl++ (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq afl++ >/dev/null
fi
if [[ ! -x $tools/sharpfuzz ]]; then
    echo "installing SharpFuzz.CommandLine 2.3.0 into $tools"
    dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$tools" >/dev/null
fi
dotnet=$(readlink -f "$(command -v dotnet)")

# --- Build and instrument ------------------------------------------------------------------------------------------
echo "building fuzz/Synod.Fuzz (Release) into $artifacts"
dotnet build "$repo/fuzz/Synod.Fuzz/Synod.Fuzz.csproj" -c Release --artifacts-path "$artifacts" -nologo -v quiet
build=$artifacts/bin/Synod.Fuzz/release
"$dotnet" "$build/synod-fuzz.dll" list | cut -f1 | grep -qx -- "$target" || { echo "no target '$target'" >&2; exit 2; }

# The build output itself stays uninstrumented (sharpfuzz rewrites in place and refuses a second pass), and serves to
# replay crashes below.
rm -rf "$app"
cp -r "$build" "$app"
for dll in "$app"/Synod.*.dll; do
    "$tools/sharpfuzz" "$dll" >/dev/null
    echo "instrumented $(basename "$dll")"
done

# --- Seeds ---------------------------------------------------------------------------------------------------------
rm -rf "$inputs"
mkdir -p "$inputs"
for source in "$repo/tests/Synod.Tests/Fuzz/corpus/$target" "$repo/fuzz/seeds/$target"; do
    [[ -d $source ]] || continue
    for file in "$source"/*; do
        # AFL skips empty files; the corpus's regression inputs may be empty.
        [[ -f $file && -s $file ]] && cp "$file" "$inputs/$(basename "$(dirname "$file")")-$(basename "$file")"
    done
done
seeds=$(find "$inputs" -type f | wc -l)
[[ $seeds -gt 0 ]] || { echo "no non-empty seed for $target" >&2; exit 2; }

# --- Fuzz ----------------------------------------------------------------------------------------------------------
# dotnet is no AFL-instrumented binary (SharpFuzz speaks the fork-server protocol from managed code), so the binary
# check is skipped; the fork server needs time to start the runtime before its handshake.
rm -rf "$out"
echo "afl-fuzz on $target for $minutes min from $seeds seeds; output in $out, log in $log"
set +e
AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1 \
AFL_FORKSRV_INIT_TMOUT=60000 \
    afl-fuzz -i "$inputs" -o "$out" -m none -t "${SYNOD_FUZZ_TIMEOUT_MS:-5000}" -V $((minutes * 60)) \
    -- "$dotnet" "$app/synod-fuzz.dll" "$target" >"$log" 2>&1
status=$?
set -e

stats=$out/default/fuzzer_stats
if [[ ! -f $stats ]]; then
    echo "afl-fuzz exited $status without statistics; the end of $log:" >&2
    tail -n 30 "$log" >&2
    exit 2
fi
stat() { awk -F' *: *' -v key="$1" '$1 == key { print $2 }' "$stats"; }
crashes=$(stat saved_crashes)
echo "$target: $(stat execs_done) execs in $(stat run_time) s ($(stat execs_per_sec)/s), corpus $seeds seeds -> $(stat corpus_count) ($(stat corpus_found) found), edges $(stat edges_found), crashes $crashes, hangs $(stat saved_hangs), afl-fuzz exit $status"

if [[ ${crashes:-0} -gt 0 ]]; then
    echo "AFL saved $crashes crash(es) for $target:"
    for file in "$out"/default/crashes/id:*; do
        echo "$file"
        echo "  hex: $(xxd -p "$file" | tr -d '\n')"
    done
    echo "replayed through the uninstrumented decoder:"
    "$dotnet" "$build/synod-fuzz.dll" check "$target" "$out"/default/crashes/id:* || true
    exit 1
fi
[[ $status -eq 0 ]] || { echo "afl-fuzz exited $status; the end of $log:" >&2; tail -n 30 "$log" >&2; exit 2; }
