"""A small web service: what the demo builds, tests and deploys."""
