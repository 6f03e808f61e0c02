"""The Prometheus families of CONTRACT, in one registry the HTTP server exposes."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

COMMANDS = Counter(
    "communitybot_commands",
    "Commands handled, by command, platform and outcome (ok, rejected, denied, error, preview…).",
    ["command", "platform", "outcome"],
    registry=REGISTRY,
)
COMMAND_DURATION = Histogram(
    "communitybot_command_duration_seconds",
    "Time from receiving a command to having its answer, by platform.",
    ["platform"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=REGISTRY,
)
DELIVERIES = Counter(
    "communitybot_deliveries",
    "Scheduled deliveries finished, by kind and outcome (sent, failed, skipped, retried).",
    ["kind", "outcome"],
    registry=REGISTRY,
)
DELIVERY_LATENESS = Histogram(
    "communitybot_delivery_lateness_seconds",
    "How long after its due time a delivery was sent.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
    registry=REGISTRY,
)
PLATFORM_REQUESTS = Counter(
    "communitybot_platform_requests",
    "Requests to platform APIs, by platform and HTTP status (or 'error' without one).",
    ["platform", "status"],
    registry=REGISTRY,
)
PLATFORM_RETRIES = Counter(
    "communitybot_platform_retries",
    "Platform API requests retried, by platform and reason (ratelimited, server_error, …).",
    ["platform", "reason"],
    registry=REGISTRY,
)
PLATFORM_UP = Gauge(
    "communitybot_platform_up",
    "1 while the platform can serve (connected, token verified), else 0.",
    ["platform"],
    registry=REGISTRY,
)
