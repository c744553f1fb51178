#!/usr/bin/env bash
# Brings up a single-node Slurm on this machine (controller and compute node on the same host) for
# the tests that run jobs through the real sbatch/squeue/scancel. Idempotent: when `sinfo` already
# answers with an idle or busy node it changes nothing. Every wait is bounded, so CI never hangs
# here; on failure it says why and exits non-zero (the Slurm tests then skip with that reason).
set -uo pipefail

say() { echo "slurm-up: $*"; }
need_root() { [ "$(id -u)" = 0 ] || { say "must run as root to start munged/slurmctld/slurmd"; exit 1; }; }

node_ready() {
  # Idle, mixed or allocated all mean the node accepts jobs.
  local s
  s=$(timeout 10 sinfo -h -N -o '%t' 2>/dev/null | head -1)
  case "$s" in idle*|mix*|alloc*|comp*) return 0 ;; *) return 1 ;; esac
}

# Already up (and, where this script wrote the configuration, with the configuration it would write now).
if command -v sinfo >/dev/null 2>&1 && node_ready; then
  if [ "$(id -u)" != 0 ] || ! grep -q '^# Written by .ci/slurm-up.sh' /etc/slurm/slurm.conf 2>/dev/null; then
    say "already up ($(sinfo -h -N -o '%N %t'))"; exit 0
  fi
fi
need_root

missing=()
command -v slurmctld >/dev/null 2>&1 || missing+=(slurmctld)
command -v slurmd >/dev/null 2>&1 || missing+=(slurmd)
command -v sbatch >/dev/null 2>&1 || missing+=(slurm-client)
command -v munged >/dev/null 2>&1 || missing+=(munge)
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq slurm-wlm munge; } >/dev/null 2>&1 \
      || { say "could not install slurm-wlm and munge"; exit 1; }
  else
    say "Slurm is not installed (${missing[*]}) and apt-get is unavailable"; exit 1
  fi
fi

# munge: a key readable only by the munge user, and the daemon (as that user, as packaged).
if [ ! -s /etc/munge/munge.key ]; then
  mkdir -p /etc/munge
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
fi
chown -R munge:munge /etc/munge /var/log/munge /var/lib/munge 2>/dev/null
chmod 0700 /etc/munge; chmod 0400 /etc/munge/munge.key
mkdir -p /run/munge && chown munge:munge /run/munge && chmod 0755 /run/munge
if ! timeout 5 munge -n </dev/null >/dev/null 2>&1; then
  runuser -u munge -- /usr/sbin/munged || { say "munged did not start"; exit 1; }
  for _ in $(seq 1 50); do timeout 5 munge -n </dev/null >/dev/null 2>&1 && break; sleep 0.2; done
  timeout 5 munge -n </dev/null >/dev/null 2>&1 || { say "munge does not answer"; exit 1; }
fi

# slurm.conf from what slurmd sees of this machine: real hostname, CPUs, sockets and memory.
host=$(hostname -s)
nodeline=$(slurmd -C 2>/dev/null | head -1)
[ -n "$nodeline" ] || { say "slurmd -C printed nothing"; exit 1; }
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
# MinJobAge=3600 below: besides our driver (which reads finished jobs from squeue when there is no
# accounting), Snakemake 7's --slurm in bench:slurm falls back to `scontrol show job` and gives up
# ("Unable to query job status for 10 times") once a finished job has been forgotten.
cat > /etc/slurm/slurm.conf.new <<CONF
# Written by .ci/slurm-up.sh: a single-node cluster for tests (controller and node on $host).
ClusterName=robustfeat-ci
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ReturnToService=2
# No cgroups (containers often lack them): processes tracked by parentage, memory limits enforced
# by the accounting poller killing a job step that exceeds its --mem.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
JobAcctGatherParams=OverMemoryKill
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=512
# Finished jobs stay visible to squeue and scontrol for an hour (there is no accounting to ask instead).
MinJobAge=3600
KillWait=2
InactiveLimit=0
SchedulerParameters=sched_interval=2
MessageTimeout=20
$nodeline State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
sed -i 's/ UpTime=[^ ]*//' /etc/slurm/slurm.conf.new
if ! cmp -s /etc/slurm/slurm.conf.new /etc/slurm/slurm.conf; then
  mv /etc/slurm/slurm.conf.new /etc/slurm/slurm.conf
  restart=1
else
  rm -f /etc/slurm/slurm.conf.new
  restart=0
fi

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
if [ "$restart" = 0 ] && alive /run/slurmctld.pid && alive /run/slurmd.pid && node_ready; then
  say "already up ($(sinfo -h -N -o '%N %t'))"; exit 0
fi
if [ "$restart" = 1 ]; then
  alive /run/slurmd.pid && kill "$(cat /run/slurmd.pid)"
  alive /run/slurmctld.pid && kill "$(cat /run/slurmctld.pid)"
  for _ in $(seq 1 40); do alive /run/slurmd.pid || alive /run/slurmctld.pid || break; sleep 0.25; done
fi
alive /run/slurmctld.pid || slurmctld || { say "slurmctld did not start (see /var/log/slurm/slurmctld.log)"; exit 1; }
for _ in $(seq 1 30); do timeout 5 scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.5; done
alive /run/slurmd.pid || slurmd || { say "slurmd did not start (see /var/log/slurm/slurmd.log)"; exit 1; }

for _ in $(seq 1 60); do
  if node_ready; then say "up: $(sinfo -h -N -o '%N %c CPUs %m MB %t')"; exit 0; fi
  # A node left DOWN or DRAINED by an earlier run of this script is returned to service.
  case "$(timeout 5 sinfo -h -N -o '%t' 2>/dev/null | head -1)" in
    down*|drain*) timeout 5 scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1 ;;
  esac
  sleep 0.5
done
say "node did not become idle within 30 s: $(timeout 5 sinfo -h -N -o '%N %t %E' 2>&1)"
tail -5 /var/log/slurm/slurmd.log /var/log/slurm/slurmctld.log 2>/dev/null
exit 1
