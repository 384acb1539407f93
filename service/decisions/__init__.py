"""The decision log: every decision, single or batch item, with its input, result and
explanation, appended by the worker before the task is acknowledged, never dropped.

OPA's decision logs drop entries under load (opa#7454, opa#8123) and leave explanations out for
cost (opa#2897). Here the append is part of the task: a task whose decision cannot be logged
fails and is retried, and a retried task never logs twice (each decision is logged under its
evaluation id, once).
"""
