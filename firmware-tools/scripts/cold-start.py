#!/usr/bin/env python3
"""Cold start of edge-runtime to READY, as systemd sees it (docs/deploy.md, "Sizes and cold start").

Starts the binary with NOTIFY_SOCKET pointing at a datagram socket of this script (the sd_notify protocol that
Type=notify uses) and reports the wall time from exec to the first READY=1 (host started) and to STATUS=serving ...
(model memory-mapped and loaded, MQTT connected: requests are served from then on), then stops it with SIGTERM.

  firmware-tools/scripts/cold-start.py [--runs 5] [--drop-caches] [--qemu] -- <edge-runtime> [service arguments]

--drop-caches writes 3 to /proc/sys/vm/drop_caches before each run (root; a truly cold page cache). --qemu runs an
arm64 binary under qemu-aarch64-static (functional only: emulated timings say nothing about a Pi).
"""
import argparse, os, socket, statistics, subprocess, sys, tempfile, time

ap = argparse.ArgumentParser()
ap.add_argument("--runs", type=int, default=5)
ap.add_argument("--drop-caches", action="store_true")
ap.add_argument("--qemu", action="store_true")
ap.add_argument("--timeout", type=float, default=120)
ap.add_argument("command", nargs=argparse.REMAINDER)
a = ap.parse_args()
cmd = [c for c in a.command if c != "--"]
if not cmd:
    sys.exit("cold-start.py: give the edge-runtime binary after --")
if a.qemu:
    cmd = ["qemu-aarch64-static", "-L", "/usr/aarch64-linux-gnu"] + cmd

ready, serving = [], []
for run in range(a.runs):
    if a.drop_caches:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
    d = tempfile.mkdtemp()
    path = os.path.join(d, "notify")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(0.5)
    env = dict(os.environ, NOTIFY_SOCKET=path)
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t_ready = t_serving = None
    status = ""
    while time.monotonic() - t0 < a.timeout and p.poll() is None and t_serving is None:
        try:
            msg = s.recv(4096).decode()
        except socket.timeout:
            continue
        now = time.monotonic() - t0
        for line in msg.split("\n"):
            if line == "READY=1" and t_ready is None:
                t_ready = now
            if line.startswith("STATUS="):
                status = line[7:]
                if status.startswith("serving") and t_serving is None:
                    t_serving = now
    p.terminate()
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
    s.close()
    os.unlink(path)
    os.rmdir(d)
    if t_serving is None:
        err = p.stderr.read().decode(errors="replace")[-2000:]
        sys.exit(f"cold-start.py: run {run + 1}: no STATUS=serving within {a.timeout} s (last status '{status}'):\n{err}")
    ready.append(t_ready * 1000)
    serving.append(t_serving * 1000)
    print(f"run {run + 1}: READY=1 after {t_ready * 1000:.0f} ms, serving after {t_serving * 1000:.0f} ms ({status})")

print(f"READY=1: median {statistics.median(ready):.0f} ms; serving: median {statistics.median(serving):.0f} ms "
      f"(min {min(serving):.0f}, max {max(serving):.0f}) over {a.runs} runs")
