"""Prefork servers over OTLP/gRPC: children forked while the parent is exporting lose
nothing and exit normally.

gRPC cannot fork while a thread is inside a call ("Other threads are currently calling
into gRPC, skipping fork() handlers"): the child's gRPC is then broken and its spans are
lost or it hangs. llmtrace's export processor holds exports back around fork() and the
child builds its own exporter and channel.

Both the receiver and the forking app run in processes of their own, as in production:
a gRPC server in the forking process would itself keep threads inside gRPC.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from tests.support import REPO
from tests.support.reliability import Figures, free_port

RECEIVER = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[3])
    from tests.support.reliability import GrpcCollector

    collector = GrpcCollector(port=int(sys.argv[1])).start()
    print("ready", flush=True)
    sys.stdin.read()  # until the test closes stdin
    collector.stop()
    with open(sys.argv[2], "w") as out:
        json.dump(collector.received.span_names, out)
    """
)

PREFORK_APP = textwrap.dedent(
    """
    import json, os, sys, threading, time
    import llmtrace

    endpoint, children, per_child = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    llmtrace.init(endpoint=endpoint, protocol="grpc", instrument=False, metrics=False,
                  service_name="prefork", export_timeout=5, shutdown_timeout=5)
    stop = threading.Event()
    made = [0]

    def busy():  # the parent keeps exporting while it forks
        while not stop.is_set():
            with llmtrace.span("parent"):
                made[0] += 1
            llmtrace.force_flush(timeout=2)

    worker = threading.Thread(target=busy, daemon=True)
    worker.start()
    time.sleep(0.3)
    pids = []
    for c in range(children):
        pid = os.fork()
        if pid == 0:  # a worker: serves, then exits normally (spans flushed at exit)
            for i in range(per_child):
                with llmtrace.span(f"child{c}-{i}"):
                    pass
            sys.exit(0)
        pids.append(pid)
        time.sleep(0.01)
    statuses = [os.waitpid(pid, 0)[1] for pid in pids]
    stop.set()
    worker.join()
    flushed = llmtrace.shutdown(timeout=5)
    print(json.dumps({"statuses": statuses, "parent_spans": made[0], "flushed": flushed}))
    """
)


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMTRACE_"))}
    env.pop("GRPC_ENABLE_FORK_SUPPORT", None)
    env.update(extra)
    return env


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork() is POSIX-only")
@pytest.mark.parametrize("fork_support", ["default", "1"])
def test_children_forked_while_exporting_over_grpc_lose_nothing(
    fork_support: str, tmp_path: Path
) -> None:
    children, per_child = 12, 10
    port = free_port()
    names_file = tmp_path / "names.json"
    receiver = subprocess.Popen(
        [sys.executable, "-c", RECEIVER, str(port), str(names_file), str(REPO)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=_clean_env(),
    )
    try:
        assert receiver.stdout is not None and receiver.stdout.readline().strip() == "ready"
        extra = {} if fork_support == "default" else {"GRPC_ENABLE_FORK_SUPPORT": fork_support}
        app = subprocess.Popen(
            [
                sys.executable,
                "-c",
                PREFORK_APP,
                f"http://127.0.0.1:{port}",
                str(children),
                str(per_child),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_clean_env(**extra),
            start_new_session=True,  # its own process group: hung children can be killed
        )
        try:
            out, err = app.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            os.killpg(app.pid, signal.SIGKILL)  # the app and every child it forked
            app.communicate()
            pytest.fail("the prefork app hung: a child stuck in gRPC never exited")
    finally:
        receiver.communicate("", timeout=30)
    assert app.returncode == 0, err[-3000:]
    result = json.loads(out.strip().splitlines()[-1])
    assert result["statuses"] == [0] * children
    assert result["flushed"] is True
    names = json.loads(names_file.read_text())
    counts = Counter(names)
    lost = [
        f"child{c}-{i}"
        for c in range(children)
        for i in range(per_child)
        if counts[f"child{c}-{i}"] != 1
    ]
    Figures.record(f"fork_grpc.{fork_support}.child_spans_lost", len(lost))
    assert lost == []
    assert counts["parent"] == result["parent_spans"]
