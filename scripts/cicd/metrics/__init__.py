"""Delivery metrics in the Prometheus exposition format (`cicd metrics`), and PromQL as a
verification source."""
