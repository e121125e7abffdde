#!/usr/bin/env bash
# sshfix test lab: a fleet of real OpenSSH hosts in Linux namespaces on this
# machine.  See tests/lab/README.md for the interface.  Needs root.
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
HERE=$(dirname "$SELF")
REGISTRY=${SSHFIX_LAB_REGISTRY:-/run/sshfix-labs}
CTL_ADDR=10.77.0.1
JUMP_ADDR=10.77.0.2
PREFIX_LEN=16
OPS_USER=ops
OPS_PASSWORD=ops-secret
# root's password in every host's own /etc/shadow (for the serial console)
CONSOLE_ROOT_PASSWORD=console-secret
# what answers on a serial console connection (inside the host): a getty as
# Debian runs on ttyS0, on a fresh pty
CONSOLE_GETTY='/sbin/agetty - vt220'
PACKAGES=(openssh-server openssh-client nftables iptables tcpd socat netcat-openbsd
	conntrack iproute2 util-linux procps sudo openssl busybox openbsd-inetd haproxy)
FAULT_KINDS="wrappers-deny maxstartups nft-drop sshd-stopped http-on-22 silent-22"
FAULT_KINDS+=" banner-missing iptables-drop hostkeys-missing hostkey-perms config-invalid"
FAULT_KINDS+=" dns-slow inetd inetd-running lb-http lb-tcp privsep-missing"
FAULT_KINDS+=" maxstartups-trap banner-trap config-invalid-trap debug-log"
FAULT_KINDS+=" etc-readonly etc-full block-ctl block-jump unblock reload-fails no-initscripts clear"
# faults injected mid-apply by the fault matrix (tests/lab_apply/matrix.rs)
FAULT_KINDS+=" small-disk disk-fill disk-unfill clock-skew clock-unskew sshd-bounce drop-sessions edit-hosts-allow etc-rw"
# hosts that misbehave without end (tests/lab_suite.rs bounds trial)
FAULT_KINDS+=" banner-flood banner-stall exec-flood ps-stall"
# the directories small-disk puts on small tmpfs and disk-fill fills
SMALL_DISK_DIRS="/etc/ssh /var/backups /tmp"
# injection and trust trials (tests/lab_hostile.rs)
FAULT_KINDS+=" record-shell hostkey-change"
# block-ctl / block-jump: the live nft table of their own (never persisted)
BLOCK_TABLE=lab_block
# no-initscripts: the service scripts a host loses
INIT_SCRIPTS=(/etc/init.d/ssh /etc/init.d/openbsd-inetd /etc/init.d/haproxy)
# dns-slow: the host's resolver address (loopback; its port 53 is dropped)
DNS_DEAD_ADDR=127.0.0.53

log() { printf 'lab: %s\n' "$*" >&2; }
die() {
	printf 'lab: error: %s\n' "$*" >&2
	exit 1
}

usage() {
	cat >&2 <<'EOF'
usage: lab.sh deps
       lab.sh up [--hosts N] [--name NAME] [--dir DIR] [--owner PID] [--rsa]
       lab.sh down DIR_OR_NAME [--keep-dir]
       lab.sh gc
       lab.sh list
       lab.sh exec DIR CMD...
       lab.sh console DIR HOST [CMD...]
       lab.sh console-drop DIR HOST
       lab.sh fault DIR HOST KIND [TARGET]   (KIND: see README; lb-http and
                                     lb-tcp need TARGET, the host behind the
                                     load balancer)
       lab.sh status DIR
EOF
}

need_root() { [ "$(id -u)" = 0 ] || die "must run as root"; }

# Address of target number i (1-based): h1 = 10.77.1.1 ... h250 = 10.77.1.250,
# h251 = 10.77.2.1, ...
host_addr() {
	local i=$1
	echo "10.77.$(((i - 1) / 250 + 1)).$(((i - 1) % 250 + 1))"
}

# Process start time (field 22 of /proc/PID/stat), to tell a live owner from
# a recycled pid.
proc_start() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	# shellcheck disable=SC2086
	set -- $stat
	echo "${20}"
}

# ---------------------------------------------------------------- deps
# Daemons shipped by the lab's packages: they must never run on the machine
# itself (only inside lab hosts, started by `fault`).
MACHINE_DAEMONS=(inetd haproxy)

cmd_deps() {
	need_root
	local p missing=()
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# No package may start its daemon on this machine: invoke-rc.d asks
	# policy-rc.d, and exit status 101 means "action forbidden".  Only a
	# policy-rc.d we created ourselves is removed again.
	local policy=/usr/sbin/policy-rc.d made_policy=0 rc=0
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\n# sshfix lab.sh deps: no daemon starts during the install\nexit 101\n' >"$policy"
		chmod 0755 "$policy"
		made_policy=1
	fi
	if ! apt-get install -y -q "${missing[@]}" >/dev/null 2>&1; then
		if ! apt-get update -q >/dev/null 2>&1; then
			log "apt-get update failed"
			rc=1
		elif ! apt-get install -y -q "${missing[@]}" >/dev/null; then
			log "apt-get install ${missing[*]} failed"
			rc=1
		fi
	fi
	[ "$made_policy" = 1 ] && rm -f "$policy"
	# Belt and braces: a daemon of ours running on the machine (in its own
	# PID namespace, not in a lab host) is stopped.
	local d pid mine
	mine=$(readlink /proc/self/ns/pid)
	for d in "${MACHINE_DAEMONS[@]}"; do
		for pid in $(pgrep -x "$d" 2>/dev/null); do
			[ "$(readlink "/proc/$pid/ns/pid" 2>/dev/null)" = "$mine" ] || continue
			log "stopping $d (pid $pid) started on the machine by the install"
			kill "$pid" 2>/dev/null || true
		done
	done
	[ "$rc" = 0 ] || die "installing ${missing[*]} failed"
}

# ---------------------------------------------------------------- lookup
# Resolve DIR_OR_NAME into LAB_NAME and LAB_DIR (either may stay empty).
resolve_lab() {
	local arg=$1 f
	LAB_NAME='' LAB_DIR=''
	if [ -f "$arg/.lab-name" ]; then
		LAB_NAME=$(cat "$arg/.lab-name")
		LAB_DIR=$(readlink -f "$arg")
		return 0
	fi
	if [[ $arg =~ ^[a-z][a-z0-9]{0,11}$ ]] && { [ -f "$REGISTRY/$arg" ] || [ ! -e "$arg" ]; }; then
		LAB_NAME=$arg
		if [ -f "$REGISTRY/$arg" ]; then
			LAB_DIR=$(sed -n 's/^LAB_DIR=//p' "$REGISTRY/$arg")
		fi
		return 0
	fi
	# A directory whose .lab-name is gone: look for it in the registry.
	local want
	want=$(readlink -m "$arg")
	for f in "$REGISTRY"/*; do
		[ -f "$f" ] || continue
		if [ "$(sed -n 's/^LAB_DIR=//p' "$f")" = "$want" ]; then
			LAB_NAME=${f##*/}
			LAB_DIR=$want
			return 0
		fi
	done
	LAB_DIR=$want
}

# Load DIR/lab.env of a complete lab.
load_env() {
	local dir=$1
	[ -f "$dir/lab.env" ] || die "$dir is not a lab directory (no lab.env)"
	# shellcheck disable=SC1091
	source "$dir/lab.env"
}

host_pid() {
	local v="LAB_PID_$1"
	[ -n "${!v:-}" ] || die "no host $1 in lab $LAB_NAME"
	echo "${!v}"
}
host_addr_of() {
	local v="LAB_ADDR_$1"
	[ -n "${!v:-}" ] || die "no host $1 in lab $LAB_NAME"
	echo "${!v}"
}

# Run a command inside host $1's namespaces.
hx() {
	local pid
	pid=$(host_pid "$1")
	shift
	nsenter -t "$pid" -m -n -p -u -i -- "$@"
}

# ---------------------------------------------------------------- teardown
# Kill every process that belongs to lab $1: processes started by its `up`
# (they carry SSHFIX_LAB_BUILD=NAME in their environment, so even orphans of
# a killed `up` are found) and every process in one of its network namespaces
# (host PID-1s, sshd, fault holders, clients started in the controller).
kill_lab_procs() {
	local name=$1 round pids ancestors p inodes
	ancestors=" $$ "
	p=$$
	while [ "$p" -gt 1 ] 2>/dev/null; do
		p=$(awk '/^PPid:/ {print $2}' "/proc/$p/status" 2>/dev/null) || break
		ancestors+="$p "
	done
	for round in $(seq 1 100); do
		pids=''
		# 1. builders of this lab (environment marker)
		while read -r p; do
			[ -n "$p" ] || continue
			[[ $ancestors == *" $p "* ]] && continue
			pids+="$p "
		done < <(grep -lzxF "SSHFIX_LAB_BUILD=$name" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3)
		# 2. members of the lab's network namespaces
		inodes=$(find /run/netns -maxdepth 1 -name "$name-*" -exec stat -L -c 'net:[%i]' {} + 2>/dev/null | sort -u) || true
		if [ -n "$inodes" ]; then
			for p in $(find /proc/[0-9]*/ns/net -maxdepth 0 -printf '%l %p\n' 2>/dev/null |
				awk 'NR==FNR {want[$1]=1; next} ($1 in want) {split($2, a, "/"); print a[3]}' <(echo "$inodes") -); do
				[[ $ancestors == *" $p "* ]] && continue
				pids+="$p "
			done
		fi
		# ignore zombies (they are gone; their parent reaps them)
		local live=''
		for p in $pids; do
			if [ -r "/proc/$p/stat" ] && [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != Z ]; then
				live+="$p "
			fi
		done
		[ -z "$live" ] && return 0
		# shellcheck disable=SC2086
		kill -9 $live 2>/dev/null || true
		sleep 0.1
		[ "$round" = 100 ] && log "warning: processes of $name survive: $live"
	done
	return 0
}

teardown() {
	local name=$1 dir=$2 keep=${3:-0} ns batch=''
	if [ -n "$name" ]; then
		kill_lab_procs "$name"
		for ns in /run/netns/"$name"-*; do
			[ -e "$ns" ] || continue
			batch+="netns del ${ns##*/}"$'\n'
		done
		if [ -n "$batch" ]; then
			printf '%s' "$batch" | ip -force -batch - >/dev/null 2>&1 || true
		fi
		for ns in /run/netns/"$name"-*; do
			[ -e "$ns" ] || continue
			ip netns del "${ns##*/}" 2>/dev/null || true
			[ -e "$ns" ] && log "warning: could not delete netns ${ns##*/}"
		done
		rm -f "$REGISTRY/$name"
	fi
	if [ -n "$dir" ] && [ "$keep" != 1 ] && [ -d "$dir" ]; then
		# only ever remove something that is a lab directory
		if [ -f "$dir/.lab-name" ] || [ -d "$dir/hosts" ] || [ -z "$(ls -A "$dir")" ]; then
			rm -rf --one-file-system "$dir"
		else
			log "warning: not removing $dir (does not look like a lab directory)"
		fi
	fi
}

cmd_down() {
	need_root
	local arg='' keep=0
	while [ $# -gt 0 ]; do
		case $1 in
		--keep-dir) keep=1 ;;
		-*) die "down: unknown option $1" ;;
		*) arg=$1 ;;
		esac
		shift
	done
	[ -n "$arg" ] || die "usage: lab.sh down DIR_OR_NAME [--keep-dir]"
	resolve_lab "$arg"
	teardown "$LAB_NAME" "$LAB_DIR" "$keep"
}

owner_alive() {
	local pid=$1 start=$2 now
	[ -n "$pid" ] || return 1
	now=$(proc_start "$pid") || return 1
	[ -z "$start" ] || [ "$now" = "$start" ]
}

cmd_gc() {
	need_root
	local f name owner start dir n=0
	for f in "$REGISTRY"/*; do
		[ -f "$f" ] || continue
		name=${f##*/}
		owner=$(sed -n 's/^LAB_OWNER=//p' "$f")
		start=$(sed -n 's/^LAB_OWNER_START=//p' "$f")
		dir=$(sed -n 's/^LAB_DIR=//p' "$f")
		if owner_alive "$owner" "$start"; then
			continue
		fi
		log "gc: removing lab $name ($dir, owner $owner gone)"
		teardown "$name" "$dir" 0
		n=$((n + 1))
	done
	[ "$n" = 0 ] || log "gc: removed $n lab(s)"
}

cmd_list() {
	local f
	for f in "$REGISTRY"/*; do
		[ -f "$f" ] || continue
		printf '%s %s owner=%s\n' "${f##*/}" "$(sed -n 's/^LAB_DIR=//p' "$f")" "$(sed -n 's/^LAB_OWNER=//p' "$f")"
	done
}

# ---------------------------------------------------------------- up
cmd_up() {
	need_root
	local hosts=4 name='' dir='' owner=$PPID rsa=0
	# run through sudo: the owner is whoever ran sudo
	if [ "$(cat "/proc/$owner/comm" 2>/dev/null)" = sudo ]; then
		owner=$(awk '/^PPid:/ {print $2}' "/proc/$owner/status")
	fi
	while [ $# -gt 0 ]; do
		case $1 in
		--hosts) hosts=${2:?--hosts needs a number}; shift ;;
		--name) name=${2:?--name needs a value}; shift ;;
		--dir) dir=${2:?--dir needs a value}; shift ;;
		--owner) owner=${2:?--owner needs a pid}; shift ;;
		--rsa) rsa=1 ;;
		*) usage; die "up: unknown argument $1" ;;
		esac
		shift
	done
	if ! [[ $hosts =~ ^[0-9]+$ ]] || [ "$hosts" -lt 1 ] || [ "$hosts" -gt 5000 ]; then
		die "--hosts must be 1..5000"
	fi
	[[ $owner =~ ^[0-9]+$ ]] || die "--owner must be a pid"
	local owner_start
	owner_start=$(proc_start "$owner") || die "--owner $owner: no such process"
	mkdir -p "$REGISTRY"
	if [ -z "$name" ]; then
		while :; do
			name=$(printf 'sfx%06x' $(((RANDOM << 15 | RANDOM) & 0xffffff)))
			[ ! -e "$REGISTRY/$name" ] && [ ! -e "/run/netns/$name-ctl" ] && break
		done
	fi
	[[ $name =~ ^[a-z][a-z0-9]{0,11}$ ]] || die "--name must match [a-z][a-z0-9]{0,11}"
	if [ -e "$REGISTRY/$name" ] || compgen -G "/run/netns/$name-*" >/dev/null; then
		die "a lab named $name exists already (lab.sh down $name)"
	fi
	if [ -z "$dir" ]; then
		dir=$(mktemp -d /tmp/sshfix-lab.XXXXXX)
	else
		mkdir -p "$dir"
		dir=$(readlink -f "$dir")
		[ -z "$(ls -A "$dir")" ] || die "--dir $dir is not empty"
	fi
	# Register before building anything, so down/gc can always find it.
	printf 'LAB_DIR=%s\nLAB_OWNER=%s\nLAB_OWNER_START=%s\n' "$dir" "$owner" "$owner_start" >"$REGISTRY/$name"
	echo "$name" >"$dir/.lab-name"
	# Re-exec with the marker in the environment: every process of the
	# build (and its orphans) can then be found by `down`.
	exec env SSHFIX_LAB_BUILD="$name" bash "$SELF" __up "$name" "$dir" "$hosts" "$owner" "$rsa"
}

UP_OK=0
up_exit() {
	local rc=$?
	if [ "$UP_OK" != 1 ]; then
		log "up failed (exit $rc); tearing down lab $BUILD_NAME"
		teardown "$BUILD_NAME" "$BUILD_DIR" 0 || true
		[ "$rc" = 0 ] && rc=1
	fi
	exit "$rc"
}

# The build proper (runs with SSHFIX_LAB_BUILD set).
cmd___up() {
	BUILD_NAME=$1 BUILD_DIR=$2
	local name=$1 dir=$2 hosts=$3 owner=$4 rsa=$5 t0 i h
	t0=$(date +%s.%N)
	exec 3>&1 1>&2 # stdout is only for the final LAB_DIR= line
	trap up_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
	log "building lab $name with $hosts hosts in $dir"
	local br="$name-br" ctl="$name-ctl"

	# --- bridge and controller (serially: the first `ip netns add` sets up /run/netns)
	ip netns add "$br"
	ip netns add "$ctl"
	printf '%s\n' 'link set lo up' 'link add br0 type bridge' 'link set br0 up' | ip -n "$br" -batch -
	ip link add name ctl netns "$br" type veth peer name eth0 netns "$ctl"
	ip -n "$br" link set ctl master br0 up
	printf '%s\n' 'link set lo up' 'link set eth0 up' "addr add $CTL_ADDR/$PREFIX_LEN dev eth0" | ip -n "$ctl" -batch -

	# --- template files shared by every host
	local tpl="$dir/template" ops_uid=1500 hash
	mkdir -p "$tpl/etc" "$tpl/ssh"
	while getent passwd "$ops_uid" >/dev/null || getent group "$ops_uid" >/dev/null; do ops_uid=$((ops_uid + 1)); done
	hash=$(openssl passwd -6 "$OPS_PASSWORD")
	grep -v "^$OPS_USER:" /etc/passwd >"$tpl/etc/passwd"
	echo "$OPS_USER:x:$ops_uid:$ops_uid:lab operator:/home/$OPS_USER:/bin/bash" >>"$tpl/etc/passwd"
	# root gets a lab password (the hosts' own copy, never the machine's)
	grep -v "^$OPS_USER:" /etc/shadow |
		awk -F: -v OFS=: -v h="$(openssl passwd -6 "$CONSOLE_ROOT_PASSWORD")" '$1 == "root" {$2 = h} {print}' >"$tpl/etc/shadow"
	# shellcheck disable=SC2016 # a literal $6$
	grep -q '^root:\$6\$' "$tpl/etc/shadow" || die "no root line in the template /etc/shadow"
	echo "$OPS_USER:$hash:19700:0:99999:7:::" >>"$tpl/etc/shadow"
	grep -v "^$OPS_USER:" /etc/group | awk -F: -v OFS=: -v u="$OPS_USER" '$1=="sudo" {$4 = ($4=="" ? u : $4 "," u)} {print}' >"$tpl/etc/group"
	echo "$OPS_USER:x:$ops_uid:" >>"$tpl/etc/group"
	if [ -f /etc/gshadow ]; then
		grep -v "^$OPS_USER:" /etc/gshadow | awk -F: -v OFS=: -v u="$OPS_USER" '$1=="sudo" {$4 = ($4=="" ? u : $4 "," u)} {print}' >"$tpl/etc/gshadow"
		echo "$OPS_USER:!::" >>"$tpl/etc/gshadow"
		chown root:shadow "$tpl/etc/gshadow" 2>/dev/null || true
		chmod 0640 "$tpl/etc/gshadow"
	fi
	chown root:shadow "$tpl/etc/shadow" 2>/dev/null || true
	chmod 0640 "$tpl/etc/shadow"
	chmod 0644 "$tpl/etc/passwd" "$tpl/etc/group"
	{
		grep -v NOPASSWD /etc/sudoers
		echo
		echo "# sshfix lab: $OPS_USER may run anything, with its password"
		echo "$OPS_USER ALL=(ALL:ALL) ALL"
	} >"$tpl/etc/sudoers"
	chmod 0440 "$tpl/etc/sudoers"
	visudo -c -q -f "$tpl/etc/sudoers" >/dev/null || die "generated sudoers is invalid"
	cp /etc/hosts.allow "$tpl/etc/hosts.allow" 2>/dev/null || printf '# /etc/hosts.allow\n' >"$tpl/etc/hosts.allow"
	cp /etc/hosts.deny "$tpl/etc/hosts.deny" 2>/dev/null || printf '# /etc/hosts.deny\n' >"$tpl/etc/hosts.deny"
	if [ -f /etc/nftables.conf ]; then
		cp /etc/nftables.conf "$tpl/etc/nftables.conf"
	else
		printf '#!/usr/sbin/nft -f\n\nflush ruleset\n\ntable inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter;\n\t}\n\tchain forward {\n\t\ttype filter hook forward priority filter;\n\t}\n\tchain output {\n\t\ttype filter hook output priority filter;\n\t}\n}\n' >"$tpl/etc/nftables.conf"
	fi
	chmod 0644 "$tpl/etc/hosts.allow" "$tpl/etc/hosts.deny"
	chmod 0755 "$tpl/etc/nftables.conf"
	echo "nameserver 127.0.0.1" >"$tpl/etc/resolv.conf"
	# /etc/ssh: the machine's configuration without its host keys
	cp -a /etc/ssh/. "$tpl/ssh/"
	rm -f "$tpl/ssh"/ssh_host_*
	ssh-keygen -q -t ed25519 -N '' -C "sshfix-lab-$name" -f "$dir/id_ed25519"
	chmod 0600 "$dir/id_ed25519"
	cp "$HERE/host-init.sh" "$dir/host-init.sh"
	chmod 0755 "$dir/host-init.sh"
	cat >"$dir/.build" <<EOF
B_NAME=$name
B_RSA=$rsa
B_OPS_UID=$ops_uid
EOF

	# --- hosts, in parallel
	log "starting jump host and $hosts targets"
	local list="jump $JUMP_ADDR"$'\n'
	for ((i = 1; i <= hosts; i++)); do
		list+="h$i $(host_addr "$i")"$'\n'
	done
	local par
	par=$(($(nproc) * 4))
	[ "$par" -gt 16 ] && par=16
	if ! printf '%s' "$list" | xargs -P "$par" -L 1 bash "$SELF" __host "$dir" 3>&-; then
		for h in jump $(seq -f 'h%g' 1 "$hosts"); do
			if ! grep -q '^ready$' "$dir/hosts/$h/state" 2>/dev/null || grep -q '^failed' "$dir/hosts/$h/state" 2>/dev/null; then
				log "host $h: $(grep -m1 '^failed' "$dir/hosts/$h/state" 2>/dev/null) $(tail -3 "$dir/hosts/$h/init.log" 2>/dev/null | tr '\n' ' ')"
			fi
		done
		die "some hosts failed to start"
	fi

	# --- description files
	local names="" addr pid
	for ((i = 1; i <= hosts; i++)); do names+="${names:+ }h$i"; done
	{
		echo "# sshfix lab $name (source this file)"
		echo "LAB_NAME=$name"
		echo "LAB_DIR=$dir"
		echo "LAB_CTL_NS=$ctl"
		echo "LAB_BR_NS=$br"
		echo "LAB_CTL_ADDR=$CTL_ADDR"
		echo "LAB_JUMP_ADDR=$JUMP_ADDR"
		echo "LAB_HOSTS=\"$names\""
		echo "LAB_OWNER=$owner"
		echo "LAB_SSH_CONFIG=$dir/ssh_config"
		echo "LAB_INVENTORY=$dir/inventory.ini"
		echo "LAB_KEY=$dir/id_ed25519"
		echo "LAB_KNOWN_HOSTS=$dir/known_hosts"
		echo "LAB_OPS_USER=$OPS_USER"
		echo "LAB_OPS_PASSWORD=$OPS_PASSWORD"
		echo "LAB_CONSOLE_ROOT_PASSWORD=$CONSOLE_ROOT_PASSWORD"
		echo "LAB_SERIAL_INVENTORY=$dir/inventory-serial.ini"
		for h in jump $names; do
			echo "LAB_PID_$h=$(cat "$dir/hosts/$h/pid")"
			echo "LAB_ADDR_$h=$(cat "$dir/hosts/$h/addr")"
			echo "LAB_NS_$h=$name-$h"
		done
		for h in $names; do
			echo "LAB_CONSOLE_$h=$dir/hosts/$h/console.sock"
		done
	} >"$dir/lab.env.tmp"
	mv "$dir/lab.env.tmp" "$dir/lab.env"
	: >"$dir/known_hosts"
	for h in jump $names; do
		addr=$(cat "$dir/hosts/$h/addr")
		for f in "$dir/hosts/$h/ssh"/ssh_host_*_key.pub; do
			echo "$addr $(cut -d' ' -f1,2 "$f")" >>"$dir/known_hosts"
		done
	done
	cat >"$dir/ssh_config" <<EOF
# sshfix lab $name: use as ssh -F $dir/ssh_config (inside: lab.sh exec $dir ...)
Host *
	User root
	IdentityFile $dir/id_ed25519
	IdentitiesOnly yes
	UserKnownHostsFile $dir/known_hosts
	GlobalKnownHostsFile /dev/null
	StrictHostKeyChecking yes
	BatchMode yes
	ConnectTimeout 10
	LogLevel ERROR
EOF
	{
		echo "# sshfix lab $name"
		echo "[jumphosts]"
		echo "jump ansible_host=$JUMP_ADDR"
		echo
		echo "[targets]"
		for h in $names; do
			pid=$(cat "$dir/hosts/$h/pid")
			echo "$h ansible_host=$(cat "$dir/hosts/$h/addr") sshfix_console=\"nsenter -t $pid -m -n -p -u -i -- sh\""
		done
		echo
		echo "[targets:vars]"
		echo "sshfix_jump=jump"
		echo
		echo "[all:vars]"
		echo "ansible_user=root"
	} >"$dir/inventory.ini"
	{
		echo "# sshfix lab $name: the targets' working path is their serial console"
		echo "[jumphosts]"
		echo "jump ansible_host=$JUMP_ADDR"
		echo
		echo "[targets]"
		for h in $names; do
			echo "$h ansible_host=$(cat "$dir/hosts/$h/addr") sshfix_console=\"unix:$dir/hosts/$h/console.sock\" sshfix_console_kind=serial sshfix_console_login=root sshfix_console_password_env=LAB_CONSOLE_ROOT_PASSWORD"
		done
		echo
		echo "[targets:vars]"
		echo "sshfix_jump=jump"
		echo
		echo "[all:vars]"
		echo "ansible_user=root"
	} >"$dir/inventory-serial.ini"

	# --- smoke test: strict host-key checked logins from the controller
	local out
	if ! out=$(ip netns exec "$ctl" ssh -F "$dir/ssh_config" "$JUMP_ADDR" true 2>&1); then
		die "ssh to the jump host failed: $out"
	fi
	if ! out=$(ip netns exec "$ctl" ssh -F "$dir/ssh_config" -J "$JUMP_ADDR" "$(host_addr 1)" hostname 2>&1) || [ "$out" != h1 ]; then
		die "ssh -J jump h1 failed: $out"
	fi
	UP_OK=1
	log "lab $name up: $hosts targets in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')s"
	echo "LAB_DIR=$dir" >&3
}

# One host: file tree, netns, veth, PID 1, sshd.  Runs under xargs.
cmd___host() {
	local dir=$1 h=$2 addr=$3
	# shellcheck disable=SC1091
	source "$dir/.build"
	: "${B_NAME:?}" "${B_RSA:?}" "${B_OPS_UID:?}"
	local name=$B_NAME ns="$B_NAME-$h" t="$dir/hosts/$h" tpl="$dir/template"
	mkdir -p "$t"/{etc,var,log,root,home,work/etc,work/var,orig}
	echo "$addr" >"$t/addr"
	cp -a "$tpl/etc/." "$t/etc/"
	cp -a "$tpl/ssh" "$t/ssh"
	echo "$h" >"$t/etc/hostname"
	printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n%s\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' "$h" "$addr" "$h" >"$t/etc/hosts"
	ssh-keygen -q -t ed25519 -N '' -C "root@$h" -f "$t/ssh/ssh_host_ed25519_key"
	ssh-keygen -q -t ecdsa -N '' -C "root@$h" -f "$t/ssh/ssh_host_ecdsa_key"
	if [ "$B_RSA" = 1 ]; then
		ssh-keygen -q -t rsa -N '' -C "root@$h" -f "$t/ssh/ssh_host_rsa_key"
	fi
	if [ "$h" = jump ]; then
		# many targets are reached through one jump host
		if grep -q '^#MaxStartups' "$t/ssh/sshd_config"; then
			sed -i 's/^#MaxStartups.*/MaxStartups 200:30:400/' "$t/ssh/sshd_config"
		else
			sed -i '1i MaxStartups 200:30:400' "$t/ssh/sshd_config"
		fi
	fi
	# homes
	cp -a /etc/skel/. "$t/root/" 2>/dev/null || true
	mkdir -p "$t/root/.ssh" "$t/home/$OPS_USER/.ssh"
	cp -a /etc/skel/. "$t/home/$OPS_USER/" 2>/dev/null || true
	cp "$dir/id_ed25519.pub" "$t/root/.ssh/authorized_keys"
	cp "$dir/id_ed25519.pub" "$t/home/$OPS_USER/.ssh/authorized_keys"
	chmod 0700 "$t/root" "$t/root/.ssh" "$t/home/$OPS_USER/.ssh"
	chmod 0600 "$t/root/.ssh/authorized_keys" "$t/home/$OPS_USER/.ssh/authorized_keys"
	chmod 0755 "$t/home" "$t/home/$OPS_USER"
	chown -R "$B_OPS_UID:$B_OPS_UID" "$t/home/$OPS_USER"
	# /var/log
	chmod 0755 "$t/log"
	: >"$t/log/wtmp"
	: >"$t/log/btmp"
	: >"$t/log/lastlog"
	chgrp utmp "$t/log/wtmp" "$t/log/btmp" 2>/dev/null || true
	chmod 0664 "$t/log/wtmp"
	chmod 0660 "$t/log/btmp"
	# originals for `fault clear`
	cp -a "$t/ssh" "$t/orig/ssh"
	cp -a "$t/etc/hosts.allow" "$t/etc/hosts.deny" "$t/etc/nftables.conf" "$t/orig/"
	cp -a "$t/etc" "$t/orig/etc"

	# network
	ip netns add "$ns"
	ip link add name "$h" netns "$name-br" type veth peer name eth0 netns "$ns"
	ip -n "$name-br" link set "$h" master br0 up
	printf '%s\n' 'link set lo up' 'link set eth0 up' "addr add $addr/$PREFIX_LEN dev eth0" | ip -n "$ns" -batch -

	# PID 1 of the host
	: >"$t/state"
	setsid nsenter --net="/run/netns/$ns" \
		unshare --mount --propagation private --uts --ipc --pid --fork --mount-proc \
		bash "$dir/host-init.sh" "$h" "$t" </dev/null >"$t/init.log" 2>&1 3>&- &
	local upid=$! pid='' n
	for n in $(seq 1 500); do
		pid=$(cat "/proc/$upid/task/$upid/children" 2>/dev/null) || true
		pid=${pid%% *}
		[ -n "$pid" ] && break
		kill -0 "$upid" 2>/dev/null || break
		sleep 0.01
	done
	[ -n "$pid" ] || {
		echo "failed: host init exited early: $(tail -3 "$t/init.log" | tr '\n' ' ')" >>"$t/state"
		exit 1
	}
	echo "$pid" >"$t/pid"
	for n in $(seq 1 3000); do
		grep -q '^ready$' "$t/state" && break
		if grep -q '^failed' "$t/state" || ! kill -0 "$pid" 2>/dev/null; then
			echo "failed: host init exited: $(tail -3 "$t/init.log" | tr '\n' ' ')" >>"$t/state"
			exit 1
		fi
		sleep 0.01
	done
	grep -q '^ready$' "$t/state" || {
		echo "failed: timeout" >>"$t/state"
		exit 1
	}
	if [ "$h" != jump ]; then
		start_console "$t" "$pid" || {
			echo "failed: serial console: $(tail -3 "$t/console.log" 2>/dev/null | tr '\n' ' ')" >>"$t/state"
			exit 1
		}
	fi
}

# The serial console of the host whose tree is $1 and PID 1 is $2: a unix
# socket in the machine's mount namespace ($1/console.sock, mode 0600); every
# connection gets a fresh getty (then login) on a fresh pty inside the host's
# mount, UTS, IPC, network and PID namespaces.  The listener (socat) lives in
# the host's network and PID namespaces: it dies with the host's PID 1, and
# `down` finds it.  Its pid (as seen here) goes to $1/console.pid.
start_console() {
	local t=$1 pid=$2 sock="$1/console.sock" npid lpid='' n
	rm -f "$sock"
	setsid nsenter -t "$pid" -n -p -- socat "UNIX-LISTEN:$sock,fork,perm-early=0600" \
		"EXEC:nsenter -t $pid -m -u -i -- $CONSOLE_GETTY,pty,setsid,ctty,stderr" \
		</dev/null >>"$t/console.log" 2>&1 3>&- &
	npid=$!
	for n in $(seq 1 500); do
		[ -n "$lpid" ] || lpid=$(cat "/proc/$npid/task/$npid/children" 2>/dev/null) || true
		lpid=${lpid%% *}
		[ -n "$lpid" ] && [ -S "$sock" ] && break
		kill -0 "$npid" 2>/dev/null || break
		sleep 0.01
	done
	[ -n "$lpid" ] && [ -S "$sock" ] || return 1
	echo "$lpid" >"$t/console.pid"
}

# ---------------------------------------------------------------- exec / console
cmd_exec() {
	need_root
	[ $# -ge 2 ] || die "usage: lab.sh exec DIR CMD..."
	load_env "$1"
	shift
	exec ip netns exec "$LAB_CTL_NS" "$@"
}

cmd_console() {
	need_root
	[ $# -ge 2 ] || die "usage: lab.sh console DIR HOST [CMD...]"
	load_env "$1"
	local pid
	pid=$(host_pid "$2")
	shift 2
	[ $# -gt 0 ] || set -- sh
	exec nsenter -t "$pid" -m -n -p -u -i -- "$@"
}

# Every descendant of process $1 (not $1 itself), parents first.
descendants() {
	local c
	# shellcheck disable=SC2013 # space-separated pids
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		echo "$c"
		descendants "$c"
	done
}

# Cut every open connection of HOST's serial console, like a terminal server
# dropping the line: the per-connection socat processes and everything under
# them (getty, login, the shell and its commands) are SIGKILLed.  Daemons a
# session started have left that tree (re-parented to the host's PID 1) and
# stay; the listener stays and serves the next connection.
cmd_console_drop() {
	need_root
	[ $# -eq 2 ] || die "usage: lab.sh console-drop DIR HOST"
	load_env "$1"
	local h=$2 t lpid all='' new p n round
	host_pid "$h" >/dev/null
	t="$LAB_DIR/hosts/$h"
	[ -f "$t/console.pid" ] || die "$h has no serial console"
	lpid=$(cat "$t/console.pid")
	[ "$(cat "/proc/$lpid/comm" 2>/dev/null)" = socat ] ||
		die "the console listener of $h (pid $lpid) is not running"
	# Stop them first (a stopped process cannot fork or re-parent anything
	# away), until the tree is complete; then kill them all.
	for round in $(seq 1 50); do
		new=''
		for p in $(descendants "$lpid"); do
			[[ " $all " == *" $p "* ]] || new+="$p "
		done
		[ -z "$new" ] && break
		# shellcheck disable=SC2086
		kill -STOP $new 2>/dev/null || true
		all+="$new"
	done
	[ -n "$all" ] || {
		log "$h: no open console connection"
		return 0
	}
	# shellcheck disable=SC2086
	kill -KILL $all 2>/dev/null || true
	for n in $(seq 1 200); do
		new=''
		for p in $all; do
			if [ -r "/proc/$p/stat" ] && [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != Z ]; then
				new+="$p "
			fi
		done
		[ -z "$new" ] && break
		sleep 0.01
	done
	[ -z "$new" ] || die "console-drop $h: processes survive: $new"
	log "$h: console connections dropped (killed: $all)"
}

# ---------------------------------------------------------------- faults
# Inside a host: pids of whatever listens on tcp/22 (ns-local pids).
listeners_22() {
	hx "$1" ss -Htlnp 'sport = :22' | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u
}

wait_port() { # HOST up|down
	local n
	for n in $(seq 1 100); do
		if [ -n "$(hx "$1" ss -Htln 'sport = :22')" ]; then
			[ "$2" = up ] && return 0
		else
			[ "$2" = down ] && return 0
		fi
		sleep 0.05
	done
	die "port 22 on $1 did not go $2"
}

stop_sshd() {
	local h=$1
	# shellcheck disable=SC2016
	hx "$h" sh -c 'if [ -s /run/sshd.pid ]; then kill "$(cat /run/sshd.pid)" 2>/dev/null; fi; rm -f /run/sshd.pid' || true
	local p
	for p in $(listeners_22 "$h"); do
		hx "$h" kill "$p" 2>/dev/null || true
	done
	wait_port "$h" down
}

start_sshd() {
	local h=$1
	hx "$h" sh -c 'mkdir -p /run/sshd && /usr/sbin/sshd -E /var/log/sshd.log' || die "sshd did not start on $h (see $LAB_DIR/hosts/$h/log/sshd.log)"
	wait_port "$h" up
}

# Start a detached fault process inside host $1 (command line as a string
# for sh); it is re-parented to the host's PID 1 and tracked in /run/lab/fault.pids.
start_fault_proc() {
	local h=$1 cmd=$2
	hx "$h" sh -c "mkdir -p /run/lab; setsid sh -c '$cmd' </dev/null >/dev/null 2>&1 & echo \$! >>/run/lab/fault.pids"
}

kill_fault_procs() {
	# shellcheck disable=SC2016
	hx "$1" sh -c 'if [ -f /run/lab/fault.pids ]; then for p in $(cat /run/lab/fault.pids); do /bin/kill -9 -- "-$p" 2>/dev/null || kill -9 "$p" 2>/dev/null; done; rm -f /run/lab/fault.pids; fi; true'
}

# Replace the content of FILE inside host $1 with stdin (in place).
put_file() {
	local h=$1 f=$2
	hx "$h" sh -c "cat >'$f'"
}

# Replace FILE inside host $1 with TEXT (+ newline).  For edits of a file
# read from the host tree: the text must be complete before the host-side
# `cat >FILE` truncates the file, so it is never piped straight through.
put_text() {
	printf '%s\n' "$3" | put_file "$1" "$2"
}

banner_from_ctl() { # HOST [PORT] -> first line the host sends to the controller
	local addr
	addr=$(host_addr_of "$1")
	ip netns exec "$LAB_CTL_NS" timeout 6 bash -c "exec 3<>/dev/tcp/$addr/${2:-22} && IFS= read -r l <&3 && printf '%s\n' \"\${l%\$'\r'}\"" 2>/dev/null || true
}

# Number of "Server listening" lines in the host's sshd.log (read from outside).
listen_count() {
	grep -c 'Server listening on 0.0.0.0 port 22' "$LAB_DIR/hosts/$1/log/sshd.log" 2>/dev/null || true
}

# SIGHUP sshd through its pid file (what `systemctl reload ssh` does) and wait
# until it listens again.  sshd re-executes itself; with a broken config it
# exits instead, which is reported.  Without a running sshd only the config
# changed.
reload_sshd() {
	local h=$1 before n
	before=$(listen_count "$h")
	# shellcheck disable=SC2016
	if ! hx "$h" sh -c '[ -s /run/sshd.pid ] && kill -HUP "$(cat /run/sshd.pid)" 2>/dev/null'; then
		log "note: sshd is not running on $h; only its configuration changed"
		return 0
	fi
	for n in $(seq 1 100); do
		[ "$(listen_count "$h")" -gt "$before" ] && return 0
		sleep 0.05
	done
	die "sshd on $h did not come back after SIGHUP; sshd.log: $(tail -1 "$LAB_DIR/hosts/$h/log/sshd.log")"
}

restart_sshd() {
	stop_sshd "$1"
	start_sshd "$1"
}

# Stop sshd and try to start it again (without re-creating /run/sshd): the
# fault must make that fail.  sshd's complaint goes to stderr (ours).
restart_sshd_must_fail() {
	local h=$1 out
	stop_sshd "$h"
	if out=$(hx "$h" /usr/sbin/sshd -E /var/log/sshd.log 2>&1); then
		wait_port "$h" up
		die "sshd on $h started although the fault should prevent it${out:+: $out}"
	fi
	wait_port "$h" down
	log "$h: sshd does not start (as intended); sshd.log: $(tail -1 "$LAB_DIR/hosts/$h/log/sshd.log")${out:+; stderr: $out}"
}

# Set KEYWORD to VALUE in the global part of the host's main sshd_config:
# an existing uncommented KEYWORD line before the first Match is replaced,
# else the first "#KEYWORD" line, else the line goes right after the Include
# (or first).  Reads the current file, so faults combine.
sshd_set() {
	local h=$1 key=$2 value=$3 text
	text=$(awk -v k="$key" -v v="$value" '
		function kw(s) { sub(/^[ \t]+/, "", s); split(s, a, /[ \t=]+/); return tolower(a[1]) }
		{ line[NR] = $0 }
		!done && !inmatch && kw($0) == tolower(k) && $0 !~ /^[ \t]*#/ { set = NR; done = 1 }
		kw($0) == "match" { inmatch = 1 }
		!c && $0 ~ "^#" k "([ \t]|$)" { c = NR }
		!inc && kw($0) == "include" { inc = NR }
		END {
			if (!set && c) set = c
			for (i = 1; i <= NR; i++) {
				if (i == set) { print k " " v; continue }
				if (!set && i == 1 && !inc) print k " " v
				print line[i]
				if (!set && i == inc) print k " " v
			}
		}' "$LAB_DIR/hosts/$h/ssh/sshd_config") || die "cannot read sshd_config of $h"
	put_text "$h" /etc/ssh/sshd_config "$text"
}

# Put LINE right before the Include line of the main sshd_config (once).
# MaxStartups, PerSourceMaxStartups and PerSourceNetBlockSize are the
# exceptions to "first value wins" in OpenSSH 9.2: the last one read wins, so
# a value that a drop-in must beat goes before the Include.
sshd_before_include() {
	local h=$1 line=$2 f="$LAB_DIR/hosts/$1/ssh/sshd_config"
	grep -qxF "$line" "$f" && return 0
	grep -q '^Include ' "$f" || die "no Include line in $f"
	put_text "$h" /etc/ssh/sshd_config "$(awk -v l="$line" '!d && /^Include / { print l; d = 1 } { print }' "$f")"
}

# Die unless `sshd -T` on host $1 shows KEYWORD (lowercase) with VALUE.
sshd_effective_must_be() {
	local out got
	out=$(hx "$1" sshd -T 2>&1) || die "$1: sshd -T fails: $(tail -1 <<<"$out")"
	got=$(awk -v k="$2" '$1 == k { $1 = ""; sub(/^ /, ""); print }' <<<"$out")
	[ "$got" = "$3" ] || die "$1: sshd -T shows $2 '${got}', expected '$3'"
}

# Append a trailing "Match User nobody" block to the main sshd_config (once).
sshd_trailing_match() {
	local h=$1 f="$LAB_DIR/hosts/$1/ssh/sshd_config"
	grep -q '^Match User nobody$' "$f" && return 0
	put_text "$h" /etc/ssh/sshd_config "$(cat "$f")
$(printf '\n# lab trap: settings after this line only apply to user nobody\nMatch User nobody\n\tX11Forwarding no\n\tAllowTcpForwarding no')"
}

# Write a drop-in /etc/ssh/sshd_config.d/NAME from stdin with CRLF line endings.
sshd_dropin_crlf() {
	sed 's/$/\r/' | put_file "$1" "/etc/ssh/sshd_config.d/$2"
}

# Add RULE to chain CHAIN (input|output) of the host's /etc/nftables.conf
# (once) and load the file.  nftables.conf starts with "flush ruleset", which
# also wipes iptables-nft rules: those are restored from
# /etc/iptables/rules.v4 when it exists (as a boot would).
nft_persist_rule() {
	local h=$1 chain=$2 rule=$3 f="$LAB_DIR/hosts/$1/etc/nftables.conf"
	[ -f "$f" ] || f="$LAB_DIR/hosts/$1/orig/nftables.conf"
	if ! grep -qF "$rule" "$f"; then
		put_text "$h" /etc/nftables.conf "$(sed "/type filter hook $chain/a\\		$rule" "$f")"
	fi
	hx "$h" nft -f /etc/nftables.conf
	hx "$h" sh -c 'if [ -f /etc/iptables/rules.v4 ]; then iptables-restore </etc/iptables/rules.v4; fi'
}

# Wait until something listens on tcp/PORT inside host $1.
wait_listen() {
	local n
	for n in $(seq 1 100); do
		[ -n "$(hx "$1" ss -Htln "sport = :$2")" ] && return 0
		sleep 0.05
	done
	die "nothing listens on port $2 on $1"
}

INETD_SSH_LINE='ssh	stream	tcp	nowait	root	/usr/sbin/sshd	sshd -i'

inetd_config() {
	local h=$1 cur
	[ -x /usr/sbin/inetd ] || die "inetd is not installed (lab.sh deps)"
	cur=$(hx "$h" sh -c 'cat /etc/inetd.conf 2>/dev/null || true')
	if ! grep -q '^ssh[[:space:]]' <<<"$cur"; then
		printf '%s\n%s\n' "$cur" "$INETD_SSH_LINE" | put_file "$h" /etc/inetd.conf
	fi
}

# haproxy on host $1, port 2222, forwarding to $2:22 in MODE (http|tcp).
lb_start() {
	local h=$1 target_addr=$2 mode=$3
	[ -x /usr/sbin/haproxy ] || die "haproxy is not installed (lab.sh deps)"
	hx "$h" sh -c 'mkdir -p /etc/haproxy && cat >/etc/haproxy/haproxy.cfg' <<EOT
# sshfix lab: load balancer in front of $target_addr:22 ($mode mode)
global
	maxconn 256

defaults
	mode $mode
	timeout connect 5s
	timeout client 60s
	timeout server 60s

frontend ssh_front
	bind :2222
	mode $mode
	default_backend ssh_back

backend ssh_back
	mode $mode
	server target $target_addr:22
EOT
	hx "$h" haproxy -c -q -f /etc/haproxy/haproxy.cfg || die "haproxy rejects the generated config on $h"
	lb_stop "$h"
	# as Debian's /etc/init.d/haproxy runs it: a daemon with a pid file, so
	# that `service haproxy reload` (haproxy -sf PIDS) works
	hx "$h" sh -c 'haproxy -D -p /run/haproxy.pid -f /etc/haproxy/haproxy.cfg </dev/null >/dev/null 2>&1' ||
		die "haproxy did not start on $h"
	wait_listen "$h" 2222
}

# Stop the host's haproxy through its pid file (every pid in it) and wait
# until port 2222 is free.
lb_stop() {
	local h=$1 n
	# shellcheck disable=SC2016
	hx "$h" sh -c 'if [ -s /run/haproxy.pid ]; then for p in $(cat /run/haproxy.pid); do kill -9 "$p" 2>/dev/null; done; fi; rm -f /run/haproxy.pid; true'
	for n in $(seq 1 100); do
		[ -z "$(hx "$h" ss -Htln 'sport = :2222')" ] && return 0
		sleep 0.05
	done
	die "port 2222 on $h is still in use after stopping haproxy"
}

# The mount point of /etc/ssh inside host $1 is a tmpfs (etc-full)?
etc_ssh_is_tmpfs() {
	[ "$(hx "$1" findmnt -n -o FSTYPE --target /etc/ssh 2>/dev/null | tail -1)" = tmpfs ]
}

# Port 22 of host $1 served, instead of sshd, by a script (printf format
# $2) for each connection; $3: extra socat options (-U: only from the script
# to the client).
serve_22_with() {
	local h=$1 script=$2 opts=${3:-}
	stop_sshd "$h"
	hx "$h" mkdir -p /run/lab
	# shellcheck disable=SC2059
	printf "$script" | put_file "$h" /run/lab/port22.sh
	hx "$h" chmod 0755 /run/lab/port22.sh
	start_fault_proc "$h" "exec socat $opts TCP-LISTEN:22,reuseaddr,fork EXEC:/run/lab/port22.sh"
	wait_port "$h" up
}

# Undo etc-readonly and etc-full (nothing when neither is there).
etc_writable() {
	local h=$1 n
	hx "$h" sh -c 'mount -o remount,bind,rw /etc/ssh && mount -o remount,bind,rw /etc' ||
		die "could not make /etc and /etc/ssh writable again on $h"
	for n in 1 2 3 4 5; do
		etc_ssh_is_tmpfs "$h" || return 0
		hx "$h" umount /etc/ssh || die "could not unmount the tmpfs over /etc/ssh on $h"
	done
	die "/etc/ssh on $h is still a tmpfs"
}

# Drop packets from ADDR to tcp/22 in the lab's own live nft table (created
# when missing; never written to /etc/nftables.conf).
block_from() {
	local h=$1 addr=$2
	hx "$h" nft add table inet "$BLOCK_TABLE"
	hx "$h" nft add chain inet "$BLOCK_TABLE" input '{ type filter hook input priority -10; }'
	if ! hx "$h" nft list chain inet "$BLOCK_TABLE" input | grep -qF "ip saddr $addr tcp dport 22 drop"; then
		hx "$h" nft add rule inet "$BLOCK_TABLE" input ip saddr "$addr" tcp dport 22 drop
	fi
}

unblock() {
	hx "$1" sh -c "nft delete table inet $BLOCK_TABLE 2>/dev/null; true"
}

# Kill the tracked fault processes of host $1 whose command line contains WORD.
kill_fault_procs_matching() {
	# shellcheck disable=SC2016
	hx "$1" sh -c '
		[ -f /run/lab/fault.pids ] || exit 0
		keep=""
		for p in $(cat /run/lab/fault.pids); do
			if tr "\0" " " </proc/$p/cmdline 2>/dev/null | grep -q -- "$0"; then
				/bin/kill -9 -- "-$p" 2>/dev/null || kill -9 "$p" 2>/dev/null
			else
				keep="$keep $p"
			fi
		done
		printf "%s\n" $keep >/run/lab/fault.pids' "$2"
}

# The idle unauthenticated connection that fills MaxStartups 1:...:1.
maxstartups_holder() {
	local h=$1 n
	kill_fault_procs_matching "$h" 'nc -d'
	# A reload (SIGHUP: sshd re-executes itself) forgets the connections it
	# counted, so the holder re-connects when the listener shows "0 of 1-1
	# startups": the limit stays exhausted across reloads, as under a real
	# flood.  ("[0]": not to match this very command line.)
	# shellcheck disable=SC2016
	start_fault_proc "$h" 'while :; do nc -d 127.0.0.1 22 >/dev/null 2>&1 & n=$!; while kill -0 $n 2>/dev/null; do sleep 0.2; if cat /proc/[0-9]*/cmdline 2>/dev/null | tr "\0" " " | grep -q "[0] of 1-1 startups"; then kill $n 2>/dev/null; fi; done; wait $n; sleep 0.1; done'
	for n in $(seq 1 100); do
		# ("[1]": not to match this very command line)
		hx "$h" sh -c 'cat /proc/[0-9]*/cmdline 2>/dev/null | tr "\0" " " | grep -q "[1] of 1-1 startups"' && return 0
		sleep 0.05
	done
	die "maxstartups: sshd on $h does not show 1 of 1-1 startups"
}

# Make /etc of host $1 what it was when the host was built: files of the
# original upper layer (orig/etc) get their content back; anything else a
# fault or a test added to the upper layer gets the machine's content back
# (when the machine has the file) or is removed.
restore_etc() {
	local h=$1 t="$LAB_DIR/hosts/$1" p
	[ -d "$t/orig/etc" ] || die "clear: no $t/orig/etc"
	while IFS= read -r -d '' p; do
		p=${p#./}
		[ -e "$t/orig/etc/$p" ] && continue
		if [ -d "$t/etc/$p" ] && [ ! -L "$t/etc/$p" ]; then
			if [ ! -e "/etc/$p" ]; then
				hx "$h" rm -rf -- "/etc/$p"
			fi
		elif [ -f "/etc/$p" ] && [ ! -L "/etc/$p" ]; then
			# shellcheck disable=SC2094 # different files: the machine's and the host's
			if ! cmp -s "/etc/$p" "$t/etc/$p" 2>/dev/null; then
				# (a deleted file is a whiteout in the upper layer: a new
				# file then, which gets the machine's mode)
				put_file "$h" "/etc/$p" <"/etc/$p"
				hx "$h" chmod "$(stat -c %a "/etc/$p")" "/etc/$p"
			fi
		elif [ ! -e "/etc/$p" ] && [ ! -L "/etc/$p" ]; then
			hx "$h" rm -rf -- "/etc/$p"
		fi
	done < <(cd "$t/etc" && find . -mindepth 1 -depth -print0)
	while IFS= read -r -d '' p; do
		p=${p#./}
		cmp -s "$t/orig/etc/$p" "$t/etc/$p" || put_file "$h" "/etc/$p" <"$t/orig/etc/$p"
	done < <(cd "$t/orig/etc" && find . -type f -print0)
}

cmd_fault() {
	need_root
	[ $# -eq 3 ] || [ $# -eq 4 ] || die "usage: lab.sh fault DIR HOST KIND [TARGET]   (KIND: $FAULT_KINDS)"
	load_env "$1"
	local h=$2 kind=$3 arg=${4:-} t="$LAB_DIR/hosts/$2"
	host_pid "$h" >/dev/null
	[ -d "$t" ] || die "no host tree $t"
	case $kind in
	lb-http | lb-tcp)
		[ -n "$arg" ] || die "fault $kind needs a TARGET host: lab.sh fault DIR LB_HOST $kind TARGET_HOST"
		host_addr_of "$arg" >/dev/null
		;;
	*) [ -z "$arg" ] || die "fault $kind takes no TARGET argument (got $arg)" ;;
	esac
	case $kind in
	wrappers-deny)
		{
			cat "$t/orig/hosts.deny"
			echo "sshd: $LAB_CTL_ADDR"
		} | put_file "$h" /etc/hosts.deny
		;;
	maxstartups)
		if grep -q '^#MaxStartups' "$t/orig/ssh/sshd_config"; then
			sed 's/^#MaxStartups.*/MaxStartups 1:100:1/' "$t/orig/ssh/sshd_config"
		else
			sed '1i MaxStartups 1:100:1' "$t/orig/ssh/sshd_config"
		fi | put_file "$h" /etc/ssh/sshd_config
		# restart sshd so that it surely runs with the new limit; one idle
		# unauthenticated connection, re-opened when LoginGraceTime (120 s)
		# drops it
		restart_sshd "$h"
		maxstartups_holder "$h"
		;;
	maxstartups-trap)
		# The effective limit hides in a CRLF drop-in, lowercase and with
		# "=": it wins because the Include comes first; the main file's
		# MaxStartups is ignored, and a trailing Match block follows.
		printf '# lab trap\nmaxstartups=1:100:1\n' | sshd_dropin_crlf "$h" 10-trap.conf
		sshd_before_include "$h" 'MaxStartups 100:30:200'
		sshd_trailing_match "$h"
		sshd_effective_must_be "$h" maxstartups 1:100:1
		restart_sshd "$h"
		maxstartups_holder "$h"
		;;
	nft-drop)
		nft_persist_rule "$h" input "ip saddr $LAB_CTL_ADDR tcp dport 22 drop"
		;;
	iptables-drop)
		hx "$h" sh -c "iptables -C INPUT -s $LAB_CTL_ADDR -p tcp --dport 22 -j DROP 2>/dev/null ||
			iptables -I INPUT -s $LAB_CTL_ADDR -p tcp --dport 22 -j DROP" || die "iptables failed on $h"
		hx "$h" sh -c 'mkdir -p /etc/iptables && iptables-save >/etc/iptables/rules.v4'
		;;
	sshd-stopped)
		stop_sshd "$h"
		;;
	http-on-22)
		stop_sshd "$h"
		printf '%s\n' '#!/bin/sh' 'IFS= read -r line' \
			"printf 'HTTP/1.1 400 Bad Request\\r\\nServer: lab-http\\r\\nContent-Type: text/plain\\r\\nContent-Length: 12\\r\\nConnection: close\\r\\n\\r\\nBad Request\\n'" |
			hx "$h" sh -c 'mkdir -p /run/lab && cat >/run/lab/http400 && chmod 0755 /run/lab/http400'
		start_fault_proc "$h" 'exec socat TCP-LISTEN:22,reuseaddr,fork EXEC:/run/lab/http400'
		wait_port "$h" up
		;;
	silent-22)
		stop_sshd "$h"
		start_fault_proc "$h" 'exec socat -u TCP-LISTEN:22,reuseaddr,fork OPEN:/dev/null'
		wait_port "$h" up
		;;
	banner-missing)
		sshd_set "$h" Banner /etc/ssh/no-such-banner
		reload_sshd "$h"
		;;
	banner-trap)
		printf '# lab trap\nbanner=/etc/ssh/missing-banner\n' | sshd_dropin_crlf "$h" 10-trap.conf
		sshd_trailing_match "$h"
		reload_sshd "$h"
		;;
	hostkeys-missing)
		stop_sshd "$h"
		hx "$h" sh -c 'rm -f /etc/ssh/ssh_host_*'
		restart_sshd_must_fail "$h"
		;;
	hostkey-perms)
		# shellcheck disable=SC2016
		hx "$h" sh -c 'for k in /etc/ssh/ssh_host_*_key; do [ -f "$k" ] && chmod 0644 "$k"; done; true'
		restart_sshd_must_fail "$h"
		;;
	config-invalid)
		sshd_set "$h" PermitRootLogin maybe
		restart_sshd_must_fail "$h"
		;;
	config-invalid-trap)
		printf '# lab trap\nX11Forwarding no\n\nMatch User nobody\n\tAllowTcpForwarding no\n\tMaxStartups 5\n' |
			sshd_dropin_crlf "$h" 20-match.conf
		restart_sshd_must_fail "$h"
		;;
	privsep-missing)
		stop_sshd "$h"
		hx "$h" rm -rf /run/sshd
		restart_sshd_must_fail "$h"
		;;
	dns-slow)
		# The resolver is a stub address on the host's loopback whose DNS
		# traffic the host's own firewall drops on input: every lookup waits
		# the full timeout (2 s).  (A drop in the output chain would not do:
		# sendto() then fails at once with EPERM and so does the lookup.)
		printf '# sshfix lab: resolver that never answers (nftables input drop)\nnameserver %s\noptions timeout:2 attempts:1\n' "$DNS_DEAD_ADDR" |
			put_file "$h" /etc/resolv.conf
		nft_persist_rule "$h" input "ip daddr $DNS_DEAD_ADDR udp dport 53 drop"
		nft_persist_rule "$h" input "ip daddr $DNS_DEAD_ADDR tcp dport 53 drop"
		sshd_set "$h" UseDNS yes
		reload_sshd "$h"
		;;
	inetd)
		kill_fault_procs_matching "$h" inetd
		stop_sshd "$h"
		inetd_config "$h"
		;;
	inetd-running)
		stop_sshd "$h"
		inetd_config "$h"
		kill_fault_procs_matching "$h" inetd
		start_fault_proc "$h" 'exec /usr/sbin/inetd -i /etc/inetd.conf'
		wait_port "$h" up
		;;
	lb-http)
		lb_start "$h" "$(host_addr_of "$arg")" http
		;;
	lb-tcp)
		lb_start "$h" "$(host_addr_of "$arg")" tcp
		;;
	debug-log)
		sshd_set "$h" LogLevel DEBUG1
		restart_sshd "$h"
		;;
	etc-readonly)
		# read-only mount points (the vfsmount flag; the overlay and the
		# bind underneath stay as they are): writes fail with EROFS
		hx "$h" sh -c 'mount -o remount,bind,ro /etc && mount -o remount,bind,ro /etc/ssh' ||
			die "could not make /etc read-only on $h"
		if hx "$h" sh -c ': >>/etc/hosts.allow' 2>/dev/null; then
			die "etc-readonly: /etc/hosts.allow on $h is still writable"
		fi
		;;
	etc-full)
		if ! etc_ssh_is_tmpfs "$h"; then
			# shellcheck disable=SC2016
			hx "$h" sh -c '
				set -e
				rm -rf /run/lab/etc-ssh && mkdir -p /run/lab/etc-ssh
				cp -a /etc/ssh/. /run/lab/etc-ssh/
				mount -t tmpfs -o size=1m,mode=0755 lab-etc-full /etc/ssh
				cp -a /run/lab/etc-ssh/. /etc/ssh/
				rm -rf /run/lab/etc-ssh
				dd if=/dev/zero of=/etc/ssh/.lab-fill bs=1k 2>/dev/null || true
				# the last partial page too
				head -c 4096 /dev/zero >/etc/ssh/.lab-fill2 2>/dev/null || true' ||
				die "could not put a full tmpfs over /etc/ssh on $h"
		fi
		if hx "$h" sh -c 'head -c 4096 /dev/zero >/etc/ssh/.lab-probe' 2>/dev/null; then
			hx "$h" rm -f /etc/ssh/.lab-probe
			die "etc-full: a 4 KB file can still be written to /etc/ssh on $h"
		fi
		hx "$h" rm -f /etc/ssh/.lab-probe
		;;
	block-ctl)
		block_from "$h" "$LAB_CTL_ADDR"
		;;
	block-jump)
		block_from "$h" "$LAB_JUMP_ADDR"
		;;
	unblock)
		unblock "$h"
		;;
	reload-fails)
		# shellcheck disable=SC2016 # $1 belongs to the generated script
		printf '#!/bin/sh\n# sshfix lab fault reload-fails: every action fails\necho "ssh: lab fault reload-fails: cannot $1 the OpenBSD Secure Shell server" >&2\nexit 1\n' |
			put_file "$h" /etc/init.d/ssh
		hx "$h" chmod 0755 /etc/init.d/ssh
		;;
	no-initscripts)
		hx "$h" rm -f "${INIT_SCRIPTS[@]}"
		;;
	small-disk)
		# /etc/ssh and /var/backups on 4 MB tmpfs (contents copied), /tmp
		# shrunk to 4 MB, so that disk-fill can fill them at any moment
		# shellcheck disable=SC2016
		hx "$h" sh -c '
			set -e
			for d in /etc/ssh /var/backups; do
				rm -rf /run/lab/small && mkdir -p /run/lab/small
				cp -a "$d/." /run/lab/small/
				mount -t tmpfs -o size=4m,mode=0755 lab-small-disk "$d"
				cp -a /run/lab/small/. "$d/"
			done
			rm -rf /run/lab/small
			mount -o remount,size=4m /tmp' ||
			die "could not put small tmpfs over $SMALL_DISK_DIRS on $h"
		;;
	disk-fill)
		# ENOSPC for any new block in each of them (the last partial page too)
		# shellcheck disable=SC2016
		hx "$h" sh -c 'for d in '"$SMALL_DISK_DIRS"'; do
				[ "$(findmnt -n -o FSTYPE --target "$d" | tail -1)" = tmpfs ] || { echo "$d is not a small tmpfs (small-disk first)" >&2; exit 1; }
				dd if=/dev/zero of="$d/.lab-fill" bs=1k 2>/dev/null || true
				head -c 4096 /dev/zero >"$d/.lab-fill2" 2>/dev/null || true
			done' || die "disk-fill failed on $h"
		if hx "$h" sh -c 'head -c 4096 /dev/zero >/etc/ssh/.lab-probe' 2>/dev/null; then
			hx "$h" rm -f /etc/ssh/.lab-probe
			die "disk-fill: a 4 KB file can still be written to /etc/ssh on $h"
		fi
		hx "$h" rm -f /etc/ssh/.lab-probe
		;;
	disk-unfill)
		# shellcheck disable=SC2016
		hx "$h" sh -c 'for d in '"$SMALL_DISK_DIRS"'; do rm -f "$d/.lab-fill" "$d/.lab-fill2"; done' ||
			die "disk-unfill failed on $h"
		;;
	clock-skew)
		# the host's clock, as `date` tells every script, jumps a day ahead
		# (a bind mount over date inside the host only; sleep is unaffected)
		# shellcheck disable=SC2016
		hx "$h" sh -c '
			set -e
			mkdir -p /run/lab
			if ! [ -e /run/lab/date.real ]; then cp /usr/bin/date /run/lab/date.real; fi
			cat >/run/lab/date-skewed <<EOS
#!/bin/sh
case " \$* " in
*" -d"* | *" --date"* | *" -r"* | *" --reference"* | *" -s"* | *" --set"*) exec /run/lab/date.real "\$@" ;;
esac
exec /run/lab/date.real -d "@\$((\$(/run/lab/date.real +%s) + 86400))" "\$@"
EOS
			chmod 0755 /run/lab/date-skewed
			mountpoint -q /usr/bin/date || mount --bind /run/lab/date-skewed /usr/bin/date' ||
			die "clock-skew failed on $h"
		local skewed real
		skewed=$(hx "$h" date +%s)
		real=$(date +%s)
		((skewed - real > 86000)) || die "clock-skew: $h still says $skewed (controller: $real)"
		;;
	clock-unskew)
		hx "$h" sh -c 'if mountpoint -q /usr/bin/date; then umount /usr/bin/date; fi' ||
			die "clock-unskew failed on $h"
		;;
	sshd-bounce)
		# sshd dies with every connection it serves (as in a reboot of the
		# daemon), then starts again
		hx "$h" sh -c 'pkill -KILL -x sshd; rm -f /run/sshd.pid' || true
		wait_port "$h" down
		start_sshd "$h"
		;;
	drop-sessions)
		# every established SSH connection to the host drops at once; the
		# listener stays
		hx "$h" pkill -KILL -f '^sshd: [^/]' || die "drop-sessions: no SSH session to drop on $h"
		;;
	etc-rw)
		# undoes etc-readonly and nothing else (a small-disk tmpfs stays)
		hx "$h" sh -c 'mount -o remount,bind,rw /etc/ssh && mount -o remount,bind,rw /etc' ||
			die "could not make /etc and /etc/ssh writable again on $h"
		;;
	banner-flood)
		# port 22 speaks forever: bytes without a line end
		serve_22_with "$h" '#!/bin/sh\nexec tr "\\000" x </dev/zero\n' -U
		;;
	banner-stall)
		# port 22 starts an identification and stalls mid-line
		serve_22_with "$h" '#!/bin/sh\nprintf SSH-2.0-Open\nexec sleep 3600\n'
		;;
	exec-flood)
		# sshd works, but every command prints without end
		sshd_set "$h" ForceCommand 'yes sshfix-flood'
		reload_sshd "$h"
		;;
	ps-stall)
		# `ps` prints part of a line, then hangs (as a read of a stuck
		# process's /proc entry can); a bind mount inside the host only
		# shellcheck disable=SC2016
		hx "$h" sh -c '
			set -e
			mkdir -p /run/lab
			printf "#!/bin/sh\nprintf \"    1     0 init \"\nexec sleep 3600\n" >/run/lab/ps-stall
			chmod 0755 /run/lab/ps-stall
			mountpoint -q /usr/bin/ps || mount --bind /run/lab/ps-stall /usr/bin/ps' ||
			die "ps-stall failed on $h"
		;;
	edit-hosts-allow)
		# someone else edits the same file
		hx "$h" sh -c 'printf "# edited by someone else during the run\n" >>/etc/hosts.allow' ||
			die "edit-hosts-allow failed on $h"
		;;
	clear)
		etc_writable "$h"
		unblock "$h"
		kill_fault_procs "$h"
		lb_stop "$h"
		hx "$h" rm -f /run/lab/http400 /run/inetd.pid
		hx "$h" sh -c 'if mountpoint -q /usr/bin/ps; then umount /usr/bin/ps; fi' ||
			die "clear: could not undo ps-stall on $h"
		hx "$h" sh -c "[ \"\$(hostname)\" = '$h' ] && mountpoint -q /etc/ssh && find /etc/ssh -mindepth 1 -delete" ||
			die "clear: could not reset /etc/ssh on $h"
		tar -C "$t/orig/ssh" -cf - . | hx "$h" tar -C /etc/ssh -xpf -
		restore_etc "$h"
		# iptables here is the nf_tables backend: its tables go with the flush
		hx "$h" nft flush ruleset
		stop_sshd "$h"
		start_sshd "$h"
		local b
		b=$(banner_from_ctl "$h")
		[[ $b == SSH-2.0-* ]] || die "clear: $h does not answer with an SSH banner (got: ${b:-nothing})"
		;;
	record-shell)
		# root's and ops's login shell becomes /etc/lab-recsh, which saves
		# its arguments (sshd runs `SHELL -c COMMAND`: the exact command
		# string) as one file per invocation in /run/lab/rec, then execs
		# bash. Only the host's own /etc/passwd changes; `clear` restores it.
		# shellcheck disable=SC2016 # the recorder's text, expanded on the host
		printf '%s\n' '#!/bin/sh' \
			'# lab fault record-shell: records its arguments, then is bash' \
			'umask 077' \
			'f=/run/lab/rec/$(date +%s%N).$$' \
			'{ printf '"'%s\\0'"' "$(id -un)" "$#"; for a in "$@"; do printf '"'%s\\0'"' "$a"; done; } >"$f.tmp" && mv "$f.tmp" "$f"' \
			'if [ $# -eq 0 ]; then exec /bin/bash -l; fi' \
			'exec /bin/bash "$@"' | put_file "$h" /etc/lab-recsh
		hx "$h" sh -c 'chmod 0755 /etc/lab-recsh && mkdir -p /run/lab/rec && chmod 1777 /run/lab/rec'
		awk -F: -v OFS=: -v u="$OPS_USER" '$1 == "root" || $1 == u { $7 = "/etc/lab-recsh" } { print }' "$t/etc/passwd" >"$t/passwd.lab"
		put_file "$h" /etc/passwd <"$t/passwd.lab"
		rm -f "$t/passwd.lab"
		hx "$h" sh -c "[ \"\$(getent passwd root | cut -d: -f7)\" = /etc/lab-recsh ]" || die "record-shell: root's shell on $h is not the recorder"
		;;
	hostkey-change)
		# new host keys, as after a reinstall: the lab's known_hosts still
		# has the old ones
		stop_sshd "$h"
		hx "$h" sh -c 'rm -f /etc/ssh/ssh_host_* && ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key && ssh-keygen -q -t ecdsa -N "" -f /etc/ssh/ssh_host_ecdsa_key' ||
			die "hostkey-change: ssh-keygen failed on $h"
		start_sshd "$h"
		;;
	*) die "unknown fault kind $kind (one of: $FAULT_KINDS)" ;;
	esac
}

# ---------------------------------------------------------------- status
cmd___status1() {
	local dir=$1 h=$2
	load_env "$dir"
	local pid alive=dead listen=no res addr
	pid=$(host_pid "$h")
	addr=$(host_addr_of "$h")
	if kill -0 "$pid" 2>/dev/null; then
		alive=alive
		if hx "$h" ss -Htlnp 'sport = :22' 2>/dev/null | grep -q sshd; then
			listen=sshd
		elif [ -n "$(hx "$h" ss -Htln 'sport = :22' 2>/dev/null)" ]; then
			listen=other
		fi
	fi
	if res=$(ip netns exec "$LAB_CTL_NS" ssh -F "$LAB_DIR/ssh_config" "$addr" true 2>&1 </dev/null); then
		res=ok
	else
		res="FAIL: $(echo "$res" | tail -1)"
	fi
	printf '%-6s %-12s init=%-5s pid=%-7s port22=%-5s ssh: %s\n' "$h" "$addr" "$alive" "$pid" "$listen" "$res"
}

cmd_status() {
	need_root
	[ $# -eq 1 ] || die "usage: lab.sh status DIR"
	load_env "$1"
	echo "lab $LAB_NAME dir=$LAB_DIR owner=$LAB_OWNER"
	# shellcheck disable=SC2086
	printf '%s\n' jump $LAB_HOSTS | xargs -P 16 -n 1 bash "$SELF" __status1 "$LAB_DIR" | sort -V
}

# ---------------------------------------------------------------- main
main() {
	[ $# -ge 1 ] || {
		usage
		exit 1
	}
	local cmd=$1
	shift
	case $cmd in
	deps) cmd_deps "$@" ;;
	up) cmd_up "$@" ;;
	down) cmd_down "$@" ;;
	gc) cmd_gc "$@" ;;
	list) cmd_list "$@" ;;
	exec) cmd_exec "$@" ;;
	console) cmd_console "$@" ;;
	console-drop) cmd_console_drop "$@" ;;
	fault) cmd_fault "$@" ;;
	status) cmd_status "$@" ;;
	__up) cmd___up "$@" ;;
	__host) cmd___host "$@" ;;
	__status1) cmd___status1 "$@" ;;
	-h | --help | help) usage ;;
	*)
		usage
		exit 1
		;;
	esac
}

main "$@"
