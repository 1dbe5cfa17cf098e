"""RQ job entry points, one module per queue or capability.

Entry points are synchronous functions taking ids and JSON-safe values; they run their
async body through workers.runtime.run_job, on the process's one loop and connections.
Workers import engage; engage never imports workers: it enqueues jobs by dotted path.
"""
