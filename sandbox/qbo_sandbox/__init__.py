"""Local QuickBooks Online v3 simulator (HTTP) for the demo, tests and benchmarks."""
