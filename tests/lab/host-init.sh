#!/bin/bash
# PID 1 of one lab host (see lab.sh). It runs inside the host's network
# namespace and fresh mount, UTS, IPC and PID namespaces created by
#   unshare --mount --propagation private --uts --ipc --pid --fork --mount-proc
# It puts the host's own files over the machine's paths (only inside this
# mount namespace), starts sshd, reports "ready" and then just reaps orphans.
# Killing it with SIGKILL (from outside) kills every process of the host.
#
# usage: host-init.sh HOST TREE      (TREE = LAB_DIR/hosts/HOST)
set -eu
host=$1
tree=$2

# fd 9 stays usable after /tmp (where TREE usually lives) is covered below.
exec 9>>"$tree/state"
fail() {
	echo "failed: $*" >&9
	exit 1
}
trap 'fail "host-init.sh line $LINENO"' ERR

[ "$$" = 1 ] || fail "not PID 1 of a new PID namespace"
hostname "$host"

# /etc and /var: overlays on the machine's own directories, so every write
# (including rename(2) onto hosts.allow, passwd, ...) lands in the host's tree
# and never in the machine's files.  Without overlayfs, fall back to binding
# single files (then rename onto those files fails with EBUSY).
etc_mode=overlay
if ! mount -t overlay lab-etc -o "lowerdir=/etc,upperdir=$tree/etc,workdir=$tree/work/etc" /etc 2>/dev/null; then
	etc_mode=bind
	for f in "$tree"/etc/*; do
		[ -f "$f" ] || continue
		[ -e "/etc/${f##*/}" ] || fail "no /etc/${f##*/} to bind over"
		mount --bind "$f" "/etc/${f##*/}"
	done
fi
mount --bind "$tree/ssh" /etc/ssh
if ! mount -t overlay lab-var -o "lowerdir=/var,upperdir=$tree/var,workdir=$tree/work/var" /var 2>/dev/null; then
	etc_mode=bind
fi
mount --bind "$tree/log" /var/log
mount --bind "$tree/root" /root
mount --bind "$tree/home" /home
# The new mount namespace got copies of the machine's mounts, including
# /run/netns/* of every lab: drop them, or they keep those network namespaces
# (and their veths) alive after `ip netns del` until this host dies.
if mountpoint -q /run/netns; then umount -R /run/netns 2>/dev/null || umount -l /run/netns; fi
mount -t tmpfs -o mode=0755,size=64m lab-run /run
mkdir -p /run/sshd /run/lab /run/lock
chmod 1777 /run/lock
mount -t tmpfs -o mode=1777,size=256m lab-tmp /tmp
echo "$etc_mode" >/run/lab/etc-mode

/usr/sbin/sshd -E /var/log/sshd.log || fail "sshd did not start (see var/log/sshd.log)"

echo ready >&9
exec 9>&-
trap - ERR
set +e
# Stay alive; bash reaps any orphan re-parented to it (daemonised sshd, fault
# holders) in its SIGCHLD handler.
while :; do
	sleep 86400 &
	wait $!
done
