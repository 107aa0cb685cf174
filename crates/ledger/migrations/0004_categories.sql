-- The categories a parent may block, beside those the child has bought
-- from: the ledger's own list, so that the portal needs no counter's menu.
-- Seeded with the sample menu's categories.
CREATE TABLE categories (
    name TEXT PRIMARY KEY CHECK (name = lower(name) AND name <> '')
);
INSERT INTO categories (name) VALUES ('aktiviteter'), ('drikke'), ('mad'), ('materialer'), ('slik');
