"""The local pipeline engine: stage DAG, scheduler, executor, results and views.

dag.py        stage graph: order, parallel levels, cycles, critical path
selection.py  --stage/--job selection and `when` conditions
scheduler.py  pure core: which jobs may start now, which stages are skipped and why
process.py    one attempt of one job under its reaper, with timeout, kill and redacted output
reaper.py     the job's subreaper: everything the job starts dies with it (stdlib only, run as a script)
joblog.py     capped job logs that keep the tail; reading only the tail back
executor.py   runs a pipeline: threads wait on processes, the main thread on events
result.py     the BuildResult contract and .cicd/runs/<id>/result.json
progress.py   live output: rich in a terminal, ::group:: in Actions, plain lines otherwise
render.py     Mermaid graph, final job table, step summary
plan.py       execution order, levels and critical path (optimize_pipeline_schedule)
"""
