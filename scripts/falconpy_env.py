"""The FalconPy install the benchmark and the tests share: one pinned version in one venv.

Stdlib only, so it runs before FalconPy exists. A script calls `bootstrap(__file__)` first: it
creates the venv (at `$FALCONPY_VENV`, else `bench/peers/.venv`), installs
`crowdstrike-falconpy==FALCONPY_VERSION` into it, and re-executes the script inside it. When the
venv or pip cannot be had it prints {"skipped": reason} as the last stdout line and exits 3.
Then `guard_loopback()` before importing FalconPy: nothing can leave the machine.
"""

import fcntl
import json
import os
import subprocess
import sys

FALCONPY_VERSION = "1.6.6"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.abspath(os.environ.get("FALCONPY_VENV") or os.path.join(REPO, "bench", "peers", ".venv"))
VENV_PYTHON = os.path.join(VENV, "bin", "python")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
SKIPPED = 3


def answer(obj, code=0):
    """Prints the one JSON answer and exits."""
    print(json.dumps(obj), flush=True)
    sys.exit(code)


def skip(reason):
    answer({"skipped": reason}, SKIPPED)


def in_venv():
    return os.path.realpath(sys.prefix) == os.path.realpath(VENV)


def bootstrap(script):
    """Creates the venv with FalconPy if needed and re-executes `script` inside it."""
    if in_venv():
        return
    if os.environ.get("FALCONPY_BENCH_FORCE_SKIP") == "1":
        skip("FALCONPY_BENCH_FORCE_SKIP=1")
    # Several scripts (tests run in parallel) may bootstrap at once: one creates and installs
    # while the others wait, else two pips install into one venv and one of them fails.
    os.makedirs(os.path.dirname(VENV), exist_ok=True)
    with open(VENV + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        prepare()
    os.execv(VENV_PYTHON, [VENV_PYTHON, os.path.abspath(script)] + sys.argv[1:])


def prepare():
    """Creates the venv and installs FalconPy into it, unless that is done already."""
    if not os.path.exists(VENV_PYTHON):
        print(f"creating {VENV} with crowdstrike-falconpy=={FALCONPY_VERSION}", file=sys.stderr)
        try:
            subprocess.run([sys.executable, "-m", "venv", VENV], check=True,
                           stdout=sys.stderr, stderr=sys.stderr)
        except (OSError, subprocess.CalledProcessError) as err:
            skip(f"cannot create a venv: {err}")
    probe = subprocess.run([VENV_PYTHON, "-c", "import falconpy; assert falconpy.__version__ == "
                            f"{FALCONPY_VERSION!r}"], capture_output=True)
    if probe.returncode != 0:
        try:
            subprocess.run([VENV_PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                            f"crowdstrike-falconpy=={FALCONPY_VERSION}"],
                           check=True, stdout=sys.stderr, stderr=sys.stderr)
        except (OSError, subprocess.CalledProcessError) as err:
            skip(f"pip could not install crowdstrike-falconpy=={FALCONPY_VERSION}: {err}")


def guard_loopback():
    """Refuses to resolve or connect to anything but loopback."""
    import socket

    real_getaddrinfo = socket.getaddrinfo
    real_create_connection = socket.create_connection

    def host_ok(host):
        if isinstance(host, bytes):
            host = host.decode()
        return host in LOOPBACK

    def getaddrinfo(host, *args, **kwargs):
        if not host_ok(host):
            raise OSError(f"loopback guard: refusing to resolve {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    def create_connection(address, *args, **kwargs):
        if not host_ok(address[0]):
            raise OSError(f"loopback guard: refusing to connect to {address[0]!r}")
        return real_create_connection(address, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    socket.create_connection = create_connection


def installed_version():
    from importlib.metadata import version

    return version("crowdstrike-falconpy")
