"""Worker entry points, queued by dotted path with ids as arguments. Each may run twice: safely."""

import logging

from jobs import scheduler, services
from jobs.node_state import node_stopping
from jobs.supervisor import remove_stale_workdirs, supervise

logger = logging.getLogger(__name__)


def run_job(job_id: str) -> str:
    if node_stopping():
        return "node stopping"  # claims nothing; the stopping node dispatches the queue again as it leaves
    claim = scheduler.claim_job(job_id=job_id)
    if claim is None:
        return "not claimed"
    try:
        supervise(claim)
    except Exception:
        # The process edge: whatever went wrong becomes a failed job, never a job left running.
        logger.exception("job %s: supervisor failed", job_id)
        services.fail_job(
            job_id=job_id,
            run_token=claim.run_token,
            code="training_crashed",
            message="Training stopped unexpectedly because of a server error.",
        )
    return "done"


def tick(*, starting: bool = False) -> None:
    """Scheduled (and run when a worker starts): reaps runs whose worker died and removes their
    folders, then re-dispatches admissible jobs whose task was lost or is late."""
    scheduler.reap_stale_jobs()
    remove_stale_workdirs()
    scheduler.wake(redispatch_all=starting)
