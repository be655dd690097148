//! The alert task: wakes on store changes (and once a second, for rules about time), at most
//! once per [`MIN_GAP`] so a burst of ticks costs one evaluation, and turns each rule's value
//! into firings and re-arms. A firing goes to the live state (cockpit, MCP notifications), to
//! SQLite, to the log, and runs the rule's `on_fire` command once.

use super::command;
use super::eval::{self, Step};
use super::rules::Rule;
use crate::model::Millis;
use crate::store::Store;
use crate::store::alerts::{self as record, AlertBoard, Firing, RuleView};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Shortest gap between two evaluations: store changes inside it are coalesced into one.
pub const MIN_GAP: Duration = Duration::from_millis(200);
/// Rules about time (stale data, a gateway down for N s) are checked at least this often.
const CLOCK_CHECK: Duration = Duration::from_secs(1);

/// A rule (per subject) that is firing now.
#[derive(Debug, Clone, Copy)]
struct Active {
    id: u64,
    /// Its row in SQLite, when it was stored.
    seq: Option<i64>,
}

/// Evaluation state: the rules, which (rule, subject) pairs are firing, the NLV high-water mark.
pub struct Engine {
    store: Store,
    rules: Vec<Rule>,
    active: HashMap<(usize, Option<String>), Active>,
    next_id: u64,
    /// (account, high-water NLV): seeded from the account's NLV history, raised live.
    high_water: Option<(String, f64)>,
}

impl Engine {
    /// Publishes the rules to the live state and closes firings a previous process left open.
    pub fn new(store: Store, rules: Vec<Rule>) -> Engine {
        if let Some(db) = store.db()
            && let Err(e) = record::close_open(db, store.now())
        {
            tracing::warn!("alerts: could not close the previous run's firings: {e}");
        }
        let views = rules.iter().map(view).collect();
        store.update(|st| {
            st.alerts = Arc::new(AlertBoard {
                rules: views,
                ..AlertBoard::default()
            })
        });
        Engine {
            store,
            rules,
            active: HashMap::new(),
            next_id: 1,
            high_water: None,
        }
    }

    /// The NLV high-water mark of the primary account: the most it has been worth in the
    /// sampled history or since this process started.
    fn high_water(&mut self, st: &crate::store::LiveState) -> Option<f64> {
        let acct = st.primary_account()?;
        let nlv = acct.net_liquidation().filter(|n| n.is_finite());
        let seeded = match &self.high_water {
            Some((a, h)) if *a == acct.account => Some(*h),
            _ => self.store.db().and_then(|db| {
                db.nlv_history(&acct.account, 0)
                    .ok()?
                    .into_iter()
                    .map(|(_, v)| v)
                    .filter(|v| v.is_finite())
                    .reduce(f64::max)
            }),
        };
        let hw = match (seeded, nlv) {
            (Some(h), Some(n)) => Some(h.max(n)),
            (h, n) => h.or(n),
        }?;
        self.high_water = Some((acct.account.clone(), hw));
        Some(hw)
    }

    /// One evaluation of every rule against the store as it is now.
    pub fn evaluate(&mut self) {
        if self.rules.is_empty() {
            return;
        }
        let st = self.store.snapshot();
        let now = self.store.now();
        let hw = self.high_water(&st);
        let observations = eval::observe(&self.rules, &st, now, hw);
        drop(st);
        let mut fired = Vec::new();
        let mut rearmed = Vec::new();
        for o in observations {
            let key = (o.rule, o.subject.clone());
            let rule = &self.rules[o.rule];
            match eval::step(rule, self.active.contains_key(&key), o.value) {
                Step::Fire => {
                    let f = self.firing(o.rule, o.subject, o.value, now);
                    self.active.insert(
                        key,
                        Active {
                            id: f.id,
                            seq: None,
                        },
                    );
                    fired.push(f);
                }
                Step::Rearm => {
                    if let Some(a) = self.active.remove(&key) {
                        rearmed.push(a);
                    }
                }
                Step::Stay => {}
            }
        }
        if fired.is_empty() && rearmed.is_empty() {
            return;
        }
        self.store.update(|st| {
            let board = Arc::make_mut(&mut st.alerts);
            for a in &rearmed {
                board.clear(a.id, now);
            }
            for f in &fired {
                board.fire(f.clone());
            }
        });
        self.persist(&fired, &rearmed, now);
        for f in fired {
            tracing::warn!("alert fired: {}: {}", f.rule, f.message);
            let argv = self
                .rules
                .iter()
                .find(|r| r.name == f.rule)
                .map(|r| r.on_fire.clone());
            if let Some(argv) = argv.filter(|a| !a.is_empty()) {
                tokio::spawn(async move {
                    if let Err(e) = command::run(&argv, &f).await {
                        tracing::warn!("alert {:?}: on_fire command failed: {e}", f.rule);
                    }
                });
            }
        }
    }

    fn firing(&mut self, rule: usize, subject: Option<String>, value: f64, now: Millis) -> Firing {
        let r = &self.rules[rule];
        let id = self.next_id;
        self.next_id += 1;
        Firing {
            id,
            time: now,
            rule: r.name.clone(),
            kind: r.kind.name().to_string(),
            message: message(r, subject.as_deref(), value),
            subject: subject.map(|s| record::bounded(&s)),
            value,
            level: r.level,
            cleared: None,
            bell: r.bell,
        }
    }

    /// Writes new firings and re-arms to SQLite (when the store has a database).
    fn persist(&mut self, fired: &[Firing], rearmed: &[Active], now: Millis) {
        let Some(db) = self.store.db() else {
            return;
        };
        for a in rearmed {
            if let Some(seq) = a.seq
                && let Err(e) = record::set_cleared(db, seq, now)
            {
                tracing::warn!("alerts: could not record a re-arm: {e}");
            }
        }
        for f in fired {
            match record::insert(db, f) {
                Ok(seq) => {
                    if let Some(a) = self.active.values_mut().find(|a| a.id == f.id) {
                        a.seq = Some(seq);
                    }
                }
                Err(e) => tracing::warn!("alerts: could not store a firing: {e}"),
            }
        }
    }
}

/// "KRYX price 55.40 ≥ 55.00".
fn message(r: &Rule, subject: Option<&str>, value: f64) -> String {
    use super::rules::Kind;
    let what = match r.kind {
        Kind::CushionBelow => "cushion".to_string(),
        Kind::MarginUseAbove => "margin use".to_string(),
        Kind::DrawdownBelow => "drawdown from high-water mark".to_string(),
        Kind::LeverageAbove => "leverage".to_string(),
        Kind::PriceAbove | Kind::PriceBelow => format!("{} price", subject.unwrap_or("?")),
        Kind::DailyMove => format!("{} daily move", subject.unwrap_or("?")),
        Kind::DataStale => "no data from the gateway for".to_string(),
        Kind::GatewayDisconnected => {
            return format!(
                "{} gateway disconnected ({} down)",
                subject.unwrap_or("a"),
                r.show(value)
            );
        }
    };
    match r.kind {
        Kind::DataStale => format!("{what} {} (line {})", r.show(value), r.show(r.level)),
        Kind::DailyMove => format!("{what} {} beyond ±{:.2}%", r.show(value), r.level),
        k if k.fires_above() => format!("{what} {} ≥ {}", r.show(value), r.show(r.level)),
        _ => format!("{what} {} ≤ {}", r.show(value), r.show(r.level)),
    }
}

fn view(r: &Rule) -> RuleView {
    RuleView {
        name: r.name.clone(),
        kind: r.kind.name().to_string(),
        condition: r.condition(),
        bell: r.bell,
        on_fire: r.on_fire.clone(),
    }
}

/// Starts the alert task for `rules` on the current tokio runtime (the rules are published to
/// the live state even when there are none, so `ibkr_alerts` can say so).
pub fn spawn(store: Store, rules: Vec<Rule>) -> tokio::task::JoinHandle<()> {
    let mut engine = Engine::new(store.clone(), rules);
    tokio::spawn(async move {
        if engine.rules.is_empty() {
            return;
        }
        let mut changes = store.subscribe();
        loop {
            engine.evaluate();
            tokio::time::sleep(MIN_GAP).await;
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return },
                _ = tokio::time::sleep(CLOCK_CHECK) => {}
            }
        }
    })
}
