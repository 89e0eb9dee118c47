#!/usr/bin/env python3
"""The privileged image holds no FTP (issue 13 item 2, docs/SECURITY.md).

  scripts/check-priv-image.py KEEPFTPD KEEPFTPD-WORKER

Fails when keepftpd (listener, monitor, verifier, the CLIs) defines a
symbol of the FTP code: the command parser, the control connection,
the pre-login and post-login sessions, listings, globbing, transfers,
uploads, data connections, the TLS relay, the spawners' main. Every
such symbol is taken from the worker-only objects (KEEPFTPD-WORKER.p/,
where meson builds them) and from a fixed list that must be defined in
keepftpd-worker, so that a renamed or moved file cannot pass unseen.
"""
import subprocess
import sys
from pathlib import Path

# must be in the worker, never in the privileged image
FTP = ["cmd_parse", "ctrl_read_line", "prelogin_run", "session_run",
       "relay_run", "spawner_main", "list_mlst", "list_format_long",
       "list_glob", "xfer_send_file", "xfer_recv_file", "proto_reply_feat",
       "proto_reply_basic", "tls_load", "tls_ctrl_ctx"]
GLOBAL = set("TDBRVW")


def defined(path):
    out = subprocess.run(["nm", "--defined-only", str(path)], check=True,
                         capture_output=True, text=True).stdout
    syms = set()
    for line in out.splitlines():
        f = line.split()
        if len(f) == 3 and f[1] in GLOBAL:
            syms.add(f[2])
    return syms


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    priv, worker = Path(sys.argv[1]), Path(sys.argv[2])
    ps, ws = defined(priv), defined(worker)
    bad = 0
    for s in FTP:
        if s not in ws:
            print(f"{worker.name}: {s} is not defined (renamed? update FTP)")
            bad += 1
    worker_only = {}
    objdir = Path(str(worker) + ".p")
    for o in sorted(objdir.glob("*.o")):
        if "worker_main" in o.name:
            continue	# main: each image has its own
        for s in defined(o):
            worker_only[s] = o.name
    if not worker_only:
        print(f"{objdir}: no worker objects found")
        bad += 1
    for s in FTP:
        worker_only.setdefault(s, "(fixed list)")
    for s in sorted(ps & set(worker_only)):
        print(f"{priv.name}: defines {s} from {worker_only[s]}")
        bad += 1
    if bad:
        sys.exit(f"{bad} problem(s): the privileged image must hold no FTP")
    print(f"{priv.name}: {len(ps)} symbols, none of the {len(worker_only)} "
          f"of the worker-only code")


if __name__ == "__main__":
    main()
