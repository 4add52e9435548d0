"""Which worker node this process belongs to, and whether that node is stopping.

A node's main process (jobs/worker_node.py) hands both down to its cluster processes, and so to every
django-q2 worker and supervisor under them, through the environment: the node's name (a claimed job
records it) and the path of a file that exists once the node has begun to stop. Checking it is one
``stat``, cheap enough for the supervisor's poll.
"""

import os

NODE_ENV = "REFLEX_NODE"
STOP_FILE_ENV = "REFLEX_NODE_STOP_FILE"


def current_node() -> str:
    """The name of the node this process runs under; empty outside one (a bare ``qcluster``)."""
    return os.environ.get(NODE_ENV, "")


def node_stopping() -> bool:
    path = os.environ.get(STOP_FILE_ENV)
    return bool(path and os.path.exists(path))
