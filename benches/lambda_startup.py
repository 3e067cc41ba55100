"""Start-up, per-event time, peak RSS and size of the roleguard-lambda binary,
through a local Lambda Runtime API (this script serves it).

    cargo build --release --bin roleguard-lambda
    python3 benches/lambda_startup.py [--runs 20] [--events 500]
    # A/B: two builds, their cold starts interleaved (noise falls on both)
    python3 benches/lambda_startup.py --binary /tmp/old --binary /tmp/new

- start-up: from just before the process is spawned to the moment its
  response to the first event arrives at the Runtime API (cold start as the
  function sees it: process start, configuration, SDK set-up, first event);
- per event: compliant sample events served back to back; the time from
  handing an event out to receiving its response, through the Runtime API;
- peak RSS of the process (wait4's ru_maxrss) after those events;
- AWS API calls: AWS_ENDPOINT_URL points at a server here that counts the
  requests it receives (and fails them); compliant events must make none.
"""
import argparse
import http.server
import json
import os
import queue
import signal
import socket
import statistics
import subprocess
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, "target", "release", "roleguard-lambda")
COMPLIANT = [
    "create-role-lambda.compliant.json",
    "attach-dynamodb-readonly.compliant.json",
    "update-trust-github-pinned.compliant.json",
    "put-inline-scoped.compliant.json",
    "update-role-1h-session.compliant.json",
]
FUNCTION_ARN = "arn:aws:lambda:us-east-1:111122223333:function:roleguard"


class QuietServer(http.server.ThreadingHTTPServer):
    """A stopped function's connections end abruptly: not worth a traceback."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Runtime:
    """A minimal Lambda Runtime API: hands out queued events, records replies."""

    def __init__(self):
        self.events = queue.Queue()
        self.replies = queue.Queue()
        self.handed_out = {}
        runtime = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _reply(self, code, body=b"", headers=()):
                self.send_response(code)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if not self.path.endswith("/runtime/invocation/next"):
                    return self._reply(404)
                request_id, body = runtime.events.get()
                runtime.handed_out[request_id] = time.perf_counter()
                self._reply(200, body, [
                    ("Lambda-Runtime-Aws-Request-Id", request_id),
                    ("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60000)),
                    ("Lambda-Runtime-Invoked-Function-Arn", FUNCTION_ARN),
                    ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000"),
                    ("Content-Type", "application/json"),
                ])

            def do_POST(self):
                now = time.perf_counter()
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                parts = self.path.split("/")
                kind = parts[-1]
                request_id = parts[-2] if kind in ("response", "error") else None
                self._reply(202, b"{}")
                runtime.replies.put((kind, request_id, now, body))

        self.server = QuietServer(("127.0.0.1", free_port()), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next_reply(self, timeout=30):
        kind, request_id, at, body = self.replies.get(timeout=timeout)
        if kind != "response":
            raise SystemExit(f"the function answered {kind}: {body[:500]!r}")
        return request_id, at, body


class CountingAws:
    """Counts the requests the function makes to AWS, and fails them."""

    def __init__(self):
        self.count = 0
        aws = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                aws.count += 1
                self.send_response(500)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST

        self.server = QuietServer(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"


def environment(runtime, aws):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ROLEGUARD_"))}
    env.update({
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{runtime.port}",
        "AWS_LAMBDA_FUNCTION_NAME": "roleguard",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/roleguard",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_ENDPOINT_URL": aws.endpoint,
        "ROLEGUARD_MODE": "enforce",
        "RUST_LOG": "warn",
    })
    return env


def read_event(name):
    with open(os.path.join(ROOT, "events", name), "rb") as f:
        return json.dumps(json.load(f)).encode()


def run_once(aws, events, binary=BINARY):
    """Spawn the function, feed it `events`; return (start-up s, per-event s list, maxrss KiB).

    Each process gets a Runtime API of its own: the request for the next
    event that a stopped process left waiting must not take the next one's."""
    runtime = Runtime()
    for i, body in enumerate(events):
        runtime.events.put((f"req-{time.monotonic_ns()}-{i}", body))
    t0 = time.perf_counter()
    proc = subprocess.Popen([binary], env=environment(runtime, aws),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    per_event = []
    startup = None
    for _ in events:
        request_id, at, body = runtime.next_reply()
        if startup is None:
            startup = at - t0
        per_event.append(at - runtime.handed_out.pop(request_id))
        reply = json.loads(body)
        if reply.get("results"):
            raise SystemExit(f"a compliant event planned steps: {reply}")
    proc.send_signal(signal.SIGTERM)
    _, _, rusage = os.wait4(proc.pid, 0)
    runtime.server.shutdown()
    return startup, per_event, rusage.ru_maxrss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20, help="cold starts to time")
    ap.add_argument("--events", type=int, default=500, help="events in the warm run")
    ap.add_argument("--binary", action="append",
                    help="the binary to time (repeat for an interleaved A/B); "
                         "target/release/roleguard-lambda by default")
    args = ap.parse_args()
    binaries = args.binary or [BINARY]
    for b in binaries:
        if not os.path.exists(b):
            raise SystemExit(f"{b}: build it first: cargo build --release --bin roleguard-lambda")
    aws = CountingAws()
    bodies = [read_event(n) for n in COMPLIANT]

    startups = {b: [] for b in binaries}
    for _ in range(args.runs):
        for b in binaries:
            startup, _, _ = run_once(aws, bodies[:1], b)
            startups[b].append(startup)
    warm = [bodies[i % len(bodies)] for i in range(args.events)]
    for b in binaries:
        _, per_event, maxrss = run_once(aws, warm, b)
        steady = per_event[1:]
        size = os.path.getsize(b)
        s = startups[b]
        print(f"binary        {b} {size / 1e6:.1f} MB")
        print(f"start-up      median {statistics.median(s) * 1e3:.1f} ms, "
              f"min {min(s) * 1e3:.1f} ms, max {max(s) * 1e3:.1f} ms "
              f"({args.runs} cold starts, process spawn to first response)")
        print(f"per event     median {statistics.median(steady) * 1e6:.0f} us, "
              f"p99 {sorted(steady)[int(len(steady) * 0.99) - 1] * 1e6:.0f} us "
              f"({len(steady)} compliant events through the Runtime API)")
        print(f"peak RSS      {maxrss / 1024:.1f} MiB (after {args.events} events)")
    print(f"AWS calls     {aws.count} for {len(binaries) * (args.runs + args.events)} compliant events")
    if aws.count:
        raise SystemExit("compliant events made AWS calls")


if __name__ == "__main__":
    main()
