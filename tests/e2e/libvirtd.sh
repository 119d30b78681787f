#!/usr/bin/env bash
# Starts or stops a system libvirtd (with virtlogd) for the real-QEMU test, on a machine with no
# init system (a CI container). Facts from ../shared/toolchain.md: the qemu driver wants the
# libvirt-qemu user and the kvm group to exist, and qemu must run as root with no security
# driver and no ownership changes (there is no AppArmor/SELinux and no libvirt-qemu-owned
# storage here).
#
#   libvirtd.sh start STATE_DIR   exit 0 when qemu:///system answers (started here or already up)
#   libvirtd.sh stop  STATE_DIR   stops only the daemons this script started (pids in STATE_DIR),
#                                 after removing what the test left (domains and pools "qxe2e-*")
set -euo pipefail
action=${1:?start|stop}
state=${2:?state dir}
uri=qemu:///system
mkdir -p "$state"

answers() { virsh -c "$uri" version >/dev/null 2>&1; }

case "$action" in
start)
  for tool in libvirtd virtlogd virsh qemu-system-x86_64; do
    command -v "$tool" >/dev/null || { echo "libvirtd.sh: $tool not installed (scripts/install-deps)" >&2; exit 1; }
  done
  if answers; then echo "libvirtd.sh: reusing the running libvirtd"; exit 0; fi
  [ "$(id -u)" -eq 0 ] || { echo "libvirtd.sh: starting libvirtd needs root" >&2; exit 1; }
  getent group kvm >/dev/null || groupadd --system kvm
  getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
  id libvirt-qemu >/dev/null 2>&1 ||
    useradd --system --no-create-home -g libvirt-qemu -G kvm -s /usr/sbin/nologin libvirt-qemu
  conf=/etc/libvirt/qemu.conf
  if [ ! -e "$conf" ] || grep -q '^# written by qx libvirtd.sh' "$conf"; then
    cat >"$conf" <<'CONF'
# written by qx libvirtd.sh for the real-QEMU test (see tests/e2e/libvirtd.sh)
user = "root"
group = "root"
security_driver = "none"
dynamic_ownership = 0
CONF
  else
    echo "libvirtd.sh: keeping the existing $conf (it must let qemu run as root)" >&2
  fi
  mkdir -p /var/log/libvirt/qemu /var/lib/libvirt/qemu /run/libvirt
  virtlogd -d -p "$state/virtlogd.pid"
  libvirtd -d -p "$state/libvirtd.pid"
  for _ in $(seq 1 100); do
    answers && { echo "libvirtd.sh: libvirtd up (pid $(cat "$state/libvirtd.pid"))"; exit 0; }
    sleep 0.1
  done
  echo "libvirtd.sh: libvirtd did not answer within 10 s" >&2
  tail -20 /var/log/libvirt/libvirtd.log >&2 2>/dev/null || true
  exit 1
  ;;
stop)
  if answers; then
    for d in $(virsh -c "$uri" list --all --name | grep '^qxe2e-' || true); do
      virsh -c "$uri" destroy "$d" >/dev/null 2>&1 || true
      virsh -c "$uri" undefine "$d" >/dev/null 2>&1 || true
    done
    for p in $(virsh -c "$uri" pool-list --all --name | grep '^qxe2e-' || true); do
      virsh -c "$uri" pool-destroy "$p" >/dev/null 2>&1 || true
      virsh -c "$uri" pool-undefine "$p" >/dev/null 2>&1 || true
    done
  fi
  for daemon in libvirtd virtlogd; do
    pidfile="$state/$daemon.pid"
    [ -s "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$pidfile"
  done
  ;;
*) echo "libvirtd.sh: start|stop" >&2; exit 2 ;;
esac
