//! Margin figures sampled into SQLite beside NLV (cushion, excess liquidity, leverage, margin
//! use), so `ibkr_margin_history` can say how close the account has come to its lines.
//! Samples older than [`KEEP_DAYS`] are deleted as new ones arrive.

use super::db::{Db, DbError};
use crate::model::{AccountSnapshot, Millis, tags};
use rusqlite::params;
use serde::{Deserialize, Serialize};

/// Migration that creates the table (appended to `db::MIGRATIONS`).
pub const SCHEMA: &str = "CREATE TABLE margin_history (
         account           TEXT    NOT NULL,
         time              INTEGER NOT NULL,
         currency          TEXT    NOT NULL,
         nlv               REAL    NOT NULL,
         equity_with_loan  REAL,
         gross_position    REAL,
         init_margin       REAL,
         maint_margin      REAL,
         excess_liquidity  REAL,
         available_funds   REAL,
         cushion           REAL,
         leverage          REAL,
         margin_use        REAL,
         PRIMARY KEY (account, time)
     ) WITHOUT ROWID;";

/// How long samples are kept.
pub const KEEP_DAYS: i64 = 400;

const DAY_MS: i64 = 86_400_000;

/// One sample of an account's margin picture, base currency; fractions as IB reports them
/// (cushion 0.105 = 10.5%).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarginSample {
    pub time: Millis,
    pub currency: String,
    pub nlv: f64,
    pub equity_with_loan: Option<f64>,
    pub gross_position_value: Option<f64>,
    pub init_margin: Option<f64>,
    pub maint_margin: Option<f64>,
    pub excess_liquidity: Option<f64>,
    pub available_funds: Option<f64>,
    pub cushion: Option<f64>,
    /// Gross position value / NLV.
    pub leverage: Option<f64>,
    /// Maintenance requirement / equity with loan.
    pub margin_use: Option<f64>,
}

impl MarginSample {
    /// The account's figures now; `None` until IB has reported its NLV.
    pub fn of(acct: &AccountSnapshot, time: Millis) -> Option<MarginSample> {
        let finite = |v: Option<f64>| v.filter(|x| x.is_finite());
        let nlv = finite(acct.net_liquidation())?;
        Some(MarginSample {
            time,
            currency: acct.base_currency.clone(),
            nlv,
            equity_with_loan: finite(acct.get(tags::EQUITY_WITH_LOAN)),
            gross_position_value: finite(acct.gross_position_value()),
            init_margin: finite(acct.get(tags::INIT_MARGIN_REQ)),
            maint_margin: finite(acct.get(tags::MAINT_MARGIN_REQ)),
            excess_liquidity: finite(acct.get(tags::EXCESS_LIQUIDITY)),
            available_funds: finite(acct.get(tags::AVAILABLE_FUNDS)),
            cushion: finite(acct.get(tags::CUSHION)),
            leverage: finite(acct.leverage()),
            margin_use: finite(acct.margin_utilization()),
        })
    }
}

/// Stores one sample (replacing one at the same time) and drops the account's samples older
/// than [`KEEP_DAYS`].
pub fn record(db: &Db, account: &str, s: &MarginSample) -> Result<(), DbError> {
    db.with_conn(|conn| {
        conn.prepare_cached(
            "INSERT OR REPLACE INTO margin_history (account, time, currency, nlv, equity_with_loan,
                 gross_position, init_margin, maint_margin, excess_liquidity, available_funds,
                 cushion, leverage, margin_use)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?
        .execute(params![
            account,
            s.time,
            s.currency,
            s.nlv,
            s.equity_with_loan,
            s.gross_position_value,
            s.init_margin,
            s.maint_margin,
            s.excess_liquidity,
            s.available_funds,
            s.cushion,
            s.leverage,
            s.margin_use
        ])?;
        conn.prepare_cached("DELETE FROM margin_history WHERE account = ?1 AND time < ?2")?
            .execute(params![account, s.time - KEEP_DAYS * DAY_MS])?;
        Ok(())
    })
}

/// The account's samples at or after `since`, oldest first.
pub fn since(db: &Db, account: &str, since: Millis) -> Result<Vec<MarginSample>, DbError> {
    db.with_conn(|conn| {
        let mut stmt = conn.prepare_cached(
            "SELECT time, currency, nlv, equity_with_loan, gross_position, init_margin,
                    maint_margin, excess_liquidity, available_funds, cushion, leverage, margin_use
             FROM margin_history WHERE account = ?1 AND time >= ?2 ORDER BY time",
        )?;
        let rows = stmt.query_map(params![account, since], |r| {
            Ok(MarginSample {
                time: r.get(0)?,
                currency: r.get(1)?,
                nlv: r.get(2)?,
                equity_with_loan: r.get(3)?,
                gross_position_value: r.get(4)?,
                init_margin: r.get(5)?,
                maint_margin: r.get(6)?,
                excess_liquidity: r.get(7)?,
                available_funds: r.get(8)?,
                cushion: r.get(9)?,
                leverage: r.get(10)?,
                margin_use: r.get(11)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(time: Millis, cushion: f64) -> MarginSample {
        MarginSample {
            time,
            currency: "CAD".into(),
            nlv: 24_618.0,
            equity_with_loan: Some(24_618.0),
            gross_position_value: Some(64_124.0),
            init_margin: Some(24_201.34),
            maint_margin: Some(22_012.81),
            excess_liquidity: Some(2_605.19),
            available_funds: Some(416.66),
            cushion: Some(cushion),
            leverage: Some(2.6047),
            margin_use: Some(0.8942),
        }
    }

    #[test]
    fn samples_round_trip_and_old_ones_go() {
        let db = Db::in_memory().unwrap();
        let now = 500 * DAY_MS;
        record(&db, "U1", &sample(now - (KEEP_DAYS + 5) * DAY_MS, 0.2)).unwrap();
        record(&db, "U1", &sample(now - DAY_MS, 0.11)).unwrap();
        record(&db, "U1", &sample(now, 0.105)).unwrap();
        record(&db, "U2", &sample(now, 0.5)).unwrap();
        let got = since(&db, "U1", 0).unwrap();
        assert_eq!(got.len(), 2, "the sample older than KEEP_DAYS is gone");
        assert_eq!(got[0].cushion, Some(0.11));
        assert_eq!(got[1], sample(now, 0.105));
    }
}
