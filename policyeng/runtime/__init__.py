"""Long-running use: the Resolver (memoized picks, background refresh, breakers) and the server."""
