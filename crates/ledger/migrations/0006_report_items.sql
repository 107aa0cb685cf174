-- The office's report per item: what each sale sold, a row per line, and
-- what each refund gave back, as rows of its own with the quantity and the
-- amount negative. A report per item is then one sum over this table,
-- joined to the entries for the day, the club and the counter.
--
-- The database fills it from every INSERT into entries, whichever part of
-- the ledger writes the entry (a counter's push, a refund at the office):
-- none of them can forget it. Entries are never changed or removed.
CREATE TABLE entry_lines (
    entry_id uuid NOT NULL REFERENCES entries (id),
    line_no integer NOT NULL,
    -- NULL with unit_price and category: a refund of part of a sale, which
    -- does not say which items came back (one row, quantity -1).
    name text,
    category text,
    unit_price numeric(12,2),
    quantity integer NOT NULL,
    -- unit_price × quantity; positive for a sale, negative for a refund:
    -- the opposite sign of the entry's, which moves the balance.
    amount numeric(12,2) NOT NULL,
    PRIMARY KEY (entry_id, line_no)
);

-- The lines of these entries: a sale's from its JSON lines; a refund of
-- the whole of a sale with lines, that sale's lines negated; any other
-- refund, one line without an item. Sales first, so that a refund and its
-- sale in the same batch find each other.
CREATE FUNCTION fill_entry_lines(ids uuid[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO entry_lines (entry_id, line_no, name, category, unit_price, quantity, amount)
    SELECT e.id, l.n::integer, l.line->>'name', l.line->>'category',
           (l.line->>'unit_price')::numeric,
           (l.line->>'quantity')::integer,
           (l.line->>'unit_price')::numeric * (l.line->>'quantity')::integer
    FROM unnest(ids) AS t(id)
    JOIN entries e ON e.id = t.id
    CROSS JOIN LATERAL jsonb_array_elements(e.lines) WITH ORDINALITY AS l(line, n)
    WHERE e.kind = 'sale' AND jsonb_typeof(e.lines) = 'array';

    INSERT INTO entry_lines (entry_id, line_no, name, category, unit_price, quantity, amount)
    SELECT r.id, sl.line_no, sl.name, sl.category, sl.unit_price, -sl.quantity, -sl.amount
    FROM unnest(ids) AS t(id)
    JOIN entries r ON r.id = t.id AND r.kind = 'refund'
    JOIN entries s ON s.id = r.refund_of AND r.amount = -s.amount
    JOIN entry_lines sl ON sl.entry_id = s.id;

    INSERT INTO entry_lines (entry_id, line_no, name, category, unit_price, quantity, amount)
    SELECT r.id, 1, NULL, NULL, NULL, -1, -r.amount
    FROM unnest(ids) AS t(id)
    JOIN entries r ON r.id = t.id AND r.kind = 'refund'
    WHERE NOT EXISTS (SELECT 1 FROM entry_lines own WHERE own.entry_id = r.id);
$$;

CREATE FUNCTION entry_lines_of_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM fill_entry_lines(ARRAY(SELECT id FROM added));
    RETURN NULL;
END
$$;

-- Once per statement: a push of 500 entries is three INSERTs here, not
-- 1,500. Rows skipped by ON CONFLICT DO NOTHING are not in `added`.
CREATE TRIGGER entry_lines_fill AFTER INSERT ON entries
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION entry_lines_of_added();

-- The entries recorded before this migration.
SELECT fill_entry_lines(ARRAY(SELECT id FROM entries WHERE kind IN ('sale', 'refund')));
