"""V2G grid prices and compensation: the pure core, the CCEE parser, limits and peak hours."""
