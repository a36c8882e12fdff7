#!/usr/bin/env bash
# services.sh starts and stops the real servers sessionkit's tests run
# against, all on 127.0.0.1 and all inside one state directory:
#
#   - one standalone redis-server,
#   - a Redis Cluster of three masters,
#   - a Sentinel setup: one Redis master, one replica and three sentinels
#     (quorum 2, a failover within a few seconds), master name "sessionkit",
#   - one PostgreSQL instance with a database named "sessionkit".
#
# Usage:
#   scripts/services.sh start <statedir>   # install if needed, start, write <statedir>/env
#   scripts/services.sh stop <statedir>    # stop what start started (idempotent)
#
# After start, `. <statedir>/env` exports SESSIONKIT_REDIS_ADDR,
# SESSIONKIT_REDIS_CLUSTER_ADDRS, SESSIONKIT_REDIS_SENTINEL_ADDRS,
# SESSIONKIT_REDIS_SENTINEL_MASTER, SESSIONKIT_PG_DSN and SESSIONKIT_REDIS_BIN.
#
# Sentinels run as `redis-server <conf> --sentinel`: Debian's redis-server
# package ships the binary that does it (the redis-sentinel package only
# adds a symlink and a system service), so nothing more is installed.
#
# When it runs as root and a binary is missing, start installs the Debian
# packages every test of the repo needs (Redis, PostgreSQL, PHP with phpredis,
# Chromium) in one apt-get call, without letting the packages start their
# system services: the tests use their own instances on free ports.
set -euo pipefail

readonly SENTINEL_MASTER=sessionkit
readonly PACKAGES_HINT="redis-server redis-tools postgresql php-cli php-redis chromium"

die() {
	echo "services.sh: $*" >&2
	exit 1
}

log() {
	echo "services.sh: $*" >&2
}

usage() {
	die "usage: $0 start|stop <statedir>"
}

is_root() {
	[ "$(id -u)" -eq 0 ]
}

# pg_bindir prints the newest PostgreSQL server bin directory, or nothing.
pg_bindir() {
	local d
	for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r); do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
			printf '%s' "$d"
			return 0
		fi
	done
}

# missing_packages prints the Debian packages whose binaries are absent.
missing_packages() {
	local missing=()
	command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
	command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
	[ -n "$(pg_bindir)" ] || missing+=(postgresql)
	command -v php >/dev/null 2>&1 || missing+=(php-cli)
	# grep without -q reads to the end: an early exit would SIGPIPE php and,
	# under pipefail, fail the pipeline although the module is there.
	if ! command -v php >/dev/null 2>&1 || ! php -m 2>/dev/null | grep -x redis >/dev/null; then
		missing+=(php-redis)
	fi
	command -v chromium >/dev/null 2>&1 || missing+=(chromium)
	printf '%s\n' "${missing[@]+"${missing[@]}"}"
}

install_packages() {
	local missing
	mapfile -t missing < <(missing_packages | sed '/^$/d')
	[ "${#missing[@]}" -eq 0 ] && return 0
	if ! is_root; then
		# Only the servers are needed here; PHP and Chromium tests skip
		# or fail on their own.
		command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 &&
			[ -n "$(pg_bindir)" ] && {
			log "not root: leaving ${missing[*]} uninstalled"
			return 0
		}
		die "missing ${missing[*]}; run as root or install: $PACKAGES_HINT"
	fi
	log "installing ${missing[*]}"
	# Debian's maintainer scripts start system services through
	# invoke-rc.d; policy-rc.d exit 101 forbids that. Keep an existing one.
	local made_policy=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 0755 /usr/sbin/policy-rc.d
		made_policy=1
	fi
	local rc=0
	{
		apt-get -o DPkg::Lock::Timeout=300 update -qq &&
			DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
				--no-install-recommends "${missing[@]}"
	} >&2 || rc=$?
	[ -n "$made_policy" ] && rm -f /usr/sbin/policy-rc.d
	[ "$rc" -eq 0 ] || die "apt-get failed ($rc)"
	stop_system_services "${missing[@]}"
}

# stop_system_services stops the Debian services of the packages this run
# installed, in case a policy did not keep them from starting.
stop_system_services() {
	local p v
	for p in "$@"; do
		case "$p" in
		redis-server)
			if [ -x /etc/init.d/redis-server ]; then
				/etc/init.d/redis-server stop >/dev/null 2>&1 || true
			fi
			;;
		postgresql)
			if command -v pg_lsclusters >/dev/null 2>&1; then
				pg_lsclusters -h 2>/dev/null | while read -r v name _ status _; do
					if [ "$status" = online ]; then
						pg_ctlcluster --mode fast "$v" "$name" stop >/dev/null 2>&1 || true
					fi
				done
			fi
			;;
		esac
	done
}

# port_in_use reports whether something accepts connections on port.
port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# free_port prints a port that is free on 127.0.0.1 and not handed out by
# this run yet. With "bus" it also needs port+10000 free (Redis Cluster's
# node-to-node bus). Ports come from below the kernel's ephemeral range when
# it leaves room, so outgoing connections do not take them meanwhile.
free_port() {
	local want_bus="${1:-}" p i lo=10000 hi span ephemeral
	ephemeral="$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)"
	hi=$((ephemeral - 1))
	[ -n "$want_bus" ] && hi=$((hi - 10000))
	if [ "$hi" -le $((lo + 1000)) ]; then
		lo=20000 hi=45000
	fi
	span=$((hi - lo + 1))
	for i in $(seq 1 200); do
		p=$((lo + (RANDOM * 32768 + RANDOM) % span))
		[ -e "$STATEDIR/.port-$p" ] && continue
		port_in_use "$p" && continue
		if [ -n "$want_bus" ]; then
			[ -e "$STATEDIR/.port-$((p + 10000))" ] && continue
			port_in_use "$((p + 10000))" && continue
			: >"$STATEDIR/.port-$((p + 10000))"
		fi
		# Files, not a variable: callers run in command substitutions.
		: >"$STATEDIR/.port-$p"
		echo "$p"
		return 0
	done
	die "no free port found"
}

wait_redis() {
	local port="$1" i
	for i in $(seq 1 100); do
		if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null || true)" = PONG ]; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# start_redis starts a daemonised redis-server in <statedir>/redis-<name>
# on a free port and prints the port. Extra arguments go to redis-server.
start_redis() {
	local name="$1" want_bus="$2"
	shift 2
	local dir="$STATEDIR/redis-$name" port attempt
	mkdir -p "$dir"
	for attempt in 1 2 3 4 5; do
		port="$(free_port "$want_bus")"
		rm -f "$dir/redis.pid"
		redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" \
			--daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
			--save '' --appendonly no --protected-mode no "$@" >/dev/null 2>&1 || true
		if wait_redis "$port"; then
			echo "$port" >"$dir/port"
			echo "$port"
			return 0
		fi
		stop_pidfile "$dir/redis.pid"
		log "redis $name did not start on port $port (attempt $attempt): $(tail -n 3 "$dir/redis.log" 2>/dev/null | tr '\n' ' ')"
	done
	tail -n 20 "$dir/redis.log" >&2 || true
	die "redis $name did not start"
}

start_cluster() {
	local ports=() i p
	for i in 1 2 3; do
		p="$(start_redis "cluster$i" bus --cluster-enabled yes \
			--cluster-config-file nodes.conf --cluster-node-timeout 5000)"
		ports+=("$p")
	done
	redis-cli --cluster create \
		"127.0.0.1:${ports[0]}" "127.0.0.1:${ports[1]}" "127.0.0.1:${ports[2]}" \
		--cluster-replicas 0 --cluster-yes >"$STATEDIR/cluster-create.log" 2>&1 ||
		{
			cat "$STATEDIR/cluster-create.log" >&2
			die "redis-cli --cluster create failed"
		}
	for p in "${ports[@]}"; do
		local ok=""
		for i in $(seq 1 200); do
			if redis-cli -h 127.0.0.1 -p "$p" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; then
				ok=1
				break
			fi
			sleep 0.1
		done
		[ -n "$ok" ] || die "redis cluster node $p never reached cluster_state:ok"
	done
	CLUSTER_ADDRS="127.0.0.1:${ports[0]},127.0.0.1:${ports[1]},127.0.0.1:${ports[2]}"
}

# start_sentinels starts a master, a replica of it and three sentinels
# watching it (quorum 2). A sentinel declares the master down after a
# second without answers, so a failover takes a few seconds. Start does not
# wait for the sentinels to find each other (about two seconds, through
# the master's hello channel): answering for the master does not need it,
# and a test that fails the master over waits for it itself.
start_sentinels() {
	local master i p dir ports=() attempt
	master="$(start_redis sentinel-master "" --repl-diskless-sync-delay 0)"
	start_redis sentinel-replica "" --replicaof 127.0.0.1 "$master" >/dev/null
	for i in 1 2 3; do
		dir="$STATEDIR/redis-sentinel$i"
		mkdir -p "$dir"
		p=""
		for attempt in 1 2 3 4 5; do
			p="$(free_port)"
			# Sentinel rewrites its config file: one per sentinel, in its dir.
			cat >"$dir/sentinel.conf" <<EOF
port $p
bind 127.0.0.1
protected-mode no
daemonize yes
pidfile $dir/redis.pid
logfile $dir/redis.log
dir $dir
sentinel monitor $SENTINEL_MASTER 127.0.0.1 $master 2
sentinel down-after-milliseconds $SENTINEL_MASTER 1000
sentinel failover-timeout $SENTINEL_MASTER 5000
sentinel parallel-syncs $SENTINEL_MASTER 1
EOF
			rm -f "$dir/redis.pid"
			redis-server "$dir/sentinel.conf" --sentinel >/dev/null 2>&1 || true
			if wait_redis "$p"; then
				echo "$p" >"$dir/port"
				break
			fi
			stop_pidfile "$dir/redis.pid"
			log "sentinel $i did not start on port $p (attempt $attempt): $(tail -n 3 "$dir/redis.log" 2>/dev/null | tr '\n' ' ')"
			p=""
		done
		[ -n "$p" ] || die "sentinel $i did not start"
		ports+=("127.0.0.1:$p")
	done
	SENTINEL_ADDRS="$(
		IFS=,
		echo "${ports[*]}"
	)"
}

# as_pg runs a command as the postgres user when we are root (PostgreSQL
# refuses to run as root), as ourselves otherwise.
as_pg() {
	if is_root; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

start_postgres() {
	local bindir pgdir port attempt
	bindir="$(pg_bindir)"
	[ -n "$bindir" ] || die "PostgreSQL server binaries not found under /usr/lib/postgresql"
	pgdir="$STATEDIR/pg"
	mkdir -p "$pgdir"
	if is_root; then
		chown postgres: "$pgdir"
		chmod 0700 "$pgdir"
		if ! runuser -u postgres -- test -w "$pgdir"; then
			# The postgres user cannot reach the state directory (a parent
			# is not traversable): keep the cluster in /tmp instead.
			rmdir "$pgdir"
			pgdir="$(mktemp -d /tmp/sessionkit-pg.XXXXXX)"
			chown postgres: "$pgdir"
			ln -s "$pgdir" "$STATEDIR/pg"
		fi
	fi
	as_pg "$bindir/initdb" -D "$pgdir/data" -U postgres --auth=trust \
		--encoding=UTF8 --locale=C --no-sync >"$STATEDIR/initdb.log" 2>&1 ||
		{
			cat "$STATEDIR/initdb.log" >&2
			die "initdb failed"
		}
	for attempt in 1 2 3 4 5; do
		port="$(free_port)"
		# fsync off: a throwaway test cluster trades durability for speed.
		if as_pg "$bindir/pg_ctl" -D "$pgdir/data" -l "$pgdir/postgres.log" -w -t 30 \
			-o "-p $port -k $pgdir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
			start >/dev/null 2>&1; then
			break
		fi
		log "postgres did not start on port $port (attempt $attempt)"
		port=""
	done
	[ -n "$port" ] || {
		tail -n 20 "$pgdir/postgres.log" >&2 || true
		die "postgres did not start"
	}
	echo "$port" >"$STATEDIR/pg.port"
	local i ok=""
	for i in $(seq 1 100); do
		if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres; then
			ok=1
			break
		fi
		sleep 0.1
	done
	[ -n "$ok" ] || die "postgres on port $port not ready"
	"$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres sessionkit
	PG_PORT="$port"
}

# alive reports whether pid runs. A zombie does not count: a daemon's
# parent is init, which may reap it late.
alive() {
	local state
	kill -0 "$1" 2>/dev/null || return 1
	state="$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null || true)"
	[ -n "$state" ] && [ "$state" != Z ]
}

# stop_pidfile stops the process whose pid is in file, and waits for it.
stop_pidfile() {
	local file="$1" pid i
	[ -f "$file" ] || return 0
	pid="$(cat "$file" 2>/dev/null || true)"
	rm -f "$file"
	case "$pid" in '' | *[!0-9]*) return 0 ;; esac
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 1 100); do
		alive "$pid" || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}

stop_all() {
	local f bindir
	for f in "$STATEDIR"/redis-*/redis.pid; do
		[ -e "$f" ] && stop_pidfile "$f"
	done
	if [ -f "$STATEDIR/pg/data/postmaster.pid" ]; then
		bindir="$(pg_bindir)"
		if [ -n "$bindir" ]; then
			as_pg "$bindir/pg_ctl" -D "$STATEDIR/pg/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
		fi
		# pg_ctl could not stop it (binaries gone?): stop the postmaster directly.
		if [ -f "$STATEDIR/pg/data/postmaster.pid" ]; then
			head -n1 "$STATEDIR/pg/data/postmaster.pid" >"$STATEDIR/pg.pid" 2>/dev/null || true
			stop_pidfile "$STATEDIR/pg.pid"
		fi
	fi
	# A cluster kept in /tmp (see start_postgres) would outlive the state
	# directory: remove it with its link.
	if [ -L "$STATEDIR/pg" ]; then
		local target
		target="$(readlink "$STATEDIR/pg")"
		case "$target" in /tmp/sessionkit-pg.*) rm -rf "$target" ;; esac
		rm -f "$STATEDIR/pg"
	fi
	rm -f "$STATEDIR/env"
}

main() {
	[ $# -eq 2 ] || usage
	local cmd="$1"
	mkdir -p "$2"
	STATEDIR="$(cd "$2" && pwd)"
	case "$cmd" in
	start)
		install_packages
		# A previous run in the same directory is stopped and wiped first.
		stop_all
		rm -rf "$STATEDIR"/redis-* "$STATEDIR/pg" "$STATEDIR"/*.log "$STATEDIR"/*.port "$STATEDIR"/.port-*
		# Stop what was started if anything below fails.
		trap 'rc=$?; [ "$rc" -eq 0 ] || stop_all' EXIT
		local redis_port
		redis_port="$(start_redis single "")"
		start_cluster
		start_sentinels
		start_postgres
		trap - EXIT
		cat >"$STATEDIR/env" <<EOF
export SESSIONKIT_REDIS_ADDR=127.0.0.1:$redis_port
export SESSIONKIT_REDIS_CLUSTER_ADDRS=$CLUSTER_ADDRS
export SESSIONKIT_REDIS_SENTINEL_ADDRS=$SENTINEL_ADDRS
export SESSIONKIT_REDIS_SENTINEL_MASTER=$SENTINEL_MASTER
export SESSIONKIT_PG_DSN=postgres://postgres@127.0.0.1:$PG_PORT/sessionkit?sslmode=disable
export SESSIONKIT_REDIS_BIN=$(command -v redis-server)
EOF
		log "started; source $STATEDIR/env"
		;;
	stop)
		stop_all
		;;
	*)
		usage
		;;
	esac
}

main "$@"
