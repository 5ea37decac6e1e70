-- The e-mail channel.
--
-- Inbound: one durable queue for the three transports (IMAP, the built-in SMTP/LMTP
-- receiver, a provider's webhook). A row is written, with its dedup key, before the
-- transport acknowledges the message (250 / IMAP flag / HTTP 202); the raw message
-- lives in the blob store like attachments. Processing turns a pending row into its
-- effect (a new ticket, a reply, a close, a held message, nothing for automated mail)
-- and marks the row in the same transaction, so a crash neither loses nor repeats it.
CREATE TABLE mail_inbound (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- imap:<mailbox id>:<UIDVALIDITY>:<UID>, or msgid:<Message-ID> for pushed mail
    -- (sha256:<hash of the raw message> when it has none).
    dedup_key TEXT NOT NULL CONSTRAINT mail_inbound_dedup UNIQUE,
    transport TEXT NOT NULL CHECK (transport IN ('imap', 'smtp', 'webhook')),
    mailbox_id BIGINT,
    -- The envelope recipient it reached us through (plus-address included).
    recipient TEXT,
    sender TEXT,
    -- The Message-ID header, so a mailbox whose UIDVALIDITY changed is not read twice.
    message_id TEXT,
    raw_key TEXT NOT NULL,
    size BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'created', 'added', 'closed', 'held', 'ignored', 'refused', 'released', 'discarded', 'failed')),
    ticket_number BIGINT,
    -- Why: the automated kind, the hold reason, the refusal, the error.
    detail TEXT,
    processed_at BIGINT,
    -- Whoever processes it now, until when: a crashed worker's rows are taken over
    -- once their short lease ends.
    lease_owner TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX mail_inbound_pending ON mail_inbound (received_at) WHERE state = 'pending';
CREATE INDEX mail_inbound_sender ON mail_inbound (sender, received_at);
CREATE INDEX mail_inbound_message ON mail_inbound (message_id);
CREATE INDEX mail_inbound_state ON mail_inbound (state, id);

-- The tenant's own IMAP mailboxes. One instance polls a mailbox at a time (lease);
-- the cursor (UIDVALIDITY, last UID) moves in the transaction that queues the mail.
CREATE TABLE mail_mailboxes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    address TEXT NOT NULL CONSTRAINT mail_mailboxes_address UNIQUE,
    host TEXT NOT NULL,
    port BIGINT NOT NULL,
    tls TEXT NOT NULL CHECK (tls IN ('tls', 'starttls', 'none')),
    username TEXT NOT NULL,
    -- Sealed with the platform master key.
    sealed_password TEXT NOT NULL,
    folder TEXT NOT NULL DEFAULT 'INBOX',
    enabled BIGINT NOT NULL DEFAULT 1,
    uidvalidity BIGINT,
    last_uid BIGINT NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    last_polled_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Outbound: every message Portico sends, rendered once (so a retry sends the same
-- bytes and Message-ID), queued with a send job, and kept as the ticket's mail log.
CREATE TABLE mail_outbound (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- One message per (event, recipient, kind): an event delivered twice to the
    -- notifier queues it once.
    dedup_key TEXT NOT NULL CONSTRAINT mail_outbound_dedup UNIQUE,
    ticket_number BIGINT,
    kind TEXT NOT NULL,
    message_id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    raw TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'failed')),
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX mail_outbound_ticket ON mail_outbound (ticket_number, id);
CREATE INDEX mail_outbound_recipient ON mail_outbound (recipient, kind, created_at);

-- The tenant's own SMTP server for its outbound mail (instead of the platform's):
-- the URL with its credentials sealed with the master key, and the sender address
-- its messages go out from (replies still reach the platform through Reply-To).
CREATE TABLE mail_smtp (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    sealed_url TEXT NOT NULL,
    from_address TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
