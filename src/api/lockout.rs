//! [`Lockout`]: failed control attempts rate-limited per client address.
//!
//! Why: 5,000 wrong-token guesses in 2 s were neither slowed nor summarised (5,000 WARN
//! lines; issue 16). The policy, per client IP address (the TCP peer; a port or a forwarded
//! header is not an identity, and a header is the client's to forge):
//! - a window opens at an address's first failure (missing or wrong bearer token) and
//!   lasts [`WINDOW`]; a window that passes without reaching the limit is forgotten;
//! - the [`MAX_FAILURES`]th failure inside a window locks the address out for [`WINDOW`]
//!   from then: every control request from it is 429 with `Retry-After`, **even with the
//!   right token** (the token is not even compared, so a locked-out guesser learns
//!   nothing), and requests during the lockout do not extend it;
//! - a success (right token, not locked out) forgets the address's failures;
//! - logging is per window, not per attempt: one WARN at the first failure, one WARN when
//!   the address is locked out (with the count), one INFO when an ended lockout is next
//!   seen (with the number of 429s). `alpha_panda_api_control_refused_total{reason}`
//!   counts every refusal.
//!
//! Invariants: at most [`MAX_TRACKED`] addresses are remembered (expired ones are pruned
//! first, then the oldest window), so a spray from many addresses costs bounded memory.
//! Pure: the caller passes the instant; one short lock per control request.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Failures within one window that lock an address out.
pub(crate) const MAX_FAILURES: u32 = 5;

/// How long a window of failures, and a lockout, last.
pub(crate) const WINDOW: Duration = Duration::from_secs(60);

/// Most addresses remembered at once.
pub(crate) const MAX_TRACKED: usize = 10_000;

/// What to log about an address, at most a few times per window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Note {
    /// The first failure of a window.
    FirstFailure,
    /// The address is locked out now, after `failures` in the window.
    LockedOut { failures: u32 },
    /// A lockout ended; `refused` requests were answered 429 during it.
    LockoutEnded { refused: u64 },
}

/// Whether a control request may try its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Check the token (and log the note, if any).
    Allowed(Option<Note>),
    /// 429: locked out for `retry_after` more.
    LockedOut { retry_after: Duration },
}

#[derive(Debug, Clone)]
struct Client {
    window_start: Instant,
    failures: u32,
    locked_until: Option<Instant>,
    refused: u64,
}

/// Failed control attempts per client address (see the module docs).
#[derive(Debug)]
pub(crate) struct Lockout {
    max_failures: u32,
    window: Duration,
    max_tracked: usize,
    clients: Mutex<HashMap<IpAddr, Client>>,
}

impl Default for Lockout {
    fn default() -> Self {
        Lockout::new(MAX_FAILURES, WINDOW, MAX_TRACKED)
    }
}

impl Lockout {
    pub(crate) fn new(max_failures: u32, window: Duration, max_tracked: usize) -> Self {
        Lockout {
            max_failures: max_failures.max(1),
            window,
            max_tracked: max_tracked.max(1),
            clients: Mutex::new(HashMap::new()),
        }
    }

    fn clients(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Client>> {
        // The map holds plain values; a panic elsewhere cannot leave one half-written.
        self.clients.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Before the token is compared: is `ip` locked out at `now`?
    pub(crate) fn admit(&self, ip: IpAddr, now: Instant) -> Admission {
        let mut clients = self.clients();
        let Some(client) = clients.get_mut(&ip) else {
            return Admission::Allowed(None);
        };
        match client.locked_until {
            Some(until) if now < until => {
                client.refused += 1;
                Admission::LockedOut {
                    retry_after: until - now,
                }
            }
            Some(_) => {
                let refused = client.refused;
                clients.remove(&ip);
                Admission::Allowed(Some(Note::LockoutEnded { refused }))
            }
            None => Admission::Allowed(None),
        }
    }

    /// The token of a request from `ip` was missing or wrong at `now`.
    pub(crate) fn failed(&self, ip: IpAddr, now: Instant) -> Option<Note> {
        let mut clients = self.clients();
        if !clients.contains_key(&ip) && clients.len() >= self.max_tracked {
            self.make_room(&mut clients, now);
        }
        let client = clients.entry(ip).or_insert(Client {
            window_start: now,
            failures: 0,
            locked_until: None,
            refused: 0,
        });
        if client.locked_until.is_none()
            && now.saturating_duration_since(client.window_start) >= self.window
        {
            // The last window passed below the limit: a fresh one.
            client.window_start = now;
            client.failures = 0;
        }
        client.failures = client.failures.saturating_add(1);
        if client.failures >= self.max_failures && client.locked_until.is_none() {
            client.locked_until = Some(now + self.window);
            return Some(Note::LockedOut {
                failures: client.failures,
            });
        }
        (client.failures == 1).then_some(Note::FirstFailure)
    }

    /// The right token came from `ip`: its failures are forgotten.
    pub(crate) fn succeeded(&self, ip: IpAddr) {
        self.clients().remove(&ip);
    }

    /// Drops what has expired; if that is not enough, the oldest window.
    fn make_room(&self, clients: &mut HashMap<IpAddr, Client>, now: Instant) {
        let window = self.window;
        clients.retain(|_, c| match c.locked_until {
            Some(until) => now < until,
            None => now.saturating_duration_since(c.window_start) < window,
        });
        if clients.len() >= self.max_tracked
            && let Some(oldest) = clients
                .iter()
                .min_by_key(|(_, c)| c.window_start)
                .map(|(ip, _)| *ip)
        {
            clients.remove(&oldest);
        }
    }

    /// How many addresses are remembered.
    #[cfg(test)]
    pub(crate) fn tracked(&self) -> usize {
        self.clients().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[derive(Debug, Clone, Copy)]
    enum Step {
        /// A request from the address at `secs`, with the right token or not.
        Try { ip: IpAddr, secs: u64, right: bool },
    }

    /// What a request got: 200-equivalent, 401 or 429 (with whole seconds to wait).
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Got {
        Ok(Option<Note>),
        Unauthorized(Option<Note>),
        TooMany(u64),
    }

    fn run(steps: &[Step]) -> Vec<Got> {
        let lockout = Lockout::new(MAX_FAILURES, WINDOW, MAX_TRACKED);
        let start = Instant::now();
        steps
            .iter()
            .map(|Step::Try { ip, secs, right }| {
                let now = start + Duration::from_secs(*secs);
                match lockout.admit(*ip, now) {
                    Admission::LockedOut { retry_after } => Got::TooMany(retry_after.as_secs()),
                    Admission::Allowed(note) if *right => {
                        lockout.succeeded(*ip);
                        Got::Ok(note)
                    }
                    Admission::Allowed(note) => {
                        Got::Unauthorized(note.or(lockout.failed(*ip, now)))
                    }
                }
            })
            .collect()
    }

    fn wrong(ip: IpAddr, secs: u64) -> Step {
        Step::Try {
            ip,
            secs,
            right: false,
        }
    }

    fn right(ip: IpAddr, secs: u64) -> Step {
        Step::Try {
            ip,
            secs,
            right: true,
        }
    }

    #[test]
    fn the_lockout_policy_as_a_table() {
        use Got::*;
        let first = Unauthorized(Some(Note::FirstFailure));
        let quiet = Unauthorized(None);
        let locked = Unauthorized(Some(Note::LockedOut { failures: 5 }));
        let five = |ip| (0..5).map(|s| wrong(ip, s)).collect::<Vec<_>>();
        let cases: Vec<(&str, Vec<Step>, Vec<Got>)> = vec![
            (
                "four failures: logged once, never locked",
                (0..4).map(|s| wrong(A, s)).chain([right(A, 5)]).collect(),
                vec![
                    first.clone(),
                    quiet.clone(),
                    quiet.clone(),
                    quiet.clone(),
                    Ok(None),
                ],
            ),
            (
                "the fifth failure locks out, even the right token is 429 until it passes",
                five(A)
                    .into_iter()
                    .chain([right(A, 10), wrong(A, 63), right(A, 64)])
                    .collect(),
                vec![
                    first.clone(),
                    quiet.clone(),
                    quiet.clone(),
                    quiet.clone(),
                    locked.clone(),
                    TooMany(54),
                    TooMany(1),
                    Ok(Some(Note::LockoutEnded { refused: 2 })),
                ],
            ),
            (
                "another address is not affected",
                five(A)
                    .into_iter()
                    .chain([right(B, 5), wrong(B, 6)])
                    .collect(),
                vec![
                    first.clone(),
                    quiet.clone(),
                    quiet.clone(),
                    quiet.clone(),
                    locked.clone(),
                    Ok(None),
                    first.clone(),
                ],
            ),
            (
                "a window that passes below the limit starts over",
                vec![
                    wrong(A, 0),
                    wrong(A, 1),
                    wrong(A, 2),
                    wrong(A, 3),
                    wrong(A, 60),
                    wrong(A, 61),
                ],
                vec![
                    first.clone(),
                    quiet.clone(),
                    quiet.clone(),
                    quiet.clone(),
                    first.clone(),
                    quiet.clone(),
                ],
            ),
            (
                "a success forgets the failures",
                vec![
                    wrong(A, 0),
                    wrong(A, 1),
                    wrong(A, 2),
                    wrong(A, 3),
                    right(A, 4),
                    wrong(A, 5),
                ],
                vec![
                    first.clone(),
                    quiet.clone(),
                    quiet.clone(),
                    quiet.clone(),
                    Ok(None),
                    first.clone(),
                ],
            ),
        ];
        for (name, steps, expected) in cases {
            assert_eq!(run(&steps), expected, "{name}");
        }
    }

    #[test]
    fn memory_is_bounded_under_a_spray_of_addresses() {
        let lockout = Lockout::new(MAX_FAILURES, WINDOW, 100);
        let now = Instant::now();
        for n in 0..10_000_u32 {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0A00_0000 + n));
            lockout.failed(ip, now);
        }
        assert!(lockout.tracked() <= 100, "{}", lockout.tracked());
    }
}
