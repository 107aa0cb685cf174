-- The office's reports at a municipality's size (issue 15): a month of
-- 100,000 children is some 800,000 entries, too many to sum for each page.
-- These tables hold the sums per UTC hour, club and counter, kept by the
-- database from every INSERT into entries and entry_lines (entries are
-- never changed or removed), so a report sums a few thousand rows. A
-- local day is whole UTC hours in every time zone whose offset is whole
-- hours (Denmark's, summer and winter).
--
-- The counter is in both keys: a push takes only its own counter's rows,
-- so two counters never wait for each other here.
CREATE TABLE report_hours (
    hour timestamptz NOT NULL,
    club text NOT NULL,
    counter text NOT NULL,
    kind text NOT NULL,
    count bigint NOT NULL,
    total numeric(16,2) NOT NULL,
    PRIMARY KEY (hour, club, counter, kind)
);

CREATE TABLE report_hour_items (
    hour timestamptz NOT NULL,
    club text NOT NULL,
    counter text NOT NULL,
    -- NULL with unit_price: refunds of part of a sale, naming no item.
    name text,
    unit_price numeric(12,2),
    count bigint NOT NULL,
    amount numeric(16,2) NOT NULL,
    CONSTRAINT report_hour_items_key UNIQUE NULLS NOT DISTINCT (hour, club, counter, name, unit_price)
);

CREATE FUNCTION report_hour(at timestamptz) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN date_trunc('hour', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';

-- In key order, so that two statements taking the same rows take them in
-- the same order.
CREATE FUNCTION report_hours_of_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_hours AS r (hour, club, counter, kind, count, total)
    SELECT report_hour(at), club, counter, kind, count(*), sum(amount)
    FROM added GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (hour, club, counter, kind)
    DO UPDATE SET count = r.count + excluded.count, total = r.total + excluded.total;
    RETURN NULL;
END
$$;

CREATE TRIGGER report_hours_fill AFTER INSERT ON entries
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION report_hours_of_added();

CREATE FUNCTION report_hour_items_of_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_hour_items AS r (hour, club, counter, name, unit_price, count, amount)
    SELECT report_hour(e.at), e.club, e.counter, l.name, l.unit_price, sum(l.quantity), sum(l.amount)
    FROM added l JOIN entries e ON e.id = l.entry_id
    GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT ON CONSTRAINT report_hour_items_key
    DO UPDATE SET count = r.count + excluded.count, amount = r.amount + excluded.amount;
    RETURN NULL;
END
$$;

CREATE TRIGGER report_hour_items_fill AFTER INSERT ON entry_lines
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION report_hour_items_of_added();

-- Both tables again from the entries and their lines, whatever they held:
-- for what was recorded before this migration, and for checks.
CREATE FUNCTION fill_report_hours() RETURNS void LANGUAGE sql AS $$
    DELETE FROM report_hours;
    DELETE FROM report_hour_items;

    INSERT INTO report_hours (hour, club, counter, kind, count, total)
    SELECT report_hour(at), club, counter, kind, count(*), sum(amount)
    FROM entries GROUP BY 1, 2, 3, 4;

    INSERT INTO report_hour_items (hour, club, counter, name, unit_price, count, amount)
    SELECT report_hour(e.at), e.club, e.counter, l.name, l.unit_price, sum(l.quantity), sum(l.amount)
    FROM entry_lines l JOIN entries e ON e.id = l.entry_id
    GROUP BY 1, 2, 3, 4, 5;
$$;

SELECT fill_report_hours();
