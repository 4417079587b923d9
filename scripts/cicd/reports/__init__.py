"""Delivery reports: DORA metrics, pipeline performance, test quality, deployments, and the dashboard.

Core modules turn records (deploy history, run results, test reports) into plain data; renderers turn
that data into JSON, Markdown or one self-contained HTML page. Nothing here changes any state.
"""
