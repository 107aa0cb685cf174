-- A child's payers (issue 15): who pays for the child, as the office
-- imports them from the municipality's or the club's lists. A payer is
-- not a login: issue 16 gives payers activation letters and links them to
-- people. A child's birth date, as the office imports it, optional.

ALTER TABLE children ADD COLUMN birth_date date
    CHECK (birth_date >= DATE '1900-01-01');

CREATE TABLE payers (
    id uuid PRIMARY KEY,
    child_id uuid NOT NULL REFERENCES children (id),
    name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    -- Optional: letters need it, the office may not have it yet.
    email text CHECK (char_length(email) BETWEEN 3 AND 254),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payers_child ON payers (child_id, created_at);
