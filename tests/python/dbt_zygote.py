"""A dbt that starts in milliseconds, for the tests only: `serve` imports dbt once (~3 s of every dbt process's
start-up, most of a test run's own time on the tests' small inputs) and forks a child for each dbt command; `client`
is what the run script starts instead of dbt (RBM_DBT_COMMAND, rbm/report.py dbt_command).

The client hands the server its command line, environment, working folder and its stdin, stdout and stderr (the
file descriptors themselves, so dbt writes where a real dbt would), then waits for the child's exit code. SIGTERM
or SIGINT to the client (the run script stopping dbt) is passed on to the child. A child stopped by a signal exits
the client with 128 + the signal, as a shell says it. A waiter process between the server and each child reports
the exit code once the child has ended.

Each forked child is a fresh copy of a process that has only imported dbt, never run it: no state of one dbt command
reaches the next. The server serves one pytest worker (tests/python/conftest.py) and ends with it."""
from __future__ import annotations

import array
import json
import os
import signal
import socket
import struct
import sys

HEADER = struct.Struct("!I")


def _send_message(connection: socket.socket, payload: bytes, fds: list[int] | None = None) -> None:
    data = HEADER.pack(len(payload)) + payload
    if fds:
        connection.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
    else:
        connection.sendall(data)


def _receive_exactly(connection: socket.socket, size: int) -> bytes:
    chunks = []
    while size:
        chunk = connection.recv(size)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _receive_request(connection: socket.socket) -> tuple[dict, list[int]]:
    fds = array.array("i")
    data, ancillary, _, _ = connection.recvmsg(HEADER.size, socket.CMSG_LEN(3 * fds.itemsize))
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
    data += _receive_exactly(connection, HEADER.size - len(data))
    (size,) = HEADER.unpack(data)
    return json.loads(_receive_exactly(connection, size)), list(fds)


def _run_child(request: dict, fds: list[int]) -> int:
    """In the forked child: become the dbt command of the request; its exit code. The child then ends as a dbt
    process does, through the interpreter's exit (sys.exit): the database is closed, and checkpointed, on the way
    (os._exit left the tables in the write-ahead log, and a test copying the database file lost them)."""
    code = 1
    try:
        for number, fd in enumerate(fds):
            os.dup2(fd, number)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        from dbt.cli.main import cli

        sys.argv = ["dbt", *request["args"]]
        try:
            cli.main(args=request["args"], prog_name="dbt")
            code = 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:  # noqa: BLE001 - as a dbt process would: the traceback on stderr, exit 1
        import traceback

        traceback.print_exc()
    return code


def _wait_for_child(connection: socket.socket, request: dict, fds: list[int]) -> tuple[dict, list[int]]:
    """In the forked waiter: fork the dbt child, tell the client its pid, and its exit code once it has ended (not
    before: the database is free only when the process holding it is gone). Returns only in the child: its job."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    # The waiter outlives its child whatever comes (review, twenty-third session: a Ctrl-C ended it first, and the
    # client returned while dbt still held the database); the child takes dbt's own handlers back.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    pid = os.fork()
    if pid == 0:
        connection.close()
        return request, fds
    try:
        for fd in fds:
            os.close(fd)
        _send_message(connection, json.dumps({"pid": pid}).encode())
        code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        _send_message(connection, json.dumps({"code": 128 - code if code < 0 else code}).encode())
    finally:
        os._exit(0)


def serve(path: str) -> tuple[dict, list[int]]:
    """Serves until the test process ends; returns only in a forked dbt child, with its job."""
    import dbt.adapters.duckdb  # noqa: F401 - the adapter's import too
    from dbt.cli.main import cli  # noqa: F401

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the waiters, reaped by the kernel
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(8)
    server.settimeout(5)
    parent = os.getppid()
    print("ready", flush=True)
    while os.getppid() == parent:  # ends with the test process, however that ends
        try:
            connection, _ = server.accept()
        except socket.timeout:
            continue
        connection.settimeout(None)
        try:
            request, fds = _receive_request(connection)
        except (EOFError, OSError, ValueError):
            connection.close()
            continue
        if os.fork() == 0:
            server.close()
            return _wait_for_child(connection, request, fds)
        for fd in fds:
            os.close(fd)
        connection.close()
    sys.exit(0)


def client(path: str, args: list[str]) -> int:
    child: list[int] = []
    pending: list[int] = []  # a signal that came before the child's pid

    def stop(number, _frame):
        forwarded = signal.SIGTERM if number == signal.SIGTERM else signal.SIGINT
        if child:
            try:
                os.kill(child[0], forwarded)
            except ProcessLookupError:  # ended already: its exit code is on the way
                pass
        else:
            pending.append(forwarded)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.connect(path)
    request = {"args": args, "env": dict(os.environ), "cwd": os.getcwd()}
    _send_message(connection, json.dumps(request).encode(), [0, 1, 2])
    code = None
    try:
        while True:
            (size,) = HEADER.unpack(_receive_exactly(connection, HEADER.size))
            message = json.loads(_receive_exactly(connection, size))
            if "pid" in message:
                child.append(message["pid"])
                for number in pending:
                    try:
                        os.kill(child[0], number)
                    except ProcessLookupError:
                        pass
            else:
                code = message["code"]
                break
    except EOFError:
        pass
    return 128 + signal.SIGKILL if code is None else code  # None: the waiter was killed


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        sys.exit(_run_child(*serve(sys.argv[2])))
    else:
        sys.exit(client(sys.argv[2], sys.argv[3:]))
