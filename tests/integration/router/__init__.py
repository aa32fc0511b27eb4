"""LocalRouter driven directly (admit / wait_lease / close) over real demo upstreams."""
