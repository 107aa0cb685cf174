-- The ledger: children with their balance, cards, card orders, every entry,
-- and the bearer tokens (hashed). Money is numeric(12,2), never a float.

-- One row: the last change number handed out. Taking it row-locks until
-- commit, so change numbers become visible in commit order and a counter
-- pulling "changes since N" never skips a change that commits late.
CREATE TABLE change_counter (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    value bigint NOT NULL
);
INSERT INTO change_counter (value) VALUES (0);

CREATE TABLE children (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    club text NOT NULL CHECK (char_length(club) BETWEEN 1 AND 100),
    -- Always the sum of this child's entries, kept in step in the same
    -- transaction as each entry (tests check it).
    balance numeric(12,2) NOT NULL DEFAULT 0,
    daily_limit numeric(12,2) CHECK (daily_limit >= 0),
    blocked_categories text[] NOT NULL DEFAULT '{}',
    note text CHECK (char_length(note) <= 500),
    change_seq bigint NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX children_change_seq ON children (change_seq);
CREATE INDEX children_club ON children (club);

CREATE TABLE cards (
    uid text PRIMARY KEY,
    child_id uuid NOT NULL REFERENCES children (id),
    state text NOT NULL CHECK (state IN ('active', 'blocked')),
    handed_out_at timestamptz NOT NULL DEFAULT now(),
    blocked_at timestamptz
);
CREATE INDEX cards_child ON cards (child_id);

CREATE TABLE entries (
    id uuid PRIMARY KEY,
    child_id uuid NOT NULL REFERENCES children (id),
    kind text NOT NULL CHECK (kind IN ('deposit', 'withdrawal', 'sale', 'refund', 'card_fee')),
    amount numeric(12,2) NOT NULL,
    -- When it happened where it happened (the counter's clock for a sale).
    at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    -- The counter id for kiosk entries; "office" or "parent" otherwise.
    counter text NOT NULL,
    -- The child's club when the entry was made, for reports.
    club text NOT NULL,
    card_uid text,
    refund_of uuid REFERENCES entries (id),
    lines jsonb,
    -- For the office: what was wrong when a counter's sale arrived.
    flags text[] NOT NULL DEFAULT '{}',
    -- The balance right after this entry: a repeated push answers with it.
    balance_after numeric(12,2) NOT NULL
);
CREATE INDEX entries_child_at ON entries (child_id, at);
CREATE INDEX entries_at ON entries (at);
CREATE INDEX entries_refund_of ON entries (refund_of) WHERE refund_of IS NOT NULL;

CREATE TABLE card_orders (
    id uuid PRIMARY KEY,
    child_id uuid NOT NULL REFERENCES children (id),
    status text NOT NULL CHECK (status IN ('ordered', 'sent', 'handed_out')),
    -- NULL for the first card, which is handed out at the club.
    address text CHECK (char_length(address) <= 300),
    fee numeric(12,2) NOT NULL,
    fee_entry uuid REFERENCES entries (id),
    card_uid text REFERENCES cards (uid),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX card_orders_child ON card_orders (child_id);

CREATE TABLE tokens (
    id uuid PRIMARY KEY,
    -- SHA-256 of the token; the token itself is never stored.
    hash bytea NOT NULL UNIQUE,
    role text NOT NULL CHECK (role IN ('admin', 'kiosk', 'parent')),
    kiosk text CHECK ((role = 'kiosk') = (kiosk IS NOT NULL)),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

CREATE TABLE token_children (
    token_id uuid NOT NULL REFERENCES tokens (id),
    child_id uuid NOT NULL REFERENCES children (id),
    PRIMARY KEY (token_id, child_id)
);
