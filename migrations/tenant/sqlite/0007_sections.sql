-- Portal section switches: for everyone, per organization and per person; the most
-- specific switch wins, and a section without any switch is on.
CREATE TABLE section_switches (
    section TEXT NOT NULL,
    scope_kind TEXT NOT NULL CHECK (scope_kind IN ('all', 'organization', 'user')),
    scope_id BIGINT NOT NULL,
    enabled BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (section, scope_kind, scope_id)
);
