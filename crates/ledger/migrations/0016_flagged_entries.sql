-- The office's flags list (issue 15) reads the flagged entries newest
-- first, filtered by the child's club, flag, counter and days. They are
-- some 0.6 % of all entries, spread over the whole table: read through
-- `entries` (its partial index entries_flagged), a page of the list
-- visited one table page per flagged entry, 55,000 of them at 10,000,000
-- entries (0.4 to 0.6 s). Kept apart they are a small, dense table, read
-- in milliseconds whatever plan the filters give; the page's amounts and
-- items then come from `entries` by key, for the rows shown only.
CREATE TABLE flagged_entries (
    entry_id uuid PRIMARY KEY REFERENCES entries (id),
    at timestamptz NOT NULL,
    child_id uuid NOT NULL,
    counter text NOT NULL,
    flags text[] NOT NULL
);
CREATE INDEX flagged_entries_newest ON flagged_entries (at DESC, entry_id DESC);

-- An entry's flags never change: what is inserted flagged is kept here.
CREATE FUNCTION flagged_entries_of_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO flagged_entries (entry_id, at, child_id, counter, flags)
    SELECT id, at, child_id, counter, flags FROM added WHERE flags <> '{}';
    RETURN NULL;
END
$$;

CREATE TRIGGER flagged_entries_fill AFTER INSERT ON entries
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION flagged_entries_of_added();

INSERT INTO flagged_entries (entry_id, at, child_id, counter, flags)
SELECT id, at, child_id, counter, flags FROM entries WHERE flags <> '{}';

DROP INDEX entries_flagged;
