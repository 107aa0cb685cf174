-- Finding a child by part of its name among a municipality's 100,000
-- (issue 15): a trigram index answers `name ILIKE '%…%'` for three
-- letters or more. pg_trgm is a trusted extension (PostgreSQL 13 and
-- later): the database's owner may create it; if the ledger's role may
-- not, someone who may runs `CREATE EXTENSION pg_trgm` first.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX children_name_trgm ON children USING gin (name gin_trgm_ops);
