"""Two web processes and two worker nodes on one machine, over one database and one Redis: what
`make cluster-demo` shows (bench/cluster_demo.py), checked."""

import pytest

from bench.cluster_demo import HEARTBEAT_TIMEOUT, run

# Starts two web processes and two nodes and trains six jobs (minutes): `make test-cluster` runs it, `make test`
# leaves it out to stay within its time (tests/jobs/test_worker_nodes.py covers stops and a killed node).
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.cluster]

LOOKUP_TTL_S = 5  # REFLEX_PREDICT_LOOKUP_TTL_S, the documented most


@pytest.mark.timeout(1200)
def test_two_webs_and_two_nodes_share_the_work_and_survive_a_killed_node():
    found = run(say=lambda line: print(line, flush=True))
    assert found["spread_statuses"] == ["succeeded"] * 4
    assert set(found["spread_nodes"].values()) == {"node-1", "node-2"}, found["spread_nodes"]
    survivor = found["survivor"]
    assert survivor["status"] == "succeeded" and survivor["node"] != survivor["killed"], survivor
    assert "Worker lost; retrying" in survivor["messages"]
    assert survivor["seconds"] < HEARTBEAT_TIMEOUT + 30 + 120  # back in the queue within the bound, then trained again
    assert found["predict_on_b"][0] == 200 and found["predict_on_b"][1] in {"pos", "neg"}
    assert found["gone_on_b_after"] <= LOOKUP_TTL_S + 1
    stream = found["stream"]
    assert stream["ended"] and stream["messages"][-1] == "The job has successfully completed", stream
    assert stream["node"] in {"node-1", "node-2"}
