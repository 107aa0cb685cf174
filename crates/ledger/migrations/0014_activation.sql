-- Parents get in by themselves (issue 16): a payer's activation letter
-- carries a one-time code; the person who types it after the MitID login
-- becomes that payer. Codes are kept only as SHA-256.

-- The MitID person id a broker may send (claim `mitid.uuid`, Idura's
-- `uuid`): the same person whatever the broker's `sub`, so a change of
-- broker locks nobody out.
ALTER TABLE people ADD COLUMN stable_id text
    CHECK (char_length(stable_id) BETWEEN 1 AND 200);
CREATE UNIQUE INDEX people_stable_id ON people (stable_id);

-- A custody holder's CPR number, from the import, as HMAC-SHA-256 under
-- a secret kept in a file, never here (crate::cpr): a login whose CPR
-- claim hashes the same is linked to every such payer's child at once.
ALTER TABLE payers ADD COLUMN cpr_hmac bytea CHECK (octet_length(cpr_hmac) = 32);
CREATE INDEX payers_cpr ON payers (cpr_hmac) WHERE cpr_hmac IS NOT NULL;

-- The person who is this payer, once a code linked them.
ALTER TABLE payers ADD COLUMN person_id uuid REFERENCES people (id);
CREATE INDEX payers_person ON payers (person_id);

-- One code per letter. A new letter voids the payer's open code; a code
-- is used once; it expires.
CREATE TABLE activation_codes (
    id uuid PRIMARY KEY,
    payer_id uuid NOT NULL REFERENCES payers (id),
    code_hash bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    used_by uuid REFERENCES people (id),
    voided_at timestamptz
);
CREATE INDEX activation_codes_payer ON activation_codes (payer_id);

-- Wrong codes, counted per person (`person:ID`) and per client address
-- (`address:IP`): five lock further tries for a time that grows with
-- every lock. A row goes a day after its last wrong try.
CREATE TABLE code_tries (
    who text PRIMARY KEY,
    failures integer NOT NULL DEFAULT 0,
    locks integer NOT NULL DEFAULT 0,
    locked_until timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);
