"""Tools that measure and show the library, apart from it: `eval` (summary fidelity and cost per
policy), `bench` (throughput and latency figures), `soak` (a long call with handoffs), `demo`."""
