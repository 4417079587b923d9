"""Hands-off production: a deploy that promotes itself step by step (docs/DEPLOYMENT.md).

machine.py (the states, pure), judge.py (the canary since its step began), run.py (start),
advance.py (advance, resume, abort).
"""
