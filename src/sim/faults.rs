//! Faults a test (or `--faults`) can inject, and the parser for the CLI's fault plan.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// One fault. See `SimHandle::inject`.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Close every client socket (the listener stays up, so clients reconnect).
    Drop,
    /// IB's nightly restart: notice 1100 to every client, then close; 1102 after reconnect.
    DailyRestart,
    /// Keep sockets open but send nothing for this long (queued answers go out afterwards).
    Stall(Duration),
    /// The next `times` connection attempts get error 326 and are closed.
    ClientIdInUse { times: u32 },
    /// These symbols have no live market-data subscription: 354 when live data is requested,
    /// 10167 + delayed data when delayed data is allowed (market-data type 3 or 4).
    NoSubscription(Vec<String>),
    /// Sprinkle IB's sentinel values (-1, 0, 1.797e308, NaN) into tick streams.
    Sentinels(bool),
    /// The next historical-data request is refused with error 162.
    PacingViolationNext,
    /// No streaming ticks for these symbols (empty: every symbol) for this long; the
    /// connection and everything else keep flowing.
    Silence {
        symbols: Vec<String>,
        duration: Duration,
    },
}

/// Faults to apply at start and at fixed offsets after start.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultPlan {
    pub at_start: Vec<Fault>,
    pub scheduled: Vec<(Duration, Fault)>,
}

impl FaultPlan {
    pub fn none() -> Self {
        FaultPlan::default()
    }

    /// Parses a plan such as `"drop@30s,restart@60s,stall@90s:10s,sentinels,nosub=HDRX,clientid"`.
    ///
    /// Items (comma-separated): `drop`, `restart`, `stall:DUR`, `clientid[=N]`,
    /// `nosub=SYM[+SYM…]`, `sentinels`, `pacing`, `silence[=SYM[+SYM…]]:DUR` (no symbols:
    /// every one); any item may carry `@TIME` to fire that long
    /// after start. Times: `500ms`, `30s`, `5m`, `1h`, or a bare number of seconds.
    pub fn parse(s: &str) -> Result<FaultPlan, String> {
        let mut plan = FaultPlan::default();
        for raw in s.split(',').map(str::trim).filter(|x| !x.is_empty()) {
            let (head, when) = match raw.split_once('@') {
                Some((h, w)) => (h, Some(w)),
                None => (raw, None),
            };
            // A stall's duration follows a ':' either on the name or on the time.
            let (head, head_dur) = match head.split_once(':') {
                Some((h, d)) => (h, Some(d)),
                None => (head, None),
            };
            let (when, when_dur) =
                match when.map(|w| w.split_once(':').map_or((w, None), |(a, b)| (a, Some(b)))) {
                    Some((w, d)) => (Some(w), d),
                    None => (None, None),
                };
            let dur_text = head_dur.or(when_dur);
            let (name, arg) = match head.split_once('=') {
                Some((n, a)) => (n.trim(), Some(a.trim())),
                None => (head.trim(), None),
            };
            let fault = match name.to_ascii_lowercase().as_str() {
                "drop" => Fault::Drop,
                "restart" | "daily_restart" | "dailyrestart" => Fault::DailyRestart,
                "stall" => {
                    let d = dur_text
                        .map(parse_duration)
                        .transpose()?
                        .unwrap_or(Duration::from_secs(10));
                    Fault::Stall(d)
                }
                "clientid" | "client_id" | "clientidinuse" => {
                    let times = match arg {
                        Some(a) => a
                            .parse::<u32>()
                            .map_err(|_| format!("clientid expects a count, got {a:?}"))?,
                        None => 1,
                    };
                    Fault::ClientIdInUse { times }
                }
                "nosub" | "nosubscription" => {
                    let syms: Vec<String> = arg
                        .ok_or_else(|| "nosub needs symbols, e.g. nosub=HDRX+VLTX".to_string())?
                        .split(['+', ';', '|'])
                        .map(|x| x.trim().to_ascii_uppercase())
                        .filter(|x| !x.is_empty())
                        .collect();
                    if syms.is_empty() {
                        return Err("nosub needs at least one symbol".into());
                    }
                    Fault::NoSubscription(syms)
                }
                "sentinels" => {
                    Fault::Sentinels(arg.is_none_or(|a| a != "off" && a != "false" && a != "0"))
                }
                "pacing" => Fault::PacingViolationNext,
                "silence" | "silent" => {
                    let duration = dur_text
                        .map(parse_duration)
                        .transpose()?
                        .unwrap_or(Duration::from_secs(10));
                    let symbols = arg
                        .map(|a| {
                            a.split(['+', ';', '|'])
                                .map(|x| x.trim().to_ascii_uppercase())
                                .filter(|x| !x.is_empty())
                                .collect()
                        })
                        .unwrap_or_default();
                    Fault::Silence { symbols, duration }
                }
                other => {
                    return Err(format!(
                        "unknown fault {other:?} (known: drop, restart, stall:DUR, clientid[=N], nosub=SYM[+SYM], sentinels, pacing, silence[=SYM[+SYM]]:DUR; add @TIME to schedule)"
                    ));
                }
            };
            match when {
                Some(w) => plan.scheduled.push((parse_duration(w)?, fault)),
                None => plan.at_start.push(fault),
            }
        }
        Ok(plan)
    }
}

/// `500ms`, `30s`, `5m`, `1h`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let bad = || format!("bad duration {s:?} (use e.g. 500ms, 30s, 5m, 1h)");
    let (num, mult_ms) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1_000.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60_000.0)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3_600_000.0)
    } else {
        (s, 1_000.0)
    };
    let v: f64 = num.trim().parse().map_err(|_| bad())?;
    if !v.is_finite() || v < 0.0 {
        return Err(bad());
    }
    Ok(Duration::from_millis((v * mult_ms) as u64))
}

/// Live fault switches, shared by every session of one simulator.
#[derive(Debug, Default)]
pub struct FaultState {
    pub no_subscription: HashSet<String>,
    pub sentinels: bool,
    pub client_id_rejections: u32,
    pub pacing_next: bool,
    pub stall_until: Option<Instant>,
    /// After a daily restart, the next session gets notice 1102.
    pub restart_pending: bool,
    /// Symbols whose ticks are withheld, until when; `ALL_SYMBOLS` stands for every one.
    pub silent_until: HashMap<String, Instant>,
}

/// The key of `FaultState::silent_until` that silences every symbol.
pub const ALL_SYMBOLS: &str = "*";

impl FaultState {
    pub fn stalled(&self) -> Option<Instant> {
        self.stall_until.filter(|t| *t > Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let p =
            FaultPlan::parse("drop@30s,restart@60s,stall@90s:10s,sentinels,nosub=HDRX,clientid")
                .unwrap();
        assert_eq!(
            p.scheduled,
            vec![
                (Duration::from_secs(30), Fault::Drop),
                (Duration::from_secs(60), Fault::DailyRestart),
                (
                    Duration::from_secs(90),
                    Fault::Stall(Duration::from_secs(10))
                ),
            ]
        );
        assert_eq!(
            p.at_start,
            vec![
                Fault::Sentinels(true),
                Fault::NoSubscription(vec!["HDRX".into()]),
                Fault::ClientIdInUse { times: 1 }
            ]
        );
    }

    #[test]
    fn parses_silence_for_some_symbols_or_all() {
        let p = FaultPlan::parse("silence=kryx+ZEPH:8s,silence@20s:3s").unwrap();
        assert_eq!(
            p.at_start,
            vec![Fault::Silence {
                symbols: vec!["KRYX".into(), "ZEPH".into()],
                duration: Duration::from_secs(8)
            }]
        );
        assert_eq!(
            p.scheduled,
            vec![(
                Duration::from_secs(20),
                Fault::Silence {
                    symbols: vec![],
                    duration: Duration::from_secs(3)
                }
            )]
        );
    }

    #[test]
    fn rejects_unknown_faults_with_a_hint() {
        let e = FaultPlan::parse("explode").unwrap_err();
        assert!(e.contains("known:"), "{e}");
        assert!(FaultPlan::parse("drop@soon").is_err());
        assert!(FaultPlan::parse("nosub=").is_err());
    }
}
