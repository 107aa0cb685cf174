//! A loopback HTTP/1.1 proxy between counters and the ledger. It relays
//! whole exchanges (it knows where a request and an answer end), so it can
//! go down like a dead network, or break single exchanges in the ways a
//! real network and a real gateway do, chosen by a seeded RNG.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Set to repeat a run of `Proxy::inject_faults` with the same choices.
pub const SEED_VAR: &str = "KLUBKASSE_FAULT_SEED";

/// One way an exchange breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// Part of the request reaches the ledger, then the line is cut.
    CutMidRequest,
    /// The ledger answers, the answer is held past the client's timeout.
    DelayPastTimeout,
    /// A 500 from the proxy; the ledger never sees the request.
    InternalError,
    /// The ledger answers and commits; the client gets a 502 instead.
    BadGateway,
    /// The ledger answers and commits; the answer is cut half-way.
    CutAnswer,
}

impl Fault {
    pub const ALL: [Fault; 5] = [
        Fault::CutMidRequest,
        Fault::DelayPastTimeout,
        Fault::InternalError,
        Fault::BadGateway,
        Fault::CutAnswer,
    ];
}

/// xorshift64*: deterministic and dependency-free; quality is irrelevant.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1) // xorshift never leaves 0
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// In `0..n`; `n` must not be 0.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// The seed from `KLUBKASSE_FAULT_SEED`, or a fresh one; printed, so that a
/// failing run can be repeated. It fixes the sequence of choices (and what
/// a test derives from it); which exchange meets which choice still depends
/// on timing, as on a real network.
pub fn fault_seed() -> u64 {
    let seed = match std::env::var(SEED_VAR) {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("{SEED_VAR}={text} is not a number")),
        Err(_) => {
            let mut bytes = [0u8; 8];
            getrandom::fill(&mut bytes).expect("random seed");
            u64::from_le_bytes(bytes)
        }
    };
    println!("fault seed: {seed} (repeat with {SEED_VAR}={seed})");
    seed
}

enum Mode {
    Up,
    /// Every connection refused and every open one cut.
    Down,
    /// Each exchange breaks with `percent` % chance, in one of `Fault::ALL`.
    Faulty {
        rng: Rng,
        percent: u64,
        hold: Duration,
    },
}

struct Shared {
    target: SocketAddr,
    mode: Mutex<Mode>,
    connections: Mutex<Vec<JoinHandle<()>>>,
    /// (fault, route) → how often.
    injected: Mutex<BTreeMap<(Fault, String), usize>>,
}

pub struct Proxy {
    port: u16,
    shared: Arc<Shared>,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let shared = Arc::new(Shared {
            target,
            mode: Mutex::new(Mode::Up),
            connections: Mutex::new(Vec::new()),
            injected: Mutex::new(BTreeMap::new()),
        });
        let accepting = shared.clone();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if matches!(*accepting.mode.lock().unwrap(), Mode::Down) {
                    continue; // dropped: closed at once
                }
                let task = tokio::spawn(relay(accepting.clone(), inbound));
                let mut connections = accepting.connections.lock().unwrap();
                connections.retain(|c| !c.is_finished());
                connections.push(task);
            }
        });
        Proxy { port, shared }
    }

    pub fn down(&self) {
        *self.shared.mode.lock().unwrap() = Mode::Down;
        for task in self.shared.connections.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    /// Relays everything again, faithfully.
    pub fn up(&self) {
        *self.shared.mode.lock().unwrap() = Mode::Up;
    }

    /// From now on `percent` % of exchanges break; `hold` is how long a
    /// delayed answer is held (longer than the client's timeout).
    pub fn inject_faults(&self, seed: u64, percent: u64, hold: Duration) {
        *self.shared.mode.lock().unwrap() = Mode::Faulty {
            rng: Rng::new(seed),
            percent,
            hold,
        };
    }

    /// How often each fault was injected, per route.
    pub fn injected(&self) -> BTreeMap<(Fault, String), usize> {
        self.shared.injected.lock().unwrap().clone()
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// An exchange about to break: how, where a cut falls, how long a hold lasts.
struct Breakage {
    fault: Fault,
    cut: u64,
    hold: Duration,
}

impl Breakage {
    /// The part of `message` that gets through a cut: at least one byte,
    /// never all.
    fn cut<'m>(&self, message: &'m [u8]) -> &'m [u8] {
        &message[..1 + (self.cut % (message.len() as u64 - 1)) as usize]
    }
}

/// Whether the next exchange breaks, and how.
fn choose(shared: &Shared) -> Option<Breakage> {
    let mut mode = shared.mode.lock().unwrap();
    let Mode::Faulty { rng, percent, hold } = &mut *mode else {
        return None;
    };
    if rng.below(100) >= *percent {
        return None;
    }
    Some(Breakage {
        fault: Fault::ALL[rng.below(Fault::ALL.len() as u64) as usize],
        cut: rng.next_u64(),
        hold: *hold,
    })
}

/// Relays one counter's connection, exchange by exchange, until either side
/// closes or a fault cuts it.
async fn relay(shared: Arc<Shared>, mut inbound: TcpStream) {
    let Ok(mut outbound) = TcpStream::connect(shared.target).await else {
        return;
    };
    let (mut from_counter, mut from_ledger) = (Vec::new(), Vec::new());
    while let Ok(Some(request)) = read_message(&mut inbound, &mut from_counter).await {
        let breakage = choose(&shared);
        if let Some(breakage) = &breakage {
            *shared
                .injected
                .lock()
                .unwrap()
                .entry((breakage.fault, route_of(&request)))
                .or_default() += 1;
            match breakage.fault {
                Fault::CutMidRequest => {
                    let _ = outbound.write_all(breakage.cut(&request)).await;
                    return;
                }
                Fault::InternalError => {
                    let _ = inbound.write_all(&status_answer(500)).await;
                    return;
                }
                _ => {}
            }
        }
        if outbound.write_all(&request).await.is_err() {
            return;
        }
        let Ok(Some(answer)) = read_message(&mut outbound, &mut from_ledger).await else {
            return;
        };
        let reply = match &breakage {
            None => answer,
            Some(breakage) => match breakage.fault {
                Fault::DelayPastTimeout => {
                    tokio::time::sleep(breakage.hold).await;
                    answer
                }
                Fault::BadGateway => status_answer(502),
                Fault::CutAnswer => breakage.cut(&answer).to_vec(),
                Fault::CutMidRequest | Fault::InternalError => {
                    unreachable!("answered before the ledger was asked")
                }
            },
        };
        // A broken exchange leaves the connection unusable.
        if inbound.write_all(&reply).await.is_err() || breakage.is_some() {
            return;
        }
    }
}

/// A gateway's own answer, closing the connection.
fn status_answer(status: u16) -> Vec<u8> {
    let reason = if status == 502 {
        "Bad Gateway"
    } else {
        "Internal Server Error"
    };
    let body = format!(r#"{{"error":"internal","message":"{reason} (fault proxy)"}}"#);
    format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Reads one HTTP/1.1 message (head and a Content-Length body) from
/// `stream`, keeping what comes after it in `buffer`. `None`: the peer
/// closed between messages.
async fn read_message(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(head_end) = find(buffer, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..head_end]).to_ascii_lowercase();
            assert!(
                !head.contains("transfer-encoding: chunked"),
                "the proxy relays Content-Length bodies only:\n{head}"
            );
            let body_len = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .map(|n| n.trim().parse::<usize>().expect("content-length"))
                .unwrap_or(0);
            let total = head_end + 4 + body_len;
            if buffer.len() >= total {
                let rest = buffer.split_off(total);
                return Ok(Some(std::mem::replace(buffer, rest)));
            }
        }
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            if buffer.is_empty() {
                return Ok(None);
            }
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// "POST /api/v1/kiosk/entries" from the request line, without the query.
fn route_of(request: &[u8]) -> String {
    let line = first_line(request);
    let mut parts = line.split(' ');
    let method = parts.next().unwrap_or_default();
    let path = parts.next().unwrap_or_default();
    let path = path.split('?').next().unwrap_or_default();
    format!("{method} {path}")
}

fn first_line(message: &[u8]) -> String {
    let end = find(message, b"\r\n").unwrap_or(message.len());
    String::from_utf8_lossy(&message[..end]).into_owned()
}
