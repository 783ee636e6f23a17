-- 0011 V2G grid prices: the submarket of a location (NULL: v2g.default_submarket applies) and
-- the outcome of each price source's last refresh (stale prices are flagged from it).
ALTER TABLE locations ADD COLUMN submarket text CHECK (submarket IN ('SE', 'S', 'NE', 'N'));

CREATE TABLE v2g_price_fetches (
    source          text PRIMARY KEY,
    last_attempt_at timestamptz NOT NULL,
    last_success_at timestamptz,
    last_error      text,
    failing         boolean NOT NULL DEFAULT false
);
