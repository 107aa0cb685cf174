//! The one command the kiosk sends a card: PC/SC part 3 "get UID".

use klubkasse_core::domain::{CardUid, CardUidError};

/// `FF CA 00 00 00`: get the card's UID, whatever its length.
pub const GET_UID: [u8; 5] = [0xFF, 0xCA, 0x00, 0x00, 0x00];

/// Why a card's answer gave no UID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardAnswerError {
    #[error("the card answered with status {0:02X} {1:02X}")]
    Status(u8, u8),
    #[error("the card's answer is too short ({0} bytes)")]
    TooShort(usize),
    #[error(transparent)]
    Uid(#[from] CardUidError),
}

/// The UID in an answer to [`GET_UID`]: the UID bytes, then `90 00`.
pub fn parse_uid_answer(answer: &[u8]) -> Result<CardUid, CardAnswerError> {
    let Some((status, uid)) = answer
        .len()
        .checked_sub(2)
        .map(|n| (&answer[n..], &answer[..n]))
    else {
        return Err(CardAnswerError::TooShort(answer.len()));
    };
    if status != [0x90, 0x00] {
        return Err(CardAnswerError::Status(status[0], status[1]));
    }
    Ok(CardUid::from_bytes(uid)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn uid_lengths_and_status_words() {
        assert_eq!(
            parse_uid_answer(&[0x04, 0xA1, 0xB2, 0xC3, 0x90, 0x00])
                .unwrap()
                .as_str(),
            "04A1B2C3"
        );
        let seven = [0x04, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x90, 0x00];
        assert_eq!(parse_uid_answer(&seven).unwrap().as_str(), "04112233445566");
        assert_eq!(
            parse_uid_answer(&[0x6A, 0x81]),
            Err(CardAnswerError::Status(0x6A, 0x81))
        );
        assert_eq!(parse_uid_answer(&[0x90]), Err(CardAnswerError::TooShort(1)));
        assert_eq!(parse_uid_answer(&[]), Err(CardAnswerError::TooShort(0)));
        assert!(matches!(
            parse_uid_answer(&[0x90, 0x00]),
            Err(CardAnswerError::Uid(_))
        ));
        assert!(matches!(
            parse_uid_answer(&[1, 2, 3, 0x90, 0x00]),
            Err(CardAnswerError::Uid(_))
        ));
    }

    proptest! {
        /// Any bytes at all: an answer or an error, never a panic.
        #[test]
        fn never_panics(answer in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = parse_uid_answer(&answer);
        }

        #[test]
        fn valid_uids_round_trip(uid in prop_oneof![
            proptest::collection::vec(any::<u8>(), 4),
            proptest::collection::vec(any::<u8>(), 7),
            proptest::collection::vec(any::<u8>(), 10),
        ]) {
            let mut answer = uid.clone();
            answer.extend_from_slice(&[0x90, 0x00]);
            prop_assert_eq!(parse_uid_answer(&answer).unwrap(), CardUid::from_bytes(&uid).unwrap());
        }
    }
}
