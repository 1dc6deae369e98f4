"""The running process: serve, webhooks, leader election, the ticker, metrics."""
