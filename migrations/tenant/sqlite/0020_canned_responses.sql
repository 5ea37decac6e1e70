-- Canned responses: answers technicians insert into a reply from the ticket
-- workspace, shared by the MSP's team, with placeholders filled in when used.
CREATE TABLE canned_responses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL CONSTRAINT canned_responses_title UNIQUE,
    body TEXT NOT NULL,
    created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
