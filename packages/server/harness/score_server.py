"""mlgrid's scoring host for Python scripts (Azure ML's init()/run(raw_data) contract).

Usage: python3 score_server.py <script.py>. Loads the script with its folder on sys.path, calls init() once,
then serves on 127.0.0.1 (a free port): GET / is the health check, POST /score calls run(<request body as text>).
A str or bytes result is sent as is; anything else as JSON. It prints "MLGRID_SCORING_READY <port>" when ready.
"""
import importlib.util
import json
import os
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

def exit_with_parent():
    """mlgrid holds our stdin open: EOF means it died (even by SIGKILL), and a scoring host must not outlive it."""
    sys.stdin.read()
    os._exit(0)


threading.Thread(target=exit_with_parent, daemon=True).start()
script = os.path.abspath(sys.argv[1])
sys.path.insert(0, os.path.dirname(script))
spec = importlib.util.spec_from_file_location("score", script)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
if hasattr(module, "init"):
    module.init()
if not hasattr(module, "run"):
    sys.exit(f"{script} defines no run(raw_data) function")


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):  # the request log is mlgrid's; stderr is for the script
        pass

    def reply(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.reply(200, b"Healthy", "text/plain")

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8")
        try:
            out = module.run(raw)
        except Exception as err:  # the script's failure is the caller's 500, with the trace in the log
            traceback.print_exc()
            self.reply(500, json.dumps({"error": str(err)}).encode(), "application/json")
            return
        if isinstance(out, bytes):
            self.reply(200, out, "application/octet-stream")
        elif isinstance(out, str):
            self.reply(200, out.encode(), "text/plain; charset=utf-8")
        else:
            self.reply(200, json.dumps(out).encode(), "application/json")


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"MLGRID_SCORING_READY {server.server_address[1]}", flush=True)
server.serve_forever()
