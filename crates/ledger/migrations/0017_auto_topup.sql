-- Automatic top-up (issue 17, item 2): a payer saves a card for use when
-- they are not there (a Stripe SetupIntent, off-session), and says "when
-- the balance falls below Y, top up X". A fall below Y is recorded as an
-- automatic payment in the transaction of the entry that caused it; a
-- worker then asks the provider to charge the saved card, with the
-- payment's id as the idempotency key.

-- The provider's customer of a person (Stripe: cus_…), made the first
-- time they save a card; their saved cards hang on it at the provider.
CREATE TABLE payment_customers (
    person_id uuid PRIMARY KEY REFERENCES people (id),
    provider text NOT NULL,
    customer text NOT NULL CHECK (char_length(customer) BETWEEN 1 AND 100),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- A payer's automatic top-up of one child: the saved card (the provider's
-- id for it and what identifies it to the parent; never its number) and
-- the rule. Paused by a decline or a bank asking the parent to
-- authenticate, until the parent saves a card again or turns it back on.
CREATE TABLE auto_topups (
    person_id uuid NOT NULL REFERENCES people (id),
    child_id uuid NOT NULL REFERENCES children (id),
    provider text NOT NULL,
    -- A card being saved: the provider's SetupIntent.
    setup_ref text CHECK (char_length(setup_ref) <= 100),
    payment_method text CHECK (char_length(payment_method) <= 100),
    card_brand text CHECK (char_length(card_brand) <= 40),
    card_last4 text CHECK (card_last4 ~ '^[0-9]{4}$'),
    threshold numeric(12,2) CHECK (threshold > 0),
    amount numeric(12,2) CHECK (amount > 0),
    enabled boolean NOT NULL DEFAULT false,
    paused_reason text CHECK (paused_reason IN ('declined', 'authentication_required', 'failed')),
    paused_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, child_id)
);
CREATE INDEX auto_topups_on ON auto_topups (child_id) WHERE enabled AND paused_reason IS NULL;

-- An automatic payment: which entry's fall started it (one payment per
-- fall, whatever retries), the saved card to charge, and the worker's
-- tries. provider_ref stays '' until the provider has answered.
ALTER TABLE payments
    ADD COLUMN automatic boolean NOT NULL DEFAULT false,
    ADD COLUMN trigger_entry uuid UNIQUE,
    ADD COLUMN customer text,
    ADD COLUMN payment_method text,
    ADD COLUMN attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN next_attempt_at timestamptz,
    ADD COLUMN failure text CHECK (failure IN ('declined', 'authentication_required', 'failed'));
ALTER TABLE payments ADD CONSTRAINT payments_automatic_card
    CHECK (NOT automatic OR (trigger_entry IS NOT NULL AND customer IS NOT NULL
                             AND payment_method IS NOT NULL));
-- At most one automatic top-up of a child open at a time: concurrent
-- falls (two counters pushing) start one.
CREATE UNIQUE INDEX payments_one_open_automatic ON payments (child_id)
    WHERE automatic AND status = 'started';
CREATE INDEX payments_automatic_due ON payments (next_attempt_at)
    WHERE automatic AND status = 'started';
