"""The build farm: single builds on Celery workers over a Redis broker, results signed by workers.

store     content-addressed artifact store both sides read and write (hashes re-checked)
protocol  the task a worker runs and the binding of its signed result to that task (pure)
work      what a worker does with one task: fetch, re-hash, build once, sign
app       the Celery application, its settings and the worker entry point
dispatch  sends build A and build B of each target to workers and collects the results
records   what a farm run leaves on disk: signed results, build info, logs, images
blame     why build A and build B differ, found with probe builds on A's worker
rebuild   a rebuilder's double builds on the farm, judged by the gate, signed by the rebuilder
"""
