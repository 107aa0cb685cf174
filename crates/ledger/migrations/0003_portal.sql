-- The parents' portal and the office's view of it: people who log in
-- (through an OpenID Connect broker: MitID), their sessions, payments,
-- payout requests and support requests.

-- Someone who logs in: a parent, or office staff. The broker names them
-- by issuer and subject; the office links a parent to their children.
CREATE TABLE people (
    id uuid PRIMARY KEY,
    issuer text NOT NULL,
    subject text NOT NULL,
    role text NOT NULL CHECK (role IN ('parent', 'office')),
    name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    email text CHECK (char_length(email) <= 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (issuer, subject)
);

CREATE TABLE parent_children (
    person_id uuid NOT NULL REFERENCES people (id),
    child_id uuid NOT NULL REFERENCES children (id),
    -- An e-mail goes to this parent when the balance falls below this.
    low_balance numeric(12,2) CHECK (low_balance >= 0),
    -- Set when that e-mail went; cleared when the balance is above again.
    low_balance_sent_at timestamptz,
    PRIMARY KEY (person_id, child_id)
);
CREATE INDEX parent_children_child ON parent_children (child_id);

-- A login under way: what the browser must bring back from the broker.
-- Only the state's SHA-256 is kept; the browser holds the state itself.
CREATE TABLE portal_logins (
    state_hash bytea PRIMARY KEY,
    nonce text NOT NULL,
    pkce_verifier text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX portal_logins_created ON portal_logins (created_at);

-- A logged-in browser. Only the SHA-256 of the cookie's value is kept.
CREATE TABLE portal_sessions (
    id_hash bytea PRIMARY KEY,
    person_id uuid NOT NULL REFERENCES people (id),
    -- Every form carries it; a form without it is refused (CSRF).
    csrf text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen timestamptz NOT NULL DEFAULT now(),
    ended_at timestamptz
);
CREATE INDEX portal_sessions_person ON portal_sessions (person_id);
CREATE INDEX portal_sessions_created ON portal_sessions (created_at);

-- A top-up through the payment provider: started, then paid (and the
-- deposit recorded, with the payment's id as the entry's) or failed.
CREATE TABLE payments (
    id uuid PRIMARY KEY,
    person_id uuid NOT NULL REFERENCES people (id),
    child_id uuid NOT NULL REFERENCES children (id),
    amount numeric(12,2) NOT NULL CHECK (amount > 0),
    provider text NOT NULL,
    provider_ref text NOT NULL,
    status text NOT NULL CHECK (status IN ('started', 'paid', 'failed')),
    entry_id uuid REFERENCES entries (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payments_child ON payments (child_id);

-- Money taken off a card for the parent's bank account: the withdrawal
-- entry is made at once (so it can never be spent twice); the office
-- pays it out and marks it so, or rejects it (and the money goes back).
CREATE TABLE payout_requests (
    id uuid PRIMARY KEY,
    person_id uuid NOT NULL REFERENCES people (id),
    child_id uuid NOT NULL REFERENCES children (id),
    amount numeric(12,2) NOT NULL CHECK (amount > 0),
    bank_account text NOT NULL CHECK (char_length(bank_account) BETWEEN 1 AND 40),
    status text NOT NULL CHECK (status IN ('requested', 'paid', 'rejected')),
    withdrawal_entry uuid NOT NULL REFERENCES entries (id),
    reversal_entry uuid REFERENCES entries (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    decided_at timestamptz
);

CREATE TABLE support_requests (
    id uuid PRIMARY KEY,
    person_id uuid NOT NULL REFERENCES people (id),
    child_id uuid REFERENCES children (id),
    subject text NOT NULL CHECK (char_length(subject) BETWEEN 1 AND 200),
    body text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 5000),
    answer text CHECK (char_length(answer) <= 5000),
    created_at timestamptz NOT NULL DEFAULT now(),
    answered_at timestamptz
);
CREATE INDEX support_requests_person ON support_requests (person_id);
