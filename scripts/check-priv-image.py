#!/usr/bin/env python3
"""The privileged image holds no FTP (issue 13 item 2, docs/SECURITY.md).

  scripts/check-priv-image.py KEEPFTPD KEEPFTPD-WORKER

Fails when keepftpd (listener, monitor, verifier, the CLIs) defines a
symbol of the FTP code: the command parser, the control connection,
the pre-login and post-login sessions, listings, globbing, transfers,
uploads, data connections, the TLS relay, the spawners' main, the
metrics endpoint's HTTP parser (kf-metrics), or of
the workers' side of the sandbox: sandbox_enter, the spawners'
confinement, Landlock, the identity change, the workers' seccomp
builders. Every such symbol is taken from the worker-only objects
(KEEPFTPD-WORKER.p/, where meson builds them) and from fixed lists
that must be defined in keepftpd-worker, so that a renamed or moved
file cannot pass unseen. The sandbox's static functions and tables
count too (nm's local symbols): none of the worker sandbox objects'
may appear in keepftpd, and each must appear in keepftpd-worker.
keepftpd may not need (DT_NEEDED) OpenSSL or libsystemd either: the
relay spawner alone does TLS, libsystemd is opened when systemd starts
the server, and every library mapped in the listener is copied into
each monitor and verifier it forks (docs/PERFORMANCE.md). Neither
keepftpd nor keepftpd-worker may need libpq: the users database is
kf-pgauth's, in its own image keepftpd-pgauth.
"""
import subprocess
import sys
from pathlib import Path

# must be in the worker, never in the privileged image
FTP = ["cmd_parse", "ctrl_read_line", "prelogin_run", "session_run",
       "relay_run", "spawner_main", "list_mlst", "list_format_long",
       "list_glob", "xfer_send_file", "xfer_recv_file", "proto_reply_feat",
       "proto_reply_basic", "tls_load", "tls_ctrl_ctx",
       # the metrics endpoint (kf-metrics): its HTTP parser and its text
       "metrics_main", "http_judge", "metrics_render",
       # the upload hook spawner and runner (kf-spawn-hook)
       "hook_run", "hook_take", "hook_spawner_setup"]
# the workers' side of the sandbox (sb_worker.c, sb_folders.c, seccomp_worker.c)
SANDBOX = ["sandbox_enter", "sandbox_spawner", "sandbox_child",
           "sandbox_keep_caps", "sandbox_have_cap", "sandbox_hook",
           "seccomp_prepare",
           "seccomp_apply"]
# their objects, whose static names are checked as well
SANDBOX_OBJS = ("sb_worker.c.o", "sb_folders.c.o", "seccomp_worker.c.o")
GLOBAL = set("TDBRVW")
LOCAL = set("tdbr")


def defined(path, kinds=GLOBAL):
    out = subprocess.run(["nm", "--defined-only", str(path)], check=True,
                         capture_output=True, text=True).stdout
    syms = set()
    for line in out.splitlines():
        f = line.split()
        if len(f) != 3 or f[1] not in kinds:
            continue
        name = f[2]
        if kinds is LOCAL:
            name = name.split(".")[0]   # set_rlimits.constprop.0
            if name == "" or name.startswith("_"):
                continue    # .LC0, _sub_I_00099_1: the compiler's own
        syms.add(name)
    return syms


def check_sandbox_locals(objdir, priv, worker):
    """Static names of the worker sandbox objects: in worker, not priv."""
    bad = 0
    ps, ws = defined(priv, LOCAL), defined(worker, LOCAL)
    if not ps or not ws:
        print(f"{priv.name} or {worker.name} has no local symbols "
              "(stripped?): cannot check the sandbox's static names")
        return 1
    n = 0
    for o in sorted(objdir.glob("*.o")):
        if not o.name.endswith(SANDBOX_OBJS):
            continue
        for s in sorted(defined(o, LOCAL)):
            n += 1
            if s in ps:
                print(f"{priv.name}: defines {s} (static in {o.name})")
                bad += 1
            if s not in ws:
                print(f"{worker.name}: {s} of {o.name} is not defined")
                bad += 1
    if n == 0:
        print(f"{objdir}: no worker sandbox objects {SANDBOX_OBJS}")
        bad += 1
    return bad


# libraries keepftpd must not load at start (see the docstring)
NOT_NEEDED = ("libssl.so", "libcrypto.so", "libsystemd.so", "libpq.so")
# ... nor may keepftpd-worker, whose workers serve clients, need libpq:
# only keepftpd-pgauth (kf-pgauth, users_backend = postgresql) does
WORKER_NOT_NEEDED = ("libpq.so",)


def check_needed(priv, not_needed=NOT_NEEDED):
    out = subprocess.run(["readelf", "-d", str(priv)], check=True,
                         capture_output=True, text=True).stdout
    bad = 0
    for line in out.splitlines():
        if "(NEEDED)" not in line:
            continue
        lib = line.split("[", 1)[-1].rstrip("]")
        if lib.startswith(not_needed):
            print(f"{priv.name}: needs {lib}")
            bad += 1
    return bad


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    priv, worker = Path(sys.argv[1]), Path(sys.argv[2])
    ps, ws = defined(priv), defined(worker)
    bad = 0
    for s in FTP + SANDBOX:
        if s not in ws:
            print(f"{worker.name}: {s} is not defined (renamed? update "
                  f"FTP or SANDBOX)")
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
    for s in FTP + SANDBOX:
        worker_only.setdefault(s, "(fixed list)")
    for s in sorted(ps & set(worker_only)):
        print(f"{priv.name}: defines {s} from {worker_only[s]}")
        bad += 1
    bad += check_sandbox_locals(objdir, priv, worker)
    bad += check_needed(priv)
    bad += check_needed(worker, WORKER_NOT_NEEDED)
    if bad:
        sys.exit(f"{bad} problem(s): the privileged image must hold no FTP "
                 f"and no worker sandbox")
    print(f"{priv.name}: {len(ps)} symbols, none of the {len(worker_only)} "
          f"of the worker-only code, nor the worker sandbox's static ones")


if __name__ == "__main__":
    main()
