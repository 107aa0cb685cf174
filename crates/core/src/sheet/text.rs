//! The bytes of a children file as the spreadsheet meant them: the
//! character set and the separator.

/// The text of `bytes`: UTF-8 or UTF-16 when a byte-order mark says so,
/// UTF-8 when it is valid, else Windows-1252, which Danish Excel's
/// «CSV (semikolonsepareret)» saves. No byte is refused: every byte has a
/// meaning in Windows-1252, and a wrong guess shows as a wrong letter in a
/// name, which the summary shows.
pub fn decode(bytes: &[u8]) -> String {
    if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        return encoding
            .decode_without_bom_handling(&bytes[bom..])
            .0
            .into_owned();
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => encoding_rs::WINDOWS_1252
            .decode_without_bom_handling(bytes)
            .0
            .into_owned(),
    }
}

/// The separator the header line uses: the most frequent of `,`, `;` and
/// tab outside quotes (`,` on a tie or when there is none). The header's
/// names hold none of them, so counting there is safe where a cell
/// further down (`"12,50"`) would mislead.
pub fn separator(header_line: &str) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for byte in header_line.bytes() {
        if byte == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some((_, n)) = counts.iter_mut().find(|(s, _)| *s == byte) {
            *n += 1;
        }
    }
    let mut best = counts[0];
    for candidate in counts {
        if candidate.1 > best.1 {
            best = candidate;
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_1252_utf8_and_byte_order_marks() {
        // "Søren Ærø" as Danish Excel saves it: ø is F8, Æ is C6.
        assert_eq!(decode(b"S\xf8ren \xc6r\xf8"), "Søren Ærø");
        // € is 80 in Windows-1252 (not in Latin-1).
        assert_eq!(decode(b"5 \x80"), "5 €");
        assert_eq!(decode("Søren".as_bytes()), "Søren");
        assert_eq!(decode(b"\xef\xbb\xbfS\xc3\xb8ren"), "Søren");
        // Excel's «Unicode text» is UTF-16 little-endian with a mark.
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("Søren".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(decode(&utf16), "Søren");
        assert_eq!(decode(b""), "");
    }

    #[test]
    fn the_separator_is_the_headers() {
        assert_eq!(separator("name,card_uid"), b',');
        assert_eq!(separator("navn;kort;saldo"), b';');
        assert_eq!(separator("navn\tkort"), b'\t');
        // A quoted label with a comma in it does not count.
        assert_eq!(separator("\"navn, fuldt\";kort"), b';');
        assert_eq!(separator("navn"), b',');
        assert_eq!(separator("a,b;c"), b',');
    }
}
