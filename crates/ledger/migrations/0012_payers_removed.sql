-- A payer the office removes (custody changed, a typo): kept, with when,
-- as the office log keeps who; a child's page and letters leave them out.
ALTER TABLE payers ADD COLUMN removed_at timestamptz;
