//! [`FailureLog`]: how often "tick not published" is logged.
//!
//! Why: during a broker outage every tick fails (~50 a second); one WARN per tick buried
//! everything else (issue 16). A streak of failures is logged as its first failure, then
//! at most one summary per interval with the count since the last line, then one line
//! when publishing succeeds again. Every failure is still counted (`publish_failures`).
//!
//! Pure: the caller passes the instant, so the policy is tested without a clock.

use std::time::{Duration, Instant};

/// The default interval between two summaries of one streak.
pub(super) const SUMMARY_EVERY: Duration = Duration::from_secs(10);

/// What to log now, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Line {
    /// The first failure of a streak.
    First,
    /// `failures` more since the last line; `total` in the streak so far.
    Summary { failures: u64, total: u64 },
    /// Publishing works again after `total` failures over `lasted`.
    Recovered { total: u64, lasted: Duration },
}

#[derive(Debug)]
struct Streak {
    since: Instant,
    total: u64,
    unreported: u64,
    last_line: Instant,
}

/// The state of the current streak of failures, if any.
#[derive(Debug)]
pub(super) struct FailureLog {
    every: Duration,
    streak: Option<Streak>,
}

impl FailureLog {
    pub(super) fn new(every: Duration) -> Self {
        FailureLog {
            every,
            streak: None,
        }
    }

    /// A publication failed at `now`.
    pub(super) fn failed(&mut self, now: Instant) -> Option<Line> {
        let Some(s) = &mut self.streak else {
            self.streak = Some(Streak {
                since: now,
                total: 1,
                unreported: 0,
                last_line: now,
            });
            return Some(Line::First);
        };
        s.total += 1;
        s.unreported += 1;
        if now.saturating_duration_since(s.last_line) < self.every {
            return None;
        }
        let failures = std::mem::take(&mut s.unreported);
        s.last_line = now;
        Some(Line::Summary {
            failures,
            total: s.total,
        })
    }

    /// A publication succeeded at `now`.
    pub(super) fn succeeded(&mut self, now: Instant) -> Option<Line> {
        let s = self.streak.take()?;
        Some(Line::Recovered {
            total: s.total,
            lasted: now.saturating_duration_since(s.since),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy)]
    enum Event {
        Fail(u64),
        Ok(u64),
    }

    /// Replays `events` (each at a millisecond offset) and returns the lines logged.
    fn replay(events: &[Event]) -> Vec<Line> {
        let start = Instant::now();
        let mut log = FailureLog::new(SUMMARY_EVERY);
        events
            .iter()
            .filter_map(|e| match *e {
                Event::Fail(ms) => log.failed(start + Duration::from_millis(ms)),
                Event::Ok(ms) => log.succeeded(start + Duration::from_millis(ms)),
            })
            .collect()
    }

    #[test]
    fn a_streak_logs_its_first_failure_a_summary_per_interval_and_the_recovery() {
        use Event::*;
        // 50 failures a second for 25 s, then a success.
        let mut outage: Vec<Event> = (0..1250).map(|i| Fail(i * 20)).collect();
        outage.push(Ok(25_000));
        let cases: Vec<(&str, Vec<Event>, Vec<Line>)> = vec![
            ("successes only", vec![Ok(0), Ok(1)], vec![]),
            ("one failure", vec![Fail(0)], vec![Line::First]),
            (
                "a short streak: the first and the recovery",
                vec![Fail(0), Fail(5), Fail(9_999), Ok(10_500)],
                vec![
                    Line::First,
                    Line::Recovered {
                        total: 3,
                        lasted: Duration::from_millis(10_500),
                    },
                ],
            ),
            (
                "a 25 s outage at 50/s: four lines, not 1250",
                outage,
                vec![
                    Line::First,
                    Line::Summary {
                        failures: 500,
                        total: 501,
                    },
                    Line::Summary {
                        failures: 500,
                        total: 1001,
                    },
                    Line::Recovered {
                        total: 1250,
                        lasted: Duration::from_secs(25),
                    },
                ],
            ),
            (
                "a new streak after a recovery starts over",
                vec![Fail(0), Ok(1), Fail(2)],
                vec![
                    Line::First,
                    Line::Recovered {
                        total: 1,
                        lasted: Duration::from_millis(1),
                    },
                    Line::First,
                ],
            ),
        ];
        for (name, events, expected) in cases {
            assert_eq!(replay(&events), expected, "{name}");
        }
    }
}
