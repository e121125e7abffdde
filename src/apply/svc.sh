# sshfix service library: one function, `sfx_svc OP NAME`, that drives a
# daemon through whatever service manager the host has. Included by every
# apply/restore script that touches a service (see src/apply/remote.rs).
#
#   OP:   status (prints running|stopped) | reload (start when not running)
#         | restart | start | stop
#   NAME: a logical name: sshd, inetd, xinetd, haproxy (anything else is
#         taken as the unit / init script / binary name itself)
#
# Managers, in order: systemd (when it is PID 1: /run/systemd/system),
# OpenRC (/run/openrc), an init script (/etc/init.d/NAME, as `service` runs
# it), and none: the daemon is signalled through its pid file and started by
# its binary. Daemon output goes to $SFX_SVC_LOG (never our stdout: a daemon
# that inherits it would keep the session open).

SFX_SVC_LOG=${SFX_SVC_LOG:-/dev/null}

sfx_svc_units() {
	case $1 in
	sshd) echo "ssh sshd" ;;
	inetd) echo "openbsd-inetd inetutils-inetd inetd" ;;
	*) echo "$1" ;;
	esac
}

sfx_svc_pidfile() {
	case $1 in
	sshd)
		_p=$(sshd -T 2>/dev/null | awk '$1 == "pidfile" { print $2; exit }')
		echo "${_p:-/run/sshd.pid}"
		;;
	*) echo "/run/$1.pid" ;;
	esac
}

# The manager of NAME: "systemd UNIT", "openrc NAME", "initd PATH" or "none".
sfx_svc_manager() {
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
		for _u in $(sfx_svc_units "$1"); do
			if systemctl cat "$_u.service" >/dev/null 2>&1; then
				echo "systemd $_u.service"
				return
			fi
		done
	fi
	if [ -d /run/openrc ] && command -v rc-service >/dev/null 2>&1; then
		for _u in $(sfx_svc_units "$1"); do
			if [ -x "/etc/init.d/$_u" ]; then
				echo "openrc $_u"
				return
			fi
		done
	fi
	for _u in $(sfx_svc_units "$1"); do
		if [ -x "/etc/init.d/$_u" ]; then
			echo "initd /etc/init.d/$_u"
			return
		fi
	done
	echo none
}

# The pid of NAME's daemon when it runs (from its pid file), else nothing.
sfx_svc_pid() {
	_f=$(sfx_svc_pidfile "$1")
	[ -s "$_f" ] || return 0
	_pid=$(head -n 1 "$_f" 2>/dev/null | tr -dc 0-9)
	[ -n "$_pid" ] && kill -0 "$_pid" 2>/dev/null && echo "$_pid"
	return 0
}

sfx_svc_running() {
	set -- "$1" $(sfx_svc_manager "$1")
	case $2 in
	systemd) systemctl is-active --quiet "$3" ;;
	openrc) rc-service "$3" status >/dev/null 2>&1 ;;
	*) [ -n "$(sfx_svc_pid "$1")" ] ;;
	esac
}

# Waits up to 5 s for NAME to run (want=1) or to stop (want=0).
sfx_svc_wait() {
	_n=0
	while [ "$_n" -lt 50 ]; do
		if sfx_svc_running "$1"; then
			[ "$2" = 1 ] && return 0
		else
			[ "$2" = 0 ] && return 0
		fi
		sleep 0.1 2>/dev/null || sleep 1
		_n=$((_n + 1))
	done
	return 1
}

# Starts NAME by its binary (no service manager).
sfx_svc_exec_start() {
	case $1 in
	sshd)
		mkdir -p /run/sshd 2>/dev/null
		_bin=$(command -v sshd) || { echo "sshd: binary not found" >>"$SFX_SVC_LOG"; return 1; }
		"$_bin" </dev/null >>"$SFX_SVC_LOG" 2>&1
		;;
	haproxy)
		haproxy -D -p /run/haproxy.pid -f /etc/haproxy/haproxy.cfg </dev/null >>"$SFX_SVC_LOG" 2>&1
		;;
	*)
		_bin=$(command -v "$1") || { echo "$1: binary not found" >>"$SFX_SVC_LOG"; return 1; }
		"$_bin" </dev/null >>"$SFX_SVC_LOG" 2>&1
		;;
	esac
}

sfx_svc_none() {
	_pid=$(sfx_svc_pid "$2")
	case $1 in
	start)
		[ -n "$_pid" ] && return 0
		sfx_svc_exec_start "$2"
		;;
	stop)
		[ -z "$_pid" ] && return 0
		kill "$_pid"
		;;
	restart)
		if [ -n "$_pid" ]; then
			kill "$_pid" && sfx_svc_wait "$2" 0 || return 1
		fi
		sfx_svc_exec_start "$2"
		;;
	reload)
		[ -z "$_pid" ] && { sfx_svc_exec_start "$2"; return; }
		case $2 in
		haproxy) haproxy -D -p /run/haproxy.pid -f /etc/haproxy/haproxy.cfg -sf "$_pid" </dev/null >>"$SFX_SVC_LOG" 2>&1 ;;
		*) kill -HUP "$_pid" ;;
		esac
		;;
	esac
}

sfx_svc() {
	_op=$1
	_name=$2
	set -- $(sfx_svc_manager "$_name")
	_mgr=$1
	_unit=${2:-}
	if [ "$_op" = status ]; then
		if sfx_svc_running "$_name"; then echo running; else echo stopped; fi
		return 0
	fi
	echo "sfx_svc: $_op $_name via $_mgr $_unit" >>"$SFX_SVC_LOG"
	case $_mgr in
	systemd)
		case $_op in
		reload) systemctl reload-or-restart "$_unit" ;;
		*) systemctl "$_op" "$_unit" ;;
		esac
		;;
	openrc)
		if [ "$_op" = reload ] && ! sfx_svc_running "$_name"; then _op=start; fi
		rc-service "$_unit" "$_op"
		;;
	initd)
		if [ "$_op" = reload ] && ! sfx_svc_running "$_name"; then _op=start; fi
		"$_unit" "$_op"
		;;
	none) sfx_svc_none "$_op" "$_name" ;;
	esac </dev/null >>"$SFX_SVC_LOG" 2>&1 || return 1
	case $_op in
	stop) sfx_svc_wait "$_name" 0 ;;
	*) sfx_svc_wait "$_name" 1 ;;
	esac
}
