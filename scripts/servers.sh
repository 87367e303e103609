# servers.sh: what the with-*.sh scripts share, sourced by them (not run):
# a free TCP port on 127.0.0.1 and running a command as the postgres user.

# A port nothing listens on, other than the ports given (so two servers
# started together do not pick the same one). $server_script names the
# caller in the error.
free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 20000))
    case " $* " in *" $port "*) continue ;; esac
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  echo "${server_script:-servers.sh}: no free port found" >&2
  return 1
}

# PostgreSQL and PgBouncer refuse to run as root: as root they run as the
# postgres user; otherwise as the current user, who then owns their files.
run_as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}
