"""Measures awscreds (a release binary) against the IAM emulator at $AWSCREDS_TEST_ENDPOINT.

1. Commands that need no AWS call, on a database with 0 and with 100,000 leases (none due):
   wall time (median, p95) and peak memory. They must stay a few milliseconds whatever the size.
2. Issuing credentials (`read creds/ROLE`: CreateUser, PutUserPolicy, CreateAccessKey).
3. The consumer path: `credential-process` handing out the lease it keeps (the AWS CLI runs it
   for every command), paired run by run with `read roles/x` and with the AWS CLI reading a
   profile's key (`aws configure get`: the AWS CLI on PyPI is v1, which has no
   `configure export-credentials`; v2 is not on PyPI), so that drift biases no ratio.
4. Sweeping 1,000 expired leases (each: DeleteAccessKey, DeleteUserPolicy, DeleteUser) with
   --parallel 1 and with the default, against the emulator and behind 30 ms of added latency per
   call (real IAM is tens of ms away; the emulator answers in a few): leases revoked per second.

Usage: scripts/bench [--quick]   (numbers vary with the machine; compare runs on one machine)
"""

import os
import shutil
import socket
import threading
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

BIN = sys.argv[1]
QUICK = "--quick" in sys.argv
ENDPOINT = os.environ["AWSCREDS_TEST_ENDPOINT"]
POLICY = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}'


def clean_env(db):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AWSCREDS_"))}
    env["AWSCREDS_DB"] = db
    return env


def run(db, *args):
    """Runs awscreds once; returns (seconds, stdout)."""
    start = time.perf_counter()
    proc = subprocess.run([BIN, *args], env=clean_env(db), capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"awscreds {' '.join(args)} failed: {proc.stderr}")
    return elapsed, proc.stdout


def timed(db, args, n):
    """Median and p95 wall time in ms, and peak RSS in MiB, over n runs."""
    times, peak = [], 0
    for _ in range(n):
        start = time.perf_counter()
        proc = subprocess.Popen([BIN, *args], env=clean_env(db),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        times.append((time.perf_counter() - start) * 1000)
        peak = max(peak, usage.ru_maxrss)
        if status != 0:
            sys.exit(f"awscreds {' '.join(args)} failed")
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)], peak / 1024


def latency_proxy(upstream, delay):
    """A forwarding HTTP proxy that adds `delay` seconds to every request, as the network to
    real IAM does (the emulator answers in a few ms; IAM in tens). Returns its URL."""
    host, port = upstream.removeprefix("http://").split(":")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)

    def read_request(conn):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        while len(body) < length:
            body += conn.recv(65536)
        lines = [l for l in head.split(b"\r\n") if not l.lower().startswith(b"connection:")]
        return b"\r\n".join(lines) + b"\r\nConnection: close\r\n\r\n" + body

    def serve(conn):
        with conn:
            while (request := read_request(conn)) is not None:
                time.sleep(delay)
                with socket.create_connection((host, int(port))) as up:
                    up.sendall(request)
                    answer = b""
                    while chunk := up.recv(65536):
                        answer += chunk
                # Keep the client's connection open: strip the emulator's "Connection: close".
                answer = answer.replace(b"Connection: close\r\n", b"")
                conn.sendall(answer)

    def accept():
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return "http://127.0.0.1:%d" % listener.getsockname()[1]


def setup(dirname, role, endpoint=None):
    db = os.path.join(dirname, "awscreds.db")
    run(db, "mount", "aws")
    run(db, "write", "aws/config/root", "access_key=AKIABENCH", "secret_key=bench",
        "region=us-east-1", f"iam_endpoint={endpoint or ENDPOINT}")
    run(db, "write", f"aws/roles/{role}", f"policy={POLICY}")
    return db


def add_leases(db, n):
    """Adds n active leases, due in a year, straight into the database."""
    far = int(time.time()) + 365 * 86400
    conn = sqlite3.connect(db)
    conn.executemany(
        "INSERT INTO leases (id, mount, role, iam_user, access_key_id, state, issued_at, "
        "expires_at, max_expires_at, due_at) VALUES (?, 'aws', 'bench', ?, 'AKIA', 'active', 0, ?, ?, ?)",
        ((f"aws/creds/bench/{uuid.uuid4()}", f"awscreds-bench-{i}", far, far, far) for i in range(n)),
    )
    conn.commit()
    conn.close()


def main():
    tmp = tempfile.mkdtemp(prefix="awscreds-bench-")
    try:
        n = 30 if QUICK else 200
        print(f"awscreds benchmark ({BIN}), {n} runs per command\n")
        print(f"{'command':34} {'leases':>8} {'median ms':>10} {'p95 ms':>8} {'peak MiB':>9}")
        for leases in (0, 100_000):
            d = os.path.join(tmp, f"local{leases}")
            os.mkdir(d)
            db = setup(d, "bench")
            add_leases(db, leases)
            for args in (["--help"], ["read", "aws/roles/bench"], ["list", "aws/roles/"],
                         ["read", "aws/config/lease"], ["mounts"], ["status"],
                         ["sweep", "--dry-run"]):
                med, p95, mib = timed(db, args, n)
                print(f"{' '.join(args):34} {leases:>8} {med:>10.2f} {p95:>8.2f} {mib:>9.1f}")

        d = os.path.join(tmp, "issue")
        os.mkdir(d)
        db = setup(d, "bench_issue")
        issues = 20 if QUICK else 100
        med, p95, mib = timed(db, ["read", "aws/creds/bench_issue"], issues)
        print(f"\nissue: read aws/creds/bench_issue x{issues}: median {med:.1f} ms, p95 {p95:.1f} ms, "
              f"peak {mib:.1f} MiB (3 IAM calls each)")

        # The consumer path, paired A B A B with its anchors.
        d = os.path.join(tmp, "consumer")
        os.mkdir(d)
        db = setup(d, "bench_cp")
        run(db, "credential-process", "bench_cp", "--no-wait")  # makes the lease it keeps
        aws = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".venv", "bin", "aws")
        home = os.path.join(d, "home")
        os.makedirs(os.path.join(home, ".aws"))
        with open(os.path.join(home, ".aws", "config"), "w") as f:
            f.write("[profile static]\naws_access_key_id = AKIABENCH\n"
                    "aws_secret_access_key = bench\nregion = us-east-1\n")
        pairs = {"credential-process (kept lease)": [], "read aws/roles/bench_cp": [],
                 "aws configure get (AWS CLI v1)": []}
        for _ in range(n if QUICK else n // 2):
            for label, argv, env in (
                ("credential-process (kept lease)", [BIN, "credential-process", "bench_cp"],
                 clean_env(db)),
                ("read aws/roles/bench_cp", [BIN, "read", "aws/roles/bench_cp"], clean_env(db)),
                ("aws configure get (AWS CLI v1)",
                 [aws, "configure", "get", "aws_access_key_id", "--profile", "static"],
                 {**clean_env(db), "HOME": home}),
            ):
                start = time.perf_counter()
                proc = subprocess.run(argv, env=env, capture_output=True)
                pairs[label].append((time.perf_counter() - start) * 1000)
                if proc.returncode != 0:
                    sys.exit(f"{label} failed: {proc.stderr.decode()}")
        print()
        hit = statistics.median(pairs["credential-process (kept lease)"])
        for label, times in pairs.items():
            times.sort()
            med = statistics.median(times)
            print(f"{label:36} median {med:7.2f} ms  p95 {times[int(len(times) * 0.95) - 1]:7.2f} ms"
                  f"  ratio to credential-process {med / hit:5.2f}")

        # Sweeping: N leases made due, swept with --parallel 1 and with the default, against
        # the emulator as it is and behind 30 ms of added latency per call (closer to real IAM).
        sweep_n = 200 if QUICK else 1000
        slow = latency_proxy(ENDPOINT, 0.030)
        print()
        for endpoint, where in ((ENDPOINT, "emulator"), (slow, "emulator + 30 ms/call")):
            for parallel in ("1", None):
                d = os.path.join(tmp, f"sweep{len(os.listdir(tmp))}")
                os.mkdir(d)
                db = setup(d, "bench_sweep", ENDPOINT)
                for _ in range(sweep_n):
                    run(db, "read", "aws/creds/bench_sweep")
                # Straight into the database: any command would reap the due leases first.
                conn = sqlite3.connect(db)
                conn.execute("UPDATE leases SET due_at = 0, expires_at = 0")
                conn.execute("UPDATE mounts SET root_config = "
                             "json_set(root_config, '$.iam_endpoint', ?)", (endpoint,))
                conn.commit()
                conn.close()
                args = ["sweep"] + (["--parallel", parallel] if parallel else [])
                elapsed, out = run(db, *args)
                label = f"--parallel {parallel}" if parallel else "--parallel 8 (default)"
                print(f"sweep {sweep_n} leases, {where:22} {label:24} {elapsed:6.2f} s  "
                      f"{sweep_n / elapsed:6.0f} leases revoked/s   ({out.strip()})")
    finally:
        shutil.rmtree(tmp)


main()
