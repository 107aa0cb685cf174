-- Cash at the office and corrections (issue 15). A deposit or withdrawal
-- of cash at the office names the office's paper receipt; a refund of a
-- sale by the office and an adjustment say why. An adjustment is a kind
-- of its own, so the reports never count it as cash or as a sale.
ALTER TABLE entries ADD COLUMN receipt text CHECK (char_length(receipt) BETWEEN 1 AND 40);
ALTER TABLE entries ADD COLUMN reason text CHECK (char_length(reason) BETWEEN 1 AND 200);

ALTER TABLE entries DROP CONSTRAINT entries_kind_check;
ALTER TABLE entries ADD CONSTRAINT entries_kind_check
    CHECK (kind IN ('deposit', 'withdrawal', 'sale', 'refund', 'card_fee', 'adjustment'));
ALTER TABLE entries ADD CONSTRAINT entries_adjustment_has_reason
    CHECK (kind <> 'adjustment' OR reason IS NOT NULL);
