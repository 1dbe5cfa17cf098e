"""RQ job entry points, one module per queue or capability.

Entry points are synchronous functions taking ids and JSON-safe values; they run their
async body through workers.runtime.run_job so each job has its own loop and connections.
"""
