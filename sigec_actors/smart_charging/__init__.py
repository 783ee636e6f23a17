"""Smart charging: stored charging profiles, site load balancing and EV charging needs."""
