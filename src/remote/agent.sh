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
#   rollback [--wait SECONDS]
#   restart
#   stop
#   logs [--tail N]
#   prune
#   wait-cloud-init [--timeout SECONDS]
#
# Paths hang off ${TRIGGER_OPS_ROOT:-} (empty on a real droplet; the sandbox's private root otherwise). Only the
# commands listed in docs/droplet-contract.md are used. No jq: JSON is built by json_str below.
#
# Config hash (must equal configHash() in src/remote/compose.ts):
#   sha256_hex("trigger-ops-config-v1\n" + sha256_hex(compose.yaml) + "\n" + sha256_hex(.env) + "\n")
set -euo pipefail
set -E
export LC_ALL=C
umask 077

AGENT_VERSION=1.0.0

ROOT="${TRIGGER_OPS_ROOT:-}"
STATE_DIR="$ROOT/opt/trigger-ops"
SUP_DIR="$STATE_DIR/supervisor"
STAGE_DIR="$SUP_DIR/.staging"
STATE_FILE="$STATE_DIR/agent-state.json"
PROJECT=trigger
SERVICE=supervisor
CONTAINER="$PROJECT-$SERVICE-1"
TAG_RE='^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$'

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
  die "$1 (usage: trigger-ops-agent version|status|apply --compose-b64 B64 [--no-start]|upgrade TAG [--wait S]|rollback [--wait S]|restart|stop|logs [--tail N]|prune|wait-cloud-init [--timeout S])" 2
}

on_error() {
  local code=$1 line=$2 cmd=$3
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

# stage ENV_FILE COMPOSE_FILE: copies both into the staging directory (0600).
stage() {
  rm -rf "$STAGE_DIR"
  install -d -m 0700 "$SUP_DIR" "$STAGE_DIR"
  install -m 0600 "$1" "$STAGE_DIR/.env"
  install -m 0600 "$2" "$STAGE_DIR/compose.yaml"
}

pull_staged() {
  local out
  if ! out=$(dc "$STAGE_DIR" pull 2>&1); then
    rm -rf "$STAGE_DIR"
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
}

compose_up() {
  local out
  if ! out=$(dc "$SUP_DIR" up -d --remove-orphans 2>&1); then
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
  compose_up
  DOWNTIME=''
  if wait_running "$1" "$2"; then
    DOWNTIME=$(ms_to_seconds $(($(now_ms) - t0)))
  fi
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

cmd_apply() {
  local compose_b64='' start=true
  while [[ $# -gt 0 ]]; do
    case $1 in
      --compose-b64)
        [[ $# -ge 2 ]] || usage "--compose-b64 needs a value"
        compose_b64=$2
        shift 2
        ;;
      --no-start)
        start=false
        shift
        ;;
      *) usage "apply: unknown argument '$1'" ;;
    esac
  done
  [[ -n $compose_b64 ]] || usage "apply needs --compose-b64 with the compose file in base64"

  local work env_in compose_in tag
  install -d -m 0700 "$STATE_DIR"
  work=$(mktemp -d "$STATE_DIR/.apply.XXXXXX")
  env_in="$work/.env"
  compose_in="$work/compose.yaml"
  cat >"$env_in"
  if ! base64 -d <<<"$compose_b64" >"$compose_in" 2>/dev/null; then
    rm -rf "$work"
    die "--compose-b64 is not valid base64" 2
  fi
  if [[ ! -s $env_in ]]; then
    rm -rf "$work"
    die "apply reads the .env content on stdin, and stdin was empty" 2
  fi
  if [[ ! -s $compose_in ]]; then
    rm -rf "$work"
    die "the compose file given by --compose-b64 is empty" 2
  fi
  tag=$(env_tag "$env_in")
  if [[ ! $tag =~ $TAG_RE ]]; then
    rm -rf "$work"
    die "the .env on stdin has no valid TRIGGER_IMAGE_TAG= line" 2
  fi

  local new_hash changed=true
  new_hash=$(config_hash "$work")
  if have_config && [[ $(config_hash "$SUP_DIR") == "$new_hash" ]]; then changed=false; fi

  if [[ $start == true ]]; then require_docker; fi
  if [[ $changed == true ]]; then
    stage "$env_in" "$compose_in"
    rm -rf "$work"
    if [[ $start == true ]]; then pull_staged; fi
    promote
    write_state apply
  else
    rm -rf "$work"
    if [[ $start == true ]]; then
      local out
      if ! out=$(dc "$SUP_DIR" pull 2>&1); then die "docker compose pull failed: $(last_lines "$out" 3)"; fi
    fi
  fi
  if [[ $start == true ]]; then compose_up; fi

  emit "{\"ok\":true,\"changed\":$changed,\"started\":$start,\"hash\":$(json_str "$new_hash"),\"tag\":$(json_str "$tag"),\"previousTag\":$(json_str_or_null "$(env_tag "$SUP_DIR/previous.env")")}"
}

parse_wait() {
  WAIT_SECONDS=60
  while [[ $# -gt 0 ]]; do
    case $1 in
      --wait)
        [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || usage "--wait needs a number of seconds"
        WAIT_SECONDS=$2
        shift 2
        ;;
      *) usage "unknown argument '$1'" ;;
    esac
  done
}

cmd_upgrade() {
  [[ $# -ge 1 ]] || usage "upgrade needs a tag, e.g. upgrade v4.5.12"
  local tag=$1 current work
  shift
  require_tag "$tag"
  parse_wait "$@"
  require_config
  require_docker
  current=$(env_tag "$SUP_DIR/.env")

  if [[ $current == "$tag" ]]; then
    compose_up
    local running=false
    if wait_running "$tag" "$WAIT_SECONDS"; then running=true; fi
    emit "{\"ok\":true,\"changed\":false,\"tag\":$(json_str "$tag"),\"previousTag\":$(json_str_or_null "$(env_tag "$SUP_DIR/previous.env")"),\"hash\":$(json_str "$(config_hash "$SUP_DIR")"),\"running\":$running,\"downtimeSeconds\":null}"
    return
  fi

  work=$(mktemp -d "$STATE_DIR/.upgrade.XXXXXX")
  sed -E "s/^TRIGGER_IMAGE_TAG=.*/TRIGGER_IMAGE_TAG=$tag/" "$SUP_DIR/.env" >"$work/.env"
  stage "$work/.env" "$SUP_DIR/compose.yaml"
  rm -rf "$work"
  pull_staged
  promote

  local downtime running=false
  recreate_and_measure "$tag" "$WAIT_SECONDS"
  downtime=$DOWNTIME
  if [[ -n $downtime ]]; then running=true; fi
  write_state upgrade "$downtime"
  emit "{\"ok\":true,\"changed\":true,\"tag\":$(json_str "$tag"),\"previousTag\":$(json_str_or_null "$current"),\"hash\":$(json_str "$(config_hash "$SUP_DIR")"),\"running\":$running,\"downtimeSeconds\":$(json_num_or_null "$downtime")}"
}

cmd_rollback() {
  parse_wait "$@"
  require_config
  [[ -f $SUP_DIR/previous.env ]] || die "nothing to roll back to: no previous configuration under $SUP_DIR"
  require_docker
  local compose="$SUP_DIR/previous.compose.yaml" from to
  [[ -f $compose ]] || compose="$SUP_DIR/compose.yaml"
  from=$(env_tag "$SUP_DIR/.env")
  to=$(env_tag "$SUP_DIR/previous.env")
  stage "$SUP_DIR/previous.env" "$compose"
  pull_staged
  promote

  local downtime running=false
  recreate_and_measure "$to" "$WAIT_SECONDS"
  downtime=$DOWNTIME
  if [[ -n $downtime ]]; then running=true; fi
  write_state rollback "$downtime"
  emit "{\"ok\":true,\"changed\":true,\"tag\":$(json_str_or_null "$to"),\"previousTag\":$(json_str_or_null "$from"),\"hash\":$(json_str "$(config_hash "$SUP_DIR")"),\"running\":$running,\"downtimeSeconds\":$(json_num_or_null "$downtime")}"
}

cmd_restart() {
  [[ $# -eq 0 ]] || usage "restart takes no arguments"
  require_config
  require_docker
  compose_up
  local out
  if ! out=$(dc "$SUP_DIR" restart "$SERVICE" 2>&1); then
    die "docker compose restart failed: $(last_lines "$out" 3)"
  fi
  write_state restart
  emit '{"ok":true}'
}

cmd_stop() {
  [[ $# -eq 0 ]] || usage "stop takes no arguments"
  if have_config; then
    require_docker
    local out
    if ! out=$(dc "$SUP_DIR" stop 2>&1); then die "docker compose stop failed: $(last_lines "$out" 3)"; fi
    write_state stop
  fi
  emit '{"ok":true}'
}

cmd_logs() {
  local tail=200
  while [[ $# -gt 0 ]]; do
    case $1 in
      --tail)
        [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || usage "--tail needs a number of lines"
        tail=$2
        shift 2
        ;;
      *) usage "logs: unknown argument '$1'" ;;
    esac
  done
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

cmd_prune() {
  [[ $# -eq 0 ]] || usage "prune takes no arguments"
  require_docker
  local containers images cb ib
  if ! containers=$(docker container prune -f 2>&1); then
    die "docker container prune failed: $(last_lines "$containers" 2)"
  fi
  if ! images=$(docker image prune -af 2>&1); then
    die "docker image prune failed: $(last_lines "$images" 2)"
  fi
  cb=$(reclaimed_bytes "$containers")
  ib=$(reclaimed_bytes "$images")
  emit "{\"ok\":true,\"containersReclaimedBytes\":${cb:-0},\"imagesReclaimedBytes\":${ib:-0},\"reclaimedBytes\":$((${cb:-0} + ${ib:-0}))}"
}

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
  out=$(timeout "$timeout" cloud-init status --wait --format json 2>&1) || rc=$?
  status=$(json_string_field status "$out")
  if ((rc == 124)); then
    die "cloud-init did not finish within ${timeout}s (status: ${status:-unknown})"
  fi
  if [[ $rc -ne 0 || $status != "done" ]]; then
    die "cloud-init finished with status ${status:-unknown}: $(last_lines "$out" 20)"
  fi
  emit '{"ok":true,"cloudInit":{"status":"done"}}'
}

main() {
  [[ $# -ge 1 ]] || usage "no verb given"
  local verb=$1
  shift
  case $verb in
    version) cmd_version "$@" ;;
    status) cmd_status "$@" ;;
    apply) cmd_apply "$@" ;;
    upgrade) cmd_upgrade "$@" ;;
    rollback) cmd_rollback "$@" ;;
    restart) cmd_restart "$@" ;;
    stop) cmd_stop "$@" ;;
    logs) cmd_logs "$@" ;;
    prune) cmd_prune "$@" ;;
    wait-cloud-init) cmd_wait_cloud_init "$@" ;;
    *) usage "unknown verb '$verb'" ;;
  esac
}

main "$@"
