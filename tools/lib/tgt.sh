# shellcheck shell=bash
# tools/lib/tgt.sh: control a private tgtd (Linux SCSI target daemon, Debian package `tgt`)
# for tests. Source it from bash; every function works under `set -euo pipefail`.
#
# Everything goes through tgtd's control port (tgtd -C N / tgtadm -C N, control socket
# /var/run/tgtd/socket.N) so several daemons can coexist and the system's tgtd (port 0) is
# never touched. Portals must be loopback (127.0.0.0/8): tests never reach other addresses.
#
# Functions use the control port in TGT_CTL (default: $MPATH_TGT_CTL, else 17301);
# tgt_start sets it. On error a function prints the failing tgtadm command (passwords
# redacted) and tgtadm's stderr, and returns non-zero.
#
# Quirks of tgt 1.0.85 that shape this file (observed, not guessed):
#  - tgtd ignores SIGTERM; it exits only after `--op delete --mode system`, which it refuses
#    ("tgtadm: invalid request") while any target exists.
#  - `--op delete --mode target --force` still fails with "this logical unit is still active"
#    while an initiator keeps commands in flight; setting the target state to offline first
#    makes it succeed.
#  - If a --iscsi portal= address cannot be bound, tgtd does not fail: it logs
#    "unable to bind server socket, Address already in use" and listens on the wildcard
#    [::]:3260 instead. So tgt_start checks the portals are free first and verifies after.
#  - tgtadm accepts garbage ports ("127.0.0.9:abc" became port 35987): portals are validated here.
#  - tgtd -p PIDFILE writes nothing in foreground mode (-f); the pid is found in /proc.

TGT_CTL="${TGT_CTL:-${MPATH_TGT_CTL:-17301}}"
# Bounded waits (seconds), overridable for slow machines.
TGT_START_TIMEOUT="${TGT_START_TIMEOUT:-15}"
TGT_STOP_TIMEOUT="${TGT_STOP_TIMEOUT:-10}"
# How many times a busy-LU operation is retried, 0.1 s apart.
TGT_BUSY_RETRIES="${TGT_BUSY_RETRIES:-50}"
TGT_SOCKET_DIR="/var/run/tgtd"

tgt__err() { printf 'tgt.sh: %s\n' "$*" >&2; }

# Prints a command line with the value after --password replaced, for error messages.
tgt__redact() {
    local out="" hide=0 a
    for a in "$@"; do
        if [[ $hide == 1 ]]; then a="***"; hide=0; fi
        [[ $a == --password || $a == -w ]] && hide=1
        [[ $a == --password=* ]] && a="--password=***"
        out+="${out:+ }$a"
    done
    printf '%s' "$out"
}

tgt__is_uint() { [[ ${1:-} =~ ^[0-9]+$ ]]; }

tgt__check_ctl() {
    if ! tgt__is_uint "${1:-}" || (( 10#$1 > 65535 )); then
        tgt__err "control port must be an integer 0..65535, got '${1:-}'"
        return 1
    fi
}

# A portal is ADDRESS:PORT with ADDRESS in 127.0.0.0/8.
tgt__check_portal() {
    local p="${1:-}" re='^127\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3}):([0-9]{1,5})$'
    if [[ $p =~ $re ]] && (( 10#${BASH_REMATCH[1]} <= 255 && 10#${BASH_REMATCH[2]} <= 255 \
        && 10#${BASH_REMATCH[3]} <= 255 && 10#${BASH_REMATCH[4]} >= 1 \
        && 10#${BASH_REMATCH[4]} <= 65535 )); then
        return 0
    fi
    tgt__err "portal must be a loopback 127.x.y.z:PORT address, got '$p'"
    return 1
}

# Runs tgtadm on TGT_CTL with the iscsi driver. Prints tgtadm's stdout on success;
# on failure prints the command and its stderr and returns tgtadm's exit status.
tgt__adm() {
    local errf rc=0 out
    errf="$(mktemp "${TMPDIR:-/tmp}/tgt-sh.XXXXXX")"
    out="$(tgtadm -C "$TGT_CTL" --lld iscsi "$@" 2>"$errf")" || rc=$?
    if (( rc != 0 )); then
        tgt__err "FAILED (exit $rc): $(tgt__redact tgtadm -C "$TGT_CTL" --lld iscsi "$@")"
        tgt__err "  tgtadm stderr: $(tr '\n' ' ' <"$errf")"
        rm -f "$errf"
        return "$rc"
    fi
    rm -f "$errf"
    [[ -n $out ]] && printf '%s\n' "$out"
    return 0
}

# Same as tgt__adm but silent on failure; its stderr goes to TGT_LAST_ERR.
TGT_LAST_ERR=""
tgt__adm_quiet() {
    local errf rc=0 out
    errf="$(mktemp "${TMPDIR:-/tmp}/tgt-sh.XXXXXX")"
    out="$(tgtadm -C "$TGT_CTL" --lld iscsi "$@" 2>"$errf")" || rc=$?
    TGT_LAST_ERR="$(tr '\n' ' ' <"$errf")"
    rm -f "$errf"
    [[ -n $out ]] && printf '%s\n' "$out"
    return "$rc"
}

# Retries a tgtadm command while tgtd answers "still active" (busy LU or target).
tgt__adm_retry_busy() {
    local i
    for (( i = 0; i <= TGT_BUSY_RETRIES; i++ )); do
        if tgt__adm_quiet "$@" >/dev/null; then return 0; fi
        [[ $TGT_LAST_ERR == *"still active"* ]] || break
        sleep 0.1
    done
    tgt__err "FAILED after $i attempt(s): $(tgt__redact tgtadm -C "$TGT_CTL" --lld iscsi "$@")"
    tgt__err "  tgtadm stderr: $TGT_LAST_ERR"
    return 1
}

# True when a tgtd answers on control port $1 (default TGT_CTL).
tgt_answers() {
    local ctl="${1:-$TGT_CTL}"
    tgtadm -C "$ctl" --op show --mode system >/dev/null 2>&1
}

# Prints the pid of the tgtd started with control port $1, if any (found via /proc because
# tgtd writes no pidfile in foreground mode).
tgt__find_pid() {
    local ctl="$1" d pid
    local -a argv
    for d in /proc/[0-9]*; do
        pid="${d#/proc/}"
        [[ -r $d/cmdline ]] || continue
        mapfile -d '' -t argv 2>/dev/null <"$d/cmdline" || continue
        (( ${#argv[@]} > 0 )) || continue
        [[ ${argv[0]##*/} == tgtd ]] || continue
        local i want=0 found=""
        for (( i = 1; i < ${#argv[@]}; i++ )); do
            case "${argv[i]}" in
                -C|--control-port) found="${argv[i+1]:-}" ;;
                --control-port=*) found="${argv[i]#*=}" ;;
            esac
        done
        [[ -z $found ]] && found=0
        if tgt__is_uint "$found" && (( 10#$found == 10#$ctl )); then want=1; fi
        if (( want )); then printf '%s\n' "$pid"; return 0; fi
    done
    return 1
}

# True while process $1 exists and is not a zombie.
tgt__alive() {
    local stat
    kill -0 "$1" 2>/dev/null || return 1
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [[ ${stat:0:1} != Z ]]
}

# True when something accepts TCP connections on HOST:PORT ($1), within 1 s.
tgt__portal_in_use() {
    local host="${1%:*}" port="${1##*:}"
    # shellcheck disable=SC2016 # expanded by the inner bash
    timeout 1 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port" 2>/dev/null
}

# Prints the current portals (ADDRESS:PORT, one per line) of TGT_CTL's tgtd.
tgt_portals() {
    local out line
    out="$(tgt__adm --op show --mode portal)" || return 1
    while IFS= read -r line; do
        [[ $line == Portal:* ]] || continue
        line="${line#Portal: }"
        printf '%s\n' "${line%,*}"
    done <<<"$out"
}

# tgt_portal_add ADDRESS:PORT (loopback only).
tgt_portal_add() {
    tgt__check_portal "${1:-}" || return 1
    tgt__adm --op new --mode portal --param "portal=$1" >/dev/null
}

# tgt_portal_delete ADDRESS:PORT. Any address is accepted so the wildcard portals tgtd
# creates on its own ([::]:3260, 0.0.0.0:3260) can be removed.
tgt_portal_delete() {
    [[ -n ${1:-} ]] || { tgt__err "tgt_portal_delete: missing portal"; return 1; }
    tgt__adm --op delete --mode portal --param "portal=$1" >/dev/null
}

# tgt_start CTL STATE_DIR PORTAL... : starts tgtd on control port CTL listening only on the
# given loopback portals; log in STATE_DIR/tgtd.log, pid in STATE_DIR/tgtd.pid. Refuses when
# CTL already has a tgtd or a portal is already taken. Returns once the control socket answers
# and exactly the requested portals are listening.
tgt_start() {
    local ctl="${1:-}" dir="${2:-}"
    shift 2 || { tgt__err "usage: tgt_start CTL STATE_DIR PORTAL..."; return 1; }
    local -a portals=("$@")
    tgt__check_ctl "$ctl" || return 1
    [[ -n $dir ]] || { tgt__err "tgt_start: missing state directory"; return 1; }
    (( ${#portals[@]} > 0 )) || { tgt__err "tgt_start: at least one portal is needed"; return 1; }
    local p
    for p in "${portals[@]}"; do tgt__check_portal "$p" || return 1; done
    local bin
    for bin in tgtd tgtadm setsid timeout; do
        command -v "$bin" >/dev/null || { tgt__err "'$bin' not found (install Debian packages tgt, util-linux, coreutils)"; return 1; }
    done

    local other
    if tgt_answers "$ctl" || other="$(tgt__find_pid "$ctl")"; then
        other="${other:-$(tgt__find_pid "$ctl" || true)}"
        tgt__err "refusing to start: control port $ctl is already used by another tgtd${other:+ (pid $other)}; stop it first (tools/tgt-env down, or pick another MPATH_TGT_CTL)"
        return 1
    fi
    for p in "${portals[@]}"; do
        if tgt__portal_in_use "$p"; then
            tgt__err "refusing to start: $p already accepts connections (another tgtd or a wildcard listener on its port?); tgtd would silently fall back to the wildcard address"
            return 1
        fi
    done

    mkdir -p "$dir"
    local log="$dir/tgtd.log" pidfile="$dir/tgtd.pid"
    : >"$log"
    TGT_CTL="$ctl"
    # setsid: a Ctrl-C in the caller's terminal must not hit tgtd; stopping is tgt_stop's job.
    setsid tgtd -f -C "$ctl" --iscsi "portal=${portals[0]}" </dev/null >>"$log" 2>&1 &
    local launched=$! pid="" waited=0 limit=$(( TGT_START_TIMEOUT * 10 ))
    while (( waited < limit )); do
        pid="$(tgt__find_pid "$ctl" || true)"
        if [[ -n $pid ]] && tgt_answers "$ctl"; then break; fi
        if [[ -z $pid ]] && ! tgt__alive "$launched"; then
            tgt__err "tgtd exited during startup (control port $ctl); last lines of $log:"
            tail -n 20 "$log" | sed 's/^/    /' >&2
            return 1
        fi
        sleep 0.1
        waited=$(( waited + 1 ))
    done
    if [[ -z $pid ]] || ! tgt_answers "$ctl"; then
        tgt__err "tgtd did not answer on control port $ctl within ${TGT_START_TIMEOUT}s; log: $log"
        tgt_stop "$ctl" "$dir" || true
        return 1
    fi
    printf '%s\n' "$pid" >"$pidfile"

    local failed=0
    for p in "${portals[@]:1}"; do tgt_portal_add "$p" || failed=1; done
    # Drop anything not asked for (the wildcard fallback), then check every portal listens.
    local have
    if have="$(tgt_portals)"; then
        local h keep
        while IFS= read -r h; do
            [[ -n $h ]] || continue
            keep=0
            for p in "${portals[@]}"; do [[ $h == "$p" ]] && keep=1; done
            if (( ! keep )); then
                tgt__err "tgtd created portal $h that was not requested (its bind of a requested portal failed?); deleting it"
                tgt_portal_delete "$h" || true
                failed=1
            fi
        done <<<"$have"
    else
        failed=1
    fi
    for p in "${portals[@]}"; do
        if ! tgt__portal_in_use "$p"; then
            tgt__err "portal $p is not accepting connections after start"
            failed=1
        fi
    done
    if (( failed )); then
        tgt__err "tgtd on control port $ctl did not come up with exactly the portals ${portals[*]}; log $log:"
        tail -n 20 "$log" | sed 's/^/    /' >&2
        tgt_stop "$ctl" "$dir" || true
        return 1
    fi
    return 0
}

# Prints the target ids of TGT_CTL's tgtd, one per line.
tgt_target_ids() {
    local out line re='^Target ([0-9]+): '
    out="$(tgt__adm --op show --mode target)" || return 1
    while IFS= read -r line; do
        [[ $line =~ $re ]] && printf '%s\n' "${BASH_REMATCH[1]}"
    done <<<"$out"
    return 0
}

# tgt_stop [CTL [STATE_DIR]]: deletes every target (forced), asks tgtd to exit, waits up to
# TGT_STOP_TIMEOUT seconds for the process, then SIGKILLs it. Succeeds when no tgtd is left on
# CTL (also when none was running).
tgt_stop() {
    local ctl="${1:-$TGT_CTL}" dir="${2:-}"
    tgt__check_ctl "$ctl" || return 1
    local saved="$TGT_CTL" pid tid
    TGT_CTL="$ctl"
    pid="$(tgt__find_pid "$ctl" || true)"
    if tgt_answers "$ctl"; then
        for tid in $(tgt_target_ids || true); do tgt_delete_target "$tid" || true; done
        local i
        for (( i = 0; i < 20; i++ )); do
            if tgt__adm_quiet --op delete --mode system >/dev/null; then break; fi
            # A target created meanwhile (or one that refused) blocks the system delete.
            for tid in $(tgt_target_ids 2>/dev/null || true); do tgt_delete_target "$tid" >/dev/null 2>&1 || true; done
            sleep 0.1
        done
        (( i < 20 )) || tgt__err "tgtd on control port $ctl refused '--op delete --mode system': $TGT_LAST_ERR"
    fi
    TGT_CTL="$saved"
    if [[ -n $pid ]]; then
        local waited=0 limit=$(( TGT_STOP_TIMEOUT * 10 ))
        while tgt__alive "$pid" && (( waited < limit )); do
            sleep 0.1
            waited=$(( waited + 1 ))
        done
        if tgt__alive "$pid"; then
            tgt__err "tgtd (pid $pid, control port $ctl) still running after ${TGT_STOP_TIMEOUT}s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            waited=0
            while tgt__alive "$pid" && (( waited < 50 )); do sleep 0.1; waited=$(( waited + 1 )); done
        fi
        if tgt__alive "$pid"; then
            tgt__err "tgtd (pid $pid) survived SIGKILL"
            return 1
        fi
    fi
    if pid="$(tgt__find_pid "$ctl")"; then
        tgt__err "another tgtd (pid $pid) is still using control port $ctl"
        return 1
    fi
    # tgtd leaves its socket and lock file behind; they are ours now that no process has them.
    rm -f "$TGT_SOCKET_DIR/socket.$ctl" "$TGT_SOCKET_DIR/socket.$ctl.lock"
    [[ -n $dir ]] && rm -f "$dir/tgtd.pid"
    return 0
}

# tgt_status [CTL]: prints pid, portals and targets; returns 1 when no tgtd answers.
tgt_status() {
    local ctl="${1:-$TGT_CTL}" saved="$TGT_CTL" pid rc=0
    tgt__check_ctl "$ctl" || return 1
    pid="$(tgt__find_pid "$ctl" || true)"
    if ! tgt_answers "$ctl"; then
        echo "tgtd: not answering on control port $ctl${pid:+ (but pid $pid exists)}"
        return 1
    fi
    TGT_CTL="$ctl"
    echo "tgtd: pid ${pid:-?}, control port $ctl"
    echo "portals:"
    tgt_portals | sed 's/^/  /' || rc=1
    echo "targets:"
    tgt__adm --op show --mode target | grep -E '^Target [0-9]+:' | sed 's/^/  /' || true
    TGT_CTL="$saved"
    return "$rc"
}

# tgt_new_target TID IQN
tgt_new_target() {
    tgt__is_uint "${1:-}" || { tgt__err "tgt_new_target: TID must be a number, got '${1:-}'"; return 1; }
    [[ -n ${2:-} ]] || { tgt__err "tgt_new_target: missing IQN"; return 1; }
    tgt__adm --op new --mode target --tid "$1" --targetname "$2" >/dev/null
}

# tgt_delete_target TID: offline first (so in-flight commands stop arriving), then a forced
# delete retried while tgtd says the LU is still active.
tgt_delete_target() {
    tgt__is_uint "${1:-}" || { tgt__err "tgt_delete_target: TID must be a number, got '${1:-}'"; return 1; }
    tgt__adm_quiet --op update --mode target --tid "$1" --name state --value offline >/dev/null || true
    tgt__adm_retry_busy --op delete --mode target --tid "$1" --force
}

# tgt_add_lun TID LUN FILE [PARAMS]: PARAMS is a comma list of logical unit parameters
# (scsi_id=,scsi_sn=,vendor_id=,online=,readonly=...) applied after creation. The keys
# blocksize=, bstype= and bsoflags= are creation options and are passed as such.
tgt_add_lun() {
    local tid="${1:-}" lun="${2:-}" file="${3:-}" params="${4:-}"
    tgt__is_uint "$tid" || { tgt__err "tgt_add_lun: TID must be a number, got '$tid'"; return 1; }
    tgt__is_uint "$lun" || { tgt__err "tgt_add_lun: LUN must be a number, got '$lun'"; return 1; }
    [[ -e $file ]] || { tgt__err "tgt_add_lun: backing file '$file' does not exist"; return 1; }
    local -a create=() rest=()
    local kv
    if [[ -n $params ]]; then
        local IFS=,
        for kv in $params; do
            case "$kv" in
                blocksize=*) create+=(--blocksize "${kv#*=}") ;;
                bstype=*) create+=(--bstype "${kv#*=}") ;;
                bsoflags=*) create+=(--bsoflags "${kv#*=}") ;;
                *=*) rest+=("$kv") ;;
                *) tgt__err "tgt_add_lun: parameter '$kv' is not KEY=VALUE"; return 1 ;;
            esac
        done
    fi
    tgt__adm --op new --mode logicalunit --tid "$tid" --lun "$lun" --backing-store "$file" \
        "${create[@]}" >/dev/null || return 1
    if (( ${#rest[@]} > 0 )); then
        local joined
        joined="$(IFS=,; printf '%s' "${rest[*]}")"
        tgt__adm --op update --mode logicalunit --tid "$tid" --lun "$lun" --params "$joined" >/dev/null
    fi
}

# tgt_delete_lun TID LUN: retried while the LU is busy.
tgt_delete_lun() {
    if ! tgt__is_uint "${1:-}" || ! tgt__is_uint "${2:-}"; then
        tgt__err "usage: tgt_delete_lun TID LUN"
        return 1
    fi
    tgt__adm_retry_busy --op delete --mode logicalunit --tid "$1" --lun "$2"
}

# tgt_lun_online TID LUN 0|1: an offline disk LU fails I/O with NOT READY sense.
tgt_lun_online() {
    tgt__is_uint "${1:-}" && tgt__is_uint "${2:-}" && [[ ${3:-} == [01] ]] \
        || { tgt__err "usage: tgt_lun_online TID LUN 0|1"; return 1; }
    tgt__adm --op update --mode logicalunit --tid "$1" --lun "$2" --params "online=$3" >/dev/null
}

# tgt_bind_all TID: lets every initiator address log in.
tgt_bind_all() {
    tgt__is_uint "${1:-}" || { tgt__err "tgt_bind_all: TID must be a number, got '${1:-}'"; return 1; }
    tgt__adm --op bind --mode target --tid "$1" --initiator-address ALL >/dev/null
}

# tgt_set_param TID KEY VALUE: target (login negotiation) parameter, e.g. HeaderDigest CRC32C,
# MaxRecvDataSegmentLength 65536, InitialR2T No, ImmediateData Yes, nop_interval 5.
tgt_set_param() {
    tgt__is_uint "${1:-}" && [[ -n ${2:-} && -n ${3:-} ]] \
        || { tgt__err "usage: tgt_set_param TID KEY VALUE"; return 1; }
    tgt__adm --op update --mode target --tid "$1" --name "$2" --value "$3" >/dev/null
}

# tgt_account_new USER PASSWORD (accounts are global to the daemon).
tgt_account_new() {
    [[ -n ${1:-} && -n ${2:-} ]] || { tgt__err "usage: tgt_account_new USER PASSWORD"; return 1; }
    tgt__adm --op new --mode account --user "$1" --password "$2" >/dev/null
}

# tgt_account_bind TID USER [--outgoing]: incoming = target authenticates the initiator;
# outgoing = mutual CHAP (at most one per target).
tgt_account_bind() {
    tgt__is_uint "${1:-}" && [[ -n ${2:-} ]] || { tgt__err "usage: tgt_account_bind TID USER [--outgoing]"; return 1; }
    local -a extra=()
    [[ ${3:-} == --outgoing ]] && extra=(--outgoing)
    tgt__adm --op bind --mode account --tid "$1" --user "$2" "${extra[@]}" >/dev/null
}

# tgt_account_unbind TID USER [--outgoing]
tgt_account_unbind() {
    tgt__is_uint "${1:-}" && [[ -n ${2:-} ]] || { tgt__err "usage: tgt_account_unbind TID USER [--outgoing]"; return 1; }
    local -a extra=()
    [[ ${3:-} == --outgoing ]] && extra=(--outgoing)
    tgt__adm --op unbind --mode account --tid "$1" --user "$2" "${extra[@]}" >/dev/null
}

# tgt_account_delete USER
tgt_account_delete() {
    [[ -n ${1:-} ]] || { tgt__err "usage: tgt_account_delete USER"; return 1; }
    tgt__adm --op delete --mode account --user "$1" >/dev/null
}
