-- Tokens may expire: NULL is never (the tokens made before this).
ALTER TABLE tokens ADD COLUMN expires_at timestamptz;
