//! klubkasse-vcard: a virtual contactless card for tests, benchmarks and
//! demos. It puts a card on the `vsmartcard-vpcd` virtual reader that
//! `pcscd` serves, so the kiosk can be tested on the real PC/SC stack
//! without hardware (see ARCHITECTURE.md, "Testing without hardware").
//!
//! vpcd listens on loopback TCP 35963 (reader "Virtual PCD 00 00") and
//! 35964 ("Virtual PCD 00 01"). Connecting puts the card on the reader,
//! disconnecting takes it off. Each message either way is a 2-byte
//! big-endian length and a payload. From vpcd, a 1-byte payload is a
//! control code (0 power off, 1 power on, 2 reset, 4 send the ATR); any
//! longer payload is an APDU. The card answers the ATR request and APDUs,
//! length-prefixed, and nothing else.
//!
//! Not for a real counter: `install.sh --system` installs only `klubkasse`.
//!
//! One file, over 400 lines: a small program that is a protocol (vpcd's
//! framing, the card's answers) and its tests, read top to bottom.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use klubkasse_core::domain::CardUid;

/// A contactless card's ATR as PC/SC readers build it (PC/SC part 3).
const DEFAULT_ATR: &str = "3B8F8001804F0CA000000306030001000000006A";

#[derive(Parser)]
#[command(
    name = "klubkasse-vcard",
    about = "A virtual card on the vsmartcard-vpcd reader, for tests and demos"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Puts a card on the reader until its UID was read, holds it there
    /// a moment, then takes it off.
    Tap(TapArgs),
}

#[derive(clap::Args)]
struct TapArgs {
    /// The card's UID in hex: 4, 7 or 10 bytes (e.g. 04A1B2C3).
    #[arg(value_parser = CardUid::parse)]
    uid: CardUid,
    /// vpcd's TCP port on 127.0.0.1: 35963 is the first slot, 35964 the second.
    #[arg(long, default_value_t = 35963)]
    port: u16,
    /// Seconds the card stays on the reader after its UID was read.
    #[arg(long, default_value = "0.2", value_parser = seconds)]
    hold: Duration,
    /// Status word for the UID command; anything but 9000 is sent alone.
    #[arg(long, default_value = "9000", value_parser = status_word)]
    status: [u8; 2],
    /// Seconds to wait for the UID command before giving up.
    #[arg(long, default_value = "10", value_parser = seconds)]
    timeout: Duration,
    /// The card's ATR in hex (default: a contactless card's PC/SC ATR).
    #[arg(long, value_parser = atr)]
    atr: Option<Vec<u8>>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Command::Tap(args) = cli.command;
    match tap(&args) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("klubkasse-vcard: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum VcardError {
    #[error(
        "cannot connect to vpcd on 127.0.0.1:{port}: {source}. \
         pcscd with vsmartcard-vpcd must be running (./install.sh --test installs both; \
         start it with `pcscd --foreground &`)"
    )]
    Connect { port: u16, source: std::io::Error },
    #[error("the UID was not read within {0:?}: is pcscd polling this reader?")]
    Timeout(Duration),
    #[error("vpcd closed the connection before the UID was read")]
    Closed,
    #[error("talking to vpcd: {0}")]
    Io(#[from] std::io::Error),
    #[error("bad message from vpcd: {0}")]
    Protocol(#[from] ProtocolError),
}

impl VcardError {
    fn exit_code(&self) -> u8 {
        match self {
            VcardError::Connect { .. } => 2,
            _ => 1,
        }
    }
}

/// One run: connect, answer until the UID was read, hold, disconnect.
/// Returns the line to print.
fn tap(args: &TapArgs) -> Result<String, VcardError> {
    let card = Card {
        uid: hex(args.uid.as_str()).expect("a CardUid is hex"),
        status: args.status,
        atr: args
            .atr
            .clone()
            .unwrap_or_else(|| hex(DEFAULT_ATR).expect("the default ATR is hex")),
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let mut stream =
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|source| {
            VcardError::Connect {
                port: args.port,
                source,
            }
        })?;
    stream.set_nodelay(true)?;

    let started = Instant::now();
    let mut read_at: Option<Instant> = None;
    let mut line = String::new();
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        let deadline = match read_at {
            Some(at) => at + args.hold,
            None => started + args.timeout,
        };
        // Take every whole message already in the buffer before reading more.
        while let Some(payload) = take_frame(&mut buffer)? {
            let message = parse_message(&payload)?;
            let Some(answer) = card.answer(&message) else {
                continue;
            };
            stream.write_all(&frame(&answer.bytes)?)?;
            if answer.uid_read && read_at.is_none() {
                read_at = Some(Instant::now());
                line = if card.status == OK {
                    format!("read {}", args.uid)
                } else {
                    format!("refused UID read with {}", to_hex(&card.status))
                };
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return match read_at {
                Some(_) => Ok(line), // dropping the stream takes the card off
                None => Err(VcardError::Timeout(args.timeout)),
            };
        }
        stream.set_read_timeout(Some(deadline - now))?;
        match stream.read(&mut chunk) {
            Ok(0) if read_at.is_some() => return Ok(line),
            Ok(0) => return Err(VcardError::Closed),
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if read_at.is_some() && e.kind() == ErrorKind::ConnectionReset => {
                return Ok(line);
            }
            Err(e) => return Err(e.into()),
        }
    }
}

// ---- the protocol: pure functions ----

const OK: [u8; 2] = [0x90, 0x00];
const INS_NOT_SUPPORTED: [u8; 2] = [0x6D, 0x00];
/// PC/SC part 3 "get data": `FF CA 00 00 Le` asks for the card's UID.
const GET_UID: [u8; 4] = [0xFF, 0xCA, 0x00, 0x00];

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
enum ProtocolError {
    #[error("an empty message")]
    Empty,
    #[error("unknown control code {0}")]
    UnknownControl(u8),
    #[error("an answer of {0} bytes does not fit a message")]
    TooLong(usize),
}

/// A message from vpcd.
#[derive(Debug, PartialEq, Eq)]
enum Message {
    PowerOff,
    PowerOn,
    Reset,
    SendAtr,
    Apdu(Vec<u8>),
}

fn parse_message(payload: &[u8]) -> Result<Message, ProtocolError> {
    match payload {
        [] => Err(ProtocolError::Empty),
        [0] => Ok(Message::PowerOff),
        [1] => Ok(Message::PowerOn),
        [2] => Ok(Message::Reset),
        [4] => Ok(Message::SendAtr),
        [code] => Err(ProtocolError::UnknownControl(*code)),
        apdu => Ok(Message::Apdu(apdu.to_vec())),
    }
}

/// Takes one whole message's payload off the front of `buffer`, or `None`
/// while the message is still incomplete.
fn take_frame(buffer: &mut Vec<u8>) -> Result<Option<Vec<u8>>, ProtocolError> {
    let [high, low, ..] = buffer[..] else {
        return Ok(None);
    };
    let len = usize::from(u16::from_be_bytes([high, low]));
    if len == 0 {
        return Err(ProtocolError::Empty);
    }
    if buffer.len() < 2 + len {
        return Ok(None);
    }
    let payload = buffer[2..2 + len].to_vec();
    buffer.drain(..2 + len);
    Ok(Some(payload))
}

/// A payload with its 2-byte big-endian length in front.
fn frame(payload: &[u8]) -> Result<Vec<u8>, ProtocolError> {
    let len = u16::try_from(payload.len()).map_err(|_| ProtocolError::TooLong(payload.len()))?;
    let mut out = len.to_be_bytes().to_vec();
    out.extend_from_slice(payload);
    Ok(out)
}

struct Card {
    uid: Vec<u8>,
    /// The status word for the UID command.
    status: [u8; 2],
    atr: Vec<u8>,
}

#[derive(Debug, PartialEq, Eq)]
struct Answer {
    bytes: Vec<u8>,
    /// This answered the UID command.
    uid_read: bool,
}

impl Card {
    /// The card's answer to a message; `None` for those it answers silently.
    fn answer(&self, message: &Message) -> Option<Answer> {
        match message {
            Message::PowerOff | Message::PowerOn | Message::Reset => None,
            Message::SendAtr => Some(Answer {
                bytes: self.atr.clone(),
                uid_read: false,
            }),
            Message::Apdu(apdu) => Some(self.answer_apdu(apdu)),
        }
    }

    fn answer_apdu(&self, apdu: &[u8]) -> Answer {
        if apdu.len() == 5 && apdu.starts_with(&GET_UID) {
            let mut bytes = Vec::new();
            if self.status == OK {
                bytes.extend_from_slice(&self.uid);
            }
            bytes.extend_from_slice(&self.status);
            Answer {
                bytes,
                uid_read: true,
            }
        } else {
            Answer {
                bytes: INS_NOT_SUPPORTED.to_vec(),
                uid_read: false,
            }
        }
    }
}

// ---- arguments ----

/// Hex bytes, with or without spaces or colons between them.
fn hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = text.bytes().filter(|b| !matches!(b, b' ' | b':')).collect();
    if digits.is_empty() || !digits.len().is_multiple_of(2) {
        return Err(format!("«{text}» is not hex bytes (e.g. 9000)"));
    }
    digits
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|s| u8::from_str_radix(s, 16).ok())
                .ok_or_else(|| format!("«{text}» is not hex bytes (e.g. 9000)"))
        })
        .collect()
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn status_word(text: &str) -> Result<[u8; 2], String> {
    hex(text)?
        .try_into()
        .map_err(|_| format!("«{text}» is not a status word: 2 bytes in hex, e.g. 9000 or 6A81"))
}

fn atr(text: &str) -> Result<Vec<u8>, String> {
    let bytes = hex(text)?;
    if !(2..=33).contains(&bytes.len()) {
        return Err(format!("«{text}» is not an ATR: 2 to 33 bytes in hex"));
    }
    Ok(bytes)
}

fn seconds(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("«{text}» is not a number of seconds (e.g. 0.5)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(status: [u8; 2]) -> Card {
        Card {
            uid: vec![0x04, 0xA1, 0xB2, 0xC3],
            status,
            atr: hex(DEFAULT_ATR).unwrap(),
        }
    }

    #[test]
    fn control_codes_and_apdus_are_told_apart() {
        assert_eq!(parse_message(&[0]), Ok(Message::PowerOff));
        assert_eq!(parse_message(&[1]), Ok(Message::PowerOn));
        assert_eq!(parse_message(&[2]), Ok(Message::Reset));
        assert_eq!(parse_message(&[4]), Ok(Message::SendAtr));
        assert_eq!(parse_message(&[3]), Err(ProtocolError::UnknownControl(3)));
        assert_eq!(parse_message(&[]), Err(ProtocolError::Empty));
        assert_eq!(
            parse_message(&[0x00, 0xA4]),
            Ok(Message::Apdu(vec![0x00, 0xA4]))
        );
    }

    #[test]
    fn frames_are_taken_whole_and_only_whole() {
        let mut buffer = vec![0x00];
        assert_eq!(take_frame(&mut buffer), Ok(None));
        buffer.extend_from_slice(&[0x01, 0x04, 0x00, 0x05, 0xFF, 0xCA]);
        assert_eq!(take_frame(&mut buffer), Ok(Some(vec![0x04])));
        assert_eq!(take_frame(&mut buffer), Ok(None), "3 of 5 bytes so far");
        buffer.extend_from_slice(&[0x00, 0x00, 0x00]);
        assert_eq!(
            take_frame(&mut buffer),
            Ok(Some(vec![0xFF, 0xCA, 0x00, 0x00, 0x00]))
        );
        assert!(buffer.is_empty());
        assert_eq!(take_frame(&mut buffer), Ok(None));
    }

    #[test]
    fn a_zero_length_frame_is_an_error() {
        let mut buffer = vec![0x00, 0x00, 0x01];
        assert_eq!(take_frame(&mut buffer), Err(ProtocolError::Empty));
    }

    #[test]
    fn frame_puts_the_big_endian_length_in_front() {
        assert_eq!(frame(&[0x90, 0x00]), Ok(vec![0x00, 0x02, 0x90, 0x00]));
        let long = vec![0u8; 0x0123];
        assert_eq!(frame(&long).unwrap()[..2], [0x01, 0x23]);
        assert_eq!(
            frame(&vec![0u8; 70_000]),
            Err(ProtocolError::TooLong(70_000))
        );
    }

    #[test]
    fn the_uid_command_gets_the_uid_and_9000() {
        let answer = card(OK).answer(&Message::Apdu(vec![0xFF, 0xCA, 0x00, 0x00, 0x00]));
        assert_eq!(
            answer,
            Some(Answer {
                bytes: vec![0x04, 0xA1, 0xB2, 0xC3, 0x90, 0x00],
                uid_read: true,
            })
        );
    }

    #[test]
    fn another_status_word_is_sent_alone() {
        let answer = card([0x6A, 0x81]).answer(&Message::Apdu(vec![0xFF, 0xCA, 0x00, 0x00, 0x04]));
        assert_eq!(
            answer,
            Some(Answer {
                bytes: vec![0x6A, 0x81],
                uid_read: true,
            })
        );
    }

    #[test]
    fn other_apdus_get_6d00() {
        for apdu in [
            vec![0x00, 0xA4, 0x04, 0x00, 0x00],
            vec![0xFF, 0xCA, 0x01, 0x00, 0x00], // get data, but the ATS
            vec![0xFF, 0xCA, 0x00, 0x00],       // no Le
            vec![0xFF, 0xCA, 0x00, 0x00, 0x00, 0x00],
        ] {
            assert_eq!(
                card(OK).answer(&Message::Apdu(apdu.clone())),
                Some(Answer {
                    bytes: vec![0x6D, 0x00],
                    uid_read: false
                }),
                "{apdu:02X?}"
            );
        }
    }

    #[test]
    fn power_is_silent_and_the_atr_is_sent() {
        let card = card(OK);
        for message in [Message::PowerOff, Message::PowerOn, Message::Reset] {
            assert_eq!(card.answer(&message), None);
        }
        let atr = card.answer(&Message::SendAtr).unwrap();
        assert_eq!(atr.bytes[..2], [0x3B, 0x8F]);
        assert_eq!(atr.bytes.len(), 20);
        assert!(!atr.uid_read);
    }

    #[test]
    fn arguments_are_checked() {
        assert_eq!(hex("3B 8F:80"), Ok(vec![0x3B, 0x8F, 0x80]));
        assert!(hex("ABC").is_err());
        assert!(hex("zz").is_err());
        assert!(hex("").is_err());
        assert!(hex("é1").is_err());
        assert_eq!(status_word("6a81"), Ok([0x6A, 0x81]));
        assert!(status_word("90").is_err());
        assert!(status_word("900000").is_err());
        assert!(atr("3B").is_err());
        assert!(atr(DEFAULT_ATR).is_ok());
        assert_eq!(seconds("0.2"), Ok(Duration::from_millis(200)));
        assert!(seconds("-1").is_err());
        assert!(seconds("NaN").is_err());
        assert!(seconds("soon").is_err());
    }

    #[test]
    fn the_command_line_parses() {
        let cli = Cli::try_parse_from([
            "klubkasse-vcard",
            "tap",
            "04a1b2c3",
            "--port",
            "35964",
            "--hold",
            "1",
            "--status",
            "6A81",
        ])
        .unwrap();
        let Command::Tap(args) = cli.command;
        assert_eq!(args.uid.as_str(), "04A1B2C3");
        assert_eq!(args.port, 35964);
        assert_eq!(args.hold, Duration::from_secs(1));
        assert_eq!(args.status, [0x6A, 0x81]);
        assert_eq!(args.timeout, Duration::from_secs(10));
        assert!(Cli::try_parse_from(["klubkasse-vcard", "tap", "04A1B2"]).is_err());
    }
}
