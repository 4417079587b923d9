"""The deploy engine: blue-green (default), canary, rolling and recreate deploys behind nginx.

Seams (each a small protocol; core code builds commands as data and one runner executes them):

- hosts/     where commands run. `Host` (hosts/base.py): run(argv), put(path, bytes) atomically,
             get(path). LocalHost (hosts/local.py), SSHHost (hosts/ssh.py). `hosts.build_host(spec)`.
- runtimes/  how a version runs in a color slot. `Runtime` (runtimes/base.py): prepare(host, release),
             start(host, slot, release), stop(host, slot), status(host, slot), logs(host, slot),
             releases(host), remove_release(host, version). process.py, docker.py.
             `runtimes.build_runtime(settings, environment=, base_dir=)`.
- routers/   how traffic moves. nginx.py renders the whole config as text (live listener, a private
             preview listener that always points at the idle color, blue/green upstreams, canary
             weights), tests it with `nginx -t`, swaps it with one atomic rename + graceful reload, and
             reads the live color back from the config on the target.
- strategies/ blue_green.py, canary.py, recreate.py (and rolling.py) turn a request into a plan: a
             list of small step dataclasses (steps.py) that `--dry-run` prints and the runner executes.
- orchestrator.py  `cicd deploy`: artifact check, lock, converge, plan, run, finish. The deploy API
             it and rollback.py share: live.py (inspect, converge, healthy: what is live, read from
             the target) and execution.py (run_plan, finish_run: the runner executes a plan, a
             failure is cleaned up and recorded). runner.py executes steps: health gate, smoke via
             preview, switch and drain, warm window, post-switch verification and automatic switch
             back (decision.py), release pruning, each phase timed in the history and ledger.
"""
