-- The office runs its clubs: clubs as data, each child in one of them
-- (a move kept), office staff for some clubs and the municipality for all,
-- tokens with a label and a last use, and the office log of who changed
-- what, which nobody may change.

-- A club, named as the office names it; the name is the key.
CREATE TABLE clubs (
    name text PRIMARY KEY CHECK (char_length(name) BETWEEN 1 AND 100),
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO clubs (name) SELECT DISTINCT club FROM children;
-- A renamed club takes its children with it. entries.club stays the text
-- it was when the entry was made: reports group by the club of the day.
ALTER TABLE children ADD CONSTRAINT children_club_fkey
    FOREIGN KEY (club) REFERENCES clubs (name) ON UPDATE CASCADE;

-- Whether a club is within a scope: every club when `clubs` is NULL
-- (the municipality, an admin token), else one of `clubs`. Every query
-- that lists for the office filters with this; SQL, so it is inlined.
CREATE FUNCTION club_in_scope(club text, clubs text[]) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT clubs IS NULL OR club = ANY (clubs) $$;

-- Every move of a child from one club to another. The names are the
-- clubs' names then (history, as entries.club), so no foreign keys.
CREATE TABLE child_club_changes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    child_id uuid NOT NULL REFERENCES children (id),
    from_club text NOT NULL,
    to_club text NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    -- Who moved the child, as the office log names them.
    by_name text NOT NULL
);
CREATE INDEX child_club_changes_child ON child_club_changes (child_id, at);

-- Office staff work for one or more clubs; the municipality for all.
ALTER TABLE people DROP CONSTRAINT people_role_check;
ALTER TABLE people ADD CONSTRAINT people_role_check
    CHECK (role IN ('parent', 'office', 'municipality'));
CREATE TABLE office_clubs (
    person_id uuid NOT NULL REFERENCES people (id),
    club text NOT NULL REFERENCES clubs (name) ON UPDATE CASCADE,
    PRIMARY KEY (person_id, club)
);
CREATE INDEX office_clubs_club ON office_clubs (club);
-- Office staff saw every child until now: they keep the clubs there are,
-- and the municipality narrows them with `person --role office --club`.
INSERT INTO office_clubs (person_id, club)
    SELECT p.id, c.name FROM people p CROSS JOIN clubs c WHERE p.role = 'office';
-- "https://broker/" and "https://broker" are the same broker: stored
-- without the slash (the ledger strips it from what it is given, too).
UPDATE people p SET issuer = rtrim(p.issuer, '/')
    WHERE p.issuer LIKE '%/' AND NOT EXISTS (
        SELECT 1 FROM people q WHERE q.issuer = rtrim(p.issuer, '/') AND q.subject = p.subject);

-- Tokens: a label to know them by, an office token's clubs, the last use.
ALTER TABLE tokens DROP CONSTRAINT tokens_role_check;
ALTER TABLE tokens ADD CONSTRAINT tokens_role_check
    CHECK (role IN ('admin', 'office', 'kiosk', 'parent'));
ALTER TABLE tokens ADD COLUMN label text CHECK (char_length(label) BETWEEN 1 AND 100);
-- The end of the id, not its start: a UUIDv7 starts with the clock, the
-- same for tokens made within a minute; its last 12 digits are random.
UPDATE tokens SET label = 'token-' || right(id::text, 12);
ALTER TABLE tokens ALTER COLUMN label SET NOT NULL;
CREATE UNIQUE INDEX tokens_live_label ON tokens (label) WHERE revoked_at IS NULL;
-- Set at most once a minute (see db::tokens::by_hash).
ALTER TABLE tokens ADD COLUMN last_used_at timestamptz;
CREATE TABLE token_clubs (
    token_id uuid NOT NULL REFERENCES tokens (id),
    club text NOT NULL REFERENCES clubs (name) ON UPDATE CASCADE,
    PRIMARY KEY (token_id, club)
);

-- Who changed what: every change a person, a token or the command line
-- makes, written in the same transaction as the change.
CREATE TABLE office_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    actor_kind text NOT NULL CHECK (actor_kind IN ('person', 'token', 'command_line')),
    -- The person's or the token's id; no foreign key, as the log must
    -- outlive (and never hold up) what it names.
    actor_id uuid CHECK ((actor_kind = 'command_line') = (actor_id IS NULL)),
    -- The person's name or the token's label then; the operating
    -- system's user for the command line.
    actor_name text NOT NULL,
    child_id uuid REFERENCES children (id),
    -- The child's club then, or the club a change is about.
    club text,
    -- A short code, e.g. card.block (db::office_log::Action).
    action text NOT NULL CHECK (action ~ '^[a-z_]+\.[a-z_]+$'),
    before jsonb,
    after jsonb
);
CREATE INDEX office_log_child ON office_log (child_id, id) WHERE child_id IS NOT NULL;
CREATE INDEX office_log_club ON office_log (club, id) WHERE club IS NOT NULL;
CREATE INDEX office_log_at ON office_log (at);

-- The application never changes a log row, and neither does anyone else
-- who connects as an ordinary role: a statement trigger refuses every
-- UPDATE, DELETE and TRUNCATE, whoever runs it (the table's owner too;
-- only someone who may drop the trigger can get past it, and that shows
-- in the schema).
CREATE FUNCTION office_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the office log is append-only: % is refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER office_log_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON office_log
    FOR EACH STATEMENT EXECUTE FUNCTION office_log_append_only();
