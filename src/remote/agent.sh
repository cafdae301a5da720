#!/usr/bin/env bash
# trigger-ops-agent: the only thing the trigger-ops controller runs on a supervisor droplet.
#
# Installed by cloud-init as /usr/local/bin/trigger-ops-agent. Every verb is idempotent and prints exactly ONE JSON
# object on stdout, failures included ({"ok":false,"error":"..."}); everything else goes to stderr.
# Exit codes: 0 ok, 1 the operation failed (or, for `status`, the docker daemon is down), 2 usage error.
#
# Verbs (built and parsed by src/remote/agent-commands.ts; keep both in step):
#   version
#   status
#   apply --compose-b64 B64 [--no-start]   .env content on STDIN (never in argv); compose base64 in argv (no secrets)
#   upgrade TAG [--wait SECONDS]
#   rollback [--to TAG] [--wait SECONDS]
#   restart
#   stop
#   logs [--tail N]
#   prune
#   wait-cloud-init [--timeout SECONDS]
#   cancel OP_ID
# The state-changing verbs (apply, upgrade, rollback, restart, stop, prune) also take [--op OP_ID] [--lock-wait S].
#
# Safe to retry (docs/droplet-contract.md, "Operations"): a state-changing verb runs in a detached worker (its own
# session, nothing of the SSH session's open) under an exclusive flock on $STATE_DIR/agent.lock, and records its
# answer in $STATE_DIR/ops/OP_ID.json. The attached process only relays the worker's progress to stderr
# ("progress: TEXT" per step, "progress: still TEXT (Ns)" every 5 s in between) and prints its answer, so a dropped
# SSH connection stops nothing. A retry with the same OP_ID adopts the run (waits for it if it still runs) and its
# answer ("adopted":true) instead of starting a second one; another OP_ID waits for the lock.
#
# Paths are the droplet's own; ${TRIGGER_OPS_ROOT:-} prefixes them only in the script's unit test (on the host). Only the
# commands listed in docs/droplet-contract.md are used. No jq: JSON is built by json_str below.
#
# Config hash (must equal configHash() in src/remote/compose.ts):
#   sha256_hex("trigger-ops-config-v1\n" + sha256_hex(compose.yaml) + "\n" + sha256_hex(.env) + "\n")
set -euo pipefail
set -E
export LC_ALL=C
umask 077

AGENT_VERSION=1.1.0

ROOT="${TRIGGER_OPS_ROOT:-}"
STATE_DIR="$ROOT/opt/trigger-ops"
OPS_DIR="$STATE_DIR/ops"
LOCK_FILE="$STATE_DIR/agent.lock"
SUP_DIR="$STATE_DIR/supervisor"
STAGE_DIR="$SUP_DIR/.staging"
STATE_FILE="$STATE_DIR/agent-state.json"
PROJECT=trigger
SERVICE=supervisor
CONTAINER="$PROJECT-$SERVICE-1"
TAG_RE='^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$'
OP_RE='^[A-Za-z0-9_.:-]{1,200}$'
# Seconds of silence after which the attached process says the current step is still running.
STILL_EVERY=5
# This script, for the detached worker to run again.
SELF=${BASH_SOURCE[0]}
[[ $SELF == /* ]] || SELF="$PWD/$SELF"

# fd 3 is the real stdout and carries the single JSON answer; anything else a command prints goes to stderr.
exec 3>&1 1>&2

# --- JSON -------------------------------------------------------------------------------------------------------

# json_str VALUE: VALUE as a JSON string literal (quotes, backslashes and every control character escaped).
json_str() {
  # Replacements are quoted expansions: literal in every bash from 4.x to 5.2 (patsub_replacement, backslashes).
  local s=$1 bs=\\ q='"' i c u
  s=${s//"$bs"/"$bs$bs"}
  s=${s//"$q"/"$bs$q"}
  s=${s//$'\n'/"${bs}n"}
  s=${s//$'\r'/"${bs}r"}
  s=${s//$'\t'/"${bs}t"}
  if [[ $s == *[$'\001'-$'\037']* ]]; then
    for ((i = 1; i < 32; i++)); do
      printf -v c '%b' "\\$(printf '%03o' "$i")"
      printf -v u '%su%04x' "$bs" "$i"
      s=${s//"$c"/"$u"}
    done
  fi
  printf '"%s"' "$s"
}

# json_str_or_null VALUE: null when VALUE is empty.
json_str_or_null() {
  if [[ -z $1 ]]; then printf 'null'; else json_str "$1"; fi
}

# json_num_or_null VALUE: VALUE when it is a number, otherwise null.
json_num_or_null() {
  if [[ $1 =~ ^-?[0-9]+(\.[0-9]+)?$ ]]; then printf '%s' "$1"; else printf 'null'; fi
}

json_bool() {
  if [[ $1 == true ]]; then printf 'true'; else printf 'false'; fi
}

emit() {
  printf '%s\n' "$1" >&3
}

# die MESSAGE [EXIT]: the error answer. Only ever called from the main shell, never inside $(...).
die() {
  emit "{\"ok\":false,\"error\":$(json_str "$1")}"
  exit "${2:-1}"
}

usage() {
  die "$1 (usage: trigger-ops-agent version|status|apply --compose-b64 B64 [--no-start]|upgrade TAG [--wait S]|rollback [--to TAG] [--wait S]|restart|stop|logs [--tail N]|prune|wait-cloud-init [--timeout S]|cancel OP_ID; apply, upgrade, rollback, restart, stop and prune also take [--op OP_ID] [--lock-wait S])" 2
}

on_error() {
  local code=$1 line=$2 cmd=$3
  RERUNNABLE=true
  if ((BASH_SUBSHELL == 0)); then
    emit "{\"ok\":false,\"error\":$(json_str "agent failed at line $line (exit $code): $cmd")}"
  fi
  exit 1
}
trap 'on_error $? $LINENO "$BASH_COMMAND"' ERR

# --- small helpers ----------------------------------------------------------------------------------------------

# last_lines TEXT [N]: the last N (default 5) lines of TEXT on one line, for error messages.
last_lines() {
  printf '%s\n' "$1" | tail -n "${2:-5}" | tr '\n' ' ' | sed 's/ *$//'
}

# first_match REGEX TEXT: the first substring of TEXT matching the extended REGEX, or nothing.
first_match() {
  { grep -oE -- "$1" <<<"$2" || true; } | sed -n 1p
}

# json_string_field NAME TEXT: the value of the first "NAME": "value" in TEXT (values without quotes only).
json_string_field() {
  first_match "\"$1\"[[:space:]]*:[[:space:]]*\"[^\"]*\"" "$2" | sed -E 's/^.*:[[:space:]]*"([^"]*)"$/\1/'
}

# json_scalar_field NAME TEXT: the value of the first "NAME": number|true|false in TEXT.
json_scalar_field() {
  first_match "\"$1\"[[:space:]]*:[[:space:]]*(-?[0-9]+|true|false)" "$2" | sed -E 's/^.*:[[:space:]]*//'
}

now_ms() {
  date +%s%3N
}

now_iso() {
  date -u +%Y-%m-%dT%H:%M:%SZ
}

ms_to_seconds() {
  awk -v ms="$1" 'BEGIN { printf "%.3f", ms / 1000 }'
}

dc() {
  local dir=$1
  shift
  docker compose --project-directory "$dir" -f "$dir/compose.yaml" --env-file "$dir/.env" "$@"
}

config_hash() {
  local dir=$1
  {
    printf 'trigger-ops-config-v1\n'
    sha256sum <"$dir/compose.yaml" | cut -d' ' -f1
    sha256sum <"$dir/.env" | cut -d' ' -f1
  } | sha256sum | cut -d' ' -f1
}

# env_tag FILE: TRIGGER_IMAGE_TAG from an .env file written by buildSupervisorEnv (always unquoted there).
env_tag() {
  [[ -f $1 ]] || return 0
  { grep -E '^TRIGGER_IMAGE_TAG=' "$1" || true; } | sed -n 1p | cut -d= -f2-
}

have_config() {
  [[ -f $SUP_DIR/.env && -f $SUP_DIR/compose.yaml ]]
}

require_config() {
  have_config || die "no configuration applied under $SUP_DIR; run apply first"
}

require_docker() {
  local out
  if ! out=$(docker info --format '{{json .}}' 2>&1); then
    # Not the operation's fault: a retry of the same operation runs it again once the daemon is back.
    RERUNNABLE=true
    die "docker daemon is not running: $(last_lines "$out" 2)"
  fi
}

require_tag() {
  [[ $1 =~ $TAG_RE ]] || die "invalid image tag '$1': expected letters, digits, '_', '.' or '-' (e.g. v4.5.12)" 2
}

# state_field NAME: a string field of agent-state.json (the agent writes it, flat, with safe values only).
state_field() {
  [[ -f $STATE_FILE ]] || return 0
  json_string_field "$1" "$(cat "$STATE_FILE")"
}

# write_state OPERATION [DOWNTIME_SECONDS]
write_state() {
  local op=$1 downtime=${2:-} applied_at tmp
  applied_at=$(state_field appliedAt)
  if [[ $op == apply || $op == upgrade || $op == rollback ]]; then applied_at=$(now_iso); fi
  if [[ -z $downtime ]]; then downtime=$(state_field lastDowntimeSeconds); fi
  install -d -m 0700 "$STATE_DIR"
  tmp=$(mktemp "$STATE_DIR/.agent-state.XXXXXX")
  printf '{"agentVersion":%s,"hash":%s,"tag":%s,"previousTag":%s,"appliedAt":%s,"lastOperation":%s,"lastOperationAt":%s,"lastDowntimeSeconds":%s}\n' \
    "$(json_str "$AGENT_VERSION")" \
    "$(json_str "$(config_hash "$SUP_DIR")")" \
    "$(json_str "$(env_tag "$SUP_DIR/.env")")" \
    "$(json_str "$(env_tag "$SUP_DIR/previous.env")")" \
    "$(json_str "$applied_at")" \
    "$(json_str "$op")" \
    "$(json_str "$(now_iso)")" \
    "$(json_str "$downtime")" >"$tmp"
  mv -f "$tmp" "$STATE_FILE"
}

# --- staging: every change is staged, its images pulled, and only then promoted ---------------------------------

# stage ENV_FILE COMPOSE_FILE: copies both into the staging directory (0600). The worker's exit removes what is
# left of it, whatever the exit.
stage() {
  rm -rf "$STAGE_DIR"
  STAGED=true
  install -d -m 0700 "$SUP_DIR" "$STAGE_DIR"
  install -m 0600 "$1" "$STAGE_DIR/.env"
  install -m 0600 "$2" "$STAGE_DIR/compose.yaml"
}

pull_staged() {
  local out
  if ! out=$(dc "$STAGE_DIR" pull 2>&1); then
    rm -rf "$STAGE_DIR"
    # A missing image stays missing: a retry of the operation adopts this answer. Anything else may pass.
    if ! grep -qiE 'manifest unknown|not found' <<<"$out"; then RERUNNABLE=true; fi
    die "docker compose pull failed, nothing changed: $(last_lines "$out" 3)"
  fi
}

# promote: the current files become previous.*, the staged ones current. Each rename is atomic.
promote() {
  if have_config; then
    install -m 0600 "$SUP_DIR/.env" "$SUP_DIR/.previous.env.tmp"
    install -m 0600 "$SUP_DIR/compose.yaml" "$SUP_DIR/.previous.compose.yaml.tmp"
    mv -f "$SUP_DIR/.previous.env.tmp" "$SUP_DIR/previous.env"
    mv -f "$SUP_DIR/.previous.compose.yaml.tmp" "$SUP_DIR/previous.compose.yaml"
  fi
  mv -f "$STAGE_DIR/compose.yaml" "$SUP_DIR/compose.yaml"
  mv -f "$STAGE_DIR/.env" "$SUP_DIR/.env"
  rm -rf "$STAGE_DIR"
  STAGED=false
}

compose_up() {
  local out
  if ! out=$(dc "$SUP_DIR" up -d --remove-orphans 2>&1); then
    RERUNNABLE=true
    die "docker compose up failed: $(last_lines "$out" 3)"
  fi
}

# inspect_supervisor: docker inspect's JSON on one line, or nothing when the container does not exist.
inspect_supervisor() {
  local out
  if out=$(docker inspect "$CONTAINER" 2>/dev/null); then
    printf '%s' "$out" | tr -d '\n'
  fi
}

# The container's state fields, from docker inspect's JSON (no jq: targeted patterns on known keys). State and
# Health are read from the text from "State" on, Health first, so that its "Status" is not taken for State.Status
# and Config's strings before State cannot match.
state_text() {
  sed -E 's/^.*"State"[[:space:]]*:[[:space:]]*\{//' <<<"$1"
}

container_health() {
  local health
  health=$(first_match '"Health"[[:space:]]*:[[:space:]]*\{[^}]*' "$(state_text "$1")")
  [[ -n $health ]] || return 0
  json_string_field Status "$health"
}

container_state() {
  local without_health
  without_health=$(sed -E 's/"Health"[[:space:]]*:[[:space:]]*\{[^}]*\}?//' <<<"$(state_text "$1")")
  json_string_field Status "$without_health"
}

container_image() {
  { grep -oE '"Image"[[:space:]]*:[[:space:]]*"[^"]*"' <<<"$1" || true; } |
    sed -E 's/^.*:[[:space:]]*"([^"]*)"$/\1/' | { grep -v '^sha256:' || true; } | sed -n 1p
}

image_tag() {
  local image=$1
  image=${image%@*}
  if [[ ${image##*/} == *:* ]]; then printf '%s' "${image##*:}"; fi
}

# pull_label COMPOSE_FILE TAG: what a pull fetches, for progress lines: the supervisor image with TAG.
pull_label() {
  local line
  line=$({ grep -E '^[[:space:]]*image:.*TRIGGER_IMAGE_TAG' "$1" || true; } | sed -n 1p)
  line=${line#*image:}
  line=${line#"${line%%[![:space:]]*}"}
  line=${line#[\"\']}
  line=${line%%\$\{*}
  if [[ -n $line ]]; then printf '%s%s' "$line" "$2"; else printf 'the images for %s' "$2"; fi
}

# wait_running IMAGE_TAG TIMEOUT_SECONDS: true once the supervisor runs with IMAGE_TAG.
wait_running() {
  local want=$1 deadline inspect
  deadline=$(($(now_ms) + $2 * 1000))
  while (($(now_ms) < deadline)); do
    inspect=$(inspect_supervisor)
    if [[ -n $inspect && $(json_scalar_field Running "$inspect") == true &&
      $(image_tag "$(container_image "$inspect")") == "$want" ]]; then
      return 0
    fi
    sleep 0.2
  done
  return 1
}

# recreate_and_measure TAG WAIT: `up -d` (compose stops the old container and starts the new one), then waits for
# it to run. Sets DOWNTIME to the elapsed seconds, an upper bound of the gap between stop and running, or to
# nothing when the container did not run with TAG within WAIT seconds.
recreate_and_measure() {
  local t0
  t0=$(now_ms)
  progress "recreating the supervisor with $1"
  compose_up
  DOWNTIME=''
  progress "waiting for the container to run $1"
  if wait_running "$1" "$2"; then
    DOWNTIME=$(ms_to_seconds $(($(now_ms) - t0)))
  fi
}

# --- operations: one lock, a detached worker per run, and the record of each run's answer ------------------------
#
# A state-changing verb runs as operation OP_ID (--op, else an anonymous id). Files under $OPS_DIR, per operation:
#   OP_ID.lock      flock: held by the run (its worker and the worker's children) for as long as it lives
#   OP_ID.pid       "PID START" of the worker (START from /proc/PID/stat), while it runs; its process group is PID
#   OP_ID.progress  "UNIX_SECONDS TEXT" per step, relayed by every attached process as "progress: TEXT"
#   OP_ID.json      the run's answer, written atomically when it ends (failures included)
#   OP_ID.rerun     beside a failure worth running again (daemon down, lock timeout, cancelled, …): a retry re-runs
#   OP_ID.cmd       the verb and its target, so that one id cannot stand for two different commands
#   OP_ID.commit    flock: held from the run's first change to the live configuration on (cancel then lets it finish)
#   OP_ID.log       the worker's stderr
# Records older than 7 days are removed by the next run.

# Set by split_op_args and the parse_* functions, in both processes.
OP_ID=''
LOCK_WAIT=900
VERB_ARGS=()
TARGET=''
# The worker's own state.
OP=''
PROGRESS_FILE=''
RESULT_TMP=''
CANCELLED=false
CANCELLED_ANSWER='{"ok":false,"error":"cancelled"}'
RERUNNABLE=false
STAGED=false
WORK=''
WORK_DIRS=()

# progress TEXT: one step of the run. The worker appends it, with its time, to the operation's progress file (which
# the attached processes relay); stderr gets it too (the worker's log, or the session for an attached verb).
progress() {
  local now
  printf -v now '%(%s)T' -1
  if [[ -n $PROGRESS_FILE ]]; then printf '%s %s\n' "$now" "$1" >>"$PROGRESS_FILE"; fi
  printf 'progress: %s\n' "$1" >&2
}

require_op() {
  [[ $1 =~ $OP_RE ]] || usage "invalid operation id '$1': expected 1 to 200 letters, digits, '_', '.', ':' or '-'"
}

# split_op_args ARGS...: --op and --lock-wait into OP_ID and LOCK_WAIT, the verb's own arguments into VERB_ARGS.
split_op_args() {
  OP_ID=''
  LOCK_WAIT=900
  VERB_ARGS=()
  while [[ $# -gt 0 ]]; do
    case $1 in
      --op)
        [[ $# -ge 2 ]] || usage "--op needs an operation id"
        require_op "$2"
        OP_ID=$2
        shift 2
        ;;
      --lock-wait)
        [[ $# -ge 2 && $2 =~ ^[0-9]{1,5}$ ]] || usage "--lock-wait needs a number of seconds"
        LOCK_WAIT=$2
        shift 2
        ;;
      *)
        VERB_ARGS+=("$1")
        shift
        ;;
    esac
  done
}

# proc_start PID: the process's start time (field 22 of /proc/PID/stat, clock ticks since boot). With the pid it
# names one process, even once the pid is reused.
proc_start() {
  local stat
  local -a fields
  { stat=$(<"/proc/$1/stat"); } 2>/dev/null || return 0
  stat=${stat##*) }
  read -ra fields <<<"$stat"
  printf '%s' "${fields[19]:-}"
}

# --- the attached side: what the SSH session runs -----------------------------------------------------------------

# relay_progress: prints the progress lines added since the last call (fd 6 reads the progress file); a line still
# being written is kept for the next call.
relay_progress() {
  local chunk
  while :; do
    chunk=''
    if IFS= read -r chunk <&6; then
      chunk=$RELAY_PARTIAL$chunk
      RELAY_PARTIAL=''
      STEP_AT=${chunk%% *}
      STEP=${chunk#* }
      [[ $STEP_AT =~ ^[0-9]+$ ]] || STEP_AT=$RELAY_LAST
      printf 'progress: %s\n' "$STEP" >&2
      printf -v RELAY_LAST '%(%s)T' -1
    else
      RELAY_PARTIAL+=$chunk
      return 0
    fi
  done
}

# follow OP: relays OP's progress (and, after STILL_EVERY seconds without news, "still STEP (Ns)") until its run ends,
# that is until its lock is free.
follow() {
  local op=$1 now
  : >>"$OPS_DIR/$op.progress"
  exec 6<"$OPS_DIR/$op.progress" 7>>"$OPS_DIR/$op.lock"
  RELAY_PARTIAL=''
  STEP=''
  printf -v RELAY_LAST '%(%s)T' -1
  STEP_AT=$RELAY_LAST
  # flock -w returns as soon as the run ends, and every half second to relay what it said meanwhile.
  while ! flock -w 0.5 7; do
    relay_progress
    printf -v now '%(%s)T' -1
    if ((now - RELAY_LAST >= STILL_EVERY)); then
      printf 'progress: still %s (%ss)\n' "${STEP:-starting}" "$((now - STEP_AT))" >&2
      RELAY_LAST=$now
    fi
  done
  relay_progress
  exec 6<&- 7>&-
}

# spawn_worker VERB OP: starts OP's worker in its own session, holding nothing of this session: stdin the .env for
# apply (through a pipe, never a file) or /dev/null, stdout and stderr the operation's log. It inherits fd 8, the
# operation's lock this process holds, so the run is never seen as dead between here and its start.
spawn_worker() {
  local verb=$1 op=$2 log="$OPS_DIR/$2.log"
  local -a worker=(setsid "$BASH" "$SELF" __run "$op" "$verb" --lock-wait "$LOCK_WAIT" "${VERB_ARGS[@]}")
  printf '%s starting %s (operation %s)\n' "$(now_iso)" "$verb" "$op" >>"$log"
  if [[ $verb == apply ]]; then
    printf '%s' "$ENV_IN" 2>/dev/null 3>&- | "${worker[@]}" >>"$log" 2>&1 3>&- &
  else
    "${worker[@]}" </dev/null >>"$log" 2>&1 3>&- &
  fi
}

# print_answer OP MINE ANONYMOUS: prints OP's recorded answer, with "adopted":true unless this process started the
# run, and exits with its status. An anonymous operation's files go with it.
print_answer() {
  local op=$1 json
  json=$(<"$OPS_DIR/$op.json")
  if [[ $2 != true ]]; then json="${json%\}},\"adopted\":true}"; fi
  if [[ $3 == true ]]; then rm -f "$OPS_DIR/$op".{json,rerun,cmd,progress,log,lock,commit}; fi
  emit "$json"
  if [[ $json == '{"ok":true'* ]]; then exit 0; fi
  exit 1
}

# attach VERB OP ANONYMOUS: runs VERB as operation OP, or adopts OP's run (waiting for it while it runs), and prints
# the answer. A run that ended without an answer (killed) is run again, once.
attach() {
  local verb=$1 op=$2 anonymous=$3 mine=false followed=false what recorded
  local result="$OPS_DIR/$op.json" rerun="$OPS_DIR/$op.rerun"
  what="$verb${TARGET:+ $TARGET}"
  if [[ -f $OPS_DIR/$op.cmd ]]; then
    recorded=$(<"$OPS_DIR/$op.cmd")
    [[ $recorded == "$what" ]] || die "operation id $op was used for '$recorded', not '$what'; use a new id" 2
  fi
  while :; do
    if [[ -f $result ]] && [[ $followed == true || ! -e $rerun ]]; then print_answer "$op" "$mine" "$anonymous"; fi
    if [[ $followed == true && $mine == true ]]; then
      # A run that `cancel` had to kill outright gets its answer from cancel, a moment later.
      for _ in 1 2 3 4 5 6 7 8 9 10; do
        if [[ -f $result ]]; then print_answer "$op" "$mine" "$anonymous"; fi
        sleep 0.2
      done
      die "the run of operation $op ended without an answer (killed?); see $OPS_DIR/$op.log"
    fi
    exec 8>>"$OPS_DIR/$op.lock"
    if flock -n 8; then
      if [[ -f $result && ! -e $rerun ]]; then
        exec 8>&-
        continue
      fi
      rm -f "$result" "$rerun"
      printf '%s\n' "$what" >"$OPS_DIR/$op.cmd"
      : >"$OPS_DIR/$op.progress"
      spawn_worker "$verb" "$op"
      mine=true
    else
      mine=false
      printf 'progress: joining operation %s, already running\n' "$op" >&2
    fi
    exec 8>&-
    follow "$op"
    followed=true
  done
}

# run_state_verb VERB ARGS...: checks the arguments here (usage errors change nothing), then attaches.
run_state_verb() {
  local verb=$1 op anonymous=false
  shift
  split_op_args "$@"
  "parse_$verb" "${VERB_ARGS[@]}"
  install -d -m 0700 "$STATE_DIR" "$OPS_DIR"
  op=$OP_ID
  if [[ -z $op ]]; then
    op="anon-$(date -u +%Y%m%dT%H%M%SZ)-$$"
    anonymous=true
  fi
  attach "$verb" "$op" "$anonymous"
}

# --- the detached side: the worker -------------------------------------------------------------------------------

# worker_exit: removes every temporary file of the run (the .env copies included, whatever ended it) and records
# the answer, before the run's lock is released: what it printed, or "cancelled" when a signal stopped it.
worker_exit() {
  local code=$?
  set +e
  trap - ERR
  rm -rf "${WORK_DIRS[@]}"
  if [[ $STAGED == true ]]; then rm -rf "$STAGE_DIR"; fi
  exec 3>&-
  if [[ $CANCELLED == true ]]; then
    printf '%s\n' "$CANCELLED_ANSWER" >"$RESULT_TMP"
    RERUNNABLE=true
  fi
  if [[ -s $RESULT_TMP ]]; then
    if [[ $RERUNNABLE == true ]]; then : >"$OPS_DIR/$OP.rerun"; fi
    mv -f "$RESULT_TMP" "$OPS_DIR/$OP.json"
  else
    rm -f "$RESULT_TMP"
  fi
  rm -f "$OPS_DIR/$OP.pid"
  exit "$code"
}

# new_work_dir: a private temporary directory in WORK, removed when the worker exits.
new_work_dir() {
  WORK=$(mktemp -d "$STATE_DIR/.work.XXXXXX")
  WORK_DIRS+=("$WORK")
}

# take_lock: the agent's exclusive lock (fd 9), held until the worker and its children are gone.
take_lock() {
  local holder
  exec 9>>"$LOCK_FILE"
  if ! flock -n 9; then
    holder=$(cat "$OPS_DIR/.holder" 2>/dev/null || true)
    progress "waiting for the lock (held by operation ${holder:-unknown})"
    if ! flock -w "$LOCK_WAIT" 9; then
      RERUNNABLE=true
      die "another operation (${holder:-unknown}) still held the agent lock after ${LOCK_WAIT}s; nothing was changed"
    fi
  fi
  printf '%s\n' "$OP" >"$OPS_DIR/.holder"
}

# commit_point: from here on the run changes the live configuration or container; `cancel` then lets it finish
# instead of leaving it half done (cancel holds this lock while it decides and signals).
commit_point() {
  exec 5>>"$OPS_DIR/$OP.commit"
  flock 5
}

# prune_records: forgets operations older than 7 days.
prune_records() {
  local ref="$OPS_DIR/.week-ago" f
  touch -d '-7 days' "$ref" || return 0
  for f in "$OPS_DIR"/*; do
    if [[ -f $f && $f -ot $ref ]]; then rm -f "$f"; fi
  done
}

# run_worker OP VERB ARGS...: the run itself, in its own session; fd 8 is the operation's lock (inherited).
run_worker() {
  require_op "$1"
  OP=$1
  local verb=$2
  shift 2
  case $verb in
    apply | upgrade | rollback | restart | stop | prune) ;;
    *) usage "__run: not a state-changing verb: '$verb'" ;;
  esac
  PROGRESS_FILE="$OPS_DIR/$OP.progress"
  RESULT_TMP="$OPS_DIR/$OP.json.tmp"
  exec 3>"$RESULT_TMP"
  trap worker_exit EXIT
  trap 'CANCELLED=true; exit 143' TERM INT
  trap '' HUP
  printf '%s %s\n' "$$" "$(proc_start "$$")" >"$OPS_DIR/$OP.pid.tmp"
  mv -f "$OPS_DIR/$OP.pid.tmp" "$OPS_DIR/$OP.pid"
  split_op_args "$@"
  "parse_$verb" "${VERB_ARGS[@]}"
  take_lock
  # What a run killed outright (SIGKILL, power loss) left behind; nobody else can be using it while we hold the lock.
  rm -rf "$STAGE_DIR" "$STATE_DIR"/.work.* "$STATE_DIR"/.apply.* "$STATE_DIR"/.upgrade.*
  prune_records
  "do_$verb"
}

# --- verbs ------------------------------------------------------------------------------------------------------

cmd_version() {
  [[ $# -eq 0 ]] || usage "version takes no arguments"
  emit "{\"ok\":true,\"agentVersion\":$(json_str "$AGENT_VERSION")}"
}

cmd_status() {
  [[ $# -eq 0 ]] || usage "status takes no arguments"
  local docker_running=false docker_error='' out ci='' ci_status=unknown
  local supervisor=null disk=null config total_bytes avail_bytes free_pct

  if out=$(docker info --format '{{json .}}' 2>&1); then
    docker_running=true
  else
    docker_error="docker daemon is not running: $(last_lines "$out" 2)"
  fi

  if ci=$(cloud-init status --format json 2>/dev/null) || [[ -n $ci ]]; then
    ci_status=$(json_string_field status "$ci")
    [[ -n $ci_status ]] || ci_status=unknown
  fi

  if [[ $docker_running == true ]]; then
    local inspect exists=false state='' running='' restarting='' health='' restarts='' started='' image='' exit_code=''
    local connected=false connected_count failed_recent=0 last_failed='' logs since
    inspect=$(inspect_supervisor)
    if [[ -n $inspect ]]; then
      exists=true
      state=$(container_state "$inspect")
      running=$(json_scalar_field Running "$inspect")
      restarting=$(json_scalar_field Restarting "$inspect")
      health=$(container_health "$inspect")
      restarts=$(json_scalar_field RestartCount "$inspect")
      started=$(json_string_field StartedAt "$inspect")
      image=$(container_image "$inspect")
      exit_code=$(json_scalar_field ExitCode "$inspect")
      if [[ -n $started && $started != 0001-* ]]; then
        # Streamed, not held in memory: a long-running supervisor's log can be large. grep -c reads to the end, so
        # docker logs never dies of SIGPIPE.
        connected_count=$({ docker logs --since "$started" "$CONTAINER" 2>&1 || true; } |
          { grep -c 'Connected to platform' || true; })
        if [[ ${connected_count:-0} -gt 0 ]]; then connected=true; fi
      fi
      since=$(date -u -d '-10 minutes' +%Y-%m-%dT%H:%M:%SZ)
      logs=$(docker logs --since "$since" "$CONTAINER" 2>&1 || true)
      failed_recent=$({ grep -c 'Failed to connect' <<<"$logs" || true; } | sed -n 1p)
      last_failed=$({ grep 'Failed to connect' <<<"$logs" || true; } | tail -n 1 | cut -c1-500)
    fi
    supervisor=$(printf '{"name":%s,"exists":%s,"state":%s,"running":%s,"restarting":%s,"health":%s,"restartCount":%s,"startedAt":%s,"image":%s,"tag":%s,"exitCode":%s,"connectedToPlatform":%s,"failedToConnectRecent":%s,"lastFailedToConnect":%s}' \
      "$(json_str "$CONTAINER")" "$exists" "$(json_str_or_null "$state")" \
      "$(if [[ -n $running ]]; then json_bool "$running"; else printf null; fi)" \
      "$(if [[ -n $restarting ]]; then json_bool "$restarting"; else printf null; fi)" \
      "$(json_str_or_null "$health")" "$(json_num_or_null "$restarts")" "$(json_str_or_null "$started")" \
      "$(json_str_or_null "$image")" "$(json_str_or_null "$(image_tag "$image")")" "$(json_num_or_null "$exit_code")" \
      "$connected" "$(json_num_or_null "${failed_recent:-0}")" "$(json_str_or_null "$last_failed")")
  fi

  local df_line numbers
  if df_line=$(df -Pk "$ROOT/" 2>/dev/null | sed -n 2p) && [[ -n $df_line ]]; then
    # POSIX df: filesystem, 1024-blocks, used, available, capacity, mount point.
    numbers=$(awk '{ printf "%.0f %.0f %d", $2 * 1024, $4 * 1024, ($2 > 0) ? int($4 * 100 / $2) : 0 }' <<<"$df_line")
    read -r total_bytes avail_bytes free_pct <<<"$numbers"
    disk="{\"path\":$(json_str "$ROOT/"),\"totalBytes\":$(json_num_or_null "$total_bytes"),\"availableBytes\":$(json_num_or_null "$avail_bytes"),\"freePercent\":$(json_num_or_null "$free_pct")}"
  fi

  if have_config; then
    config=$(printf '{"applied":true,"hash":%s,"tag":%s,"previousTag":%s,"appliedAt":%s}' \
      "$(json_str "$(config_hash "$SUP_DIR")")" "$(json_str_or_null "$(env_tag "$SUP_DIR/.env")")" \
      "$(json_str_or_null "$(env_tag "$SUP_DIR/previous.env")")" "$(json_str_or_null "$(state_field appliedAt)")")
  else
    config='{"applied":false,"hash":null,"tag":null,"previousTag":null,"appliedAt":null}'
  fi

  local ok=true error_field=''
  if [[ $docker_running != true ]]; then
    ok=false
    error_field=",\"error\":$(json_str "$docker_error")"
  fi
  emit "{\"ok\":$ok$error_field,\"agentVersion\":$(json_str "$AGENT_VERSION"),\"time\":$(json_str "$(now_iso)"),\"docker\":{\"running\":$docker_running,\"error\":$(json_str_or_null "$docker_error")},\"cloudInit\":{\"status\":$(json_str "$ci_status")},\"supervisor\":$supervisor,\"disk\":$disk,\"config\":$config}"
  [[ $ok == true ]] || exit 1
}

parse_apply() {
  COMPOSE_B64=''
  APPLY_START=true
  while [[ $# -gt 0 ]]; do
    case $1 in
      --compose-b64)
        [[ $# -ge 2 ]] || usage "--compose-b64 needs a value"
        COMPOSE_B64=$2
        shift 2
        ;;
      --no-start)
        APPLY_START=false
        shift
        ;;
      *) usage "apply: unknown argument '$1'" ;;
    esac
  done
  [[ -n $COMPOSE_B64 ]] || usage "apply needs --compose-b64 with the compose file in base64"
  # Byte for byte (the config hash covers it): the x keeps trailing newlines from $(...).
  ENV_IN=$(
    cat
    printf x
  )
  ENV_IN=${ENV_IN%x}
  local size
  if ! size=$(base64 -d <<<"$COMPOSE_B64" 2>/dev/null | wc -c); then die "--compose-b64 is not valid base64" 2; fi
  [[ -n $ENV_IN ]] || die "apply reads the .env content on stdin, and stdin was empty" 2
  [[ $size -gt 0 ]] || die "the compose file given by --compose-b64 is empty" 2
  TARGET=$({ grep -E '^TRIGGER_IMAGE_TAG=' <<<"$ENV_IN" || true; } | sed -n 1p | cut -d= -f2-)
  [[ $TARGET =~ $TAG_RE ]] || die "the .env on stdin has no valid TRIGGER_IMAGE_TAG= line" 2
}

do_apply() {
  local env_in compose_in new_hash changed=true out
  new_work_dir
  env_in="$WORK/.env"
  compose_in="$WORK/compose.yaml"
  printf '%s' "$ENV_IN" >"$env_in"
  base64 -d <<<"$COMPOSE_B64" >"$compose_in"
  new_hash=$(config_hash "$WORK")
  if have_config && [[ $(config_hash "$SUP_DIR") == "$new_hash" ]]; then changed=false; fi

  if [[ $APPLY_START == true ]]; then require_docker; fi
  if [[ $changed == true ]]; then
    stage "$env_in" "$compose_in"
    if [[ $APPLY_START == true ]]; then
      progress "pulling $(pull_label "$compose_in" "$TARGET")"
      pull_staged
    fi
    commit_point
    promote
    write_state apply
  elif [[ $APPLY_START == true ]]; then
    progress "pulling $(pull_label "$compose_in" "$TARGET")"
    if ! out=$(dc "$SUP_DIR" pull 2>&1); then
      RERUNNABLE=true
      die "docker compose pull failed: $(last_lines "$out" 3)"
    fi
    commit_point
  fi
  rm -rf "$WORK"
  if [[ $APPLY_START == true ]]; then
    progress "starting the supervisor"
    compose_up
  fi

  emit "{\"ok\":true,\"changed\":$changed,\"started\":$APPLY_START,\"hash\":$(json_str "$new_hash"),\"tag\":$(json_str "$TARGET"),\"previousTag\":$(json_str_or_null "$(env_tag "$SUP_DIR/previous.env")")}"
}

# number_option FLAG UNIT DEFAULT ARGS...: a verb whose only option is FLAG N (a whole number); sets NUMBER.
number_option() {
  local flag=$1 unit=$2
  NUMBER=$3
  shift 3
  while [[ $# -gt 0 ]]; do
    [[ $1 == "$flag" ]] || usage "unknown argument '$1'"
    [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || usage "$flag needs a number of $unit"
    NUMBER=$2
    shift 2
  done
}

parse_wait() {
  number_option --wait seconds 60 "$@"
  WAIT_SECONDS=$NUMBER
}

# switch_to OPERATION TAG FROM: recreates the supervisor on the promoted configuration, measures, records, answers.
switch_to() {
  local downtime running=false
  recreate_and_measure "$2" "$WAIT_SECONDS"
  downtime=$DOWNTIME
  if [[ -n $downtime ]]; then running=true; fi
  write_state "$1" "$downtime"
  emit "{\"ok\":true,\"changed\":true,\"tag\":$(json_str_or_null "$2"),\"previousTag\":$(json_str_or_null "$3"),\"hash\":$(json_str "$(config_hash "$SUP_DIR")"),\"running\":$running,\"downtimeSeconds\":$(json_num_or_null "$downtime")}"
}

# settle OPERATION TAG: the configuration names TAG already. A container on another image (a run stopped between
# promoting the files and recreating) is switched like any change; otherwise `up -d` only makes sure it runs.
settle() {
  local operation=$1 tag=$2 inspect image_now='' running=false
  inspect=$(inspect_supervisor)
  if [[ -n $inspect ]]; then image_now=$(image_tag "$(container_image "$inspect")"); fi
  commit_point
  if [[ -n $image_now && $image_now != "$tag" ]]; then
    switch_to "$operation" "$tag" "$image_now"
    return
  fi
  compose_up
  if wait_running "$tag" "$WAIT_SECONDS"; then running=true; fi
  emit "{\"ok\":true,\"changed\":false,\"tag\":$(json_str "$tag"),\"previousTag\":$(json_str_or_null "$(env_tag "$SUP_DIR/previous.env")"),\"hash\":$(json_str "$(config_hash "$SUP_DIR")"),\"running\":$running,\"downtimeSeconds\":null}"
}

parse_upgrade() {
  [[ $# -ge 1 ]] || usage "upgrade needs a tag, e.g. upgrade v4.5.12"
  TARGET=$1
  shift
  require_tag "$TARGET"
  parse_wait "$@"
}

do_upgrade() {
  local tag=$TARGET current
  require_config
  require_docker
  current=$(env_tag "$SUP_DIR/.env")
  if [[ $current == "$tag" ]]; then
    settle upgrade "$tag"
    return
  fi

  new_work_dir
  sed -E "s/^TRIGGER_IMAGE_TAG=.*/TRIGGER_IMAGE_TAG=$tag/" "$SUP_DIR/.env" >"$WORK/.env"
  stage "$WORK/.env" "$SUP_DIR/compose.yaml"
  rm -rf "$WORK"
  progress "pulling $(pull_label "$STAGE_DIR/compose.yaml" "$tag")"
  pull_staged
  commit_point
  promote
  switch_to upgrade "$tag" "$current"
}

parse_rollback() {
  local -a rest=()
  TARGET=''
  while [[ $# -gt 0 ]]; do
    if [[ $1 != --to ]]; then
      rest+=("$1")
      shift
      continue
    fi
    [[ $# -ge 2 ]] || usage "--to needs a tag"
    require_tag "$2"
    TARGET=$2
    shift 2
  done
  parse_wait "${rest[@]}"
}

# rollback: to previous.env; rollback --to TAG: to TAG (previous.env when it names TAG, else the current
# configuration with TAG), and nothing at all when TAG is current, so a retried rollback never reinstalls the tag it
# left.
do_rollback() {
  local from to env_src compose_src="$SUP_DIR/previous.compose.yaml"
  require_config
  from=$(env_tag "$SUP_DIR/.env")
  [[ -f $compose_src ]] || compose_src="$SUP_DIR/compose.yaml"
  if [[ -z $TARGET ]]; then
    [[ -f $SUP_DIR/previous.env ]] || die "nothing to roll back to: no previous configuration under $SUP_DIR"
    env_src="$SUP_DIR/previous.env"
    to=$(env_tag "$env_src")
  else
    to=$TARGET
    if [[ $from == "$to" ]]; then
      require_docker
      settle rollback "$to"
      return
    fi
    if [[ -f $SUP_DIR/previous.env && $(env_tag "$SUP_DIR/previous.env") == "$to" ]]; then
      env_src="$SUP_DIR/previous.env"
    else
      new_work_dir
      sed -E "s/^TRIGGER_IMAGE_TAG=.*/TRIGGER_IMAGE_TAG=$to/" "$SUP_DIR/.env" >"$WORK/.env"
      env_src="$WORK/.env"
      compose_src="$SUP_DIR/compose.yaml"
    fi
  fi
  require_docker
  stage "$env_src" "$compose_src"
  if [[ -n $WORK ]]; then rm -rf "$WORK"; fi
  progress "pulling $(pull_label "$STAGE_DIR/compose.yaml" "$to")"
  pull_staged
  commit_point
  promote
  switch_to rollback "$to" "$from"
}

parse_restart() {
  [[ $# -eq 0 ]] || usage "restart takes no arguments"
}

do_restart() {
  local out
  require_config
  require_docker
  commit_point
  progress "restarting the supervisor"
  compose_up
  if ! out=$(dc "$SUP_DIR" restart "$SERVICE" 2>&1); then
    RERUNNABLE=true
    die "docker compose restart failed: $(last_lines "$out" 3)"
  fi
  write_state restart
  emit '{"ok":true}'
}

parse_stop() {
  [[ $# -eq 0 ]] || usage "stop takes no arguments"
}

do_stop() {
  local out
  if have_config; then
    require_docker
    commit_point
    progress "stopping the supervisor"
    if ! out=$(dc "$SUP_DIR" stop 2>&1); then
      RERUNNABLE=true
      die "docker compose stop failed: $(last_lines "$out" 3)"
    fi
    write_state stop
  fi
  emit '{"ok":true}'
}

cmd_logs() {
  number_option --tail lines 200 "$@"
  local tail=$NUMBER
  if ((tail > 10000)); then tail=10000; fi
  require_docker
  local out
  if ! out=$(docker logs --tail "$tail" "$CONTAINER" 2>&1); then
    die "docker logs failed: $(last_lines "$out" 2)"
  fi
  emit "{\"ok\":true,\"container\":$(json_str "$CONTAINER"),\"tail\":$tail,\"log\":$(json_str "$out")}"
}

# reclaimed_bytes TEXT: "Total reclaimed space: 1.5GB" -> bytes (docker prints decimal units).
reclaimed_bytes() {
  { grep -oE 'Total reclaimed space:[[:space:]]*[0-9.]+[[:space:]]*[kKMGTP]?i?B' <<<"$1" || true; } | sed -n 1p |
    awk '{
      v = $0; sub(/^Total reclaimed space:[[:space:]]*/, "", v)
      n = v + 0; u = v; sub(/^[0-9.]+[[:space:]]*/, "", u)
      m = 1
      if (u ~ /^[kK]/) m = 1e3; else if (u ~ /^M/) m = 1e6; else if (u ~ /^G/) m = 1e9
      else if (u ~ /^T/) m = 1e12; else if (u ~ /^P/) m = 1e15
      if (u ~ /iB$/) { if (m == 1e3) m = 1024; else if (m == 1e6) m = 1048576; else if (m == 1e9) m = 1073741824 }
      printf "%.0f", n * m
    }'
}

parse_prune() {
  [[ $# -eq 0 ]] || usage "prune takes no arguments"
}

do_prune() {
  require_docker
  local containers images cb ib
  progress "pruning stopped containers and unused images"
  if ! containers=$(docker container prune -f 2>&1); then
    RERUNNABLE=true
    die "docker container prune failed: $(last_lines "$containers" 2)"
  fi
  if ! images=$(docker image prune -af 2>&1); then
    RERUNNABLE=true
    die "docker image prune failed: $(last_lines "$images" 2)"
  fi
  cb=$(reclaimed_bytes "$containers")
  ib=$(reclaimed_bytes "$images")
  emit "{\"ok\":true,\"containersReclaimedBytes\":${cb:-0},\"imagesReclaimedBytes\":${ib:-0},\"reclaimedBytes\":$((${cb:-0} + ${ib:-0}))}"
}

# tick_still TEXT: in the background, "progress: still TEXT (Ns)" on stderr every STILL_EVERY seconds. It holds
# nothing but stderr (not fd 3, and its sleeps hold nothing of the session), so killing it lets the session end.
tick_still() {
  local t0 now
  exec 3>&- </dev/null
  printf -v t0 '%(%s)T' -1
  while sleep "$STILL_EVERY" >/dev/null 2>&1; do
    printf -v now '%(%s)T' -1
    printf 'progress: still %s (%ss)\n' "$1" "$((now - t0))" >&2 || exit 0
  done
}

TICKER=''

cmd_wait_cloud_init() {
  local timeout=600 out rc=0 status
  while [[ $# -gt 0 ]]; do
    case $1 in
      --timeout)
        [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || usage "--timeout needs a number of seconds"
        timeout=$2
        shift 2
        ;;
      *) usage "wait-cloud-init: unknown argument '$1'" ;;
    esac
  done
  progress "waiting for cloud-init"
  tick_still "waiting for cloud-init" &
  TICKER=$!
  trap 'kill "$TICKER" 2>/dev/null || true' EXIT
  out=$(timeout "$timeout" cloud-init status --wait --format json 2>&1) || rc=$?
  kill "$TICKER" 2>/dev/null || true
  status=$(json_string_field status "$out")
  if ((rc == 124)); then
    die "cloud-init did not finish within ${timeout}s (status: ${status:-unknown})"
  fi
  if [[ $rc -ne 0 || $status != "done" ]]; then
    die "cloud-init finished with status ${status:-unknown}: $(last_lines "$out" 20)"
  fi
  emit '{"ok":true,"cloudInit":{"status":"done"}}'
}

# cancel OP: stops OP's run if it is still before its commit point (its whole process group: the docker pull it
# started too) and records "cancelled" as its answer; a run already switching the supervisor is left to finish.
cmd_cancel() {
  [[ $# -eq 1 ]] || usage "cancel needs one operation id"
  require_op "$1"
  local op=$1 pid='' start='' i
  local lock="$OPS_DIR/$1.lock" result="$OPS_DIR/$1.json"
  if [[ ! -e $lock ]]; then
    emit '{"ok":true,"cancelled":false}'
    return
  fi
  exec 7>>"$lock"
  if flock -n 7; then
    emit '{"ok":true,"cancelled":false}'
    return
  fi
  exec 6>>"$OPS_DIR/$op.commit"
  if ! flock -n 6; then
    progress "operation $op is already switching the supervisor; letting it finish"
    exec 6>&- 7>&-
    follow "$op"
    emit '{"ok":true,"cancelled":false}'
    return
  fi
  for ((i = 0; i < 50; i++)); do
    if [[ -s $OPS_DIR/$op.pid ]]; then
      read -r pid start <"$OPS_DIR/$op.pid" || true
      break
    fi
    if flock -n 7; then
      emit '{"ok":true,"cancelled":false}'
      return
    fi
    sleep 0.1
  done
  [[ $pid =~ ^[0-9]+$ ]] || die "operation $op is running but recorded no pid under $OPS_DIR"
  if [[ -e /proc/$pid && $(proc_start "$pid") != "$start" ]]; then
    die "operation $op still holds its lock, but pid $pid is another process now; not signalling it"
  fi
  progress "stopping operation $op (process group $pid)"
  kill -TERM -- "-$pid" 2>/dev/null || true
  if ! flock -w 10 7; then
    kill -KILL -- "-$pid" 2>/dev/null || true
    flock -w 5 7 || die "operation $op (process group $pid) did not stop"
  fi
  # The worker records "cancelled" on its way out; one that had to be killed outright cannot, so it is done here.
  if [[ ! -f $result ]]; then
    printf '%s\n' "$CANCELLED_ANSWER" >"$result.tmp"
    : >"$OPS_DIR/$op.rerun"
    mv -f "$result.tmp" "$result"
  fi
  if [[ $(<"$result") == "$CANCELLED_ANSWER" ]]; then
    emit '{"ok":true,"cancelled":true}'
  else
    emit '{"ok":true,"cancelled":false}'
  fi
}

main() {
  [[ $# -ge 1 ]] || usage "no verb given"
  local verb=$1
  shift
  case $verb in
    version) cmd_version "$@" ;;
    status) cmd_status "$@" ;;
    apply | upgrade | rollback | restart | stop | prune) run_state_verb "$verb" "$@" ;;
    logs) cmd_logs "$@" ;;
    wait-cloud-init) cmd_wait_cloud_init "$@" ;;
    cancel) cmd_cancel "$@" ;;
    __run)
      [[ $# -ge 2 ]] || usage "__run OP VERB is the agent's own worker"
      run_worker "$@"
      ;;
    *) usage "unknown verb '$verb'" ;;
  esac
}

main "$@"
