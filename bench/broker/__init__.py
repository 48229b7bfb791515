"""The broker benchmark suite: kafkish side by side with a peer (Tansu) on the same workloads.

``python -m bench.broker [--runs N] [--smoke] [--brokers kafkish,tansu] [--workloads a,b] [--profile DIR]``
prints the table and writes JSON under bench/results/; ``make bench`` runs it after the component
benchmarks. Modules: ``servers`` (the broker processes), ``clients`` (confluent-kafka helpers),
``workloads``, ``loopback`` (the machine's ceiling), ``suite`` (rounds), ``report`` (medians, table),
``profile`` (py-spy on the kafkish process).
"""
