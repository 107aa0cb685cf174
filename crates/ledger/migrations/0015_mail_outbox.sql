-- Mail that is really sent (issue 17). Every mail is written here in the
-- same transaction as what caused it (a sale that took the balance below
-- a parent's threshold, a payout paid, an answer to a question); a sender
-- task delivers it with retries and marks it sent. So a mail server that
-- is away, or a ledger that dies, loses no mail. What the mail says is
-- kept as its kind and values and written out in the reader's language
-- when it is sent.
CREATE TABLE mail_outbox (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    to_address text NOT NULL CHECK (char_length(to_address) BETWEEN 3 AND 254),
    kind text NOT NULL,
    language text NOT NULL DEFAULT 'da',
    vars jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0,
    -- Due from then; while a sender holds it, when its hold runs out.
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error text,
    sent_at timestamptz
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL;

-- The language a person last chose in the portal: their mail's.
ALTER TABLE people ADD COLUMN language text CHECK (language IN ('da', 'en'));
