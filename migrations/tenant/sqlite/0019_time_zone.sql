-- Each person's time zone (an IANA name such as `Europe/Rome`); empty means the
-- tenant's default (`time_zone` setting), else UTC. Pages show times in it.
ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';
