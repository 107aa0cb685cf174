-- Flags from counters handled by the office, and a child leaving (issue 15).

-- The office's flags list reads flagged entries newest first; only a few
-- entries carry flags, so a partial index keeps that read small at
-- millions of entries.
CREATE INDEX entries_flagged ON entries (at DESC, id DESC) WHERE flags <> '{}';

-- A flagged entry the office has dealt with, and how. Entries are never
-- updated for it: the counter's record stays as it came.
CREATE TABLE flag_handlings (
    entry_id uuid PRIMARY KEY REFERENCES entries (id),
    comment text NOT NULL CHECK (char_length(comment) BETWEEN 1 AND 500),
    -- The person's name or the token's label then, as the office log has it.
    handled_by text NOT NULL,
    handled_at timestamptz NOT NULL DEFAULT now()
);

-- A child that has left: no further entries but those that must be
-- recorded (a counter's offline sale, money going back), cards blocked.
ALTER TABLE children
    ADD COLUMN closed_at timestamptz,
    ADD COLUMN closed_by text;

-- What is left when a child leaves is paid to one of its payers, who is
-- not a login: a payout request names a person or a payer.
ALTER TABLE payout_requests
    ALTER COLUMN person_id DROP NOT NULL,
    ADD COLUMN payer_id uuid REFERENCES payers (id),
    ADD CONSTRAINT payout_requests_payee CHECK ((person_id IS NULL) <> (payer_id IS NULL));
