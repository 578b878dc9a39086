"""The benchmark suite (`make bench`): runner, workloads, setups and report."""
