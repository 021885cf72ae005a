"""Real-time delivery: a publish/subscribe hub (in-process, or Redis across processes) and the
WebSocket protocol endpoints speak (authentication, JSON frames, heartbeat, resume).
docs/realtime.md describes the protocol."""
